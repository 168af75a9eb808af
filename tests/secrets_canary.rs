//! Secrets never leave the process: a canary test.
//!
//! Distinctive canary values are planted in every credential input of every provider — Azure
//! connection strings (`AccountKey`, `SharedAccessSignature` with `sig=`, malformed ones, a
//! `?connection=SETTING` naming a variable), AWS credentials (static and from the environment),
//! endpoint URLs with userinfo, GCP emulator hosts and a `GOOGLE_APPLICATION_CREDENTIALS` file —
//! and in what hosts are handed (handler errors quoting a connection string or a bearer token,
//! `Authorization` headers, Azure function keys, binding URLs). Then the failure paths run:
//! malformed connection strings, unreachable endpoints (a closed port of 127.0.0.1), Azurite's
//! `403` for a wrong key or SAS, moto's errors, decode failures and handler errors on each host.
//!
//! Everything that could leave the process is captured — the `Display`, `{:?}` and `{:#?}` of
//! every error and of its whole `source()` chain, the `Debug` of configuration objects and
//! drivers, every status, header and body the hosts answer, the Lambda error reports, every
//! `tracing` event and span field at TRACE (one global subscriber for this test binary), and
//! the output of child processes — and scanned for the canaries (also base64-encoded, as in a
//! Basic `Authorization` header) and for secrets derived from them (an account SAS `sig=`, a
//! Shared Key or SigV4 signature). A test fails listing every leak: which canary, where, and an
//! excerpt with the canary replaced by `<CANARY>`.
//!
//! What needs the process environment (AWS's and GCP's credential chains, `AzureWebJobsStorage`,
//! `?connection=SETTING`, the Lambda Runtime API) runs in a child process: this binary again,
//! running [`canary_child_process`] with the canaries in its environment (setting variables in
//! this multi-threaded process would be `unsafe`, which the workspace forbids). The issue's own
//! example runs as it was reported, too: the quickstart binary with `AzureWebJobsStorage` set to
//! a connection string with an empty value. Tests that need emulators (Azurite, moto) or the
//! built examples are ignored with a reason naming `./scripts/test.sh`, which runs them.
//!
//! `CLOUDPORT_CANARY_DUMP=<dir>` writes everything a test captured to `<dir>/<test>.json`, to see
//! what the scenarios rendered. Not captured: records of the `log` crate (reqwest and rustls log
//! through it; no bridge to `tracing` is installed), and the default panic hook's output of this
//! process (a child's is).
#![cfg(all(feature = "aws", feature = "azure", feature = "gcp"))]
// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

mod support;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::process::Stdio;
use std::sync::{Mutex, Once};
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use cloudport::aws::Aws;
use cloudport::aws::sdk::aws_config::{BehaviorVersion, Region, SdkConfig};
use cloudport::aws::sdk::sqs::config::{Credentials, SharedCredentialsProvider};
use cloudport::azure::Azure;
use cloudport::gcp::Gcp;
use cloudport::hosts::HostKind;
use cloudport::memory::Memory;
use cloudport::prelude::*;
use cloudport::{Provider, ReceiveOptions, RetryPolicy};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tower::ServiceExt;

// ---------------------------------------------------------------------------------------------
// The canaries.
// ---------------------------------------------------------------------------------------------

/// An Azure storage account key: valid base64 (its last symbol canonical), so requests get
/// signed with it and reach the network.
const AZURE_KEY: &str = "CANARYaccountKEY0123456789abcdefghijklmnopqrstuvwQ==";
/// The `sig=` of a SAS.
const SAS_SIG: &str = "CANARYsasSIG0123456789abcdefghijklmnopqrstuvwxyzAB";
/// An AWS secret access key.
const AWS_SECRET: &str = "CANARYawsSECRET0123456789abcdefghijklmnopqrstu";
/// An AWS session token.
const AWS_SESSION: &str = "CANARYawsSESSION0123456789abcdefghijklmnopqrst";
/// A bearer token (an `Authorization` header, a handler's error message).
const BEARER: &str = "CANARYbearer0123456789abcdefghijklmnopqrstuvwxyz";
/// The password of an endpoint URL's userinfo.
const URL_PASSWORD: &str = "CANARYurlPASSWORD0123456789abcdefghijklmnopq";
/// The private key of a GCP service account.
const GCP_KEY: &str = "CANARYgcpPRIVATEKEY0123456789abcdefghijklmnop";
/// An Azure Functions function key (`?code=`).
const FUNCTION_KEY: &str = "CANARYfunctionKEY0123456789abcdefghijklmnopq";
const CLIENT_SECRET: &str = "CANARYclientSECRET0123456789abcdefghijklmnop";

/// Every canary and what it stands for.
const CANARIES: &[(&str, &str)] = &[
    ("Azure AccountKey", AZURE_KEY),
    ("SAS sig", SAS_SIG),
    ("AWS secret access key", AWS_SECRET),
    ("AWS session token", AWS_SESSION),
    ("bearer token", BEARER),
    ("URL userinfo password", URL_PASSWORD),
    ("GCP private key", GCP_KEY),
    ("Azure function key", FUNCTION_KEY),
    ("Entra ID client secret", CLIENT_SECRET),
];

/// Secrets derived from the canaries, which cannot be planted (an account SAS signed with the
/// key, a request signature): `(lowercase marker, description)`; the value after the marker is
/// reported unless it is short or a placeholder.
const DERIVED: &[(&str, &str)] = &[
    (
        "sig=",
        "a SAS signature (sig=…), derived from the account key",
    ),
    ("signature=", "a request signature (Signature=…)"),
    ("sharedkey ", "a Shared Key Authorization header"),
    ("sharedkeylite ", "a Shared Key Lite Authorization header"),
    ("bearer ", "a bearer token"),
];

/// The account every Azure URL of these tests names.
const ACCOUNT: &str = "acme";

/// The issue's connection string: an empty value (`EndpointSuffix=`) makes it malformed.
fn issue_connection_string() -> String {
    format!(
        "DefaultEndpointsProtocol=https;AccountName={ACCOUNT};AccountKey={AZURE_KEY};EndpointSuffix="
    )
}

/// What a handler's error quotes: a connection string and a bearer token.
fn handler_secret() -> String {
    format!(
        "DefaultEndpointsProtocol=https;AccountName={ACCOUNT};AccountKey={AZURE_KEY};EndpointSuffix=core.windows.net (Authorization: Bearer {BEARER})"
    )
}

/// A handler that fails quoting [`handler_secret`].
fn handler_error() -> Error {
    Error::handler(format!("could not connect with {}", handler_secret()))
}

/// A SAS whose signature is the canary.
fn sas() -> String {
    format!("sv=2022-11-02&ss=bqt&srt=sco&sp=rwdlacup&se=2099-01-01T00:00:00Z&sig={SAS_SIG}")
}

/// A port of 127.0.0.1 nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `http://127.0.0.1:PORT`, with a canary password in its userinfo when `userinfo`.
fn endpoint(port: u16, userinfo: bool) -> String {
    if userinfo {
        format!("http://canaryuser:{URL_PASSWORD}@127.0.0.1:{port}")
    } else {
        format!("http://127.0.0.1:{port}")
    }
}

/// An Azure connection string with the canary key and every service at `base`.
fn azure_key_connection_string(base: &str) -> String {
    format!(
        "DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={AZURE_KEY};BlobEndpoint={base}/{ACCOUNT};QueueEndpoint={base}/{ACCOUNT};TableEndpoint={base}/{ACCOUNT}"
    )
}

/// An Azure connection string with the canary SAS and every service at `base`.
fn azure_sas_connection_string(base: &str) -> String {
    format!(
        "AccountName={ACCOUNT};SharedAccessSignature={};BlobEndpoint={base}/{ACCOUNT};QueueEndpoint={base}/{ACCOUNT};TableEndpoint={base}/{ACCOUNT}",
        sas()
    )
}

/// An AWS configuration with canary credentials, sent to `endpoint`.
fn canary_aws_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            AWS_SECRET,
            Some(AWS_SESSION.to_owned()),
            None,
            "canary",
        )))
        .endpoint_url(endpoint)
        .build()
}

/// The AWS provider with canary credentials ([`canary_aws_config`]), sent to `endpoint`.
fn canary_aws(endpoint: &str) -> Aws {
    Aws::with_config(canary_aws_config(endpoint))
}

/// AWS per-resource settings sending to `endpoint` (the rest default, so fields added to
/// `Settings` later keep this compiling).
#[allow(clippy::needless_update, reason = "Settings may gain fields")]
fn aws_settings(endpoint: String) -> cloudport::aws::Settings {
    cloudport::aws::Settings {
        region: Some("us-east-1".into()),
        endpoint: Some(endpoint),
        ..Default::default()
    }
}

