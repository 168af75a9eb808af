//! Large messages by claim check (ADR 0013): a message over its queue's limit travels as a
//! reference to an object in a bound bucket, and every consumer — [`Queue::receive`] and every
//! host — gets the message back as it was sent.
//!
//! Opt in per queue binding with `claim_check=<logical bucket name>`; the bucket is bound like any
//! other:
//!
//! ```text
//! CLOUDPORT_QUEUE_ORDERS=sqs://orders?claim_check=payloads
//! CLOUDPORT_BUCKET_PAYLOADS=s3://acme-payloads
//! ```
//!
//! Without it, a message over the limit is refused with [`ErrorKind::TooLarge`], as before.
//!
//! - **Send** ([`ClaimCheckDriver`]): a message whose size exceeds the queue's
//!   `max_message_bytes` is put to the bucket under [`KEY_PREFIX`]`<queue>/<unique id>`; the
//!   queue carries a small reference (content type [`CONTENT_TYPE`], a JSON [`Reference`]:
//!   bucket, key, size, SHA-256, the original content type) with the message's own attributes, so
//!   filters, ordering keys, deduplication ids and traces keep working. The content type marks it
//!   (not an attribute): every provider reserves the content type outside the attributes left to
//!   the app, so a claimed message may carry as many attributes as any other.
//! - **Receive through the driver**: the reference is fetched and checked; `ack` acks the queue
//!   message first, then deletes the object — a failed delete is logged and left to the
//!   lifecycle rule, never failing the ack.
//! - **Hosts** (the platform acks after the handler returns): [`resolve`] is the one place every
//!   host's queue event passes (`App::dispatch`); the object is deleted after the handler
//!   succeeds ([`Claim::release`]).
//! - **A reference whose object is gone is a failure, never "handled"**: it may have been handled
//!   before a lost ack, but also deleted by another subscription's consumer, expired (a redriven
//!   message restarts its retention), or stored in a bucket bound differently on this side — so
//!   the message is retried and dead-lettered, never acked unprocessed. The bucket's lifecycle
//!   rule expires orphans ([`LIFECYCLE_DAYS`] under [`KEY_PREFIX`]).
//! - **Safety**: a consumer follows only references to its own binding's bucket and under
//!   [`KEY_PREFIX`]; anyone able to send to the queue can never make it read or delete anything
//!   else.

mod driver;
mod reference;
mod resolve;

pub use driver::ClaimCheckDriver;
pub use reference::Reference;
pub use resolve::{Claim, Resolved, resolve};

use std::sync::Arc;

use bytes::Bytes;

use crate::{Bucket, Error, ErrorKind, Queue, ResourceUrl, Result};

/// The content type of a reference message.
pub const CONTENT_TYPE: &str = "application/vnd.cloudport.claim+json";

/// Where claimed messages are stored in the bucket; the deploy tool's lifecycle rule expires
/// objects under it.
pub const KEY_PREFIX: &str = "cloudport-claims/";

/// The queue URL parameter that opts a queue in: `claim_check=<logical bucket name>`.
pub const URL_PARAM: &str = "claim_check";

/// Days after which the deploy tool's lifecycle rule deletes claimed objects left behind (a
/// failed delete, a message dead-lettered by the platform). Longer than a message can live in a
/// queue and then its dead-letter queue, so a missing object always means "handled": SQS keeps
/// messages at most 14 days
/// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html>,
/// `MessageRetentionPeriod`), and a FIFO dead-letter queue restarts that clock
/// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html>):
/// 28 days; Storage Queues 7 days by default
/// (<https://learn.microsoft.com/en-us/rest/api/storageservices/put-message>, `messagettl`; the
/// driver sets none), the poison queue 7 more; Pub/Sub subscriptions at most 7 days
/// (<https://cloud.google.com/pubsub/docs/subscription-properties#retention>), a dead-letter
/// topic's subscription 7 more.
pub const LIFECYCLE_DAYS: u32 = 30;

/// Takes the `claim_check` parameter off a queue URL: the logical name of the bucket, checked
/// (`InvalidArgument` for an empty or malformed name), or `None` when the queue does not opt in.
/// `Env` calls it before the provider opens the queue.
///
/// ```
/// use cloudport_core::{ResourceUrl, claim_check::take_param};
/// let mut url = ResourceUrl::parse("sqs://orders?claim_check=payloads&dead_letter=dlq").unwrap();
/// assert_eq!(take_param(&mut url).unwrap().as_deref(), Some("payloads"));
/// assert_eq!(url.param("claim_check"), None);
/// assert!(take_param(&mut ResourceUrl::parse("sqs://o?claim_check=").unwrap()).is_err());
/// ```
pub fn take_param(url: &mut ResourceUrl) -> Result<Option<String>> {
    let Some(name) = url.take_param(URL_PARAM) else {
        return Ok(None);
    };
    crate::validate::logical_name(&name).map_err(|e| {
        Error::invalid(format!(
            "{URL_PARAM}={name:?} must name a bound bucket (CLOUDPORT_BUCKET_<NAME>): {}",
            e.message()
        ))
    })?;
    Ok(Some(name))
}

/// `queue` with the claim check: messages over its limit go to `bucket`, bound as the logical
/// name `bucket_name` (what references carry and consumers check). The queue's dead-letter policy
/// is not carried over: `Env` wraps before it adds one.
pub fn wrap(queue: Queue, bucket_name: &str, bucket: Bucket) -> Queue {
    Queue::from_driver(Arc::new(ClaimCheckDriver::new(
        queue.driver().clone(),
        bucket_name,
        bucket,
    )))
}

/// [`wrap`] for `Env`: `bucket` is the result of opening the bucket the binding names; an
/// unbound name fails here, naming its variable (`CLOUDPORT_BUCKET_<NAME>`), when the queue
/// opens.
pub fn wrap_bound(queue: Queue, bucket_name: &str, bucket: Result<Bucket>) -> Result<Queue> {
    let bucket = bucket.map_err(|e| e.prefixed(format_args!("{URL_PARAM}={bucket_name}")))?;
    Ok(wrap(queue, bucket_name, bucket))
}

/// The claim-check driver under `queue`, if it has one.
pub fn driver_of(queue: &Queue) -> Option<&ClaimCheckDriver> {
    queue.native::<ClaimCheckDriver>()
}

/// The stored body `reference` points to, checked. An object that is gone is an error like any
/// other, never "handled": it may have been deleted by another subscriber's consumer, expired, or
/// be in a bucket bound differently on this side — so the message fails, is retried and is
/// dead-lettered, never acked unprocessed (a redelivery after a lost ack therefore ends in the
/// dead-letter queue too: a visible duplicate, not a silent loss).
async fn fetch(bucket: &Bucket, reference: &Reference) -> Result<Bytes> {
    match bucket.get_bytes(&reference.key).await {
        Ok(body) => {
            reference.verify(&body)?;
            Ok(body)
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Err(Error::new(
            ErrorKind::NotFound,
            format!(
                "the claimed object {:?} is gone (handled before and its ack lost, deleted by \
                 another consumer, or expired): the message fails and is dead-lettered, never \
                 dropped",
                reference.key
            ),
        )
        .temporary(false)),
        Err(e) => Err(e),
    }
}

/// Deletes a claimed object; a failure is logged and left to the lifecycle rule.
async fn delete_quietly(bucket: &Bucket, key: &str) {
    match bucket.delete(key).await {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(bucket = bucket.name(), key, error = %e,
            "could not delete a claimed message's object; the bucket's lifecycle rule removes it"),
    }
}
