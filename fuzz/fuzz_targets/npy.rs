//! NumPy `.npy` files (`kiln::npy::decode`, what `kiln::npy::read` runs on a file's bytes).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = kiln::npy::decode(data, "fuzz.npy");
});
