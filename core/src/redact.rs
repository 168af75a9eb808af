//! One redaction rule for every text that leaves the process.
//!
//! Wherever a native error, a configuration value or a log line becomes text — an [`Error`]'s
//! `Display` and `Debug` (its native source included), the log lines cloudport's hosts write, the
//! error bodies of the HTTP hosts, the Lambda error report — it goes through [`redact`], which
//! replaces credentials with `[REDACTED]`:
//!
//! | what | example (before) |
//! |---|---|
//! | values of secret-named settings, query parameters, JSON and `Debug` fields: names ending in `password`, `secret`, `token`, `signature`, `sig`, `accountkey`, `sharedaccesskey`, `secretaccesskey`, `secretkey`, `apikey`, `privatekey`, `authorization`, `credentials`, `functionskey` (case, `_` and `-` ignored), `pwd`, and the query parameters `key` and `code` | `AccountKey=…;`, `SharedAccessSignature=…`, `?sig=…`, `X-Amz-Security-Token=…`, `"client_secret": "…"`, `session_token: Some("…")`, `?code=…` |
//! | bearer, basic and shared-key authorization values | `Authorization: Bearer eyJ…`, `SharedKey acct:…` |
//! | a URL's password, or a long user name standing alone (a token) | `https://user:…@host`, `https://ghp_…@host` |
//! | PEM private keys | `-----BEGIN PRIVATE KEY----- … -----END PRIVATE KEY-----` |
//! | any value registered with [`register_secret`] (providers register the keys and tokens they read from configuration) | the bare key wherever it appears |
//!
//! The rule errs towards redacting: a pagination `NextToken` or a `signature` field that is not
//! secret is redacted too. Text without any of the above is returned as it is, without copying.
//!
//! [`Error`]: crate::Error

use std::borrow::Cow;
use std::fmt;
use std::sync::RwLock;

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Secrets shorter than this are not registered: too likely to match ordinary text.
pub const MIN_REGISTERED_LEN: usize = 8;

/// Values known to be secret, registered by the code that reads them from configuration.
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Setting, field and parameter names (lower case, without `_` and `-`) whose values are secret
/// wherever the name ends with one of them.
const SECRET_NAME_SUFFIXES: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "signature",
    "sig",
    "accountkey",
    "sharedaccesskey",
    "secretaccesskey",
    "secretkey",
    "apikey",
    "privatekey",
    "authorization",
    "credentials",
    "functionskey",
];

/// Names secret only as a whole (`PWD`, `key` as a query parameter is handled apart).
const SECRET_NAMES: &[&str] = &["pwd"];

/// Authorization schemes whose parameter is a credential.
const AUTH_SCHEMES: &[&str] = &["bearer", "basic", "sharedkey", "sharedkeylite"];

