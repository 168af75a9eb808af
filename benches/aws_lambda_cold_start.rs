//! Cold start to first handled event: the `inspect` example (cloudport, feature `aws`) vs a bare
//! `lambda_runtime` echo function, each started fresh under the same local Runtime API; and the
//! release binary sizes. Needs both built in release first:
//!
//! ```text
//! cargo build --release --example inspect --features aws
//! cargo build --release -p cloudport-adapters --example lambda_hello --features lambda
//! cargo bench --features aws --bench aws_lambda_cold_start
//! ```
#![allow(clippy::unwrap_used, clippy::print_stdout, dead_code)]

#[path = "../tests/support/runtime_api.rs"]
mod runtime_api;
mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use runtime_api::{Outcome, RuntimeApi};

fn release_example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "{} is not built; see this file's header",
        path.display()
    );
    path
}

async fn cold_start(api: &RuntimeApi, binary: &Path, payload: &serde_json::Value) -> Duration {
    let start = Instant::now();
    let id = api.enqueue(payload.to_string());
    let mut child = tokio::process::Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_REGION", "us-east-1")
        .env("CLOUDPORT_QUEUE_INSPECT", "sqs://orders")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let outcome = api.outcome(&id, Duration::from_secs(30)).await;
    let elapsed = start.elapsed();
    assert!(matches!(outcome, Outcome::Response(_)), "{outcome:?}");
    child.kill().await.unwrap();
    elapsed
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let inspect = release_example("inspect");
    let hello = release_example("lambda_hello");
    let payload = serde_json::json!({"Records": [{
        "messageId": "m-1", "receiptHandle": "r", "body": "{\"id\":\"42\"}",
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183"},
        "messageAttributes": {}, "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orders", "awsRegion": "us-east-1"}]});
    let (mut base, mut subj) = (Vec::new(), Vec::new());
    rt.block_on(async {
        let api = RuntimeApi::start().await;
        for _ in 0..2 {
            cold_start(&api, &hello, &payload).await;
            cold_start(&api, &inspect, &payload).await;
        }
        for _ in 0..25 {
            base.push(cold_start(&api, &hello, &payload).await.as_secs_f64() * 1e3);
            subj.push(cold_start(&api, &inspect, &payload).await.as_secs_f64() * 1e3);
        }
    });
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (b, s) = (median(base), median(subj));
    support::header(
        "Lambda cold start to first handled SQS event (median of 25, alternating)",
        "bare lambda_runtime",
    );
    println!(
        "| spawn → first response | {s:.1} ms | {b:.1} ms | {:.2}× |",
        s / b
    );
    let size = |p: &Path| std::fs::metadata(p).unwrap().len() as f64 / (1024.0 * 1024.0);
    println!(
        "| release binary size | {:.1} MiB | {:.1} MiB | {:.1}× |",
        size(&inspect),
        size(&hello),
        size(&inspect) / size(&hello)
    );
}
