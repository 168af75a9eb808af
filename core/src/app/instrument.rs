//! What every invocation carries: the `invocation` span with OpenTelemetry FaaS and messaging
//! attributes, its trace, and the HTTP middleware that makes a request an invocation.

use super::{InvocationRecord, MetricsSink, Trigger, metrics};

/// Runs an HTTP request as an invocation: the host's context (deadline, id) when it set one, and
/// the trace the request carries (`traceparent`, `X-Amzn-Trace-Id`, `X-Cloud-Trace-Context`), else
/// a new one — so a message the handler sends continues the request's trace.
/// Instrumented (`metrics` is set), the request runs in an `invocation` server span named by the
/// method (the app's routes are its own, so no low-cardinality route is known here; the path is
/// `url.path`) and is counted under [`Trigger::Http`] (a 5xx is an error).
pub(super) async fn http_invocation(
    metrics: Option<HttpMetrics>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use tracing::Instrument;
    let incoming = crate::trace::TraceContext::from_headers(request.headers());
    let mut ctx = crate::context::current().unwrap_or_default();
    ctx.cold_start = crate::context::first_invocation();
    let parent = incoming.or(ctx.trace);
    let trace = parent.map_or_else(crate::trace::TraceContext::new_root, |p| p.child());
    let Some(metrics) = metrics else {
        ctx.trace = Some(trace);
        return crate::context::scope(ctx, next.run(request)).await;
    };
    // Only constants at creation, as for event invocations (`invocation_span`).
    let span = tracing::info_span!(
        "invocation",
        otel.name = tracing::field::Empty,
        otel.kind = "server",
        faas.trigger = "http",
        faas.invocation_id = tracing::field::Empty,
        faas.coldstart = ctx.cold_start,
        http.request.method = tracing::field::Empty,
        url.path = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    if !span.is_disabled() {
        let method = request.method().as_str();
        span.record("otel.name", method);
        span.record("http.request.method", method);
        span.record("url.path", request.uri().path());
        span.record(
            "faas.invocation_id",
            tracing::field::display(&ctx.invocation_id),
        );
    }
    let trace = crate::otel::adopt(&span, parent, trace);
    record_trace(&span, &trace);
    ctx.trace = Some(trace);
    let cold = ctx.cold_start;
    let started = std::time::Instant::now();
    let response = crate::context::scope(ctx, next.run(request))
        .instrument(span.clone())
        .await;
    let failed = response.status().is_server_error();
    metrics.record(started.elapsed(), failed, cold, &trace);
    if !span.is_disabled() {
        span.record("http.response.status_code", response.status().as_u16());
        if failed {
            span.record("otel.status_code", "ERROR");
        }
    }
    response
}

/// Where the HTTP middleware counts requests: the app's metrics and sink.
#[derive(Clone)]
pub(super) struct HttpMetrics {
    pub(super) metrics: std::sync::Arc<metrics::Metrics>,
    pub(super) sink: Option<MetricsSink>,
}

impl HttpMetrics {
    fn record(
        &self,
        took: std::time::Duration,
        failed: bool,
        cold: bool,
        trace: &crate::trace::TraceContext,
    ) {
        self.metrics.record(&Trigger::Http, took, failed, cold);
        if let Some(sink) = &self.sink {
            sink(&InvocationRecord::new(
                Trigger::Http,
                took,
                failed,
                cold,
                Some(trace.trace_id()),
            ));
        }
    }
}

/// The `invocation` span, with OpenTelemetry FaaS and messaging attributes. Its fields cost
/// nothing unless a subscriber records them.
pub(super) fn invocation_span(
    trigger: &Trigger,
    ctx: &crate::context::InvocationContext,
    event: &cloudevents::Event,
) -> tracing::Span {
    use cloudevents::AttributesReader;
    // Message-triggered invocations are consumer spans; the others, server spans.
    let (faas_trigger, kind) = match trigger {
        Trigger::Queue(_) | Trigger::Topic(_) => ("pubsub", "consumer"),
        Trigger::Blob(_) => ("datasource", "server"),
        Trigger::Schedule(_) => ("timer", "server"),
        Trigger::Event(_) | Trigger::Http => ("other", "server"),
    };
    // Only constants at creation: with `tracing`'s `log` feature on (the Lambda runtime turns it
    // on) and no subscriber, field values given here would be computed for every invocation.
    let span = tracing::info_span!(
        "invocation",
        otel.name = tracing::field::Empty,
        otel.kind = kind,
        cloud.provider = tracing::field::Empty,
        faas.trigger = faas_trigger,
        faas.invocation_id = tracing::field::Empty,
        faas.coldstart = ctx.cold_start,
        messaging.system = tracing::field::Empty,
        messaging.operation = tracing::field::Empty,
        messaging.destination.name = tracing::field::Empty,
        messaging.message.id = tracing::field::Empty,
        cloudevents.event_id = tracing::field::Empty,
        cloudevents.event_type = tracing::field::Empty,
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    if span.is_disabled() {
        return span;
    }
    // Recorded before anything enters the span, so an exporter builds it with them.
    let source = event.source().as_str();
    span.record("otel.name", tracing::field::display(trigger));
    if let Some(provider) = crate::telemetry::provider_of_source(source) {
        span.record("cloud.provider", provider);
    }
    span.record(
        "faas.invocation_id",
        tracing::field::display(&ctx.invocation_id),
    );
    span.record("cloudevents.event_id", event.id());
    span.record("cloudevents.event_type", event.ty());
    // The messaging attributes belong to message-triggered invocations only.
    if let Trigger::Queue(name) = trigger {
        span.record(
            "messaging.system",
            crate::telemetry::queue_system_of_source(source),
        );
        span.record("messaging.operation", "process");
        span.record("messaging.destination.name", name.as_str());
        span.record("messaging.message.id", event.id());
    }
    if let Trigger::Topic(name) = trigger {
        span.record(
            "messaging.system",
            crate::telemetry::topic_system_of_source(source),
        );
        span.record("messaging.operation", "process");
        span.record("messaging.destination.name", name.as_str());
        span.record("messaging.message.id", event.id());
    }
    span
}

/// Records the invocation's trace on its span (formatted only if a subscriber records it).
pub(super) fn record_trace(span: &tracing::Span, trace: &crate::trace::TraceContext) {
    if !span.is_disabled() {
        span.record(
            "trace_id",
            tracing::field::display(trace.trace_id_display()),
        );
        span.record("span_id", tracing::field::display(trace.span_id_display()));
    }
}
