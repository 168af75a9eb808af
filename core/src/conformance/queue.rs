//! Queue checks.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{Fixture, assert_kind};
use crate::{ErrorKind, Message, Queue, ReceiveOptions, ReceivedMessage};

/// A lease the queue accepts and a test can wait out: the provider's minimum, at least 2 s.
fn short_lease(queue: &Queue) -> Duration {
    queue.capabilities().min_lease.max(Duration::from_secs(2))
}

fn opts(queue: &Queue, lease: Duration, wait: Duration) -> ReceiveOptions {
    let caps = queue.capabilities();
    ReceiveOptions::default()
        .max_messages(caps.max_batch_receive.min(10))
        .lease(lease)
        .wait(wait.min(caps.max_wait))
}

/// Receives until `n` messages arrived or `attempts` receives came back empty in a row.
pub async fn receive_n(queue: &Queue, n: usize, options: ReceiveOptions) -> Vec<ReceivedMessage> {
    let mut out = Vec::new();
    let mut empty = 0;
    while out.len() < n && empty < 10 {
        let got = queue
            .receive(options)
            .await
            .unwrap_or_else(|e| panic!("receive failed: {e}"));
        if got.is_empty() {
            empty += 1;
        } else {
            empty = 0;
            out.extend(got);
        }
    }
    out
}

/// A receive (waiting as long as the fixture's receives do) that expects nothing visible.
async fn assert_nothing_visible(queue: &Queue, wait: Duration, what: &str) {
    let caps = queue.capabilities();
    let options = ReceiveOptions::default()
        .max_messages(caps.max_batch_receive.min(10))
        .lease(caps.min_lease.max(Duration::from_secs(1)))
        .wait(wait.min(caps.max_wait));
    let got = queue.receive(options).await.expect("receive");
    assert!(
        got.is_empty(),
        "{what}: expected no visible message, got {got:?}"
    );
}

/// Send, receive (body, content type, attributes, id, delivery count 1), ack: gone for good.
pub async fn queue_send_receive_ack(f: &dyn Fixture) {
    let q = f.queue().await;
    let msg = Message::new("hello")
        .with_content_type("text/plain")
        .with_attribute("tenant", "acme");
    let id = q.send(msg).await.expect("send");
    let lease = short_lease(&q);
    let got = receive_n(&q, 1, opts(&q, lease, f.wait())).await;
    assert_eq!(got.len(), 1, "one message sent, {} received", got.len());
    let m = &got[0];
    assert_eq!(m.id, id, "received id differs from the id send returned");
    assert_eq!(m.text().expect("utf-8"), "hello");
    assert_eq!(m.content_type.as_deref(), Some("text/plain"));
    assert_eq!(m.attributes.get("tenant").map(String::as_str), Some("acme"));
    if q.capabilities().delivery_count {
        assert_eq!(m.delivery_count, 1, "first delivery counts 1");
    }
    q.ack(m).await.expect("ack");
    f.advance(lease + f.slack()).await;
    assert_nothing_visible(&q, f.wait(), "after ack and the lease's end").await;
}

/// A leased message is invisible to others until the lease ends, then delivered again with a
/// higher delivery count.
pub async fn queue_lease_hides_and_expires(f: &dyn Fixture) {
    let q = f.queue().await;
    q.send("lease me").await.expect("send");
    let lease = short_lease(&q);
    let first = receive_n(&q, 1, opts(&q, lease, f.wait())).await;
    assert_eq!(first.len(), 1);
    assert_nothing_visible(&q, f.wait(), "during the lease").await;
    f.advance(lease + f.slack()).await;
    let again = receive_n(&q, 1, opts(&q, lease, f.wait())).await;
    assert_eq!(
        again.len(),
        1,
        "the message must return when its lease ends"
    );
    assert_eq!(again[0].id, first[0].id);
    if q.capabilities().delivery_count {
        assert_eq!(again[0].delivery_count, 2, "second delivery counts 2");
    }
    q.ack(&again[0]).await.expect("ack with the newest lease");
}

