//! One fuzz input: a request as a host receives it (variant, method, path, headers, body), of
//! which each target reads what it needs — the body alone for the core decoders.

use serde_json::{Value, json};

/// One input. Text-only targets (trace headers, URLs, connection strings, envelopes, redaction)
/// read [`Case::body`] only; the hosts read everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Case {
    /// Which of the target's set-ups takes the input (e.g. a host with or without HTTP routes).
    pub variant: u8,
    /// The HTTP method.
    pub method: String,
    /// The request target: path and query.
    pub path: String,
    /// Header names and values, in order, duplicates allowed; values are bytes (not always text).
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body (or the whole input of a text target).
    pub body: Vec<u8>,
}

impl Case {
    /// An input that is only a body (text targets).
    pub fn text(body: impl Into<Vec<u8>>) -> Self {
        Self {
            body: body.into(),
            ..Self::default()
        }
    }

    /// A request.
    pub fn request(
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> Self {
        Self {
            variant: 0,
            method: method.to_owned(),
            path: path.to_owned(),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), v.as_bytes().to_vec()))
                .collect(),
            body: body.into(),
        }
    }

    /// The same input for another variant of the target.
    pub fn with_variant(mut self, variant: u8) -> Self {
        self.variant = variant;
        self
    }

    /// The first header of this name (ASCII case ignored).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// Bytes in the input, all fields together.
    pub fn size(&self) -> usize {
        self.method.len()
            + self.path.len()
            + self.body.len()
            + self
                .headers
                .iter()
                .map(|(n, v)| n.len() + v.len())
                .sum::<usize>()
    }

    /// The input as JSON, every byte string [escaped](escape): what crash files hold.
    pub fn to_json(&self) -> Value {
        json!({
            "variant": self.variant,
            "method": escape(self.method.as_bytes()),
            "path": escape(self.path.as_bytes()),
            "headers": self.headers.iter().map(|(n, v)| json!([escape(n.as_bytes()), escape(v)])).collect::<Vec<_>>(),
            "body": escape(&self.body),
        })
    }

    /// Reads back [`Case::to_json`].
    pub fn from_json(value: &Value) -> Option<Self> {
        let text = |v: &Value| v.as_str().and_then(unescape);
        let string = |v: &Value| text(v).and_then(|b| String::from_utf8(b).ok());
        let mut headers = Vec::new();
        for pair in value.get("headers")?.as_array()? {
            let pair = pair.as_array()?;
            headers.push((string(pair.first()?)?, text(pair.get(1)?)?));
        }
        Some(Self {
            variant: u8::try_from(value.get("variant")?.as_u64()?).ok()?,
            method: string(value.get("method")?)?,
            path: string(value.get("path")?)?,
            headers,
            body: text(value.get("body")?)?,
        })
    }

    /// A case from [escaped](escape) fields, as the regression tests write them.
    pub fn from_escaped(
        variant: u8,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Self {
        let bytes = |s: &str| unescape(s).unwrap_or_else(|| s.as_bytes().to_vec());
        let string = |s: &str| String::from_utf8_lossy(&bytes(s)).into_owned();
        Self {
            variant,
            method: string(method),
            path: string(path),
            headers: headers.iter().map(|(n, v)| (string(n), bytes(v))).collect(),
            body: bytes(body),
        }
    }

    /// Rust source of a regression test that feeds this input to `target`.
    pub fn to_rust(&self, target: &str, test_name: &str) -> String {
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|(n, v)| format!("({:?}, {:?})", escape(n.as_bytes()), escape(v)))
            .collect();
        format!(
            "#[test]\nfn {test_name}() {{\n    let case = Case::from_escaped(\n        {},\n        {:?},\n        {:?},\n        &[{}],\n        {:?},\n    );\n    assert_sensible({target:?}, &case);\n}}\n",
            self.variant,
            escape(self.method.as_bytes()),
            escape(self.path.as_bytes()),
            headers.join(", "),
            escape(&self.body),
        )
    }
}

/// Bytes as printable ASCII: `\\`, `\n`, `\r`, `\t`, and `\xNN` for every other byte outside
/// `0x20..=0x7e` (non-ASCII UTF-8 too), so any byte string is shown and stored exactly.
///
/// ```
/// use cloudport_fuzz::case::{escape, unescape};
/// let bytes = b"a\\b\n\xff\x00\xc3\xa9";
/// assert_eq!(escape(bytes), r"a\\b\n\xff\x00\xc3\xa9");
/// assert_eq!(unescape(&escape(bytes)).unwrap(), bytes);
/// ```
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

/// Reads back [`escape`]; `None` for an escape it never writes.
pub fn unescape(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        match bytes.get(i + 1)? {
            b'\\' => out.push(b'\\'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'x' => {
                let hex = std::str::from_utf8(bytes.get(i + 2..i + 4)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            _ => return None,
        }
        i += 2;
    }
    Some(out)
}
