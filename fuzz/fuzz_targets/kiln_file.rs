//! Kiln model files (`Model::load` on a `.kiln` file). An input that starts like a zip
//! archive (`PK`) is loaded as the whole file; any other input is the `model.json` of an
//! otherwise valid archive (up to its first 0xFF byte, which JSON never holds) followed by
//! its `model.safetensors`, so that mutations reach the layer configs and weights rather
//! than dying on the zip's checksums.
#![no_main]

use kiln::{Device, Model};
use libfuzzer_sys::fuzz_target;
use std::io::Write;
use std::path::Path;

const METADATA: &str = r#"{"format":"kiln-model","format_version":1,"kiln_version":"0.1.0","model_name":"fuzz"}"#;

/// A stored (uncompressed) archive of the members Kiln reads.
fn archive(model_json: &[u8], weights: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in [
        ("metadata.json", METADATA.as_bytes()),
        ("model.json", model_json),
        ("graph.json", b"{}".as_slice()),
        ("model.safetensors", weights),
    ] {
        zip.start_file(name, options).expect("in memory");
        zip.write_all(bytes).expect("in memory");
    }
    zip.finish().expect("in memory").into_inner()
}

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.kiln");
    if data.starts_with(b"PK") {
        let _ = Model::load_kiln_bytes(data, path, &Device::Ndarray);
    } else {
        let split = data.iter().position(|&b| b == 0xFF).unwrap_or(data.len());
        let weights = data.get(split + 1..).unwrap_or_default();
        let _ = Model::load_kiln_bytes(&archive(&data[..split], weights), path, &Device::Ndarray);
    }
});