/// A nack makes the message visible again at once, or after the delay asked for.
pub async fn queue_nack_redelivers(f: &dyn Fixture) {
    let q = f.queue().await;
    q.send("nack me").await.expect("send");
    let lease =
        Duration::from_secs(60).clamp(q.capabilities().min_lease, q.capabilities().max_lease);
    let first = receive_n(&q, 1, opts(&q, lease, f.wait())).await;
    q.nack(&first[0], Duration::ZERO).await.expect("nack");
    let second = receive_n(&q, 1, opts(&q, lease, f.wait())).await;
    assert_eq!(second.len(), 1, "a nacked message must be visible again");
    if q.capabilities().delivery_count {
        assert_eq!(second[0].delivery_count, 2);
    }
    if q.capabilities().delayed_nack {
        let delay = Duration::from_secs(3);
        q.nack(&second[0], delay).await.expect("nack with delay");
        assert_nothing_visible(&q, f.wait(), "during the nack delay").await;
        f.advance(delay + f.slack()).await;
        let third = receive_n(&q, 1, opts(&q, lease, f.wait())).await;
        assert_eq!(
            third.len(),
            1,
            "the message must return after the nack delay"
        );
        q.ack(&third[0]).await.expect("ack");
    } else {
        assert_kind(
            q.nack(&second[0], Duration::from_secs(3)).await,
            ErrorKind::Unsupported,
            "delayed nack on a queue without it",
        );
    }
}

/// Extending a lease keeps the message hidden past its first lease; the updated lease acks.
pub async fn queue_extend_lease(f: &dyn Fixture) {
    let q = f.queue().await;
    q.send("hold me").await.expect("send");
    let lease = short_lease(&q);
    let mut got = receive_n(&q, 1, opts(&q, lease, f.wait())).await;
    let mut m = got.remove(0);
    if !q.capabilities().extend_lease {
        assert_kind(
            q.extend_lease(&mut m, lease).await,
            ErrorKind::Unsupported,
            "extend_lease on a queue without it",
        );
        return;
    }
    q.extend_lease(&mut m, lease * 4)
        .await
        .expect("extend lease");
    f.advance(lease + f.slack()).await;
    assert_nothing_visible(&q, f.wait(), "after the first lease, within the extension").await;
    q.ack(&m).await.expect("ack with the extended lease");
    f.advance(lease * 4 + f.slack()).await;
    assert_nothing_visible(&q, f.wait(), "after ack").await;
}

/// A delayed send stays invisible until its delay passes.
pub async fn queue_delayed_send(f: &dyn Fixture) {
    let q = f.queue().await;
    let delay = Duration::from_secs(3);
    if !q.capabilities().delayed_send {
        assert_kind(
            q.send(Message::new("later").with_delay(delay)).await,
            ErrorKind::Unsupported,
            "delayed send on a queue without it",
        );
        return;
    }
    q.send(Message::new("later").with_delay(delay))
        .await
        .expect("delayed send");
    assert_nothing_visible(&q, f.wait(), "during the send delay").await;
    f.advance(delay + f.slack()).await;
    let got = receive_n(&q, 1, opts(&q, short_lease(&q), f.wait())).await;
    assert_eq!(got.len(), 1, "the delayed message must arrive");
    q.ack(&got[0]).await.expect("ack");
}

/// A batch larger than the provider's batch limit is chunked; each message gets its own result;
/// invalid ones fail alone, typed, and the rest arrive.
pub async fn queue_send_batch_reports_per_item(f: &dyn Fixture) {
    let q = f.queue().await;
    let caps = q.capabilities().clone();
    let n = caps.max_batch_send * 2 + 5;
    let mut messages: Vec<Message> = (0..n).map(|i| Message::new(format!("m{i}"))).collect();
    messages[3] = Message::new("");
    messages[7] = Message::new(vec![b'x'; caps.max_message_bytes + 1]);
    let results = q.send_batch(messages).await;
    assert_eq!(results.len(), n, "one result per message");
    assert_kind(
        results[3].clone_result(),
        ErrorKind::InvalidArgument,
        "empty message in batch",
    );
    assert_kind(
        results[7].clone_result(),
        ErrorKind::TooLarge,
        "oversize message in batch",
    );
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, n - 2, "every valid message must be sent");
    let got = receive_all(&q, n - 2, f.wait()).await;
    let bodies: BTreeSet<String> = got
        .iter()
        .map(|m| m.text().expect("utf-8").to_owned())
        .collect();
    for i in (0..n).filter(|i| *i != 3 && *i != 7) {
        assert!(
            bodies.contains(&format!("m{i}")),
            "message m{i} was not delivered"
        );
    }
}

