//! Large messages by claim check, on the memory provider under Azure's limits (48 KiB messages):
//! round trips through the driver and through the hosts' path, the object's lifetime, and the
//! opt-out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cloudport_core::claim_check::{self, Resolved, resolve};
use cloudport_core::event::QueueMessage;
use cloudport_core::{App, Bucket, Env, ErrorKind, Message, Queue, ReceiveOptions, Trigger};
use cloudport_memory::{Clock, Fault, Memory, Profile};

const BIG: usize = 200 * 1024;

struct World {
    memory: Memory,
    env: Env,
    /// The claim-checked queue, as `Env` opens it.
    orders: Queue,
    /// The same queue without the claim check: what the platform carries.
    raw: Queue,
    payloads: Bucket,
}

fn world() -> World {
    let memory = Memory::with_clock(Clock::manual()).with_default_profile(Profile::Azure);
    let payloads = memory.bucket("payloads");
    let raw = memory.queue("orders");
    let orders = claim_check::wrap(raw.clone(), "payloads", payloads.clone());
    let env = Env::builder()
        .provider(memory.clone())
        .queue("orders", orders.clone())
        .bucket("payloads", payloads.clone())
        .build();
    World {
        memory,
        env,
        orders,
        raw,
        payloads,
    }
}

fn big_message() -> Message {
    let body: Vec<u8> = (0..BIG).map(|i| (i % 251) as u8).collect();
    Message::new(body)
        .with_content_type("application/vnd.apache.parquet")
        .with_attribute("tenant", "acme")
}

async fn claims(bucket: &Bucket) -> usize {
    bucket
        .list_all(claim_check::KEY_PREFIX)
        .await
        .unwrap()
        .len()
}

fn opts() -> ReceiveOptions {
    ReceiveOptions::default()
}

#[tokio::test]
async fn a_large_message_round_trips_and_its_object_goes_after_the_ack_only() {
    let w = world();
    let sent = big_message();
    w.orders.send(sent.clone()).await.unwrap();
    assert_eq!(claims(&w.payloads).await, 1);

    let got = w.orders.receive(opts()).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, sent.body);
    assert_eq!(got[0].content_type, sent.content_type);
    assert_eq!(got[0].attributes["tenant"], "acme");
    assert_eq!(claims(&w.payloads).await, 1, "not deleted before the ack");

    w.orders.ack(&got[0]).await.unwrap();
    assert_eq!(claims(&w.payloads).await, 0, "deleted after the ack");
    assert!(w.raw.receive(opts()).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_queue_carries_a_small_reference_with_the_attributes() {
    let w = world();
    w.orders.send(big_message()).await.unwrap();
    let carried = w.raw.receive(opts()).await.unwrap();
    assert_eq!(
        carried[0].content_type.as_deref(),
        Some(claim_check::CONTENT_TYPE)
    );
    assert_eq!(carried[0].attributes["tenant"], "acme");
    assert!(carried[0].body.len() < 512, "{}", carried[0].body.len());
}

#[tokio::test]
async fn a_failed_handling_finds_the_object_again() {
    let w = world();
    let sent = big_message();
    w.orders.send(sent.clone()).await.unwrap();
    let first = w.orders.receive(opts()).await.unwrap();
    w.orders.nack(&first[0], Duration::ZERO).await.unwrap();
    let again = w.orders.receive(opts()).await.unwrap();
    assert_eq!(again[0].body, sent.body);
    assert_eq!(again[0].delivery_count, 2);
    let mut again = again;
    w.orders
        .extend_lease(&mut again[0], Duration::from_secs(60))
        .await
        .unwrap();
    w.orders.ack(&again[0]).await.unwrap();
    assert_eq!(claims(&w.payloads).await, 0);
}

#[tokio::test]
async fn small_messages_and_batches_travel_as_before() {
    let w = world();
    let results = w
        .orders
        .send_batch([Message::new("small"), big_message(), Message::new("tiny")])
        .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(claims(&w.payloads).await, 1, "only the large one is stored");
    let got = w.orders.receive(opts().max_messages(10)).await.unwrap();
    let mut sizes: Vec<usize> = got.iter().map(|m| m.body.len()).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [4, 5, BIG]);
    for m in &got {
        w.orders.ack(m).await.unwrap();
    }
    assert_eq!(claims(&w.payloads).await, 0);
}

#[tokio::test]
async fn without_the_opt_in_a_large_message_is_too_large() {
    let w = world();
    let err = w.raw.send(big_message()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge);
    assert_eq!(claims(&w.payloads).await, 0);
}

