//! The limits of each cloud's services, as cloudport's providers meet them: each number with its
//! source. Where a provider encodes around a service rule (Azure Table's forbidden key characters
//! are escaped, Firestore document ids are hex), the profile enforces what the provider then
//! refuses, not the raw rule — a profile must never refuse what production accepts.
//!
//! The capabilities here equal what the cloud providers' drivers declare
//! (`providers/{aws,azure,gcp}/src/{queue,blob,kv}.rs`), so `capabilities()` under a profile
//! reports what the real driver would.

use std::time::Duration;

use cloudport_core::{BlobCapabilities, KvCapabilities, QueueCapabilities};

use super::Cloud;

/// SQS: 1 MiB per message and per batch, body plus every attribute's name, type and value
/// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html>;
/// raised from 256 KiB: <https://aws.amazon.com/blogs/compute/more-room-to-build-serverless-services-now-support-payloads-up-to-1-mb>).
pub const SQS_MAX_MESSAGE: usize = 1024 * 1024;

/// SQS: at most 10 message attributes
/// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html>);
/// the AWS provider keeps two for the content type and the body encoding.
pub const SQS_MAX_ATTRIBUTES: usize = 10;

/// Azure Storage Queues: a message's text is at most 64 KiB
/// (<https://learn.microsoft.com/en-us/rest/api/storageservices/put-message>); the Azure provider
/// sends the message (enveloped when it has attributes) Base64-encoded.
pub const AZURE_QUEUE_MAX_TEXT: usize = 64 * 1024;

/// Pub/Sub: an attribute value is at most 1,024 bytes, a key 256
/// (<https://cloud.google.com/pubsub/quotas#resource_limits>).
pub const PUBSUB_MAX_ATTRIBUTE_VALUE: usize = 1024;

/// S3: user-defined metadata is at most 2 KB, the UTF-8 bytes of every key and value
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html#UserMetadata>).
pub const S3_MAX_METADATA: usize = 2 * 1024;

/// Azure Blob: metadata names and values together are at most 8 KB
/// (<https://learn.microsoft.com/en-us/rest/api/storageservices/setting-and-retrieving-properties-and-metadata-for-blob-resources>).
pub const AZURE_BLOB_MAX_METADATA: usize = 8 * 1024;

/// Azure Blob: a name has at most 254 path segments; names ending with `.` or `/`, and path
/// segments ending with `.`, are to be avoided (the service trims trailing dots)
/// (<https://learn.microsoft.com/en-us/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata#blob-names>).
pub const AZURE_BLOB_MAX_SEGMENTS: usize = 254;

/// Cloud Storage: custom metadata is at most 8 KiB per object
/// (<https://cloud.google.com/storage/quotas#objects>).
pub const GCS_MAX_METADATA: usize = 8 * 1024;

/// Cloud Storage: object names may not start with `.well-known/acme-challenge/`
/// (<https://cloud.google.com/storage/docs/objects#naming>).
pub const GCS_RESERVED_PREFIX: &str = ".well-known/acme-challenge/";

/// Azure Table: `PartitionKey` and `RowKey` are each at most 1 KiB
/// (<https://learn.microsoft.com/en-us/rest/api/storageservices/understanding-the-table-service-data-model#partitionkey-property>)
/// of UTF-16 — 512 code units (Azurite 3.35 takes 512 and refuses 513 with `400 InvalidInput`).
/// The provider escapes the characters keys may not hold (`/ \ # ?`, control characters, and
/// `%` `'`:
/// <https://learn.microsoft.com/en-us/rest/api/storageservices/understanding-the-table-service-data-model#characters-disallowed-in-key-fields>)
/// as `%XX` per UTF-8 byte first, so the escaped key is what must fit.
pub const AZURE_TABLE_MAX_KEY_UTF16: usize = 512;

/// SQS's limits as the AWS provider declares them (`providers/aws/src/queue.rs`): 1 MiB messages
/// and batches, 10 per batch and per receive
/// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html>,
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html>),
/// visibility up to 12 h
/// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html>),
/// delays up to 15 min
/// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-delay-queues.html>),
/// long polls up to 20 s, 8 attributes left to the app. A standard queue: no ordering keys nor
/// deduplication ids (FIFO queues, whose names end in `.fifo`, have them; a `mem://` name cannot).
pub fn sqs() -> QueueCapabilities {
    QueueCapabilities {
        max_message_bytes: SQS_MAX_MESSAGE,
        max_batch_bytes: SQS_MAX_MESSAGE,
        max_attributes: SQS_MAX_ATTRIBUTES - 2,
        concurrent_sends: 4,
        ..QueueCapabilities::default()
    }
}

/// Azure Storage Queues as the Azure provider declares them (`providers/azure/src/queue.rs`):
/// 48 KiB of raw body (64 KiB of Base64), 32 per receive
/// (<https://learn.microsoft.com/en-us/rest/api/storageservices/get-messages>), visibility and
/// delays up to 7 days (<https://learn.microsoft.com/en-us/rest/api/storageservices/put-message>),
/// 16 attributes (carried in the envelope); no ordering keys nor deduplication ids.
pub fn azure_queue() -> QueueCapabilities {
    let raw = AZURE_QUEUE_MAX_TEXT / 4 * 3;
    QueueCapabilities {
        max_message_bytes: raw,
        max_batch_send: 32,
        max_batch_bytes: 32 * raw,
        max_batch_receive: 32,
        min_lease: Duration::from_secs(1),
        max_lease: Duration::from_secs(7 * 24 * 3600),
        max_delay: Duration::from_secs(7 * 24 * 3600),
        max_attributes: 16,
        concurrent_sends: 2,
        ..QueueCapabilities::default()
    }
}

