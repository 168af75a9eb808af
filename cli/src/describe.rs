//! Reading an app's description: run its binary once with `CLOUDPORT_DESCRIBE=1`, parse the JSON
//! it prints, refuse a format version this tool does not know and an app that declares nothing.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cloudport_core::app::{DESCRIBE_VAR, DESCRIPTION_VERSION, Description};

use crate::{Error, Result};

/// How long an app may take to print its description.
pub const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs `binary` with `CLOUDPORT_DESCRIBE=1` in an environment holding only `PATH` and `HOME` —
/// no `AWS_LAMBDA_*`, `FUNCTIONS_*` or `K_SERVICE` that would make it serve a platform — and
/// parses what it prints ([`parse`]). It must exit within [`DESCRIBE_TIMEOUT`].
pub fn run(binary: &Path) -> Result<Description> {
    let shown = binary.display().to_string();
    let mut cmd = Command::new(binary);
    cmd.env_clear()
        .env(DESCRIBE_VAR, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in ["PATH", "HOME"] {
        if let Some(v) = std::env::var_os(var) {
            cmd.env(var, v);
        }
    }
    let mut child = cmd.spawn().map_err(Error::io(format!(
        "running {shown} to read its description"
    )))?;
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > DESCRIBE_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::Description(format!(
                    "{shown} did not print its description and exit within {} s with {DESCRIBE_VAR}=1; does its main call App::run (or check cloudport::describe_requested())?",
                    DESCRIBE_TIMEOUT.as_secs()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(Error::io(format!("waiting for {shown}"))(e)),
        }
    };
    let out = stdout.join().unwrap_or_default();
    let err = stderr.join().unwrap_or_default();
    if !status.success() {
        return Err(Error::Command {
            command: format!("{DESCRIBE_VAR}=1 {shown}"),
            detail: format!("{status}: {}", tail(&err)),
        });
    }
    parse(&out)
}

/// The last lines of a program's error output.
pub(crate) fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Parses a description, refusing a format version this tool does not read.
///
/// ```
/// use cloudport_cli::{describe, Error};
/// let v2 = br#"{"cloudport_description": 2, "something": "new"}"#;
/// assert!(matches!(describe::parse(v2), Err(Error::DescriptionVersion { found: 2, .. })));
/// assert!(describe::parse(b"not json").is_err());
/// ```
pub fn parse(json: &[u8]) -> Result<Description> {
    let value: serde_json::Value = serde_json::from_slice(json).map_err(|e| {
        Error::Description(format!(
            "not JSON ({e}); the binary printed: {:?}",
            String::from_utf8_lossy(&json[..json.len().min(200)])
        ))
    })?;
    match value.get("cloudport_description").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(DESCRIPTION_VERSION) => {}
        Some(found) => {
            return Err(Error::DescriptionVersion {
                found,
                supported: DESCRIPTION_VERSION,
            });
        }
        None => {
            return Err(Error::Description(
                "no \"cloudport_description\" version field: is this a cloudport app?".into(),
            ));
        }
    }
    serde_json::from_value(value).map_err(|e| Error::Description(e.to_string()))
}

/// The `.uses(...)` lines an app that declares nothing should add: each suggested resource's
/// declaration.
pub fn suggestions(d: &Description) -> Vec<String> {
    d.resources
        .iter()
        .map(|r| format!(".uses({})", r.declaration))
        .collect()
}

/// Refuses an app that declares no access ([`Error::Undeclared`], listing [`suggestions`]).
///
/// An undeclared app whose triggers and bindings suggest no resource at all (an HTTP-only app)
/// passes: there is no `.uses(...)` it could add, and the template grants it no data access, so
/// nothing can be over-granted (a resource it opens anyway has no binding and fails to open).
///
/// ```
/// use cloudport_cli::{describe, Error};
/// let d = describe::parse(br#"{"cloudport_description": 1, "sdk_version": "0.1.0", "http": false,
///   "any_event": false, "triggers": [{"kind": "queue", "name": "orders"}], "declared": false,
///   "resources": [{"kind": "queue", "name": "orders", "access": ["consume"],
///                  "declaration": "queue(\"orders\").consume()"}], "limits": {}}"#).unwrap();
/// let Err(Error::Undeclared { suggestions }) = describe::check_declared(&d) else { panic!() };
/// assert_eq!(suggestions, [r#".uses(queue("orders").consume())"#]);
/// ```
pub fn check_declared(d: &Description) -> Result<()> {
    if d.declared || d.resources.is_empty() {
        Ok(())
    } else {
        Err(Error::Undeclared {
            suggestions: suggestions(d),
        })
    }
}

/// What the package does not wire for the app, to say on standard error: the event types it
/// takes with `on_event` (their sources — EventBridge rules, Event Grid subscriptions, Eventarc
/// triggers — are not created yet; ADR 0013).
///
/// ```
/// let app = cloudport_core::App::new().on_event("OrderPlaced", |_e, _env| async { Ok(()) });
/// let note = cloudport_cli::describe::unwired(&app.describe()).unwrap();
/// assert!(note.contains("OrderPlaced"));
/// assert!(cloudport_cli::describe::unwired(&cloudport_core::App::new().describe()).is_none());
/// ```
pub fn unwired(d: &Description) -> Option<String> {
    (!d.event_types.is_empty()).then(|| {
        format!(
            "the app takes events of type {} (on_event); this package does not subscribe the \
             function to them yet: connect their source (an EventBridge rule, an Event Grid \
             subscription, an Eventarc trigger) to the deployed function",
            d.event_types.join(", ")
        )
    })
}

/// Reads and parses a description file (`-`: standard input), as `CLOUDPORT_DESCRIBE=1 ./app`
/// printed it.
pub fn read_file(path: &std::path::Path) -> Result<Description> {
    use std::io::Read;
    let json = if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(Error::io("reading the description from standard input"))?;
        buf
    } else {
        std::fs::read(path).map_err(Error::io(format!("reading {}", path.display())))?
    };
    parse(&json)
}
