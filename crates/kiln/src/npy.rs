//! NumPy `.npy` files as [`HostTensor`]s: [`read`] and [`write`](fn@write).
//!
//! **Reading** accepts format versions 1.0, 2.0 and 3.0, C order only (a Fortran-order
//! file is refused by name), and these dtypes, in either byte order:
//!
//! | `.npy` dtype | becomes | rule |
//! |---|---|---|
//! | float32 (`<f4`) | f32 | as is |
//! | float64 (`<f8`) | f32 | rounded to the nearest f32; a finite value beyond f32's range is an error naming the element |
//! | int32 (`<i4`) | i32 | as is |
//! | int8, int16, int64, uint8, uint16, uint32, uint64 | i32 | exact; a value outside i32's range is an error naming the element |
//! | bool (`\|b1`) | i32 | `False` → 0, `True` → 1 |
//!
//! Anything else (float16, complex, strings, objects, structured dtypes, …) is refused with
//! the dtype's name. The file is untrusted: the header (at most 10,000 bytes, NumPy's own
//! limit) is parsed strictly as the Python dict NumPy writes — exactly the keys `descr`,
//! `fortran_order` and `shape`, string, bool and int-tuple literals, nothing evaluated —
//! and the shape's element count must match the bytes the file holds after the header
//! before anything is allocated for it. Errors name the file and the problem.
//!
//! **Writing** gives format 1.0 (2.0 only for a header longer than 1.0 allows), `<f4` or
//! `<i4`, byte for byte what NumPy 2's `np.save` writes for the same array; the write is
//! atomic ([`crate::io::write_atomic`]).
//!
//! ```
//! use kiln::{npy, Tensor};
//! let x = Tensor::from_f32(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3])?;
//! let bytes = npy::encode(&x);
//! assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
//! assert_eq!(npy::decode(&bytes, "x.npy")?, x);
//! # Ok::<(), kiln::KilnError>(())
//! ```

use crate::error::{KilnError, Result};
use kiln_ir::{HostData, HostTensor};
use std::path::Path;

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// The longest header read, in bytes: NumPy's own default limit (`max_header_size`).
pub const MAX_HEADER_BYTES: usize = 10_000;
/// Headers (with the magic and length prefix) are padded to a multiple of this, as NumPy does.
const ALIGN: usize = 64;
/// NumPy's spare room after the dict for growing the first axis in place.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// Reads the `.npy` file at `path` (see the [module documentation](self) for the dtypes
/// accepted and how they convert).
///
/// ```no_run
/// let x = kiln::npy::read("x.npy")?;
/// println!("{:?}", x.shape());
/// # Ok::<(), kiln::KilnError>(())
/// ```
pub fn read(path: impl AsRef<Path>) -> Result<HostTensor> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| io_error(path, format!("cannot read the file: {e}")))?;
    decode(&bytes, path)
}

/// Writes `tensor` to `path` as a `.npy` file (format 1.0, `<f4` or `<i4`), atomically.
///
/// ```no_run
/// let y = kiln::Tensor::from_i32(vec![1, 2, 3], [3])?;
/// kiln::npy::write("y.npy", &y)?;
/// # Ok::<(), kiln::KilnError>(())
/// ```
pub fn write(path: impl AsRef<Path>, tensor: &HostTensor) -> Result<()> {
    let path = path.as_ref();
    crate::io::write_atomic(path, &encode(tensor)).map_err(|e| io_error(path, format!("cannot write the file: {e}")))
}

