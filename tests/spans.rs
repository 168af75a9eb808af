//! Every portable operation runs in a span with OpenTelemetry semantic-convention attributes.
//! In a test binary of its own: `tracing` caches per-callsite interest process-wide, and tests
//! on other threads without a subscriber would race it.

use cloudport::memory::Memory;
use cloudport::prelude::*;

/// A span's name and fields.
type SpanRecord = (String, Vec<(String, String)>);

/// Records the spans opened while it is the default subscriber.
#[derive(Clone, Default)]
struct SpanLog(std::sync::Arc<std::sync::Mutex<Vec<SpanRecord>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for SpanLog {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _id: &tracing::span::Id,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        struct Fields(Vec<(String, String)>);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                self.0.push((f.name().to_owned(), format!("{v:?}")));
            }
            fn record_str(&mut self, f: &tracing::field::Field, v: &str) {
                self.0.push((f.name().to_owned(), v.to_owned()));
            }
        }
        let mut fields = Fields(Vec::new());
        attrs.record(&mut fields);
        if let Ok(mut spans) = self.0.lock() {
            spans.push((attrs.metadata().name().to_owned(), fields.0));
        }
    }
}

#[test]
fn every_portable_operation_runs_in_a_span_with_semantic_attributes() {
    use tracing_subscriber::layer::SubscriberExt;
    let log = SpanLog::default();
    let subscriber = tracing_subscriber::registry().with(log.clone());
    tracing::subscriber::with_default(subscriber, || {
        // Other tests on other threads run with no subscriber and may have cached "nobody is
        // interested" for these callsites: ask again now that one is.
        tracing::callsite::rebuild_interest_cache();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let memory = Memory::new();
            let queue = memory.queue("orders");
            queue.send("hello").await.unwrap();
            let kv = memory.kv("state");
            kv.put("k", "v", Precondition::None).await.unwrap();
        });
    });
    let spans = log.0.lock().unwrap().clone();
    let field = |span: &SpanRecord, name: &str| {
        span.1
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let send = spans
        .iter()
        .find(|s| field(s, "otel.name").as_deref() == Some("queue.send"))
        .unwrap_or_else(|| panic!("a queue.send span: {spans:?}"));
    assert_eq!(
        field(send, "messaging.operation").as_deref(),
        Some("publish")
    );
    assert_eq!(
        field(send, "messaging.destination.name").as_deref(),
        Some("orders")
    );
    assert_eq!(field(send, "cloud.provider").as_deref(), Some("memory"));
    let put = spans
        .iter()
        .find(|s| field(s, "otel.name").as_deref() == Some("kv.put"))
        .unwrap_or_else(|| panic!("a kv.put span: {spans:?}"));
    assert_eq!(field(put, "db.operation").as_deref(), Some("put"));
    assert_eq!(field(put, "db.collection.name").as_deref(), Some("state"));
}
