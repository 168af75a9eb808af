//! Topics on Pub/Sub: each event published in the Pub/Sub protocol binding's binary content mode
//! (<https://github.com/google/knative-gcp/blob/main/docs/spec/pubsub-protocol-binding.md#31-binary-content-mode>):
//! the event's data as the message data, `datacontenttype` as the `content-type` attribute, every
//! other attribute and extension as a `ce-` attribute ([`cloudport_core::topic::wire`]). Every
//! subscription of the topic receives each event; a push subscription to Cloud Run delivers the
//! attributes as published, and `wire::from_binary` reads the event back.
//!
//! Limits (<https://cloud.google.com/pubsub/quotas#resource_limits>): 10 MB per message and per
//! publish request, 1000 messages per request, 100 attributes per message — the binary-mode
//! context attributes and `content-type` take up to eight, so 92 extensions remain — and
//! attribute values of at most 1024 bytes, checked per event before the call.

use std::collections::HashMap;

use async_trait::async_trait;
use cloudport_core::export::cloudevents;
use cloudport_core::topic::wire::to_binary;
use cloudport_core::{Error, ErrorKind, Result, TopicCapabilities, TopicDriver};
use gcloud_googleapis::pubsub::v1::PubsubMessage;

use crate::PubSubQueue;

/// Pub/Sub's longest attribute value, in bytes.
const MAX_ATTRIBUTE_VALUE_BYTES: usize = 1024;

/// A Pub/Sub topic that events are published to.
pub struct PubSubTopic {
    /// The connection (shared code with the queue driver, which publishes to the same service).
    queue: PubSubQueue,
    topic: String,
    capabilities: TopicCapabilities,
}

impl std::fmt::Debug for PubSubTopic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PubSubTopic")
            .field("topic", &self.queue.topic_name())
            .finish_non_exhaustive()
    }
}

impl PubSubTopic {
    pub(crate) fn new(queue: PubSubQueue, topic: String) -> Self {
        Self {
            queue,
            topic,
            capabilities: TopicCapabilities {
                max_event_bytes: 10_000_000,
                max_extensions: 92,
                max_extension_bytes: MAX_ATTRIBUTE_VALUE_BYTES,
                max_batch: 1000,
                max_batch_bytes: 10_000_000,
            },
        }
    }

    /// The Pub/Sub client (connected on first use): the escape hatch.
    pub async fn client(&self) -> Result<&gcloud_pubsub::client::Client> {
        self.queue.client().await
    }

    /// The topic's fully qualified name (`projects/P/topics/T`).
    pub fn topic_name(&self) -> String {
        self.queue.topic_name()
    }

    /// The event as a Pub/Sub message in binary mode; an attribute value over Pub/Sub's limit
    /// (a long `source` or `subject`, say) is `TooLarge`.
    fn native(event: &cloudevents::Event) -> Result<PubsubMessage> {
        let (attributes, data) = to_binary(event);
        if let Some((name, value)) = attributes
            .iter()
            .find(|(_, v)| v.len() > MAX_ATTRIBUTE_VALUE_BYTES)
        {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!(
                    "attribute {name:?} is {} bytes; Pub/Sub takes at most {MAX_ATTRIBUTE_VALUE_BYTES}",
                    value.len()
                ),
            ));
        }
        Ok(PubsubMessage {
            data,
            attributes: attributes.into_iter().collect::<HashMap<_, _>>(),
            ..PubsubMessage::default()
        })
    }
}

#[async_trait]
impl TopicDriver for PubSubTopic {
    fn provider(&self) -> &'static str {
        "gcp"
    }

    fn name(&self) -> &str {
        &self.topic
    }

    fn capabilities(&self) -> &TopicCapabilities {
        &self.capabilities
    }

    async fn publish_batch(&self, events: &[cloudevents::Event]) -> Result<Vec<Result<String>>> {
        let mut results: Vec<Option<Result<String>>> = Vec::with_capacity(events.len());
        let mut native = Vec::with_capacity(events.len());
        let mut slots = Vec::with_capacity(events.len());
        for (i, event) in events.iter().enumerate() {
            match Self::native(event) {
                Ok(m) => {
                    native.push(m);
                    slots.push(i);
                    results.push(None);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        if !native.is_empty() {
            // One publish request, on the queue driver's publisher of the same topic.
            let ids = self.queue.publish(native).await?;
            for (slot, id) in slots.into_iter().zip(ids) {
                results[slot] = Some(Ok(id));
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::new(ErrorKind::Other, "event not published"))))
            .collect())
    }
}
