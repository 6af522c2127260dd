//! `kiln serve`: host one of this machine's devices for remote clients.

use anyhow::{Context, bail};
use std::io::Write;
use std::net::{SocketAddr, TcpListener};

/// Arguments of `kiln serve`.
#[derive(clap::Args)]
pub struct Args {
    /// The device to host: ndarray, flex, cpu, wgpu:N, tch:cpu, tch:cuda:N, gpu.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// The address to listen on (port 0 picks a free port). Only loopback addresses
    /// unless --trusted-network is given.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Allow listening on an address other clients can reach. The WebSocket transport
    /// is not encrypted: use it on a trusted network only, with KILN_REMOTE_TOKEN set.
    #[arg(long)]
    trusted_network: bool,
}

/// Binds the address, prints where clients reach the server, and serves until
/// interrupted.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let device: kiln::Device = args.device.parse()?;
    if !args.listen.ip().is_loopback() && !args.trusted_network {
        bail!(
            "--listen {}: not a loopback address. The WebSocket transport is not encrypted; to serve on a network add --trusted-network (and set KILN_REMOTE_TOKEN)",
            args.listen
        );
    }
    let listener = TcpListener::bind(args.listen).with_context(|| format!("--listen {}", args.listen))?;
    let address = listener.local_addr().context("the listening address")?;
    if !address.ip().is_loopback() {
        eprintln!(
            "warning: serving on {address}: the WebSocket transport is unencrypted and {}; use it on a trusted network only",
            if kiln_remote_token_set() {
                "the token travels in clear text"
            } else {
                "unauthenticated (set KILN_REMOTE_TOKEN on the server and its clients)"
            }
        );
    }
    println!("serving {device} on ws://{address}");
    println!("clients use the device string: remote:ws://{address}");
    std::io::stdout().flush().ok();
    kiln::serve(&device, listener)?;
    Ok(())
}

fn kiln_remote_token_set() -> bool {
    std::env::var("KILN_REMOTE_TOKEN").is_ok_and(|t| !t.is_empty())
}
