//! Limit checks: a provider refuses what its cloud's limits refuse, with the same error kind, and
//! accepts what they accept — so the memory provider's limit profiles (`mem://NAME?profile=aws`)
//! and the cloud providers can be held to one table of probes.
//!
//! Each probe is one input just past (or just within) one service limit, and says which clouds
//! refuse it and how. A provider opts in with its profile name:
//!
//! ```text
//! cloudport_core::conformance_limit_tests! {
//!     #[ignore = "needs emulators: ./scripts/test.sh"]
//!     fixture = support::Moto::new(),
//!     profile = "aws"
//! }
//! ```
//!
//! `"strictest"` refuses a probe any cloud refuses. A probe an *emulator* does not enforce (the
//! real service does) is skipped when the fixture names its gap, `"limits.<probe>"`, in
//! [`Fixture::known_gap`].
//!
//! Sources of each limit: the memory provider's `profile::limits` module.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;

use super::{Fixture, skipped_for_gap};
use crate::{ErrorKind, Message, PutOptions, ReceiveOptions, Result};

/// The profile names the checks know.
pub const PROFILES: [&str; 4] = ["aws", "azure", "gcp", "strictest"];

/// One input at the edge of one limit.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    /// The probe's name (its gap is `"limits.<name>"`).
    pub name: &'static str,
    /// The clouds (`"aws"`, `"azure"`, `"gcp"`) whose services refuse it.
    pub refused_by: &'static [&'static str],
    /// How they refuse it.
    pub kind: ErrorKind,
}

impl Probe {
    /// The error `profile` answers this probe with; `None` when it accepts it.
    pub fn expected(&self, profile: &str) -> Option<ErrorKind> {
        let refused = if profile == "strictest" {
            !self.refused_by.is_empty()
        } else {
            self.refused_by.contains(&profile)
        };
        refused.then_some(self.kind)
    }
}

