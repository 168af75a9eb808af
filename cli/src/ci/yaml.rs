//! A small YAML writer for the generated workflows: no dependency, and no YAML feature the
//! workflows do not need.
//!
//! Mappings keep their insertion order (a workflow reads top-down: `name`, `on`, `jobs`); block
//! style throughout; a scalar is written plain only when it cannot be read as anything but that
//! string (letters, digits, `_./@-`, starting with a letter, `_` or `/`, and not a YAML 1.1
//! boolean or null word such as `on`, `yes`, `n`), otherwise double-quoted with JSON's escapes,
//! which are valid YAML escapes ([YAML 1.2 §5.7](https://yaml.org/spec/1.2.2/#57-escaped-characters));
//! multi-line scripts are literal blocks (`|`). [`Yaml::to_json`] gives the same document as
//! JSON, for tests that check structure rather than text.
//!
//! ```
//! use cloudport_cli::ci::yaml::Yaml;
//! let doc = Yaml::map([
//!     ("on", Yaml::map([("push", Yaml::map([("branches", Yaml::seq(["main"]))]))])),
//!     ("run", Yaml::block("echo one\necho two\n")),
//!     ("python", "3.12".into()),
//! ]);
//! assert_eq!(
//!     doc.to_string(),
//!     "\"on\":\n  push:\n    branches:\n      - main\nrun: |\n  echo one\n  echo two\npython: \"3.12\"\n"
//! );
//! assert_eq!(doc.to_json()["python"], "3.12");
//! ```

use std::fmt::{self, Write as _};

/// A YAML value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Yaml {
    /// `null`, written as nothing after the key (`workflow_dispatch:`).
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string on one line.
    Str(String),
    /// A string written as a literal block scalar (`|`): a script.
    Block(String),
    /// A sequence.
    Seq(Vec<Yaml>),
    /// A mapping, in insertion order.
    Map(Vec<(String, Yaml)>),
}

impl Yaml {
    /// A mapping from `(key, value)` pairs, in order.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Yaml)>) -> Yaml {
        Yaml::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A sequence.
    pub fn seq<V: Into<Yaml>>(items: impl IntoIterator<Item = V>) -> Yaml {
        Yaml::Seq(items.into_iter().map(Into::into).collect())
    }

    /// A literal block (a multi-line script).
    pub fn block(text: impl Into<String>) -> Yaml {
        Yaml::Block(text.into())
    }

    /// The value under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            Yaml::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The same document as JSON (mappings become objects, so their order is lost).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Yaml::Null => Value::Null,
            Yaml::Bool(b) => Value::Bool(*b),
            Yaml::Int(i) => Value::from(*i),
            Yaml::Str(s) | Yaml::Block(s) => Value::String(s.clone()),
            Yaml::Seq(items) => Value::Array(items.iter().map(Yaml::to_json).collect()),
            Yaml::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

impl From<&str> for Yaml {
    fn from(s: &str) -> Self {
        Yaml::Str(s.to_owned())
    }
}

impl From<String> for Yaml {
    fn from(s: String) -> Self {
        Yaml::Str(s)
    }
}

impl From<bool> for Yaml {
    fn from(b: bool) -> Self {
        Yaml::Bool(b)
    }
}

impl From<i64> for Yaml {
    fn from(i: i64) -> Self {
        Yaml::Int(i)
    }
}

/// Whether `s` can be written as a plain scalar and read back as the same string by any YAML
/// 1.1 or 1.2 reader.
///
/// ```
/// use cloudport_cli::ci::yaml::is_plain;
/// assert!(is_plain("actions/checkout@v5") && is_plain("id-token") && is_plain("ubuntu-24.04"));
/// assert!(!is_plain("on") && !is_plain("No") && !is_plain("3.12") && !is_plain("${{ vars.X }}"));
/// ```
pub fn is_plain(s: &str) -> bool {
    const WORDS: [&str; 11] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf",
    ];
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '/')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '@' | '-'))
        && !WORDS.contains(&s.to_ascii_lowercase().as_str())
}

/// `s` as a YAML scalar: plain when [`is_plain`], double-quoted otherwise.
pub fn scalar(s: &str) -> String {
    if is_plain(s) {
        s.to_owned()
    } else {
        serde_json::Value::String(s.to_owned()).to_string()
    }
}