/// The bytes of a `.npy` file holding `tensor`: what [`write`](fn@write) writes.
pub fn encode(tensor: &HostTensor) -> Vec<u8> {
    let descr = match tensor.data() {
        HostData::F32(_) => "<f4",
        HostData::I32(_) => "<i4",
    };
    let shape = tensor.shape();
    let shape_text = match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        dims => format!("({})", dims.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")),
    };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    if let Some(first) = shape.first() {
        let digits = first.to_string().len();
        dict.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits)));
    }
    // Version 1.0 holds the header length in two bytes; 2.0 (for longer headers) in four.
    let padded = |prefix: usize| {
        let padding = ALIGN - (prefix + dict.len() + 1) % ALIGN;
        (padding, dict.len() + padding + 1)
    };
    let (version, (padding, header_len)) = match padded(10) {
        (p, len) if len <= usize::from(u16::MAX) => (1u8, (p, len)),
        _ => (2u8, padded(12)),
    };
    let prefix = if version == 1 { 10 } else { 12 };
    let mut out = Vec::with_capacity(prefix + header_len + tensor.len() * 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(header_len as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header_len as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(out.len() + padding, b' ');
    out.push(b'\n');
    match tensor.data() {
        HostData::F32(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        HostData::I32(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
    }
    out
}

/// Reads a `.npy` file's bytes; `source` names the file in error messages.
pub fn decode(bytes: &[u8], source: impl AsRef<Path>) -> Result<HostTensor> {
    let path = source.as_ref();
    let err = |message: String| io_error(path, message);
    let (header, data) = split(bytes).map_err(err)?;
    let header = parse_header(header).map_err(|m| err(format!("bad .npy header: {m}")))?;
    if header.fortran_order {
        return Err(err(
            "the array is stored in Fortran order (fortran_order: True); Kiln reads C-order arrays only \
             (save np.ascontiguousarray(x) instead)"
                .into(),
        ));
    }
    let dtype = Dtype::parse(&header.descr).map_err(err)?;
    let count = header
        .shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|n| n.checked_mul(dtype.size).is_some())
        .ok_or_else(|| err(format!("the shape {} is too large", shape_text(&header.shape))))?;
    let needed = count * dtype.size;
    if data.len() != needed {
        return Err(err(format!(
            "the shape {} of {} needs {needed} bytes of data but the file holds {} after its header{}",
            shape_text(&header.shape),
            header.descr,
            data.len(),
            if data.len() < needed { " (truncated?)" } else { "" }
        )));
    }
    let shape = header.shape.clone();
    let tensor = dtype.convert(data).map_err(err)?;
    Ok(match tensor {
        HostData::F32(v) => HostTensor::from_f32(v, shape)?,
        HostData::I32(v) => HostTensor::from_i32(v, shape)?,
    })
}

fn io_error(path: &Path, message: impl Into<String>) -> KilnError {
    KilnError::Io {
        path: path.display().to_string(),
        message: message.into(),
    }
}

fn shape_text(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        dims => format!("({})", dims.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")),
    }
}

/// The header text and the data after it.
fn split(bytes: &[u8]) -> std::result::Result<(&[u8], &[u8]), String> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err("not a NumPy .npy file (it does not start with \\x93NUMPY)".into());
    }
    let short = || format!("truncated .npy file: it ends inside its header ({} bytes)", bytes.len());
    let (major, minor) = match bytes.get(6..8) {
        Some(&[major, minor]) => (major, minor),
        _ => return Err(short()),
    };
    let (len, start) = match (major, minor) {
        (1, 0) => {
            let b = bytes.get(8..10).ok_or_else(short)?;
            (usize::from(u16::from_le_bytes([b[0], b[1]])), 10)
        }
        (2, 0) | (3, 0) => {
            let b = bytes.get(8..12).ok_or_else(short)?;
            let len = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            (usize::try_from(len).unwrap_or(usize::MAX), 12)
        }
        _ => {
            return Err(format!(
                ".npy format version {major}.{minor} is not supported (1.0, 2.0 and 3.0 are)"
            ));
        }
    };
    if len > MAX_HEADER_BYTES {
        return Err(format!(
            "the .npy header declares {len} bytes, more than the {MAX_HEADER_BYTES} allowed"
        ));
    }
    let end = start + len;
    if end > bytes.len() {
        return Err(format!(
            "truncated .npy file: the header declares {len} bytes but the file ends {} bytes after the prefix",
            bytes.len() - start
        ));
    }
    Ok((&bytes[start..end], &bytes[end..]))
}

/// The three entries of a `.npy` header.
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// A value in the header dict.
enum Value {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
}