/// Registers a value known to be secret (an account key, a token read from configuration): from
/// now on [`redact`] replaces it wherever it appears, also percent-encoded. Values shorter than
/// [`MIN_REGISTERED_LEN`] are ignored.
///
/// ```
/// use cloudport_core::redact::{redact, register_secret};
/// register_secret("s3cr3t-Value/With+Symbols==");
/// assert_eq!(
///     redact("failed with s3cr3t-Value/With+Symbols== and s3cr3t-Value%2FWith%2BSymbols%3D%3D"),
///     "failed with [REDACTED] and [REDACTED]"
/// );
/// ```
pub fn register_secret(value: &str) {
    let value = value.trim();
    if value.len() < MIN_REGISTERED_LEN {
        return;
    }
    // As it appears in URLs: every byte but letters and digits encoded, or (RFC 3986) all but
    // the unreserved characters.
    const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let encoded = percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    let component = percent_encoding::utf8_percent_encode(value, UNRESERVED).to_string();
    let mut secrets = SECRETS
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for v in [value.to_owned(), encoded, component] {
        if !secrets.contains(&v) {
            secrets.push(v);
        }
    }
    // Longest first, so a secret that contains another is replaced whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// Registers the secrets among environment variables (as `(name, value)` pairs): the value of
/// every variable whose name is a secret's (as [`redact`] reads names, plus names ending in
/// `key`, `sas` or `connectionstring`, and `AzureWebJobsStorage`), and within every value the
/// secret parts [`redact`] finds (the `AccountKey` of a connection string, a URL's password).
/// [`register_secrets_from_env`] does it for the process environment; `App::run` calls that
/// before anything is logged.
///
/// ```
/// use cloudport_core::redact::{redact, register_secrets_in};
/// register_secrets_in([
///     ("PAYMENT_API_KEY", "pk_live_0123456789"),
///     ("OrdersStorage", "AccountName=a;AccountKey=a2V5LWtleS1rZXk=;EndpointSuffix=x"),
///     ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE0001"),
/// ]);
/// assert_eq!(redact("key pk_live_0123456789 refused"), "key [REDACTED] refused");
/// assert_eq!(redact("a2V5LWtleS1rZXk= leaked"), "[REDACTED] leaked");
/// // An access key id is no secret.
/// assert_eq!(redact("AKIAEXAMPLE0001"), "AKIAEXAMPLE0001");
/// ```
pub fn register_secrets_in<N: AsRef<str>, V: AsRef<str>>(vars: impl IntoIterator<Item = (N, V)>) {
    for (name, value) in vars {
        let (name, value) = (name.as_ref(), value.as_ref());
        if is_secret_env_name(name) {
            register_secret(value);
        }
        let mut out = Output {
            text: value,
            out: None,
            copied: 0,
            spans: Some(Vec::new()),
        };
        scan(value, &mut out);
        for (start, end) in out.spans.unwrap_or_default() {
            register_secret(&value[start..end]);
        }
    }
}

/// [`register_secrets_in`] the process environment.
pub fn register_secrets_from_env() {
    register_secrets_in(
        std::env::vars_os()
            .filter_map(|(n, v)| Some((n.into_string().ok()?, v.into_string().ok()?))),
    );
}

/// Whether an environment variable's name says its value is a secret.
fn is_secret_env_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase().replace(['_', '-'], "");
    if matches!(lower.as_str(), "pwd" | "oldpwd") {
        return false;
    }
    is_secret_name(name.as_bytes())
        || ["key", "sas", "connectionstring"]
            .iter()
            .any(|s| lower.ends_with(s))
        || lower == "azurewebjobsstorage"
}

/// `text` with every credential replaced by `[REDACTED]` (see the module documentation).
///
/// ```
/// use cloudport_core::redact::redact;
/// assert_eq!(
///     redact("DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=a2V5a2V5;EndpointSuffix="),
///     "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=[REDACTED];EndpointSuffix="
/// );
/// assert_eq!(
///     redact("GET https://acme.queue.core.windows.net/orders?sv=2022-11-02&sig=abc%2Bdef failed"),
///     "GET https://acme.queue.core.windows.net/orders?sv=2022-11-02&sig=[REDACTED] failed"
/// );
/// assert_eq!(redact("Authorization: Bearer eyJhbGciOi.x.y"), "Authorization: [REDACTED]");
/// assert_eq!(redact("postgres://app:hunter22@db/x"), "postgres://app:[REDACTED]@db/x");
/// assert_eq!(redact("nothing to hide"), "nothing to hide");
/// ```
pub fn redact(text: &str) -> Cow<'_, str> {
    let registered = redact_registered(text);
    match redact_patterns(&registered) {
        Cow::Borrowed(_) => registered,
        Cow::Owned(s) => Cow::Owned(s),
    }
}

/// Whether [`redact`] would change `text`.
///
/// ```
/// use cloudport_core::redact::is_clean;
/// assert!(is_clean("queue orders not found"));
/// assert!(!is_clean("token=abc123"));
/// ```
pub fn is_clean(text: &str) -> bool {
    matches!(redact(text), Cow::Borrowed(_))
}

