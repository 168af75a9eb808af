//! The pipeline example, tested as the README's "Testing function code" shows: one-call
//! dispatch on a test environment, delivery until handled or dead-lettered, and the whole
//! pipeline on the local host.

#[path = "../examples/pipeline/app.rs"]
mod pipeline;

use std::time::Duration;

use cloudport::hosts::local::LocalHost;
use cloudport::prelude::*;
use cloudport::testing::{AppTestExt, Delivery, TestEnv};
use pipeline::Work;

#[tokio::test]
async fn an_upload_event_sends_work_once() -> Result<()> {
    let test = TestEnv::new();
    let app = pipeline::app();
    test.env().bucket("uploads")?.put("a.txt", "hello").await?;
    // Delivered twice (platforms deliver at least once): one message.
    app.send_blob_created(test.env(), "uploads", "a.txt")
        .await?;
    app.send_blob_created(test.env(), "uploads", "a.txt")
        .await?;
    assert_eq!(test.memory().queue_driver("work").len(), 1);
    Ok(())
}

#[tokio::test]
async fn work_is_processed_or_dead_lettered() -> Result<()> {
    let test = TestEnv::new();
    let app = pipeline::app();
    let good = Message::json(&Work {
        key: "good.txt".into(),
        size: 5,
    })?;
    assert_eq!(
        app.deliver(test.env(), "work", good).await?,
        Delivery::Handled { deliveries: 1 }
    );
    assert!(test.env().kv("processed")?.get("good.txt").await?.is_some());
    let bad = Message::json(&Work {
        key: "bad.txt".into(),
        size: 4,
    })?;
    assert_eq!(
        app.deliver(test.env(), "work", bad).await?,
        Delivery::DeadLettered {
            deliveries: 5,
            queue: "work-dlq".into()
        }
    );
    assert_eq!(test.memory().queue_driver("work-dlq").len(), 1);
    Ok(())
}

#[tokio::test]
async fn the_report_runs_on_the_virtual_clock() -> Result<()> {
    let test = TestEnv::new();
    pipeline::app().send_tick(test.env(), "report").await?;
    Ok(())
}

/// The whole pipeline on the local host: HTTP upload → blob trigger → idempotent send → a
/// consumer that fails on `bad…` → the dead-letter queue; counts from `running.metrics()`.
#[tokio::test]
async fn the_pipeline_runs_end_to_end_on_the_local_host() -> Result<()> {
    // The system clock: redeliveries wait for real (short) delays, as in `cargo run`.
    let memory = cloudport::memory::Memory::new();
    let env = Env::on_memory(&memory);
    let running = LocalHost::new()
        .http_addr(([127, 0, 0, 1], 0).into())
        .receive_wait(Duration::from_millis(20))
        .max_retry_delay(Duration::from_millis(10))
        .start(pipeline::app(), env.clone())
        .await?;
    let base = format!("http://{}", running.http_addr().expect("http"));
    let client = reqwest::Client::new();
    for (name, body) in [("good.txt", "hello"), ("bad.txt", "oops")] {
        let status = client
            .put(format!("{base}/uploads/{name}"))
            .body(body)
            .send()
            .await
            .expect("upload")
            .status();
        assert_eq!(status, 201);
    }
    // A name no store takes: 400 from the handler's `?`, with a JSON error.
    let refused = client
        .put(format!("{base}/uploads/%00"))
        .body("x")
        .send()
        .await
        .expect("upload");
    assert_eq!(refused.status(), 400);
    let dlq = memory.queue_driver("work-dlq");
    for _ in 0..500 {
        if !dlq.is_empty() && env.kv("processed")?.get("good.txt").await?.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let work = running.metrics()[&Trigger::Queue("work".into())].clone();
    running.shutdown().await?;
    assert!(env.kv("processed")?.get("good.txt").await?.is_some());
    assert_eq!(dlq.len(), 1, "bad.txt ends in the dead-letter queue");
    assert_eq!(work.invocations, 1 + 5, "good once, bad five times");
    assert_eq!(work.errors, 5);
    Ok(())
}
