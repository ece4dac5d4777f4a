//! A YAML 1.1 reader that resolves scalars the way PyYAML's `safe_load` does.
//!
//! The portal's configs are read by PyYAML, whose implicit typing follows YAML 1.1: `yes`/`no`/`on`/`off`
//! are booleans, `2023-04-01` is a date, `1e3` is a string (YAML 1.1 floats need a dot and a signed
//! exponent, so `1.0e3` is a string too while `1.0e+3` is a float), `017` is octal, `1:30` is a
//! base-60 integer. serde_yaml 0.9 resolves per YAML 1.2 and drops positions, so we take the event
//! stream of `saphyr-parser` (which keeps raw scalar text, quoting style, anchors and spans) and
//! build our own small tree, resolving each plain scalar with PyYAML's resolver patterns.
//!
//! Values that JSON cannot hold are mapped as follows: a date becomes its `YYYY-MM-DD` string (which
//! is what the reference writes to its JSON outputs); a date-time keeps its source text; mapping
//! keys become Python `str()` of the key. Aliases are expanded (a copy of the anchored node), and
//! merge keys (`<<`) are applied as PyYAML does.

use super::error::Location;
use super::template::python_float_repr;
use regex::Regex;
use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use std::collections::HashMap;
use std::sync::LazyLock;

/// One node of the document, with the position where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub value: Value,
    pub loc: Location,
}

/// A resolved YAML value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in document order; keys are unique (a repeated key keeps its first position and
    /// its last value, as a Python dict does).
    Map(Vec<Entry>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub key: String,
    pub key_loc: Location,
    pub value: Node,
}

/// A syntax or typing error in the YAML text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct YamlError {
    pub loc: Location,
    pub message: String,
}

impl Node {
    /// Looks up a mapping entry by key.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    /// A short description of the node for error messages (`a string ("REQUIRED")`).
    pub fn describe(&self) -> String {
        match &self.value {
            Value::Null => "null".to_string(),
            Value::Bool(b) => format!("a boolean ({})", if *b { "true" } else { "false" }),
            Value::Int(i) => format!("an integer ({i})"),
            Value::Float(f) => format!("a float ({})", python_float_repr(*f)),
            Value::Str(s) => {
                let short: String = s.chars().take(60).collect();
                let ell = if short.len() < s.len() { "..." } else { "" };
                format!("a string ({short:?}{ell})")
            }
            Value::Seq(_) => "a list".to_string(),
            Value::Map(_) => "a mapping".to_string(),
        }
    }

    /// Python `str()` of a scalar node (used for mapping keys and the `version` field).
    pub fn python_str(&self) -> Option<String> {
        Some(match &self.value {
            Value::Null => "None".to_string(),
            Value::Bool(true) => "True".to_string(),
            Value::Bool(false) => "False".to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => python_float_repr(*f),
            Value::Str(s) => s.clone(),
            Value::Seq(_) | Value::Map(_) => return None,
        })
    }
}