/// GCP settings with the Pub/Sub and Cloud Storage emulators at these addresses.
#[allow(clippy::needless_update, reason = "Settings may gain fields")]
fn gcp_settings(project: &str, pubsub: String, storage: String) -> cloudport::gcp::Settings {
    cloudport::gcp::Settings {
        project: Some(project.into()),
        pubsub_emulator: Some(pubsub),
        storage_emulator: Some(storage),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Scanning.
// ---------------------------------------------------------------------------------------------

/// One captured text: where it came from and what it says.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Capture {
    /// The scenario (what was planted, what ran).
    scenario: String,
    /// What was rendered (`queue.send error`, `HTTP body`, `log line …`).
    what: String,
    /// How (`Display`, `{:?}`, `{:#?}`, `body`, …).
    format: String,
    text: String,
}

/// A canary (or a secret derived from one) found in captured text.
#[derive(Debug)]
struct Leak {
    canary: String,
    scenario: String,
    what: String,
    formats: Vec<String>,
    excerpt: String,
}

/// The base64 encodings of `value` wherever it sits in the encoded bytes (three alignments),
/// without the symbols its neighbours change.
fn base64_forms(value: &str) -> Vec<String> {
    let mut forms = Vec::new();
    for offset in 0..3 {
        let mut bytes = vec![b'x'; offset];
        bytes.extend_from_slice(value.as_bytes());
        let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let trimmed = encoded.trim_end_matches('=');
        let start = if offset == 0 { 0 } else { 4 };
        let end = trimmed.len().saturating_sub(4);
        if end > start + 16 {
            forms.push(trimmed[start..end].to_owned());
        }
    }
    forms
}

/// The part of a canary that identifies it: `CANARY` and its kind (`CANARYaccountKEY`), so a
/// truncated copy is found too.
fn needle(value: &str) -> String {
    value
        .chars()
        .take_while(|c| !c.is_ascii_digit())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Byte offsets of `needle` in `haystack` (both ASCII-lowercased by the caller).
fn find_all(haystack: &str, needle: &str) -> Vec<usize> {
    haystack.match_indices(needle).map(|(i, _)| i).collect()
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Markers that stand for a secret while an excerpt is cut: `\u{1}C<n>\u{2}` canary `n`,
/// `\u{1}B<n>\u{2}` its base64 form, `\u{1}D\u{2}` a derived secret.
fn marker(kind: char, index: usize) -> String {
    format!("\u{1}{kind}{index}\u{2}")
}

const DERIVED_MARKER: &str = "\u{1}D\u{2}";

/// `text` with every canary replaced by its marker: its base64 forms, and each copy of it,
/// truncated or not (its needle, case-insensitively, and the letters, digits and `=` after).
fn mark(text: &str) -> String {
    let mut out = text.to_owned();
    for (i, (_, value)) in CANARIES.iter().enumerate() {
        for form in base64_forms(value) {
            out = out.replace(&form, &marker('B', i));
        }
        let needle = needle(value);
        let mut from = 0;
        while let Some(at) = out.to_ascii_lowercase()[from..]
            .find(&needle)
            .map(|a| a + from)
        {
            let tail = out.as_bytes()[at + needle.len()..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'=')
                .count();
            let m = marker('C', i);
            out.replace_range(at..at + needle.len() + tail, &m);
            from = at + m.len();
        }
    }
    out
}

/// The markers of [`mark`] as `<CANARY>`, `<CANARY-base64>` and `<DERIVED>`, on one line.
fn unmark(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('\u{1}') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('\u{2}').unwrap_or(after.len());
        out.push_str(match after.as_bytes().first() {
            Some(b'B') => "<CANARY-base64>",
            Some(b'D') => "<DERIVED>",
            _ => "<CANARY>",
        });
        rest = after.get(close + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out.replace('\n', "⏎").replace('\r', "")
}

/// `text` with every canary replaced, on one line (for notes).
fn redact(text: &str) -> String {
    unmark(&mark(text))
}

/// Up to 90 bytes either side of the first `marker` in `marked`, unmarked.
fn excerpt(marked: &str, marker: &str) -> String {
    let at = marked.find(marker).unwrap_or(0);
    let start = floor_boundary(marked, at.saturating_sub(90));
    let end = ceil_boundary(marked, at + marker.len() + 90);
    // Do not cut a marker in two.
    let start = marked[..start]
        .rfind('\u{1}')
        .filter(|&o| !marked[o..start].contains('\u{2}'))
        .unwrap_or(start);
    let end = marked[end..]
        .find('\u{2}')
        .filter(|&c| !marked[end..end + c].contains('\u{1}'))
        .map_or(end, |c| end + c + 1);
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.push_str(&unmark(&marked[start..end]));
    if end < marked.len() {
        out.push('…');
    }
    out
}

/// A derived secret after `marker` at `at`: long enough and not a placeholder or a canary.
fn derived_value(lower: &str, at: usize, marker: &str) -> Option<usize> {
    let rest = &lower[at + marker.len()..];
    let len = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || b"%+/=_-.:".contains(b))
        .count();
    let value = &rest[..len];
    let placeholder = ["redacted", "***", "canary"]
        .iter()
        .any(|p| value.contains(p));
    (len >= 20 && !placeholder).then_some(len)
}

/// Every leak in `captures`, one per (canary, scenario, what) with the formats it showed in.
fn scan(captures: &[Capture]) -> Vec<Leak> {
    let mut leaks: Vec<Leak> = Vec::new();
    let mut add = |canary: String, c: &Capture, excerpt: &dyn Fn() -> String| {
        if let Some(l) = leaks
            .iter_mut()
            .find(|l| l.canary == canary && l.scenario == c.scenario && l.what == c.what)
        {
            if !l.formats.contains(&c.format) {
                l.formats.push(c.format.clone());
            }
            return;
        }
        leaks.push(Leak {
            canary,
            scenario: c.scenario.clone(),
            what: c.what.clone(),
            formats: vec![c.format.clone()],
            excerpt: excerpt(),
        });
    };
    for c in captures {
        let lower = c.text.to_ascii_lowercase();
        let marked = std::cell::OnceCell::new();
        let marked = || marked.get_or_init(|| mark(&c.text)).clone();
        for (i, (kind, value)) in CANARIES.iter().enumerate() {
            if lower.contains(&needle(value)) {
                add((*kind).to_owned(), c, &|| {
                    excerpt(&marked(), &marker('C', i))
                });
            } else if base64_forms(value)
                .iter()
                .any(|f| c.text.contains(f.as_str()))
            {
                add(format!("{kind} (base64-encoded)"), c, &|| {
                    excerpt(&marked(), &marker('B', i))
                });
            }
        }
        for (m, description) in DERIVED {
            let found = find_all(&lower, m).into_iter().find_map(|at| {
                let boundary = at == 0 || !lower.as_bytes()[at - 1].is_ascii_alphanumeric();
                boundary
                    .then(|| derived_value(&lower, at, m))
                    .flatten()
                    .map(|len| (at + m.len(), len))
            });
            if let Some((start, len)) = found {
                add(format!("derived secret: {description}"), c, &|| {
                    let mut shown = c.text.clone();
                    shown.replace_range(start..start + len, DERIVED_MARKER);
                    excerpt(&mark(&shown), DERIVED_MARKER)
                });
            }
        }
    }
    leaks
}

/// The failure message: every leak, then the notes.
fn report(test: &str, leaks: &[Leak], notes: &[String]) -> String {
    let mut out = format!(
        "{test}: {} leak(s) of canary credentials (canaries shown as <CANARY>, derived secrets as <DERIVED>):\n",
        leaks.len()
    );
    for (i, l) in leaks.iter().enumerate() {
        let _ = writeln!(
            out,
            "{:>3}. [{}] {} — {} ({}):\n       {}",
            i + 1,
            l.canary,
            l.scenario,
            l.what,
            l.formats.join(", "),
            l.excerpt
        );
    }
    if !notes.is_empty() {
        out.push_str("notes (not leaks):\n");
        for n in notes {
            let _ = writeln!(out, "  - {}", redact(n));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Log capture: one global subscriber at TRACE for this test binary.
// ---------------------------------------------------------------------------------------------

/// A `tracing` event or span field set, with the test and scenario running on its thread.
struct LogLine {
    test: Option<&'static str>,
    scenario: String,
    /// `event LEVEL target` or `span LEVEL target name`.
    source: String,
    text: String,
}

static LOGS: Mutex<Vec<LogLine>> = Mutex::new(Vec::new());
static INSTALL: Once = Once::new();

thread_local! {
    /// The test and scenario running on this thread (each `#[tokio::test]` runs on its own
    /// thread, with the tasks it spawns).
    static CURRENT: RefCell<Option<(&'static str, String)>> = const { RefCell::new(None) };
}

/// Event and span fields as text, errors with their source chain.
#[derive(Default)]
struct FieldText(String);

impl tracing::field::Visit for FieldText {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }

    fn record_error(
        &mut self,
        field: &tracing::field::Field,
        value: &(dyn std::error::Error + 'static),
    ) {
        let _ = write!(self.0, " {}={value} ({value:?})", field.name());
        let mut source = value.source();
        while let Some(s) = source {
            let _ = write!(self.0, " {}.source={s} ({s:?})", field.name());
            source = s.source();
        }
    }
}

/// Records every span's fields into [`LOGS`].
struct CaptureLayer;

fn push_log(source: String, text: String) {
    let (test, scenario) = CURRENT
        .try_with(|c| c.borrow().clone())
        .ok()
        .flatten()
        .map_or(
            (None, String::from("(no scenario: another thread)")),
            |(t, s)| (Some(t), s),
        );
    if let Ok(mut logs) = LOGS.lock() {
        logs.push(LogLine {
            test,
            scenario,
            source,
            text,
        });
    }
}

/// What cloudport's log layer writes (each call one line, already through its redaction), into
/// [`LOGS`].
struct LineCapture;

impl std::io::Write for LineCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        push_log(
            "log line".to_owned(),
            String::from_utf8_lossy(buf).into_owned(),
        );
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Span fields, which leave the process with OpenTelemetry export.
impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CaptureLayer {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _id: &tracing::span::Id,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut fields = FieldText::default();
        attrs.record(&mut fields);
        let meta = attrs.metadata();
        push_log(
            format!("span {} {} {}", meta.level(), meta.target(), meta.name()),
            fields.0,
        );
    }

    fn on_record(
        &self,
        _id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut fields = FieldText::default();
        values.record(&mut fields);
        push_log("span fields recorded later".to_owned(), fields.0);
    }
}

/// Installs the capture subscriber once, before anything in this process logs.
fn install_capture() {
    INSTALL.call_once(|| {
        use tracing_subscriber::layer::SubscriberExt;
        // Events as cloudport's hosts write them (`App::run` installs this layer, writing to
        // stdout / stderr): every event at TRACE, in the Lambda JSON shape, which carries every
        // field.
        let subscriber =
            tracing_subscriber::registry()
                .with(CaptureLayer)
                .with(cloudport::hosts::logs::layer(HostKind::Lambda, || {
                    Box::new(LineCapture) as Box<dyn std::io::Write>
                }));
        tracing::subscriber::set_global_default(subscriber)
            .expect("the canary test's subscriber is the first and only one");
        tracing::callsite::rebuild_interest_cache();
    });
}

// ---------------------------------------------------------------------------------------------
// Recording what runs.
// ---------------------------------------------------------------------------------------------

/// How long one operation may take (a closed port fails at once; this bounds the rest).
const OP_TIMEOUT: Duration = Duration::from_secs(8);

/// Two attempts, 1 ms apart: the retry path (and its log line) runs, quickly.
fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(2)
        .base_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(2))
}

/// A directory to write every test's captures to (`<test>.json`), when set.
const DUMP_VAR: &str = "CLOUDPORT_CANARY_DUMP";

/// The captures of one test.
struct Recorder {
    test: &'static str,
    scenario: String,
    captures: Vec<Capture>,
    notes: Vec<String>,
}

impl Recorder {
    fn new(test: &'static str) -> Self {
        install_capture();
        let rec = Self {
            test,
            scenario: String::new(),
            captures: Vec::new(),
            notes: Vec::new(),
        };
        rec.set_current();
        rec
    }

    fn set_current(&self) {
        let current = (self.test, self.scenario.clone());
        CURRENT.with(|c| *c.borrow_mut() = Some(current));
    }

    /// Starts a scenario: what follows (and what it logs) is reported under `name`.
    fn scenario(&mut self, name: impl Into<String>) {
        self.scenario = name.into();
        self.set_current();
    }

    fn text(&mut self, what: impl Into<String>, format: &str, text: impl Into<String>) {
        self.captures.push(Capture {
            scenario: self.scenario.clone(),
            what: what.into(),
            format: format.to_owned(),
            text: text.into(),
        });
    }

    fn note(&mut self, note: impl Into<String>) {
        let note = format!("{}: {}", self.scenario, note.into());
        self.notes.push(note);
    }

    /// `Display`, `{:?}` and `{:#?}` of `err` and of every error in its `source()` chain.
    fn error(&mut self, what: &str, err: &(dyn std::error::Error + 'static)) {
        let what = format!("{what} error");
        self.text(&what, "Display", err.to_string());
        self.text(&what, "{:?}", format!("{err:?}"));
        self.text(&what, "{:#?}", format!("{err:#?}"));
        let mut source = err.source();
        let mut n = 1;
        while let Some(s) = source {
            self.text(&what, &format!("source #{n} Display"), s.to_string());
            self.text(&what, &format!("source #{n} {{:?}}"), format!("{s:?}"));
            self.text(&what, &format!("source #{n} {{:#?}}"), format!("{s:#?}"));
            source = s.source();
            n += 1;
        }
    }

    /// The error of `result`, or a note that there was none.
    fn outcome<T>(&mut self, what: &str, result: Result<T>) -> Option<T> {
        match result {
            Ok(v) => {
                self.note(format!("{what} succeeded: no error to inspect"));
                Some(v)
            }
            Err(e) => {
                self.error(what, &e);
                None
            }
        }
    }

    /// Runs `op` under [`OP_TIMEOUT`] and records its error.
    async fn op<T>(&mut self, what: &str, op: impl Future<Output = Result<T>>) -> Option<T> {
        use futures::FutureExt;
        let guarded = std::panic::AssertUnwindSafe(op).catch_unwind();
        match tokio::time::timeout(OP_TIMEOUT, guarded).await {
            Ok(Ok(result)) => self.outcome(what, result),
            Ok(Err(panic)) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                self.text(format!("{what} panic"), "panic message", message.clone());
                let first = message.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                self.note(format!("{what} panicked: {first}"));
                None
            }
            Err(_) => {
                self.note(format!("{what} did not finish in {OP_TIMEOUT:?}"));
                None
            }
        }
    }

    /// `{:?}` and `{:#?}` of a value.
    fn debug(&mut self, what: &str, value: &dyn std::fmt::Debug) {
        self.text(what, "{:?}", format!("{value:?}"));
        self.text(what, "{:#?}", format!("{value:#?}"));
    }

    /// Status, headers and body of a host's answer.
    async fn response(&mut self, what: &str, response: axum::response::Response) {
        let (parts, body) = response.into_parts();
        let head = status_and_headers(parts.status, &parts.headers);
        self.text(what, "status and headers", head);
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_else(|e| format!("(body unreadable: {e})"));
        self.text(what, "body", body);
    }

    /// A child process's output, line by line: a JSON log line under its level and logger.
    fn output(&mut self, stream: &str, text: &str) {
        for line in text.lines() {
            // A log line may follow the test harness's `test NAME ... ` on the same line.
            let json_part = line.find('{').map_or(line, |i| &line[i..]);
            let what = match serde_json::from_str::<Value>(json_part.trim()) {
                Ok(Value::Object(o)) => {
                    let field = |names: &[&str]| {
                        names
                            .iter()
                            .find_map(|n| o.get(*n).and_then(Value::as_str))
                            .unwrap_or("?")
                            .to_owned()
                    };
                    format!(
                        "child {stream}: log line {} {}",
                        field(&["level", "severity"]),
                        field(&["logger", "target", "category"])
                    )
                }
                _ => format!("child {stream}"),
            };
            self.text(what, "line", line);
        }
    }

    /// The captures, and the log lines of this test's thread (and of threads of no test).
    fn into_captures(mut self) -> (Vec<Capture>, Vec<String>) {
        CURRENT.with(|c| *c.borrow_mut() = None);
        let logs = std::mem::take(&mut *LOGS.lock().unwrap_or_else(|e| e.into_inner()));
        let mut rest = Vec::new();
        for line in logs {
            if line.test.is_none_or(|t| t == self.test) {
                self.captures.push(Capture {
                    scenario: line.scenario,
                    what: format!("log: {}", line.source),
                    format: "fields at TRACE".to_owned(),
                    text: line.text,
                });
            } else {
                rest.push(line);
            }
        }
        // Other tests' lines stay for them.
        LOGS.lock().unwrap_or_else(|e| e.into_inner()).extend(rest);
        (self.captures, self.notes)
    }

    /// Scans everything captured; panics listing every leak.
    fn finish(self) {
        let test = self.test;
        let (captures, notes) = self.into_captures();
        if let Ok(dir) = std::env::var(DUMP_VAR) {
            // Everything captured, for a look at what the scenarios rendered.
            let path = std::path::Path::new(&dir).join(format!("{test}.json"));
            let _ = std::fs::write(
                path,
                serde_json::to_vec_pretty(&captures).unwrap_or_default(),
            );
        }
        let leaks = scan(&captures);
        assert!(leaks.is_empty(), "{}", report(test, &leaks, &notes));
    }
}

// ---------------------------------------------------------------------------------------------
// Exercising resources.
// ---------------------------------------------------------------------------------------------

/// Opens the queue bound to `orders` and the bucket bound to `receipts` and exercises them
/// ([`exercise_queue`], [`exercise_bucket`]), recording what fails to open.
async fn exercise_bound_queue_and_bucket(rec: &mut Recorder, env: &Env) {
    match env.queue("orders") {
        Err(e) => rec.error("env.queue(\"orders\")", &e),
        Ok(queue) => exercise_queue(rec, queue).await,
    }
    match env.bucket("receipts") {
        Err(e) => rec.error("env.bucket(\"receipts\")", &e),
        Ok(bucket) => exercise_bucket(rec, bucket).await,
    }
}

/// Opens the queue, bucket and store bound to `orders`, `receipts` and `orders` and runs each
/// operation kind on them (send, receive; put, get; put, get), recording every error and the
/// `Debug` of what opened.
async fn exercise(rec: &mut Recorder, env: &Env) {
    rec.debug("Env", env);
    exercise_bound_queue_and_bucket(rec, env).await;
    match env.kv("orders") {
        Err(e) => rec.error("env.kv(\"orders\")", &e),
        Ok(kv) => exercise_kv(rec, kv).await,
    }
}

async fn exercise_queue(rec: &mut Recorder, queue: Queue) {
    let queue = queue.with_retry(fast_retry());
    rec.debug("Queue", &queue);
    rec.debug("queue driver", queue.driver());
    rec.op("queue.send", queue.send("hello")).await;
    rec.op("queue.receive", queue.receive(ReceiveOptions::default()))
        .await;
    if let Some((dlq, _)) = queue.dead_letter() {
        rec.debug("dead-letter queue driver", dlq.driver());
    }
}

async fn exercise_bucket(rec: &mut Recorder, bucket: Bucket) {
    let bucket = bucket.with_retry(fast_retry());
    rec.debug("Bucket", &bucket);
    rec.debug("bucket driver", bucket.driver());
    rec.op("bucket.put", bucket.put("receipts/o-1.json", "{}"))
        .await;
    rec.op("bucket.get", bucket.get("receipts/o-1.json")).await;
}

async fn exercise_kv(rec: &mut Recorder, kv: KvStore) {
    let kv = kv.with_retry(fast_retry());
    rec.debug("KvStore", &kv);
    rec.debug("kv driver", kv.driver());
    rec.op("kv.put", kv.put("o-1", "{}", Precondition::None))
        .await;
    rec.op("kv.get", kv.get("o-1")).await;
}

/// An environment of the memory provider and `provider`, with `vars` only.
fn env_with<'a>(provider: impl Provider, vars: impl IntoIterator<Item = (&'a str, String)>) -> Env {
    Env::builder()
        .provider(Memory::new())
        .provider(provider)
        .vars(vars)
        .build()
}

/// The Azure bindings of `orders` (queue and store) and `receipts`.
fn azure_bindings(param: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "CLOUDPORT_QUEUE_ORDERS",
            format!("azqueue://{ACCOUNT}/orders{param}"),
        ),
        (
            "CLOUDPORT_BUCKET_RECEIPTS",
            format!("azblob://{ACCOUNT}/receipts{param}"),
        ),
        (
            "CLOUDPORT_KV_ORDERS",
            format!("aztable://{ACCOUNT}/orders{param}"),
        ),
    ]
}

