//! What a new user meets in the first hour, locally: a run that shows what it serves, and a
//! poison message that ends in a dead-letter queue instead of being delivered forever.

mod support;

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use cloudport::hosts::local::LocalHost;
use cloudport::memory::Memory;
use cloudport::prelude::*;
use cloudport::{QueueDriver, ReceiveOptions};
use tokio::io::{AsyncBufReadExt, BufReader};

/// An app whose consumer of `queue` fails every delivery, and the count of its deliveries.
fn always_failing(queue: &str) -> (App, Arc<AtomicU32>) {
    let deliveries = Arc::new(AtomicU32::new(0));
    let counted = deliveries.clone();
    let app = App::new().on_queue(queue, move |_m, _env| {
        let counted = counted.clone();
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            Err(Error::handler("this message always fails"))
        }
    });
    (app, deliveries)
}

/// `cargo run --example inspect`, as a user runs it: the terminal shows where HTTP is served and
/// every trigger wired, in human-readable lines, with no `RUST_LOG` set.
#[tokio::test]
#[ignore = "needs the built examples: ./scripts/test.sh"]
async fn a_local_run_prints_its_address_and_every_trigger() {
    let port = support::inspect::free_port();
    let mut child = tokio::process::Command::new(support::binaries::example("inspect"))
        .env_clear()
        .env("CLOUDPORT_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn inspect");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let wanted = [
        format!("http://127.0.0.1:{port}"),
        "queue trigger \"inspect\"".to_owned(),
        "blob trigger \"inspect\"".to_owned(),
        "schedule \"inspect\"".to_owned(),
    ];
    let mut seen = String::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        while let Ok(Some(line)) = lines.next_line().await {
            seen.push_str(&line);
            seen.push('\n');
            if wanted.iter().all(|w| seen.contains(w.as_str())) {
                return;
            }
        }
    })
    .await;
    let _ = child.kill().await;
    assert!(
        read.is_ok(),
        "the start-up lines name {wanted:?}; stderr was:\n{seen}"
    );
    assert!(
        !seen.trim_start().starts_with('{'),
        "human-readable lines locally, not JSON:\n{seen}"
    );
}

/// A message that always fails, on a `mem://` queue bound without `dead_letter=`: delivered the
/// default five times, then moved to `<name>-dlq` — not delivered again and again.
#[tokio::test]
async fn a_poison_message_without_a_dead_letter_binding_ends_in_the_default_dead_letter_queue() {
    let memory = Memory::new();
    let (app, deliveries) = always_failing("audit");
    let running = LocalHost::new()
        .http_addr(([127, 0, 0, 1], 0).into())
        .receive_wait(Duration::from_millis(20))
        .max_retry_delay(Duration::from_millis(10))
        .start(app, Env::on_memory(&memory))
        .await
        .expect("start");
    memory.queue("audit").send("poison").await.expect("send");
    let dlq = memory.queue_driver("audit-dlq");
    for _ in 0..300 {
        if !dlq.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Some time for any further (wrong) delivery to show.
    tokio::time::sleep(Duration::from_millis(200)).await;
    running.shutdown().await.expect("shutdown");
    assert_eq!(
        deliveries.load(Ordering::SeqCst),
        cloudport::env::DEFAULT_MAX_DELIVERIES,
        "delivered the default limit of times, then moved"
    );
    let moved = dlq
        .receive(&ReceiveOptions::default())
        .await
        .expect("receive the dead-lettered message");
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].body, "poison");
    assert!(memory.queue_driver("audit").is_empty());
}

/// An environment built without providers names what to add when a `mem://` binding is used.
#[test]
fn a_builder_without_the_memory_provider_says_how_to_add_it() {
    let env = Env::builder()
        .vars([("CLOUDPORT_QUEUE_AUDIT", "mem://audit")])
        .build();
    let err = env.queue("audit").expect_err("no provider");
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(
        err.message()
            .contains(".provider(cloudport::memory::Memory::new())"),
        "{err}"
    );
    assert!(!err.message().contains("(always on)"), "{err}");
}

/// Redeliveries are paced: a message that keeps failing comes back after a growing delay (from
/// half a second), not as fast as the consumer can receive it.
#[tokio::test]
async fn redeliveries_of_a_failing_message_are_paced() {
    let memory = Memory::new();
    let (app, deliveries) = always_failing("audit");
    let env = Env::builder()
        .provider(memory.clone())
        .vars([(
            "CLOUDPORT_QUEUE_AUDIT",
            "mem://audit?dead_letter=mem://audit-dlq&max_deliveries=100",
        )])
        .build();
    let running = LocalHost::new()
        .http_addr(([127, 0, 0, 1], 0).into())
        .receive_wait(Duration::from_millis(20))
        .start(app, env)
        .await
        .expect("start");
    memory.queue("audit").send("poison").await.expect("send");
    tokio::time::sleep(Duration::from_secs(3)).await;
    running.shutdown().await.expect("shutdown");
    let n = deliveries.load(Ordering::SeqCst);
    // 0 s, +0.5 s, +1 s, +2 s: four deliveries in three seconds.
    assert!((2..=5).contains(&n), "{n} deliveries in 3 s");
}