/// Whether `text` can be a literal block: no carriage returns or tabs at a line start, a first
/// line not starting with a space (the block's indentation comes from it), at most one final
/// newline.
fn blockable(text: &str) -> bool {
    !text.is_empty()
        && !text.contains('\r')
        && !text.starts_with([' ', '\n'])
        && !text.ends_with("\n\n")
        && text.lines().all(|l| !l.starts_with('\t'))
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// Writes what follows `key:` or `-` (a space and the scalar, or a newline and the nested block).
fn write_after_indicator(out: &mut String, value: &Yaml, indent: usize) {
    match value {
        Yaml::Null => out.push('\n'),
        Yaml::Bool(b) => {
            let _ = writeln!(out, " {b}");
        }
        Yaml::Int(i) => {
            let _ = writeln!(out, " {i}");
        }
        Yaml::Str(s) => {
            let _ = writeln!(out, " {}", scalar(s));
        }
        Yaml::Block(text) if blockable(text) => {
            out.push_str(if text.ends_with('\n') {
                " |\n"
            } else {
                " |-\n"
            });
            for line in text.lines() {
                if !line.is_empty() {
                    pad(out, indent + 2);
                    out.push_str(line);
                }
                out.push('\n');
            }
        }
        Yaml::Block(text) => {
            let _ = writeln!(out, " {}", scalar(text));
        }
        Yaml::Seq(items) if items.is_empty() => out.push_str(" []\n"),
        Yaml::Map(entries) if entries.is_empty() => out.push_str(" {}\n"),
        Yaml::Seq(_) | Yaml::Map(_) => {
            out.push('\n');
            write_node(out, value, indent + 2);
        }
    }
}

/// Writes a sequence or mapping at `indent`.
fn write_node(out: &mut String, value: &Yaml, indent: usize) {
    match value {
        Yaml::Map(entries) => {
            for (key, v) in entries {
                pad(out, indent);
                out.push_str(&scalar(key));
                out.push(':');
                write_after_indicator(out, v, indent);
            }
        }
        Yaml::Seq(items) => {
            for item in items {
                pad(out, indent);
                out.push('-');
                match item {
                    // `- key: value` with the mapping's other keys under the first.
                    Yaml::Map(entries) if !entries.is_empty() => {
                        let mut nested = String::new();
                        write_node(&mut nested, item, indent + 2);
                        out.push(' ');
                        out.push_str(&nested[indent + 2..]);
                    }
                    _ => write_after_indicator(out, item, indent),
                }
            }
        }
        scalar_value => write_after_indicator(out, scalar_value, indent),
    }
}

impl fmt::Display for Yaml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        match self {
            Yaml::Map(entries) if !entries.is_empty() => write_node(&mut out, self, 0),
            Yaml::Seq(items) if !items.is_empty() => write_node(&mut out, self, 0),
            other => {
                write_after_indicator(&mut out, other, 0);
                out.remove(0);
            }
        }
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_a_reader_would_misread() {
        for s in [
            "",
            "on",
            "Off",
            "YES",
            "n",
            "null",
            "~",
            "3.12",
            "1e3",
            "0x1f",
            "2026-11-27",
            "-x",
            ".5",
            "a: b",
            "a #b",
            "*x",
            "&x",
            "!x",
            "[x]",
            "{x}",
            "'x'",
            "\"x\"",
            "%x",
            "`x`",
            "x y",
            "${{ vars.A }}",
            "é",
        ] {
            assert!(!is_plain(s), "{s:?} must be quoted");
            let quoted = scalar(s);
            assert!(quoted.starts_with('"') && quoted.ends_with('"'), "{quoted}");
        }
        assert_eq!(scalar("say \"hi\"\n"), r#""say \"hi\"\n""#);
    }

    #[test]
    fn sequences_of_mappings_and_nested_values() {
        let doc = Yaml::map([(
            "steps",
            Yaml::seq([
                Yaml::map([
                    ("uses", "actions/checkout@v5".into()),
                    ("with", Yaml::map([("persist-credentials", false.into())])),
                ]),
                Yaml::map([("run", Yaml::block("a\n\n  b"))]),
                Yaml::map([("run", Yaml::block(" leading space\n"))]),
            ]),
        )]);
        assert_eq!(
            doc.to_string(),
            "steps:\n  - uses: actions/checkout@v5\n    with:\n      persist-credentials: false\n  \
             - run: |-\n      a\n\n        b\n  - run: \" leading space\\n\"\n"
        );
    }

    #[test]
    fn empty_and_null_values() {
        let doc = Yaml::map([
            ("workflow_dispatch", Yaml::Null),
            ("a", Yaml::Map(vec![])),
            ("b", Yaml::Seq(vec![])),
            ("count", 3i64.into()),
        ]);
        assert_eq!(
            doc.to_string(),
            "workflow_dispatch:\na: {}\nb: []\ncount: 3\n"
        );
        assert_eq!(doc.get("count"), Some(&Yaml::Int(3)));
    }
}
