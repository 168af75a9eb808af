//! The local host: queue consumers survive handler panics and redeliver, blob triggers fire on
//! writes and deletes, schedules tick.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use cloudport::hosts::local::LocalHost;
use cloudport::memory::Memory;
use cloudport::prelude::*;
use tokio::sync::mpsc;

fn host() -> LocalHost {
    LocalHost::new()
        .receive_wait(Duration::from_millis(20))
        .max_retry_delay(Duration::from_millis(10))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_fails_its_message_not_the_process() {
    let memory = Memory::new();
    let calls = Arc::new(AtomicU32::new(0));
    let seen = calls.clone();
    let app = App::new().on_queue("jobs", move |event: Event<QueueMessage>, _env| {
        let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            assert!(n > 1, "first delivery of {} panics", event.id());
            Ok(())
        }
    });
    memory.queue("jobs").send("work").await.expect("send");
    let running = host()
        .start(app, Env::on_memory(&memory))
        .await
        .expect("start");
    for _ in 0..300 {
        if memory.queue_driver("jobs").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.shutdown().await.expect("shutdown");
    assert!(
        memory.queue_driver("jobs").is_empty(),
        "acked after the retry"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2, "one panic, one success");
}

#[tokio::test]
async fn blob_triggers_fire_on_create_and_delete() {
    let memory = Memory::new();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let app = App::new().on_blob("uploads", move |event: Event<BlobEvent>, _env| {
        let tx = tx.clone();
        async move {
            let _ = tx.send((
                event.data().kind,
                event.data().key.clone(),
                event.data().size,
            ));
            Ok(())
        }
    });
    let running = host()
        .start(app, Env::on_memory(&memory))
        .await
        .expect("start");
    let bucket = memory.bucket("uploads");
    bucket.put("a/b.txt", "hello").await.expect("put");
    bucket.delete("a/b.txt").await.expect("delete");
    let first = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("event in time");
    assert_eq!(
        first,
        Some((BlobEventKind::Created, "a/b.txt".to_owned(), Some(5)))
    );
    let second = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("event in time");
    assert_eq!(
        second,
        Some((BlobEventKind::Deleted, "a/b.txt".to_owned(), None))
    );
    running.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn schedules_tick() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let app = App::new().on_schedule(
        "tick",
        Schedule::every(Duration::from_secs(1)),
        move |event: Event<ScheduleTick>, _env| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(event.data().schedule.clone());
                Ok(())
            }
        },
    );
    let running = host().start(app, Env::memory()).await.expect("start");
    let got = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("tick in time");
    assert_eq!(got.as_deref(), Some("tick"));
    running.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn blob_triggers_need_a_change_feed() {
    use cloudport::mock::MockBlobDriver;
    let mut driver = MockBlobDriver::with_defaults();
    driver.expect_subscribe().returning(|| None);
    let env = Env::builder()
        .bucket("uploads", cloudport::Bucket::new(driver))
        .build();
    let app = App::new().on_blob("uploads", |_e: Event<BlobEvent>, _env| async { Ok(()) });
    let err = host().start(app, env).await.expect_err("no feed");
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}
