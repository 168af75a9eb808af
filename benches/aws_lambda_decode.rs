//! Decoding an SQS batch event into portable CloudEvents vs plain `serde_json` into
//! `aws_lambda_events::sqs::SqsEvent` (goal ≤ 1.2×); and what instrumentation (invocation span +
//! metrics, no subscriber) costs on one whole Lambda SQS invocation — payload in, response out —
//! against the same host with `instrumented(false)` (goal ≤ 1.05×).
//! `cargo bench --features aws --bench aws_lambda_decode`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod support;

use std::hint::black_box;
use std::time::Instant;

use aws_lambda_events::sqs::SqsEvent;
use cloudport::hosts::lambda::decode::{self, Names, Payload};

fn batch(records: usize, body_bytes: usize) -> Vec<u8> {
    let body = serde_json::json!({"id": "o-1", "customer": "ada", "note": "x".repeat(body_bytes)})
        .to_string();
    let records: Vec<serde_json::Value> = (0..records)
        .map(|i| {
            serde_json::json!({
                "messageId": format!("059f36b4-87a3-44ab-83d2-66197{i:07}"),
                "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1545082649185"},
                "messageAttributes": {
                    "datacontenttype": {"stringValue": "application/json", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
                    "tenant": {"stringValue": "acme", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
                },
                "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orders",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "Records": records })).unwrap()
}

fn main() {
    support::header(
        "Lambda SQS batch decode (per batch)",
        "serde_json → SqsEvent",
    );
    let names = Names::default().queue("orders", "orders");
    for (records, body) in [(10usize, 1024usize), (10, 64), (1, 1024)] {
        let payload = batch(records, body);
        support::compare(
            &format!("{records} records × {body} B bodies → CloudEvents"),
            |iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(serde_json::from_slice::<SqsEvent>(black_box(&payload)).unwrap());
                }
                start.elapsed()
            },
            |iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    let Ok(Payload::Sqs(event)) = decode::decode(black_box(&payload)) else {
                        unreachable!()
                    };
                    black_box(decode::sqs_events(event, &names));
                }
                start.elapsed()
            },
        );
    }

    instrumentation();
}

/// One whole Lambda SQS invocation (`LambdaHost::handle`: decode, dispatch, batch response),
/// instrumented vs not.
fn instrumentation() {
    use cloudport::hosts::lambda::LambdaHost;
    use cloudport::prelude::*;
    async fn handler(event: Event<QueueMessage>, _env: Env) -> Result<()> {
        black_box(event.data().body.len());
        Ok(())
    }
    support::header(
        "Instrumentation, one whole Lambda SQS invocation",
        "span and metrics off",
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let env = || {
        Env::builder()
            .provider(cloudport::memory::Memory::new())
            .bind_queue("orders", "sqs://orders")
            .build()
    };
    let on = LambdaHost::new(App::new().on_queue("orders", handler), env());
    let off = LambdaHost::new(
        App::new().on_queue("orders", handler).instrumented(false),
        env(),
    );
    let payload = String::from_utf8(batch(1, 256)).unwrap();
    let invoke = |host: &LambdaHost, iters: u64| {
        support::time_async(&rt, iters, |_| {
            let raw = serde_json::value::RawValue::from_string(payload.clone()).unwrap();
            let event = lambda_runtime::LambdaEvent::new(raw, lambda_runtime::Context::default());
            async move {
                black_box(host.handle(event).await.unwrap());
            }
        })
    };
    support::compare(
        "1 SQS record × 256 B, span + metrics on",
        |iters| invoke(&off, iters),
        |iters| invoke(&on, iters),
    );
}
