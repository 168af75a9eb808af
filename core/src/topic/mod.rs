//! Topics: fan-out of CloudEvents. The portable [`Topic`] over a provider's [`TopicDriver`].
//!
//! Function code publishes a CloudEvent to a logical topic (`env.topic("audit")?.publish(&event)`),
//! and every subscriber — each app that registered
//! [`App::on_topic`](crate::App::on_topic) for it, on whatever host — receives the event as it was
//! published, its own `type`, `source`, data and extensions, plus the publisher's trace context
//! (`traceparent`), so every subscriber continues the trace. How the event travels on each
//! transport is defined once, in [`wire`].
//!
//! | provider | URL | service | wire |
//! |---|---|---|---|
//! | memory | `mem://NAME` | subscriptions are memory queues | structured |
//! | aws | `sns://NAME` or `sns://ARN` | SNS `Publish` / `PublishBatch` | structured, in `Message` |
//! | gcp | `gcptopic://projects/P/topics/T` | Pub/Sub topic | binary (`ce-` attributes) |

mod driver;
#[cfg(test)]
mod tests;
pub mod wire;

use std::any::Any;
use std::sync::Arc;

use cloudevents::AttributesReader;
use futures::StreamExt;
use tracing::Instrument;

#[cfg(feature = "mock")]
pub use driver::MockTopicDriver;
pub use driver::{TopicCapabilities, TopicDriver};

use crate::retry::RetryPolicy;
use crate::{Error, ErrorKind, Result};

/// Bytes an event counts against a topic's size limit: its structured JSON form (the form SNS
/// carries; binary mode moves the same attributes into native ones).
///
/// ```
/// use cloudport_core::export::cloudevents::{EventBuilder, EventBuilderV10};
/// let event = EventBuilderV10::new().id("1").source("s").ty("t").build().unwrap();
/// assert!(cloudport_core::topic::event_size(&event) < 100);
/// ```
pub fn event_size(event: &cloudevents::Event) -> usize {
    serde_json::to_vec(event).map_or(usize::MAX, |v| v.len())
}

/// A topic: every event published reaches every subscription, at least once.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
/// use cloudport_core::export::cloudevents::{AttributesReader, EventBuilder, EventBuilderV10};
/// use cloudport_core::ReceiveOptions;
/// let memory = cloudport_memory::Memory::new();
/// let billing = memory.subscribe("orders", "billing");
/// let shipping = memory.subscribe("orders", "shipping");
/// let event = EventBuilderV10::new().id("o-1").source("shop").ty("order.placed").build().unwrap();
/// memory.topic("orders").publish(&event).await?;
/// for subscription in [billing, shipping] {
///     let got = subscription.receive(ReceiveOptions::default()).await?;
///     let delivered = cloudport_core::topic::wire::from_structured(&got[0].body)?;
///     assert_eq!(delivered.id(), "o-1");
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Topic {
    driver: Arc<dyn TopicDriver>,
    retry: RetryPolicy,
    grant: Option<Arc<crate::access::Grant>>,
}

crate::access::granted!(Topic);

impl std::fmt::Debug for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Topic")
            .field("provider", &self.driver.provider())
            .field("name", &self.driver.name())
            .finish()
    }
}

impl Topic {
    /// A topic over a driver.
    pub fn new(driver: impl TopicDriver) -> Self {
        Self::from_driver(Arc::new(driver))
    }

    /// A topic over a shared driver.
    pub fn from_driver(driver: Arc<dyn TopicDriver>) -> Self {
        Self {
            driver,
            retry: RetryPolicy::default(),
            grant: None,
        }
    }

    /// Retries driver calls that fail temporarily by this policy (default:
    /// [`RetryPolicy::default`]). A publish is repeated only after throttling, which proves the
    /// first attempt was refused.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The topic's name at the provider.
    pub fn name(&self) -> &str {
        self.driver.name()
    }

