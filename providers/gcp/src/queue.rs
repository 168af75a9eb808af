//! Queues on Pub/Sub: a topic to send to and a subscription to receive from. Unary pull with the
//! ack deadline as the lease, `ModifyAckDeadline` = extend / nack with delay, `Acknowledge` =
//! ack, one `Publish` call per batch.
//!
//! Delivery counts come from Pub/Sub's `deliveryAttempt`, which it reports only when the
//! subscription has a dead-letter policy; without one, the driver counts the deliveries this
//! process saw (a lower bound: enough for the portable dead-letter policy of a single consumer).
//! The content type travels in the `datacontenttype` attribute.
//!
//! **Ordering keys**: a message's key ([`Message::with_ordering_key`], the `orderingkey`
//! attribute) is also sent as its Pub/Sub `orderingKey` (at most 1 KB, checked before the call:
//! <https://cloud.google.com/pubsub/docs/ordering>), and comes back as the `orderingkey`
//! attribute. Pub/Sub delivers a key's messages in publish order only to a subscription with
//! message ordering enabled (`enableMessageOrdering`, set when the subscription is created: "You
//! must enable this setting on the subscription"), so the capability claims `ordering` and
//! ordered consumers need such a subscription; a subscription without it delivers the same
//! messages unordered. A publish call carries a batch whole, and batches with keys go out one
//! after another (the portable queue sends keyed chunks in order), so a key's messages reach
//! Pub/Sub in send order. Pub/Sub has no publish-side deduplication id: `deduplication` is not
//! claimed, and a message with one is refused (`Unsupported`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use cloudport_core::queue::ordering::check_pubsub_ordering_key;
use cloudport_core::queue::poll_while_empty;
use cloudport_core::queue::wire::{CONTENT_TYPE_ATTRIBUTE, from_native_attributes};
use cloudport_core::{
    Error, ErrorKind, LeaseToken, Message, QueueCapabilities, QueueDriver, ReceiveOptions,
    ReceivedMessage, Result,
};
use gcloud_gax::retry::RetrySetting;
use gcloud_googleapis::pubsub::v1::{
    AcknowledgeRequest, ModifyAckDeadlineRequest, PubsubMessage, PullRequest,
};
use gcloud_pubsub::client::{Client, ClientConfig};
use gcloud_pubsub::publisher::{Publisher, PublisherConfig};
use tokio::sync::OnceCell;

use crate::Gcp;
use crate::error::from_status;

/// The attribute whose value is also sent as the Pub/Sub ordering key (defined in
/// [`cloudport_core::queue::wire`], which the Cloud Run host reads too).
pub use cloudport_core::queue::wire::ORDERING_KEY_ATTRIBUTE;

/// Pub/Sub's limits: 10 MB per message and per publish request, 1,000 messages per publish,
/// ack deadlines and modifications up to 600 s, 100 attributes. Nothing can be delayed at send.
fn capabilities() -> QueueCapabilities {
    QueueCapabilities {
        max_message_bytes: 10 * 1000 * 1000,
        max_batch_send: 1000,
        max_batch_bytes: 10 * 1000 * 1000 - 64 * 1024,
        max_batch_receive: 1000,
        min_lease: Duration::from_secs(1),
        max_lease: Duration::from_secs(600),
        max_delay: Duration::from_secs(600),
        attributes: true,
        max_attributes: 98,
        delayed_send: false,
        delayed_nack: true,
        extend_lease: true,
        delivery_count: true,
        max_wait: Duration::from_secs(20),
        concurrent_sends: 4,
        // Publish takes a call whole or not at all: no single message is ever re-sent alone.
        ordered: false,
        // Per key, on subscriptions with message ordering enabled (see the module doc).
        ordering: true,
        deduplication: false,
    }
}

/// No SDK-level retries: the portable types retry (ADR 0003).
pub(crate) fn no_retry() -> RetrySetting {
    RetrySetting {
        take: 0,
        codes: Vec::new(),
        ..RetrySetting::default()
    }
}

/// Whole seconds for `ModifyAckDeadline`, which takes 0..=600.
fn secs(d: Duration) -> i32 {
    cloudport_core::queue::whole_seconds(d).min(600)
}

/// A Pub/Sub topic (and, to receive, one of its subscriptions).
pub struct PubSubQueue {
    gcp: Gcp,
    project: String,
    topic: String,
    subscription: Option<String>,
    client: OnceCell<Client>,
    publisher: OnceCell<Publisher>,
    seen: Mutex<Deliveries>,
    capabilities: QueueCapabilities,
}

