//! Memory's ordered queues beyond the conformance checks: the deduplication window on the
//! world's clock, keys blocked by delays and redelivery after a lease ends, and plain messages
//! untouched by keyed ones.

use std::time::Duration;

use cloudport_core::queue::ordering::DEDUPLICATION_WINDOW;
use cloudport_core::{ErrorKind, Message, ReceiveOptions, ReceivedMessage};
use cloudport_memory::{Clock, Memory};

fn bodies(got: &[ReceivedMessage]) -> Vec<&str> {
    got.iter().map(|m| m.text().expect("UTF-8")).collect()
}

#[tokio::test]
async fn a_deduplication_id_is_remembered_for_five_minutes_of_the_worlds_clock() {
    let memory = Memory::with_clock(Clock::manual());
    let q = memory.queue("payments");
    let pay = |body: &'static str| Message::new(body).with_deduplication_id("invoice-7");
    let first = q.send(pay("first")).await.unwrap();
    memory
        .clock()
        .advance(DEDUPLICATION_WINDOW - Duration::from_secs(1))
        .unwrap();
    let duplicate = q.send(pay("duplicate")).await.unwrap();
    assert_eq!(
        duplicate, first,
        "a duplicate send answers with the first message's id"
    );
    // Acked or not, the id is remembered for the whole window (as SQS does).
    let got = q.receive(ReceiveOptions::default()).await.unwrap();
    assert_eq!(bodies(&got), ["first"]);
    q.ack(&got[0]).await.unwrap();
    memory.clock().advance(Duration::from_secs(1)).unwrap();
    let later = q.send(pay("after the window")).await.unwrap();
    assert_ne!(later, first);
    let got = q.receive(ReceiveOptions::default()).await.unwrap();
    assert_eq!(bodies(&got), ["after the window"]);
}

#[tokio::test]
async fn a_delayed_or_expired_message_holds_back_its_key_only() {
    let memory = Memory::with_clock(Clock::manual());
    let q = memory.queue("ledger");
    q.send(
        Message::new("a-0")
            .with_ordering_key("a")
            .with_delay(Duration::from_secs(10)),
    )
    .await
    .unwrap();
    q.send(Message::new("a-1").with_ordering_key("a"))
        .await
        .unwrap();
    q.send("plain").await.unwrap();
    q.send(Message::new("b-0").with_ordering_key("b"))
        .await
        .unwrap();
    let lease = Duration::from_secs(30);
    let got = q
        .receive(ReceiveOptions::default().lease(lease))
        .await
        .unwrap();
    assert_eq!(
        bodies(&got),
        ["plain", "b-0"],
        "a-1 waits for the delayed a-0"
    );
    memory.clock().advance(Duration::from_secs(10)).unwrap();
    let a = q
        .receive(ReceiveOptions::default().lease(lease))
        .await
        .unwrap();
    assert_eq!(
        bodies(&a),
        ["a-0", "a-1"],
        "one receive may take a key's run, in order"
    );
    // The lease ends without an ack: the key comes back whole, in order.
    memory.clock().advance(lease).unwrap();
    let again = q.receive(ReceiveOptions::default()).await.unwrap();
    assert_eq!(bodies(&again), ["a-0", "a-1", "plain", "b-0"]);
    assert!(again.iter().all(|m| m.delivery_count == 2));
}

#[tokio::test]
async fn max_messages_cuts_a_keys_run_without_reordering_it() {
    let q = Memory::new().queue("ledger");
    q.send_batch((0..5).map(|i| Message::new(format!("a-{i}")).with_ordering_key("a")))
        .await;
    let two = q
        .receive(ReceiveOptions::default().max_messages(2))
        .await
        .unwrap();
    assert_eq!(bodies(&two), ["a-0", "a-1"]);
    assert!(
        q.receive(ReceiveOptions::default())
            .await
            .unwrap()
            .is_empty()
    );
    for m in &two {
        q.ack(m).await.unwrap();
    }
    let rest = q.receive(ReceiveOptions::default()).await.unwrap();
    assert_eq!(bodies(&rest), ["a-2", "a-3", "a-4"]);
}

#[tokio::test]
async fn a_queue_opened_without_ordering_refuses_keys() {
    use cloudport_core::QueueCapabilities;
    let plain = QueueCapabilities {
        ordering: false,
        deduplication: false,
        ..QueueCapabilities::default()
    };
    let q = Memory::new().queue_with_capabilities("plain", plain);
    let e = q
        .send(Message::new("x").with_ordering_key("k"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    let e = q
        .send(Message::new("x").with_deduplication_id("d"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
}

#[tokio::test]
async fn a_refused_message_holds_back_the_rest_of_its_key_in_the_batch() {
    use cloudport_memory::{ENTRY_SEND, Fault};
    let memory = Memory::new();
    let q = memory.queue("ledger");
    // The first entry the provider sees (a-0) is refused, permanently.
    memory.faults().inject(
        Fault::error(ErrorKind::InvalidArgument)
            .on_operation(ENTRY_SEND)
            .times(1)
            .temporary(false),
    );
    let batch = ["a-0", "b-0", "a-1", "b-1"].map(|b| Message::new(b).with_ordering_key(&b[..1]));
    let results = q.send_batch(batch).await;
    let kinds: Vec<_> = results
        .iter()
        .map(|r| r.as_ref().err().map(|e| e.kind()))
        .collect();
    assert_eq!(
        kinds,
        [
            Some(ErrorKind::InvalidArgument),
            None,
            Some(ErrorKind::InvalidArgument),
            None
        ],
        "a-1 is not sent after a-0 failed: {results:?}"
    );
    assert!(
        results[2]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("not sent")
    );
    let got = q.receive(ReceiveOptions::default()).await.unwrap();
    assert_eq!(bodies(&got), ["b-0", "b-1"]);
}

#[tokio::test]
async fn a_message_failing_the_checks_holds_back_the_rest_of_its_key() {
    let q = Memory::new().queue("ledger");
    let results = q
        .send_batch([
            Message::new("").with_ordering_key("a"), // an empty body: refused before the call
            Message::new("a-1").with_ordering_key("a"),
            Message::new("b-0").with_ordering_key("b"),
        ])
        .await;
    assert!(results[0].is_err() && results[1].is_err(), "{results:?}");
    assert!(results[2].is_ok());
}

#[tokio::test]
async fn a_key_failed_in_one_chunk_is_held_back_in_the_next() {
    use cloudport_memory::{ENTRY_SEND, Fault};
    let memory = Memory::new();
    let q = memory.queue("ledger");
    memory.faults().inject(
        Fault::error(ErrorKind::InvalidArgument)
            .on_operation(ENTRY_SEND)
            .times(1)
            .temporary(false),
    );
    // Ten per chunk: a-0 and nine b's in the first, a-1 in the second.
    let mut batch = vec![Message::new("a-0").with_ordering_key("a")];
    batch.extend((0..9).map(|i| Message::new(format!("b-{i}")).with_ordering_key("b")));
    batch.push(Message::new("a-1").with_ordering_key("a"));
    let results = q.send_batch(batch).await;
    assert!(results[0].is_err());
    assert!(results[1..10].iter().all(Result::is_ok), "{results:?}");
    let held = results[10].as_ref().unwrap_err();
    assert!(held.to_string().contains("not sent"), "{held}");
}
