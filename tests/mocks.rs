//! Unit-testing function code with `mockall` mocks of the driver traits (feature `mock`): the
//! handler of the quickstart, with its store and bucket mocked.

#[path = "../examples/quickstart/app.rs"]
#[allow(dead_code)]
mod quickstart;

use cloudport::mock::{MockBlobDriver, MockKvDriver};
use cloudport::prelude::*;
use cloudport::{Bucket, ETag, ErrorKind, KvStore, ObjectMeta, Version};
use mockall::predicate::{always, eq};

fn order_event() -> Event<QueueMessage> {
    let msg = QueueMessage::new(
        "orders",
        "m-1",
        r#"{"id":"o-1","customer":"ada","total_cents":1250}"#,
    )
    .with_content_type("application/json");
    Event::try_from(msg.to_cloudevent("mock://orders")).expect("event")
}

fn env_with(kv: MockKvDriver, bucket: MockBlobDriver) -> Env {
    Env::builder()
        .kv("orders", KvStore::new(kv))
        .bucket("receipts", Bucket::new(bucket))
        .build()
}

#[tokio::test]
async fn handler_records_once_and_writes_a_receipt() {
    let mut kv = MockKvDriver::with_defaults();
    kv.expect_put()
        .withf(|key, value, precondition, ttl| {
            key == "o-1"
                && *precondition == Precondition::IfAbsent
                && ttl.is_none()
                && serde_json::from_slice::<serde_json::Value>(value)
                    .is_ok_and(|v| v["status"] == "accepted")
        })
        .times(1)
        .returning(|_, _, _, _| Ok(Version::new("1")));
    let mut bucket = MockBlobDriver::with_defaults();
    bucket
        .expect_put()
        .with(eq("receipts/o-1.json"), always(), always())
        .times(1)
        .returning(|key, _, _| Ok(ObjectMeta::new(key, 10, ETag::new("e1"))));

    quickstart::on_order(order_event(), env_with(kv, bucket))
        .await
        .expect("handled");
}

#[tokio::test]
async fn redelivered_order_is_not_recorded_twice() {
    let mut kv = MockKvDriver::with_defaults();
    kv.expect_put()
        .times(1)
        .returning(|_, _, _, _| Err(Error::new(ErrorKind::AlreadyExists, "exists")));
    let mut bucket = MockBlobDriver::with_defaults();
    bucket
        .expect_put()
        .times(1)
        .returning(|key, _, _| Ok(ObjectMeta::new(key, 10, ETag::new("e2"))));
    quickstart::on_order(order_event(), env_with(kv, bucket))
        .await
        .expect("a duplicate delivery succeeds");
}

#[tokio::test]
async fn store_outage_fails_the_invocation_with_a_temporary_error() {
    let mut kv = MockKvDriver::with_defaults();
    kv.expect_put()
        .returning(|_, _, _, _| Err(Error::new(ErrorKind::Unavailable, "table offline")));
    let mut bucket = MockBlobDriver::with_defaults();
    bucket.expect_put().never();
    let err = quickstart::on_order(order_event(), env_with(kv, bucket))
        .await
        .expect_err("outage");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.is_temporary());
    assert_eq!(err.provider(), Some("mock"));
    assert_eq!(err.operation(), Some("kv.put"));
}