/// The Azure provider on `connection_string`: its `Debug`, its resources, its errors.
async fn exercise_azure(rec: &mut Recorder, connection_string: &str) {
    let azure = Azure::from_connection_string(connection_string);
    let env = env_with(azure.clone(), azure_bindings(""));
    exercise(rec, &env).await;
    match azure.queue(ACCOUNT, "orders", None) {
        Ok(queue) => rec.debug("AzureQueue", &queue),
        Err(e) => rec.error("Azure::queue", &e),
    }
    rec.debug("cloudport_azure::Azure", &azure);
}

/// The AWS bindings of `orders` and `receipts`, with `param` appended.
fn aws_bindings(param: &str) -> Vec<(&'static str, String)> {
    vec![
        ("CLOUDPORT_QUEUE_ORDERS", format!("sqs://orders{param}")),
        ("CLOUDPORT_BUCKET_RECEIPTS", format!("s3://receipts{param}")),
        ("CLOUDPORT_KV_ORDERS", format!("dynamodb://orders{param}")),
    ]
}

/// The AWS provider: its `Debug` (once the configuration is loaded), its resources, its errors.
async fn exercise_aws(rec: &mut Recorder, aws: Aws, param: &str) {
    let _ = tokio::time::timeout(OP_TIMEOUT, aws.sdk_config()).await;
    rec.debug("cloudport_aws::Aws", &aws);
    let env = env_with(aws, aws_bindings(param));
    exercise(rec, &env).await;
}