/// Shows a value through [`redact`]: its `Display` and `Debug` are redacted.
///
/// ```
/// use cloudport_core::redact::Redacted;
/// let url = "https://user:pa55word@example.com/";
/// assert_eq!(Redacted(url).to_string(), "https://user:[REDACTED]@example.com/");
/// ```
#[derive(Clone, Copy)]
pub struct Redacted<T>(pub T);

impl<T: fmt::Display> fmt::Display for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.0.to_string()))
    }
}

impl<T: fmt::Debug> fmt::Debug for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = if f.alternate() {
            format!("{:#?}", self.0)
        } else {
            format!("{:?}", self.0)
        };
        f.write_str(&redact(&text))
    }
}

/// An [`std::io::Write`] that redacts what passes through it: each `write` call is redacted as a
/// whole (a log line, as `tracing-subscriber` writes one event per call) before it reaches the
/// inner writer. cloudport's hosts write their log lines through it; wrap your own log writer
/// in it if you install a subscriber of your own.
///
/// ```
/// use std::io::Write;
/// use cloudport_core::redact::RedactingWriter;
/// let mut out = RedactingWriter::new(Vec::new());
/// out.write_all(b"connecting with AccountKey=a2V5;\n").unwrap();
/// assert_eq!(out.into_inner(), b"connecting with AccountKey=[REDACTED];\n");
/// ```
#[derive(Debug)]
pub struct RedactingWriter<W> {
    inner: W,
}

impl<W> RedactingWriter<W> {
    /// Redacts what is written to `inner`.
    pub fn new(inner: W) -> Self {
        Self { inner }
    }

    /// The inner writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: std::io::Write> std::io::Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match std::str::from_utf8(buf) {
            Ok(text) => self.inner.write_all(redact(text).as_bytes())?,
            // Not text: written as it is, no credential we know of is binary.
            Err(_) => self.inner.write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn redact_registered(text: &str) -> Cow<'_, str> {
    let secrets = SECRETS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut out = Cow::Borrowed(text);
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), REDACTED));
        }
    }
    out
}

/// Builds the redacted text lazily: nothing is copied until the first replacement.
struct Output<'a> {
    text: &'a str,
    out: Option<String>,
    /// How far `text` has been copied into `out`.
    copied: usize,
    /// When set, the spans that would be replaced are recorded here instead.
    spans: Option<Vec<(usize, usize)>>,
}

impl<'a> Output<'a> {
    fn replace(&mut self, start: usize, end: usize, with: &str) {
        if start >= end || start < self.copied {
            return;
        }
        if let Some(spans) = &mut self.spans {
            spans.push((start, end));
            self.copied = end;
            return;
        }
        let out = self
            .out
            .get_or_insert_with(|| String::with_capacity(self.text.len()));
        out.push_str(&self.text[self.copied..start]);
        out.push_str(with);
        self.copied = end;
    }

    fn finish(self) -> Cow<'a, str> {
        match self.out {
            None => Cow::Borrowed(self.text),
            Some(mut out) => {
                out.push_str(&self.text[self.copied..]);
                Cow::Owned(out)
            }
        }
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// A byte that ends an unquoted value.
fn ends_value(b: u8) -> bool {
    b.is_ascii_whitespace()
        || matches!(
            b,
            b';' | b'&' | b',' | b'"' | b'\'' | b')' | b']' | b'}' | b'<' | b'>' | b'\\' | b'#'
        )
}

/// Whether a setting or field name (as written) names a secret.
fn is_secret_name(name: &[u8]) -> bool {
    let mut buf = [0u8; 64];
    let mut n = 0;
    for &b in name {
        if b == b'_' || b == b'-' {
            continue;
        }
        if n == buf.len() {
            return false;
        }
        buf[n] = b.to_ascii_lowercase();
        n += 1;
    }
    let norm = &buf[..n];
    SECRET_NAMES.iter().any(|s| norm == s.as_bytes())
        || SECRET_NAME_SUFFIXES
            .iter()
            .any(|s| norm.ends_with(s.as_bytes()))
}

fn redact_patterns(text: &str) -> Cow<'_, str> {
    let mut out = Output {
        text,
        out: None,
        copied: 0,
        spans: None,
    };
    scan(text, &mut out);
    out.finish()
}

