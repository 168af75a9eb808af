//! Messages going into and coming out of a queue.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, ErrorKind, Result};

/// A message to send.
///
/// ```
/// use cloudport_core::Message;
/// use std::time::Duration;
///
/// let msg = Message::new("hello")
///     .with_attribute("tenant", "acme")
///     .with_delay(Duration::from_secs(5));
/// assert_eq!(&msg.body[..], b"hello");
/// assert_eq!(msg.attributes["tenant"], "acme");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Message {
    /// The payload.
    pub body: Bytes,
    /// The media type of the body (`application/json`, …), carried to the consumer's CloudEvent.
    pub content_type: Option<String>,
    /// Name → value pairs beside the body; names follow the CloudEvents extension-name rule.
    pub attributes: BTreeMap<String, String>,
    /// How long the message stays invisible after it is sent.
    pub delay: Option<Duration>,
    /// The id a queue that deduplicates ([`QueueCapabilities::deduplication`]) drops later sends
    /// of within its window ([`Message::with_deduplication_id`]); not delivered to consumers.
    ///
    /// [`QueueCapabilities::deduplication`]: crate::QueueCapabilities::deduplication
    pub deduplication_id: Option<String>,
}

impl Message {
    /// A message with this body.
    pub fn new(body: impl Into<Bytes>) -> Self {
        Self {
            body: body.into(),
            ..Self::default()
        }
    }

    /// A message whose body is `value` as JSON, with content type `application/json`.
    ///
    /// ```
    /// use cloudport_core::Message;
    /// let msg = Message::json(&serde_json::json!({"id": "42"})).unwrap();
    /// assert_eq!(msg.content_type.as_deref(), Some("application/json"));
    /// ```
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self> {
        let body = serde_json::to_vec(value)
            .map_err(|e| Error::invalid(format!("message is not serializable as JSON: {e}")))?;
        Ok(Self::new(body).with_content_type("application/json"))
    }

    /// Sets the content type.
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Adds an attribute.
    pub fn with_attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(name.into(), value.into());
        self
    }

    /// Delays delivery.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Orders this message after every message sent before it with the same `key`: a queue that
    /// keeps order per key ([`QueueCapabilities::ordering`]: SQS FIFO, where the key is the
    /// `MessageGroupId`; Pub/Sub, its `orderingKey`; memory) delivers the messages of one key in
    /// send order, and none of them while an earlier one is leased. Messages of different keys
    /// stay independent. A queue without ordering refuses the message
    /// ([`ErrorKind::Unsupported`]); on an SQS FIFO queue every message needs a key.
    ///
    /// The key travels as the [`ORDERING_KEY_ATTRIBUTE`](super::wire::ORDERING_KEY_ATTRIBUTE)
    /// attribute (it counts as one), so consumers read it back
    /// ([`ReceivedMessage::ordering_key`], the CloudEvent's `orderingkey` extension), and hosts
    /// keep a key's order in a batch: a failed message holds back the rest of its key. Each
    /// service's rule is checked before any call ([`super::ordering`]).
    ///
    /// ```
    /// use cloudport_core::Message;
    /// let msg = Message::new("debit 10").with_ordering_key("account-42");
    /// assert_eq!(msg.ordering_key(), Some("account-42"));
    /// assert_eq!(msg.attributes["orderingkey"], "account-42");
    /// ```
    ///
    /// [`QueueCapabilities::ordering`]: crate::QueueCapabilities::ordering
    pub fn with_ordering_key(self, key: impl Into<String>) -> Self {
        self.with_attribute(super::wire::ORDERING_KEY_ATTRIBUTE, key)
    }

    /// The ordering key, if the message has one ([`Message::with_ordering_key`]).
    pub fn ordering_key(&self) -> Option<&str> {
        self.attributes
            .get(super::wire::ORDERING_KEY_ATTRIBUTE)
            .map(String::as_str)
    }

    /// Sends this message at most once per `id` within the queue's deduplication window: a later
    /// send with the same id in the window succeeds but delivers nothing (SQS FIFO's
    /// `MessageDeduplicationId`, five minutes: [`super::ordering::DEDUPLICATION_WINDOW`]; memory
    /// keeps the same window on its clock). A queue without deduplication
    /// ([`QueueCapabilities::deduplication`]) refuses the message ([`ErrorKind::Unsupported`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
    /// use cloudport_core::{Message, ReceiveOptions};
    /// let queue = cloudport_memory::Memory::new().queue("payments");
    /// for _ in 0..2 {
    ///     queue.send(Message::new("pay invoice 7").with_deduplication_id("invoice-7")).await?;
    /// }
    /// assert_eq!(queue.receive(ReceiveOptions::default()).await?.len(), 1);
    /// # Ok(()) }
    /// ```
    ///
    /// [`QueueCapabilities::deduplication`]: crate::QueueCapabilities::deduplication
    pub fn with_deduplication_id(mut self, id: impl Into<String>) -> Self {
        self.deduplication_id = Some(id.into());
        self
    }

    /// Bytes this message counts against a provider's size limit: body, content type and attributes.
    pub fn size(&self) -> usize {
        self.body.len()
            + self.content_type.as_ref().map_or(0, String::len)
            + self
                .attributes
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
    }
}