/// The GCP provider: its `Debug`, its queue and bucket (Firestore takes its emulator from the
/// process environment only: see the child process).
async fn exercise_gcp(rec: &mut Recorder, gcp: Gcp) {
    rec.debug("cloudport_gcp::Gcp", &gcp);
    rec.debug("cloudport_gcp::Settings", gcp.settings());
    let env = env_with(
        gcp,
        [
            (
                "CLOUDPORT_QUEUE_ORDERS",
                "gcppubsub://projects/canary-project/topics/orders?subscription=orders-sub"
                    .to_owned(),
            ),
            (
                "CLOUDPORT_BUCKET_RECEIPTS",
                "gs://canary-receipts".to_owned(),
            ),
        ],
    );
    rec.debug("Env", &env);
    exercise_bound_queue_and_bucket(rec, &env).await;
}

// ---------------------------------------------------------------------------------------------
// The scanner itself.
// ---------------------------------------------------------------------------------------------

#[test]
fn the_scanner_finds_planted_and_derived_secrets() {
    assert!(
        base64::engine::general_purpose::STANDARD
            .decode(AZURE_KEY)
            .is_ok(),
        "the Azure key canary must be valid base64"
    );
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("u:{URL_PASSWORD}"));
    let capture = |text: String| Capture {
        scenario: "s".into(),
        what: "w".into(),
        format: "f".into(),
        text,
    };
    let leaks = scan(&[
        capture(format!("AccountKey={AZURE_KEY};")),
        capture(format!("Authorization: Basic {basic}")),
        capture("GET http://h/q?sv=2022-11-02&sig=Zm9vYmFyYmF6cXV4cXV1eHh5eno%3D".into()),
        capture("a truncated canaryawssecret01… in a message".into()),
        capture("no secret here: sig=<redacted>, Bearer token".into()),
    ]);
    let kinds: Vec<&str> = leaks.iter().map(|l| l.canary.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "Azure AccountKey",
            "URL userinfo password (base64-encoded)",
            "derived secret: a SAS signature (sig=…), derived from the account key",
            "AWS secret access key",
        ]
    );
    assert!(leaks[0].excerpt.contains("AccountKey=<CANARY>;"));
    assert!(!report("t", &leaks, &[]).contains(AZURE_KEY));
}

// ---------------------------------------------------------------------------------------------
// Azure.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn azure_credentials_never_leak() {
    let mut rec = Recorder::new("azure_credentials_never_leak");
    let port = closed_port();
    let base = endpoint(port, false);

    let malformed = [
        (
            "an empty value (the issue's example)",
            issue_connection_string(),
        ),
        (
            "a segment without '='",
            format!("AccountName={ACCOUNT};AccountKey={AZURE_KEY};oops"),
        ),
        (
            "a segment without a key",
            format!("AccountName={ACCOUNT};AccountKey={AZURE_KEY};=oops"),
        ),
        (
            "an unknown key",
            format!("AccountName={ACCOUNT};AccountKey={AZURE_KEY};Bogus=1"),
        ),
        (
            "a bad UseDevelopmentStorage",
            format!("UseDevelopmentStorage=maybe;AccountName={ACCOUNT};AccountKey={AZURE_KEY}"),
        ),
        (
            "an empty value after a SAS",
            format!(
                "AccountName={ACCOUNT};SharedAccessSignature={};QueueEndpoint=",
                sas()
            ),
        ),
        (
            "another account's",
            format!("AccountName=other;AccountKey={AZURE_KEY}"),
        ),
        (
            "a bad endpoint URL with userinfo",
            format!(
                "AccountName={ACCOUNT};AccountKey={AZURE_KEY};QueueEndpoint=http://canaryuser:{URL_PASSWORD}@[bad;BlobEndpoint=http://canaryuser:{URL_PASSWORD}@[bad;TableEndpoint=http://canaryuser:{URL_PASSWORD}@[bad"
            ),
        ),
        (
            "an AccountKey that is not base64",
            format!(
                "DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={AZURE_KEY}!!;BlobEndpoint={base}/{ACCOUNT};QueueEndpoint={base}/{ACCOUNT};TableEndpoint={base}/{ACCOUNT}"
            ),
        ),
    ];
    for (what, cs) in &malformed {
        rec.scenario(format!("azure: connection string with {what}"));
        exercise_azure(&mut rec, cs).await;
    }

    rec.scenario("azure: AccountKey, endpoints on a closed port");
    exercise_azure(&mut rec, &azure_key_connection_string(&base)).await;
    rec.scenario("azure: SharedAccessSignature, endpoints on a closed port");
    exercise_azure(&mut rec, &azure_sas_connection_string(&base)).await;
    rec.scenario("azure: AccountKey, endpoints with userinfo on a closed port");
    exercise_azure(
        &mut rec,
        &azure_key_connection_string(&endpoint(port, true)),
    )
    .await;

    rec.scenario("azure: a binding URL with userinfo");
    let env = env_with(
        Azure::from_connection_string(azure_key_connection_string(&base)),
        [(
            "CLOUDPORT_QUEUE_ORDERS",
            format!("azqueue://canaryuser:{URL_PASSWORD}@{ACCOUNT}/orders?bogus=1"),
        )],
    );
    if let Err(e) = env.queue("orders") {
        rec.error("env.queue(\"orders\")", &e);
    }
    rec.finish();
}

