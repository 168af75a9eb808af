//! The generator: a seed (a real payload shape) and a stack of 1–16 mutations — structure-aware
//! on JSON documents (values of another type, dropped and duplicated keys, huge numbers, deep
//! nesting, long strings, broken escapes and invalid UTF-8, JSON inside strings and base64 inside
//! strings mutated in place and re-encoded, subtrees spliced in from other seeds), on headers
//! (control bytes, duplicates, bearer tokens part by part) and on the request line; byte-level
//! everywhere else (flips, inserts, deletes, truncation, splicing between seeds, delimiter-aware
//! token shuffles, dictionary tokens).

use fastrand::Rng;

use crate::case::Case;
use crate::json::{Base64, Json, escape_str, parse};

/// Which parts of a [`Case`] a target reads, and how often the generator changes each.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Of 10 mutation rounds, how many change a header (0: headers are not read).
    pub header_weight: u8,
    /// Of 10 mutation rounds, how many change the method or path (0: not read).
    pub request_line_weight: u8,
    /// How many variants the target has (`Case::variant` is taken modulo this).
    pub variants: u8,
}

impl Shape {
    /// A target that reads the body only.
    pub const TEXT: Self = Self {
        header_weight: 0,
        request_line_weight: 0,
        variants: 1,
    };
}

/// What the generator draws from: the seeds (and their JSON trees), the dictionary of tokens,
/// known headers and paths.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The seeds.
    pub seeds: &'a [Case],
    /// Each seed's body as a JSON tree, when it is JSON.
    pub parsed: &'a [Option<Json>],
    /// Tokens that mean something to the target (field names, event types, schemes, …).
    pub dictionary: &'a [&'static str],
    /// Header names and values that mean something to the target.
    pub headers: &'a [(&'static str, &'static str)],
    /// Paths that mean something to the target.
    pub paths: &'a [&'static str],
    /// What the target reads.
    pub shape: Shape,
}

/// The largest body generated; larger ones are cut.
pub const MAX_BODY: usize = 512 * 1024;
/// The largest header value generated.
pub const MAX_HEADER: usize = 64 * 1024;
/// A tree this large only shrinks or changes in place: no more splicing and repeating.
const BIG_TREE: usize = 4_000;

const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "2",
    "3",
    "5",
    "10",
    "255",
    "256",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "-2147483649",
    "4294967295",
    "4294967296",
    "9007199254740993",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "123456789012345678901234567890123456789012345678901234567890",
    "1e3",
    "1E+2",
    "1e308",
    "1e309",
    "1e999",
    "-1e999",
    "1.5",
    "0.1",
    "-0.0",
    "1e-400",
    "0.000000000000000000000000000001",
    "1795700000000",
    "99999999999999999",
];

const RAW: &[&str] = &[
    "NaN",
    "Infinity",
    "-Infinity",
    "undefined",
    "01",
    "1.",
    "-",
    ".5",
    "+1",
    "0x10",
    "[",
    "]",
    "{",
    "}",
    "{\"a\":}",
    "[1,]",
    "{\"a\":1,}",
    "\"\\u\"",
    "\"\\ud800\"",
    "\"unterminated",
    "''",
    "tru",
    "nul",
    "/*c*/1",
    "\"\\x41\"",
    "\"\t\"",
    "\"\u{0}\"",
    "1 2",
    "",
];

const ESCAPES: &[&[u8]] = &[
    b"\\ud800",
    b"\\udfff",
    b"\\udbff\\udfff",
    b"\\ud83d\\ude00",
    b"\\u0000",
    b"\\uffff",
    b"\\ufeff",
    b"\\u202e",
    b"\\u2028",
    b"\\u0085",
    b"\\n",
    b"\\r\\n",
    b"\\\"",
    b"\\\\",
    b"\\/",
    b"\\u00e9",
    b"\xff",
    b"\xfe",
    b"\xc3",
    b"\xc0\x80",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\x01",
    b"\x7f",
    "é".as_bytes(),
    "😀".as_bytes(),
    b"%00",
    b"%zz",
    b"%C3%A9",
    b"+",
];