/// Finds every credential in `text`, handing each span to `out`.
fn scan(text: &str, out: &mut Output<'_>) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'-'
            && bytes[i..].starts_with(b"-----BEGIN ")
            && let Some(end) = pem_private_key_end(text, i)
        {
            out.replace(i, end, "[REDACTED PRIVATE KEY]");
            i = end;
            continue;
        }
        if b == b':' && bytes[i..].starts_with(b"://") {
            i = userinfo(bytes, i + 3, out);
            continue;
        }
        if b == b'@' {
            bare_userinfo(bytes, i, out);
            i += 1;
            continue;
        }
        if is_name_byte(b) && (i == 0 || !is_name_byte(bytes[i - 1])) {
            let start = i;
            while i < bytes.len() && is_name_byte(bytes[i]) {
                i += 1;
            }
            let name = &bytes[start..i];
            if let Some(next) = auth_scheme_value(bytes, name, i, out) {
                i = next;
            } else if let Some(next) = named_value(bytes, start, name, i, out) {
                i = next;
            }
            continue;
        }
        i += 1;
    }
}

/// `-----BEGIN … PRIVATE KEY-----` at `start`: where its block ends (the end of text when it
/// has no end line).
fn pem_private_key_end(text: &str, start: usize) -> Option<usize> {
    let rest = &text[start..];
    let header_end = rest["-----BEGIN ".len()..].find("-----")? + "-----BEGIN ".len();
    if !rest[..header_end].ends_with("PRIVATE KEY") {
        return None;
    }
    match rest[header_end..].find("-----END ") {
        Some(end_line) => {
            let after = header_end + end_line + "-----END ".len();
            let close = rest[after..]
                .find("-----")
                .map_or(rest.len(), |c| after + c + 5);
            Some(start + close)
        }
        None => Some(text.len()),
    }
}

/// A URL's authority after `scheme://` at `start`: its password (or a long lone user name)
/// redacted. Returns where scanning goes on.
fn userinfo(bytes: &[u8], start: usize, out: &mut Output<'_>) -> usize {
    let mut end = start;
    while end < bytes.len()
        && !bytes[end].is_ascii_whitespace()
        && !matches!(
            bytes[end],
            b'/' | b'?' | b'#' | b'"' | b'\'' | b'<' | b'>' | b'\\'
        )
    {
        end += 1;
    }
    let authority = &bytes[start..end];
    let Some(at) = authority.iter().rposition(|&b| b == b'@') else {
        return start;
    };
    let user = &authority[..at];
    match user.iter().position(|&b| b == b':') {
        Some(colon) if colon + 1 < at => out.replace(start + colon + 1, start + at, REDACTED),
        None if user.len() >= 16 => out.replace(start, start + at, REDACTED),
        _ => {}
    }
    start + at + 1
}

/// `user:password@host` without a scheme (a `host:port` setting, a `Host` header): the password
/// of the `user:password` that ends at the `@` at `at`.
fn bare_userinfo(bytes: &[u8], at: usize, out: &mut Output<'_>) {
    let start = bytes[..at]
        .iter()
        .rposition(|&b| {
            b.is_ascii_whitespace()
                || matches!(
                    b,
                    b'"' | b'\'' | b'(' | b'[' | b'{' | b'<' | b'=' | b',' | b';' | b'/' | b'\\'
                )
        })
        .map_or(0, |p| p + 1);
    let host_follows = bytes
        .get(at + 1)
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'[');
    if let Some(colon) = bytes[start..at].iter().position(|&b| b == b':')
        && host_follows
        && start + colon + 1 < at
    {
        out.replace(start + colon + 1, at, REDACTED);
    }
}