const fn probe(name: &'static str, refused_by: &'static [&'static str], kind: ErrorKind) -> Probe {
    Probe {
        name,
        refused_by,
        kind,
    }
}

const ALL: &[&str] = &["aws", "azure", "gcp"];
use ErrorKind::{InvalidArgument, TooLarge, Unsupported};

/// Every probe, in the order the check runs them.
pub const PROBES: &[Probe] = &[
    // Queues.
    probe("queue.envelope_over_64k_base64", &["azure"], TooLarge),
    probe("queue.body_over_48k", &["azure"], TooLarge),
    probe("queue.body_over_1mib", &["aws", "azure"], TooLarge),
    probe(
        "queue.binary_over_1mib_as_base64",
        &["aws", "azure"],
        TooLarge,
    ),
    probe("queue.nine_attributes", &["aws"], InvalidArgument),
    probe("queue.attribute_value_over_1024", &["gcp"], InvalidArgument),
    probe("queue.delayed_send", &["gcp"], Unsupported),
    probe("queue.receive_eleven", &["aws"], InvalidArgument),
    probe("queue.lease_over_600s", &["gcp"], InvalidArgument),
    probe("queue.lease_over_12h", &["aws", "gcp"], InvalidArgument),
    // Object stores.
    probe("blob.metadata_over_2kb", &["aws"], TooLarge),
    probe("blob.metadata_over_8kib", ALL, TooLarge),
    probe("blob.acme_challenge_prefix", &["gcp"], InvalidArgument),
    // Key-value stores.
    probe("kv.key_over_512", &["azure", "gcp"], InvalidArgument),
    probe("kv.key_over_512_escaped", &["azure"], InvalidArgument),
    probe("kv.value_over_350kib", ALL, TooLarge),
];

fn text(n: usize) -> Bytes {
    Bytes::from(vec![b'a'; n])
}

fn metadata(total: usize) -> PutOptions {
    // Entries of at most 1,000 bytes (a 4-byte name and its value), none with an empty value.
    assert!(total >= 5, "metadata of at least 5 bytes");
    let mut options = PutOptions::default();
    let mut left = total;
    let mut i = 0;
    while left > 0 {
        let name = format!("m{i:03}");
        let mut value = (left - name.len()).min(1000 - name.len());
        if (1..5).contains(&(left - name.len() - value)) {
            value -= 10;
        }
        options = options.metadata(name.clone(), "v".repeat(value));
        left -= name.len() + value;
        i += 1;
    }
    options
}

fn attributes(n: usize, value: &str) -> BTreeMap<String, String> {
    (0..n)
        .map(|i| (format!("attr{i}"), value.to_owned()))
        .collect()
}

/// Runs one probe on fresh resources of `f`; the operation's result, without its value.
async fn run(f: &dyn Fixture, name: &str) -> Result<()> {
    let receive = |max: usize, lease: Duration| {
        ReceiveOptions::default()
            .max_messages(max)
            .lease(lease)
            .wait(Duration::ZERO)
    };
    match name {
        "queue.envelope_over_64k_base64" => {
            // Within 48 KiB raw, but its envelope (the content type is not one a consumer assumes)
            // is over 64 KiB once Base64-encoded.
            let msg = Message::new(text(48 * 1024 - 100)).with_content_type("text/csv");
            f.queue().await.send(msg).await.map(drop)
        }
        "queue.body_over_48k" => f.queue().await.send(text(48 * 1024 + 1)).await.map(drop),
        "queue.body_over_1mib" => f.queue().await.send(text(1024 * 1024 + 1)).await.map(drop),
        "queue.binary_over_1mib_as_base64" => {
            let body = Bytes::from(vec![0xff_u8; 800 * 1024]);
            f.queue().await.send(body).await.map(drop)
        }
        "queue.nine_attributes" => {
            let mut msg = Message::new("x");
            msg.attributes = attributes(9, "v");
            f.queue().await.send(msg).await.map(drop)
        }
        "queue.attribute_value_over_1024" => {
            let msg = Message::new("x").with_attribute("note", "v".repeat(1025));
            f.queue().await.send(msg).await.map(drop)
        }
        "queue.delayed_send" => {
            let msg = Message::new("x").with_delay(Duration::from_secs(1));
            f.queue().await.send(msg).await.map(drop)
        }
        "queue.receive_eleven" => {
            let q = f.queue().await;
            q.receive(receive(11, Duration::from_secs(30)))
                .await
                .map(drop)
        }
        "queue.lease_over_600s" => {
            let q = f.queue().await;
            q.receive(receive(1, Duration::from_secs(601)))
                .await
                .map(drop)
        }
        "queue.lease_over_12h" => {
            let q = f.queue().await;
            q.receive(receive(1, Duration::from_secs(12 * 3600 + 1)))
                .await
                .map(drop)
        }
        "blob.metadata_over_2kb" => {
            let b = f.bucket().await;
            b.put_with("m", "x", metadata(2 * 1024 + 1)).await.map(drop)
        }
        "blob.metadata_over_8kib" => {
            let b = f.bucket().await;
            b.put_with("m", "x", metadata(8 * 1024 + 1)).await.map(drop)
        }
        "blob.acme_challenge_prefix" => {
            let b = f.bucket().await;
            b.put(".well-known/acme-challenge/token", "x")
                .await
                .map(drop)
        }
        "kv.key_over_512" => {
            let kv = f.kv().await;
            kv.put("k".repeat(513), "v", crate::Precondition::None)
                .await
                .map(drop)
        }
        "kv.key_over_512_escaped" => {
            // Escaped by the Azure provider to 513 UTF-16 code units of RowKey; 1 KiB is 512.
            let kv = f.kv().await;
            kv.put("/".repeat(171), "v", crate::Precondition::None)
                .await
                .map(drop)
        }
        "kv.value_over_350kib" => {
            let kv = f.kv().await;
            kv.put("big", text(350 * 1024 + 1), crate::Precondition::None)
                .await
                .map(drop)
        }
        other => panic!("unknown limit probe {other:?}"),
    }
}

/// Every probe on `f`: refused with the expected kind where `profile`'s clouds refuse it,
/// accepted where they accept it.
pub async fn limits_match_profile(f: &dyn Fixture, profile: &str) {
    assert!(
        PROFILES.contains(&profile),
        "unknown profile {profile:?}; the profiles are {PROFILES:?}"
    );
    for p in PROBES {
        if skipped_for_gap(f, &format!("limits.{}", p.name)) {
            continue;
        }
        let result = run(f, p.name).await;
        match p.expected(profile) {
            Some(kind) => match result {
                Ok(()) => panic!(
                    "{}: profile {profile} refuses it ({kind}), the provider accepted it",
                    p.name
                ),
                Err(e) => assert_eq!(
                    e.kind(),
                    kind,
                    "{}: profile {profile} refuses it with {kind}, the provider with {e}",
                    p.name
                ),
            },
            None => {
                if let Err(e) = result {
                    panic!(
                        "{}: profile {profile} accepts it, the provider refused it: {e}",
                        p.name
                    );
                }
            }
        }
    }
}

/// Inputs at the edge of every cloud's limits, which every provider accepts: a 48 KiB body (64
/// KiB of Base64), eight attributes with 1,024-byte values, a receive of ten under a 600 s
/// lease, 2 KB of object metadata under a 1,024-byte key, a 512-byte KV key, a key of 170 `/`
/// (escaped by the Azure provider to 510 of Table's 512 UTF-16 code units), a 350 KiB value.
pub async fn limits_every_profile_accepts(f: &dyn Fixture) {
    let queue = f.queue().await;
    queue
        .send(text(48 * 1024))
        .await
        .unwrap_or_else(|e| panic!("a 48 KiB message: {e}"));
    let mut msg = Message::new("x");
    msg.attributes = attributes(8, &"v".repeat(1024));
    queue
        .send(msg)
        .await
        .unwrap_or_else(|e| panic!("eight attributes of 1,024 bytes: {e}"));
    queue
        .receive(
            ReceiveOptions::default()
                .max_messages(10)
                .lease(Duration::from_secs(600))
                .wait(Duration::ZERO),
        )
        .await
        .unwrap_or_else(|e| panic!("a receive of ten under a 600 s lease: {e}"));

    let bucket = f.bucket().await;
    let key = "k".repeat(1024);
    bucket
        .put_with(&key, "x", metadata(2 * 1024))
        .await
        .unwrap_or_else(|e| panic!("2 KB of metadata under a 1,024-byte key: {e}"));

    let kv = f.kv().await;
    for key in ["k".repeat(512), "/".repeat(170)] {
        kv.put(&key, "v", crate::Precondition::None)
            .await
            .unwrap_or_else(|e| panic!("KV key of {} bytes: {e}", key.len()));
    }
    kv.put("big", text(350 * 1024), crate::Precondition::None)
        .await
        .unwrap_or_else(|e| panic!("a 350 KiB value: {e}"));
}

/// Expands to the limit checks for a provider under its profile: one `#[tokio::test]` that every
/// probe is refused or accepted as `profile`'s clouds do, one that the inputs every cloud takes
/// are taken. Attributes before `fixture =` go on both tests.
#[macro_export]
macro_rules! conformance_limit_tests {
    ($(#[$attr:meta])* fixture = $fixture:expr, profile = $profile:expr $(,)?) => {
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$attr])*
        async fn limits_match_profile() {
            let fixture = $fixture;
            let limit = $crate::conformance::CHECK_TIMEOUT;
            let check = $crate::conformance::limits::limits_match_profile(&fixture, $profile);
            if ::tokio::time::timeout(limit, check).await.is_err() {
                panic!("limits_match_profile did not finish in {limit:?}");
            }
        }

        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$attr])*
        async fn limits_every_profile_accepts() {
            let fixture = $fixture;
            let limit = $crate::conformance::CHECK_TIMEOUT;
            let check = $crate::conformance::limits::limits_every_profile_accepts(&fixture);
            if ::tokio::time::timeout(limit, check).await.is_err() {
                panic!("limits_every_profile_accepts did not finish in {limit:?}");
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictest_refuses_what_any_cloud_refuses() {
        for p in PROBES {
            assert!(!p.refused_by.is_empty(), "{}", p.name);
            assert_eq!(p.expected("strictest"), Some(p.kind), "{}", p.name);
            for cloud in p.refused_by {
                assert!(ALL.contains(cloud), "{}: {cloud}", p.name);
            }
        }
    }

    #[test]
    fn metadata_adds_up_to_the_size_asked() {
        for total in [5, 999, 1002, 2048, 2049, 8193] {
            let m = metadata(total).metadata;
            let size: usize = m.iter().map(|(k, v)| k.len() + v.len()).sum();
            assert_eq!(size, total, "{total}");
        }
    }
}
