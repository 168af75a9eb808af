//! Topics in memory: each subscription is a memory queue, so the local host and tests consume
//! it with the queue machinery (leases, redelivery, dead-lettering). A published event is stored
//! in every subscription existing at that moment, as a structured-mode CloudEvent
//! ([`cloudport_core::topic::wire`], content type `application/cloudevents+json`) — the form an
//! SNS → SQS raw delivery has — and a subscription made later sees only later events, as on
//! SNS and Pub/Sub.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use cloudport_core::export::cloudevents;
use cloudport_core::topic::wire::{STRUCTURED_CONTENT_TYPE, to_structured};
use cloudport_core::{Message, Queue, QueueDriver, Result, TopicCapabilities, TopicDriver};

use crate::{Memory, Profile, World};

/// The subscriptions of one topic, by name.
#[derive(Debug, Default)]
pub(crate) struct TopicState {
    subscriptions: Mutex<BTreeSet<String>>,
}

/// The name of the memory queue that holds a subscription's events: `TOPIC--SUBSCRIPTION`.
///
/// ```
/// assert_eq!(cloudport_memory::subscription_queue("orders", "billing"), "orders--billing");
/// ```
pub fn subscription_queue(topic: &str, subscription: &str) -> String {
    format!("{topic}--{subscription}")
}

/// The limits a memory topic enforces: the portable defaults (the strictest clouds'), or one
/// cloud's under a [`Profile`].
pub(crate) fn topic_capabilities(profile: Option<Profile>) -> TopicCapabilities {
    let mut caps = TopicCapabilities::default();
    match profile {
        // Pub/Sub: 10 MB messages, 1000 per publish request, 100 attributes of which the
        // binary-mode context attributes take up to eight and content-type one:
        // https://cloud.google.com/pubsub/quotas#resource_limits
        Some(Profile::Gcp) => {
            caps.max_event_bytes = 10_000_000;
            caps.max_batch = 1000;
            caps.max_batch_bytes = 10_000_000;
            caps.max_extensions = 91;
        }
        // Event Grid: 1 MB per event and per batch
        // (https://learn.microsoft.com/azure/event-grid/quotas-limits).
        Some(Profile::Azure) => {
            caps.max_event_bytes = 1024 * 1024;
            caps.max_batch_bytes = 1024 * 1024;
            caps.max_batch = 100;
        }
        // SNS (the defaults' size and batch) and the strictest are the defaults.
        Some(Profile::Aws | Profile::Strictest) | None => {}
    }
    caps
}

/// A memory topic: publishing stores the event in every subscription's queue.
pub struct MemoryTopic {
    name: String,
    state: Arc<TopicState>,
    memory: Memory,
    capabilities: TopicCapabilities,
}

impl std::fmt::Debug for MemoryTopic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryTopic")
            .field("name", &self.name)
            .field("subscriptions", &self.subscriptions())
            .finish_non_exhaustive()
    }
}

impl MemoryTopic {
    pub(crate) fn new(
        name: String,
        state: Arc<TopicState>,
        memory: Memory,
        capabilities: TopicCapabilities,
    ) -> Self {
        Self {
            name,
            state,
            memory,
            capabilities,
        }
    }

    /// The topic's subscriptions, by name.
    pub fn subscriptions(&self) -> Vec<String> {
        self.state
            .subscriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    pub(crate) fn add_subscription(&self, subscription: &str) {
        self.state
            .subscriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(subscription.to_owned());
    }

    fn world(&self) -> &World {
        &self.memory.world
    }
}

#[async_trait]
impl TopicDriver for MemoryTopic {
    fn provider(&self) -> &'static str {
        "memory"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> &TopicCapabilities {
        &self.capabilities
    }

    fn subscription(&self, name: &str) -> Option<Queue> {
        self.add_subscription(name);
        Some(self.memory.queue(&subscription_queue(&self.name, name)))
    }

    async fn publish_batch(&self, events: &[cloudevents::Event]) -> Result<Vec<Result<String>>> {
        self.world()
            .faults
            .check("topic.publish", &self.name)
            .await?;
        let result = async {
            let subscriptions = self.subscriptions();
            let mut ids = Vec::with_capacity(events.len());
            for event in events {
                let body = match to_structured(event) {
                    Ok(body) => body,
                    Err(e) => {
                        ids.push(Err(e));
                        continue;
                    }
                };
                let message = Message::new(body).with_content_type(STRUCTURED_CONTENT_TYPE);
                // Delivered to every subscription before the publish is acknowledged; a
                // subscription queue that refuses it fails that event.
                let mut outcome = Ok(format!("{}-{}", self.name, self.world().next_version()));
                for subscription in &subscriptions {
                    let queue = self
                        .memory
                        .queue_driver(&subscription_queue(&self.name, subscription));
                    let sent = queue.send_batch(std::slice::from_ref(&message)).await;
                    if let Some(Err(e)) = sent.map(|mut r| r.pop()).transpose() {
                        outcome = Err(e);
                        break;
                    }
                }
                ids.push(outcome);
            }
            Ok(ids)
        }
        .await;
        self.world()
            .faults
            .settle("topic.publish", &self.name, result)
    }
}