/// The resource and its settings; the SDK client (whose configuration holds credentials and
/// endpoints) only as opened or not.
impl std::fmt::Debug for PubSubQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PubSubQueue")
            .field("project", &self.project)
            .field("topic", &self.topic)
            .field("subscription", &self.subscription)
            .field("capabilities", &self.capabilities)
            .field("open", &self.client.initialized())
            .finish_non_exhaustive()
    }
}

impl PubSubQueue {
    pub(crate) fn new(
        gcp: Gcp,
        project: String,
        topic: String,
        subscription: Option<String>,
    ) -> Self {
        Self {
            gcp,
            project,
            topic,
            subscription,
            client: OnceCell::new(),
            publisher: OnceCell::new(),
            seen: Mutex::new(Deliveries::default()),
            capabilities: capabilities(),
        }
    }

    /// The Pub/Sub client (connected on first use): the escape hatch.
    pub async fn client(&self) -> Result<&Client> {
        self.client
            .get_or_try_init(|| async {
                crate::config::ensure_crypto_provider();
                let mut config = ClientConfig {
                    project_id: Some(self.project.clone()),
                    pool_size: 2,
                    ..ClientConfig::default()
                };
                match &self.gcp.settings().pubsub_emulator {
                    Some(host) => {
                        config.environment = gcloud_gax::conn::Environment::Emulator(host.clone());
                    }
                    None => {
                        config = config.with_auth().await.map_err(|e| {
                            Error::new(
                                ErrorKind::Unauthenticated,
                                format!("Pub/Sub credentials: {e}"),
                            )
                        })?;
                    }
                }
                Client::new(config).await.map_err(|e| {
                    Error::new(ErrorKind::Unavailable, format!("Pub/Sub connection: {e}"))
                        .temporary(true)
                })
            })
            .await
    }

    /// The topic's fully qualified name.
    pub fn topic_name(&self) -> String {
        format!("projects/{}/topics/{}", self.project, self.topic)
    }

    /// The subscription's fully qualified name, if this queue receives.
    pub fn subscription_name(&self) -> Option<String> {
        self.subscription
            .as_ref()
            .map(|s| format!("projects/{}/subscriptions/{s}", self.project))
    }

    async fn publisher(&self) -> Result<&Publisher> {
        let client = self.client().await?;
        Ok(self
            .publisher
            .get_or_init(|| async {
                client
                    .topic(&self.topic)
                    .new_publisher(Some(PublisherConfig {
                        workers: 1,
                        ..PublisherConfig::default()
                    }))
            })
            .await)
    }

    fn subscription_or_unsupported(&self) -> Result<String> {
        self.subscription_name().ok_or_else(|| {
            Error::unsupported(format!(
                "topic {:?} has no subscription to receive from: add ?subscription=NAME to its URL",
                self.topic
            ))
        })
    }

    fn native(message: &Message) -> PubsubMessage {
        let mut attributes: HashMap<String, String> = message
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(ct) = &message.content_type {
            attributes.insert(CONTENT_TYPE_ATTRIBUTE.to_owned(), ct.clone());
        }
        PubsubMessage {
            data: message.body.to_vec(),
            ordering_key: message
                .attributes
                .get(ORDERING_KEY_ATTRIBUTE)
                .cloned()
                .unwrap_or_default(),
            attributes,
            ..PubsubMessage::default()
        }
    }

    /// One publish request; its ids, one per message, in order.
    pub(crate) async fn publish(&self, native: Vec<PubsubMessage>) -> Result<Vec<String>> {
        let count = native.len();
        let ids = self
            .publisher()
            .await?
            .publish_immediately(native, Some(no_retry()))
            .await
            .map_err(from_status)?;
        if ids.len() != count {
            return Err(Error::new(
                ErrorKind::Other,
                format!("Pub/Sub returned {} ids for {count} messages", ids.len()),
            ));
        }
        Ok(ids)
    }

    fn count_delivery(&self, id: &str, reported: Option<usize>) -> u32 {
        if let Some(n) = reported {
            return u32::try_from(n).unwrap_or(u32::MAX);
        }
        let Ok(mut seen) = self.seen.lock() else {
            return 1;
        };
        seen.count(id)
    }