// ---------------------------------------------------------------------------------------------
// AWS.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn aws_credentials_never_leak() {
    let mut rec = Recorder::new("aws_credentials_never_leak");
    let port = closed_port();

    rec.scenario("aws: static canary credentials, endpoint on a closed port");
    exercise_aws(&mut rec, canary_aws(&endpoint(port, false)), "").await;
    rec.scenario("aws: static canary credentials, endpoint with userinfo on a closed port");
    exercise_aws(&mut rec, canary_aws(&endpoint(port, true)), "").await;
    rec.scenario("aws: an endpoint with userinfo in the binding URL (?endpoint=)");
    exercise_aws(
        &mut rec,
        canary_aws(&endpoint(port, false)),
        &format!("?endpoint={}", endpoint(port, true)),
    )
    .await;
    rec.scenario("aws: Settings with an endpoint with userinfo");
    let settings = aws_settings(endpoint(port, true));
    rec.debug("cloudport_aws::Settings", &settings);
    let aws = canary_aws(&endpoint(port, false));
    match aws.sqs_queue("orders", settings.clone()) {
        Ok(q) => rec.debug("SqsQueue", &q),
        Err(e) => rec.error("Aws::sqs_queue", &e),
    }
    match aws.s3_bucket("receipts", settings, true) {
        Ok(b) => rec.debug("S3Bucket", &b),
        Err(e) => rec.error("Aws::s3_bucket", &e),
    }
    rec.finish();
}

// ---------------------------------------------------------------------------------------------
// GCP (Pub/Sub and Cloud Storage; Firestore and ADC in the child process).
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn gcp_settings_never_leak() {
    let mut rec = Recorder::new("gcp_settings_never_leak");
    let port = closed_port();

    for (scenario, userinfo) in [
        ("gcp: emulators on a closed port", ""),
        (
            "gcp: emulator hosts with userinfo on a closed port",
            &*format!("canaryuser:{URL_PASSWORD}@"),
        ),
    ] {
        rec.scenario(scenario);
        let settings = gcp_settings(
            "canary-project",
            format!("{userinfo}127.0.0.1:{port}"),
            endpoint(port, !userinfo.is_empty()),
        );
        exercise_gcp(&mut rec, Gcp::with_settings(settings)).await;
    }
    rec.finish();
}

// ---------------------------------------------------------------------------------------------
// Hosts: handler errors, decode failures, binding URLs.
// ---------------------------------------------------------------------------------------------

/// Every handler fails quoting a connection string and a bearer token.
fn failing_app() -> App {
    App::new()
        .on_queue("orders", |_e, _env| async { Err(handler_error()) })
        .on_queue("broken", |_e, _env| async { Err(handler_error()) })
        .on_blob("uploads", |_e, _env| async { Err(handler_error()) })
        .on_schedule("nightly", Schedule::cron("0 0 3 * * *"), |_e, _env| async {
            Err(handler_error())
        })
}

/// A binding that is not a valid resource URL (a repeated parameter), with userinfo.
fn broken_binding(scheme_and_name: &str) -> String {
    format!("{scheme_and_name}?x=1&x=2").replacen(
        "://",
        &format!("://canaryuser:{URL_PASSWORD}@"),
        1,
    )
}

fn post(path: &str, headers: &[(&str, String)], body: impl Into<Body>) -> Request<Body> {
    let mut builder = Request::post(path);
    for (name, value) in headers {
        builder = builder.header(*name, value);
    }
    builder.body(body.into()).unwrap()
}

#[tokio::test]
async fn azure_functions_host_never_renders_secrets() {
    let mut rec = Recorder::new("azure_functions_host_never_renders_secrets");
    rec.scenario("azure functions host: built on the bindings");
    let port = closed_port();
    let env = Env::builder()
        .provider(Memory::new())
        .provider(Azure::from_connection_string(azure_key_connection_string(
            &endpoint(port, false),
        )))
        .vars([
            (
                "CLOUDPORT_QUEUE_ORDERS",
                format!("azqueue://{ACCOUNT}/orders"),
            ),
            (
                "CLOUDPORT_QUEUE_BROKEN",
                broken_binding("azqueue://acme/broken"),
            ),
            (
                "CLOUDPORT_BUCKET_UPLOADS",
                format!("azblob://{ACCOUNT}/uploads"),
            ),
        ])
        .build();
    let app = failing_app()
        .http(axum::Router::new().route("/orders", axum::routing::get(|| async { "orders" })));
    let router = cloudport::hosts::azure::router(app, env).unwrap();
    let invocation = ("x-azure-functions-invocationid", "inv-1".to_owned());
    let auth = ("authorization", format!("Bearer {BEARER}"));
    let message = |dequeue: u32| {
        json!({"Data": {"message": "\"an order\""},
               "Metadata": {"Id": "\"m-1\"", "DequeueCount": dequeue.to_string(),
                            "InsertionTime": "\"2026-11-26T03:00:00+00:00\""}})
        .to_string()
    };
    let requests: Vec<(&str, Request<Body>)> = vec![
        (
            "queue handler error → 500",
            post("/queue-orders", std::slice::from_ref(&invocation), message(1)),
        ),
        (
            "poison move on a closed port → 500",
            post("/queue-orders", std::slice::from_ref(&invocation), message(9)),
        ),
        (
            "invalid binding URL with userinfo",
            post("/queue-broken", std::slice::from_ref(&invocation), message(1)),
        ),
        (
            "timer handler error → 500",
            post(
                "/schedule-nightly",
                std::slice::from_ref(&invocation),
                json!({"Data": {"timer": {"ScheduleStatus": null, "IsPastDue": false}}, "Metadata": {}})
                    .to_string(),
            ),
        ),
        (
            "malformed payload with a bearer token",
            post(
                "/queue-orders",
                &[invocation.clone(), auth.clone()],
                format!(r#"{{"Data": {{"message": 5}}, "Metadata": {{"Authorization": "Bearer {BEARER}"}}"#),
            ),
        ),
        (
            "non-forwarded HTTP invocation outside the route prefix, ?code= function key",
            post(
                "/http",
                std::slice::from_ref(&invocation),
                json!({"Data": {"req": {
                    "Url": format!("https://app.azurewebsites.net/elsewhere/orders?code={FUNCTION_KEY}"),
                    "Method": "GET",
                    "Headers": {"Authorization": [format!("Bearer {BEARER}")],
                                "x-functions-key": [FUNCTION_KEY]},
                }}, "Metadata": {}})
                .to_string(),
            ),
        ),
        (
            "non-forwarded HTTP invocation with a bad method and a bearer token",
            post(
                "/http",
                std::slice::from_ref(&invocation),
                json!({"Data": {"req": {
                    "Url": format!("https://app.azurewebsites.net/api/orders?code={FUNCTION_KEY}"),
                    "Method": "GE T",
                    "Headers": {"Authorization": [format!("Bearer {BEARER}")]},
                }}, "Metadata": {}})
                .to_string(),
            ),
        ),
        (
            "unknown path with ?code= function key",
            Request::get(format!("/nothing?code={FUNCTION_KEY}"))
                .header("authorization", format!("Bearer {BEARER}"))
                .body(Body::empty())
                .unwrap(),
        ),
    ];
    for (what, request) in requests {
        rec.scenario(format!("azure functions host: {what}"));
        let response = router.clone().oneshot(request).await.unwrap();
        rec.response("custom handler answer", response).await;
    }
    rec.finish();
}

#[tokio::test]
async fn cloud_run_host_never_renders_secrets() {
    let mut rec = Recorder::new("cloud_run_host_never_renders_secrets");
    rec.scenario("cloud run host: built on the bindings");
    let port = closed_port();
    let env = Env::builder()
        .provider(Memory::new())
        .provider(Gcp::with_settings(gcp_settings(
            "shop",
            format!("127.0.0.1:{port}"),
            endpoint(port, true),
        )))
        .vars([
            (
                "CLOUDPORT_QUEUE_ORDERS",
                "gcppubsub://projects/shop/topics/orders?subscription=orders-push&dead_letter=orders-dlq&max_deliveries=2".to_owned(),
            ),
            (
                "CLOUDPORT_QUEUE_ORDERS_DLQ",
                "gcppubsub://projects/shop/topics/orders-dlq".to_owned(),
            ),
            (
                "CLOUDPORT_QUEUE_BROKEN",
                broken_binding("gcppubsub://projects/shop/topics/broken"),
            ),
            ("CLOUDPORT_BUCKET_UPLOADS", "gs://shop-uploads".to_owned()),
            ("GOOGLE_CLOUD_PROJECT", "shop".to_owned()),
        ])
        .build();
    let router = cloudport::hosts::cloudrun::router(failing_app(), env).unwrap();
    let json_ct = ("content-type", "application/json".to_owned());
    let auth = ("authorization", format!("Bearer {BEARER}"));
    let push = |attempt: u32| {
        json!({"message": {"data": "YW4gb3JkZXI=", "messageId": "m-1",
                           "publishTime": "2026-11-26T03:00:00Z"},
               "subscription": "projects/shop/subscriptions/orders-push",
               "deliveryAttempt": attempt})
        .to_string()
    };
    let requests: Vec<(&str, Request<Body>)> = vec![
        (
            "push, handler error → 500",
            post("/_cloudport/events", &[json_ct.clone(), auth.clone()], push(1)),
        ),
        (
            "push over its delivery limit, dead-letter queue on a closed port → 500",
            post("/_cloudport/events", &[json_ct.clone(), auth.clone()], push(5)),
        ),
        (
            "scheduler call, handler error → 500",
            Request::post("/_cloudport/schedule/nightly")
                .header("x-cloudscheduler", "true")
                .header("x-cloudscheduler-jobname", "projects/shop/locations/l/jobs/nightly")
                .header("authorization", format!("Bearer {BEARER}"))
                .body(Body::empty())
                .unwrap(),
        ),
        (
            "storage CloudEvent, handler error → 500",
            Request::post("/")
                .header("ce-specversion", "1.0")
                .header("ce-id", "e-1")
                .header("ce-type", "google.cloud.storage.object.v1.finalized")
                .header("ce-source", "//storage.googleapis.com/projects/_/buckets/shop-uploads")
                .header("ce-subject", "objects/a.txt")
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {BEARER}"))
                .body(Body::from(
                    json!({"bucket": "shop-uploads", "name": "a.txt", "size": "3", "generation": "1"})
                        .to_string(),
                ))
                .unwrap(),
        ),
        (
            "a body that is not a push envelope, with a bearer token",
            post(
                "/_cloudport/events",
                &[json_ct.clone(), auth.clone()],
                "{\"message\": 5, \"subscription\": \"projects/shop/subscriptions/orders-push\"",
            ),
        ),
        (
            "push of data that is not base64",
            post(
                "/_cloudport/queue/orders",
                &[json_ct.clone(), auth.clone()],
                json!({"message": {"data": "not base64!", "messageId": "m-2"}})
                    .to_string(),
            ),
        ),
        (
            "binary CloudEvent without ce-id, a source with userinfo",
            Request::post("/")
                .header("ce-specversion", "1.0")
                .header("ce-type", "demo.type")
                .header("ce-source", format!("https://canaryuser:{URL_PASSWORD}@example.com/"))
                .header("authorization", format!("Bearer {BEARER}"))
                .body(Body::from("{}"))
                .unwrap(),
        ),
        (
            "push to an unbound subscription",
            post(
                "/_cloudport/events",
                &[json_ct.clone(), auth.clone()],
                json!({"message": {"data": "eA==", "messageId": "m-3"},
                       "subscription": "projects/shop/subscriptions/unbound"})
                .to_string(),
            ),
        ),
    ];
    for (what, request) in requests {
        rec.scenario(format!("cloud run host: {what}"));
        let response = router.clone().oneshot(request).await.unwrap();
        rec.response("Cloud Run answer", response).await;
    }
    rec.finish();
}

/// Lambda payloads: the handlers fail, a dead-letter move fails, and payloads that cannot be
/// decoded carry a bearer token.
fn lambda_payloads() -> Vec<(&'static str, Value)> {
    let sqs_record = |id: &str, receive_count: u32| {
        json!({
            "messageId": id, "receiptHandle": format!("rh-{id}"), "body": "an order",
            "attributes": {"ApproximateReceiveCount": receive_count.to_string(),
                           "SentTimestamp": "1795700000000", "SenderId": "AIDAEXAMPLE",
                           "ApproximateFirstReceiveTimestamp": "1795700000001"},
            "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orders", "awsRegion": "us-east-1"
        })
    };
    vec![
        (
            "EventBridge schedule, handler error",
            json!({"version": "0", "id": "e-1", "detail-type": "Scheduled Event", "source": "aws.events",
                   "account": "123456789012", "time": "2026-11-26T03:00:00Z", "region": "us-east-1",
                   "resources": ["arn:aws:events:us-east-1:123456789012:rule/nightly"], "detail": {}}),
        ),
        (
            "S3 notification, handler error",
            json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                "eventTime": "2026-11-26T03:00:00.000Z", "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "x"}, "requestParameters": {"sourceIPAddress": "1.2.3.4"},
                "responseElements": {}, "s3": {"s3SchemaVersion": "1.0", "configurationId": "c",
                "bucket": {"name": "uploads", "ownerIdentity": {"principalId": "x"}, "arn": "arn:aws:s3:::uploads"},
                "object": {"key": "a.txt", "size": 3, "eTag": "abc", "sequencer": "0A1"}}}]}),
        ),
        (
            "SQS batch, handler error",
            json!({"Records": [sqs_record("m-1", 1)]}),
        ),
        (
            "SQS batch over the delivery limit, dead-letter queue on a closed port",
            json!({"Records": [sqs_record("m-2", 9)]}),
        ),
        (
            "malformed HTTP API event with a bearer token",
            json!({"version": "2.0", "routeKey": "$default", "rawPath": "/orders",
                   "headers": {"authorization": format!("Bearer {BEARER}")},
                   "requestContext": 5, "isBase64Encoded": false}),
        ),
        (
            "malformed SQS event",
            json!({"Records": [{"eventSource": "aws:sqs", "messageId": "m-3", "body": 5}]}),
        ),
        (
            "unrecognized payload with a bearer token",
            json!({"authorization": format!("Bearer {BEARER}")}),
        ),
    ]
}

