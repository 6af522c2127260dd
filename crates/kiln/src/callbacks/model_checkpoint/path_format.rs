//! Python's `str.format` for checkpoint file paths: `{epoch:02d}`, `{loss:.4f}`,
//! `{val_loss}`, `{{` and `}}`, with the format-spec mini-language for integers and
//! floats (fill, align, sign, `0`, width, precision, types `d f F e E g G %`).

use std::collections::BTreeMap;

/// A value a field can take: the epoch and batch numbers are integers, log values floats.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Value {
    Int(i64),
    Float(f64),
}

/// Fills `pattern`'s fields from `values`; an error says which field or spec is wrong.
pub(crate) fn format_path(pattern: &str, values: &BTreeMap<String, Value>) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '}' => return Err("Single '}' encountered in format string".into()),
            '{' => {
                let mut field = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => field.push(c),
                        None => return Err("Single '{' encountered in format string".into()),
                    }
                }
                let (name, spec) = field.split_once(':').unwrap_or((field.as_str(), ""));
                if name.contains('!') {
                    return Err(format!("conversions ('{name}') are not supported"));
                }
                let value = values.get(name).ok_or_else(|| format!("'{name}'"))?;
                out.push_str(&format_value(*value, spec)?);
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// A parsed format spec: `[[fill]align][sign][0][width][.precision][type]`.
struct Spec {
    fill: char,
    align: Option<char>,
    sign: char,
    width: usize,
    precision: Option<usize>,
    kind: Option<char>,
}

fn parse_spec(spec: &str) -> Result<Spec, String> {
    let chars: Vec<char> = spec.chars().collect();
    let mut i = 0;
    let mut s = Spec {
        fill: ' ',
        align: None,
        sign: '-',
        width: 0,
        precision: None,
        kind: None,
    };
    let is_align = |c: char| matches!(c, '<' | '>' | '^' | '=');
    if chars.len() >= 2 && is_align(chars[1]) {
        s.fill = chars[0];
        s.align = Some(chars[1]);
        i = 2;
    } else if chars.first().is_some_and(|&c| is_align(c)) {
        s.align = Some(chars[0]);
        i = 1;
    }
    if let Some(&c) = chars.get(i)
        && matches!(c, '+' | '-' | ' ')
    {
        s.sign = c;
        i += 1;
    }
    if chars.get(i) == Some(&'0') {
        if s.align.is_none() {
            s.fill = '0';
            s.align = Some('=');
        }
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while chars.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
        chars[start..*i].iter().collect::<String>().parse::<usize>().ok()
    };
    s.width = digits(&mut i).unwrap_or(0);
    if chars.get(i) == Some(&'.') {
        i += 1;
        s.precision = Some(digits(&mut i).ok_or("Format specifier missing precision")?);
    }
    if let Some(&c) = chars.get(i) {
        s.kind = Some(c);
        i += 1;
    }
    if i != chars.len() {
        return Err(format!("Invalid format specifier '{spec}'"));
    }
    Ok(s)
}

fn format_value(value: Value, spec: &str) -> Result<String, String> {
    let s = parse_spec(spec)?;
    let (negative, body) = match (value, s.kind) {
        (Value::Int(v), None | Some('d')) => {
            if s.precision.is_some() {
                return Err("Precision not allowed in integer format specifier".into());
            }
            (v < 0, v.unsigned_abs().to_string())
        }
        (Value::Int(v), Some(_)) => float_body(v as f64, &s)?,
        (Value::Float(v), _) => float_body(v, &s)?,
    };
    let sign = match (negative, s.sign) {
        (true, _) => "-",
        (false, '+') => "+",
        (false, ' ') => " ",
        _ => "",
    };
    let len = sign.chars().count() + body.chars().count();
    let pad = s.width.saturating_sub(len);
    let fill = |n: usize| std::iter::repeat_n(s.fill, n).collect::<String>();
    Ok(match s.align.unwrap_or('>') {
        '<' => format!("{sign}{body}{}", fill(pad)),
        '^' => format!("{}{sign}{body}{}", fill(pad / 2), fill(pad - pad / 2)),
        '=' => format!("{sign}{}{body}", fill(pad)),
        _ => format!("{}{sign}{body}", fill(pad)),
    })
}

/// The digits of `|v|` as Python formats a float with `s`'s precision and type.
fn float_body(v: f64, s: &Spec) -> Result<(bool, String), String> {
    let negative = v.is_sign_negative() && !v.is_nan();
    let a = v.abs();
    let upper = matches!(s.kind, Some('F' | 'E' | 'G'));
    if !a.is_finite() {
        let text = if a.is_nan() { "nan" } else { "inf" };
        let text = if upper { text.to_uppercase() } else { text.into() };
        let text = if s.kind == Some('%') { format!("{text}%") } else { text };
        return Ok((negative, text));
    }
    let body = match s.kind {
        Some('f' | 'F') => format!("{a:.*}", s.precision.unwrap_or(6)),
        Some('%') => format!("{:.*}%", s.precision.unwrap_or(6), a * 100.0),
        Some('e' | 'E') => scientific(a, s.precision.unwrap_or(6)),
        Some('g' | 'G') => general(a, s.precision.unwrap_or(6), false),
        None => match s.precision {
            Some(p) => general(a, p, true),
            None => repr(a),
        },
        Some(k) => return Err(format!("Unknown format code '{k}' for object of type 'float'")),
    };
    Ok((negative, if upper { body.to_uppercase() } else { body }))
}