const BASE64_GARBAGE: &[&str] = &[
    "%%%",
    "%%% not base64 %%%",
    "aGk",
    "aGk=====",
    "====",
    "a",
    "aGVsbG8gd29ybGQ",
    "aGVs bG8=",
    "aGVs\nbG8=",
    "aGVsbG8-_w==",
    "_-_-",
    "AAEC/w",
    "////",
    "++++",
    "=aGk",
    "aGk=aGk=",
    "éééé",
    "",
    "AA==",
    "AAAA",
];

const HEADER_VALUES: &[&[u8]] = &[
    b"a\x01b",
    b"\x00",
    b"\r\nx-injected: 1",
    b"\x7f",
    b"caf\xc3\xa9",
    b"\xff\xfe",
    b"\t",
    b" leading",
    b"trailing ",
    b"",
    b"a,b",
    b"\"quoted\"",
    b"null",
    b"true",
    b"0",
    b"-1",
    b"18446744073709551616",
];

const LONG_UNITS: &[&[u8]] = &[
    b"a",
    "é".as_bytes(),
    b"\\u0000",
    b"%",
    b"\\\\",
    "😀".as_bytes(),
    b"\\\"",
    b" ",
];

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "PROPFIND", "post", "TRACE",
    "CONNECT",
];

const DELIMITERS: &[u8] = b";&=-/,. :?\"_";

const INTERESTING_BYTES: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xff, b'"', b'\\', b'{', b'}', b'[', b']', b',', b':', b'\n', b'%', b'+',
    b'/', b'=', b';', b'&', b'?', b'#', b'-', b' ', b'0', b'9', b'a', b'Z', b'.', b'@',
];

fn pick<'a, T: ?Sized>(rng: &mut Rng, items: &'a [&'a T]) -> &'a T {
    items[rng.usize(..items.len())]
}

/// One generated input: a seed, changed by a stack of mutations.
pub fn generate(rng: &mut Rng, ctx: &Ctx<'_>) -> Case {
    let from = rng.usize(..ctx.seeds.len());
    let mut case = ctx.seeds[from].clone();
    // Now and then the seed itself.
    if rng.u8(..) < 5 {
        return case;
    }
    let rounds = 1usize << rng.u32(0..5);
    let mode = rng.u8(..100);
    let mut doc = if mode < 75 {
        ctx.parsed[from].clone()
    } else {
        None
    };
    let structured = doc.is_some();
    let header_weight = ctx.shape.header_weight;
    let line_weight = ctx.shape.request_line_weight;
    for _ in 0..rounds {
        let r = rng.u8(..10);
        if r < header_weight {
            mutate_header(rng, &mut case, ctx);
        } else if r < header_weight + line_weight {
            mutate_request_line(rng, &mut case, ctx);
        } else {
            match doc.as_mut() {
                Some(d) => mutate_json(rng, d, ctx, 0),
                None => mutate_bytes(rng, &mut case.body, ctx),
            }
        }
    }
    if let Some(d) = doc {
        case.body = d.to_bytes();
    }
    // Almost-JSON: a valid structure, then broken by a byte or two.
    if structured && rng.u8(..4) == 0 {
        for _ in 0..=rng.usize(..2) {
            mutate_bytes(rng, &mut case.body, ctx);
        }
    }
    if ctx.shape.variants > 1 && rng.u8(..8) == 0 {
        case.variant = rng.u8(..ctx.shape.variants);
    }
    case.body.truncate(MAX_BODY);
    for (_, v) in &mut case.headers {
        v.truncate(MAX_HEADER);
    }
    case
}

/// A value of any type: scalars, interesting numbers, dictionary strings, broken literals,
/// subtrees of the seeds.
fn random_value(rng: &mut Rng, ctx: &Ctx<'_>) -> Json {
    match rng.u8(..12) {
        0 => Json::Null,
        1 => Json::Bool(rng.bool()),
        2 | 3 => Json::Num(pick(rng, NUMBERS).as_bytes().to_vec()),
        4 | 5 => Json::text(dictionary_token(rng, ctx)),
        6 => Json::Arr(Vec::new()),
        7 => Json::Obj(Vec::new()),
        8 => Json::Raw(pick(rng, RAW).as_bytes().to_vec()),
        9 | 10 => seed_subtree(rng, ctx).unwrap_or(Json::Null),
        _ => Json::Obj(vec![(
            escape_str(dictionary_token(rng, ctx)),
            Json::text(dictionary_token(rng, ctx)),
        )]),
    }
}

fn dictionary_token<'a>(rng: &mut Rng, ctx: &Ctx<'a>) -> &'a [u8] {
    if ctx.dictionary.is_empty() {
        return b"x";
    }
    ctx.dictionary[rng.usize(..ctx.dictionary.len())].as_bytes()
}

