//! `kiln::npy` against files written by NumPy 2.4 (tests/keras/make_npy_files.py): the
//! values are restated here from the script's formulas.

use kiln::{Tensor, npy};
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/npy")
        .join(name)
}

/// `np.arange(6).reshape(2, 3) * 0.5 - 1.0` as float32.
const F: [f32; 6] = [-1.0, -0.5, 0.0, 0.5, 1.0, 1.5];

#[test]
fn float32_and_int32_read_as_written() {
    let t = npy::read(data("f32_2x3.npy")).unwrap();
    assert_eq!(t.shape(), &[2, 3]);
    assert_eq!(t.as_f32().unwrap(), &F);
    let t = npy::read(data("i32_4.npy")).unwrap();
    assert_eq!(t.shape(), &[4]);
    assert_eq!(t.as_i32().unwrap(), &[-2, 0, 7, i32::MAX]);
    let t = npy::read(data("i32_2x1x3.npy")).unwrap();
    assert_eq!(t.shape(), &[2, 1, 3]);
    assert_eq!(t.as_i32().unwrap(), &[0, 10, 20, 30, 40, 50]);
}

#[test]
fn versions_byte_orders_and_edge_shapes() {
    for name in ["f32_v2.npy", "f32_v3.npy", "f32_big_endian.npy"] {
        let t = npy::read(data(name)).unwrap();
        assert_eq!((t.shape(), t.as_f32().unwrap()), (&[2usize, 3][..], &F[..]), "{name}");
    }
    let t = npy::read(data("f32_scalar.npy")).unwrap();
    assert_eq!((t.shape(), t.as_f32().unwrap()), (&[][..], &[2.5f32][..]));
    let t = npy::read(data("f32_empty_0x3.npy")).unwrap();
    assert_eq!((t.shape(), t.len()), (&[0usize, 3][..], 0));
}

#[test]
fn other_dtypes_convert_by_the_documented_rule() {
    let t = npy::read(data("f64_2x3.npy")).unwrap();
    let expected: Vec<f32> = F.iter().map(|&x| (f64::from(x) / 3.0) as f32).collect();
    assert_eq!(t.as_f32().unwrap(), expected.as_slice());
    assert_eq!(
        npy::read(data("i64_3.npy")).unwrap().as_i32().unwrap(),
        &[-5, 0, 123456]
    );
    assert_eq!(
        npy::read(data("u8_2x2.npy")).unwrap().as_i32().unwrap(),
        &[0, 255, 17, 3]
    );
    assert_eq!(npy::read(data("bool_3.npy")).unwrap().as_i32().unwrap(), &[1, 0, 1]);
}

#[test]
fn refusals_name_the_file_and_the_problem() {
    let cases = [
        ("i64_too_big.npy", "element 1 (1099511627776) does not fit in int32"),
        ("f32_fortran.npy", "Fortran order"),
        ("f16_2.npy", "dtype '<f2' (float16) is not supported"),
    ];
    for (name, message) in cases {
        let path = data(name);
        let e = npy::read(&path).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}: ", path.display())), "{e}");
        assert!(e.contains(message), "{e}");
    }
    let e = npy::read(data("missing.npy")).unwrap_err().to_string();
    assert!(e.contains("missing.npy: cannot read the file"), "{e}");
}

#[test]
fn written_files_are_byte_for_byte_numpys() {
    for name in [
        "f32_2x3.npy",
        "i32_4.npy",
        "i32_2x1x3.npy",
        "f32_scalar.npy",
        "f32_empty_0x3.npy",
    ] {
        let numpy = std::fs::read(data(name)).unwrap();
        let t = npy::decode(&numpy, name).unwrap();
        assert_eq!(npy::encode(&t), numpy, "{name}");
    }
}

#[test]
fn write_then_read_round_trips() {
    let dir = std::env::temp_dir().join(format!("kiln-npy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("x.npy");
    let x = Tensor::from_f32(vec![0.25, -3.0, f32::INFINITY, 7.0], [2, 2]).unwrap();
    npy::write(&path, &x).unwrap();
    assert_eq!(npy::read(&path).unwrap(), x);
    let y = Tensor::from_i32(vec![3, -4], [2, 1]).unwrap();
    npy::write(&path, &y).unwrap();
    assert_eq!(npy::read(&path).unwrap(), y);
    std::fs::remove_dir_all(&dir).unwrap();
}
