//! Fails early, with the command that fixes it, when libtorch is not installed.

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    let libtorch = std::env::var("LIBTORCH").unwrap_or_default();
    println!("cargo:rerun-if-changed={libtorch}");
    let headers = std::path::Path::new(&libtorch).join("include");
    if libtorch.is_empty() || !headers.is_dir() {
        panic!(
            "\n\nKiln's `tch` backend needs libtorch (PyTorch 2.9.0), which is not installed{}.\n\
             Run `./scripts/setup` once: it installs it from PyPI into ~/.cache/kiln and links it\n\
             at .kiln/libtorch, where the build finds it. Or set LIBTORCH to a libtorch 2.9.0 directory.\n\n",
            if libtorch.is_empty() {
                String::new()
            } else {
                format!(" at {libtorch}")
            }
        );
    }
}