    fn received(
        &self,
        ack_id: String,
        message: PubsubMessage,
        delivery_attempt: Option<usize>,
    ) -> ReceivedMessage {
        let (content_type, attributes) = from_native_attributes(
            message.attributes,
            &message.ordering_key,
            &message.message_id,
        );
        let count = self.count_delivery(&message.message_id, delivery_attempt);
        let published = message.publish_time.and_then(|t| {
            let secs = u64::try_from(t.seconds).ok()?;
            let nanos = u32::try_from(t.nanos).ok()?;
            UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
        });
        ReceivedMessage::new(message.message_id, message.data, LeaseToken::new(ack_id))
            .with_content_type(content_type)
            .with_attributes(attributes)
            .with_delivery_count(count)
            .with_enqueued_at(published)
    }

    async fn modify_deadline(&self, ack_ids: Vec<String>, seconds: i32) -> Result<()> {
        let subscription = self.subscription_or_unsupported()?;
        self.client()
            .await?
            .subscription(&subscription)
            .get_client()
            .modify_ack_deadline(
                ModifyAckDeadlineRequest {
                    subscription,
                    ack_ids,
                    ack_deadline_seconds: seconds,
                },
                Some(no_retry()),
            )
            .await
            .map_err(lease_error)?;
        Ok(())
    }

    async fn pull_once(&self, options: &ReceiveOptions) -> Result<Vec<ReceivedMessage>> {
        let subscription = self.subscription_or_unsupported()?;
        let client = self
            .client()
            .await?
            .subscription(&subscription)
            .get_client();
        #[allow(deprecated)]
        let request = PullRequest {
            subscription: subscription.clone(),
            return_immediately: true,
            max_messages: i32::try_from(options.max_messages).unwrap_or(1000),
        };
        let pulled = client
            .pull(request, Some(no_retry()))
            .await
            .map_err(from_status)?
            .into_inner()
            .received_messages;
        let mut out = Vec::with_capacity(pulled.len());
        for m in pulled {
            let Some(message) = m.message else {
                // Pub/Sub always sends one; an entry without it cannot be delivered, and its
                // lease ends on its own.
                tracing::warn!(topic = %self.topic, ack_id = %m.ack_id,
                    "Pub/Sub returned a pulled entry without a message; skipping it");
                continue;
            };
            let attempt = usize::try_from(m.delivery_attempt).ok().filter(|n| *n > 0);
            out.push(self.received(m.ack_id, message, attempt));
        }
        if !out.is_empty() {
            // The lease asked for, not the subscription's default ack deadline.
            let ids = out.iter().map(|m| m.lease.as_str().to_owned()).collect();
            self.modify_deadline(ids, secs(options.lease)).await?;
        }
        Ok(out)
    }
}

/// A rejected ack id means the lease is gone (expired, or the message was acked).
fn lease_error(status: gcloud_gax::grpc::Status) -> Error {
    let e = from_status(status);
    if e.kind() == ErrorKind::InvalidArgument && e.message().to_ascii_lowercase().contains("ack") {
        Error::new(ErrorKind::LeaseLost, e.message().to_owned()).with_source(e)
    } else {
        e
    }
}