/// A strict reader of the Python literal subset NumPy writes: `{'key': value, …}` with
/// string, `True`/`False` and tuple-of-int values. Nothing else is accepted.
struct Parser<'a> {
    text: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self.at < self.text.len() && matches!(self.text[self.at], b' ' | b'\t') {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.text.get(self.at).copied()
    }

    fn unexpected(&self, wanted: &str) -> String {
        match self.text.get(self.at) {
            Some(&c) if c.is_ascii_graphic() => {
                format!("expected {wanted} at byte {}, found '{}'", self.at, c as char)
            }
            Some(&c) => format!("expected {wanted} at byte {}, found byte 0x{c:02x}", self.at),
            None => format!("expected {wanted}, found the end of the header"),
        }
    }

    fn expect(&mut self, c: u8) -> std::result::Result<(), String> {
        if self.peek() == Some(c) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{}'", c as char)))
        }
    }

    fn string(&mut self) -> std::result::Result<String, String> {
        let quote = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return Err(self.unexpected("a quoted string")),
        };
        self.at += 1;
        let start = self.at;
        while let Some(&c) = self.text.get(self.at) {
            if c == quote {
                let s = String::from_utf8_lossy(&self.text[start..self.at]).into_owned();
                self.at += 1;
                return Ok(s);
            }
            if c == b'\\' || !(c == b' ' || c.is_ascii_graphic()) {
                return Err(format!(
                    "unsupported character in a string at byte {} (escapes and control characters are not allowed)",
                    self.at
                ));
            }
            self.at += 1;
        }
        Err("unterminated string".into())
    }

    fn word(&mut self) -> &[u8] {
        let start = self.at;
        while self.at < self.text.len() && self.text[self.at].is_ascii_alphanumeric() {
            self.at += 1;
        }
        &self.text[start..self.at]
    }

    fn int(&mut self) -> std::result::Result<usize, String> {
        self.skip_space();
        let at = self.at;
        let word = self.word();
        // Python 2 wrote long integers with an `L` suffix (`(3L, 4L)`); NumPy still reads them.
        let digits = word
            .strip_suffix(b"L")
            .or_else(|| word.strip_suffix(b"l"))
            .unwrap_or(word);
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            self.at = at;
            return Err(self.unexpected("a non-negative integer"));
        }
        std::str::from_utf8(digits)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("the dimension at byte {at} is too large"))
    }

    fn value(&mut self) -> std::result::Result<Value, String> {
        match self.peek() {
            Some(b'\'' | b'"') => Ok(Value::Str(self.string()?)),
            Some(b'(') => {
                self.at += 1;
                let mut dims = Vec::new();
                if self.peek() == Some(b')') {
                    self.at += 1;
                    return Ok(Value::Tuple(dims));
                }
                loop {
                    dims.push(self.int()?);
                    match self.peek() {
                        Some(b')') if dims.len() > 1 => {
                            self.at += 1;
                            return Ok(Value::Tuple(dims));
                        }
                        Some(b',') => {
                            self.at += 1;
                            if self.peek() == Some(b')') {
                                self.at += 1;
                                return Ok(Value::Tuple(dims));
                            }
                        }
                        // `(3)` is an int in Python, not a tuple.
                        _ => return Err(self.unexpected("',' (a tuple)")),
                    }
                }
            }
            Some(b'[') => Err("a list value: structured dtypes are not supported".into()),
            Some(c) if c.is_ascii_alphabetic() => {
                let at = self.at;
                match self.word() {
                    b"True" => Ok(Value::Bool(true)),
                    b"False" => Ok(Value::Bool(false)),
                    _ => {
                        self.at = at;
                        Err(self.unexpected("a string, True, False or a tuple"))
                    }
                }
            }
            _ => Err(self.unexpected("a string, True, False or a tuple")),
        }
    }
}

