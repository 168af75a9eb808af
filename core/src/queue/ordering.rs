//! Ordered queues: the rules of the services' ordering keys and deduplication ids, checked before
//! any network call so a bad key is a typed [`InvalidArgument`](crate::ErrorKind::InvalidArgument)
//! error, not a rejected request.
//!
//! A message's ordering key ([`Message::with_ordering_key`](crate::Message::with_ordering_key))
//! travels as its [`ORDERING_KEY_ATTRIBUTE`](super::wire::ORDERING_KEY_ATTRIBUTE) attribute: it is
//! SQS FIFO's `MessageGroupId` and Pub/Sub's `orderingKey`, and consumers read it back from the
//! same attribute (the queue-message CloudEvent's `orderingkey` extension). A deduplication id
//! ([`Message::with_deduplication_id`](crate::Message::with_deduplication_id)) is SQS FIFO's
//! `MessageDeduplicationId`: an instruction to the queue, not delivered to consumers.
//!
//! Which queues honour them is in [`QueueCapabilities::ordering`](crate::QueueCapabilities) and
//! [`QueueCapabilities::deduplication`](crate::QueueCapabilities); a queue without them refuses
//! such a message with [`Unsupported`](crate::ErrorKind::Unsupported) — never a silent downgrade.

use std::time::Duration;

use crate::{Error, Result};

/// Longest SQS `MessageGroupId` or `MessageDeduplicationId`, in characters.
///
/// Source: <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html>
/// ("The maximum length of `MessageGroupId` is 128 characters", same for
/// `MessageDeduplicationId`).
pub const SQS_MAX_ID_CHARS: usize = 128;

/// How long SQS FIFO remembers a deduplication id: a message sent again with the same id within
/// this interval is accepted but not delivered.
///
/// Source: <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html>
/// ("any messages sent with the same `MessageDeduplicationId` are accepted successfully but
/// aren't delivered during the 5-minute deduplication interval").
pub const DEDUPLICATION_WINDOW: Duration = Duration::from_secs(5 * 60);

/// Longest Pub/Sub ordering key, in bytes ("An ordering key can be up to 1 KB in length").
///
/// Source: <https://cloud.google.com/pubsub/docs/ordering>
pub const PUBSUB_MAX_ORDERING_KEY_BYTES: usize = 1024;

/// Checks an SQS FIFO `MessageGroupId` or `MessageDeduplicationId` (`what` names which, for the
/// error): 1 to [`SQS_MAX_ID_CHARS`] characters, each alphanumeric (ASCII) or one of
/// ``!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~``.
///
/// Source: <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html>
/// ("Valid values: alphanumeric characters and punctuation").
///
/// ```
/// use cloudport_core::queue::ordering::check_sqs_id;
/// assert!(check_sqs_id("ordering key", "customer-7/eu").is_ok());
/// let e = check_sqs_id("ordering key", "kunde 7").unwrap_err(); // a space
/// assert_eq!(e.kind(), cloudport_core::ErrorKind::InvalidArgument);
/// assert!(check_sqs_id("deduplication id", &"x".repeat(129)).is_err());
/// assert!(check_sqs_id("deduplication id", "").is_err());
/// ```
pub fn check_sqs_id(what: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(format!("the {what} must not be empty")));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || c.is_ascii_punctuation()))
    {
        return Err(Error::invalid(format!(
            "the {what} contains {bad:?}: SQS takes only ASCII letters, digits and punctuation \
             (!\"#$%&'()*+,-./:;<=>?@[\\]^_`{{|}}~)"
        )));
    }
    // Only ASCII passed: bytes are characters.
    if value.len() > SQS_MAX_ID_CHARS {
        return Err(Error::invalid(format!(
            "the {what} is {} characters; SQS takes at most {SQS_MAX_ID_CHARS}",
            value.len()
        )));
    }
    Ok(())
}

/// Checks a Pub/Sub ordering key: 1 to [`PUBSUB_MAX_ORDERING_KEY_BYTES`] bytes (an empty key
/// means "no order" to Pub/Sub, so cloudport refuses it rather than drop the order silently).
///
/// ```
/// use cloudport_core::queue::ordering::check_pubsub_ordering_key;
/// assert!(check_pubsub_ordering_key("kunde 7 / ü").is_ok());
/// assert!(check_pubsub_ordering_key(&"k".repeat(1025)).is_err());
/// ```
pub fn check_pubsub_ordering_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid("the ordering key must not be empty"));
    }
    if key.len() > PUBSUB_MAX_ORDERING_KEY_BYTES {
        return Err(Error::invalid(format!(
            "the ordering key is {} bytes; Pub/Sub takes at most {PUBSUB_MAX_ORDERING_KEY_BYTES}",
            key.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqs_ids_take_every_documented_punctuation_mark_and_nothing_else() {
        let punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
        assert!(check_sqs_id("ordering key", punctuation).is_ok());
        assert!(check_sqs_id("ordering key", &"a".repeat(128)).is_ok());
        for bad in ["a b", "ä", "tab\t", "\u{0}"] {
            assert!(check_sqs_id("ordering key", bad).is_err(), "{bad:?}");
        }
    }
}