/// Receives and acks until `n` distinct messages were seen.
async fn receive_all(q: &Queue, n: usize, wait: Duration) -> Vec<ReceivedMessage> {
    let mut seen = BTreeMap::new();
    let mut empty = 0;
    let lease =
        Duration::from_secs(60).clamp(q.capabilities().min_lease, q.capabilities().max_lease);
    while seen.len() < n && empty < 10 {
        let got = q.receive(opts(q, lease, wait)).await.expect("receive");
        if got.is_empty() {
            empty += 1;
        }
        for m in got {
            q.ack(&m).await.expect("ack");
            seen.insert(m.id.clone(), m);
        }
    }
    seen.into_values().collect()
}

trait CloneResult {
    fn clone_result(&self) -> crate::Result<String>;
}

impl CloneResult for crate::Result<String> {
    fn clone_result(&self) -> crate::Result<String> {
        match self {
            Ok(s) => Ok(s.clone()),
            Err(e) => Err(e.clone_without_source()),
        }
    }
}

/// Bad input fails typed: empty and oversize bodies, bad attribute names, bad receive options.
pub async fn queue_rejects_bad_input(f: &dyn Fixture) {
    let q = f.queue().await;
    let caps = q.capabilities().clone();
    assert_kind(
        q.send(Message::new("")).await,
        ErrorKind::InvalidArgument,
        "empty body",
    );
    assert_kind(
        q.send(Message::new(vec![b'x'; caps.max_message_bytes + 1]))
            .await,
        ErrorKind::TooLarge,
        "oversize body",
    );
    if caps.attributes {
        assert_kind(
            q.send(Message::new("x").with_attribute("Bad-Name", "v"))
                .await,
            ErrorKind::InvalidArgument,
            "attribute name outside the CloudEvents rule",
        );
    }
    assert_kind(
        q.receive(ReceiveOptions::default().max_messages(0)).await,
        ErrorKind::InvalidArgument,
        "receive of 0 messages",
    );
    assert_kind(
        q.receive(ReceiveOptions::default().max_messages(caps.max_batch_receive + 1))
            .await,
        ErrorKind::InvalidArgument,
        "receive over the batch limit",
    );
    assert_kind(
        q.receive(ReceiveOptions::default().lease(caps.max_lease + Duration::from_secs(1)))
            .await,
        ErrorKind::InvalidArgument,
        "lease over the limit",
    );
    assert_kind(
        q.send(Message::new("x").with_delay(caps.max_delay + Duration::from_secs(1)))
            .await,
        if caps.delayed_send {
            ErrorKind::InvalidArgument
        } else {
            ErrorKind::Unsupported
        },
        "delay over the limit",
    );
    assert_nothing_visible(&q, f.wait(), "after rejected sends").await;
}

/// A message delivered `max_deliveries` times without an ack moves to the dead-letter queue with
/// its body and attributes, and is not delivered again. (Where the queue reports no delivery
/// counts the portable policy is `Unsupported`.)
pub async fn queue_dead_letter_after_max_deliveries(f: &dyn Fixture) {
    let dlq = f.queue().await;
    let q = f.queue().await.with_dead_letter(dlq.clone(), 2);
    if !q.capabilities().delivery_count {
        assert_kind(
            q.receive(ReceiveOptions::default()).await,
            ErrorKind::Unsupported,
            "dead-lettering without delivery counts",
        );
        return;
    }
    q.send(Message::new("poison").with_attribute("kind", "test"))
        .await
        .expect("send");
    let lease =
        Duration::from_secs(60).clamp(q.capabilities().min_lease, q.capabilities().max_lease);
    for delivery in 1..=2 {
        let got = receive_n(&q, 1, opts(&q, lease, f.wait())).await;
        assert_eq!(got.len(), 1, "delivery {delivery} must happen");
        assert_eq!(got[0].delivery_count, delivery);
        q.nack(&got[0], Duration::ZERO).await.expect("nack");
    }
    // The third delivery moves it instead; poll until the move happened.
    let mut dead = Vec::new();
    for _ in 0..10 {
        let third = q.receive(opts(&q, lease, f.wait())).await.expect("receive");
        assert!(
            third.is_empty(),
            "a message over its delivery limit must not be delivered: {third:?}"
        );
        dead = dlq
            .receive(opts(&dlq, lease, f.wait()))
            .await
            .expect("receive dead letters");
        if !dead.is_empty() {
            break;
        }
    }
    assert_eq!(
        dead.len(),
        1,
        "the message must be in the dead-letter queue"
    );
    assert_eq!(dead[0].text().expect("utf-8"), "poison");
    assert_eq!(
        dead[0].attributes.get("kind").map(String::as_str),
        Some("test")
    );
    dlq.ack(&dead[0]).await.expect("ack");
    assert_nothing_visible(&q, f.wait(), "after dead-lettering").await;
}

