//! The trait a provider implements for topics, and what a topic supports.

use std::any::Any;
use std::fmt::Debug;

use async_trait::async_trait;

use crate::Result;

/// Capabilities and limits of a topic driver. The portable [`Topic`](super::Topic) checks every
/// event against them before any driver call.
///
/// ```
/// use cloudport_core::topic::TopicCapabilities;
/// let caps = TopicCapabilities { max_event_bytes: 256 * 1024, ..TopicCapabilities::default() };
/// assert_eq!(caps.max_batch, 10);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicCapabilities {
    /// Largest event, in bytes, as [`event_size`](super::event_size) counts it (its structured
    /// JSON form).
    pub max_event_bytes: usize,
    /// Most extension attributes on one event (the trace context counts as one).
    pub max_extensions: usize,
    /// Longest extension value, in bytes, where a transport carries extensions as native
    /// attributes (Pub/Sub: 1024 bytes).
    pub max_extension_bytes: usize,
    /// Most events in one publish call of the driver.
    pub max_batch: usize,
    /// Most bytes in one publish call of the driver.
    pub max_batch_bytes: usize,
}

impl Default for TopicCapabilities {
    /// The strictest of the clouds' limits: SNS's 256 KiB and 10 per `PublishBatch`
    /// (<https://docs.aws.amazon.com/sns/latest/api/API_PublishBatch.html>), Pub/Sub's 1024-byte
    /// attribute values (<https://cloud.google.com/pubsub/quotas#resource_limits>).
    fn default() -> Self {
        Self {
            max_event_bytes: 256 * 1024,
            max_extensions: 90,
            max_extension_bytes: 1024,
            max_batch: 10,
            max_batch_bytes: 256 * 1024,
        }
    }
}

/// A provider's topic. Thin: [`Topic`](super::Topic) validates events, adds the trace context,
/// chunks batches, retries and adds error context before calling it. Drivers never retry.
///
/// Every method sees events already checked against [`TopicDriver::capabilities`].
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait TopicDriver: Any + Debug + Send + Sync {
    /// The provider's name (`"memory"`, `"aws"`, …).
    fn provider(&self) -> &'static str;

    /// The topic's name at the provider.
    fn name(&self) -> &str;

    /// What this topic supports.
    fn capabilities(&self) -> &TopicCapabilities;

    /// Publishes up to `max_batch` events; returns one result per event, in order, each the
    /// provider's message id or that event's error. An `Err` means none was published.
    async fn publish_batch(&self, events: &[cloudevents::Event]) -> Result<Vec<Result<String>>>;

    /// The subscription `name` of this topic as a queue, made on first use: it receives every
    /// event published from then on, in structured mode
    /// ([`wire::from_structured`](super::wire::from_structured) reads it). For the hosts that
    /// deliver topics themselves (the local host) and for tests. `None` (the default): the
    /// platform delivers the topic's events to the subscriptions deployment made (SNS, Pub/Sub,
    /// Event Grid).
    fn subscription(&self, name: &str) -> Option<crate::Queue> {
        let _ = name;
        None
    }

    /// Publishes one event; returns the provider's message id. The default publishes a batch of
    /// one.
    async fn publish(&self, event: &cloudevents::Event) -> Result<String> {
        self.publish_batch(std::slice::from_ref(event))
            .await?
            .pop()
            .unwrap_or_else(|| {
                Err(crate::Error::new(
                    crate::ErrorKind::Other,
                    "the driver reported no result for the event",
                ))
            })
    }
}