impl From<&str> for Message {
    fn from(body: &str) -> Self {
        Self::new(Bytes::copy_from_slice(body.as_bytes()))
            .with_content_type("text/plain; charset=utf-8")
    }
}

impl From<String> for Message {
    fn from(body: String) -> Self {
        Self::new(body).with_content_type("text/plain; charset=utf-8")
    }
}

impl From<Bytes> for Message {
    fn from(body: Bytes) -> Self {
        Self::new(body)
    }
}

impl From<Vec<u8>> for Message {
    fn from(body: Vec<u8>) -> Self {
        Self::new(body)
    }
}

/// The opaque proof that the holder leases a received message (SQS receipt handle, Azure pop
/// receipt, Pub/Sub ack id). Acks, nacks and lease extensions present it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LeaseToken(String);

impl LeaseToken {
    /// Wraps a provider's receipt.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The provider's receipt.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A message received under a lease. Ack it when handled; otherwise it becomes visible again when
/// the lease ends.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceivedMessage {
    /// The provider's message id, stable across redeliveries.
    pub id: String,
    /// The payload.
    pub body: Bytes,
    /// The media type the sender gave, if any.
    pub content_type: Option<String>,
    /// Attributes the sender set.
    pub attributes: BTreeMap<String, String>,
    /// How many times this message has been delivered, this delivery included (1 on first delivery).
    pub delivery_count: u32,
    /// When the message was first enqueued, if the provider says.
    pub enqueued_at: Option<SystemTime>,
    /// The current lease.
    pub lease: LeaseToken,
}

impl ReceivedMessage {
    /// A received message; drivers build these.
    pub fn new(id: impl Into<String>, body: impl Into<Bytes>, lease: LeaseToken) -> Self {
        Self {
            id: id.into(),
            body: body.into(),
            content_type: None,
            attributes: BTreeMap::new(),
            delivery_count: 1,
            enqueued_at: None,
            lease,
        }
    }

    /// Sets the content type.
    pub fn with_content_type(mut self, content_type: Option<String>) -> Self {
        self.content_type = content_type;
        self
    }

    /// Sets the attributes.
    pub fn with_attributes(mut self, attributes: BTreeMap<String, String>) -> Self {
        self.attributes = attributes;
        self
    }

    /// Sets the delivery count.
    pub fn with_delivery_count(mut self, delivery_count: u32) -> Self {
        self.delivery_count = delivery_count;
        self
    }

    /// Sets the enqueue time.
    pub fn with_enqueued_at(mut self, enqueued_at: Option<SystemTime>) -> Self {
        self.enqueued_at = enqueued_at;
        self
    }

    /// The ordering key the sender gave ([`Message::with_ordering_key`]), if any.
    ///
    /// ```
    /// use cloudport_core::{LeaseToken, ReceivedMessage};
    /// let got = ReceivedMessage::new("m-1", "x", LeaseToken::new("l"))
    ///     .with_attributes([("orderingkey".to_owned(), "account-42".to_owned())].into());
    /// assert_eq!(got.ordering_key(), Some("account-42"));
    /// ```
    pub fn ordering_key(&self) -> Option<&str> {
        self.attributes
            .get(super::wire::ORDERING_KEY_ATTRIBUTE)
            .map(String::as_str)
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> Result<&str> {
        std::str::from_utf8(&self.body).map_err(|e| {
            Error::new(
                ErrorKind::Malformed,
                format!("message body is not UTF-8: {e}"),
            )
        })
    }

    /// The body parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::new(
                ErrorKind::Malformed,
                format!("message body is not the expected JSON: {e}"),
            )
            .with_resource(self.id.clone())
        })
    }

    /// The message as it would be sent again (to a dead-letter queue, say).
    pub fn to_message(&self) -> Message {
        Message {
            body: self.body.clone(),
            content_type: self.content_type.clone(),
            attributes: self.attributes.clone(),
            delay: None,
            deduplication_id: None,
        }
    }
}

/// How to receive.
///
/// ```
/// use cloudport_core::ReceiveOptions;
/// use std::time::Duration;
/// let opts = ReceiveOptions::default().max_messages(5).lease(Duration::from_secs(60));
/// assert_eq!(opts.max_messages, 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceiveOptions {
    /// Most messages to return (at least 1, at most the driver's `max_batch_receive`).
    pub max_messages: usize,
    /// How long received messages stay invisible to other consumers.
    pub lease: Duration,
    /// How long to wait for a first message when none is visible (long polling); zero returns at once.
    pub wait: Duration,
}

impl Default for ReceiveOptions {
    fn default() -> Self {
        Self {
            max_messages: 10,
            lease: Duration::from_secs(30),
            wait: Duration::ZERO,
        }
    }
}

impl ReceiveOptions {
    /// Sets the most messages to return.
    pub fn max_messages(mut self, max: usize) -> Self {
        self.max_messages = max;
        self
    }

    /// Sets the lease.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Sets the long-polling wait.
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }
}
