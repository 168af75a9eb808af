//! The local host keeps each ordering key's order when a message fails: the rest of its key in
//! the batch waits behind it (nacked, not run), and a message of the key sent while it is in
//! flight waits for it too — other keys go on.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudport_adapters::local::LocalHost;
use cloudport_core::event::{Event, QueueMessage};
use cloudport_core::{App, Env, Error, ErrorKind, Message};
use cloudport_memory::Memory;

fn keyed(body: &str) -> Message {
    let key = &body[..1];
    Message::new(body.to_owned()).with_ordering_key(key)
}

/// Runs `app` on the local host until `done` runs were recorded (or 10 s), then stops it.
async fn run_until(memory: &Memory, app: App, runs: &Arc<Mutex<Vec<String>>>, done: usize) {
    let env = Env::builder()
        .provider(memory.clone())
        .fallback_scheme("mem")
        .build();
    let running = LocalHost::new()
        .receive_wait(Duration::from_millis(20))
        .max_retry_delay(Duration::from_millis(50))
        .start(app, env)
        .await
        .expect("start");
    for _ in 0..1000 {
        if runs.lock().expect("runs").len() >= done && memory.queue_driver("ledger").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.shutdown().await.expect("shutdown");
}

/// The successful runs of one key, in order.
fn succeeded(runs: &[String], key: char) -> Vec<String> {
    runs.iter()
        .filter(|r| r.starts_with(key) && r.ends_with(" ok"))
        .map(|r| r.trim_end_matches(" ok").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_holds_back_its_key_in_the_batch_and_in_flight() {
    let memory = Memory::new();
    let runs = Arc::new(Mutex::new(Vec::new()));
    let seen = runs.clone();
    let app = App::new().on_queue("ledger", move |event: Event<QueueMessage>, env: Env| {
        let seen = seen.clone();
        async move {
            let body = event.data().text()?.to_owned();
            let first_try = !seen
                .lock()
                .unwrap()
                .iter()
                .any(|r: &String| r.starts_with(&body));
            if body == "a-0" && first_try {
                // Sent while a-0 is in flight: it must wait for a-0's retry.
                env.queue("ledger")?.send(keyed("a-3")).await?;
                seen.lock().unwrap().push(format!("{body} failed"));
                return Err(Error::new(ErrorKind::Handler, "a-0 fails once"));
            }
            seen.lock().unwrap().push(format!("{body} ok"));
            Ok(())
        }
    });
    let batch = memory
        .queue("ledger")
        .send_batch(["a-0", "a-1", "b-0", "a-2", "b-1"].map(keyed))
        .await;
    assert!(batch.iter().all(Result::is_ok));
    run_until(&memory, app, &runs, 7).await;
    let runs = runs.lock().unwrap().clone();
    assert_eq!(
        runs.first().map(String::as_str),
        Some("a-0 failed"),
        "{runs:?}"
    );
    assert_eq!(
        succeeded(&runs, 'a'),
        ["a-0", "a-1", "a-2", "a-3"],
        "key a in send order: {runs:?}"
    );
    assert_eq!(succeeded(&runs, 'b'), ["b-0", "b-1"], "{runs:?}");
    assert_eq!(
        runs.len(),
        7,
        "nothing of key a ran before a-0's retry: {runs:?}"
    );
}
