//! What the memory provider promises beyond the conformance suite: stale leases, faults, latency,
//! the virtual clock, and rehearsing another provider's limits.

use std::time::Duration;

use cloudport_core::{ErrorKind, Precondition, QueueCapabilities, ReceiveOptions};
use cloudport_memory::{Clock, Fault, Memory};

#[tokio::test]
async fn a_lease_superseded_by_a_redelivery_is_lost() {
    let memory = Memory::with_clock(Clock::manual());
    let q = memory.queue("q");
    q.send("x").await.unwrap();
    let lease = Duration::from_secs(5);
    let first = q
        .receive(ReceiveOptions::default().lease(lease))
        .await
        .unwrap();
    memory.clock().advance(lease).unwrap();
    let second = q
        .receive(ReceiveOptions::default().lease(lease))
        .await
        .unwrap();
    let err = q.ack(&first[0]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LeaseLost);
    q.ack(&second[0]).await.unwrap();
    assert!(memory.queue_driver("q").is_empty());
}

#[tokio::test]
async fn an_expired_lease_cannot_be_extended() {
    let memory = Memory::with_clock(Clock::manual());
    let q = memory.queue("q");
    q.send("x").await.unwrap();
    let mut m = q
        .receive(ReceiveOptions::default().lease(Duration::from_secs(2)))
        .await
        .unwrap()
        .remove(0);
    memory.clock().advance(Duration::from_secs(3)).unwrap();
    let err = q
        .extend_lease(&mut m, Duration::from_secs(10))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LeaseLost);
}

#[tokio::test]
async fn faults_target_operations_and_resources() {
    let memory = Memory::new();
    memory.faults().inject(
        Fault::error(ErrorKind::RateLimited)
            .on_operation("queue.send")
            .on_resource("hot")
            .times(2),
    );
    memory.queue("cold").send("x").await.unwrap();
    // Without retries, to see each injected failure.
    let hot = memory
        .queue("hot")
        .with_retry(cloudport_core::RetryPolicy::none());
    for _ in 0..2 {
        let err = hot.send("x").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert!(err.is_temporary());
        assert_eq!(err.provider(), Some("memory"));
        assert_eq!(err.resource(), Some("hot"));
    }
    hot.send("x").await.unwrap();
    assert_eq!(memory.faults().pending(), 0);

    memory
        .faults()
        .inject(Fault::error(ErrorKind::Unavailable).temporary(false));
    assert!(!memory.kv("k").get("a").await.unwrap_err().is_temporary());
}

#[tokio::test]
async fn latency_slows_every_call() {
    let memory = Memory::new();
    memory.faults().set_latency(Some(Duration::from_millis(30)));
    let start = std::time::Instant::now();
    memory
        .kv("k")
        .put("a", "b", Precondition::None)
        .await
        .unwrap();
    assert!(start.elapsed() >= Duration::from_millis(30));
    memory.faults().clear();
}

#[tokio::test]
async fn a_queue_can_rehearse_a_providers_limits() {
    let memory = Memory::new();
    let azure_like = QueueCapabilities {
        max_message_bytes: 64 * 1024,
        ..QueueCapabilities::default()
    };
    let q = memory.queue_with_capabilities("q", azure_like);
    assert_eq!(
        q.send(vec![1u8; 64 * 1024 + 1]).await.unwrap_err().kind(),
        ErrorKind::TooLarge
    );
    q.send(vec![1u8; 64 * 1024]).await.unwrap();
}

#[tokio::test]
async fn a_receive_waits_for_a_send() {
    let memory = Memory::new();
    let q = memory.queue("q");
    let sender = q.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        sender.send("late").await.unwrap();
    });
    let got = q
        .receive(ReceiveOptions::default().wait(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(
        got.len(),
        1,
        "long polling returns the message sent during the wait"
    );
}

#[tokio::test]
async fn worlds_are_separate_and_clones_share() {
    let a = Memory::new();
    let b = Memory::new();
    a.kv("k").put("x", "1", Precondition::None).await.unwrap();
    assert!(b.kv("k").get("x").await.unwrap().is_none());
    assert!(a.clone().kv("k").get("x").await.unwrap().is_some());
}

#[tokio::test]
async fn paging_past_a_folder_like_object_keeps_its_children() {
    use cloudport_core::ListOptions;
    let bucket = Memory::new().bucket("b");
    for key in ["a/", "a/x", "a/y"] {
        bucket.put(key, "x").await.unwrap();
    }
    let mut seen = Vec::new();
    let mut options = ListOptions::prefix("a/").delimiter("/").page_size(1);
    loop {
        let page = bucket.list(options.clone()).await.unwrap();
        seen.extend(page.objects.into_iter().map(|o| o.key));
        seen.extend(page.common_prefixes);
        match page.next_page_token {
            Some(t) => options = options.page_token(t),
            None => break,
        }
    }
    assert_eq!(seen, ["a/", "a/x", "a/y"]);
}
