//! Keras 3 `.keras` files (`Model::load` on a `.keras` file). An input that starts like a
//! zip archive (`PK`) is loaded as the whole file; any other input is the `config.json` of
//! an otherwise valid archive (up to its first 0xFF byte, which JSON never holds) followed
//! by its `model.weights.h5`, so that mutations reach the model config and the HDF5
//! reader rather than dying on the zip's checksums.
#![no_main]

use kiln::{Device, Model};
use libfuzzer_sys::fuzz_target;
use std::io::Write;
use std::path::Path;

const METADATA: &str = r#"{"keras_version": "3.15.1", "date_saved": "1980-01-01@00:00:00"}"#;

/// A stored (uncompressed) archive of the members Keras writes, in its order.
fn archive(config: &[u8], weights: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in [
        ("metadata.json", METADATA.as_bytes()),
        ("config.json", config),
        ("model.weights.h5", weights),
    ] {
        zip.start_file(name, options).expect("in memory");
        zip.write_all(bytes).expect("in memory");
    }
    zip.finish().expect("in memory").into_inner()
}

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.keras");
    let bytes = if data.starts_with(b"PK") {
        data.to_vec()
    } else {
        let split = data.iter().position(|&b| b == 0xFF).unwrap_or(data.len());
        archive(&data[..split], data.get(split + 1..).unwrap_or_default())
    };
    let _ = Model::load_keras_bytes(bytes, path, &Device::Ndarray);
});