/// A random node of a random JSON seed.
fn seed_subtree(rng: &mut Rng, ctx: &Ctx<'_>) -> Option<Json> {
    let trees: Vec<&Json> = ctx.parsed.iter().flatten().collect();
    if trees.is_empty() {
        return None;
    }
    let tree = trees[rng.usize(..trees.len())];
    tree.nth(rng.usize(..tree.count())).cloned()
}

/// Nesting `depth` deep, balanced or not.
fn deep(rng: &mut Rng) -> Json {
    let depth = [2usize, 8, 32, 127, 128, 129, 200, 256, 1000, 20_000][rng.usize(..10)];
    let (open, close): (&[u8], &[u8]) = if rng.bool() {
        (b"[", b"]")
    } else {
        (b"{\"a\":", b"}")
    };
    let mut out = open.repeat(depth);
    out.extend_from_slice(b"1");
    if rng.u8(..4) != 0 {
        out.extend_from_slice(&close.repeat(depth));
    }
    Json::Raw(out)
}

fn long_string(rng: &mut Rng) -> Json {
    let unit = pick(rng, LONG_UNITS);
    let len = match rng.u8(..32) {
        0 => 300_000,
        1..=3 => 65_537,
        4..=9 => 16_385,
        _ => [64usize, 300, 1024, 4096][rng.usize(..4)],
    };
    Json::Str(unit.repeat(len))
}

/// One structure-aware mutation somewhere in `doc`; `depth` counts JSON-in-string levels.
pub fn mutate_json(rng: &mut Rng, doc: &mut Json, ctx: &Ctx<'_>, depth: u8) {
    let count = doc.count();
    let big = count > BIG_TREE;
    let Some(node) = doc.nth_mut(rng.usize(..count)) else {
        return;
    };
    match rng.u8(..19) {
        0 | 1 => *node = random_value(rng, ctx),
        2 => {
            if let Json::Obj(members) = node
                && !members.is_empty()
            {
                members.remove(rng.usize(..members.len()));
            }
        }
        3 => {
            if let Json::Obj(members) = node
                && !members.is_empty()
                && !big
            {
                let mut member = members[rng.usize(..members.len())].clone();
                if rng.bool() {
                    member.1 = random_value(rng, ctx);
                }
                let at = rng.usize(..=members.len());
                members.insert(at, member);
            }
        }
        4 => {
            if let Json::Obj(members) = node {
                let key = escape_str(dictionary_token(rng, ctx));
                let value = random_value(rng, ctx);
                let at = rng.usize(..=members.len());
                members.insert(at, (key, value));
            }
        }
        5 => *node = Json::Num(pick(rng, NUMBERS).as_bytes().to_vec()),
        6 => *node = deep(rng),
        7 if rng.bool() => *node = long_string(rng),
        7 => *node = random_value(rng, ctx),
        8..=10 => nested(rng, node, ctx, depth),
        11 => {
            if let Json::Str(raw) = node {
                let at = rng.usize(..=raw.len());
                let insert = pick(rng, ESCAPES);
                raw.splice(at..at, insert.iter().copied());
            }
        }
        12 => *node = Json::text(pick(rng, BASE64_GARBAGE).as_bytes()),
        13 | 14 => *node = Json::text(dictionary_token(rng, ctx)),
        15 => {
            if !big && let Some(subtree) = seed_subtree(rng, ctx) {
                *node = subtree;
            }
        }
        16 => {
            if let Json::Arr(items) = node {
                mutate_array(rng, items, ctx, big);
            }
        }
        17 => {
            if let Json::Obj(members) = node
                && !members.is_empty()
            {
                let i = rng.usize(..members.len());
                mutate_key(rng, &mut members[i].0, ctx);
            }
        }
        _ => match node {
            Json::Str(_) => {
                let mut bytes = node.str_bytes().unwrap_or_default();
                mutate_bytes(rng, &mut bytes, ctx);
                *node = Json::text(&bytes);
            }
            Json::Num(n) => {
                let mut text = n.clone();
                mutate_bytes(rng, &mut text, ctx);
                *node = Json::Num(text);
            }
            Json::Bool(b) => *b = !*b,
            _ => *node = Json::Null,
        },
    }
}

