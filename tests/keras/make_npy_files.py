"""Writes the NumPy `.npy` files that crates/kiln/tests/npy.rs reads back.

Every array is small and its values follow a formula the test restates by hand, so the
test checks Kiln's reader against NumPy's writer (and Kiln's writer against NumPy's bytes).

    /work/venvs/keras/bin/python tests/keras/make_npy_files.py
"""

import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "crates", "kiln", "tests", "data", "npy")


def save(name, array, version=None):
    path = os.path.join(OUT, name)
    if version is None:
        np.save(path, array)
    else:
        with open(path, "wb") as f:
            np.lib.format.write_array(f, array, version=version)


def main():
    os.makedirs(OUT, exist_ok=True)
    f = np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5 - 1.0  # [[-1, -0.5, 0], [0.5, 1, 1.5]]
    save("f32_2x3.npy", f)
    save("i32_4.npy", np.array([-2, 0, 7, 2**31 - 1], dtype=np.int32))
    save("f64_2x3.npy", f.astype(np.float64) / 3.0)  # rounded to f32 on read
    save("i64_3.npy", np.array([-5, 0, 123456], dtype=np.int64))
    save("i64_too_big.npy", np.array([1, 2**40], dtype=np.int64))
    save("u8_2x2.npy", np.array([[0, 255], [17, 3]], dtype=np.uint8))
    save("bool_3.npy", np.array([True, False, True]))
    save("f32_big_endian.npy", f.astype(">f4"))
    save("f32_fortran.npy", np.asfortranarray(f))
    save("f32_v2.npy", f, version=(2, 0))
    save("f32_v3.npy", f, version=(3, 0))
    save("f32_scalar.npy", np.float32(2.5))
    save("f32_empty_0x3.npy", np.zeros((0, 3), dtype=np.float32))
    save("f16_2.npy", np.array([1, 2], dtype=np.float16))
    save("i32_2x1x3.npy", np.arange(6, dtype=np.int32).reshape(2, 1, 3) * 10)


if __name__ == "__main__":
    main()
