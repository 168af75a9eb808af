//! What each driver supports, and its limits.
//!
//! The portable types check every call against these before any network call: a call the provider
//! cannot honour is an [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) error, an input over a
//! limit is [`ErrorKind::TooLarge`](crate::ErrorKind::TooLarge) — never a silent downgrade.

use std::time::Duration;

/// Capabilities and limits of a queue driver.
///
/// ```
/// use cloudport_core::QueueCapabilities;
/// let caps = QueueCapabilities { max_message_bytes: 64 * 1024, ..QueueCapabilities::default() };
/// assert!(caps.extend_lease);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueCapabilities {
    /// Largest message body plus attributes, in bytes.
    pub max_message_bytes: usize,
    /// Most messages in one send call of the driver.
    pub max_batch_send: usize,
    /// Most bytes in one send call of the driver.
    pub max_batch_bytes: usize,
    /// Most messages one receive call may return.
    pub max_batch_receive: usize,
    /// Shortest lease a receive may ask for.
    pub min_lease: Duration,
    /// Longest lease a receive or lease extension may ask for.
    pub max_lease: Duration,
    /// Longest delay a send or nack may ask for.
    pub max_delay: Duration,
    /// Whether messages carry attributes (name → value) beside the body.
    pub attributes: bool,
    /// Most attributes on one message.
    pub max_attributes: usize,
    /// Whether a send may be delayed.
    pub delayed_send: bool,
    /// Whether a nack may ask for a delay before redelivery.
    pub delayed_nack: bool,
    /// Whether a lease can be extended.
    pub extend_lease: bool,
    /// Whether received messages report how many times they were delivered.
    pub delivery_count: bool,
    /// Longest time a receive may wait for messages (long polling).
    pub max_wait: Duration,
    /// How many batch-send calls `Queue::send_batch` may have in flight at once: 1 keeps send
    /// order across chunks (FIFO queues); more overlaps round trips.
    pub concurrent_sends: usize,
    /// Whether the queue keeps messages in send order (FIFO): then a message of a batch refused
    /// alone is reported, not re-sent after the ones that followed it.
    pub ordered: bool,
    /// Whether the queue keeps order per ordering key
    /// ([`Message::with_ordering_key`](crate::Message::with_ordering_key)): the messages of one
    /// key are delivered in send order, and none of them while an earlier one is leased. Without
    /// it, a message with a key is refused (`Unsupported`).
    pub ordering: bool,
    /// Whether the queue drops a message sent again with the same deduplication id within its
    /// window ([`Message::with_deduplication_id`](crate::Message::with_deduplication_id)).
    /// Without it, a message with a deduplication id is refused (`Unsupported`).
    pub deduplication: bool,
}

impl Default for QueueCapabilities {
    fn default() -> Self {
        Self {
            max_message_bytes: 256 * 1024,
            max_batch_send: 10,
            max_batch_bytes: 256 * 1024,
            max_batch_receive: 10,
            min_lease: Duration::from_secs(1),
            max_lease: Duration::from_secs(12 * 60 * 60),
            max_delay: Duration::from_secs(15 * 60),
            attributes: true,
            max_attributes: 10,
            delayed_send: true,
            delayed_nack: true,
            extend_lease: true,
            delivery_count: true,
            max_wait: Duration::from_secs(20),
            concurrent_sends: 1,
            ordered: false,
            ordering: false,
            deduplication: false,
        }
    }
}

/// Capabilities and limits of a blob driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobCapabilities {
    /// Longest key, in bytes.
    pub max_key_bytes: usize,
    /// Largest object a single put can write.
    pub max_object_bytes: u64,
    /// Whether `WriteCondition::IfNotExists` (create-only) is honoured.
    pub create_only: bool,
    /// Whether `WriteCondition::IfMatch` is honoured on put.
    pub if_match: bool,
    /// Whether a get may carry `If-None-Match`.
    pub if_none_match_get: bool,
    /// Whether ranged reads are supported.
    pub range: bool,
    /// Whether user metadata is stored.
    pub metadata: bool,
    /// Whether listing groups keys by a delimiter.
    pub list_delimiter: bool,
    /// Most keys in one listing page.
    pub max_list_page: usize,
    /// Whether a server-side copy exists.
    pub copy: bool,
}

impl Default for BlobCapabilities {
    fn default() -> Self {
        Self {
            max_key_bytes: 1024,
            max_object_bytes: 5 * 1024 * 1024 * 1024 * 1024,
            create_only: true,
            if_match: true,
            if_none_match_get: true,
            range: true,
            metadata: true,
            list_delimiter: true,
            max_list_page: 1000,
            copy: true,
        }
    }
}

/// Capabilities and limits of a key-value driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvCapabilities {
    /// Longest key, in bytes.
    pub max_key_bytes: usize,
    /// Largest value, in bytes.
    pub max_value_bytes: usize,
    /// Whether `Precondition::IfAbsent` is honoured.
    pub if_absent: bool,
    /// Whether `Precondition::IfVersion` is honoured.
    pub if_version: bool,
    /// Whether entries can expire.
    pub ttl: bool,
    /// Whether keys can be listed by prefix.
    pub scan_prefix: bool,
    /// Most entries in one scan page.
    pub max_scan_page: usize,
}

impl Default for KvCapabilities {
    fn default() -> Self {
        Self {
            max_key_bytes: 512,
            max_value_bytes: 350 * 1024,
            if_absent: true,
            if_version: true,
            ttl: true,
            scan_prefix: true,
            max_scan_page: 1000,
        }
    }
}