fn parse_header(text: &[u8]) -> std::result::Result<Header, String> {
    if let Some(at) = text.iter().position(|c| !c.is_ascii()) {
        return Err(format!("non-ASCII byte 0x{:02x} at byte {at}", text[at]));
    }
    let mut p = Parser { text, at: 0 };
    p.expect(b'{')?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        if p.peek() == Some(b'}') {
            p.at += 1;
            break;
        }
        let key = p.string()?;
        if !matches!(key.as_str(), "descr" | "fortran_order" | "shape") {
            return Err(format!(
                "unexpected key '{key}' (a .npy header has exactly 'descr', 'fortran_order' and 'shape')"
            ));
        }
        p.expect(b':')?;
        let value = p.value()?;
        let slot_taken = match (key.as_str(), value) {
            ("descr", Value::Str(s)) => descr.replace(s).is_some(),
            ("fortran_order", Value::Bool(b)) => fortran.replace(b).is_some(),
            ("shape", Value::Tuple(t)) => shape.replace(t).is_some(),
            ("descr", _) => return Err("'descr' must be a dtype string such as '<f4'".into()),
            ("fortran_order", _) => return Err("'fortran_order' must be True or False".into()),
            (_, _) => return Err("'shape' must be a tuple of integers".into()),
        };
        if slot_taken {
            return Err(format!("the key '{key}' appears twice"));
        }
        match p.peek() {
            Some(b',') => p.at += 1,
            Some(b'}') => {}
            _ => return Err(p.unexpected("',' or '}'")),
        }
    }
    if let Some(at) = text[p.at..]
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
    {
        return Err(format!("unexpected text after the dict at byte {}", p.at + at));
    }
    let missing = |k: &str| format!("the key '{k}' is missing");
    Ok(Header {
        descr: descr.ok_or_else(|| missing("descr"))?,
        fortran_order: fortran.ok_or_else(|| missing("fortran_order"))?,
        shape: shape.ok_or_else(|| missing("shape"))?,
    })
}

/// A supported element type.
#[derive(Clone, Copy)]
struct Dtype {
    kind: u8,
    size: usize,
    big_endian: bool,
}

impl Dtype {
    fn parse(descr: &str) -> std::result::Result<Dtype, String> {
        let refuse = |what: &str| {
            format!(
                "dtype '{descr}' ({what}) is not supported: Kiln reads float32 and float64 (as float32), \
                 int8 to int64, uint8 to uint64 and bool (as int32)"
            )
        };
        let b = descr.as_bytes();
        let (order, kind, size) = match b {
            // `|O` (objects) has no size; every other dtype string has one.
            [order @ (b'<' | b'>' | b'|' | b'='), kind, digits @ ..]
                if digits.iter().all(u8::is_ascii_digit) && digits.len() <= 3 =>
            {
                (*order, *kind, descr[2..].parse().unwrap_or(0))
            }
            _ => return Err(refuse("not a plain numeric dtype")),
        };
        let name = match (kind, size) {
            (b'f', 4) => "float32",
            (b'f', 8) => "float64",
            (b'i', 1) => "int8",
            (b'i', 2) => "int16",
            (b'i', 4) => "int32",
            (b'i', 8) => "int64",
            (b'u', 1) => "uint8",
            (b'u', 2) => "uint16",
            (b'u', 4) => "uint32",
            (b'u', 8) => "uint64",
            (b'b', 1) => "bool",
            (b'f', 2) => return Err(refuse("float16")),
            (b'f', _) => return Err(refuse("an extended-precision float")),
            (b'c', _) => return Err(refuse("complex")),
            (b'U', _) => return Err(refuse("a unicode string")),
            (b'S' | b'a', _) => return Err(refuse("a byte string")),
            (b'V', _) => return Err(refuse("raw bytes or a structured record")),
            (b'O', _) => return Err(refuse("Python objects")),
            (b'M' | b'm', _) => return Err(refuse("a date or time")),
            _ => return Err(refuse("unknown")),
        };
        let big_endian = match order {
            b'>' => true,
            b'<' => false,
            b'=' => cfg!(target_endian = "big"),
            _ if size == 1 => false,
            _ => return Err(refuse(&format!("{name} without a byte order"))),
        };
        Ok(Dtype { kind, size, big_endian })
    }

    /// The `size`-byte element at `chunk`, as raw bits in a u64 (host order).
    fn bits(&self, chunk: &[u8]) -> u64 {
        let mut buf = [0u8; 8];
        if self.big_endian {
            buf[8 - self.size..].copy_from_slice(chunk);
            u64::from_be_bytes(buf)
        } else {
            buf[..self.size].copy_from_slice(chunk);
            u64::from_le_bytes(buf)
        }
    }

