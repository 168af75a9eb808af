//! # cloudport-core
//!
//! The provider-neutral heart of [cloudport](https://docs.rs/cloudport): portable types over small
//! driver traits for **queues** ([`Queue`] / [`QueueDriver`]), **topics** ([`Topic`] /
//! [`TopicDriver`]), **blob storage** ([`Bucket`] / [`BlobDriver`]) and **key-value state**
//! ([`KvStore`] / [`KvDriver`]); **triggers** as
//! CloudEvents ([`event`]); the [`App`] that binds handlers to logical names; the [`Env`] that binds
//! logical resource names to URLs; one [`Error`] type; [`capability`] declarations; and, behind
//! features, the conformance suite every provider passes (module `conformance`, feature `conformance`) and `mockall` mocks of the drivers.
//!
//! This crate depends on no cloud SDK. Function code uses it through the `cloudport` facade.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
//! use cloudport_core::{Env, Precondition};
//! let env = Env::builder()
//!     .provider(cloudport_memory::Memory::new())
//!     .fallback_scheme("mem")
//!     .build();
//! env.kv("orders")?.put_json("42", &serde_json::json!({"total": 1250}), Precondition::IfAbsent).await?;
//! let (order, _version) = env.kv("orders")?.get_json::<serde_json::Value>("42").await?.unwrap();
//! assert_eq!(order["total"], 1250);
//! # Ok(()) }
//! ```

pub mod access;
pub mod app;
pub mod blob;
pub mod capability;
pub mod claim_check;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod context;
pub mod env;
mod error;
pub mod event;
pub mod idempotency;
pub mod kv;
mod otel;
pub mod platform;
mod provider;
pub mod queue;
pub mod redact;
pub mod retry;
mod telemetry;
pub mod topic;
pub mod trace;
pub mod validate;

pub use app::{App, BatchOutcome, Schedule, Trigger};
pub use blob::{
    BlobChange, BlobDriver, Body, Bucket, ByteRange, ETag, GetOptions, GetResult, ListOptions,
    ListPage, ObjectMeta, PutOptions, WriteCondition,
};
pub use capability::{BlobCapabilities, KvCapabilities, QueueCapabilities};
pub use env::{Env, EnvBuilder};
pub use error::{Error, ErrorKind, Result};
pub use kv::{KvDriver, KvEntry, KvPut, KvStore, Precondition, ScanPage, Version};
pub use provider::{KNOWN_SCHEMES, Provider, ResourceKind, ResourceUrl};
pub use queue::{
    DeadLettered, LeaseToken, Message, Queue, QueueDriver, ReceiveOptions, ReceivedMessage,
};
pub use retry::{Idempotence, RetryPolicy};
pub use topic::{Topic, TopicCapabilities, TopicDriver};

/// Re-exports used by the drivers and hosts of provider crates.
pub mod export {
    pub use async_trait::async_trait;
    pub use axum;
    pub use bytes;
    pub use chrono;
    pub use cloudevents;
    pub use futures;
    pub use serde_json;
}

/// `mockall` mocks of the driver traits, for unit tests of function code (feature `mock`).
///
/// A mock stands for the *driver*: set expectations on the driver call the portable method
/// makes, wrap the mock in its portable type (`Queue::new`, `Bucket::new`, `KvStore::new`), and
/// bind it with `Env::builder().queue(name, queue)` (`.bucket`, `.kv`). Two things to know:
///
/// - **`Queue::send` calls `send_batch`** (one message), as does `send_json`; a batch send is
///   chunked into several `send_batch` calls by the queue's limits. Receives call `receive`,
///   acks `ack`.
/// - **Temporary errors are retried** by the portable types' default [`RetryPolicy`] — three
///   attempts, backoff from 50 ms — so a mock that fails with `Unavailable` is called up to three
///   times (`.times(1)` fails). Use `.with_retry(RetryPolicy::none())` on the portable type to
///   see each call once, or a permanent error.
///
/// A queue:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use cloudport_core::mock::MockQueueDriver;
/// use cloudport_core::{Env, Queue};
///
/// let mut driver = MockQueueDriver::with_defaults();
/// driver
///     .expect_send_batch()
///     .withf(|batch| batch.len() == 1 && batch[0].body == "hello")
///     .times(1)
///     .returning(|batch| Ok(batch.iter().map(|_| Ok("id-1".to_owned())).collect()));
/// let env = Env::builder().queue("orders", Queue::new(driver)).build();
/// assert_eq!(env.queue("orders").unwrap().send("hello").await.unwrap(), "id-1");
/// # }
/// ```
///
/// A bucket:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use cloudport_core::mock::MockBlobDriver;
/// use cloudport_core::{Bucket, ErrorKind, Error};
///
/// let mut driver = MockBlobDriver::with_defaults();
/// driver
///     .expect_head()
///     .withf(|key| key == "missing.txt")
///     .times(1)
///     .returning(|_| Err(Error::new(ErrorKind::NotFound, "no such object")));
/// let bucket = Bucket::new(driver);
/// assert!(!bucket.exists("missing.txt").await.unwrap());
/// # }
/// ```
///
/// A key-value store, failing with a temporary error once retries are off:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use cloudport_core::mock::MockKvDriver;
/// use cloudport_core::{ErrorKind, KvStore, Error, RetryPolicy};
///
/// let mut driver = MockKvDriver::with_defaults();
/// driver
///     .expect_get()
///     .times(1)
///     .returning(|_| Err(Error::new(ErrorKind::Unavailable, "down")));
/// let kv = KvStore::new(driver).with_retry(RetryPolicy::none());
/// assert_eq!(kv.get("k").await.unwrap_err().kind(), ErrorKind::Unavailable);
/// # }
/// ```
#[cfg(feature = "mock")]
pub mod mock {
    pub use crate::blob::MockBlobDriver;
    pub use crate::kv::MockKvDriver;
    pub use crate::queue::MockQueueDriver;
    pub use crate::topic::MockTopicDriver;

    macro_rules! with_defaults {
        ($mock:ty, $caps:ty) => {
            impl $mock {
                /// A mock that answers `provider`, `name` and `capabilities` (`"mock"`, `"mock"`,
                /// the default capabilities); set expectations for the rest.
                pub fn with_defaults() -> Self {
                    let mut mock = Self::new();
                    mock.expect_provider().return_const("mock");
                    mock.expect_name().return_const("mock".to_owned());
                    mock.expect_capabilities().return_const(<$caps>::default());
                    mock
                }
            }
        };
    }
    with_defaults!(MockQueueDriver, crate::QueueCapabilities);
    with_defaults!(MockBlobDriver, crate::BlobCapabilities);
    with_defaults!(MockKvDriver, crate::KvCapabilities);
    with_defaults!(MockTopicDriver, crate::TopicCapabilities);
}
