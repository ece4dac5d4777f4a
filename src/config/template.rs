//! Python `str.format` templates over glob variables (spec §3.5) and metadata expansion (§3.4).
//!
//! The reference formats globs and metadata with Python's `str.format(**vars)`, so the values must
//! print as Python's `str()` does (`1.0`, `None`, `1e+16`) and format specs follow Python's
//! mini-language. The real configs only use plain `{var}`; we also support the common specs
//! (fill/align/sign/`0`/width/grouping/precision with the `s d x X o b f F e E g G %` types) and
//! the `!s`/`!r` conversions. Attribute and index access (`{a.b}`, `{a[0]}`) and positional fields
//! are rejected as syntax errors, since glob variables are plain scalars.

use super::error::TemplateError;
use indexmap::IndexMap;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// Template variables by name.
pub type GlobVars = BTreeMap<String, VarValue>;

/// One template variable: the Python types the reference puts in its glob vars.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum VarValue {
    /// A Python `str` (names, paths, run data map cells).
    Str(String),
    /// A Python `int` (numeric ids, `int_{T}_name`).
    Int(i64),
    /// A Python `float`; printed with Python's `repr` rules.
    Float(f64),
    /// Python `None` (e.g. a path or `mapped_*` value that is absent); prints as `None`.
    None,
}

impl fmt::Display for VarValue {
    /// Python `str()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VarValue::Str(s) => f.write_str(s),
            VarValue::Int(i) => write!(f, "{i}"),
            VarValue::Float(x) => f.write_str(&python_float_repr(*x)),
            VarValue::None => f.write_str("None"),
        }
    }
}

impl From<&str> for VarValue {
    fn from(s: &str) -> Self {
        VarValue::Str(s.to_string())
    }
}
impl From<String> for VarValue {
    fn from(s: String) -> Self {
        VarValue::Str(s)
    }
}
impl From<i64> for VarValue {
    fn from(i: i64) -> Self {
        VarValue::Int(i)
    }
}
impl From<f64> for VarValue {
    fn from(x: f64) -> Self {
        VarValue::Float(x)
    }
}

/// Python's `repr`/`str` of a float. Finite values share the JSON writer's formatter; only
/// the non-finite spellings differ (`str` says `nan`/`inf`, `json.dumps` says `NaN`/`Infinity`).
pub fn python_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    crate::pycompat::json::py_float_repr(x)
}