/// `Bearer <token>` (and the other schemes): the credential after the scheme name redacted.
fn auth_scheme_value(
    bytes: &[u8],
    name: &[u8],
    name_end: usize,
    out: &mut Output<'_>,
) -> Option<usize> {
    if !AUTH_SCHEMES
        .iter()
        .any(|s| name.eq_ignore_ascii_case(s.as_bytes()))
    {
        return None;
    }
    let mut start = name_end;
    while start < bytes.len() && bytes[start] == b' ' {
        start += 1;
    }
    if start == name_end {
        return None;
    }
    let mut end = start;
    while end < bytes.len() && !ends_value(bytes[end]) {
        end += 1;
    }
    if !looks_like_credential(&bytes[start..end]) {
        return None;
    }
    out.replace(start, end, REDACTED);
    Some(end)
}

/// A credential is long and not a plain word ("bearer token", "basic authentication" are words):
/// it has a digit or one of the symbols of base64 and JWTs.
fn looks_like_credential(value: &[u8]) -> bool {
    value.len() >= 8
        && value.iter().any(|b| {
            b.is_ascii_digit() || matches!(b, b'+' | b'/' | b'=' | b'.' | b'_' | b'~' | b'-' | b':')
        })
}

/// `name=value`, `name: value`, `"name": "value"`, `name: Some("value")` where the name is a
/// secret's (or `key` as a query parameter): the value redacted.
fn named_value(
    bytes: &[u8],
    name_start: usize,
    name: &[u8],
    name_end: usize,
    out: &mut Output<'_>,
) -> Option<usize> {
    // `?key=` (Google API keys) and `?code=` (Azure Functions keys) are secrets as query
    // parameters only: elsewhere they are ordinary words.
    let query_key = (name.eq_ignore_ascii_case(b"key") || name.eq_ignore_ascii_case(b"code"))
        && name_start > 0
        && matches!(bytes[name_start - 1], b'?' | b'&');
    if !query_key && !is_secret_name(name) {
        return None;
    }
    let mut i = name_end;
    // The closing quote of a quoted name (also JSON inside a string: `\"name\"`).
    if bytes.get(i) == Some(&b'\\') && matches!(bytes.get(i + 1), Some(b'"')) {
        i += 2;
    } else if matches!(bytes.get(i), Some(b'"' | b'\'')) {
        i += 1;
    }
    while matches!(bytes.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    match bytes.get(i) {
        Some(b'=') => i += 1,
        Some(b':') if !bytes[i..].starts_with(b"://") => i += 1,
        _ => return None,
    }
    while matches!(bytes.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    if bytes[i..].starts_with(b"Some(") {
        i += 5;
        // `{:#?}` puts the value on a line of its own (in a JSON log line, after a `\n`).
        loop {
            match (bytes.get(i), bytes.get(i + 1)) {
                (Some(b), _) if b.is_ascii_whitespace() => i += 1,
                (Some(b'\\'), Some(b'n' | b'r' | b't')) => i += 2,
                _ => break,
            }
        }
    }
    // A quoted value ends at its closing quote; `\"` quotes inside a string too.
    let (start, end) = if bytes.get(i) == Some(&b'\\') && matches!(bytes.get(i + 1), Some(b'"')) {
        let start = i + 2;
        let end = find(bytes, start, b"\\\"").unwrap_or(bytes.len());
        (start, end)
    } else if let Some(&q @ (b'"' | b'\'')) = bytes.get(i) {
        let start = i + 1;
        let mut end = start;
        while end < bytes.len() && bytes[end] != q {
            end += if bytes[end] == b'\\' { 2 } else { 1 };
        }
        (start, end.min(bytes.len()))
    } else {
        let mut end = i;
        while end < bytes.len() && !ends_value(bytes[end]) {
            end += 1;
        }
        // `Authorization: Bearer <token>`: the scheme and its credential are one value.
        if AUTH_SCHEMES
            .iter()
            .any(|s| bytes[i..end].eq_ignore_ascii_case(s.as_bytes()))
        {
            let mut next = end;
            while matches!(bytes.get(next), Some(b' ')) {
                next += 1;
            }
            let mut cred_end = next;
            while cred_end < bytes.len() && !ends_value(bytes[cred_end]) {
                cred_end += 1;
            }
            if next > end && looks_like_credential(&bytes[next..cred_end]) {
                end = cred_end;
            }
        }
        (i, end)
    };
    if start >= end {
        return Some(start.min(bytes.len()));
    }
    out.replace(start, end, REDACTED);
    Some(end)
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(bytes.get(from..)?, needle).map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_strings() {
        let cs = "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=Zm9vYmFy+/==;EndpointSuffix=core.windows.net";
        assert_eq!(
            redact(cs),
            "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=[REDACTED];EndpointSuffix=core.windows.net"
        );
        let sas = "BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=2022-11-02&ss=b&sig=AbC%2Bd%3D";
        let r = redact(sas);
        assert!(!r.contains("AbC"), "{r}");
        assert!(
            r.contains("BlobEndpoint=https://a.blob.core.windows.net"),
            "{r}"
        );
        assert_eq!(
            redact("Endpoint=sb://x/;SharedAccessKeyName=root;SharedAccessKey=k3y=="),
            "Endpoint=sb://x/;SharedAccessKeyName=root;SharedAccessKey=[REDACTED]"
        );
    }

    #[test]
    fn query_parameters() {
        assert_eq!(
            redact(
                "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F&X-Amz-Signature=ab12&X-Amz-Security-Token=FwoG"
            ),
            "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F&X-Amz-Signature=[REDACTED]&X-Amz-Security-Token=[REDACTED]"
        );
        assert_eq!(
            redact("https://x.googleapis.com/v1?key=AIzaSyA&alt=json"),
            "https://x.googleapis.com/v1?key=[REDACTED]&alt=json"
        );
        // `key` elsewhere is an ordinary word.
        assert_eq!(redact("key=orders/42"), "key=orders/42");
        assert_eq!(
            redact("POST /api/http?code=abcDEF123== and x-functions-key: abcDEF123=="),
            "POST /api/http?code=[REDACTED] and x-functions-key: [REDACTED]"
        );
    }

    #[test]
    fn json_and_debug_fields() {
        assert_eq!(
            redact(r#"{"client_secret": "abc", "SecretAccessKey":"wJalr", "name":"x"}"#),
            r#"{"client_secret": "[REDACTED]", "SecretAccessKey":"[REDACTED]", "name":"x"}"#
        );
        assert_eq!(
            redact(
                r#"Credentials { access_key_id: "AKIA", secret_access_key: "wJalr", session_token: Some("FwoG") }"#
            ),
            r#"Credentials { access_key_id: "AKIA", secret_access_key: "[REDACTED]", session_token: Some("[REDACTED]") }"#
        );
        assert_eq!(
            redact(r#"body: "{\"private_key\":\"abc\",\"x\":1}""#),
            r#"body: "{\"private_key\":\"[REDACTED]\",\"x\":1}""#
        );
        assert_eq!(
            redact("AWS_SECRET_ACCESS_KEY=wJalr AWS_SESSION_TOKEN=FwoG"),
            "AWS_SECRET_ACCESS_KEY=[REDACTED] AWS_SESSION_TOKEN=[REDACTED]"
        );
    }

    #[test]
    fn authorization_values() {
        assert_eq!(
            redact(r#"{"authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig"}"#),
            r#"{"authorization": "[REDACTED]"}"#
        );
        assert_eq!(
            redact("sent SharedKey devstoreaccount1:c2lnbmF0dXJl to the server"),
            "sent SharedKey [REDACTED] to the server"
        );
        assert_eq!(
            redact("a bearer token is missing"),
            "a bearer token is missing"
        );
        assert_eq!(
            redact("AWS4-HMAC-SHA256 Credential=AKIA/x, SignedHeaders=host, Signature=0a1b2c"),
            "AWS4-HMAC-SHA256 Credential=AKIA/x, SignedHeaders=host, Signature=[REDACTED]"
        );
    }

    #[test]
    fn url_userinfo() {
        assert_eq!(
            redact("error sending request for url (http://u:p4ss@127.0.0.1:9/q)"),
            "error sending request for url (http://u:[REDACTED]@127.0.0.1:9/q)"
        );
        assert_eq!(
            redact("https://ghp_abcdefghijklmnopqrstuv@github.com/x"),
            "https://[REDACTED]@github.com/x"
        );
        assert_eq!(
            redact("mailto://bob@example.com"),
            "mailto://bob@example.com"
        );
        assert_eq!(redact("s3://bucket/a@b"), "s3://bucket/a@b");
        assert_eq!(
            redact(r#"pubsub_emulator: Some("user:s3cr3t@127.0.0.1:8085")"#),
            r#"pubsub_emulator: Some("user:[REDACTED]@127.0.0.1:8085")"#
        );
        assert_eq!(
            redact(r"POST\n/\nhost:user:s3cr3t@127.0.0.1:5000\nx-amz-date"),
            r"POST\n/\nhost:[REDACTED]@127.0.0.1:5000\nx-amz-date"
        );
        assert_eq!(
            redact("write to bob@example.com"),
            "write to bob@example.com"
        );
        assert_eq!(redact("git@github.com:org/repo"), "git@github.com:org/repo");
        assert_eq!(
            redact(r#"{"message":"Url {\n    password: Some(\n        \"s3cr3t\",\n    )}"}"#),
            r#"{"message":"Url {\n    password: Some(\n        \"[REDACTED]\",\n    )}"}"#
        );
        assert_eq!(
            redact("Url {\n    password: Some(\n        \"s3cr3t\",\n    ),\n}"),
            "Url {\n    password: Some(\n        \"[REDACTED]\",\n    ),\n}"
        );
    }

    #[test]
    fn private_keys() {
        let json = r#"{"private_key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n", "x": 1}"#;
        let r = redact(json);
        assert!(!r.contains("MIIE"), "{r}");
        let pem = "key: -----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY----- done";
        assert_eq!(redact(pem), "key: [REDACTED PRIVATE KEY] done");
        let cert = "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----";
        assert_eq!(redact(cert), cert);
    }

    #[test]
    fn clean_text_is_not_copied() {
        let text = "not_found: no such key (provider memory, operation kv.get, resource orders/42)";
        assert!(matches!(redact(text), Cow::Borrowed(_)));
        assert!(matches!(redact(""), Cow::Borrowed(_)));
        assert_eq!(redact("token"), "token");
        assert_eq!(redact("token="), "token=");
        assert_eq!(redact("password: "), "password: ");
    }

    #[test]
    fn never_panics_on_odd_text() {
        for text in [
            "\\",
            "\"",
            "sig=\\",
            "sig=\"unterminated",
            "sig=\\\"x",
            "://@",
            "a://:@",
            "-----BEGIN ",
            "-----BEGIN PRIVATE KEY-----",
            "é=ü;password=ß€",
            "Bearer      ",
        ] {
            let _ = redact(text);
        }
        assert_eq!(redact("password=ß€;x"), "password=[REDACTED];x");
    }

    #[test]
    fn registered_secrets() {
        register_secret("short");
        assert_eq!(redact("short"), "short");
        register_secret("9f8e7d6c5b4a-registered");
        assert_eq!(
            redact("the key 9f8e7d6c5b4a-registered was refused"),
            "the key [REDACTED] was refused"
        );
    }
}
