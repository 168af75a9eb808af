//! The inspect example: HTTP echo (plain and CloudEvents), and a failing queue message that is
//! redelivered, then dead-lettered — never lost.

#[path = "../examples/inspect/app.rs"]
mod inspect;

use std::time::Duration;

use cloudport::hosts::local::{LocalHost, RunningApp};
use cloudport::memory::Memory;
use cloudport::prelude::*;

async fn start(env: Env) -> (RunningApp, String) {
    let running = LocalHost::new()
        .http_addr(([127, 0, 0, 1], 0).into())
        .receive_wait(Duration::from_millis(20))
        .max_retry_delay(Duration::from_millis(10))
        .start(inspect::app(), env)
        .await
        .expect("start");
    let base = format!("http://{}", running.http_addr().expect("http"));
    (running, base)
}

#[tokio::test]
async fn plain_requests_are_described() {
    let (running, base) = start(Env::memory()).await;
    let resp = reqwest::Client::new()
        .put(format!("{base}/some/path?x=1&y=two"))
        .header("x-demo", "yes")
        .body("hello")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["method"], "PUT");
    assert_eq!(body["path"], "/some/path");
    assert_eq!(body["query"], "x=1&y=two");
    assert_eq!(body["headers"]["x-demo"], "yes");
    assert_eq!(body["body"], "hello");
    running.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn cloudevents_are_echoed_in_structured_mode() {
    let (running, base) = start(Env::memory()).await;
    let client = reqwest::Client::new();
    let binary = client
        .post(&base)
        .header("ce-specversion", "1.0")
        .header("ce-id", "42")
        .header("ce-type", "com.example.demo")
        .header("ce-source", "/tests")
        .header("ce-tenant", "acme")
        .header("content-type", "application/json")
        .body(r#"{"hello":"world"}"#)
        .send()
        .await
        .expect("binary mode");
    assert_eq!(binary.status(), 200);
    assert_eq!(
        binary.headers()["content-type"],
        "application/cloudevents+json"
    );
    let event: serde_json::Value = binary.json().await.expect("json");
    assert_eq!(event["id"], "42");
    assert_eq!(event["type"], "com.example.demo");
    assert_eq!(event["tenant"], "acme");
    assert_eq!(event["data"]["hello"], "world");

    let structured = client
        .post(&base)
        .header("content-type", "application/cloudevents+json")
        .body(r#"{"specversion":"1.0","id":"7","type":"t","source":"/s","datacontenttype":"text/plain","data":"hi"}"#)
        .send()
        .await
        .expect("structured mode");
    let event: serde_json::Value = structured.json().await.expect("json");
    assert_eq!(event["id"], "7");
    assert_eq!(event["data"], "hi");

    let malformed = client
        .post(&base)
        .header("ce-specversion", "0.1-bogus")
        .header("ce-id", "1")
        .body("x")
        .send()
        .await
        .expect("malformed");
    assert_eq!(
        malformed.status(),
        400,
        "a malformed CloudEvent is a client error"
    );
    running.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_message_is_redelivered_then_dead_lettered() {
    let memory = Memory::new();
    let env = Env::builder()
        .provider(memory.clone())
        .vars(std::iter::empty::<(String, String)>())
        .fallback_scheme("mem")
        .bind_queue(
            "inspect",
            "mem://inspect?dead_letter=mem://inspect-dlq&max_deliveries=3",
        )
        .build();
    let queue = env.queue("inspect").expect("queue");
    queue.send("fail").await.expect("send");
    queue.send("fine").await.expect("send");
    let (running, _) = start(env).await;
    let dlq = memory.queue_driver("inspect-dlq");
    for _ in 0..300 {
        if dlq.len() == 1 && memory.queue_driver("inspect").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.shutdown().await.expect("shutdown");
    assert_eq!(
        memory.queue_driver("inspect").len(),
        0,
        "the good message is acked, the bad one moved"
    );
    let dead = memory
        .queue("inspect-dlq")
        .receive(cloudport::ReceiveOptions::default())
        .await
        .expect("receive");
    assert_eq!(dead.len(), 1);
    assert_eq!(&dead[0].body[..], b"fail");
}