fn mutate_array(rng: &mut Rng, items: &mut Vec<Json>, ctx: &Ctx<'_>, big: bool) {
    match rng.u8(..6) {
        0 if !items.is_empty() && !big => {
            let item = items[rng.usize(..items.len())].clone();
            items.insert(rng.usize(..=items.len()), item);
        }
        1 if !items.is_empty() => {
            items.remove(rng.usize(..items.len()));
        }
        2 => items.clear(),
        3 if !items.is_empty() && !big => {
            let item = items[rng.usize(..items.len())].clone();
            let n = [10usize, 100, 1000][rng.usize(..3)];
            for _ in 0..n {
                items.push(item.clone());
            }
        }
        4 => items.reverse(),
        _ => items.push(random_value(rng, ctx)),
    }
}

fn mutate_key(rng: &mut Rng, key: &mut Vec<u8>, ctx: &Ctx<'_>) {
    match rng.u8(..5) {
        0 => *key = escape_str(dictionary_token(rng, ctx)),
        1 => {
            if let Some(b) = key.first_mut() {
                *b = if b.is_ascii_uppercase() {
                    b.to_ascii_lowercase()
                } else {
                    b.to_ascii_uppercase()
                };
            }
        }
        2 => mutate_bytes(rng, key, ctx),
        3 => key.clear(),
        _ => key.extend_from_slice(b"\\u0000"),
    }
}

/// A string that holds JSON (Azure's metadata, an SQS body), base64 (Pub/Sub data, Azure binary
/// messages, JWT parts) or plain text: the inside is mutated and the string re-encoded, so the
/// outer layers stay valid and the mutation reaches the inner decoder.
fn nested(rng: &mut Rng, node: &mut Json, ctx: &Ctx<'_>, depth: u8) {
    let Some(bytes) = node.str_bytes() else {
        *node = random_value(rng, ctx);
        return;
    };
    if depth < 3
        && let Some(mut inner) = parse(&bytes)
    {
        for _ in 0..=rng.usize(..3) {
            mutate_json(rng, &mut inner, ctx, depth + 1);
        }
        *node = Json::text(&inner.to_bytes());
        return;
    }
    if let Some((kind, mut decoded)) = Base64::detect(&bytes) {
        match parse(&decoded) {
            Some(mut inner) if depth < 3 => {
                for _ in 0..=rng.usize(..3) {
                    mutate_json(rng, &mut inner, ctx, depth + 1);
                }
                decoded = inner.to_bytes();
            }
            _ => mutate_bytes(rng, &mut decoded, ctx),
        }
        *node = Json::text(&kind.encode(&decoded));
        return;
    }
    let mut text = bytes;
    mutate_bytes(rng, &mut text, ctx);
    *node = Json::text(&text);
}

