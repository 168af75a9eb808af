//! The quickstart app end to end on the local host and the memory provider, under the
//! `strictest` limit profile: every queue, bucket and store refuses what any cloud would, so the
//! quickstart is shown to fit AWS, Azure and Google Cloud alike.

#[path = "../examples/quickstart/app.rs"]
mod quickstart;

use std::time::Duration;

use cloudport::hosts::local::LocalHost;
use cloudport::memory::{Memory, Profile};
use cloudport::prelude::*;

/// A memory world whose resources enforce every cloud's limits.
fn strictest() -> Memory {
    Memory::new().with_default_profile(Profile::Strictest)
}

async fn start(memory: &Memory) -> (cloudport::hosts::local::RunningApp, String) {
    let running = LocalHost::new()
        .http_addr(([127, 0, 0, 1], 0).into())
        .receive_wait(Duration::from_millis(50))
        .start(quickstart::app(), Env::on_memory(memory))
        .await
        .expect("start");
    let base = format!("http://{}", running.http_addr().expect("http"));
    (running, base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_flow_through_http_queue_kv_blob_and_report() {
    let memory = strictest();
    let orders = Env::on_memory(&memory).queue("orders").expect("orders");
    assert_eq!(
        orders.capabilities().max_message_bytes,
        48 * 1024,
        "the app's queue is under the strictest profile"
    );
    let (running, base) = start(&memory).await;
    let client = reqwest::Client::new();
    for (id, total) in [("a", 100u64), ("b", 250)] {
        let order = quickstart::Order {
            id: id.into(),
            customer: "c".into(),
            total_cents: total,
        };
        let resp = client
            .post(format!("{base}/orders"))
            .json(&order)
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status(), 202);
    }
    let kv = memory.kv("orders");
    for _ in 0..200 {
        if kv.scan_all("").await.expect("scan").len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let resp = client
        .get(format!("{base}/orders/b"))
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 200);
    let record: quickstart::OrderRecord = resp.json().await.expect("json");
    assert_eq!(record.order.total_cents, 250);
    assert_eq!(record.status, "accepted");

    let receipts = memory.bucket("receipts");
    let receipt: serde_json::Value = receipts.get_json("receipts/a.json").await.expect("receipt");
    assert_eq!(receipt["total_cents"], 100);

    running
        .trigger_schedule("nightly-report")
        .await
        .expect("report");
    let reports = receipts.list_all("reports/").await.expect("list");
    assert_eq!(reports.len(), 1);
    let report: quickstart::Report = receipts.get_json(&reports[0].key).await.expect("report");
    assert_eq!(
        report,
        quickstart::Report {
            orders: 2,
            total_cents: 350
        }
    );

    assert_eq!(
        memory.queue_driver("orders").len(),
        0,
        "every message acked"
    );
    running.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn bad_requests_get_4xx_and_enqueue_nothing() {
    let memory = strictest();
    let (running, base) = start(&memory).await;
    let client = reqwest::Client::new();
    let invalid = client
        .post(format!("{base}/orders"))
        .json(&serde_json::json!({"id": "x", "customer": "c", "total_cents": 0}))
        .send()
        .await
        .expect("post");
    assert_eq!(invalid.status(), 400);
    let malformed = client
        .post(format!("{base}/orders"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("post");
    assert_eq!(malformed.status(), 400);
    let missing = client
        .get(format!("{base}/orders/nope"))
        .send()
        .await
        .expect("get");
    assert_eq!(missing.status(), 404);
    assert_eq!(memory.queue_driver("orders").len(), 0);
    running.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn the_handler_is_idempotent_under_duplicate_delivery() {
    let env = Env::on_memory(&strictest());
    let msg = QueueMessage::new(
        "orders",
        "m-1",
        r#"{"id":"d","customer":"c","total_cents":5}"#,
    );
    for _ in 0..2 {
        let event = Event::try_from(msg.to_cloudevent("mem://orders")).expect("event");
        quickstart::on_order(event, env.clone())
            .await
            .expect("handled");
    }
    assert_eq!(
        env.kv("orders").unwrap().scan_all("").await.unwrap().len(),
        1
    );
}