    fn convert(&self, data: &[u8]) -> std::result::Result<HostData, String> {
        let elements = data.chunks_exact(self.size).map(|c| self.bits(c));
        match (self.kind, self.size) {
            (b'f', 4) => Ok(HostData::F32(elements.map(|b| f32::from_bits(b as u32)).collect())),
            (b'f', _) => elements
                .enumerate()
                .map(|(i, b)| {
                    let x = f64::from_bits(b);
                    if x.is_finite() && x.abs() > f64::from(f32::MAX) {
                        Err(format!("element {i} ({x:e}) is outside float32's range"))
                    } else {
                        Ok(x as f32)
                    }
                })
                .collect::<std::result::Result<_, _>>()
                .map(HostData::F32),
            (b'b', _) => elements
                .enumerate()
                .map(|(i, b)| match b {
                    0 | 1 => Ok(b as i32),
                    _ => Err(format!("element {i} is byte {b}, not a bool (0 or 1)")),
                })
                .collect::<std::result::Result<_, _>>()
                .map(HostData::I32),
            (kind, size) => {
                let signed = kind == b'i';
                elements
                    .enumerate()
                    .map(|(i, b)| {
                        let v: i128 = if signed {
                            // Sign-extend from `size` bytes.
                            let shift = 64 - 8 * size as u32;
                            i128::from(((b << shift) as i64) >> shift)
                        } else {
                            i128::from(b)
                        };
                        i32::try_from(v).map_err(|_| format!("element {i} ({v}) does not fit in int32"))
                    })
                    .collect::<std::result::Result<_, _>>()
                    .map(HostData::I32)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `.npy` file: a version 1.0 prefix around `dict` (unpadded: padding is not
    /// required to read) and `data`.
    fn file(dict: &str, data: &[u8]) -> Vec<u8> {
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(dict.len() as u16 + 1).to_le_bytes());
        out.extend_from_slice(dict.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(data);
        out
    }

    fn error(bytes: &[u8]) -> String {
        decode(bytes, "t.npy").unwrap_err().to_string()
    }

    #[test]
    fn header_syntax_is_read_strictly() {
        let four = [0u8; 4];
        let ok = |dict: &str| decode(&file(dict, &four), "t.npy").map(|t| t.shape().to_vec());
        assert_eq!(
            ok("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }").unwrap(),
            vec![1]
        );
        assert_eq!(
            ok("{\"shape\": (1L,), \"descr\": \"<i4\", \"fortran_order\": False}").unwrap(),
            vec![1]
        );
        assert_eq!(
            ok("{'descr': '<f4', 'fortran_order': False, 'shape': ()}").unwrap(),
            Vec::<usize>::new()
        );
        assert_eq!(
            ok("{'descr':'<f4','fortran_order':False,'shape':(1,1)}").unwrap(),
            vec![1, 1]
        );
        for (dict, message) in [
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1)}",
                "expected ',' (a tuple)",
            ),
            ("{'descr': '<f4', 'fortran_order': False}", "the key 'shape' is missing"),
            (
                "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}",
                "at byte 34, found '0'",
            ),
            (
                "{'descr': '<f4', 'fortran_order': 'no', 'shape': (1,)}",
                "'fortran_order' must be True or False",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}",
                "unexpected key 'x'",
            ),
            (
                "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}",
                "appears twice",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
                "a non-negative integer",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x",
                "unexpected text after the dict",
            ),
            ("{'descr': '<f\\x34', 'fortran_order': False, 'shape': (1,)}", "escapes"),
            (
                "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}",
                "structured dtypes",
            ),
            (
                "{'descr': '<f4', 'fortran_order': __import__('os'), 'shape': (1,)}",
                "expected a string, True",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)",
                "expected ',' or '}' at byte 54",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1,),",
                "expected a quoted string",
            ),
        ] {
            let e = error(&file(dict, &four));
            assert!(e.starts_with("t.npy: bad .npy header: "), "{e}");
            assert!(e.contains(message), "{dict}: {e}");
        }
    }

    #[test]
    fn prefix_problems_are_named() {
        assert!(error(b"PK\x03\x04 not numpy").contains("not a NumPy .npy file"));
        assert!(error(b"\x93NUMPY\x01").contains("truncated .npy file"));
        assert!(error(b"\x93NUMPY\x04\x00\x00\x00").contains("format version 4.0 is not supported"));
        assert!(error(b"\x93NUMPY\x02\x00\xff\xff\xff\xff").contains("more than the 10000 allowed"));
        assert!(error(b"\x93NUMPY\x01\x00\x40\x00{'descr'").contains("truncated .npy file: the header declares 64"));
    }

    #[test]
    fn a_huge_declared_shape_is_refused_before_allocating() {
        let e = error(&file(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000, 100000000000), }",
            &[0; 8],
        ));
        assert!(e.contains("the shape (100000000000, 100000000000) is too large"), "{e}");
        let e = error(&file(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000,), }",
            &[0; 8],
        ));
        assert!(
            e.contains("needs 4000000000 bytes of data but the file holds 8 after its header (truncated?)"),
            "{e}"
        );
        let e = error(&file(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
            &[0; 8],
        ));
        assert!(e.contains("needs 4 bytes of data but the file holds 8"), "{e}");
    }

    #[test]
    fn dtypes_convert_by_the_documented_rule() {
        let f8: Vec<u8> = [1.5f64, -2.25, 1e-50].iter().flat_map(|x| x.to_le_bytes()).collect();
        let t = decode(
            &file("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", &f8),
            "t",
        )
        .unwrap();
        assert_eq!(t.as_f32().unwrap(), &[1.5, -2.25, 0.0]);
        let big: Vec<u8> = [1e300f64].iter().flat_map(|x| x.to_le_bytes()).collect();
        let e = error(&file("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", &big));
        assert!(e.contains("element 0 (1e300) is outside float32's range"), "{e}");
        let be: Vec<u8> = [-3i16, 300].iter().flat_map(|x| x.to_be_bytes()).collect();
        let t = decode(
            &file("{'descr': '>i2', 'fortran_order': False, 'shape': (2,), }", &be),
            "t",
        )
        .unwrap();
        assert_eq!(t.as_i32().unwrap(), &[-3, 300]);
        let i8s: Vec<u8> = [-7i64, 1 << 40].iter().flat_map(|x| x.to_le_bytes()).collect();
        let e = error(&file("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", &i8s));
        assert!(e.contains("element 1 (1099511627776) does not fit in int32"), "{e}");
        let t = decode(
            &file("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", &[255, 0]),
            "t",
        )
        .unwrap();
        assert_eq!(t.as_i32().unwrap(), &[255, 0]);
        let t = decode(
            &file("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", &[1, 0]),
            "t",
        )
        .unwrap();
        assert_eq!(t.as_i32().unwrap(), &[1, 0]);
        for (descr, name) in [
            ("<f2", "float16"),
            ("<c8", "complex"),
            ("<U3", "unicode"),
            ("|O", "objects"),
        ] {
            let e = error(&file(
                &format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (0,), }}"),
                &[],
            ));
            assert!(e.contains(&format!("dtype '{descr}'")) && e.contains(name), "{e}");
        }
        let e = error(&file(
            "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }",
            &[0; 4],
        ));
        assert!(e.contains("Fortran order"), "{e}");
    }

    #[test]
    fn truncated_and_corrupted_files_are_errors_not_panics() {
        let good = encode(&HostTensor::from_f32(vec![1.0, -2.0, 3.5], [3, 1]).unwrap());
        for end in 0..good.len() {
            assert!(decode(&good[..end], "t.npy").is_err(), "prefix of {end} bytes");
        }
        // Every byte of the prefix and header set to each of a few hostile values.
        for at in 0..good.len() - 12 {
            for value in [0u8, b'(', b')', b',', b'{', b'}', b'\'', b'9', 0xff] {
                let mut bad = good.clone();
                bad[at] = value;
                let _ = decode(&bad, "t.npy");
            }
        }
        assert_eq!(decode(&good, "t.npy").unwrap().to_f32(), vec![1.0, -2.0, 3.5]);
    }

    #[test]
    fn encode_pads_like_numpy() {
        // Hand-derived: the dict is 57 bytes, plus 20 spaces of growth room (21 digits less
        // the one of "2"), 10 bytes of prefix and the newline: 88, padded to 128; the
        // header length field counts all but the 10 prefix bytes: 118.
        let t = HostTensor::from_i32(vec![1, 2], [2]).unwrap();
        let bytes = encode(&t);
        assert_eq!(bytes.len(), 128 + 8);
        assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), 118);
        assert_eq!(bytes[127], b'\n');
        assert!(bytes[10..].starts_with(b"{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }"));
        assert_eq!(&bytes[128..], &[1, 0, 0, 0, 2, 0, 0, 0]);
    }
}