#[async_trait]
impl QueueDriver for PubSubQueue {
    fn provider(&self) -> &'static str {
        "gcp"
    }

    fn name(&self) -> &str {
        &self.topic
    }

    fn capabilities(&self) -> &QueueCapabilities {
        &self.capabilities
    }

    async fn send_batch(&self, messages: &[Message]) -> Result<Vec<Result<String>>> {
        // A key Pub/Sub would refuse fails alone, before the call; the rest is published.
        let checked: Vec<Result<()>> = messages
            .iter()
            .map(|m| m.ordering_key().map_or(Ok(()), check_pubsub_ordering_key))
            .collect();
        if checked.iter().any(Result::is_err) {
            let valid: Vec<Message> = messages
                .iter()
                .zip(&checked)
                .filter(|(_, c)| c.is_ok())
                .map(|(m, _)| m.clone())
                .collect();
            let mut sent = if valid.is_empty() {
                Vec::new()
            } else {
                self.send_batch(&valid).await?
            }
            .into_iter();
            return Ok(checked
                .into_iter()
                .map(|c| match c {
                    Ok(()) => sent.next().unwrap_or_else(|| {
                        Err(Error::new(ErrorKind::Other, "Pub/Sub reported nothing"))
                    }),
                    Err(e) => Err(e),
                })
                .collect());
        }
        // Pub/Sub takes one ordering key per publish request ("All PubsubMessages published in a
        // given PublishRequest must specify the same ordering_key value":
        // https://cloud.google.com/pubsub/docs/reference/rpc/google.pubsub.v1#pubsubmessage): one
        // request per key — an unkeyed batch is one — published concurrently, as keys are
        // independent; each key's messages stay in one request, in order.
        let mut groups: Vec<(Option<&str>, Vec<usize>)> = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            let key = m.ordering_key();
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(i),
                None => groups.push((key, vec![i])),
            }
        }
        let published = futures::future::join_all(groups.iter().map(|(_, members)| {
            self.publish(
                members
                    .iter()
                    .map(|&i| Self::native(&messages[i]))
                    .collect(),
            )
        }))
        .await;
        if published.iter().all(Result::is_err) {
            // Nothing was published: the call failed as a whole.
            if let Some(Err(e)) = published.into_iter().next() {
                return Err(e);
            }
            return Ok(Vec::new());
        }
        let mut results: Vec<Option<Result<String>>> = (0..messages.len()).map(|_| None).collect();
        for ((_, members), outcome) in groups.iter().zip(published) {
            match outcome {
                Ok(ids) => {
                    for (&i, id) in members.iter().zip(ids) {
                        results[i] = Some(Ok(id));
                    }
                }
                Err(e) => {
                    for &i in members {
                        results[i] = Some(Err(e.clone_without_source()));
                    }
                }
            }
        }
        Ok(results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| Err(Error::new(ErrorKind::Other, "Pub/Sub reported nothing")))
            })
            .collect())
    }

    async fn receive(&self, options: &ReceiveOptions) -> Result<Vec<ReceivedMessage>> {
        // Unary pulls return at once: poll while the receive's `wait` lasts.
        poll_while_empty(options.wait, || self.pull_once(options)).await
    }

    async fn ack(&self, lease: &LeaseToken) -> Result<()> {
        let subscription = self.subscription_or_unsupported()?;
        self.client()
            .await?
            .subscription(&subscription)
            .get_client()
            .acknowledge(
                AcknowledgeRequest {
                    subscription,
                    ack_ids: vec![lease.as_str().to_owned()],
                },
                Some(no_retry()),
            )
            .await
            .map_err(lease_error)?;
        Ok(())
    }

    async fn nack(&self, lease: &LeaseToken, delay: Duration) -> Result<()> {
        self.modify_deadline(vec![lease.as_str().to_owned()], secs(delay))
            .await
    }

    async fn extend_lease(&self, lease: &LeaseToken, lease_for: Duration) -> Result<LeaseToken> {
        self.modify_deadline(vec![lease.as_str().to_owned()], secs(lease_for))
            .await?;
        Ok(lease.clone())
    }
}

/// Deliveries counted in this process, for subscriptions without a dead-letter policy (whose
/// pulls report no attempt count): the most recent [`Deliveries::CAPACITY`] message ids; the
/// oldest is forgotten first, so a message redelivered after that many others counts from 1.
#[derive(Debug, Default)]
struct Deliveries {
    counts: HashMap<String, u32>,
    order: std::collections::VecDeque<String>,
}

impl Deliveries {
    const CAPACITY: usize = 100_000;

    fn count(&mut self, id: &str) -> u32 {
        if let Some(n) = self.counts.get_mut(id) {
            *n = n.saturating_add(1);
            return *n;
        }
        if self.order.len() >= Self::CAPACITY
            && let Some(oldest) = self.order.pop_front()
        {
            self.counts.remove(&oldest);
        }
        self.order.push_back(id.to_owned());
        self.counts.insert(id.to_owned(), 1);
        1
    }
}

#[cfg(test)]
mod tests {
    use super::Deliveries;

    #[test]
    fn deliveries_are_counted_and_the_oldest_forgotten_first() {
        let mut d = Deliveries::default();
        assert_eq!(d.count("a"), 1);
        assert_eq!(d.count("a"), 2);
        for i in 0..Deliveries::CAPACITY - 1 {
            d.count(&i.to_string());
        }
        assert_eq!(d.count("a"), 3, "still remembered at capacity");
        d.count("one more");
        assert_eq!(
            d.count("a"),
            1,
            "forgotten once capacity others came after it"
        );
    }
}