/// 1,000 messages, four concurrent consumers that fail every poison message: every good message is
/// handled, every poison one is dead-lettered, none is lost.
pub async fn queue_thousand_messages_failing_consumer(f: &dyn Fixture) {
    const N: usize = 1000;
    let dlq = f.queue().await;
    let q = f.queue().await.with_dead_letter(dlq.clone(), 3);
    if !q.capabilities().delivery_count {
        return;
    }
    let is_poison = |i: usize| i % 10 == 7;
    let results = q.send_batch((0..N).map(|i| format!("msg-{i}"))).await;
    assert!(
        results.iter().all(Result::is_ok),
        "all 1000 sends must succeed"
    );

    let handled = Arc::new(Mutex::new(BTreeSet::new()));
    let lease =
        Duration::from_secs(60).clamp(q.capabilities().min_lease, q.capabilities().max_lease);
    let mut consumers = Vec::new();
    for _ in 0..4 {
        let (q, handled, wait) = (q.clone(), handled.clone(), f.wait());
        consumers.push(tokio::spawn(async move {
            let mut empty = 0;
            while empty < 5 {
                let got = q.receive(opts(&q, lease, wait)).await.expect("receive");
                if got.is_empty() {
                    empty += 1;
                    continue;
                }
                empty = 0;
                for m in got {
                    let body = m.text().expect("utf-8").to_owned();
                    let i: usize = body["msg-".len()..].parse().expect("index");
                    if is_poison(i) {
                        q.nack(&m, Duration::ZERO).await.expect("nack");
                    } else {
                        q.ack(&m).await.expect("ack");
                        handled.lock().expect("lock").insert(i);
                    }
                }
            }
        }));
    }
    for c in consumers {
        c.await.expect("consumer task");
    }
    // Stragglers: poison messages whose redelivery had not shown yet when the consumers stopped
    // keep cycling here until the queue moves them.
    let mut idle = 0;
    while idle < 10 {
        let got = q.receive(opts(&q, lease, f.wait())).await.expect("receive");
        if got.is_empty() {
            idle += 1;
            continue;
        }
        idle = 0;
        for m in got {
            let i: usize = m.text().expect("utf-8")["msg-".len()..]
                .parse()
                .expect("index");
            if is_poison(i) {
                q.nack(&m, Duration::ZERO).await.expect("nack");
            } else {
                q.ack(&m).await.expect("ack");
                handled.lock().expect("lock").insert(i);
            }
        }
    }
    let handled = handled.lock().expect("lock").clone();
    let expected: BTreeSet<usize> = (0..N).filter(|i| !is_poison(*i)).collect();
    assert_eq!(
        handled.len(),
        expected.len(),
        "every good message must be handled; missing: {:?}",
        expected.difference(&handled).take(10).collect::<Vec<_>>()
    );
    let dead = receive_all(&dlq, N / 10, f.wait()).await;
    let dead: BTreeSet<usize> = dead
        .iter()
        .map(|m| {
            m.text().expect("utf-8")["msg-".len()..]
                .parse()
                .expect("index")
        })
        .collect();
    let poison: BTreeSet<usize> = (0..N).filter(|i| is_poison(*i)).collect();
    assert_eq!(
        dead, poison,
        "exactly the poison messages must be dead-lettered"
    );
}
