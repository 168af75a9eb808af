//! OpenTelemetry linking (feature `otel`): when a `tracing-opentelemetry` layer records a span,
//! the span continues the invocation's incoming trace, and the ids cloudport propagates (message
//! `traceparent`, log trace ids) are the exported span's own — so the exported spans of HTTP →
//! queue → worker form one connected trace. Without the feature these are no-ops the compiler
//! removes; with it and no OpenTelemetry layer installed they cost a subscriber look-up.

use crate::trace::TraceContext;

/// Makes `span` a child of `parent` in OpenTelemetry and returns the trace the invocation then
/// is: the span's exported ids, or `fallback` when no OpenTelemetry layer records the span.
#[cfg(feature = "otel")]
pub(crate) fn adopt(
    span: &tracing::Span,
    parent: Option<TraceContext>,
    fallback: TraceContext,
) -> TraceContext {
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    if span.is_disabled() {
        return fallback;
    }
    if let Some(p) = parent {
        let flags = if p.sampled() {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        let remote = SpanContext::new(
            TraceId::from(p.trace_id_u128()),
            SpanId::from(p.span_id_u64()),
            flags,
            true,
            TraceState::default(),
        );
        // Fails only when no OpenTelemetry layer records the span: nothing to link then.
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
    }
    span_trace(span).unwrap_or(fallback)
}

/// Without the `otel` feature: the invocation's trace is cloudport's own.
#[cfg(not(feature = "otel"))]
#[inline(always)]
pub(crate) fn adopt(
    _span: &tracing::Span,
    _parent: Option<TraceContext>,
    fallback: TraceContext,
) -> TraceContext {
    fallback
}

/// The exported ids of `span`, when an OpenTelemetry layer records it.
#[cfg(feature = "otel")]
pub(crate) fn span_trace(span: &tracing::Span) -> Option<TraceContext> {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    if span.is_disabled() {
        return None;
    }
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    if !sc.is_valid() {
        return None;
    }
    TraceContext::from_ids(
        u128::from_be_bytes(sc.trace_id().to_bytes()),
        u64::from_be_bytes(sc.span_id().to_bytes()),
        sc.is_sampled(),
    )
}

/// Without the `otel` feature: no exported span.
#[cfg(not(feature = "otel"))]
#[inline(always)]
pub(crate) fn span_trace(_span: &tracing::Span) -> Option<TraceContext> {
    None
}