/// One change to the headers.
pub fn mutate_header(rng: &mut Rng, case: &mut Case, ctx: &Ctx<'_>) {
    if case.headers.is_empty() || rng.u8(..6) == 0 {
        if ctx.headers.is_empty() {
            return;
        }
        let (n, v) = ctx.headers[rng.usize(..ctx.headers.len())];
        let at = rng.usize(..=case.headers.len());
        case.headers
            .insert(at, (n.to_owned(), v.as_bytes().to_vec()));
        return;
    }
    let i = rng.usize(..case.headers.len());
    match rng.u8(..9) {
        0 => {
            case.headers.remove(i);
        }
        1 => {
            let header = case.headers[i].clone();
            case.headers
                .insert(rng.usize(..=case.headers.len()), header);
        }
        2 => {
            let name = case.headers[i].0.to_ascii_lowercase();
            let same: Vec<&str> = ctx
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(&name))
                .map(|(_, v)| *v)
                .collect();
            let value = if same.is_empty() {
                dictionary_token(rng, ctx)
            } else {
                same[rng.usize(..same.len())].as_bytes()
            };
            case.headers[i].1 = value.to_vec();
        }
        3 => {
            let odd = pick(rng, HEADER_VALUES);
            let value = &mut case.headers[i].1;
            match rng.u8(..3) {
                0 => *value = odd.to_vec(),
                1 => value.extend_from_slice(odd),
                _ => {
                    let at = rng.usize(..=value.len());
                    value.splice(at..at, odd.iter().copied());
                }
            }
        }
        4 | 5 => mutate_bytes(rng, &mut case.headers[i].1, ctx),
        6 => {
            let value = &case.headers[i].1;
            let bearer = value.len() > 7 && value[..7].eq_ignore_ascii_case(b"bearer ");
            if bearer {
                case.headers[i].1 = mutate_bearer(rng, &case.headers[i].1, ctx);
            } else {
                token_op(rng, &mut case.headers[i].1, ctx);
            }
        }
        7 => {
            let name = if !ctx.headers.is_empty() && rng.bool() {
                ctx.headers[rng.usize(..ctx.headers.len())].0.to_owned()
            } else {
                let mut bytes = case.headers[i].0.clone().into_bytes();
                mutate_bytes(rng, &mut bytes, ctx);
                String::from_utf8_lossy(&bytes).into_owned()
            };
            case.headers[i].0 = name;
        }
        _ => {
            let value = &mut case.headers[i].1;
            match parse(value) {
                Some(mut doc) => {
                    mutate_json(rng, &mut doc, ctx, 1);
                    *value = doc.to_bytes();
                }
                None => {
                    let unit = value.clone();
                    let times = [2usize, 16, 300, 5000][rng.usize(..4)];
                    for _ in 1..times {
                        if value.len() > MAX_HEADER {
                            break;
                        }
                        value.extend_from_slice(&unit);
                    }
                }
            }
        }
    }
}

/// A bearer credential changed: its scheme, or one part of its JWT (the JSON of the header or
/// the claims mutated and re-encoded, the signature's bytes), or its parts.
pub fn mutate_bearer(rng: &mut Rng, value: &[u8], ctx: &Ctx<'_>) -> Vec<u8> {
    let split = value.iter().position(|b| *b == b' ').unwrap_or(value.len());
    let (scheme, token) = (&value[..split], value.get(split + 1..).unwrap_or_default());
    let mut parts: Vec<Vec<u8>> = token.split(|b| *b == b'.').map(<[u8]>::to_vec).collect();
    let mut scheme = scheme.to_vec();
    match rng.u8(..8) {
        0 => {
            scheme = pick(
                rng,
                &[
                    "Bearer", "bearer", "BEARER", "Basic", "Bearer ", "", "Token", "Bearer\t",
                    "Bearer,",
                ],
            )
            .as_bytes()
            .to_vec();
        }
        1..=4 => {
            let i = rng.usize(..parts.len());
            let part = &mut parts[i];
            match Base64::detect(part) {
                Some((kind, decoded)) => {
                    let decoded = match parse(&decoded) {
                        Some(mut doc) => {
                            for _ in 0..=rng.usize(..3) {
                                mutate_json(rng, &mut doc, ctx, 1);
                            }
                            doc.to_bytes()
                        }
                        None => {
                            let mut bytes = decoded;
                            mutate_bytes(rng, &mut bytes, ctx);
                            bytes
                        }
                    };
                    let kind = if rng.u8(..8) == 0 {
                        Base64::Standard
                    } else {
                        kind
                    };
                    *part = kind.encode(&decoded);
                }
                None => mutate_bytes(rng, part, ctx),
            }
        }
        5 => {
            let i = rng.usize(..parts.len());
            match rng.u8(..4) {
                0 => {
                    parts.remove(i);
                }
                1 => {
                    let p = parts[i].clone();
                    parts.insert(i, p);
                }
                2 => parts[i].clear(),
                _ => {
                    let j = rng.usize(..parts.len());
                    parts.swap(i, j);
                }
            }
        }
        6 => {
            // A part of another seed's token: a header with another signature, say.
            let tokens: Vec<&[u8]> = ctx
                .seeds
                .iter()
                .filter_map(|c| c.header("authorization"))
                .collect();
            if !tokens.is_empty() {
                let other = tokens[rng.usize(..tokens.len())];
                let other = other
                    .iter()
                    .position(|b| *b == b' ')
                    .map_or(other, |s| &other[s + 1..]);
                let other: Vec<&[u8]> = other.split(|b| *b == b'.').collect();
                let i = rng.usize(..parts.len());
                if let Some(p) = other.get(i) {
                    parts[i] = p.to_vec();
                }
            }
        }
        _ => {
            let mut joined = parts.join(&b'.');
            mutate_bytes(rng, &mut joined, ctx);
            parts = vec![joined];
        }
    }
    let mut out = scheme;
    out.push(b' ');
    out.extend_from_slice(&parts.join(&b'.'));
    out
}

