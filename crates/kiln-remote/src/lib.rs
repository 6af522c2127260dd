//! Kiln's adapter for Burn's remote engine: devices hosted by another process or machine,
//! reached over WebSocket, and the server that hosts a local device for them.
//!
//! A client connects with [`device`]; a server hosts one of this machine's devices with
//! [`serve`]. The WebSocket transport is unencrypted: with a token (the
//! `KILN_REMOTE_TOKEN` environment variable on both sides) the server refuses clients
//! that do not present it, which keeps stray clients out on a trusted network but not
//! someone who can read the traffic.
//!
//! ```no_run
//! // On the server: host the flex CPU engine on 127.0.0.1:3000.
//! let listener = std::net::TcpListener::bind("127.0.0.1:3000")?;
//! # let local = kiln_burn::EngineDevice::new(burn::tensor::Device::default(), "flex", "flex");
//! kiln_remote::serve(&local, listener, None)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ```no_run
//! // On the client: its device 0.
//! let device = kiln_remote::device("ws://127.0.0.1:3000", 0, None)?;
//! assert_eq!(device.name(), "remote:ws://127.0.0.1:3000");
//! # Ok::<(), String>(())
//! ```

use burn::remote::RemoteHost;
use burn::server::{RemoteServer, TokenAuthorizer, WebSocketTransport};
use burn::tensor::Device;
use kiln_burn::EngineDevice;
use std::net::TcpListener;

/// The backend name.
pub const BACKEND: &str = "remote";

/// The environment variable holding the shared token of a server and its clients.
pub const TOKEN_VARIABLE: &str = "KILN_REMOTE_TOKEN";

/// The token from [`TOKEN_VARIABLE`], if set and not empty.
pub fn token_from_env() -> Option<String> {
    std::env::var(TOKEN_VARIABLE).ok().filter(|t| !t.is_empty())
}

/// The Kiln name of device `index` of the server at `url`: `remote:URL`, with `#N` for
/// devices other than the first.
pub fn device_name(url: &str, index: usize) -> String {
    if index == 0 {
        format!("{BACKEND}:{url}")
    } else {
        format!("{BACKEND}:{url}#{index}")
    }
}

/// Connects device `index` of the server at `url` (`ws://HOST:PORT`), presenting `token`
/// if given. The error says why the server could not be used (not running, wrong token,
/// no such device, another Burn release).
pub fn device(url: &str, index: usize, token: Option<&str>) -> Result<EngineDevice, String> {
    if !url.starts_with("ws://") {
        return Err(format!(
            "expected a WebSocket address 'ws://HOST:PORT', received '{url}'"
        ));
    }
    let mut host = RemoteHost::websocket(url);
    if let Some(token) = token {
        host = host.with_credential(token);
    }
    let connect = || Device::remote_options(&host).device_index(index).init();
    let device = std::panic::catch_unwind(std::panic::AssertUnwindSafe(connect))
        .map_err(|_| format!("connecting to {url} failed inside Burn's remote client"))?
        .map_err(|e| format!("cannot connect to the Kiln server at {url}: {e}"))?;
    Ok(EngineDevice::new(device, BACKEND, device_name(url, index)))
}

/// Hosts `device` for remote clients on `listener` until the process is interrupted
/// (Ctrl+C or `SIGTERM`). With a `token`, only clients presenting it get a session.
///
/// Each client has its own session: a client that disconnects or sends something the
/// server cannot run ends its own session, and the server goes on serving the others.
pub fn serve(device: &EngineDevice, listener: TcpListener, token: Option<&str>) -> Result<(), String> {
    let mut server = RemoteServer::new([device.burn().clone()]);
    if let Some(token) = token {
        let authorizer = TokenAuthorizer::new(token).map_err(|_| "the server's token is empty".to_string())?;
        server = server.with_authorizer(authorizer);
    }
    server
        .serve(WebSocketTransport::from_listener(listener))
        .map_err(|e| format!("the server on {} stopped: {e}", device.name()))
}