/// Pub/Sub as the GCP provider declares it (`providers/gcp/src/queue.rs`): 10 MB messages, 1,000
/// per publish and per pull, ack deadlines up to 600 s, 100 attributes (98 left to the app: the
/// content type and the ordering key), no delayed publish
/// (<https://cloud.google.com/pubsub/quotas#resource_limits>), order per ordering key
/// (<https://cloud.google.com/pubsub/docs/ordering>), no deduplication ids.
pub fn pubsub() -> QueueCapabilities {
    QueueCapabilities {
        max_message_bytes: 10 * 1000 * 1000,
        max_batch_send: 1000,
        max_batch_bytes: 10 * 1000 * 1000 - 64 * 1024,
        max_batch_receive: 1000,
        min_lease: Duration::from_secs(1),
        max_lease: Duration::from_secs(600),
        max_delay: Duration::from_secs(600),
        max_attributes: 98,
        delayed_send: false,
        concurrent_sends: 4,
        ordering: true,
        ..QueueCapabilities::default()
    }
}

/// One cloud's queue capabilities.
pub(crate) fn queue(cloud: Cloud) -> QueueCapabilities {
    match cloud {
        Cloud::Aws => sqs(),
        Cloud::Azure => azure_queue(),
        Cloud::Gcp => pubsub(),
    }
}

/// Object stores: every provider declares the portable defaults — 1,024-byte keys
/// (S3: <https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html>; Azure: 1,024
/// characters, <https://learn.microsoft.com/en-us/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata#blob-names>;
/// Cloud Storage: <https://cloud.google.com/storage/docs/objects#naming>), 5 TiB objects, 1,000
/// keys per listing page.
pub(crate) fn blob(_cloud: Cloud) -> BlobCapabilities {
    BlobCapabilities::default()
}

/// Key-value stores as the providers declare them: DynamoDB sort keys up to 1,024 bytes and a
/// 350 KiB value under the 400 KB item
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-items>);
/// Azure Table (1 MiB entities, 64 KiB properties, which the provider chunks values into:
/// <https://learn.microsoft.com/en-us/rest/api/storageservices/understanding-the-table-service-data-model#property-limitations>)
/// and Firestore (1 MiB documents, 1,500-byte ids, which the provider hex-encodes keys into:
/// <https://firebase.google.com/docs/firestore/quotas#collections_documents_and_fields>) take
/// the portable 512-byte keys and 350 KiB values.
pub(crate) fn kv(cloud: Cloud) -> KvCapabilities {
    match cloud {
        Cloud::Aws => KvCapabilities {
            max_key_bytes: 1024,
            max_value_bytes: 350 * 1024,
            ..KvCapabilities::default()
        },
        Cloud::Azure | Cloud::Gcp => KvCapabilities::default(),
    }
}

/// The queue capabilities every one of `a` and `b` honours: the lower of each limit, the
/// narrower lease range, and a feature only where both have it.
pub(crate) fn min_queue(a: &QueueCapabilities, b: &QueueCapabilities) -> QueueCapabilities {
    let mut c = a.clone();
    c.max_message_bytes = a.max_message_bytes.min(b.max_message_bytes);
    c.max_batch_send = a.max_batch_send.min(b.max_batch_send);
    c.max_batch_bytes = a.max_batch_bytes.min(b.max_batch_bytes);
    c.max_batch_receive = a.max_batch_receive.min(b.max_batch_receive);
    c.min_lease = a.min_lease.max(b.min_lease);
    c.max_lease = a.max_lease.min(b.max_lease);
    c.max_delay = a.max_delay.min(b.max_delay);
    c.attributes = a.attributes && b.attributes;
    c.max_attributes = a.max_attributes.min(b.max_attributes);
    c.delayed_send = a.delayed_send && b.delayed_send;
    c.delayed_nack = a.delayed_nack && b.delayed_nack;
    c.extend_lease = a.extend_lease && b.extend_lease;
    c.delivery_count = a.delivery_count && b.delivery_count;
    c.max_wait = a.max_wait.min(b.max_wait);
    c.concurrent_sends = a.concurrent_sends.min(b.concurrent_sends);
    c.ordered = a.ordered && b.ordered;
    c.ordering = a.ordering && b.ordering;
    c.deduplication = a.deduplication && b.deduplication;
    c
}

/// The blob capabilities both honour.
pub(crate) fn min_blob(a: &BlobCapabilities, b: &BlobCapabilities) -> BlobCapabilities {
    BlobCapabilities {
        max_key_bytes: a.max_key_bytes.min(b.max_key_bytes),
        max_object_bytes: a.max_object_bytes.min(b.max_object_bytes),
        create_only: a.create_only && b.create_only,
        if_match: a.if_match && b.if_match,
        if_none_match_get: a.if_none_match_get && b.if_none_match_get,
        range: a.range && b.range,
        metadata: a.metadata && b.metadata,
        list_delimiter: a.list_delimiter && b.list_delimiter,
        max_list_page: a.max_list_page.min(b.max_list_page),
        copy: a.copy && b.copy,
    }
}

/// The key-value capabilities both honour.
pub(crate) fn min_kv(a: &KvCapabilities, b: &KvCapabilities) -> KvCapabilities {
    KvCapabilities {
        max_key_bytes: a.max_key_bytes.min(b.max_key_bytes),
        max_value_bytes: a.max_value_bytes.min(b.max_value_bytes),
        if_absent: a.if_absent && b.if_absent,
        if_version: a.if_version && b.if_version,
        ttl: a.ttl && b.ttl,
        scan_prefix: a.scan_prefix && b.scan_prefix,
        max_scan_page: a.max_scan_page.min(b.max_scan_page),
    }
}
