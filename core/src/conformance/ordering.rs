//! Ordered-queue checks: a queue that claims [`QueueCapabilities::ordering`] keeps send order per
//! ordering key and holds a key back while one of its messages is leased; one that claims
//! [`QueueCapabilities::deduplication`] drops a repeated deduplication id; one that claims neither
//! refuses them with `Unsupported`.
//!
//! Ordered queues are often separate resources (an SQS FIFO queue's name ends in `.fifo`; a
//! Pub/Sub subscription must have message ordering enabled), so these checks take an
//! [`OrderingFixture`] and have a macro of their own:
//!
//! ```text
//! cloudport_core::ordering_conformance_tests! {
//!     #[ignore = "needs emulators: ./scripts/test.sh"]
//!     fixture = MyFixture::new()
//! }
//! ```
//!
//! [`QueueCapabilities::ordering`]: crate::QueueCapabilities::ordering
//! [`QueueCapabilities::deduplication`]: crate::QueueCapabilities::deduplication

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use super::{Fixture, assert_kind, skipped_for_gap};
use crate::{ErrorKind, Message, Queue, ReceiveOptions, ReceivedMessage};

/// What a provider gives the ordering checks beyond [`Fixture`].
#[async_trait]
pub trait OrderingFixture: Fixture {
    /// A new, empty queue that keeps order per ordering key and that no other check uses — an SQS
    /// FIFO queue, a Pub/Sub topic whose subscription has message ordering enabled, a memory
    /// queue — or `None` when the provider has none: then the checks expect [`Fixture::queue`]
    /// to refuse ordering keys.
    async fn ordered_queue(&self) -> Option<Queue>;
}

/// A lease long enough that it does not end during a check's receives.
fn lease(queue: &Queue) -> Duration {
    let caps = queue.capabilities();
    Duration::from_secs(30).clamp(caps.min_lease, caps.max_lease)
}

fn options(queue: &Queue, max: usize, wait: Duration) -> ReceiveOptions {
    let caps = queue.capabilities();
    ReceiveOptions::default()
        .max_messages(max.min(caps.max_batch_receive))
        .lease(lease(queue))
        .wait(wait.min(caps.max_wait))
}

fn keyed(key: &str, i: usize) -> Message {
    Message::new(format!("{key}-{i}")).with_ordering_key(key)
}

fn body(m: &ReceivedMessage) -> String {
    m.text().expect("UTF-8 body").to_owned()
}

/// Receives, acking each batch in order, until `n` messages arrived or five receives in a row
/// came back empty; returns the bodies in receive order.
async fn drain(f: &dyn OrderingFixture, q: &Queue, n: usize) -> Vec<ReceivedMessage> {
    let mut out = Vec::new();
    let mut empty = 0;
    while out.len() < n && empty < 5 {
        let got = q
            .receive(options(q, 10, f.wait().max(Duration::from_millis(1))))
            .await
            .unwrap_or_else(|e| panic!("receive failed: {e}"));
        if got.is_empty() {
            empty += 1;
            continue;
        }
        empty = 0;
        for m in &got {
            q.ack(m).await.unwrap_or_else(|e| panic!("ack failed: {e}"));
        }
        out.extend(got);
    }
    out
}

async fn ordered(f: &dyn OrderingFixture, check: &str) -> Option<Queue> {
    let q = f.ordered_queue().await;
    match &q {
        Some(q) => assert!(
            q.capabilities().ordering,
            "{check}: the fixture's ordered queue does not claim the ordering capability"
        ),
        None => eprintln!("conformance: {check} skipped: the provider has no ordered queue"),
    }
    q
}

/// A queue without ordering (deduplication) refuses a message with an ordering key
/// (deduplication id) as `Unsupported` before any call; an ordered queue refuses an empty key.
pub async fn ordering_refused_where_unsupported(f: &dyn OrderingFixture) {
    let q = f.queue().await;
    let caps = q.capabilities().clone();
    if !caps.ordering {
        assert_kind(
            q.send(keyed("k", 0)).await,
            ErrorKind::Unsupported,
            "an ordering key on a queue without ordering",
        );
        let batch = q.send_batch([keyed("k", 1)]).await;
        assert_kind(
            batch.into_iter().next().expect("one result"),
            ErrorKind::Unsupported,
            "an ordering key in a batch on a queue without ordering",
        );
    }
    if !caps.deduplication {
        assert_kind(
            q.send(Message::new("x").with_deduplication_id("d-1")).await,
            ErrorKind::Unsupported,
            "a deduplication id on a queue without deduplication",
        );
    }
    if let Some(oq) = f.ordered_queue().await {
        assert!(
            oq.capabilities().ordering,
            "the ordered queue claims ordering"
        );
        assert_kind(
            oq.send(Message::new("x").with_ordering_key("")).await,
            ErrorKind::InvalidArgument,
            "an empty ordering key",
        );
    } else {
        assert!(
            !caps.ordering,
            "the plain queue claims ordering, so the fixture must give an ordered queue"
        );
    }
}