/// One change to the method, path or query.
pub fn mutate_request_line(rng: &mut Rng, case: &mut Case, ctx: &Ctx<'_>) {
    match rng.u8(..6) {
        0 => case.method = pick(rng, METHODS).to_owned(),
        1 if !ctx.paths.is_empty() => {
            case.path = ctx.paths[rng.usize(..ctx.paths.len())].to_owned();
        }
        2 => {
            let mut bytes = std::mem::take(&mut case.path).into_bytes();
            mutate_bytes(rng, &mut bytes, ctx);
            case.path = String::from_utf8_lossy(&bytes).into_owned();
        }
        3 => {
            let sep = if case.path.contains('?') { "&" } else { "?" };
            let token = String::from_utf8_lossy(dictionary_token(rng, ctx)).into_owned();
            case.path = format!(
                "{}{sep}{}",
                case.path,
                pick(rng, &[token.as_str(), "x=1", "%zz", "a=%00", "", "=", "&&"])
            );
        }
        4 => {
            let insert = pick(
                rng,
                &[
                    "/..",
                    "//",
                    "%2F",
                    "/_cloudport",
                    "/./",
                    "/",
                    "%2e%2e/",
                    "/api",
                    ";x",
                    "%00",
                    "/\u{e9}",
                ],
            );
            let at = rng.usize(..=case.path.len());
            if case.path.is_char_boundary(at) {
                case.path.insert_str(at, insert);
            }
        }
        _ => case.variant = rng.u8(..ctx.shape.variants.max(1)),
    }
}

/// A delimiter-aware change: the text split at `;`, `&`, `=`, `-`, `/`, `,`, `.`, … and a
/// piece dropped, repeated, swapped, emptied or replaced by a dictionary token or a piece of
/// another seed. Connection strings, URLs, trace headers and tokens are such texts.
fn token_op(rng: &mut Rng, buf: &mut Vec<u8>, ctx: &Ctx<'_>) {
    let present: Vec<u8> = DELIMITERS
        .iter()
        .copied()
        .filter(|d| buf.contains(d))
        .collect();
    if present.is_empty() {
        let token = dictionary_token(rng, ctx);
        let at = rng.usize(..=buf.len());
        buf.splice(at..at, token.iter().copied());
        return;
    }
    let delim = present[rng.usize(..present.len())];
    let mut pieces: Vec<Vec<u8>> = buf.split(|b| *b == delim).map(<[u8]>::to_vec).collect();
    let i = rng.usize(..pieces.len());
    match rng.u8(..7) {
        0 if pieces.len() > 1 => {
            pieces.remove(i);
        }
        1 => {
            let p = pieces[i].clone();
            pieces.insert(i, p);
        }
        2 => {
            let j = rng.usize(..pieces.len());
            pieces.swap(i, j);
        }
        3 => pieces[i].clear(),
        4 => pieces[i] = dictionary_token(rng, ctx).to_vec(),
        5 => {
            let other = &ctx.seeds[rng.usize(..ctx.seeds.len())].body;
            let others: Vec<&[u8]> = other.split(|b| *b == delim).collect();
            pieces[i] = others[rng.usize(..others.len())].to_vec();
        }
        _ => {
            let p = pieces[i].clone();
            let n = [3usize, 30, 300][rng.usize(..3)];
            for _ in 0..n {
                pieces.push(p.clone());
            }
        }
    }
    *buf = pieces.join(&delim);
}

