//! A memory queue under a cloud's queue limits.

use std::time::Duration;

use async_trait::async_trait;
use cloudport_core::queue::wire::{CONTENT_TYPE_ATTRIBUTE, to_envelope};
use cloudport_core::{
    ErrorKind, LeaseToken, Message, QueueCapabilities, QueueDriver, ReceiveOptions,
    ReceivedMessage, Result,
};

use super::{Cloud, Profile, limits};
use crate::MemoryQueue;

/// The capabilities a queue reports under `profile`.
pub(crate) fn capabilities(profile: Profile) -> QueueCapabilities {
    let mut clouds = profile.clouds().iter().map(|&c| limits::queue(c));
    let first = clouds.next().unwrap_or_default();
    clouds.fold(first, |acc, c| limits::min_queue(&acc, &c))
}

/// A [`MemoryQueue`] that refuses what its profile's queue services refuse, before the memory
/// queue sees the call. Open one with [`Memory::queue_with_profile`](crate::Memory::queue_with_profile)
/// or `mem://NAME?profile=PROFILE`.
#[derive(Debug, Clone)]
pub struct ProfiledQueue {
    inner: MemoryQueue,
    profile: Profile,
    capabilities: QueueCapabilities,
}

impl ProfiledQueue {
    pub(crate) fn new(
        inner: MemoryQueue,
        profile: Profile,
        capabilities: QueueCapabilities,
    ) -> Self {
        Self {
            inner,
            profile,
            capabilities,
        }
    }

    /// The memory queue underneath (for inspection in tests).
    pub fn inner(&self) -> &MemoryQueue {
        &self.inner
    }

    /// The profile enforced.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// Checks one message against every rule of the profile.
    pub fn check_message(&self, message: &Message) -> Result<()> {
        for &cloud in self.profile.clouds() {
            self.check_for(cloud, message)?;
        }
        Ok(())
    }

    fn check_for(&self, cloud: Cloud, message: &Message) -> Result<()> {
        let p = self.profile;
        let service = cloud.queue_service();
        let caps = limits::queue(cloud);
        if message.size() > caps.max_message_bytes {
            return Err(p.refuse(
                ErrorKind::TooLarge,
                format_args!(
                    "the message is {} bytes; this exceeds {service}' {} message limit",
                    message.size(),
                    bytes(caps.max_message_bytes)
                ),
            ));
        }
        if message.attributes.len() > caps.max_attributes {
            return Err(p.refuse(
                ErrorKind::InvalidArgument,
                format_args!(
                    "the message has {} attributes; {service} carries {} beside cloudport's own",
                    message.attributes.len(),
                    caps.max_attributes
                ),
            ));
        }
        if let Some(delay) = message.delay.filter(|d| !d.is_zero()) {
            if !caps.delayed_send {
                return Err(p.refuse(
                    ErrorKind::Unsupported,
                    format_args!("{service} cannot delay a send"),
                ));
            }
            if delay > caps.max_delay {
                return Err(p.refuse(
                    ErrorKind::InvalidArgument,
                    format_args!(
                        "delay {delay:?} exceeds {service}' limit of {:?}",
                        caps.max_delay
                    ),
                ));
            }
        }
        if message.ordering_key().is_some() && !caps.ordering {
            return Err(p.refuse(
                ErrorKind::Unsupported,
                format_args!("{service} keeps no order per ordering key"),
            ));
        }
        if message.deduplication_id.is_some() && !caps.deduplication {
            return Err(p.refuse(
                ErrorKind::Unsupported,
                format_args!("{service} does not deduplicate messages by id"),
            ));
        }
        match cloud {
            Cloud::Aws => check_sqs(p, message),
            Cloud::Azure => check_azure(p, message),
            Cloud::Gcp => check_pubsub(p, message),
        }
    }