/// An object that is gone (another subscription's consumer deleted it, it expired, the bucket is
/// bound differently here) is never taken as "handled": the reference is delivered unresolved,
/// so the consumer fails it and the dead-letter policy applies; nothing is acked behind its back.
#[tokio::test]
async fn a_reference_whose_object_is_gone_is_never_acked_unprocessed() {
    let w = world();
    w.orders.send(big_message()).await.unwrap();
    for meta in w.payloads.list_all(claim_check::KEY_PREFIX).await.unwrap() {
        w.payloads.delete(&meta.key).await.unwrap();
    }
    let got = w.orders.receive(opts()).await.unwrap();
    assert_eq!(got.len(), 1, "delivered, not skipped");
    assert_eq!(
        got[0].content_type.as_deref(),
        Some(claim_check::CONTENT_TYPE)
    );
    // Not acked: it comes back when its lease ends.
    w.memory.clock().advance(Duration::from_secs(3600)).unwrap();
    assert_eq!(w.raw.receive(opts()).await.unwrap().len(), 1);
}

/// A send whose response was lost may have gone through: its object must stay, or the message
/// would arrive with its object gone and end in the dead-letter queue unprocessed.
#[tokio::test]
async fn a_send_whose_response_was_lost_keeps_its_object() {
    let w = world();
    w.memory
        .faults()
        .inject(Fault::response_lost().on_operation("queue.send"));
    let err = w.orders.send(big_message()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    let got = w.orders.receive(opts()).await.unwrap();
    assert_eq!(got.len(), 1, "sent all the same");
    assert_eq!(got[0].body.len(), BIG);
}

#[tokio::test]
async fn a_failed_delete_never_fails_the_ack() {
    let w = world();
    w.orders.send(big_message()).await.unwrap();
    let got = w.orders.receive(opts()).await.unwrap();
    w.memory.faults().inject(
        Fault::error(ErrorKind::PermissionDenied)
            .on_operation("blob.delete")
            .times(10),
    );
    w.orders.ack(&got[0]).await.unwrap();
    w.memory.faults().clear();
    assert_eq!(claims(&w.payloads).await, 1, "left to the lifecycle rule");
    w.memory.clock().advance(Duration::from_secs(3600)).unwrap();
    assert!(w.raw.receive(opts()).await.unwrap().is_empty(), "acked");
}

#[tokio::test]
async fn a_failed_fetch_leaves_the_message_for_later() {
    let w = world();
    let sent = big_message();
    w.orders.send(sent.clone()).await.unwrap();
    w.memory.faults().inject(
        Fault::error(ErrorKind::Unavailable)
            .on_operation("blob.get")
            .times(10),
    );
    // Left leased (the portable retry may ask again and find nothing): not delivered, not lost.
    let first = w.orders.receive(opts()).await;
    assert!(first.as_ref().map_or(true, Vec::is_empty), "{first:?}");
    w.memory.faults().clear();
    w.memory.clock().advance(Duration::from_secs(3600)).unwrap();
    let got = w.orders.receive(opts()).await.unwrap();
    assert_eq!(got[0].body, sent.body);
}

/// What every host does with a delivered event: `resolve`, handle, release after success.
#[tokio::test]
async fn hosts_resolve_references_and_delete_after_success_only() {
    let w = world();
    let sent = big_message();
    w.orders.send(sent.clone()).await.unwrap();
    let carried = w.raw.receive(opts()).await.unwrap();
    let event = QueueMessage::from_received("orders", &carried[0]).to_cloudevent("mem://orders");

    // A failed handler: the claim is not released; the redelivery finds the object.
    for _ in 0..2 {
        let Resolved::Deliver { event, claim } =
            resolve(&w.env, "orders", event.clone()).await.unwrap()
        else {
            panic!("not delivered")
        };
        let view =
            <QueueMessage as cloudport_core::event::EventData>::from_cloudevent(&event).unwrap();
        assert_eq!(view.body, sent.body);
        assert_eq!(view.content_type, sent.content_type);
        assert_eq!(view.attributes["tenant"], "acme");
        assert!(claim.is_some());
    }
    assert_eq!(claims(&w.payloads).await, 1);

    // Handled: released; a redelivery (the platform's ack was lost) fails, so it ends in the
    // dead-letter queue — a visible duplicate, never a silent drop.
    let Resolved::Deliver {
        claim: Some(claim), ..
    } = resolve(&w.env, "orders", event.clone()).await.unwrap()
    else {
        panic!("no claim")
    };
    claim.release().await;
    assert_eq!(claims(&w.payloads).await, 0);
    let err = resolve(&w.env, "orders", event).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("never dropped"), "{err}");
}