fn location(span: &Span) -> Location {
    Location {
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

/// Parses one YAML document (an empty document is `Null`).
pub(crate) fn parse(text: &str) -> Result<Node, YamlError> {
    let mut b = Builder {
        parser: Parser::new_from_str(text),
        anchors: HashMap::new(),
    };
    let mut root = None;
    loop {
        let (ev, span) = b.next()?;
        match ev {
            Event::StreamStart | Event::DocumentStart(_) | Event::DocumentEnd | Event::Nothing => {}
            Event::StreamEnd => break,
            other => {
                if root.is_some() {
                    return Err(YamlError {
                        loc: location(&span),
                        message: "more than one document in the stream".to_string(),
                    });
                }
                root = Some(b.node(other, span)?);
            }
        }
    }
    Ok(root.unwrap_or(Node {
        value: Value::Null,
        loc: Location { line: 1, column: 1 },
    }))
}

struct Builder<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    anchors: HashMap<usize, Node>,
}

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), YamlError> {
        match self.parser.next_event() {
            Some(Ok(x)) => Ok(x),
            Some(Err(e)) => Err(YamlError {
                loc: Location {
                    line: e.marker().line(),
                    column: e.marker().col() + 1,
                },
                message: e.info().to_string(),
            }),
            None => Err(YamlError {
                loc: Location { line: 1, column: 1 },
                message: "unexpected end of the event stream".to_string(),
            }),
        }
    }

    fn node(&mut self, ev: Event<'a>, span: Span) -> Result<Node, YamlError> {
        let loc = location(&span);
        let (node, anchor) = match ev {
            Event::Scalar(text, style, anchor, tag) => {
                (resolve_scalar(&text, style, tag.as_deref(), loc)?, anchor)
            }
            Event::Alias(id) => {
                let mut n = self.anchors.get(&id).cloned().ok_or_else(|| YamlError {
                    loc,
                    message: "alias to an unknown anchor".to_string(),
                })?;
                n.loc = loc;
                return Ok(n);
            }
            Event::SequenceStart(anchor, tag) => {
                check_collection_tag(tag.as_deref(), "seq", loc)?;
                let mut items = Vec::new();
                loop {
                    let (ev, span) = self.next()?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(ev, span)?);
                }
                (
                    Node {
                        value: Value::Seq(items),
                        loc,
                    },
                    anchor,
                )
            }
            Event::MappingStart(anchor, tag) => {
                check_collection_tag(tag.as_deref(), "map", loc)?;
                let mut pairs: Vec<(Node, bool, Node)> = Vec::new();
                loop {
                    let (ev, span) = self.next()?;
                    if matches!(ev, Event::MappingEnd) {
                        break;
                    }
                    let is_merge =
                        matches!(&ev, Event::Scalar(t, ScalarStyle::Plain, _, None) if t == "<<");
                    let key = self.node(ev, span)?;
                    let (ev, span) = self.next()?;
                    let value = self.node(ev, span)?;
                    pairs.push((key, is_merge, value));
                }
                (
                    Node {
                        value: Value::Map(build_map(pairs)?),
                        loc,
                    },
                    anchor,
                )
            }
            other => {
                return Err(YamlError {
                    loc,
                    message: format!("unexpected YAML event {other:?}"),
                })
            }
        };
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }
}

/// Builds a mapping's entries, applying merge keys the way PyYAML's `flatten_mapping` does:
/// merged entries come first (the last merged mapping first), explicit ones after, and a later
/// entry overwrites the value of an earlier one with the same key but keeps its position.
fn build_map(pairs: Vec<(Node, bool, Node)>) -> Result<Vec<Entry>, YamlError> {
    let mut merged: Vec<Entry> = Vec::new();
    let mut own: Vec<Entry> = Vec::new();
    for (key, is_merge, value) in pairs {
        if is_merge {
            let maps: Vec<Node> = match value.value {
                Value::Map(_) => vec![value],
                Value::Seq(items) => items,
                _ => {
                    return Err(YamlError {
                        loc: value.loc,
                        message: "a merge key `<<` needs a mapping or a list of mappings"
                            .to_string(),
                    })
                }
            };
            let mut sub = Vec::new();
            for m in maps {
                match m.value {
                    Value::Map(entries) => sub.push(entries),
                    _ => {
                        return Err(YamlError {
                            loc: m.loc,
                            message: "a merge key `<<` needs mappings to merge".to_string(),
                        })
                    }
                }
            }
            for entries in sub.into_iter().rev() {
                merged.extend(entries);
            }
            continue;
        }
        let key_str = key.python_str().ok_or_else(|| YamlError {
            loc: key.loc,
            message: "a mapping key must be a scalar".to_string(),
        })?;
        own.push(Entry {
            key: key_str,
            key_loc: key.loc,
            value,
        });
    }
    let mut out: Vec<Entry> = Vec::new();
    for e in merged.into_iter().chain(own) {
        if let Some(existing) = out.iter_mut().find(|x| x.key == e.key) {
            existing.value = e.value;
        } else {
            out.push(e);
        }
    }
    Ok(out)
}

fn check_collection_tag(tag: Option<&Tag>, want: &str, loc: Location) -> Result<(), YamlError> {
    match tag {
        None => Ok(()),
        Some(t) if t.is_yaml_core_schema() && t.suffix == want => Ok(()),
        Some(t) => Err(YamlError {
            loc,
            message: format!("unsupported tag {t} (safe_load accepts only the standard tags)"),
        }),
    }
}

// PyYAML's implicit resolver patterns (YAML 1.1).
static BOOL_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$")
        .unwrap()
});
static INT_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
    )
    .unwrap()
});
static FLOAT_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
    )
    .unwrap()
});
static DATE_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$").unwrap());
static TIMESTAMP_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?$",
    )
    .unwrap()
});

