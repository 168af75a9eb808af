//! Event dispatch overhead of `App` per invocation: `App::dispatch` of a queue-message CloudEvent
//! to a handler, against calling the same handler directly with an event built by hand; and what
//! instrumentation costs: span and metrics on (the default) vs `instrumented(false)`, no tracing
//! subscriber installed (goal ≤ 1.05×). `cargo bench --bench dispatch` has OpenTelemetry
//! compiled out; `cargo bench --features otel --bench dispatch` measures the same with it compiled
//! in but not installed, and adds the cost of exporting every invocation span (OpenTelemetry layer
//! installed, in-memory exporter).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod support;

use std::hint::black_box;

use cloudport::prelude::*;

async fn handler(event: Event<QueueMessage>, _env: Env) -> Result<()> {
    black_box(event.data().body.len());
    Ok(())
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    support::header("App dispatch (per invocation)", "direct handler call");
    let env = Env::memory();
    let app = App::new().on_queue("orders", handler);
    let trigger = Trigger::Queue("orders".into());
    let cloudevent = QueueMessage::new("orders", "m-1", r#"{"id":"42","total_cents":1250}"#)
        .with_content_type("application/json")
        .with_delivery_count(1)
        .to_cloudevent("mem://orders");

    support::compare(
        "App::dispatch (typed view, routing, panic guard)",
        |iters| {
            support::time_async(&rt, iters, |_| {
                let (env, ce) = (env.clone(), cloudevent.clone());
                async move {
                    let event = Event::<QueueMessage>::try_from(ce).unwrap();
                    handler(event, env).await.unwrap();
                }
            })
        },
        |iters| {
            support::time_async(&rt, iters, |_| {
                let (app, env, trigger, ce) = (&app, &env, &trigger, cloudevent.clone());
                async move {
                    app.dispatch(env, trigger, ce).await.unwrap();
                }
            })
        },
    );

    let otel = if cfg!(feature = "otel") {
        "OpenTelemetry compiled in, not installed"
    } else {
        "OpenTelemetry compiled out"
    };
    support::header(
        &format!("Instrumentation (per invocation; {otel})"),
        "span and metrics off",
    );
    let off = App::new().on_queue("orders", handler).instrumented(false);
    support::compare(
        "App::dispatch, span + metrics on",
        |iters| {
            support::time_async(&rt, iters, |_| {
                let (app, env, trigger, ce) = (&off, &env, &trigger, cloudevent.clone());
                async move { app.dispatch(env, trigger, ce).await.unwrap() }
            })
        },
        |iters| {
            support::time_async(&rt, iters, |_| {
                let (app, env, trigger, ce) = (&app, &env, &trigger, cloudevent.clone());
                async move { app.dispatch(env, trigger, ce).await.unwrap() }
            })
        },
    );

    #[cfg(feature = "otel")]
    exported(&rt, &env, &app, &off, &trigger, &cloudevent);
}

/// What exporting every invocation span costs: the OpenTelemetry layer installed (batching to an
/// in-memory exporter) vs instrumentation off.
#[cfg(feature = "otel")]
fn exported(
    rt: &tokio::runtime::Runtime,
    env: &Env,
    app: &App,
    off: &App,
    trigger: &Trigger,
    cloudevent: &cloudport::cloudevents::Event,
) {
    use cloudport::hosts::{HostKind, otel};
    use tracing_subscriber::layer::SubscriberExt;
    let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let provider = otel::provider_with(exporter.clone(), HostKind::Local);
    let subscriber = tracing_subscriber::registry().with(otel::layer(provider.clone()));
    tracing::subscriber::with_default(subscriber, || {
        tracing::callsite::rebuild_interest_cache();
        support::header(
            "Instrumentation exported (per invocation)",
            "span and metrics off",
        );
        support::compare(
            "App::dispatch, span exported to OpenTelemetry",
            |iters| {
                support::time_async(rt, iters, |_| {
                    let (app, env, trigger, ce) = (off, env, trigger, cloudevent.clone());
                    async move { app.dispatch(env, trigger, ce).await.unwrap() }
                })
            },
            |iters| {
                let took = support::time_async(rt, iters, |_| {
                    let (app, env, trigger, ce) = (app, env, trigger, cloudevent.clone());
                    async move { app.dispatch(env, trigger, ce).await.unwrap() }
                });
                exporter.reset();
                took
            },
        );
    });
    let _ = provider.shutdown();
}
