//! # cloudport-gcp
//!
//! The GCP provider of cloudport: queues on **Pub/Sub** ([`PubSubQueue`]), topics on
//! **Pub/Sub** ([`PubSubTopic`], events in the binary-mode CloudEvents binding), buckets on **Cloud
//! Storage** ([`GcsBucket`]), key-value state on **Firestore** ([`FirestoreKv`]). Pub/Sub uses the
//! community `gcloud-pubsub` (the official crate has no unary pull, ack-deadline changes or
//! nacks with a delay), Cloud Storage `gcloud-storage` (the official crate's control plane is
//! gRPC-only and reaches no emulator), Firestore the `firestore` crate (no official one exists):
//! ADR 0006. Resources open from URLs —
//!
//! | URL | resource |
//! |---|---|
//! | `gcppubsub://projects/P/topics/T[?subscription=S]` | a topic to send to; a subscription to receive from |
//! | `gcptopic://projects/P/topics/T` | a topic to publish CloudEvents to (`env.topic`) |
//! | `gs://BUCKET` | a Cloud Storage bucket |
//! | `firestore://PROJECT/COLLECTION[?database=D&partition=NS]` | a partition of a Firestore collection |
//!
//! — with configuration from the standard Google environment: Application Default Credentials,
//! `GOOGLE_CLOUD_PROJECT`, and `PUBSUB_EMULATOR_HOST`, `FIRESTORE_EMULATOR_HOST`,
//! `STORAGE_EMULATOR_HOST` for emulators. Opening a URL makes no network call.
//!
//! ```no_run
//! # async fn demo() -> cloudport_core::Result<()> {
//! use cloudport_core::{Provider, ResourceUrl};
//! let gcp = cloudport_gcp::Gcp::from_env();
//! let queue = gcp.open_queue(&ResourceUrl::parse(
//!     "gcppubsub://projects/my-project/topics/orders?subscription=orders-worker",
//! )?)?;
//! queue.send("hello").await?;
//! # Ok(()) }
//! ```

mod blob;
mod config;
mod error;
mod kv;
mod open;
mod queue;
mod topic;

pub use blob::GcsBucket;
pub use config::{Gcp, Settings};
pub use kv::FirestoreKv;
pub use queue::{ORDERING_KEY_ATTRIBUTE, PubSubQueue};
pub use topic::PubSubTopic;

/// The native client crates, for the escape hatch.
pub mod sdk {
    pub use firestore;
    pub use gcloud_gax as gax;
    pub use gcloud_googleapis as googleapis;
    pub use gcloud_pubsub as pubsub;
    pub use gcloud_storage as storage;
}
