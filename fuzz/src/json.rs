//! JSON as written, for structure-aware mutation: strings keep their escaped text, numbers their
//! literal, objects their key order and duplicate keys, and [`Json::Raw`] holds any text at all
//! (invalid literals, unbalanced nesting) — so a mutated document can be valid JSON of another
//! shape, or almost-JSON that only a parser's error paths see.

use base64::Engine;

/// A JSON value as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, its literal as written (`1e999` and `-0` included).
    Num(Vec<u8>),
    /// A string: the escaped text between the quotes, as written.
    Str(Vec<u8>),
    /// An array.
    Arr(Vec<Json>),
    /// An object: keys (escaped text) and values, in order, duplicates allowed.
    Obj(Vec<(Vec<u8>, Json)>),
    /// Text written as it is, valid JSON or not.
    Raw(Vec<u8>),
}

/// Deepest nesting [`parse`] follows.
const MAX_DEPTH: usize = 256;

/// Parses a JSON document (surrounding whitespace allowed); `None` if it is not one.
///
/// ```
/// use cloudport_fuzz::json::{parse, Json};
/// let doc = parse(br#" {"a": [1, "x\"y", null], "a": 2e5} "#).unwrap();
/// assert_eq!(doc.to_bytes(), br#"{"a":[1,"x\"y",null],"a":2e5}"#);
/// assert!(parse(b"{").is_none());
/// ```
pub fn parse(bytes: &[u8]) -> Option<Json> {
    let mut p = Parser { bytes, at: 0 };
    let value = p.value(0)?;
    p.ws();
    (p.at == bytes.len()).then_some(value)
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self
            .bytes
            .get(self.at)
            .is_some_and(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t'))
        {
            self.at += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        self.ws();
        (self.bytes.get(self.at) == Some(&b)).then(|| self.at += 1)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.bytes[self.at..].starts_with(word).then(|| {
            self.at += word.len();
        })
    }

    fn string(&mut self) -> Option<Vec<u8>> {
        self.eat(b'"')?;
        let start = self.at;
        loop {
            match self.bytes.get(self.at)? {
                b'"' => break,
                b'\\' => self.at += 2,
                _ => self.at += 1,
            }
        }
        let raw = self.bytes.get(start..self.at)?.to_vec();
        self.at += 1;
        Some(raw)
    }

    fn value(&mut self, depth: usize) -> Option<Json> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match *self.bytes.get(self.at)? {
            b'{' => {
                self.at += 1;
                let mut members = Vec::new();
                if self.eat(b'}').is_some() {
                    return Some(Json::Obj(members));
                }
                loop {
                    let key = self.string()?;
                    self.eat(b':')?;
                    members.push((key, self.value(depth + 1)?));
                    if self.eat(b',').is_some() {
                        continue;
                    }
                    self.eat(b'}')?;
                    return Some(Json::Obj(members));
                }
            }
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                if self.eat(b']').is_some() {
                    return Some(Json::Arr(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    if self.eat(b',').is_some() {
                        continue;
                    }
                    self.eat(b']')?;
                    return Some(Json::Arr(items));
                }
            }
            b'"' => self.string().map(Json::Str),
            b't' => self.literal(b"true").map(|()| Json::Bool(true)),
            b'f' => self.literal(b"false").map(|()| Json::Bool(false)),
            b'n' => self.literal(b"null").map(|()| Json::Null),
            b'-' | b'0'..=b'9' => {
                let start = self.at;
                while self
                    .bytes
                    .get(self.at)
                    .is_some_and(|b| matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                {
                    self.at += 1;
                }
                Some(Json::Num(self.bytes[start..self.at].to_vec()))
            }
            _ => None,
        }
    }
}

impl Json {
    /// A string value holding `bytes` (escaped as JSON needs; bytes over 0x7f written raw).
    pub fn text(bytes: &[u8]) -> Self {
        Self::Str(escape_str(bytes))
    }

    /// The document as text.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    /// Writes the document.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Self::Null => out.extend_from_slice(b"null"),
            Self::Bool(true) => out.extend_from_slice(b"true"),
            Self::Bool(false) => out.extend_from_slice(b"false"),
            Self::Num(n) | Self::Raw(n) => out.extend_from_slice(n),
            Self::Str(s) => {
                out.push(b'"');
                out.extend_from_slice(s);
                out.push(b'"');
            }
            Self::Arr(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write(out);
                }
                out.push(b']');
            }
            Self::Obj(members) => {
                out.push(b'{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.push(b'"');
                    out.extend_from_slice(key);
                    out.extend_from_slice(b"\":");
                    value.write(out);
                }
                out.push(b'}');
            }
        }
    }

    /// Nodes in the document (this one included).
    pub fn count(&self) -> usize {
        1 + match self {
            Self::Arr(items) => items.iter().map(Self::count).sum(),
            Self::Obj(members) => members.iter().map(|(_, v)| v.count()).sum(),
            _ => 0,
        }
    }

    /// The `n`th node in pre-order (0: this one).
    pub fn nth(&self, n: usize) -> Option<&Self> {
        let mut n = n;
        self.find(&mut n)
    }

    fn find(&self, n: &mut usize) -> Option<&Self> {
        if *n == 0 {
            return Some(self);
        }
        *n -= 1;
        match self {
            Self::Arr(items) => items.iter().find_map(|item| item.find(n)),
            Self::Obj(members) => members.iter().find_map(|(_, v)| v.find(n)),
            _ => None,
        }
    }

    /// The `n`th node in pre-order, to change.
    pub fn nth_mut(&mut self, n: usize) -> Option<&mut Self> {
        let mut n = n;
        self.find_mut(&mut n)
    }

    fn find_mut(&mut self, n: &mut usize) -> Option<&mut Self> {
        if *n == 0 {
            return Some(self);
        }
        *n -= 1;
        match self {
            Self::Arr(items) => {
                for item in items {
                    if let Some(found) = item.find_mut(n) {
                        return Some(found);
                    }
                }
                None
            }
            Self::Obj(members) => {
                for (_, value) in members {
                    if let Some(found) = value.find_mut(n) {
                        return Some(found);
                    }
                }
                None
            }
            _ => None,
        }
    }

    /// The bytes a string value stands for (escapes decoded; a lone surrogate becomes U+FFFD).
    pub fn str_bytes(&self) -> Option<Vec<u8>> {
        match self {
            Self::Str(raw) => Some(unescape_str(raw)),
            _ => None,
        }
    }
}