#[tokio::test]
async fn references_to_other_buckets_or_keys_are_refused() {
    let w = world();
    let secret = w.memory.bucket("receipts");
    secret.put("2024/march.pdf", "private").await.unwrap();
    let forged = serde_json::json!({
        "v": 1, "bucket": "receipts", "key": "2024/march.pdf", "size": 7, "sha256": "00",
    });
    w.raw
        .send(Message::new(forged.to_string()).with_content_type(claim_check::CONTENT_TYPE))
        .await
        .unwrap();
    let carried = w.raw.receive(opts()).await.unwrap();
    w.raw.nack(&carried[0], Duration::ZERO).await.unwrap();
    let event = QueueMessage::from_received("orders", &carried[0]).to_cloudevent("mem://orders");
    let err = resolve(&w.env, "orders", event).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);

    // The driver delivers it unresolved, so the consumer's failure and the dead-letter policy
    // deal with it; the object is never touched.
    let got = w.orders.receive(opts()).await.unwrap();
    assert_eq!(
        got[0].content_type.as_deref(),
        Some(claim_check::CONTENT_TYPE)
    );
    w.orders.ack(&got[0]).await.unwrap();
    assert!(secret.exists("2024/march.pdf").await.unwrap());
}

#[tokio::test]
async fn a_reference_on_a_queue_without_the_opt_in_is_an_error_naming_the_binding() {
    let w = world();
    w.orders.send(big_message()).await.unwrap();
    let carried = w.raw.receive(opts()).await.unwrap();
    let event = QueueMessage::from_received("audit", &carried[0]).to_cloudevent("mem://audit");
    let env = Env::builder()
        .provider(w.memory.clone())
        .fallback_scheme("mem")
        .build();
    let err = resolve(&env, "audit", event).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(err.message().contains("CLOUDPORT_QUEUE_AUDIT"), "{err}");
}

/// `App::dispatch` resolves references for every host (the one call in `dispatch_inner`).
#[tokio::test]
async fn app_dispatch_resolves_references_and_deletes_after_success() {
    let w = world();
    w.orders.send(big_message()).await.unwrap();
    let carried = w.raw.receive(opts()).await.unwrap();
    let event = QueueMessage::from_received("orders", &carried[0]).to_cloudevent("mem://orders");
    let calls = Arc::new(AtomicUsize::new(0));
    let fail = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let (seen, failing) = (calls.clone(), fail.clone());
    let app = App::new().on_queue("orders", move |event, _env| {
        let (seen, failing) = (seen.clone(), failing.clone());
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
            assert_eq!(event.data().body.len(), BIG);
            assert_eq!(event.data().attributes["tenant"], "acme");
            if failing.load(Ordering::SeqCst) {
                return Err(cloudport_core::Error::handler("not yet"));
            }
            Ok(())
        }
    });
    let trigger = Trigger::Queue("orders".into());
    assert!(app.dispatch(&w.env, &trigger, event.clone()).await.is_err());
    assert_eq!(claims(&w.payloads).await, 1, "kept after a failure");
    fail.store(false, Ordering::SeqCst);
    app.dispatch(&w.env, &trigger, event.clone()).await.unwrap();
    assert_eq!(claims(&w.payloads).await, 0, "deleted after success");
    // Redelivered after a lost ack: the object is gone, so it fails (and would be dead-lettered)
    // without the handler running on a reference.
    let err = app.dispatch(&w.env, &trigger, event).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// The binding: `claim_check=<bucket>` on the queue URL, the bucket bound like any other.
#[tokio::test]
async fn bindings_opt_in_by_url_and_name_a_missing_bucket() {
    let memory = Memory::new();
    let env = Env::builder()
        .provider(memory.clone())
        .vars([
            (
                "CLOUDPORT_QUEUE_ORDERS",
                "mem://orders?profile=azure&claim_check=payloads",
            ),
            ("CLOUDPORT_BUCKET_PAYLOADS", "mem://payloads"),
            ("CLOUDPORT_QUEUE_AUDIT", "mem://audit?claim_check=nowhere"),
            ("CLOUDPORT_QUEUE_PLAIN", "mem://plain?profile=azure"),
        ])
        .build();
    let orders = env.queue("orders").unwrap();
    orders.send(big_message()).await.unwrap();
    let got = orders.receive(opts()).await.unwrap();
    assert_eq!(got[0].body.len(), BIG);
    orders.ack(&got[0]).await.unwrap();
    assert_eq!(claims(&memory.bucket("payloads")).await, 0);

    let err = env.queue("audit").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("CLOUDPORT_BUCKET_NOWHERE"), "{err}");

    let plain = env.queue("plain").unwrap();
    assert_eq!(
        plain.send(big_message()).await.unwrap_err().kind(),
        ErrorKind::TooLarge
    );
}