/// Three keys' messages, interleaved, sent one by one and in a batch, come back in send order per
/// key, each with its key.
pub async fn ordering_keeps_send_order_per_key(f: &dyn OrderingFixture) {
    let Some(q) = ordered(f, "ordering_keeps_send_order_per_key").await else {
        return;
    };
    const KEYS: [&str; 3] = ["a", "b", "c"];
    for i in 0..2 {
        for key in KEYS {
            q.send(keyed(key, i)).await.expect("send");
        }
    }
    let batch = q
        .send_batch((2..5).flat_map(|i| KEYS.map(|key| keyed(key, i))))
        .await;
    assert!(batch.iter().all(Result::is_ok), "batch send: {batch:?}");
    let got = drain(f, &q, 15).await;
    let mut per_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in &got {
        let key = m.ordering_key().expect("a received message keeps its key");
        per_key.entry(key.to_owned()).or_default().push(body(m));
    }
    for key in KEYS {
        let want: Vec<String> = (0..5).map(|i| format!("{key}-{i}")).collect();
        assert_eq!(
            per_key.get(key),
            Some(&want),
            "key {key}: not delivered in send order (all received: {:?})",
            got.iter().map(body).collect::<Vec<_>>()
        );
    }
}

/// While a key's first message is leased, the key's later messages are not delivered — another
/// key's are; after a nack the first comes back before the rest (emulator gap
/// `"queue.ordering.redelivery"`: a nacked message redelivered after the key's later ones).
pub async fn ordering_holds_a_key_while_leased(f: &dyn OrderingFixture) {
    let Some(q) = ordered(f, "ordering_holds_a_key_while_leased").await else {
        return;
    };
    for i in 0..2 {
        q.send(keyed("a", i)).await.expect("send");
    }
    let mut first = Vec::new();
    for _ in 0..5 {
        first = q.receive(options(&q, 1, f.wait())).await.expect("receive");
        if !first.is_empty() {
            break;
        }
    }
    assert_eq!(first.iter().map(body).collect::<Vec<_>>(), ["a-0"]);
    let held = q.receive(options(&q, 10, f.wait())).await.expect("receive");
    assert!(
        held.is_empty(),
        "a-1 was delivered while a-0 is leased: {:?}",
        held.iter().map(body).collect::<Vec<_>>()
    );
    q.send(keyed("b", 0)).await.expect("send");
    let other = drain(f, &q, 1).await;
    assert_eq!(
        other.iter().map(body).collect::<Vec<_>>(),
        ["b-0"],
        "another key is not held back, and a-1 still is"
    );
    q.nack(&first[0], Duration::ZERO).await.expect("nack");
    let mut again: Vec<String> = drain(f, &q, 2).await.iter().map(body).collect();
    if skipped_for_gap(f, "queue.ordering.redelivery") {
        again.sort();
    }
    assert_eq!(
        again,
        ["a-0", "a-1"],
        "after the nack, a-0 comes back before a-1"
    );
}

/// A message sent again with the same deduplication id is accepted and not delivered twice; a
/// different id is delivered.
pub async fn ordering_deduplicates_within_the_window(f: &dyn OrderingFixture) {
    let Some(q) = ordered(f, "ordering_deduplicates_within_the_window").await else {
        return;
    };
    if !q.capabilities().deduplication {
        eprintln!("conformance: the ordered queue does not deduplicate; skipped");
        return;
    }
    let send = |body: &'static str, id: &'static str| {
        q.send(
            Message::new(body)
                .with_ordering_key("k")
                .with_deduplication_id(id),
        )
    };
    send("once", "d-1").await.expect("first send");
    send("again", "d-1")
        .await
        .expect("a duplicate send succeeds");
    send("other", "d-2").await.expect("another id");
    let got = drain(f, &q, 3).await;
    assert_eq!(
        got.iter().map(body).collect::<Vec<_>>(),
        ["once", "other"],
        "the duplicate was delivered"
    );
}

/// Expands to one `#[tokio::test]` per ordering check, each on a fresh [`OrderingFixture`].
/// Attributes before `fixture =` go on every test.
#[macro_export]
macro_rules! ordering_conformance_tests {
    ($(#[$attr:meta])* fixture = $fixture:expr $(,)?) => {
        $crate::ordering_conformance_tests!(@all [$(#[$attr])*] $fixture;
            ordering_refused_where_unsupported,
            ordering_keeps_send_order_per_key,
            ordering_holds_a_key_while_leased,
            ordering_deduplicates_within_the_window
        );
    };
    (@all $attrs:tt $fixture:expr; $($check:ident),* $(,)?) => {
        $( $crate::ordering_conformance_tests!(@one $attrs $fixture; $check); )*
    };
    (@one $attrs:tt $fixture:expr; $check:ident) => {
        $crate::__conformance_check!($attrs $fixture; ordering; $check);
    };
}