/// One byte-level change.
pub fn mutate_bytes(rng: &mut Rng, buf: &mut Vec<u8>, ctx: &Ctx<'_>) {
    let len = buf.len();
    match rng.u8(..15) {
        0 if len > 0 => {
            let i = rng.usize(..len);
            buf[i] ^= 1 << rng.u32(0..8);
        }
        1 if len > 0 => {
            let i = rng.usize(..len);
            buf[i] = rng.u8(..);
        }
        2 if len > 0 => {
            let i = rng.usize(..len);
            buf[i] = INTERESTING_BYTES[rng.usize(..INTERESTING_BYTES.len())];
        }
        3 => {
            let at = rng.usize(..=len);
            let n = 1 + rng.usize(..8);
            let bytes: Vec<u8> = (0..n).map(|_| rng.u8(..)).collect();
            buf.splice(at..at, bytes);
        }
        4 | 5 => {
            let at = rng.usize(..=len);
            let token = dictionary_token(rng, ctx);
            buf.splice(at..at, token.iter().copied());
        }
        6 if len > 0 => {
            let at = rng.usize(..len);
            let n = 1 + rng.usize(..(len - at).min(64));
            buf.drain(at..at + n);
        }
        7 if len > 0 && len < MAX_BODY / 2 => {
            let at = rng.usize(..len);
            let n = 1 + rng.usize(..(len - at).min(256));
            let copy = buf[at..at + n].to_vec();
            let to = rng.usize(..=len);
            buf.splice(to..to, copy);
        }
        8 if len > 0 => buf.truncate(rng.usize(..len)),
        9 => {
            // Splice: this one's head, another seed's tail.
            let other = &ctx.seeds[rng.usize(..ctx.seeds.len())].body;
            let cut = rng.usize(..=len);
            let from = rng.usize(..=other.len());
            buf.truncate(cut);
            buf.extend_from_slice(&other[from..]);
        }
        10 => {
            let other = &ctx.seeds[rng.usize(..ctx.seeds.len())].body;
            if !other.is_empty() {
                let from = rng.usize(..other.len());
                let n = 1 + rng.usize(..(other.len() - from).min(128));
                let at = rng.usize(..=len);
                let end = (at + n).min(len);
                buf.splice(at..end, other[from..from + n].iter().copied());
            }
        }
        11 => {
            let at = rng.usize(..=len);
            let odd = pick(rng, ESCAPES);
            buf.splice(at..at, odd.iter().copied());
        }
        12 if len > 0 => {
            let i = rng.usize(..len);
            let delta = 1 + rng.u8(..35);
            buf[i] = if rng.bool() {
                buf[i].wrapping_add(delta)
            } else {
                buf[i].wrapping_sub(delta)
            };
        }
        13 => token_op(rng, buf, ctx),
        _ if len > 8192 => token_op(rng, buf, ctx),
        _ => {
            // A dictionary token that is present, replaced by another.
            let present: Vec<&[u8]> = ctx
                .dictionary
                .iter()
                .map(|t| t.as_bytes())
                .filter(|t| !t.is_empty() && memchr_find(buf, t).is_some())
                .take(16)
                .collect();
            if present.is_empty() {
                token_op(rng, buf, ctx);
                return;
            }
            let old = present[rng.usize(..present.len())];
            let new = dictionary_token(rng, ctx);
            if let Some(at) = memchr_find(buf, old) {
                buf.splice(at..at + old.len(), new.iter().copied());
            }
        }
    }
}

fn memchr_find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}
