//! What the portable queue checks before any driver call: a message against the queue's
//! capabilities and limits (size, attributes, delay, ordering key, deduplication id), a lease
//! against its range.

use std::time::Duration;

use super::{Message, Queue};
use crate::{Error, ErrorKind, Result, validate};

impl Queue {
    pub(super) fn check_message(&self, msg: &Message) -> Result<()> {
        let caps = self.capabilities();
        self.check_order(msg)?;
        if msg.body.is_empty() {
            return Err(Error::invalid("message body must not be empty"));
        }
        if msg.size() > caps.max_message_bytes {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!(
                    "message is {} bytes; the limit of this queue is {}",
                    msg.size(),
                    caps.max_message_bytes
                ),
            ));
        }
        if !msg.attributes.is_empty() && !caps.attributes {
            return Err(Error::unsupported(
                "this queue does not carry message attributes",
            ));
        }
        if msg.attributes.len() > caps.max_attributes {
            return Err(Error::invalid(format!(
                "message has {} attributes; the limit is {}",
                msg.attributes.len(),
                caps.max_attributes
            )));
        }
        for (name, value) in &msg.attributes {
            validate::attribute_name(name)?;
            if value.chars().any(char::is_control) {
                return Err(Error::invalid(format!(
                    "attribute {name:?} contains control characters"
                )));
            }
        }
        if let Some(delay) = msg.delay.filter(|d| !d.is_zero()) {
            if !caps.delayed_send {
                return Err(Error::unsupported("this queue cannot delay a send"));
            }
            if delay > caps.max_delay {
                return Err(Error::invalid(format!(
                    "delay {delay:?} exceeds this queue's limit of {:?}",
                    caps.max_delay
                )));
            }
        }
        Ok(())
    }

    /// An ordering key or deduplication id on a queue without them is refused (never a silent
    /// downgrade); an empty one is invalid. The service's own rules are the driver's to check.
    pub(super) fn check_order(&self, msg: &Message) -> Result<()> {
        let caps = self.capabilities();
        if let Some(key) = msg.ordering_key() {
            if !caps.ordering {
                return Err(Error::unsupported(format!(
                    "this {} queue keeps no order per ordering key: send ordered messages to a \
                     queue that does (an SQS FIFO queue, a Pub/Sub topic whose subscription has \
                     message ordering, memory), or send without Message::with_ordering_key",
                    self.driver.provider()
                )));
            }
            if key.is_empty() {
                return Err(Error::invalid("the ordering key must not be empty"));
            }
        }
        if let Some(id) = &msg.deduplication_id {
            if !caps.deduplication {
                return Err(Error::unsupported(format!(
                    "this {} queue does not deduplicate: send to a queue that does (an SQS FIFO \
                     queue, memory), or make the consumer idempotent (cloudport_core::idempotency) \
                     and send without Message::with_deduplication_id",
                    self.driver.provider()
                )));
            }
            if id.is_empty() {
                return Err(Error::invalid("the deduplication id must not be empty"));
            }
        }
        Ok(())
    }

    pub(super) fn check_lease(&self, lease: Duration) -> Result<()> {
        let caps = self.capabilities();
        if lease < caps.min_lease || lease > caps.max_lease {
            return Err(Error::invalid(format!(
                "lease {lease:?} is outside this queue's range {:?}..={:?}",
                caps.min_lease, caps.max_lease
            )));
        }
        Ok(())
    }
}
