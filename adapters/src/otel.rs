//! OpenTelemetry export (feature `otel`): cloudport's spans — every invocation (`faas.*`,
//! `messaging.*`, `http.*` attributes) and every queue / blob / KV operation — exported as OTLP,
//! continuing the incoming trace (`traceparent`, X-Ray, `X-Cloud-Trace-Context`, a message's
//! `traceparent`), so HTTP → queue → worker is one connected trace in any OpenTelemetry backend.
//!
//! `app.run()` installs it on its own when the standard `OTEL_EXPORTER_OTLP_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (and `OTEL_SDK_DISABLED` is not `true`): OTLP over
//! HTTP (protobuf), batched, to a collector next to the function — the ADOT Lambda layer's
//! `http://localhost:4318`, a Cloud Run sidecar, an OpenTelemetry Collector for Azure Monitor. On
//! Lambda, whose process freezes between invocations, the host flushes after each invocation.
//! For another exporter (TLS to a vendor, an in-memory one in tests) build the provider with
//! [`provider_with`] and install [`layer`] in your own subscriber.
//!
//! Sampling follows the incoming trace (the SDK's default parent-based sampler; the standard
//! `OTEL_TRACES_SAMPLER` changes it). On Lambda without X-Ray active tracing, Lambda's trace
//! header says `Sampled=0` for every invocation, so nothing would be exported: turn active
//! tracing on, or set `OTEL_TRACES_SAMPLER=always_on`.
//!
//! Without the feature none of this is compiled, and the invocation path has no OpenTelemetry
//! code at all.
//!
//! ```
//! use cloudport_adapters::{HostKind, otel};
//! use opentelemetry_sdk::trace::InMemorySpanExporter;
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! let exporter = InMemorySpanExporter::default();
//! let provider = otel::provider_with(exporter.clone(), HostKind::Local);
//! let subscriber = tracing_subscriber::registry().with(otel::layer(provider.clone()));
//! tracing::subscriber::with_default(subscriber, || {
//!     tracing::info_span!("invocation", faas.trigger = "http").in_scope(|| {});
//! });
//! provider.force_flush().unwrap();
//! assert_eq!(exporter.get_finished_spans().unwrap()[0].name, "invocation");
//! ```

use cloudport_core::redact::Redacted;
use std::sync::Mutex;

use cloudport_core::{Error, ErrorKind, Result};
use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanExporter};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::registry::LookupSpan;

use crate::HostKind;

/// The provider [`flush`] and [`shutdown`] act on: the one the latest [`layer`] exports through.
static INSTALLED: Mutex<Option<SdkTracerProvider>> = Mutex::new(None);

