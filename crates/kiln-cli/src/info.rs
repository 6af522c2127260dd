//! `kiln info`.

/// Prints the version, compiled backends, available devices and the default device.
pub fn run() -> anyhow::Result<()> {
    println!("kiln {}", env!("CARGO_PKG_VERSION"));
    println!("backends: {}", kiln::backends().join(", "));
    println!("devices:");
    for d in kiln::devices() {
        println!("  {:<10} {} ({})", d.device.to_string(), d.name, d.backend);
    }
    match kiln::Device::default_device() {
        Ok(d) => println!("default device: {d} (set KILN_DEVICE to change it)"),
        Err(e) => println!("default device: none ({e})"),
    }
    Ok(())
}
