//! Byte-exact Python `json.dumps(value, indent=4)` output.
//!
//! Published metadata files must be byte-identical to the reference's, and serde_json's pretty
//! printer differs from Python's in float formatting (`1e16` vs `1e+16`, `1e-5` vs `1e-05`) and
//! in escaping (Python's default `ensure_ascii` writes every non-ASCII character as `\uXXXX`,
//! astral ones as surrogate pairs). This writer follows CPython's `json` encoder: 4-space
//! indentation, `","` at line ends, `": "` between key and value, empty containers as `[]`/`{}`,
//! no trailing newline, and floats as `float.__repr__`.

use serde_json::{Number, Value};

/// Python's `repr()` of a float: the shortest digits that round-trip, in fixed notation when
/// the decimal exponent is in `[-4, 16)` (always with a `.0` or fraction), otherwise in
/// scientific notation with a signed, at-least-two-digit exponent. `json.dumps` writes
/// non-finite values as `NaN`, `Infinity` and `-Infinity`.
pub fn py_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    if x == 0.0 {
        return format!("{sign}0.0");
    }
    // Rust's `{:e}` prints the shortest round-trip digits, as CPython's repr does.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci
        .split_once('e')
        .expect("LowerExp always has an exponent");
    let exp: i32 = exp.parse().expect("LowerExp exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let decpt = exp + 1; // value = 0.DIGITS × 10^decpt
    if !(-4 < decpt && decpt <= 16) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.abs());
    }
    let n = digits.len() as i32;
    if decpt <= 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-decpt) as usize))
    } else if decpt >= n {
        format!("{sign}{digits}{}.0", "0".repeat((decpt - n) as usize))
    } else {
        let (int, frac) = digits.split_at(decpt as usize);
        format!("{sign}{int}.{frac}")
    }
}

/// A JSON number as Python's `json.dumps` writes it (floats in `repr` form).
pub fn write_number(out: &mut String, n: &Number) {
    if n.is_f64() {
        out.push_str(&py_float_repr(n.as_f64().unwrap_or(f64::NAN)));
    } else {
        out.push_str(&n.to_string());
    }
}

/// A JSON string literal with Python's default `ensure_ascii=True` escaping.
pub fn py_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// How `json.dumps` is called: `indent` (`None`: one line, with `", "` and `": "`
/// separators) and `sort_keys`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Dumps {
    /// Spaces per level; `None` for the one-line form.
    pub indent: Option<usize>,
    /// Object keys sorted (else in the map's insertion order).
    pub sort_keys: bool,
}

impl Dumps {
    /// `json.dumps(value, indent=…, sort_keys=…)` text, without a trailing newline.
    pub fn render(self, value: &Value) -> String {
        let mut out = String::new();
        self.write(&mut out, value, 0);
        out
    }

    fn newline(self, out: &mut String, level: usize) {
        if let Some(indent) = self.indent {
            out.push('\n');
            out.push_str(&" ".repeat(indent * level));
        }
    }

    /// The item separator: `","` before a newline when indenting, else `", "`.
    fn separator(self) -> &'static str {
        if self.indent.is_some() {
            ","
        } else {
            ", "
        }
    }

    fn write(self, out: &mut String, v: &Value, level: usize) {
        match v {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => write_number(out, n),
            Value::String(s) => py_json_string(out, s),
            Value::Array(a) if a.is_empty() => out.push_str("[]"),
            Value::Array(a) => {
                out.push('[');
                for (i, item) in a.iter().enumerate() {
                    if i > 0 {
                        out.push_str(self.separator());
                    }
                    self.newline(out, level + 1);
                    self.write(out, item, level + 1);
                }
                self.newline(out, level);
                out.push(']');
            }
            Value::Object(m) if m.is_empty() => out.push_str("{}"),
            Value::Object(m) => {
                let mut entries: Vec<(&String, &Value)> = m.iter().collect();
                if self.sort_keys {
                    entries.sort_by(|a, b| a.0.cmp(b.0));
                }
                out.push('{');
                for (i, (k, item)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push_str(self.separator());
                    }
                    self.newline(out, level + 1);
                    py_json_string(out, k);
                    out.push_str(": ");
                    self.write(out, item, level + 1);
                }
                self.newline(out, level);
                out.push('}');
            }
        }
    }
}

/// `json.dumps(doc, indent=4)` as UTF-8 bytes (pure ASCII in practice), without a trailing
/// newline. Object keys keep the map's insertion order.
pub fn render_json(doc: &Value) -> Vec<u8> {
    Dumps {
        indent: Some(4),
        sort_keys: false,
    }
    .render(doc)
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn float_reprs_match_cpython() {
        // (value, CPython repr(value))
        let cases: &[(f64, &str)] = &[
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1e-05, "1e-05"),
            (2.5e-05, "2.5e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1e22, "1e+22"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (9007199254740993.0, "9007199254740992.0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (12345678.9, "12345678.9"),
            (-4.38, "-4.38"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (1.5e300, "1.5e+300"),
            (-1.25e-7, "-1.25e-07"),
            (72249.28, "72249.28"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for &(v, want) in cases {
            assert_eq!(py_float_repr(v), want, "{v:e}");
        }
        // Products from the reference tests, with reprs checked against CPython 3.
        assert_eq!(py_float_repr(13.48 * 6.0), "80.88");
        assert_eq!(py_float_repr(1.881 * 1.58), "2.9719800000000003");
        assert_eq!(py_float_repr(80.88000000000001), "80.88000000000001");
    }

    #[test]
    fn layout_matches_json_dumps_indent_4() {
        let v = json!({
            "a": [1, 2.5, {}],
            "b": {"c": null, "d": true, "e": []},
            "f": "x",
            "g": -7,
            "h": 18446744073709551615u64
        });
        let want = "{\n    \"a\": [\n        1,\n        2.5,\n        {}\n    ],\n    \"b\": {\n        \"c\": null,\n        \"d\": true,\n        \"e\": []\n    },\n    \"f\": \"x\",\n    \"g\": -7,\n    \"h\": 18446744073709551615\n}";
        assert_eq!(String::from_utf8(render_json(&v)).unwrap(), want);
        assert_eq!(render_json(&json!([])), b"[]");
        assert_eq!(render_json(&json!({})), b"{}");
        assert_eq!(render_json(&json!(1.0)), b"1.0");
        assert_eq!(render_json(&json!("s")), b"\"s\"");
    }

    #[test]
    fn ensure_ascii_escapes() {
        let v = json!({"k\u{e9}y": "caf\u{e9} \u{1F600} \"q\" \\ /\n\r\t\u{8}\u{c}\u{1}\u{7f}\u{2028}"});
        let want = "{\n    \"k\\u00e9y\": \"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\\\ /\\n\\r\\t\\b\\f\\u0001\\u007f\\u2028\"\n}";
        assert_eq!(String::from_utf8(render_json(&v)).unwrap(), want);
    }

    #[test]
    fn key_order_is_insertion_order() {
        let mut m = serde_json::Map::new();
        m.insert("z".into(), json!(1));
        m.insert("a".into(), json!(2));
        let s = String::from_utf8(render_json(&Value::Object(m))).unwrap();
        assert_eq!(s, "{\n    \"z\": 1,\n    \"a\": 2\n}");
    }
}
