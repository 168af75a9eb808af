//! Cloud limit profiles: memory resources that refuse what a cloud's service would, so a unit test
//! fails locally where production would.
//!
//! `mem://orders?profile=azure` (or `aws`, `gcp`, `strictest`) opens the memory resource wrapped
//! in a driver that reports that cloud's capabilities and checks every call against its rules —
//! message and attribute sizes (as the cloud's provider encodes them), attribute counts and names,
//! key and name rules, lease, delay and batch ranges, metadata and item sizes — before the memory
//! driver runs it. `strictest` is every cloud's rules at once (the lowest limit on each axis, every
//! name rule): what a portable app should be tested under.
//!
//! Errors are typed — [`TooLarge`](cloudport_core::ErrorKind::TooLarge) for sizes,
//! [`InvalidArgument`](cloudport_core::ErrorKind::InvalidArgument) for names, ranges and counts,
//! [`Unsupported`](cloudport_core::ErrorKind::Unsupported) where the service lacks the feature —
//! and name the service, the limit and the profile. Limits and their sources: [`limits`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use cloudport_core::{ErrorKind, Message};
//! use cloudport_memory::{Memory, Profile};
//!
//! let queue = Memory::new().queue_with_profile("orders", Profile::Strictest);
//! assert_eq!(queue.capabilities().max_message_bytes, 48 * 1024); // Azure's, after Base64
//! let long = Message::new("x").with_attribute("note", "v".repeat(1025));
//! let err = queue.send(long).await.unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::InvalidArgument); // Pub/Sub's 1,024-byte attribute values
//! assert!(err.to_string().contains("profile=strictest"));
//! # }
//! ```

mod blob;
mod kv;
pub mod limits;
mod queue;

use std::fmt;
use std::str::FromStr;

use cloudport_core::{Bucket, Error, ErrorKind, KvStore, Queue};

pub use blob::ProfiledBucket;
pub use kv::ProfiledKv;
pub use queue::ProfiledQueue;

use crate::Memory;

/// Whose limits a memory resource enforces.
///
/// ```
/// use cloudport_memory::Profile;
/// assert_eq!("azure".parse::<Profile>().unwrap(), Profile::Azure);
/// assert!("oracle".parse::<Profile>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// SQS, S3 and DynamoDB, as the AWS provider uses them.
    Aws,
    /// Storage Queues, Blob Storage and Table Storage, as the Azure provider uses them.
    Azure,
    /// Pub/Sub, Cloud Storage and Firestore, as the GCP provider uses them.
    Gcp,
    /// Every cloud's rules at once: what a portable app should be tested under.
    Strictest,
}

/// One cloud, whose rules a profile applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cloud {
    Aws,
    Azure,
    Gcp,
}

impl Cloud {
    pub(crate) fn queue_service(self) -> &'static str {
        match self {
            Cloud::Aws => "SQS",
            Cloud::Azure => "Azure Storage Queues",
            Cloud::Gcp => "Pub/Sub",
        }
    }

    pub(crate) fn blob_service(self) -> &'static str {
        match self {
            Cloud::Aws => "S3",
            Cloud::Azure => "Azure Blob Storage",
            Cloud::Gcp => "Cloud Storage",
        }
    }

    pub(crate) fn kv_service(self) -> &'static str {
        match self {
            Cloud::Aws => "DynamoDB",
            Cloud::Azure => "Azure Table Storage",
            Cloud::Gcp => "Firestore",
        }
    }
}

impl Profile {
    /// Every profile.
    pub const ALL: [Profile; 4] = [
        Profile::Aws,
        Profile::Azure,
        Profile::Gcp,
        Profile::Strictest,
    ];

    /// The name used in URLs (`?profile=NAME`).
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Aws => "aws",
            Profile::Azure => "azure",
            Profile::Gcp => "gcp",
            Profile::Strictest => "strictest",
        }
    }

    /// The clouds whose rules apply.
    pub(crate) fn clouds(self) -> &'static [Cloud] {
        match self {
            Profile::Aws => &[Cloud::Aws],
            Profile::Azure => &[Cloud::Azure],
            Profile::Gcp => &[Cloud::Gcp],
            Profile::Strictest => &[Cloud::Aws, Cloud::Azure, Cloud::Gcp],
        }
    }

    /// A refusal: `what` (naming the service and its limit), then the profile.
    pub(crate) fn refuse(self, kind: ErrorKind, what: impl fmt::Display) -> Error {
        Error::new(kind, format!("{what} (profile={self})"))
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Profile {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Profile::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Profile::ALL.iter().map(|p| p.as_str()).collect();
                Error::invalid(format!(
                    "unknown memory profile {s:?}; the profiles are {}",
                    names.join(", ")
                ))
            })
    }
}

impl Memory {
    /// The queue of this name under `profile`'s limits (the same messages as
    /// [`Memory::queue`]'s queue of this name; only the checks differ).
    pub fn queue_with_profile(&self, name: &str, profile: Profile) -> Queue {
        Queue::new(self.queue_driver_with_profile(name, profile))
    }

    /// The driver of [`Memory::queue_with_profile`].
    pub fn queue_driver_with_profile(&self, name: &str, profile: Profile) -> ProfiledQueue {
        let caps = queue::capabilities(profile);
        ProfiledQueue::new(self.queue_driver_with(name, caps.clone()), profile, caps)
    }

    /// The bucket of this name under `profile`'s limits.
    pub fn bucket_with_profile(&self, name: &str, profile: Profile) -> Bucket {
        Bucket::new(self.bucket_driver_with_profile(name, profile))
    }

    /// The driver of [`Memory::bucket_with_profile`].
    pub fn bucket_driver_with_profile(&self, name: &str, profile: Profile) -> ProfiledBucket {
        let caps = blob::capabilities(profile);
        ProfiledBucket::new(self.bucket_driver_with(name, caps.clone()), profile, caps)
    }

    /// The key-value store of this name under `profile`'s limits.
    pub fn kv_with_profile(&self, name: &str, profile: Profile) -> KvStore {
        KvStore::new(self.kv_driver_with_profile(name, profile))
    }

    /// The driver of [`Memory::kv_with_profile`].
    pub fn kv_driver_with_profile(&self, name: &str, profile: Profile) -> ProfiledKv {
        let caps = kv::capabilities(profile);
        ProfiledKv::new(self.kv_driver_with(name, caps.clone()), profile, caps)
    }
}
