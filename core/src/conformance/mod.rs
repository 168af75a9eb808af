//! The conformance suite: one set of async checks of the whole queue, blob and key-value contract,
//! which every provider's tests run — memory always, the cloud providers against their emulators.
//!
//! A provider implements [`Fixture`] (fresh resources, and a way to let time pass) and expands
//! [`conformance_tests!`](crate::conformance_tests) in a test file, which makes one `#[tokio::test]`
//! per check:
//!
//! ```text
//! cloudport_core::conformance_tests! {
//!     #[ignore = "needs emulators: ./scripts/test.sh"]
//!     fixture = MyFixture::new()
//! }
//! ```
//!
//! Checks panic with a message naming what failed, like assertions.

mod access;
mod blob;
mod cold_start;
mod events;
mod faults;
mod idempotency;
mod kv;
pub mod limits;
pub mod ordering;
mod queue;
pub mod topic;

use std::time::Duration;

use async_trait::async_trait;

pub use access::*;
pub use blob::*;
pub use cold_start::*;
pub use events::*;
pub use faults::*;
pub use idempotency::*;
pub use kv::*;
pub use queue::*;

use crate::{Bucket, ErrorKind, KvStore, Queue, Result};

/// What a provider gives the suite.
#[async_trait]
pub trait Fixture: Send + Sync {
    /// A new, empty queue that no other check uses.
    async fn queue(&self) -> Queue;

    /// A new, empty bucket that no other check uses.
    async fn bucket(&self) -> Bucket;

    /// A new, empty key-value store that no other check uses.
    async fn kv(&self) -> KvStore;

    /// Lets `duration` pass for leases, delays and TTLs: a virtual clock advances; a real
    /// provider sleeps.
    async fn advance(&self, duration: Duration);

    /// How long after a deadline a real provider may still take to act on it (lease ends,
    /// delays, expiry). Zero for a virtual clock.
    fn slack(&self) -> Duration {
        Duration::from_secs(1)
    }

    /// How long a receive waits for messages (long polling) in the checks: zero where messages are
    /// visible at once.
    fn wait(&self) -> Duration {
        Duration::from_secs(1)
    }

    /// Where the provider's *emulator* departs from the real service, the reason, so the check
    /// skips that one assertion and says why (the driver still follows the service). Gaps:
    /// `"blob.copy.condition"` (a conditional copy's destination condition),
    /// `"blob.put.parts.response"` (the answer to a completed multi-part upload),
    /// `"kv.condition.atomic"` (a conditional write checked and applied as one step under
    /// concurrent writers).
    fn known_gap(&self, gap: &str) -> Option<&'static str> {
        let _ = gap;
        None
    }

    /// A new topic with `subscriptions` subscriptions that no other check uses, each readable
    /// as a queue, for [`conformance_topic_tests!`](crate::conformance_topic_tests). `None`
    /// (the default): the provider serves no topics, and each topic check says so and skips.
    async fn topic(&self, subscriptions: usize) -> Option<topic::TopicFixture> {
        let _ = subscriptions;
        None
    }
}

/// How long one check may run before it fails as hung.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(600);

/// Prints that an assertion is skipped for an emulator gap, and returns whether it is.
pub fn skipped_for_gap(f: &dyn Fixture, gap: &str) -> bool {
    match f.known_gap(gap) {
        Some(why) => {
            eprintln!("conformance: skipping the {gap} assertion: {why}");
            true
        }
        None => false,
    }
}

/// Asserts that `result` failed with `kind`.
#[track_caller]
pub fn assert_kind<T: std::fmt::Debug>(result: Result<T>, kind: ErrorKind, what: &str) {
    match result {
        Ok(v) => panic!("{what}: expected a {kind} error, got Ok({v:?})"),
        Err(e) => assert_eq!(e.kind(), kind, "{what}: expected {kind}, got {e}"),
    }
}

/// Expands to one `#[tokio::test]` per conformance check, each on a fresh fixture. Attributes
/// before `fixture =` (such as `#[ignore = "needs emulators: …"]`) go on every test.
#[macro_export]
macro_rules! conformance_tests {
    ($(#[$attr:meta])* fixture = $fixture:expr $(,)?) => {
        $crate::conformance_tests!(@all [$(#[$attr])*] $fixture;
            queue_send_receive_ack,
            queue_lease_hides_and_expires,
            queue_nack_redelivers,
            queue_extend_lease,
            queue_delayed_send,
            queue_send_batch_reports_per_item,
            queue_rejects_bad_input,
            queue_dead_letter_after_max_deliveries,
            queue_thousand_messages_failing_consumer,
            blob_put_get_head,
            blob_create_only,
            blob_if_match,
            blob_ranges,
            blob_get_if_none_match,
            blob_stream_roundtrip,
            blob_unsized_upload_in_parts,
            blob_delete_is_idempotent,
            blob_list_prefix_delimiter_pages,
            blob_copy,
            blob_rejects_bad_input,
            kv_put_get_delete,
            kv_if_absent,
            kv_if_version,
            kv_ttl,
            kv_scan_prefix_pages,
            kv_key_characters,
            kv_json_helpers,
            kv_rejects_bad_input,
            kv_concurrent_increments,
            kv_versions_fence_stale_writers,
            idempotency_under_duplicate_and_concurrent_delivery,
            idempotency_claims_end_with_their_run,
            faults_queue_operations,
            faults_kv_operations,
            faults_blob_operations,
            declared_access_is_enforced_before_the_driver
        );
    };
    (@all $attrs:tt $fixture:expr; $($check:ident),* $(,)?) => {
        $( $crate::conformance_tests!(@one $attrs $fixture; $check); )*
    };
    (@one $attrs:tt $fixture:expr; $check:ident) => {
        $crate::__conformance_check!($attrs $fixture; ; $check);
    };
}

/// One check as a `#[tokio::test]` on a fresh fixture, failing if it hangs past
/// [`CHECK_TIMEOUT`]: what every conformance macro expands each check to (`$module` is the check's
/// module under `conformance`, empty for the suite's own).
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_check {
    ([$(#[$attr:meta])*] $fixture:expr; $($module:ident)::*; $check:ident) => {
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$attr])*
        async fn $check() {
            let fixture = $fixture;
            let limit = $crate::conformance::CHECK_TIMEOUT;
            let check = $crate::conformance::$($module::)*$check(&fixture);
            if ::tokio::time::timeout(limit, check).await.is_err() {
                panic!("{} did not finish in {limit:?}", stringify!($check));
            }
        }
    };
}