type Seen = Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// Schedules and blob events follow the environment's clock: on a manual memory clock a tick
/// comes when the test moves the clock, and carries the virtual time.
#[tokio::test]
async fn the_local_host_follows_the_virtual_clock() {
    use cloudport::export::cloudevents::AttributesReader;
    let memory = Memory::with_clock(cloudport::memory::Clock::manual());
    let env = Env::on_memory(&memory);
    let start = env.now();
    let seen = Seen::default();
    let (ticks, blobs) = (seen.clone(), seen.clone());
    let app = App::new()
        .on_schedule(
            "report",
            Schedule::every(Duration::from_secs(3600)),
            move |e: Event<ScheduleTick>, _env| {
                let ticks = ticks.clone();
                async move {
                    ticks
                        .lock()
                        .unwrap()
                        .push(("tick".into(), e.data().scheduled_time.to_rfc3339()));
                    Ok(())
                }
            },
        )
        .on_blob("uploads", move |e: Event<BlobEvent>, _env| {
            let blobs = blobs.clone();
            async move {
                let time = e.cloudevent().time().map(|t| t.to_rfc3339());
                blobs
                    .lock()
                    .unwrap()
                    .push(("blob".into(), time.unwrap_or_default()));
                Ok(())
            }
        });
    let running = LocalHost::new()
        .http_addr(([127, 0, 0, 1], 0).into())
        .start(app, env.clone())
        .await
        .expect("start");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(seen.lock().unwrap().is_empty(), "nothing due yet");
    memory
        .clock()
        .advance(Duration::from_secs(3601))
        .expect("manual clock");
    memory
        .bucket("uploads")
        .put("a.txt", "hello")
        .await
        .expect("put");
    for _ in 0..200 {
        if seen.lock().unwrap().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.shutdown().await.expect("shutdown");
    let seen = seen.lock().unwrap().clone();
    let due = (start + cloudport::export::chrono::Duration::seconds(3600)).to_rfc3339();
    assert!(
        seen.contains(&("tick".into(), due.clone())),
        "the hourly tick fired at virtual {due}: {seen:?}"
    );
    let blob_time = &seen
        .iter()
        .find(|(k, _)| k == "blob")
        .expect("blob event")
        .1;
    let blob_time =
        cloudport::export::chrono::DateTime::parse_from_rfc3339(blob_time).expect("time");
    assert!(
        (blob_time.with_timezone(&cloudport::export::chrono::Utc) - start).num_seconds() >= 3600,
        "the blob event's time is the virtual clock's: {blob_time} vs start {start}"
    );
}

/// A failing blob event is delivered again (without holding up the bucket's other events), with
/// the same id — stable for the object version — and dead-lettered after the default limit.
#[tokio::test]
async fn failed_blob_events_are_retried_and_dead_lettered_with_stable_ids() {
    let memory = Memory::new();
    let seen = Seen::default();
    let recorded = seen.clone();
    let app = App::new().on_blob("uploads", move |e: Event<BlobEvent>, _env| {
        let recorded = recorded.clone();
        async move {
            let key = e.data().key.clone();
            recorded
                .lock()
                .unwrap()
                .push((key.clone(), e.id().to_owned()));
            let tries = recorded
                .lock()
                .unwrap()
                .iter()
                .filter(|(k, _)| *k == key)
                .count();
            match key.as_str() {
                "flaky.txt" if tries < 3 => Err(Error::handler("not yet")),
                "poison.txt" => Err(Error::handler("never")),
                _ => Ok(()),
            }
        }
    });
    let running = LocalHost::new()
        .http_addr(([127, 0, 0, 1], 0).into())
        .max_retry_delay(Duration::from_millis(20))
        .start(app, Env::on_memory(&memory))
        .await
        .expect("start");
    let uploads = memory.bucket("uploads");
    let flaky = uploads.put("flaky.txt", "1").await.expect("put");
    uploads.put("poison.txt", "2").await.expect("put");
    uploads.put("fine.txt", "3").await.expect("put");
    let dlq = memory.queue_driver("uploads-dlq");
    for _ in 0..300 {
        if !dlq.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.shutdown().await.expect("shutdown");
    let seen = seen.lock().unwrap().clone();
    let of = |key: &str| seen.iter().filter(|(k, _)| k == key).collect::<Vec<_>>();
    assert_eq!(
        of("flaky.txt").len(),
        3,
        "delivered until it succeeded: {seen:?}"
    );
    let expected_id = format!("uploads/flaky.txt@{}", flaky.etag);
    assert!(
        of("flaky.txt").iter().all(|(_, id)| *id == expected_id),
        "one id per object version, every delivery: {seen:?}"
    );
    assert_eq!(of("fine.txt").len(), 1);
    assert_eq!(
        of("poison.txt").len() as u32,
        cloudport::env::DEFAULT_MAX_DELIVERIES,
        "delivered the default limit of times: {seen:?}"
    );
    let moved = dlq
        .receive(&ReceiveOptions::default())
        .await
        .expect("receive");
    assert_eq!(moved.len(), 1, "the poison event was dead-lettered");
    let event: serde_json::Value = serde_json::from_slice(&moved[0].body).expect("CloudEvent JSON");
    assert_eq!(event["type"], "io.cloudport.blob.created.v1");
    assert_eq!(event["data"]["key"], "poison.txt");
}