fn resolve_scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    loc: Location,
) -> Result<Node, YamlError> {
    let err = |message: String| YamlError { loc, message };
    let value = match tag {
        Some(t) if t.is_yaml_core_schema() => match t.suffix.as_str() {
            "str" => Value::Str(text.to_string()),
            "null" => Value::Null,
            "bool" => match resolve_plain(text, loc)? {
                v @ Value::Bool(_) => v,
                _ => return Err(err(format!("{text:?} is not a YAML 1.1 boolean"))),
            },
            "int" => match resolve_plain(text, loc)? {
                v @ Value::Int(_) => v,
                _ => return Err(err(format!("{text:?} is not a YAML 1.1 integer"))),
            },
            "float" => match resolve_plain(text, loc)? {
                v @ Value::Float(_) => v,
                Value::Int(i) => Value::Float(i as f64),
                _ => return Err(err(format!("{text:?} is not a YAML 1.1 float"))),
            },
            other => return Err(err(format!("unsupported tag !!{other}"))),
        },
        // The non-specific tag `!` forces a string.
        Some(t) if t.handle.is_empty() && t.suffix == "!" => Value::Str(text.to_string()),
        Some(t) if t.handle == "!" && t.suffix.is_empty() => Value::Str(text.to_string()),
        Some(t) => {
            return Err(err(format!(
                "unsupported tag {t} (safe_load accepts only the standard tags)"
            )))
        }
        None if style == ScalarStyle::Plain => resolve_plain(text, loc)?,
        None => Value::Str(text.to_string()),
    };
    Ok(Node { value, loc })
}

/// Implicit typing of a plain scalar, as PyYAML's `Resolver` + `SafeConstructor`.
fn resolve_plain(text: &str, loc: Location) -> Result<Value, YamlError> {
    let err = |message: String| YamlError { loc, message };
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Ok(Value::Null);
    }
    if BOOL_RE.is_match(text) {
        return Ok(Value::Bool(matches!(
            text.to_ascii_lowercase().as_str(),
            "yes" | "true" | "on"
        )));
    }
    if INT_RE.is_match(text) {
        return parse_int(text)
            .map(Value::Int)
            .ok_or_else(|| err(format!("integer {text} does not fit in 64 bits")));
    }
    if FLOAT_RE.is_match(text) {
        return Ok(Value::Float(parse_float(text)));
    }
    if let Some(c) = DATE_RE.captures(text) {
        let (y, m, d) = (
            c[1].parse().unwrap(),
            c[2].parse().unwrap(),
            c[3].parse().unwrap(),
        );
        if chrono::NaiveDate::from_ymd_opt(y, m, d).is_none() {
            return Err(err(format!("{text} is not a valid calendar date")));
        }
        return Ok(Value::Str(text.to_string()));
    }
    if TIMESTAMP_RE.is_match(text) {
        return Ok(Value::Str(text.to_string()));
    }
    Ok(Value::Str(text.to_string()))
}

fn parse_int(text: &str) -> Option<i64> {
    let cleaned: String = text.chars().filter(|c| *c != '_').collect();
    let (neg, body) = match cleaned.as_bytes().first() {
        Some(b'-') => (true, &cleaned[1..]),
        Some(b'+') => (false, &cleaned[1..]),
        _ => (false, &cleaned[..]),
    };
    let magnitude: i128 = if body == "0" {
        0
    } else if let Some(b) = body.strip_prefix("0b") {
        i128::from_str_radix(b, 2).ok()?
    } else if let Some(h) = body.strip_prefix("0x") {
        i128::from_str_radix(h, 16).ok()?
    } else if let Some(o) = body.strip_prefix('0') {
        i128::from_str_radix(o, 8).ok()?
    } else if body.contains(':') {
        body.split(':').try_fold(0i128, |acc, part| {
            Some(acc * 60 + part.parse::<i128>().ok()?)
        })?
    } else {
        body.parse().ok()?
    };
    i64::try_from(if neg { -magnitude } else { magnitude }).ok()
}

