//! What instrumentation costs per invocation: `App::dispatch` with the invocation span and metrics
//! on (the default) vs off, no tracing subscriber installed (goal ≤ 1.05×). OpenTelemetry export is
//! not compiled in. `cargo bench --bench instrumentation`.
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
    support::header("Instrumentation (per invocation)", "span and metrics off");
    let env = Env::memory();
    let on = App::new().on_queue("orders", handler);
    let off = App::new().on_queue("orders", handler).instrumented(false);
    let trigger = Trigger::Queue("orders".into());
    let cloudevent = QueueMessage::new("orders", "m-1", r#"{"id":"42","total_cents":1250}"#)
        .with_content_type("application/json")
        .to_cloudevent("mem://orders");
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
                let (app, env, trigger, ce) = (&on, &env, &trigger, cloudevent.clone());
                async move { app.dispatch(env, trigger, ce).await.unwrap() }
            })
        },
    );
}