/// Formats `template` like Python's `template.format(**vars)`.
pub fn format_template(template: &str, vars: &GlobVars) -> Result<String, TemplateError> {
    let syntax = |position: usize, message: &str| TemplateError::Syntax {
        template: template.to_string(),
        position,
        message: message.to_string(),
    };
    let bytes = template.as_bytes();
    let mut out = String::with_capacity(template.len());
    let mut i = 0;
    let mut literal_start = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                out.push_str(&template[literal_start..i]);
                out.push('{');
                i += 2;
                literal_start = i;
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => {
                out.push_str(&template[literal_start..i]);
                out.push('}');
                i += 2;
                literal_start = i;
            }
            b'}' => return Err(syntax(i, "single '}' encountered")),
            b'{' => {
                out.push_str(&template[literal_start..i]);
                // Find the matching close brace (specs may nest one level of `{}`).
                let start = i;
                let mut depth = 0usize;
                let mut end = None;
                for (j, &c) in bytes.iter().enumerate().skip(i) {
                    match c {
                        b'{' => depth += 1,
                        b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = Some(j);
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                let end = end.ok_or_else(|| syntax(start, "expected '}' before end of string"))?;
                out.push_str(&replacement(
                    template,
                    start,
                    &template[start + 1..end],
                    vars,
                )?);
                i = end + 1;
                literal_start = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(&template[literal_start..]);
    Ok(out)
}

/// Formats one `{field[!conv][:spec]}` (without its braces).
fn replacement(
    template: &str,
    position: usize,
    field: &str,
    vars: &GlobVars,
) -> Result<String, TemplateError> {
    let syntax = |message: &str| TemplateError::Syntax {
        template: template.to_string(),
        position,
        message: message.to_string(),
    };
    let (head, spec) = match field.find(':') {
        Some(k) => (&field[..k], &field[k + 1..]),
        None => (field, ""),
    };
    let (name, conversion) = match head.find('!') {
        Some(k) => (&head[..k], Some(&head[k + 1..])),
        None => (head, None),
    };
    if name.is_empty() || name.chars().all(|c| c.is_ascii_digit()) {
        return Err(syntax(
            "positional fields are not supported (use a variable name)",
        ));
    }
    if name.contains(['.', '[', ']', '{']) {
        return Err(syntax("attribute and index access are not supported"));
    }
    let value = vars.get(name).ok_or_else(|| TemplateError::MissingVar {
        template: template.to_string(),
        name: name.to_string(),
        available: vars.keys().cloned().collect::<Vec<_>>().join(", "),
    })?;
    // A spec may contain nested replacement fields.
    let spec = if spec.contains('{') {
        format_template(spec, vars)?
    } else {
        spec.to_string()
    };
    let value = match conversion {
        None => value.clone(),
        Some("s") => VarValue::Str(value.to_string()),
        Some("r") => VarValue::Str(match value {
            VarValue::Str(s) => python_str_repr(s),
            other => other.to_string(),
        }),
        Some(_) => return Err(syntax("unknown conversion (expected !s or !r)")),
    };
    format_value(&value, &spec).map_err(|message| TemplateError::BadSpec {
        template: template.to_string(),
        name: name.to_string(),
        value: value.to_string(),
        spec: spec.clone(),
        message,
    })
}

fn python_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::new();
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c)
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// A parsed format spec: `[[fill]align][sign][z][#][0][width][grouping][.precision][type]`.
#[derive(Debug, Default)]
struct Spec {
    fill: Option<char>,
    align: Option<char>,
    sign: Option<char>,
    alternate: bool,
    zero: bool,
    width: usize,
    grouping: Option<char>,
    precision: Option<usize>,
    ty: Option<char>,
}

fn parse_spec(spec: &str) -> Result<Spec, String> {
    let chars: Vec<char> = spec.chars().collect();
    let mut s = Spec::default();
    let mut i = 0;
    let is_align = |c: char| matches!(c, '<' | '>' | '^' | '=');
    if chars.len() >= 2 && is_align(chars[1]) {
        s.fill = Some(chars[0]);
        s.align = Some(chars[1]);
        i = 2;
    } else if !chars.is_empty() && is_align(chars[0]) {
        s.align = Some(chars[0]);
        i = 1;
    }
    if i < chars.len() && matches!(chars[i], '+' | '-' | ' ') {
        s.sign = Some(chars[i]);
        i += 1;
    }
    if i < chars.len() && chars[i] == 'z' {
        i += 1;
    }
    if i < chars.len() && chars[i] == '#' {
        s.alternate = true;
        i += 1;
    }
    if i < chars.len() && chars[i] == '0' {
        s.zero = true;
        i += 1;
    }
    let start = i;
    while i < chars.len() && chars[i].is_ascii_digit() {
        i += 1;
    }
    if i > start {
        s.width = chars[start..i]
            .iter()
            .collect::<String>()
            .parse()
            .map_err(|_| "width too large")?;
    }
    if i < chars.len() && matches!(chars[i], ',' | '_') {
        s.grouping = Some(chars[i]);
        i += 1;
    }
    if i < chars.len() && chars[i] == '.' {
        i += 1;
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err("format specifier missing precision".to_string());
        }
        s.precision = Some(
            chars[start..i]
                .iter()
                .collect::<String>()
                .parse()
                .map_err(|_| "precision too large")?,
        );
    }
    if i < chars.len() {
        s.ty = Some(chars[i]);
        i += 1;
    }
    if i != chars.len() {
        return Err("invalid format specifier".to_string());
    }
    Ok(s)
}

/// Python `format(value, spec)` for the supported types.
fn format_value(value: &VarValue, spec: &str) -> Result<String, String> {
    if spec.is_empty() {
        return Ok(value.to_string());
    }
    let s = parse_spec(spec)?;
    match value {
        VarValue::None => Err("unsupported format string passed to NoneType.__format__".into()),
        VarValue::Str(text) => {
            if !matches!(s.ty, None | Some('s')) {
                return Err(format!(
                    "unknown format code '{}' for object of type 'str'",
                    s.ty.unwrap()
                ));
            }
            if s.sign.is_some() || s.grouping.is_some() || s.alternate {
                return Err(
                    "sign, '#' and grouping are not allowed in a string format specifier".into(),
                );
            }
            if s.align == Some('=') {
                return Err("'=' alignment not allowed in string format specifier".into());
            }
            let body: String = match s.precision {
                Some(p) => text.chars().take(p).collect(),
                None => text.clone(),
            };
            let fill = s.fill.unwrap_or(if s.zero { '0' } else { ' ' });
            let align = s.align.unwrap_or('<');
            Ok(pad(String::new(), body, &s, fill, align))
        }
        VarValue::Int(i) => match s.ty {
            None | Some('d') | Some('n') | Some('x') | Some('X') | Some('o') | Some('b') => {
                if s.precision.is_some() {
                    return Err("precision not allowed in integer format specifier".into());
                }
                let mag = i.unsigned_abs();
                let (mut digits, prefix) = match s.ty {
                    Some('x') => (format!("{mag:x}"), "0x"),
                    Some('X') => (format!("{mag:X}"), "0X"),
                    Some('o') => (format!("{mag:o}"), "0o"),
                    Some('b') => (format!("{mag:b}"), "0b"),
                    _ => (mag.to_string(), ""),
                };
                if let Some(g) = s.grouping {
                    let every = if matches!(s.ty, Some('x' | 'X' | 'o' | 'b')) {
                        4
                    } else {
                        3
                    };
                    digits = group(&digits, g, every);
                }
                let mut sign = sign_str(*i < 0, s.sign);
                if s.alternate {
                    sign.push_str(prefix);
                }
                Ok(numeric_pad(sign, digits, &s))
            }
            Some('f' | 'F' | 'e' | 'E' | 'g' | 'G' | '%') => format_float(*i as f64, &s),
            Some(c) => Err(format!(
                "unknown format code '{c}' for object of type 'int'"
            )),
        },
        VarValue::Float(x) => match s.ty {
            None | Some('f' | 'F' | 'e' | 'E' | 'g' | 'G' | '%') => format_float(*x, &s),
            Some(c) => Err(format!(
                "unknown format code '{c}' for object of type 'float'"
            )),
        },
    }
}

fn sign_str(negative: bool, sign: Option<char>) -> String {
    match (negative, sign) {
        (true, _) => "-".into(),
        (false, Some('+')) => "+".into(),
        (false, Some(' ')) => " ".into(),
        _ => String::new(),
    }
}

/// Inserts `sep` every `every` digits from the right of the integer part.
fn group(digits: &str, sep: char, every: usize) -> String {
    let (int_part, rest) = match digits.find(|c: char| !c.is_ascii_alphanumeric()) {
        Some(k) => (&digits[..k], &digits[k..]),
        None => (digits, ""),
    };
    let mut out = String::new();
    for (n, c) in int_part.chars().enumerate() {
        if n > 0 && (int_part.len() - n) % every == 0 {
            out.push(sep);
        }
        out.push(c);
    }
    out + rest
}

fn format_float(x: f64, s: &Spec) -> Result<String, String> {
    let negative = x.is_sign_negative() && !x.is_nan();
    let mag = x.abs();
    let upper = matches!(s.ty, Some('F' | 'E' | 'G'));
    let mut body = if !mag.is_finite() {
        if mag.is_nan() { "nan" } else { "inf" }.to_string()
    } else {
        match s.ty {
            Some('f' | 'F') => format!("{:.*}", s.precision.unwrap_or(6), mag),
            Some('%') => format!("{:.*}%", s.precision.unwrap_or(6), mag * 100.0),
            Some('e' | 'E') => sci(mag, s.precision.unwrap_or(6)),
            Some('g' | 'G') => general(mag, s.precision.unwrap_or(6), s.alternate),
            // No type: str() without precision, otherwise like 'g' with at least one decimal.
            _ => match s.precision {
                None => python_float_repr(mag),
                Some(p) => {
                    let g = general(mag, p, s.alternate);
                    if g.contains(['.', 'e']) {
                        g
                    } else {
                        g + ".0"
                    }
                }
            },
        }
    };
    if upper {
        body = body.to_uppercase();
    }
    if let Some(g) = s.grouping {
        body = group(&body, g, 3);
    }
    Ok(numeric_pad(sign_str(negative, s.sign), body, s))
}

/// `{:e}` with Python's exponent style (`1.500000e+03`).
fn sci(x: f64, precision: usize) -> String {
    let r = format!("{:.*e}", precision, x);
    let (m, e) = r.split_once('e').expect("`{:e}` has an exponent");
    let e: i32 = e.parse().expect("exponent is an integer");
    format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
}

/// Python's 'g' presentation.
fn general(x: f64, precision: usize, alternate: bool) -> String {
    let p = precision.max(1);
    if x == 0.0 {
        return if alternate {
            format!("{:.*}", p - 1, 0.0)
        } else {
            "0".into()
        };
    }
    let r = format!("{:.*e}", p - 1, x);
    let exp: i32 = r.split_once('e').unwrap().1.parse().unwrap();
    let out = if exp >= -4 && exp < p as i32 {
        format!("{:.*}", (p as i32 - 1 - exp) as usize, x)
    } else {
        sci(x, p - 1)
    };
    if alternate {
        return out;
    }
    // Strip trailing zeros (and a bare dot) from the mantissa.
    let (m, e) = match out.find('e') {
        Some(k) => (&out[..k], &out[k..]),
        None => (&out[..], ""),
    };
    let m = if m.contains('.') {
        m.trim_end_matches('0').trim_end_matches('.')
    } else {
        m
    };
    format!("{m}{e}")
}

fn numeric_pad(sign: String, body: String, s: &Spec) -> String {
    let (fill, align) = if s.zero && s.align.is_none() {
        (s.fill.unwrap_or('0'), '=')
    } else {
        (s.fill.unwrap_or(' '), s.align.unwrap_or('>'))
    };
    pad(sign, body, s, fill, align)
}

fn pad(sign: String, body: String, s: &Spec, fill: char, align: char) -> String {
    let len = sign.chars().count() + body.chars().count();
    let missing = s.width.saturating_sub(len);
    let fills = |n: usize| fill.to_string().repeat(n);
    match align {
        '<' => format!("{sign}{body}{}", fills(missing)),
        '^' => format!(
            "{}{sign}{body}{}",
            fills(missing / 2),
            fills(missing - missing / 2)
        ),
        '=' => format!("{sign}{}{body}", fills(missing)),
        _ => format!("{}{sign}{body}", fills(missing)),
    }
}

/// Spec §3.4: formats every string of `metadata` (recursively through mappings, and strings that
/// are direct items of lists) with the run's `run_data_map` row, then turns `"int X"` into an
/// integer and `"float X"` into a float. Without a row (or with an empty one) nothing changes,
/// as in the reference.
pub fn expand_metadata(
    metadata: &Map<String, Value>,
    row: Option<&IndexMap<String, String>>,
) -> Result<Map<String, Value>, TemplateError> {
    let row = match row {
        Some(r) if !r.is_empty() => r,
        _ => return Ok(metadata.clone()),
    };
    let vars: GlobVars = row
        .iter()
        .map(|(k, v)| (k.clone(), VarValue::Str(v.clone())))
        .collect();
    expand_map(metadata, &vars, "")
}

fn expand_map(
    map: &Map<String, Value>,
    vars: &GlobVars,
    prefix: &str,
) -> Result<Map<String, Value>, TemplateError> {
    let mut out = Map::new();
    for (k, v) in map {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        let new = match v {
            Value::String(s) => expand_string(s, vars, &path)?,
            Value::Object(m) => Value::Object(expand_map(m, vars, &path)?),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| match item {
                        Value::String(s) => expand_string(s, vars, &format!("{path}[{i}]")),
                        other => Ok(other.clone()),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            other => other.clone(),
        };
        out.insert(k.clone(), new);
    }
    Ok(out)
}

fn expand_string(s: &str, vars: &GlobVars, path: &str) -> Result<Value, TemplateError> {
    let in_field = |e: TemplateError| TemplateError::InField {
        path: path.to_string(),
        source: Box::new(e),
    };
    let text = format_template(s, vars).map_err(in_field)?;
    if let Some(rest) = text.strip_prefix("int ") {
        return python_int(rest).map(Value::from).map_err(in_field);
    }
    if let Some(rest) = text.strip_prefix("float ") {
        return python_float(rest).map_err(in_field);
    }
    Ok(Value::String(text))
}

/// Python `int(str)`: surrounding whitespace, a sign, digits with single underscores.
fn python_int(text: &str) -> Result<i64, TemplateError> {
    let conv = || TemplateError::Conversion {
        value: format!("int {text}"),
        expected: "an integer after \"int \"".to_string(),
    };
    let t = text.trim();
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    if body.is_empty()
        || body.starts_with('_')
        || body.ends_with('_')
        || body.contains("__")
        || !body.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return Err(conv());
    }
    t.replace('_', "").parse::<i64>().map_err(|_| conv())
}

/// Python `float(str)`, limited to finite values (JSON has no inf/nan).
fn python_float(text: &str) -> Result<Value, TemplateError> {
    let conv = |expected: &str| TemplateError::Conversion {
        value: format!("float {text}"),
        expected: expected.to_string(),
    };
    let t = text.trim().replace('_', "");
    let x: f64 = t.parse().map_err(|_| conv("a number after \"float \""))?;
    serde_json::Number::from_f64(x)
        .map(Value::Number)
        .ok_or_else(|| conv("a finite number after \"float \""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(pairs: &[(&str, VarValue)]) -> GlobVars {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn python_float_repr_matches_python() {
        let cases = [
            (1.0, "1.0"),
            (13.48, "13.48"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789012345.0, "123456789012345.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.25e-7, "1.25e-07"),
            (0.0, "0.0"),
            (f64::INFINITY, "inf"),
        ];
        for (x, want) in cases {
            assert_eq!(python_float_repr(x), want, "repr of {x}");
        }
    }

    #[test]
    fn plain_substitution_and_escapes() {
        let v = vars(&[
            ("run_name", "TS_01".into()),
            ("voxel_spacing_name", "13.480".into()),
            ("n", VarValue::Int(7)),
            ("x", VarValue::Float(1.0)),
            ("nothing", VarValue::None),
        ]);
        assert_eq!(
            format_template("{run_name}/VoxelSpacing{voxel_spacing_name}/*.mrc", &v).unwrap(),
            "TS_01/VoxelSpacing13.480/*.mrc"
        );
        assert_eq!(
            format_template("{{run_name}} {n}", &v).unwrap(),
            "{run_name} 7"
        );
        assert_eq!(format_template("a}}b{{", &v).unwrap(), "a}b{");
        assert_eq!(format_template("{x}-{nothing}", &v).unwrap(), "1.0-None");
        assert_eq!(format_template("no fields", &v).unwrap(), "no fields");
    }

    #[test]
    fn format_specs() {
        let v = vars(&[
            ("i", VarValue::Int(7)),
            ("neg", VarValue::Int(-42)),
            ("f", VarValue::Float(13.4795)),
            ("big", VarValue::Int(1234567)),
            ("s", "ab".into()),
            ("w", VarValue::Int(6)),
        ]);
        assert_eq!(format_template("{i:03d}", &v).unwrap(), "007");
        assert_eq!(format_template("{neg:05d}", &v).unwrap(), "-0042");
        assert_eq!(format_template("{f:.3f}", &v).unwrap(), "13.479");
        assert_eq!(format_template("{i:.2f}", &v).unwrap(), "7.00");
        assert_eq!(format_template("{big:,}", &v).unwrap(), "1,234,567");
        assert_eq!(
            format_template("{s:>4}|{s:<4}|{s:^6}", &v).unwrap(),
            "  ab|ab  |  ab  "
        );
        assert_eq!(format_template("{s:*^{w}}", &v).unwrap(), "**ab**");
        assert_eq!(format_template("{i:x}{i:+d}", &v).unwrap(), "7+7");
        assert_eq!(format_template("{f:.2e}", &v).unwrap(), "1.35e+01");
        assert_eq!(format_template("{f:g}", &v).unwrap(), "13.4795");
        assert_eq!(format_template("{s!r}", &v).unwrap(), "'ab'");
    }

    #[test]
    fn missing_var_names_it() {
        let v = vars(&[("run_name", "TS_01".into())]);
        let e = format_template("{dataset_name}/{run_name}", &v).unwrap_err();
        assert!(matches!(&e, TemplateError::MissingVar { name, .. } if name == "dataset_name"));
        let msg = e.to_string();
        assert!(msg.contains("`{dataset_name}`"), "{msg}");
        assert!(msg.contains("run_name"), "{msg}");
    }

    #[test]
    fn syntax_and_spec_errors() {
        let v = vars(&[("s", "ab".into()), ("f", VarValue::Float(1.5))]);
        for bad in ["{s", "s}", "{}", "{0}", "{s.x}", "{s!q}"] {
            assert!(
                matches!(format_template(bad, &v), Err(TemplateError::Syntax { .. })),
                "{bad} should be a syntax error"
            );
        }
        assert!(matches!(
            format_template("{s:03d}", &v),
            Err(TemplateError::BadSpec { .. })
        ));
        assert!(matches!(
            format_template("{f:d}", &v),
            Err(TemplateError::BadSpec { .. })
        ));
    }

    fn row(pairs: &[(&str, &str)]) -> IndexMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn expand_metadata_types_and_recurses() {
        let meta = json!({
            "tilt_series_quality": "int {quality}",
            "total_flux": "float {flux}",
            "tilt_range": {"min": "float {min}", "max": 60.0, "deep": {"sw": "{software}"}},
            "authors": ["{software}", {"name": "{software}"}, 3],
            "plain": "no template",
            "flag": true
        });
        let meta = meta.as_object().unwrap();
        let r = row(&[
            ("quality", "4"),
            ("flux", "120.5"),
            ("min", "-60"),
            ("software", "IMOD"),
        ]);
        let out = expand_metadata(meta, Some(&r)).unwrap();
        assert_eq!(
            Value::Object(out.clone()),
            json!({
                "tilt_series_quality": 4,
                "total_flux": 120.5,
                "tilt_range": {"min": -60.0, "max": 60.0, "deep": {"sw": "IMOD"}},
                // Only strings directly inside lists are formatted, not dicts inside lists.
                "authors": ["IMOD", {"name": "{software}"}, 3],
                "plain": "no template",
                "flag": true
            })
        );
        assert!(out["tilt_series_quality"].is_i64());
        assert!(out["tilt_range"]["min"].is_f64());
        let keys: Vec<_> = out.keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "tilt_series_quality",
                "total_flux",
                "tilt_range",
                "authors",
                "plain",
                "flag"
            ]
        );
    }

    #[test]
    fn expand_metadata_without_row_is_untouched() {
        let meta = json!({"q": "int {quality}"});
        let meta = meta.as_object().unwrap();
        assert_eq!(&expand_metadata(meta, None).unwrap(), meta);
        assert_eq!(
            &expand_metadata(meta, Some(&IndexMap::new())).unwrap(),
            meta
        );
    }

    #[test]
    fn expand_metadata_errors_name_the_field() {
        let meta = json!({"tilt_range": {"min": "float {missing_col}"}, "q": "int {q}"});
        let meta = meta.as_object().unwrap();
        let e = expand_metadata(meta, Some(&row(&[("q", "x")]))).unwrap_err();
        match &e {
            TemplateError::InField { path, source } => {
                assert_eq!(path, "tilt_range.min");
                assert!(
                    matches!(&**source, TemplateError::MissingVar { name, .. } if name == "missing_col")
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        let meta = json!({"q": "int {q}"});
        let e =
            expand_metadata(meta.as_object().unwrap(), Some(&row(&[("q", "4.5")]))).unwrap_err();
        assert!(e.to_string().contains("`q`"), "{e}");
        assert!(e.to_string().contains("int 4.5"), "{e}");
    }
}