    fn check_lease(&self, lease: Duration) -> Result<()> {
        for &cloud in self.profile.clouds() {
            let caps = limits::queue(cloud);
            if lease < caps.min_lease || lease > caps.max_lease {
                return Err(self.profile.refuse(
                    ErrorKind::InvalidArgument,
                    format_args!(
                        "lease {lease:?} is outside {}' range {:?}..={:?}",
                        cloud.queue_service(),
                        caps.min_lease,
                        caps.max_lease
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// `n` bytes as the docs state them (`64 KiB`, `1 MiB`, `10 MB`).
fn bytes(n: usize) -> String {
    if n.is_multiple_of(1024 * 1024) {
        format!("{} MiB", n / (1024 * 1024))
    } else if n.is_multiple_of(1000 * 1000) {
        format!("{} MB", n / (1000 * 1000))
    } else if n.is_multiple_of(1024) {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n}-byte")
    }
}

/// The characters SQS takes in a body or attribute value
/// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html>).
fn sqs_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// SQS as the AWS provider sends to it: a body SQS cannot carry as text goes Base64-encoded with
/// an encoding attribute; the content type is an attribute; SQS counts the body and each
/// attribute's name, type (`String`) and value against 1 MiB. Attribute values must be SQS text.
fn check_sqs(p: Profile, message: &Message) -> Result<()> {
    const STRING: usize = "String".len();
    let text = std::str::from_utf8(&message.body)
        .ok()
        .filter(|s| s.chars().all(sqs_char));
    let (body, encoding) = match text {
        Some(s) => (s.len(), 0),
        None => (
            base64_len(message.body.len()),
            "cloudportencoding".len() + STRING + "base64".len(),
        ),
    };
    let content_type = message
        .content_type
        .as_ref()
        .map_or(0, |ct| CONTENT_TYPE_ATTRIBUTE.len() + STRING + ct.len());
    let attributes: usize = message
        .attributes
        .iter()
        .map(|(k, v)| k.len() + STRING + v.len())
        .sum();
    let wire = body + encoding + content_type + attributes;
    if wire > limits::SQS_MAX_MESSAGE {
        return Err(p.refuse(
            ErrorKind::TooLarge,
            format_args!(
                "the message is {wire} bytes as sent to SQS (Base64 body, attribute names, types and values); this exceeds SQS' 1 MiB message limit"
            ),
        ));
    }
    if let Some((name, _)) = message
        .attributes
        .iter()
        .find(|(_, v)| !v.chars().all(sqs_char))
    {
        return Err(p.refuse(
            ErrorKind::InvalidArgument,
            format_args!("attribute {name:?} holds characters SQS does not take (U+FFFE, U+FFFF)"),
        ));
    }
    Ok(())
}

/// Azure Storage Queues as the Azure provider sends to them: the message enveloped (when it has
/// attributes or a content type a consumer would not assume), then Base64, within 64 KiB.
fn check_azure(p: Profile, message: &Message) -> Result<()> {
    let wire = base64_len(to_envelope(message)?.len());
    if wire > limits::AZURE_QUEUE_MAX_TEXT {
        return Err(p.refuse(
            ErrorKind::TooLarge,
            format_args!(
                "the message is {wire} bytes once enveloped and Base64-encoded; this exceeds Azure Storage Queues' 64 KiB message limit"
            ),
        ));
    }
    Ok(())
}

/// Pub/Sub as the GCP provider publishes to it: attributes (and the content type, an attribute
/// too) with values of at most 1,024 bytes.
fn check_pubsub(p: Profile, message: &Message) -> Result<()> {
    let values = message
        .attributes
        .iter()
        .map(|(k, v)| (k.as_str(), v.len()))
        .chain(
            message
                .content_type
                .as_ref()
                .map(|ct| (CONTENT_TYPE_ATTRIBUTE, ct.len())),
        );
    for (name, len) in values {
        if len > limits::PUBSUB_MAX_ATTRIBUTE_VALUE {
            return Err(p.refuse(
                ErrorKind::InvalidArgument,
                format_args!(
                    "attribute {name:?} is {len} bytes; this exceeds Pub/Sub's 1,024-byte attribute value limit"
                ),
            ));
        }
    }
    Ok(())
}

/// The length of `n` bytes in padded Base64.
fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

#[async_trait]
impl QueueDriver for ProfiledQueue {
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }

    fn name(&self) -> &str {
        self.inner.name()
    }

    fn capabilities(&self) -> &QueueCapabilities {
        &self.capabilities
    }

    async fn send_batch(&self, messages: &[Message]) -> Result<Vec<Result<String>>> {
        let caps = &self.capabilities;
        if messages.len() > caps.max_batch_send {
            return Err(self.profile.refuse(
                ErrorKind::InvalidArgument,
                format_args!(
                    "a batch of {} messages exceeds the {} per send call",
                    messages.len(),
                    caps.max_batch_send
                ),
            ));
        }
        let checked: Vec<Result<()>> = messages.iter().map(|m| self.check_message(m)).collect();
        let passed: Vec<Message> = messages
            .iter()
            .zip(&checked)
            .filter(|(_, c)| c.is_ok())
            .map(|(m, _)| m.clone())
            .collect();
        let batch_bytes: usize = passed.iter().map(Message::size).sum();
        if batch_bytes > caps.max_batch_bytes {
            return Err(self.profile.refuse(
                ErrorKind::TooLarge,
                format_args!(
                    "a batch of {batch_bytes} bytes exceeds the {} per send call",
                    bytes(caps.max_batch_bytes)
                ),
            ));
        }
        let mut sent = if passed.is_empty() {
            Vec::new()
        } else {
            self.inner.send_batch(&passed).await?
        }
        .into_iter();
        Ok(checked
            .into_iter()
            .map(|c| match c {
                Err(e) => Err(e),
                Ok(()) => sent.next().unwrap_or_else(|| {
                    Err(cloudport_core::Error::new(
                        ErrorKind::Other,
                        "message not sent",
                    ))
                }),
            })
            .collect())
    }

    async fn receive(&self, options: &ReceiveOptions) -> Result<Vec<ReceivedMessage>> {
        for &cloud in self.profile.clouds() {
            let caps = limits::queue(cloud);
            if options.max_messages == 0 || options.max_messages > caps.max_batch_receive {
                return Err(self.profile.refuse(
                    ErrorKind::InvalidArgument,
                    format_args!(
                        "a receive of {} messages is outside {}' 1..={}",
                        options.max_messages,
                        cloud.queue_service(),
                        caps.max_batch_receive
                    ),
                ));
            }
            if options.wait > caps.max_wait {
                return Err(self.profile.refuse(
                    ErrorKind::InvalidArgument,
                    format_args!(
                        "wait {:?} exceeds {}' long-poll limit of {:?}",
                        options.wait,
                        cloud.queue_service(),
                        caps.max_wait
                    ),
                ));
            }
        }
        self.check_lease(options.lease)?;
        self.inner.receive(options).await
    }

    async fn ack(&self, lease: &LeaseToken) -> Result<()> {
        self.inner.ack(lease).await
    }

    async fn nack(&self, lease: &LeaseToken, delay: Duration) -> Result<()> {
        if !delay.is_zero() {
            for &cloud in self.profile.clouds() {
                let caps = limits::queue(cloud);
                let max = caps.max_delay.min(caps.max_lease);
                if delay > max {
                    return Err(self.profile.refuse(
                        ErrorKind::InvalidArgument,
                        format_args!(
                            "nack delay {delay:?} exceeds {}' limit of {max:?}",
                            cloud.queue_service()
                        ),
                    ));
                }
            }
        }
        self.inner.nack(lease, delay).await
    }

    async fn extend_lease(&self, lease: &LeaseToken, lease_for: Duration) -> Result<LeaseToken> {
        self.check_lease(lease_for)?;
        self.inner.extend_lease(lease, lease_for).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_lengths() {
        assert_eq!(base64_len(0), 0);
        assert_eq!(base64_len(1), 4);
        assert_eq!(base64_len(3), 4);
        assert_eq!(base64_len(49_152), 65_536);
    }

    #[test]
    fn sizes_read_as_documented() {
        assert_eq!(bytes(64 * 1024), "64 KiB");
        assert_eq!(bytes(1024 * 1024), "1 MiB");
        assert_eq!(bytes(10_000_000), "10 MB");
    }

    #[test]
    fn strictest_is_the_minimum_of_every_cloud() {
        let s = capabilities(Profile::Strictest);
        assert_eq!(s.max_message_bytes, 48 * 1024);
        assert_eq!(s.max_batch_send, 10);
        assert_eq!(s.max_batch_receive, 10);
        assert_eq!(s.max_lease, Duration::from_secs(600));
        assert_eq!(s.max_delay, Duration::from_secs(600));
        assert_eq!(s.max_attributes, 8);
        assert!(!s.delayed_send);
        assert!(s.delayed_nack);
    }
}