/// A string's escaped text: `"`, `\` and control bytes escaped; other bytes as they are.
pub fn escape_str(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 2);
    for &b in bytes {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
            _ => out.push(b),
        }
    }
    out
}

/// Decodes a string's escaped text (leniently: an unknown escape is kept as written).
pub fn unescape_str(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] != b'\\' || i + 1 == raw.len() {
            out.push(raw[i]);
            i += 1;
            continue;
        }
        let simple = match raw[i + 1] {
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            b'/' => Some(b'/'),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            i += 2;
            continue;
        }
        let hex = |at: usize| {
            raw.get(at..at + 4)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u32::from_str_radix(h, 16).ok())
        };
        if raw[i + 1] == b'u'
            && let Some(unit) = hex(i + 2)
        {
            let (c, used) = if (0xd800..0xdc00).contains(&unit)
                && raw.get(i + 6..i + 8) == Some(b"\\u")
                && let Some(low) = hex(i + 8).filter(|l| (0xdc00..0xe000).contains(l))
            {
                (
                    char::from_u32(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)),
                    12,
                )
            } else {
                (char::from_u32(unit), 6)
            };
            let mut buf = [0u8; 4];
            out.extend_from_slice(
                c.unwrap_or(char::REPLACEMENT_CHARACTER)
                    .encode_utf8(&mut buf)
                    .as_bytes(),
            );
            i += used;
            continue;
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

/// How a string value was base64-encoded, when it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base64 {
    /// Standard alphabet, padded.
    Standard,
    /// URL-safe alphabet, unpadded (JWT parts).
    UrlSafe,
}

impl Base64 {
    /// Decodes `text` when it looks like base64 of this or the other kind (at least 4
    /// characters of the alphabet).
    pub fn detect(text: &[u8]) -> Option<(Self, Vec<u8>)> {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        if text.len() < 4
            || !text
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'))
        {
            return None;
        }
        if let Ok(bytes) = STANDARD.decode(text) {
            return Some((Self::Standard, bytes));
        }
        URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .map(|bytes| (Self::UrlSafe, bytes))
    }

    /// Encodes `bytes` the same way.
    pub fn encode(self, bytes: &[u8]) -> Vec<u8> {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        match self {
            Self::Standard => STANDARD.encode(bytes).into_bytes(),
            Self::UrlSafe => URL_SAFE_NO_PAD.encode(bytes).into_bytes(),
        }
    }
}
