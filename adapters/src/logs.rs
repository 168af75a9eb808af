//! Structured log lines in each platform's native shape: one JSON object per `tracing` event on
//! stdout, with the severity field the platform reads and the invocation's trace and request ids,
//! so CloudWatch Logs, Azure Monitor (Application Insights) and Cloud Logging index them without
//! parsing rules. Locally, human-readable lines.
//!
//! | host | shape |
//! |---|---|
//! | Lambda | `{"timestamp","level":"INFO","message","requestId","traceId",…}` — Lambda's JSON log format |
//! | Azure Functions | `{"timestamp","level":"Information","message","operation_Id","invocationId",…}` |
//! | Cloud Run / Cloud Functions | `{"time","severity":"INFO","message","logging.googleapis.com/trace":"projects/P/traces/T","logging.googleapis.com/spanId",…}` |
//!
//! Event fields other than `message` go along as JSON fields. `AppExt::run` installs this
//! subscriber when none is set (`CLOUDPORT_LOG=off` opts out; `RUST_LOG` filters, default
//! `info`).

use std::fmt::Write as _;

use cloudport_core::context;
use cloudport_core::redact::RedactingWriter;
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::HostKind;

/// A `tracing-subscriber` event format writing `host`'s native JSON log line.
#[derive(Debug, Clone)]
pub struct PlatformFormat {
    host: HostKind,
    project: Option<String>,
}

impl PlatformFormat {
    /// The format for `host`; `project` names the GCP project for Cloud Logging's trace field
    /// (`GOOGLE_CLOUD_PROJECT`).
    pub fn new(host: HostKind, project: Option<String>) -> Self {
        Self { host, project }
    }

    /// The JSON line of one event: `fields` are the event's fields, `message` included.
    ///
    /// ```
    /// use cloudport_adapters::{HostKind, logs::PlatformFormat};
    /// let mut fields = serde_json::Map::new();
    /// fields.insert("message".into(), "hello".into());
    /// let line = PlatformFormat::new(HostKind::CloudRun, Some("p1".into()))
    ///     .line(&tracing::Level::WARN, "app", fields, "2026-11-26T03:00:00Z");
    /// assert_eq!(line["severity"], "WARNING");
    /// assert_eq!(line["message"], "hello");
    /// ```
    pub fn line(
        &self,
        level: &Level,
        target: &str,
        mut fields: Map<String, Value>,
        timestamp: &str,
    ) -> Value {
        let message = fields
            .remove("message")
            .unwrap_or(Value::String(String::new()));
        let ctx = context::current();
        let trace = ctx.as_ref().and_then(|c| c.trace.as_ref());
        let mut out = Map::new();
        match self.host {
            HostKind::CloudRun => {
                out.insert("time".into(), timestamp.into());
                out.insert("severity".into(), gcp_severity(level).into());
                out.insert("message".into(), message);
                if let Some(t) = trace {
                    let trace_field = match &self.project {
                        Some(p) => format!("projects/{p}/traces/{}", t.trace_id()),
                        None => t.trace_id(),
                    };
                    out.insert("logging.googleapis.com/trace".into(), trace_field.into());
                    out.insert("logging.googleapis.com/spanId".into(), t.span_id().into());
                    out.insert("logging.googleapis.com/trace_sampled".into(), true.into());
                }
                if let Some(c) = &ctx {
                    out.insert("invocationId".into(), c.invocation_id.clone().into());
                }
            }
            HostKind::AzureFunctions => {
                out.insert("timestamp".into(), timestamp.into());
                out.insert("level".into(), azure_level(level).into());
                out.insert("message".into(), message);
                if let Some(t) = trace {
                    out.insert("operation_Id".into(), t.trace_id().into());
                    out.insert("operation_ParentId".into(), t.span_id().into());
                }
                if let Some(c) = &ctx {
                    out.insert("invocationId".into(), c.invocation_id.clone().into());
                }
            }
            _ => {
                out.insert("timestamp".into(), timestamp.into());
                out.insert("level".into(), level.as_str().into());
                out.insert("message".into(), message);
                if let Some(c) = &ctx {
                    out.insert("requestId".into(), c.invocation_id.clone().into());
                }
                if let Some(t) = trace {
                    out.insert("traceId".into(), t.trace_id().into());
                    out.insert("spanId".into(), t.span_id().into());
                }
            }
        }
        out.insert("logger".into(), target.into());
        for (k, v) in fields {
            out.entry(k).or_insert(v);
        }
        Value::Object(out)
    }
}

fn gcp_severity(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        _ => "DEBUG",
    }
}