    /// The provider's name.
    pub fn provider(&self) -> &'static str {
        self.driver.provider()
    }

    /// What this topic supports.
    pub fn capabilities(&self) -> &TopicCapabilities {
        self.driver.capabilities()
    }

    /// The driver.
    pub fn driver(&self) -> &Arc<dyn TopicDriver> {
        &self.driver
    }

    /// The provider's concrete driver, for what cloudport does not cover (the escape hatch).
    pub fn native<D: TopicDriver>(&self) -> Option<&D> {
        (self.driver.as_ref() as &dyn Any).downcast_ref::<D>()
    }

    /// The subscription `name` as a queue, for hosts that deliver the topic's events themselves
    /// (the local host: one subscription per app) and tests; `Unsupported` where the platform
    /// delivers them ([`TopicDriver::subscription`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
    /// use cloudport_core::export::cloudevents::{EventBuilder, EventBuilderV10};
    /// let topic = cloudport_memory::Memory::new().topic("orders");
    /// let billing = topic.subscription("billing")?;
    /// let event = EventBuilderV10::new().id("1").source("shop").ty("order.placed").build().unwrap();
    /// topic.publish(&event).await?;
    /// assert_eq!(billing.receive(Default::default()).await?.len(), 1);
    /// # Ok(()) }
    /// ```
    pub fn subscription(&self, name: &str) -> Result<crate::Queue> {
        const OP: &str = "topic.subscription";
        self.allow(crate::access::Access::TOPIC_SUBSCRIBE, OP)?;
        crate::validate::logical_name(name).map_err(|e| self.context(OP, e))?;
        self.driver.subscription(name).ok_or_else(|| {
            self.context(
                OP,
                Error::unsupported(format!(
                    "the {} provider delivers topic events through the platform's subscriptions, not as a queue",
                    self.driver.provider()
                )),
            )
        })
    }

    fn span(&self, op: &'static str) -> tracing::Span {
        crate::telemetry::operation_span(op, self.driver.provider(), self.driver.name())
    }

    fn context(&self, op: &'static str, err: Error) -> Error {
        err.with_provider(self.driver.provider())
            .with_operation(op)
            .with_resource(self.driver.name().to_owned())
    }

    /// Adds the current trace as the `traceparent` extension when the event has none and the
    /// topic has room for it — as [`Queue::send`](crate::Queue::send) does for messages.
    fn with_trace(
        &self,
        mut event: cloudevents::Event,
        span: &tracing::Span,
    ) -> cloudevents::Event {
        if event.extension(crate::trace::TRACEPARENT).is_some()
            || event.iter_extensions().count() >= self.capabilities().max_extensions
        {
            return event;
        }
        let trace = crate::otel::span_trace(span)
            .or_else(|| crate::otel::span_trace(&tracing::Span::current()))
            .or_else(|| {
                crate::context::current()
                    .and_then(|c| c.trace)
                    .map(|t| t.child())
            });
        if let Some(trace) = trace {
            event.set_extension(crate::trace::TRACEPARENT, trace.to_traceparent());
        }
        event
    }

    /// Checks an event against the CloudEvents rules and this topic's limits, before any call.
    fn check_event(&self, event: &cloudevents::Event) -> Result<()> {
        let caps = self.capabilities();
        for (what, value) in [
            ("id", event.id()),
            ("source", event.source().as_str()),
            ("type", event.ty()),
        ] {
            if value.is_empty() {
                return Err(Error::invalid(format!(
                    "the event's {what} must not be empty"
                )));
            }
        }
        let mut extensions = 0;
        for (name, value) in event.iter_extensions() {
            extensions += 1;
            // https://github.com/cloudevents/spec/blob/main/cloudevents/spec.md#naming-conventions
            let well_formed = (1..=20).contains(&name.len())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
            if !well_formed {
                return Err(Error::invalid(format!(
                    "extension name {name:?} must be 1-20 lowercase ASCII letters or digits"
                )));
            }
            let len = value.to_string().len();
            if len > caps.max_extension_bytes {
                return Err(Error::new(
                    ErrorKind::TooLarge,
                    format!(
                        "extension {name:?} is {len} bytes; this topic carries at most {}",
                        caps.max_extension_bytes
                    ),
                ));
            }
        }
        if extensions > caps.max_extensions {
            return Err(Error::invalid(format!(
                "the event has {extensions} extensions; this topic carries at most {}",
                caps.max_extensions
            )));
        }
        let size = event_size(event);
        if size > caps.max_event_bytes {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!(
                    "the event is {size} bytes; the limit of this topic is {}",
                    caps.max_event_bytes
                ),
            ));
        }
        Ok(())
    }

    /// Publishes one event to every subscription; returns the provider's message id. Inside an
    /// invocation (or an exported OpenTelemetry span), the event carries its trace
    /// (`traceparent`), so each subscriber continues it. An event over the topic's limits fails
    /// (`TooLarge`, `InvalidArgument`) before any call.
    pub async fn publish(&self, event: &cloudevents::Event) -> Result<String> {
        const OP: &str = "topic.publish";
        self.allow(crate::access::Access::TOPIC_PUBLISH, OP)?;
        let span = self.span(OP);
        let event = self.with_trace(event.clone(), &span);
        self.check_event(&event).map_err(|e| self.context(OP, e))?;
        self.retry
            .run_batch(vec![event], |batch: Vec<cloudevents::Event>| async move {
                self.driver.publish_batch(&batch).await
            })
            .instrument(span)
            .await
            .pop()
            .unwrap_or_else(|| Err(Error::new(ErrorKind::Other, "event not published")))
            .map_err(|e| self.context(OP, e))
    }

    /// Publishes many events in as few calls as the topic's batch limits allow. Returns one
    /// result per event, in order: its message id, or why that event was not published. Events
    /// that fail validation are reported without being sent; the others are still published.
    pub async fn publish_batch<'a>(
        &self,
        events: impl IntoIterator<Item = &'a cloudevents::Event>,
    ) -> Vec<Result<String>> {
        const OP: &str = "topic.publish_batch";
        let events: Vec<&cloudevents::Event> = events.into_iter().collect();
        if let Err(e) = self.allow(crate::access::Access::TOPIC_PUBLISH, OP) {
            return events
                .iter()
                .map(|_| Err(e.clone_without_source()))
                .collect();
        }
        let span = self.span(OP);
        let events: Vec<cloudevents::Event> = events
            .into_iter()
            .map(|e| self.with_trace(e.clone(), &span))
            .collect();
        let mut results: Vec<Option<Result<String>>> = Vec::with_capacity(events.len());
        let mut pending: Vec<(usize, usize)> = Vec::new();
        for (i, event) in events.iter().enumerate() {
            match self.check_event(event) {
                Ok(()) => {
                    results.push(None);
                    pending.push((i, event_size(event)));
                }
                Err(e) => results.push(Some(Err(self.context(OP, e)))),
            }
        }
        let caps = self.capabilities();
        let mut chunks: Vec<Vec<usize>> = Vec::new();
        let mut current: Vec<usize> = Vec::new();
        let mut bytes = 0;
        for (i, size) in pending {
            if !current.is_empty()
                && (current.len() >= caps.max_batch.max(1) || bytes + size > caps.max_batch_bytes)
            {
                chunks.push(std::mem::take(&mut current));
                bytes = 0;
            }
            bytes += size;
            current.push(i);
        }
        if !current.is_empty() {
            chunks.push(current);
        }
        let sent: Vec<(Vec<usize>, Vec<Result<String>>)> = futures::stream::iter(chunks)
            .map(|chunk| {
                let batch: Vec<cloudevents::Event> =
                    chunk.iter().map(|&i| events[i].clone()).collect();
                let span = span.clone();
                async move {
                    let results = self
                        .retry
                        .run_batch(batch, |batch: Vec<cloudevents::Event>| async move {
                            self.driver.publish_batch(&batch).await
                        })
                        .instrument(span)
                        .await;
                    (chunk, results)
                }
            })
            .buffered(4)
            .collect()
            .await;
        for (chunk, chunk_results) in sent {
            for (i, r) in chunk.into_iter().zip(chunk_results) {
                results[i] = Some(r.map_err(|e| self.context(OP, e)));
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::new(ErrorKind::Other, "event not published"))))
            .collect()
    }
}