/// Whether the environment (read through `var`) asks for OTLP export.
///
/// ```
/// use cloudport_adapters::otel::configured;
/// assert!(configured(|v| (v == "OTEL_EXPORTER_OTLP_ENDPOINT").then(|| "http://localhost:4318".into())));
/// assert!(!configured(|_| None));
/// ```
pub fn configured(var: impl Fn(&str) -> Option<String>) -> bool {
    let set = |name: &str| var(name).is_some_and(|v| !v.trim().is_empty());
    let disabled = var("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        || var("OTEL_TRACES_EXPORTER").is_some_and(|v| v.trim() == "none");
    !disabled && (set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
}

/// The OpenTelemetry resource of this function on `host`: `service.name` (`OTEL_SERVICE_NAME`,
/// else the function's name on its platform), `cloud.provider`, `cloud.platform`, `faas.name`,
/// `faas.version` and `cloud.region` where the platform tells them.
pub fn resource(host: HostKind, var: impl Fn(&str) -> Option<String>) -> Resource {
    let (provider, platform, name_var, version_var, region_var) = match host {
        HostKind::Lambda => (
            "aws",
            "aws_lambda",
            "AWS_LAMBDA_FUNCTION_NAME",
            "AWS_LAMBDA_FUNCTION_VERSION",
            "AWS_REGION",
        ),
        HostKind::AzureFunctions => (
            "azure",
            "azure_functions",
            "WEBSITE_SITE_NAME",
            "",
            "REGION_NAME",
        ),
        HostKind::CloudRun => ("gcp", "gcp_cloud_run", "K_SERVICE", "K_REVISION", ""),
        HostKind::Local => ("", "", "", "", ""),
    };
    let get = |name: &str| (!name.is_empty()).then(|| var(name)).flatten();
    let function = get(name_var);
    let service = var("OTEL_SERVICE_NAME")
        .or_else(|| function.clone())
        .unwrap_or_else(|| "cloudport".to_owned());
    let mut attributes = Vec::new();
    if !provider.is_empty() {
        attributes.push(KeyValue::new("cloud.provider", provider));
        attributes.push(KeyValue::new("cloud.platform", platform));
    }
    for (key, value) in [
        ("faas.name", function),
        ("faas.version", get(version_var)),
        ("cloud.region", get(region_var)),
    ] {
        if let Some(v) = value {
            attributes.push(KeyValue::new(key, v));
        }
    }
    Resource::builder()
        .with_service_name(service)
        .with_attributes(attributes)
        .build()
}

/// A provider that batches spans to `exporter`, with the resource of `host` (read from the
/// process environment).
pub fn provider_with(exporter: impl SpanExporter + 'static, host: HostKind) -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource(host, |v| std::env::var(v).ok()))
        .build()
}

/// A provider exporting OTLP over HTTP (protobuf) where the standard `OTEL_EXPORTER_OTLP_*`
/// variables say (endpoint, headers, timeout).
pub fn otlp_provider(host: HostKind) -> Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(build_error)?;
    Ok(provider_with(exporter, host))
}

/// A provider exporting OTLP over HTTP (protobuf) to `traces_endpoint` (the full URL, ending in
/// `/v1/traces`).
pub fn otlp_provider_at(host: HostKind, traces_endpoint: &str) -> Result<SdkTracerProvider> {
    use opentelemetry_otlp::WithExportConfig;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(traces_endpoint)
        .build()
        .map_err(build_error)?;
    Ok(provider_with(exporter, host))
}

fn build_error(e: opentelemetry_otlp::ExporterBuildError) -> Error {
    Error::new(
        ErrorKind::InvalidArgument,
        format!("cannot build the OTLP exporter: {e}"),
    )
    .with_operation("otel.install")
}

/// The `tracing` layer that exports through `provider`: invocation spans and everything else at
/// INFO, and cloudport's per-operation spans (DEBUG); not the Lambda runtime's own spans. [`flush`]
/// and [`shutdown`] then act on `provider`.
pub fn layer<S>(provider: SdkTracerProvider) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    let tracer = provider.tracer("cloudport");
    *INSTALLED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(provider);
    // The Lambda runtime's own per-invocation span outlives the flush after each invocation (it
    // would be exported an invocation late, or never): cloudport's invocation span stands for it.
    let spans = Targets::new()
        .with_default(LevelFilter::INFO)
        .with_target("cloudport_core", LevelFilter::DEBUG)
        .with_target("lambda_runtime", LevelFilter::OFF)
        .with_target("lambda_runtime_api_client", LevelFilter::OFF);
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(spans)
}

fn installed() -> Option<SdkTracerProvider> {
    INSTALLED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// Exports every span ended so far, waiting for the exporter (on a blocking thread). Hosts whose
/// process freezes between invocations (Lambda) call it after each one; a no-op when nothing is
/// installed. A failed export is logged, never the invocation's failure.
pub async fn flush() {
    let Some(provider) = installed() else {
        return;
    };
    match tokio::task::spawn_blocking(move || provider.force_flush()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %Redacted(e), "OpenTelemetry export failed"),
        Err(e) => tracing::warn!(error = %e, "OpenTelemetry flush did not finish"),
    }
}

/// [`flush`], giving up after `limit` (logged): the caller's deadline comes first.
pub async fn flush_within(limit: std::time::Duration) {
    if installed().is_none() {
        return;
    }
    if tokio::time::timeout(limit, flush()).await.is_err() {
        tracing::warn!(
            ?limit,
            "OpenTelemetry export did not finish in time; spans may be lost"
        );
    }
}

/// Exports what is left and stops the exporter; hosts call it when the platform stops them.
pub async fn shutdown() {
    let Some(provider) = INSTALLED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
    else {
        return;
    };
    if let Ok(Err(e)) = tokio::task::spawn_blocking(move || provider.shutdown()).await {
        tracing::warn!(error = %Redacted(e), "OpenTelemetry shutdown failed");
    }
}
