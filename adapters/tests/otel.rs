//! OpenTelemetry export (feature `otel`): exported invocation spans continue the incoming trace
//! (a message's `traceparent`, an HTTP request's header), a message sent inside an invocation
//! names the exported send span, and spans reach an OTLP/HTTP endpoint in the OTLP wire format.
//! `cargo test -p cloudport-adapters --features otel --test otel`.
#![allow(clippy::unwrap_used, missing_docs)]

use std::future::Future;
use std::sync::{Arc, Mutex};

use cloudport_adapters::{HostKind, otel};
use cloudport_core::event::{Event, QueueMessage};
use cloudport_core::{App, Env, Trigger};
use cloudport_memory::Memory;
use opentelemetry::trace::SpanKind;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing_subscriber::layer::SubscriberExt;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN: &str = "00f067aa0ba902b7";
const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// The OpenTelemetry layer is process-wide state ([`otel::flush`] acts on the latest provider):
/// these tests take turns.
static SERIAL: Mutex<()> = Mutex::new(());

fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

/// Runs `f` with `provider`'s layer as the default subscriber, on a runtime of its own.
fn traced<F: Future>(provider: &SdkTracerProvider, f: impl FnOnce() -> F) -> F::Output {
    let subscriber = tracing_subscriber::registry().with(otel::layer(provider.clone()));
    tracing::subscriber::with_default(subscriber, || {
        tracing::callsite::rebuild_interest_cache();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f())
    })
}

fn memory_env(memory: &Memory) -> Env {
    Env::builder()
        .provider(memory.clone())
        .fallback_scheme("mem")
        .build()
}

#[test]
fn a_queue_invocation_continues_the_senders_trace_and_its_sends_name_the_exported_span() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let exporter = InMemorySpanExporter::default();
    let provider = otel::provider_with(exporter.clone(), HostKind::Local);
    let memory = Memory::new();
    let env = memory_env(&memory);
    traced(&provider, || async {
        let app = App::new().on_queue("orders", |_e: Event<QueueMessage>, env: Env| async move {
            env.queue("shipments")?.send("ship it").await?;
            Ok(())
        });
        let mut event =
            QueueMessage::new("orders", "m-1", "two pizzas").to_cloudevent("mem://orders");
        event.set_extension("traceparent", PARENT);
        app.dispatch(&env, &Trigger::Queue("orders".into()), event)
            .await
            .unwrap();
    });
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let invocation = spans
        .iter()
        .find(|s| attr(s, "faas.trigger").as_deref() == Some("pubsub"))
        .unwrap_or_else(|| panic!("an invocation span: {spans:#?}"));
    assert_eq!(invocation.span_context.trace_id().to_string(), TRACE);
    assert_eq!(invocation.parent_span_id.to_string(), PARENT_SPAN);
    assert_eq!(
        attr(invocation, "messaging.message.id").as_deref(),
        Some("m-1")
    );
    assert_eq!(
        attr(invocation, "messaging.destination.name").as_deref(),
        Some("orders")
    );
    let send = spans
        .iter()
        .find(|s| s.name == "queue.send")
        .unwrap_or_else(|| panic!("a queue.send span: {spans:#?}"));
    assert_eq!(send.span_kind, SpanKind::Producer);
    assert_eq!(send.span_context.trace_id().to_string(), TRACE);
    assert_eq!(send.parent_span_id, invocation.span_context.span_id());

    // The consumer of the sent message continues from the exported send span.
    let shipped = traced(&provider, || async {
        let lease = memory
            .queue("shipments")
            .receive(cloudport_core::ReceiveOptions::default())
            .await
            .unwrap();
        lease.into_iter().next().unwrap()
    });
    assert_eq!(
        shipped.attributes["traceparent"],
        format!("00-{TRACE}-{}-01", send.span_context.span_id())
    );
}

#[test]
fn an_http_invocation_is_a_server_span_under_the_callers_traceparent() {
    use tower::ServiceExt;
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let exporter = InMemorySpanExporter::default();
    let provider = otel::provider_with(exporter.clone(), HostKind::Local);
    let env = memory_env(&Memory::new());
    let status = traced(&provider, || async {
        let app = App::new()
            .http(axum::Router::new().route("/hello", axum::routing::get(|| async { "hi" })));
        let request = axum::http::Request::get("/hello")
            .header("traceparent", PARENT)
            .body(axum::body::Body::empty())
            .unwrap();
        app.http_router(&env)
            .unwrap()
            .oneshot(request)
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let server = spans
        .iter()
        .find(|s| attr(s, "faas.trigger").as_deref() == Some("http"))
        .unwrap_or_else(|| panic!("an HTTP invocation span: {spans:#?}"));
    assert_eq!(server.span_kind, SpanKind::Server);
    assert_eq!(server.name, "GET");
    assert_eq!(attr(server, "url.path").as_deref(), Some("/hello"));
    assert_eq!(server.span_context.trace_id().to_string(), TRACE);
    assert_eq!(server.parent_span_id.to_string(), PARENT_SPAN);
    assert_eq!(
        attr(server, "http.response.status_code").as_deref(),
        Some("200")
    );
}

#[test]
fn spans_reach_an_otlp_http_endpoint_on_flush() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    /// Each OTLP request the collector got: content type, body.
    type Requests = Arc<Mutex<Vec<(String, Vec<u8>)>>>;
    let received: Requests = Arc::default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // The collector: records each OTLP/HTTP request (content type, body).
    let addr = runtime.block_on(async {
        let sink = received.clone();
        let collector = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| async move {
                    let content_type = headers
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    sink.lock().unwrap().push((content_type, body.to_vec()));
                    (
                        [("content-type", "application/x-protobuf")],
                        Vec::<u8>::new(),
                    )
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, collector).await });
        addr
    });
    let provider =
        otel::otlp_provider_at(HostKind::Lambda, &format!("http://{addr}/v1/traces")).unwrap();
    let env = memory_env(&Memory::new());
    let subscriber = tracing_subscriber::registry().with(otel::layer(provider));
    tracing::subscriber::with_default(subscriber, || {
        tracing::callsite::rebuild_interest_cache();
        runtime.block_on(async {
            let app = App::new().on_queue("orders", |_e: Event<QueueMessage>, _env: Env| async {
                Ok(())
            });
            let mut event = QueueMessage::new("orders", "m-1", "x").to_cloudevent("mem://orders");
            event.set_extension("traceparent", PARENT);
            app.dispatch(&env, &Trigger::Queue("orders".into()), event)
                .await
                .unwrap();
            otel::flush().await;
        });
    });
    let received = received.lock().unwrap().clone();
    let (content_type, body) = received.first().expect("an OTLP export request");
    assert_eq!(content_type, "application/x-protobuf");
    let trace_id = u128::from_str_radix(TRACE, 16).unwrap().to_be_bytes();
    let contains = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
    assert!(contains(&trace_id), "the body carries the trace id");
    assert!(contains(b"faas.trigger") && contains(b"pubsub"));
    assert!(contains(b"cloud.platform") && contains(b"aws_lambda"));
    runtime.block_on(otel::shutdown());
}
