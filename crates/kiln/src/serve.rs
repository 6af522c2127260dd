//! Hosting a device for other machines: the server behind `remote:` devices.

use crate::devices::Device;
use crate::error::{KilnError, Result};
use std::net::TcpListener;

/// Hosts `device` on `listener` for Kiln clients (their device string is
/// `remote:ws://HOST:PORT`) until the process is interrupted, as `kiln serve` does.
///
/// With `KILN_REMOTE_TOKEN` set, only clients presenting the same token (set in their own
/// `KILN_REMOTE_TOKEN`) get a session. The WebSocket transport is not encrypted: serve on
/// loopback or a trusted network only. Each client has its own session; one that
/// disconnects or sends something the server cannot run ends its own session only.
///
/// ```no_run
/// let listener = std::net::TcpListener::bind("127.0.0.1:3000")?;
/// kiln::serve(&"flex".parse()?, listener)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn serve(device: &Device, listener: TcpListener) -> Result<()> {
    if matches!(device, Device::Remote { .. }) {
        return Err(KilnError::Device(format!(
            "cannot serve '{device}': a server hosts one of this machine's devices (ndarray, flex, wgpu:N, tch:cpu, tch:cuda:N)"
        )));
    }
    let engine = device.engine()?;
    let token = kiln_remote::token_from_env();
    kiln_remote::serve(&engine, listener, token.as_deref()).map_err(KilnError::Device)
}