fn azure_level(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "Error",
        Level::WARN => "Warning",
        Level::INFO => "Information",
        Level::DEBUG => "Debug",
        _ => "Trace",
    }
}

/// Collects an event's fields as JSON values.
#[derive(Default)]
struct JsonFields(Map<String, Value>);

impl Visit for JsonFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.insert(field.name().into(), value.to_string().into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut s = String::new();
        let _ = write!(s, "{value:?}");
        self.0.insert(field.name().into(), s.into());
    }
}

impl<S, N> FormatEvent<S, N> for PlatformFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut fields = JsonFields::default();
        event.record(&mut fields);
        let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let meta = event.metadata();
        let line = self.line(meta.level(), meta.target(), fields.0, &timestamp);
        writeln!(writer, "{line}")
    }
}

/// The log layer [`init`] installs, writing to `make_writer` instead of stdout / stderr: `host`'s
/// native JSON lines (human-readable lines for the local host), each line redacted
/// ([`RedactingWriter`]). For a subscriber of your own that writes what cloudport's hosts write.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
/// use cloudport_adapters::{HostKind, logs};
/// let subscriber = tracing_subscriber::registry()
///     .with(logs::layer(HostKind::Lambda, || Box::new(std::io::stdout()) as Box<dyn std::io::Write>));
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::info!(url = "https://u:pa55word@example.com", "prints the URL without its password");
/// });
/// ```
pub fn layer<S, W>(
    host: HostKind,
    make_writer: W,
) -> impl tracing_subscriber::Layer<S> + Send + Sync
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: Fn() -> Box<dyn std::io::Write> + Send + Sync + 'static,
{
    use tracing_subscriber::Layer;
    let writer = move || RedactingWriter::new(make_writer());
    match host {
        HostKind::Local => tracing_subscriber::fmt::layer().with_writer(writer).boxed(),
        _ => {
            let project = ["GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT"]
                .iter()
                .find_map(|v| std::env::var(v).ok());
            tracing_subscriber::fmt::layer()
                .event_format(PlatformFormat::new(host, project))
                .with_writer(writer)
                .boxed()
        }
    }
}

