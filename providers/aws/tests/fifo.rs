//! SQS FIFO queues: the ordering conformance checks and content-based deduplication against moto
//! (`./scripts/test.sh` starts it; `CLOUDPORT_TEST_MOTO` overrides the endpoint), and the FIFO
//! rules checked before any call (no emulator: the endpoint is a closed port).

mod support;

use std::time::Duration;

use cloudport_aws::sdk::sqs::types::QueueAttributeName;
use cloudport_core::conformance::Fixture;
use cloudport_core::conformance::ordering::OrderingFixture;
use cloudport_core::export::async_trait;
use cloudport_core::{Bucket, ErrorKind, KvStore, Message, Queue, ReceiveOptions, ResourceUrl};
use support::Moto;

/// moto with FIFO queues for the ordering checks; the plain queue is a standard one.
struct FifoMoto(Moto);

impl FifoMoto {
    fn new() -> Self {
        Self(Moto::new())
    }

    async fn fifo(&self, content_based_dedup: bool) -> Queue {
        let name = format!("{}.fifo", self.0.unique("f"));
        let queue = self
            .0
            .aws
            .sqs_queue(&name, support::settings())
            .expect("FIFO queue name");
        queue
            .client()
            .await
            .create_queue()
            .queue_name(&name)
            .attributes(QueueAttributeName::FifoQueue, "true")
            .attributes(
                QueueAttributeName::ContentBasedDeduplication,
                content_based_dedup.to_string(),
            )
            .send()
            .await
            .expect("create FIFO queue");
        Queue::new(queue)
    }
}

#[async_trait]
impl Fixture for FifoMoto {
    async fn queue(&self) -> Queue {
        self.0.queue().await
    }

    async fn bucket(&self) -> Bucket {
        self.0.bucket().await
    }

    async fn kv(&self) -> KvStore {
        self.0.kv().await
    }

    async fn advance(&self, duration: Duration) {
        self.0.advance(duration).await;
    }
}

#[async_trait]
impl OrderingFixture for FifoMoto {
    async fn ordered_queue(&self) -> Option<Queue> {
        Some(self.fifo(false).await)
    }
}

cloudport_core::ordering_conformance_tests! {
    #[ignore = "needs emulators: ./scripts/test.sh"]
    fixture = FifoMoto::new()
}

async fn bodies(q: &Queue, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..5 {
        let got = q
            .receive(ReceiveOptions::default().wait(Duration::from_secs(1)))
            .await
            .expect("receive");
        for m in &got {
            out.push(m.text().expect("text").to_owned());
            q.ack(m).await.expect("ack");
        }
        if out.len() >= n {
            break;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn content_based_deduplication_drops_a_repeated_body() {
    let f = FifoMoto::new();
    let q = f.fifo(true).await;
    for body in ["same", "same", "different"] {
        q.send(Message::new(body).with_ordering_key("k"))
            .await
            .expect("send");
    }
    assert_eq!(bodies(&q, 3).await, ["same", "different"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn without_content_based_deduplication_equal_bodies_are_all_delivered() {
    let f = FifoMoto::new();
    let q = f.fifo(false).await;
    let sent = q
        .send_batch(["same", "same", "same"].map(|b| Message::new(b).with_ordering_key("k")))
        .await;
    assert!(sent.iter().all(Result::is_ok), "{sent:?}");
    assert_eq!(bodies(&q, 3).await, ["same", "same", "same"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn the_key_comes_back_and_takes_no_message_attribute() {
    let f = FifoMoto::new();
    let q = f.fifo(false).await;
    // Eight user attributes (SQS's ten, less content type and encoding) plus the key.
    let mut msg = Message::new("x")
        .with_content_type("text/plain")
        .with_ordering_key("account-42");
    for i in 0..7 {
        msg = msg.with_attribute(format!("a{i}"), "v");
    }
    q.send(msg).await.expect("send");
    let got = q
        .receive(ReceiveOptions::default().wait(Duration::from_secs(1)))
        .await
        .expect("receive");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].ordering_key(), Some("account-42"));
    assert_eq!(got[0].attributes.len(), 8, "{:?}", got[0].attributes);
}

/// A queue at a closed port: any call would fail `Unavailable`, so the errors below prove the
/// checks ran before any call.
fn offline(url: &str) -> Queue {
    use cloudport_core::Provider;
    cloudport_aws::Aws::for_emulator("http://127.0.0.1:9")
        .open_queue(&ResourceUrl::parse(url).expect("url"))
        .expect("open")
}

#[tokio::test]
async fn fifo_rules_are_checked_before_any_call() {
    let q = offline("sqs://orders.fifo");
    let caps = q.capabilities();
    assert!(caps.ordering && caps.deduplication && !caps.delayed_send);
    let cases = [
        (Message::new("x"), ErrorKind::InvalidArgument, "no key"),
        (
            Message::new("x").with_ordering_key("kunde 7"),
            ErrorKind::InvalidArgument,
            "a space",
        ),
        (
            Message::new("x").with_ordering_key("k".repeat(129)),
            ErrorKind::InvalidArgument,
            "129 characters",
        ),
        (
            Message::new("x")
                .with_ordering_key("k")
                .with_deduplication_id("ü"),
            ErrorKind::InvalidArgument,
            "a non-ASCII deduplication id",
        ),
        (
            Message::new("x")
                .with_ordering_key("k")
                .with_delay(Duration::from_secs(5)),
            ErrorKind::Unsupported,
            "a per-message delay",
        ),
    ];
    for (msg, kind, what) in cases {
        let e = q.send(msg.clone()).await.unwrap_err();
        assert_eq!(e.kind(), kind, "{what}: {e}");
        let batch = q.send_batch([msg]).await;
        let e = batch.into_iter().next().unwrap().unwrap_err();
        assert_eq!(e.kind(), kind, "{what} in a batch: {e}");
    }
    let e = q.send("no key").await.unwrap_err();
    assert!(e.to_string().contains("with_ordering_key"), "{e}");
}

#[tokio::test]
async fn a_standard_queue_refuses_keys_and_deduplication_ids() {
    let q = offline("sqs://orders");
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