/// The Lambda bindings: SQS and S3 on a closed port, canary credentials, a broken binding.
fn lambda_bindings(port: u16) -> Vec<(&'static str, String)> {
    vec![
        (
            "CLOUDPORT_QUEUE_ORDERS",
            "sqs://orders?dead_letter=orders-dlq&max_deliveries=2".to_owned(),
        ),
        (
            "CLOUDPORT_QUEUE_ORDERS_DLQ",
            format!("sqs://orders-dlq?endpoint={}", endpoint(port, true)),
        ),
        ("CLOUDPORT_QUEUE_BROKEN", broken_binding("sqs://broken")),
        ("CLOUDPORT_BUCKET_UPLOADS", "s3://uploads".to_owned()),
    ]
}

#[tokio::test]
async fn lambda_host_never_renders_secrets() {
    use cloudport::hosts::lambda::LambdaHost;
    let mut rec = Recorder::new("lambda_host_never_renders_secrets");
    rec.scenario("lambda host (in process): built on the bindings");
    let port = closed_port();
    let env = Env::builder()
        .provider(Memory::new())
        .provider(canary_aws(&endpoint(port, false)))
        .vars(lambda_bindings(port))
        .build();
    let host = LambdaHost::new(failing_app(), env);
    for (what, payload) in lambda_payloads() {
        rec.scenario(format!("lambda host (in process): {what}"));
        let raw = serde_json::value::RawValue::from_string(payload.to_string()).unwrap();
        let mut context = lambda_runtime::Context::default();
        context.request_id = "req-1".into();
        context.deadline = u64::try_from(
            (std::time::SystemTime::now() + Duration::from_secs(30))
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap();
        let result = host
            .handle(lambda_runtime::LambdaEvent::new(raw, context))
            .await;
        match result {
            Ok(value) => rec.text("invocation response", "JSON", value.to_string()),
            Err(e) => {
                // What `lambda::run` reports to the Runtime API: the kind and the `Display`.
                rec.text(
                    "Lambda error report",
                    "errorType/errorMessage",
                    json!({"errorType": format!("cloudport.{}", e.kind()), "errorMessage": e.to_string()})
                        .to_string(),
                );
                rec.error("invocation", &e);
            }
        }
    }
    rec.finish();
}

// ---------------------------------------------------------------------------------------------
// Child processes: credentials from the process environment.
// ---------------------------------------------------------------------------------------------

/// The child's mode (`env`, `gcp-emulators`, `lambda`).
const CHILD_MODE_VAR: &str = "CLOUDPORT_CANARY_CHILD";
/// Where the child writes its captures (JSON).
const CHILD_OUT_VAR: &str = "CLOUDPORT_CANARY_OUT";
/// The child's test.
const CHILD_TEST: &str = "canary_child_process";

/// What a child process writes for its parent.
#[derive(Serialize, Deserialize, Default)]
struct ChildOutput {
    captures: Vec<Capture>,
    notes: Vec<String>,
}

/// A GCP service-account key file whose private key is a canary; its token endpoint is closed.
fn gcp_credentials_file(dir: &std::path::Path, port: u16) -> std::path::PathBuf {
    let path = dir.join("canary-service-account.json");
    let key = json!({
        "type": "service_account",
        "project_id": "canary-project",
        "private_key_id": "0123456789abcdef",
        "private_key": format!("-----BEGIN PRIVATE KEY-----\n{GCP_KEY}\n-----END PRIVATE KEY-----\n"),
        "client_email": "canary@canary-project.iam.gserviceaccount.com",
        "client_id": "1",
        "auth_uri": format!("http://127.0.0.1:{port}/auth"),
        "token_uri": format!("http://127.0.0.1:{port}/token"),
    });
    std::fs::write(&path, key.to_string()).unwrap();
    path
}

/// A fresh directory for one child.
fn scratch_dir(name: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "cloudport-canary-{}-{name}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An HTTP answer's status line and headers, one a line, as recorded.
fn status_and_headers(status: axum::http::StatusCode, headers: &axum::http::HeaderMap) -> String {
    let mut head = format!("{status}\n");
    for (name, value) in headers {
        let _ = writeln!(
            head,
            "{name}: {}",
            String::from_utf8_lossy(value.as_bytes())
        );
    }
    head
}

/// This test binary re-run in `home` with `vars`, selecting only [`canary_child_process`].
fn child_test_command(home: &std::path::Path, vars: &[(&str, String)]) -> tokio::process::Command {
    let mut command = child_command(&std::env::current_exe().unwrap(), home, vars);
    command.args([
        CHILD_TEST,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    command
}

/// The standard AWS environment with the canary credentials, sending to `endpoint`, with no
/// config or credentials file (`dir/none`) and no instance metadata.
fn canary_aws_vars(dir: &std::path::Path, endpoint: String) -> Vec<(&'static str, String)> {
    let none = dir.join("none").display().to_string();
    vec![
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", AWS_SECRET.to_owned()),
        ("AWS_SESSION_TOKEN", AWS_SESSION.to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("AWS_CONFIG_FILE", none.clone()),
        ("AWS_SHARED_CREDENTIALS_FILE", none),
    ]
}

/// The process environment of a child: `PATH`, a `HOME` of its own and `vars`.
fn child_command(
    program: &std::path::Path,
    home: &std::path::Path,
    vars: &[(&str, String)],
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(program);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// A spawned child whose output is collected while it runs.
struct Spawned {
    child: tokio::process::Child,
    stdout: tokio::task::JoinHandle<String>,
    stderr: tokio::task::JoinHandle<String>,
}

impl Spawned {
    fn start(mut command: tokio::process::Command) -> Self {
        let mut child = command.spawn().expect("spawn the child process");
        let read = |mut pipe: Box<dyn tokio::io::AsyncRead + Unpin + Send>| {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let _ = pipe.read_to_end(&mut buf).await;
                String::from_utf8_lossy(&buf).into_owned()
            })
        };
        let stdout = read(Box::new(child.stdout.take().unwrap()));
        let stderr = read(Box::new(child.stderr.take().unwrap()));
        Self {
            child,
            stdout,
            stderr,
        }
    }

    /// Waits up to `within` for the child to exit (killing it after), then records its exit
    /// status, stdout and stderr.
    async fn finish(mut self, rec: &mut Recorder, within: Duration) {
        let status = match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => format!("{status:?}"),
            Err(_) => {
                let _ = self.child.kill().await;
                format!("still running after {within:?}: killed")
            }
        };
        let stdout = self.stdout.await.unwrap_or_default();
        let stderr = self.stderr.await.unwrap_or_default();
        rec.note(format!("child process exit: {status}"));
        rec.output("stdout", &stdout);
        rec.output("stderr", &stderr);
    }
}

/// Runs this test binary's [`canary_child_process`] in `mode` with `vars`, and records what it
/// captured and printed.
async fn run_child(rec: &mut Recorder, mode: &str, vars: &[(&str, String)]) {
    let dir = scratch_dir(mode);
    let out = dir.join("captures.json");
    let mut all = vec![
        (CHILD_MODE_VAR, mode.to_owned()),
        (CHILD_OUT_VAR, out.display().to_string()),
    ];
    all.extend(vars.iter().cloned());
    Spawned::start(child_test_command(&dir, &all))
        .finish(rec, Duration::from_secs(25))
        .await;
    match std::fs::read(&out) {
        Ok(bytes) => {
            let output: ChildOutput = serde_json::from_slice(&bytes).unwrap();
            for mut c in output.captures {
                c.scenario = format!("child process ({mode}): {}", c.scenario);
                rec.captures.push(c);
            }
            rec.notes.extend(output.notes);
        }
        // A child that hung (killed at the deadline) or crashed rendered nothing: that proves
        // nothing, so it fails the test rather than passing it.
        Err(e) => panic!("the child ({mode}) wrote no captures: {e}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn environment_credentials_never_leak() {
    let mut rec = Recorder::new("environment_credentials_never_leak");
    let port = closed_port();
    let dir = scratch_dir("gcp-key");
    let key_file = gcp_credentials_file(&dir, port);
    rec.scenario("child process with canary credentials in its environment");
    // Azure: the issue's example, and settings named by ?connection=.
    let mut vars = vec![
        ("AzureWebJobsStorage", issue_connection_string()),
        (
            "CLOUDPORT_QUEUE_ORDERS",
            format!("azqueue://{ACCOUNT}/orders"),
        ),
        (
            "CANARY_STORAGE_KEY",
            azure_key_connection_string(&endpoint(port, false)),
        ),
        (
            "CANARY_STORAGE_SAS",
            azure_sas_connection_string(&endpoint(port, false)),
        ),
        ("CANARY_STORAGE_MALFORMED", issue_connection_string()),
    ];
    // Azure by identity: a service principal's secret, the authority and storage on a closed
    // port (https: identity-based connections accept nothing else).
    let closed = format!("https://127.0.0.1:{port}/{ACCOUNT}");
    vars.extend([
        ("CANARY_STORAGE_IDENTITY__blobServiceUri", closed.clone()),
        ("CANARY_STORAGE_IDENTITY__queueServiceUri", closed.clone()),
        ("CANARY_STORAGE_IDENTITY__tableServiceUri", closed),
        (
            "CANARY_STORAGE_IDENTITY__tenantId",
            "canary-tenant".to_owned(),
        ),
        (
            "CANARY_STORAGE_IDENTITY__clientId",
            "00000000-0000-4000-8000-0000000ca4a2".to_owned(),
        ),
        (
            "CANARY_STORAGE_IDENTITY__clientSecret",
            CLIENT_SECRET.to_owned(),
        ),
        ("AZURE_AUTHORITY_HOST", format!("https://127.0.0.1:{port}")),
    ]);
    // AWS: the standard environment.
    vars.extend(canary_aws_vars(&dir, endpoint(port, true)));
    // GCP: Application Default Credentials from a key file; no metadata server.
    vars.extend([
        (
            "GOOGLE_APPLICATION_CREDENTIALS",
            key_file.display().to_string(),
        ),
        ("GOOGLE_CLOUD_PROJECT", "canary-project".to_owned()),
        ("GCE_METADATA_HOST", format!("127.0.0.1:{port}")),
        ("GCE_METADATA_IP", format!("127.0.0.1:{port}")),
        ("NO_GCE_CHECK", "true".to_owned()),
    ]);
    run_child(&mut rec, "env", &vars).await;
    rec.scenario("child process with GCP emulator hosts with userinfo");
    run_child(
        &mut rec,
        "gcp-emulators",
        &[
            ("GOOGLE_CLOUD_PROJECT", "canary-project".to_owned()),
            (
                "PUBSUB_EMULATOR_HOST",
                format!("canaryuser:{URL_PASSWORD}@127.0.0.1:{port}"),
            ),
            ("STORAGE_EMULATOR_HOST", endpoint(port, true)),
            (
                "FIRESTORE_EMULATOR_HOST",
                format!("canaryuser:{URL_PASSWORD}@127.0.0.1:{port}"),
            ),
            ("GCE_METADATA_HOST", format!("127.0.0.1:{port}")),
            ("NO_GCE_CHECK", "true".to_owned()),
        ],
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    rec.finish();
}

#[tokio::test]
async fn lambda_runtime_error_reports_never_leak() {
    use support::runtime_api::{Outcome, RuntimeApi};
    let mut rec = Recorder::new("lambda_runtime_error_reports_never_leak");
    let port = closed_port();
    let api = RuntimeApi::start().await;
    let ids: Vec<(&str, String)> = lambda_payloads()
        .into_iter()
        .map(|(what, payload)| (what, api.enqueue(payload.to_string())))
        .collect();
    let dir = scratch_dir("lambda");
    let mut vars = vec![
        (CHILD_MODE_VAR, "lambda".to_owned()),
        ("AWS_LAMBDA_RUNTIME_API", api.address()),
        ("AWS_LAMBDA_FUNCTION_NAME", "canary".to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("RUST_LOG", "trace".to_owned()),
    ];
    vars.extend(canary_aws_vars(&dir, endpoint(port, false)));
    vars.extend(lambda_bindings(port));
    let mut child = Spawned::start(child_test_command(&dir, &vars));
    for (what, id) in ids {
        rec.scenario(format!("lambda runtime (child process): {what}"));
        let outcome = tokio::select! {
            outcome = api.outcome(&id, Duration::from_secs(20)) => Some(outcome),
            status = child.child.wait() => {
                rec.note(format!("the function exited before answering: {status:?}"));
                None
            }
        };
        match outcome {
            Some(Outcome::Error(report)) => {
                rec.text(
                    "Lambda error report (POST …/error)",
                    "JSON",
                    report.to_string(),
                );
            }
            Some(Outcome::Response(response)) => {
                rec.text(
                    "Lambda response (POST …/response)",
                    "JSON",
                    response.to_string(),
                );
            }
            // Crashed: only after `crash_in_flight`, which this test never calls.
            Some(Outcome::Crashed) | None => break,
        }
    }
    rec.scenario("lambda runtime (child process): its output");
    child.finish(&mut rec, Duration::from_millis(200)).await;
    let _ = std::fs::remove_dir_all(&dir);
    rec.finish();
}

/// Runs in a child process (see [`run_child`]); does nothing unless `CLOUDPORT_CANARY_CHILD`
/// names a mode.
#[tokio::test]
#[ignore = "run by the other tests of this file, in a child process with canary credentials in its environment"]
async fn canary_child_process() {
    let Ok(mode) = std::env::var(CHILD_MODE_VAR) else {
        return;
    };
    if mode == "lambda" {
        // The function as Lambda runs it: host detection, its log lines on stdout, the Runtime
        // API's error reports. Runs until the parent stops it.
        let _ = failing_app().run().await;
        return;
    }
    let mut rec = Recorder::new(CHILD_TEST);
    match mode.as_str() {
        "env" => child_env(&mut rec).await,
        "gcp-emulators" => {
            rec.scenario("gcp: emulator variables with userinfo (Gcp::from_env)");
            exercise_gcp(&mut rec, Gcp::from_env()).await;
            exercise_firestore(&mut rec, Gcp::from_env()).await;
        }
        other => rec.note(format!("unknown child mode {other:?}")),
    }
    let (captures, notes) = rec.into_captures();
    let out = std::env::var(CHILD_OUT_VAR).unwrap();
    std::fs::write(
        out,
        serde_json::to_vec(&ChildOutput { captures, notes }).unwrap(),
    )
    .unwrap();
}

async fn exercise_firestore(rec: &mut Recorder, gcp: Gcp) {
    let env = env_with(
        gcp,
        [(
            "CLOUDPORT_KV_ORDERS",
            "firestore://canary-project/orders".to_owned(),
        )],
    );
    match env.kv("orders") {
        Err(e) => rec.error("env.kv(\"orders\")", &e),
        Ok(kv) => exercise_kv(rec, kv).await,
    }
}

/// The child's scenarios with credentials in the process environment.
async fn child_env(rec: &mut Recorder) {
    rec.scenario(
        "the issue's example: AzureWebJobsStorage with an empty value, CLOUDPORT_QUEUE_ORDERS=azqueue://acme/orders",
    );
    let env = cloudport::default_env(HostKind::Local);
    match env.queue("orders") {
        Err(e) => rec.error("env.queue(\"orders\")", &e),
        Ok(queue) => exercise_queue(rec, queue).await,
    }

    for (what, setting) in [
        ("a malformed connection string", "CANARY_STORAGE_MALFORMED"),
        (
            "AccountKey, endpoints on a closed port",
            "CANARY_STORAGE_KEY",
        ),
        (
            "SharedAccessSignature, endpoints on a closed port",
            "CANARY_STORAGE_SAS",
        ),
        (
            "an identity-based connection with a client secret, authority and endpoints on a closed port",
            "CANARY_STORAGE_IDENTITY",
        ),
    ] {
        rec.scenario(format!("azure: ?connection={setting} naming {what}"));
        let env = env_with(
            Azure::from_env(),
            azure_bindings(&format!("?connection={setting}")),
        );
        exercise(rec, &env).await;
    }

    rec.scenario(
        "aws: AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_ENDPOINT_URL with userinfo on a closed port",
    );
    exercise_aws(rec, Aws::from_env(), "").await;

    rec.scenario("gcp: GOOGLE_APPLICATION_CREDENTIALS with a canary private key, no emulators");
    exercise_gcp(rec, Gcp::from_env()).await;
    exercise_firestore(rec, Gcp::from_env()).await;
}

// ---------------------------------------------------------------------------------------------
// The quickstart binary: the issue's example as it was reported.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
#[ignore = "needs the built examples: ./scripts/test.sh"]
async fn quickstart_never_prints_the_connection_string() {
    let mut rec = Recorder::new("quickstart_never_prints_the_connection_string");
    let quickstart = support::binaries::example("quickstart");

    rec.scenario(
        "quickstart --serve with AzureWebJobsStorage=<empty value> and CLOUDPORT_QUEUE_ORDERS=azqueue://acme/orders",
    );
    let dir = scratch_dir("quickstart");
    let mut command = child_command(
        &quickstart,
        &dir,
        &[
            ("AzureWebJobsStorage", issue_connection_string()),
            (
                "CLOUDPORT_QUEUE_ORDERS",
                format!("azqueue://{ACCOUNT}/orders"),
            ),
            ("CLOUDPORT_HTTP_ADDR", "127.0.0.1:0".to_owned()),
        ],
    );
    command.arg("--serve");
    Spawned::start(command)
        .finish(&mut rec, Duration::from_secs(15))
        .await;

    rec.scenario("quickstart as an Azure Functions custom handler: POST /api/orders");
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let command = child_command(
        &quickstart,
        &dir,
        &[
            ("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string()),
            ("AzureWebJobsStorage", issue_connection_string()),
            (
                "CLOUDPORT_QUEUE_ORDERS",
                format!("azqueue://{ACCOUNT}/orders"),
            ),
            ("CLOUDPORT_KV_ORDERS", "mem://orders".to_owned()),
            ("CLOUDPORT_BUCKET_RECEIPTS", "mem://receipts".to_owned()),
            ("RUST_LOG", "trace".to_owned()),
        ],
    );
    let handler = Spawned::start(command);
    let client = reqwest::Client::new();
    let mut answered = false;
    for _ in 0..100 {
        let sent = client
            .post(format!("http://127.0.0.1:{port}/api/orders"))
            .header("authorization", format!("Bearer {BEARER}"))
            .json(&json!({"id": "o-1", "customer": "ada", "total_cents": 1250}))
            .send()
            .await;
        if let Ok(response) = sent {
            let head = status_and_headers(response.status(), response.headers());
            rec.text("HTTP answer", "status and headers", head);
            let body = response.text().await.unwrap_or_default();
            rec.text("HTTP answer", "body", body);
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !answered {
        rec.note("the custom handler never answered");
    }
    handler.finish(&mut rec, Duration::from_millis(200)).await;
    let _ = std::fs::remove_dir_all(&dir);
    rec.finish();
}

// ---------------------------------------------------------------------------------------------
// Emulators: Azurite's 403s, moto's errors.
// ---------------------------------------------------------------------------------------------

/// Azurite's endpoints (`CLOUDPORT_TEST_AZURITE`, a connection string; default
/// `UseDevelopmentStorage=true`): `(blob, queue, table)` base URLs with the account path.
fn azurite_endpoints() -> (String, String, String) {
    let cs = std::env::var("CLOUDPORT_TEST_AZURITE")
        .unwrap_or_else(|_| "UseDevelopmentStorage=true".into());
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    for part in cs.split(';') {
        if let Some((k, v)) = part.split_once('=') {
            found.insert(
                k.trim().to_ascii_lowercase(),
                v.trim().trim_end_matches('/').to_owned(),
            );
        }
    }
    let proxy = found
        .get("developmentstorageproxyuri")
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1".into());
    let get = |key: &str, port: u16| {
        found
            .get(key)
            .cloned()
            .unwrap_or_else(|| format!("{proxy}:{port}/devstoreaccount1"))
    };
    (
        get("blobendpoint", 10000),
        get("queueendpoint", 10001),
        get("tableendpoint", 10002),
    )
}

#[tokio::test]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn emulator_answers_never_leak() {
    let mut rec = Recorder::new("emulator_answers_never_leak");
    let (blob, queue, table) = azurite_endpoints();
    let account = "devstoreaccount1";
    let bindings = vec![
        (
            "CLOUDPORT_QUEUE_ORDERS",
            format!("azqueue://{account}/canary-orders"),
        ),
        (
            "CLOUDPORT_BUCKET_RECEIPTS",
            format!("azblob://{account}/canary-receipts"),
        ),
        (
            "CLOUDPORT_KV_ORDERS",
            format!("aztable://{account}/canaryorders"),
        ),
    ];

    rec.scenario("azurite: devstoreaccount1 with a wrong AccountKey (403)");
    let cs = format!(
        "DefaultEndpointsProtocol=http;AccountName={account};AccountKey={AZURE_KEY};BlobEndpoint={blob};QueueEndpoint={queue};TableEndpoint={table}"
    );
    let azure = Azure::from_connection_string(cs);
    rec.debug("cloudport_azure::Azure", &azure);
    exercise(&mut rec, &env_with(azure, bindings.clone())).await;

    rec.scenario("azurite: devstoreaccount1 with a SAS whose sig= is a canary (403)");
    let cs = format!(
        "AccountName={account};SharedAccessSignature={};BlobEndpoint={blob};QueueEndpoint={queue};TableEndpoint={table}",
        sas()
    );
    exercise(
        &mut rec,
        &env_with(Azure::from_connection_string(cs), bindings),
    )
    .await;

    let moto =
        std::env::var("CLOUDPORT_TEST_MOTO").unwrap_or_else(|_| "http://127.0.0.1:5000".into());
    rec.scenario("moto: canary credentials, resources that do not exist");
    exercise_aws(&mut rec, canary_aws(&moto), "").await;
    rec.scenario("moto: canary credentials, an endpoint with userinfo");
    let with_userinfo = moto.replacen("://", &format!("://canaryuser:{URL_PASSWORD}@"), 1);
    exercise_aws(&mut rec, canary_aws(&with_userinfo), "").await;
    rec.finish();
}