fn parse_float(text: &str) -> f64 {
    let cleaned: String = text
        .chars()
        .filter(|c| *c != '_')
        .collect::<String>()
        .to_ascii_lowercase();
    let (sign, body) = match cleaned.as_bytes().first() {
        Some(b'-') => (-1.0, &cleaned[1..]),
        Some(b'+') => (1.0, &cleaned[1..]),
        _ => (1.0, &cleaned[..]),
    };
    if body == ".inf" {
        return sign * f64::INFINITY;
    }
    if body == ".nan" {
        return f64::NAN;
    }
    if body.contains(':') {
        let parts: Vec<&str> = body.split(':').collect();
        let mut value = 0.0;
        for p in &parts {
            value = value * 60.0 + p.parse::<f64>().unwrap_or(0.0);
        }
        return sign * value;
    }
    // The pattern guarantees a valid Rust float literal once underscores are gone.
    sign * body.parse::<f64>().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map_value(doc: &Node, key: &str) -> Value {
        doc.get(key).unwrap().value.value.clone()
    }

    #[test]
    fn yaml11_scalars_follow_pyyaml() {
        let doc = parse(
            "date: 2023-04-01\nversion: 1.0\nyes_: yes\nNo_: No\noff_: OFF\nmixed: yEs\n\
             e_nodot: 1e3\ne_unsigned: 1.0e3\ne_signed: 1.0e+3\nint: 42\noctal: 017\n\
             hex: 0x1F\nbin: 0b101\nsexa: 1:30\nunder: 1_000\nnull1: ~\nnull2:\n\
             quoted: 'yes'\ndq: \"12\"\nstamp: 2023-04-01 12:00:00\ninf: -.inf\ndot: 1.\n",
        )
        .unwrap();
        assert_eq!(map_value(&doc, "date"), Value::Str("2023-04-01".into()));
        assert_eq!(map_value(&doc, "version"), Value::Float(1.0));
        assert_eq!(
            doc.get("version").unwrap().value.python_str().unwrap(),
            "1.0"
        );
        assert_eq!(map_value(&doc, "yes_"), Value::Bool(true));
        assert_eq!(map_value(&doc, "No_"), Value::Bool(false));
        assert_eq!(map_value(&doc, "off_"), Value::Bool(false));
        assert_eq!(map_value(&doc, "mixed"), Value::Str("yEs".into()));
        assert_eq!(map_value(&doc, "e_nodot"), Value::Str("1e3".into()));
        assert_eq!(map_value(&doc, "e_unsigned"), Value::Str("1.0e3".into()));
        assert_eq!(map_value(&doc, "e_signed"), Value::Float(1000.0));
        assert_eq!(map_value(&doc, "int"), Value::Int(42));
        assert_eq!(map_value(&doc, "octal"), Value::Int(15));
        assert_eq!(map_value(&doc, "hex"), Value::Int(31));
        assert_eq!(map_value(&doc, "bin"), Value::Int(5));
        assert_eq!(map_value(&doc, "sexa"), Value::Int(90));
        assert_eq!(map_value(&doc, "under"), Value::Int(1000));
        assert_eq!(map_value(&doc, "null1"), Value::Null);
        assert_eq!(map_value(&doc, "null2"), Value::Null);
        assert_eq!(map_value(&doc, "quoted"), Value::Str("yes".into()));
        assert_eq!(map_value(&doc, "dq"), Value::Str("12".into()));
        assert_eq!(
            map_value(&doc, "stamp"),
            Value::Str("2023-04-01 12:00:00".into())
        );
        assert_eq!(map_value(&doc, "inf"), Value::Float(f64::NEG_INFINITY));
        assert_eq!(map_value(&doc, "dot"), Value::Float(1.0));
    }

    #[test]
    fn invalid_date_is_an_error_with_position() {
        let e = parse("a: 1\nb: 2023-02-30\n").unwrap_err();
        assert_eq!(e.loc, Location { line: 2, column: 4 });
        assert!(e.message.contains("2023-02-30"), "{}", e.message);
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let doc =
            parse("a: &id001\n  x: 1\n  y: [2, 3]\nb: *id001\nc:\n  <<: *id001\n  x: 9\n  z: 4\n")
                .unwrap();
        let a = &doc.get("a").unwrap().value;
        let b = &doc.get("b").unwrap().value;
        assert_eq!(a.value, b.value);
        // The alias reports its own position.
        assert_eq!(b.loc.line, 4);
        let c = &doc.get("c").unwrap().value;
        let keys: Vec<_> = match &c.value {
            Value::Map(e) => e.iter().map(|e| e.key.clone()).collect(),
            _ => panic!("c is not a mapping"),
        };
        assert_eq!(keys, ["x", "y", "z"]);
        assert_eq!(c.get("x").unwrap().value.value, Value::Int(9));
    }

    #[test]
    fn non_string_keys_use_python_str_and_duplicates_keep_last() {
        let doc = parse("1: a\n1.5: b\ntrue: c\nk: 1\nk: 2\n").unwrap();
        let keys: Vec<_> = match &doc.value {
            Value::Map(e) => e.iter().map(|e| e.key.clone()).collect(),
            _ => panic!("not a mapping"),
        };
        assert_eq!(keys, ["1", "1.5", "True", "k"]);
        assert_eq!(map_value(&doc, "k"), Value::Int(2));
    }

    #[test]
    fn syntax_error_has_position() {
        let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.loc.line >= 1);
        assert!(!e.message.is_empty());
    }
}