/// `{:.pe}` as Python writes it: `1.500000e-05`.
fn scientific(a: f64, precision: usize) -> String {
    let text = format!("{a:.precision$e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    format!(
        "{mantissa}e{}{:02}",
        if exponent < 0 { '-' } else { '+' },
        exponent.abs()
    )
}

/// Python's `g`: `precision` significant digits, fixed or scientific by the exponent,
/// trailing zeros dropped (`keep_point`: the no-type form keeps one digit after the point).
fn general(a: f64, precision: usize, keep_point: bool) -> String {
    let p = precision.max(1);
    let rounded = format!("{a:.*e}", p - 1);
    let exponent: i32 = rounded.split_once('e').and_then(|(_, e)| e.parse().ok()).unwrap_or(0);
    let strip = |t: String| {
        if t.contains('.') {
            let t = t.trim_end_matches('0').trim_end_matches('.').to_string();
            if keep_point && !t.contains('.') && !t.contains('e') {
                format!("{t}.0")
            } else {
                t
            }
        } else if keep_point {
            format!("{t}.0")
        } else {
            t
        }
    };
    if -4 <= exponent && exponent < p as i32 {
        strip(format!("{a:.*}", (p as i32 - 1 - exponent) as usize))
    } else {
        let text = scientific(a, p - 1);
        let (mantissa, exp) = text.split_once('e').unwrap_or((&text, ""));
        let mantissa = if mantissa.contains('.') {
            mantissa.trim_end_matches('0').trim_end_matches('.')
        } else {
            mantissa
        };
        format!("{mantissa}e{exp}")
    }
}

/// Python's `repr` of a float: the shortest digits that round-trip, fixed notation for
/// exponents -4 to 15, scientific otherwise (`0.1`, `1.0`, `1e-05`, `1e+16`).
fn repr(a: f64) -> String {
    let text = format!("{a:e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (-4..16).contains(&exponent) {
        if exponent < 0 {
            format!("0.{}{digits}", "0".repeat((-exponent - 1) as usize))
        } else {
            let point = exponent as usize + 1;
            if digits.len() <= point {
                format!("{digits}{}.0", "0".repeat(point - digits.len()))
            } else {
                format!("{}.{}", &digits[..point], &digits[point..])
            }
        }
    } else {
        format!(
            "{mantissa}e{}{:02}",
            if exponent < 0 { '-' } else { '+' },
            exponent.abs()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(pattern: &str) -> Result<String, String> {
        let values = BTreeMap::from([
            ("epoch".to_string(), Value::Int(3)),
            ("batch".to_string(), Value::Int(12)),
            ("loss".to_string(), Value::Float(0.123456789)),
            ("val_loss".to_string(), Value::Float(1.5e-5)),
            ("big".to_string(), Value::Float(12345678.9)),
            ("one".to_string(), Value::Float(1.0)),
            ("neg".to_string(), Value::Float(-0.5)),
        ]);
        format_path(pattern, &values)
    }

    /// Expected strings are Python 3.11's `str.format` of the same patterns and values.
    #[test]
    fn matches_python_str_format() {
        let cases = [
            ("ckpt-{epoch:02d}-{loss:.4f}.kiln", "ckpt-03-0.1235.kiln"),
            ("{epoch}-{batch}", "3-12"),
            ("{loss}", "0.123456789"),
            ("{val_loss}", "1.5e-05"),
            ("{one}", "1.0"),
            ("{big}", "12345678.9"),
            ("{val_loss:.2f}", "0.00"),
            ("{val_loss:.3e}", "1.500e-05"),
            ("{loss:e}", "1.234568e-01"),
            ("{loss:g}", "0.123457"),
            ("{big:g}", "1.23457e+07"),
            ("{val_loss:g}", "1.5e-05"),
            ("{one:g}", "1"),
            ("{loss:.3}", "0.123"),
            ("{one:.3}", "1.0"),
            ("{big:.3}", "1.23e+07"),
            ("{loss:.1%}", "12.3%"),
            ("{neg:08.3f}", "-000.500"),
            ("{neg:+.1f}", "-0.5"),
            ("{loss:+.2f}", "+0.12"),
            ("{epoch:>4}", "   3"),
            ("{epoch:<4}|", "3   |"),
            ("{epoch:*^5}", "**3**"),
            ("{epoch:03}", "003"),
            ("{epoch:.2f}", "3.00"),
            ("{{epoch}}-{epoch}", "{epoch}-3"),
        ];
        for (pattern, expected) in cases {
            assert_eq!(f(pattern).as_deref(), Ok(expected), "{pattern}");
        }
    }

    #[test]
    fn refuses_what_python_refuses() {
        assert_eq!(f("{val_acc}").unwrap_err(), "'val_acc'");
        assert!(f("{loss:d}").unwrap_err().contains("Unknown format code 'd'"));
        assert!(f("{epoch:.2d}").unwrap_err().contains("Precision not allowed"));
        assert!(f("{epoch").unwrap_err().contains("Single '{'"));
        assert!(f("epoch}").unwrap_err().contains("Single '}'"));
    }
}