/// Installs a global subscriber writing `host`'s log lines to stdout (human-readable lines on
/// stderr for the local host), every line redacted ([`cloudport_core::redact`]: no credential
/// reaches a log line, whoever logged it), filtered by `RUST_LOG` (default `info`) — and, with the `otel` feature and an
/// `OTEL_EXPORTER_OTLP_*ENDPOINT` set, exporting cloudport's spans over OTLP (see `otel`).
/// `CLOUDPORT_LOG=off` turns the log lines off. Returns `false` when a subscriber was set already
/// (the application's own wins) or there is nothing to install.
pub fn init(host: HostKind) -> bool {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, Layer, Registry};
    if tracing::dispatcher::has_been_set() {
        // The application's own subscriber wins; build nothing (no second exporter).
        return false;
    }
    let mut layers: Vec<Box<dyn Layer<Registry> + Send + Sync>> = Vec::new();
    if std::env::var("CLOUDPORT_LOG").as_deref() != Ok("off") {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
        // Locally: human-readable lines on stderr (stdout stays the program's own).
        let out: fn() -> Box<dyn std::io::Write> = match host {
            HostKind::Local => || Box::new(std::io::stderr()),
            _ => || Box::new(std::io::stdout()),
        };
        layers.push(layer(host, out).with_filter(filter).boxed());
    }
    #[allow(unused_mut, reason = "set only with the otel feature")]
    let mut otel_error: Option<cloudport_core::Error> = None;
    #[cfg(feature = "otel")]
    if crate::otel::configured(|v| std::env::var(v).ok()) {
        match crate::otel::otlp_provider(host) {
            Ok(provider) => layers.push(crate::otel::layer(provider).boxed()),
            Err(e) => otel_error = Some(e),
        }
    }
    if layers.is_empty() {
        return false;
    }
    let installed = tracing_subscriber::registry()
        .with(layers)
        .try_init()
        .is_ok();
    if let Some(e) = otel_error {
        tracing::warn!(error = %e, "OpenTelemetry export is off");
    }
    installed
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudport_core::context::InvocationContext;
    use cloudport_core::trace::TraceContext;

    fn fields(message: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("message".into(), message.into());
        m.insert("order".into(), 42.into());
        m
    }

    #[tokio::test]
    async fn lines_carry_the_invocation_trace_in_each_platform_shape() {
        let trace = TraceContext::parse_traceparent(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .unwrap();
        let ctx = InvocationContext::new("inv-1", None).with_trace(Some(trace));
        let lines = context::scope(ctx, async {
            [
                HostKind::Lambda,
                HostKind::AzureFunctions,
                HostKind::CloudRun,
            ]
            .map(|h| {
                PlatformFormat::new(h, Some("p1".into())).line(
                    &Level::ERROR,
                    "app",
                    fields("boom"),
                    "2026-11-26T03:00:00Z",
                )
            })
        })
        .await;
        let [lambda, azure, gcp] = lines;
        assert_eq!(lambda["level"], "ERROR");
        assert_eq!(lambda["requestId"], "inv-1");
        assert_eq!(lambda["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(lambda["order"], 42);
        assert_eq!(azure["level"], "Error");
        assert_eq!(azure["operation_Id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(gcp["severity"], "ERROR");
        assert_eq!(
            gcp["logging.googleapis.com/trace"],
            "projects/p1/traces/4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(gcp["message"], "boom");
    }

    #[test]
    fn outside_an_invocation_lines_have_no_trace() {
        let line = PlatformFormat::new(HostKind::CloudRun, None).line(
            &Level::INFO,
            "app",
            fields("hi"),
            "t",
        );
        assert!(line.get("logging.googleapis.com/trace").is_none());
        assert_eq!(line["severity"], "INFO");
    }
}

/// Invocation metrics as structured log lines in `host`'s shape (one per invocation, message
/// `cloudport invocation`, the counts under `metrics`), for log-based metrics in Cloud Logging
/// and log queries in Azure Monitor — what CloudWatch EMF is on Lambda.
///
/// ```
/// use cloudport_adapters::{HostKind, logs};
/// let sink = logs::metrics_sink(HostKind::CloudRun, "orders-worker".into(), None);
/// # let _ = sink;
/// ```
pub fn metrics_sink(
    host: HostKind,
    function: String,
    project: Option<String>,
) -> cloudport_core::app::MetricsSink {
    let format = PlatformFormat::new(host, project);
    std::sync::Arc::new(move |record: &cloudport_core::app::InvocationRecord| {
        let line = metrics_line(&format, &function, record);
        use std::io::Write;
        // A lost metric line must not fail the invocation.
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    })
}

/// The structured log line of one invocation's metrics.
pub fn metrics_line(
    format: &PlatformFormat,
    function: &str,
    record: &cloudport_core::app::InvocationRecord,
) -> Value {
    let mut fields = Map::new();
    fields.insert("message".into(), "cloudport invocation".into());
    fields.insert(
        "metrics".into(),
        serde_json::json!({
            "function": function,
            "trigger": record.trigger.label(),
            "invocations": 1,
            "errors": u8::from(record.failed),
            "coldStarts": u8::from(record.cold_start),
            "durationMs": record.duration.as_secs_f64() * 1000.0,
        }),
    );
    let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut line = format.line(&Level::INFO, "cloudport::metrics", fields, &timestamp);
    // The record's own trace: the sink runs after the invocation's context has ended.
    if let (Some(trace), Value::Object(map)) = (&record.trace_id, &mut line) {
        let (key, value) = match format.host {
            HostKind::CloudRun => (
                "logging.googleapis.com/trace",
                match &format.project {
                    Some(p) => format!("projects/{p}/traces/{trace}"),
                    None => trace.clone(),
                },
            ),
            HostKind::AzureFunctions => ("operation_Id", trace.clone()),
            _ => ("traceId", trace.clone()),
        };
        map.insert(key.into(), value.into());
    }
    line
}

#[cfg(test)]
mod metrics_tests {
    use super::*;
    use cloudport_core::Trigger;
    use cloudport_core::app::InvocationRecord;

    #[test]
    fn metric_lines_carry_counts_and_the_trace() {
        let record = InvocationRecord::new(
            Trigger::Queue("orders".into()),
            std::time::Duration::from_millis(12),
            true,
            true,
            Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
        );
        let gcp = metrics_line(
            &PlatformFormat::new(HostKind::CloudRun, Some("p1".into())),
            "svc",
            &record,
        );
        assert_eq!(gcp["metrics"]["errors"], 1);
        assert_eq!(gcp["metrics"]["coldStarts"], 1);
        assert_eq!(gcp["metrics"]["trigger"], "queue/orders");
        assert_eq!(
            gcp["logging.googleapis.com/trace"],
            "projects/p1/traces/4bf92f3577b34da6a3ce929d0e0e4736"
        );
        let azure = metrics_line(
            &PlatformFormat::new(HostKind::AzureFunctions, None),
            "app",
            &record,
        );
        assert_eq!(azure["operation_Id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(azure["level"], "Information");
    }
}
