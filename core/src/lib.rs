//! # cloudport-core
//!
//! The provider-neutral heart of [cloudport](https://docs.rs/cloudport): portable types over small
//! driver traits for **queues** ([`Queue`] / [`QueueDriver`]), **blob storage** ([`Bucket`] /
//! [`BlobDriver`]) and **key-value state** ([`KvStore`] / [`KvDriver`]); **triggers** as
//! CloudEvents ([`event`]); the [`App`] that binds handlers to logical names; the [`Env`] that binds
//! logical resource names to URLs; one [`Error`] type; [`capability`] declarations; and, behind
//! features, the [`conformance`] suite every provider passes and `mockall` mocks of the drivers.
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

pub mod app;
pub mod blob;
pub mod capability;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod context;
pub mod env;
mod error;
pub mod event;
pub mod idempotency;
pub mod kv;
mod otel;
mod provider;
pub mod queue;
pub mod retry;
mod telemetry;
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

/// `mockall` mocks of the driver traits, for unit tests of function code.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use cloudport_core::mock::MockKvDriver;
/// use cloudport_core::{ErrorKind, KvCapabilities, KvStore, Error};
///
/// let mut driver = MockKvDriver::with_defaults();
/// driver.expect_get().returning(|_| Err(Error::new(ErrorKind::Unavailable, "down")));
/// let kv = KvStore::new(driver);
/// assert_eq!(kv.get("k").await.unwrap_err().kind(), ErrorKind::Unavailable);
/// # }
/// ```
#[cfg(feature = "mock")]
pub mod mock {
    pub use crate::blob::MockBlobDriver;
    pub use crate::kv::MockKvDriver;
    pub use crate::queue::MockQueueDriver;

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
}
