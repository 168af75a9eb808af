//! Queues: the portable [`Queue`] over a provider's [`QueueDriver`].

mod checks;
mod driver;
mod message;
mod ordered_send;
pub mod ordering;
pub mod wire;

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;
use tracing::Instrument;

#[cfg(feature = "mock")]
pub use driver::MockQueueDriver;
pub use driver::{QueueDriver, poll_while_empty, whole_seconds};
pub use message::{LeaseToken, Message, ReceiveOptions, ReceivedMessage};

use crate::retry::{Idempotence, RetryPolicy};

/// The content type of a message a dead-letter queue holds enveloped (its original form could not
/// be sent there as it was); [`wire::from_envelope`] unwraps it.
pub const DEAD_LETTER_ENVELOPE_CONTENT_TYPE: &str = "application/cloudevents+json";

/// A message a host moved to the dead-letter queue ([`Queue::dead_letter_if_over_limit`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DeadLettered {
    /// The queue the message was delivered from (its name at the provider).
    pub queue: String,
    /// The dead-letter queue it went to.
    pub dead_letter_queue: String,
    /// The message id.
    pub message_id: String,
    /// Deliveries so far, this one included.
    pub deliveries: u32,
    /// The policy's limit.
    pub max_deliveries: u32,
}

impl std::fmt::Display for DeadLettered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "message {} delivered {} times (limit {}) moved to the dead-letter queue {}",
            self.message_id, self.deliveries, self.max_deliveries, self.dead_letter_queue
        )
    }
}
use crate::{Error, ErrorKind, QueueCapabilities, Result};

/// A queue: at-least-once delivery with leases, acks, nacks, lease extension, delivery counts and an
/// optional dead-letter queue.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
/// use cloudport_core::{Queue, ReceiveOptions};
/// let queue: Queue = cloudport_memory::Memory::new().queue("orders");
/// queue.send("hello").await?;
/// let received = queue.receive(ReceiveOptions::default()).await?;
/// assert_eq!(received[0].text()?, "hello");
/// queue.ack(&received[0]).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Queue {
    driver: Arc<dyn QueueDriver>,
    dead_letter: Option<DeadLetter>,
    retry: RetryPolicy,
    grant: Option<Arc<crate::access::Grant>>,
}

crate::access::granted!(Queue);

#[derive(Clone)]
struct DeadLetter {
    queue: Box<Queue>,
    max_deliveries: u32,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("provider", &self.driver.provider())
            .field("name", &self.driver.name())
            .field(
                "dead_letter",
                &self
                    .dead_letter
                    .as_ref()
                    .map(|d| (d.queue.name().to_owned(), d.max_deliveries)),
            )
            .finish()
    }
}

impl Queue {
    /// A queue over a driver.
    pub fn new(driver: impl QueueDriver) -> Self {
        Self::from_driver(Arc::new(driver))
    }

    /// A queue over a shared driver.
    pub fn from_driver(driver: Arc<dyn QueueDriver>) -> Self {
        Self {
            driver,
            dead_letter: None,
            retry: RetryPolicy::default(),
            grant: None,
        }
    }

    /// Retries driver calls that fail temporarily by this policy (default: [`RetryPolicy::default`]).
    /// Sends are repeated only after throttling, which proves the first attempt was refused.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Moves messages that were delivered `max_deliveries` times without an ack to `dead_letter`
    /// instead of delivering them again. Works the same on every provider.
    pub fn with_dead_letter(mut self, dead_letter: Queue, max_deliveries: u32) -> Self {
        self.dead_letter = Some(DeadLetter {
            queue: Box::new(dead_letter),
            max_deliveries: max_deliveries.max(1),
        });
        self
    }

    /// The dead-letter queue and the deliveries allowed before a message goes there, if set.
    pub fn dead_letter(&self) -> Option<(&Queue, u32)> {
        self.dead_letter
            .as_ref()
            .map(|d| (d.queue.as_ref(), d.max_deliveries))
    }

    /// The queue's name at the provider.
    pub fn name(&self) -> &str {
        self.driver.name()
    }

    /// The provider's name.
    pub fn provider(&self) -> &'static str {
        self.driver.provider()
    }

    /// What this queue supports.
    pub fn capabilities(&self) -> &QueueCapabilities {
        self.driver.capabilities()
    }

    /// The driver.
    pub fn driver(&self) -> &Arc<dyn QueueDriver> {
        &self.driver
    }

    /// The provider's concrete driver, for what cloudport does not cover (the escape hatch).
    pub fn native<D: QueueDriver>(&self) -> Option<&D> {
        (self.driver.as_ref() as &dyn Any).downcast_ref::<D>()
    }

    fn span(&self, op: &'static str) -> tracing::Span {
        crate::telemetry::operation_span(op, self.driver.provider(), self.driver.name())
    }

    fn context(&self, op: &'static str, err: Error) -> Error {
        err.with_provider(self.driver.provider())
            .with_operation(op)
            .with_resource(self.driver.name().to_owned())
    }

    /// Adds the current trace as the `traceparent` attribute, when the message has none and the
    /// queue carries attributes with room for one more: with OpenTelemetry export, the exported
    /// send `span` (or, when that is filtered out, the current exported span) — inside an
    /// invocation or not; else a child of the invocation's trace.
    fn with_trace(&self, mut message: Message, span: &tracing::Span) -> Message {
        const TRACE_BYTES: usize = 11 + 55;
        let caps = self.capabilities();
        if caps.attributes
            && message.attributes.len() < caps.max_attributes
            && message.size() + TRACE_BYTES <= caps.max_message_bytes
            && !message.attributes.contains_key(crate::trace::TRACEPARENT)
            && let Some(trace) = crate::otel::span_trace(span)
                .or_else(|| crate::otel::span_trace(&tracing::Span::current()))
                .or_else(|| {
                    crate::context::current()
                        .and_then(|c| c.trace)
                        .map(|t| t.child())
                })
        {
            message
                .attributes
                .insert(crate::trace::TRACEPARENT.to_owned(), trace.to_traceparent());
        }
        message
    }

    /// Sends one message; returns its id. Inside an invocation (or an exported OpenTelemetry
    /// span), the message carries its trace (`traceparent`), so its consumer continues it.
    pub async fn send(&self, message: impl Into<Message>) -> Result<String> {
        self.allow(crate::access::Access::QUEUE_SEND, "queue.send")?;
        let span = self.span("queue.send");
        let message = self.with_trace(message.into(), &span);
        self.check_message(&message)
            .map_err(|e| self.context("queue.send", e))?;
        // A message the service refused (throttled) is sent again under the retry policy.
        let result = self
            .retry
            .run_batch(vec![message], |batch: Vec<Message>| async move {
                self.driver.send_batch(&batch).await
            })
            .instrument(span)
            .await
            .pop()
            .unwrap_or_else(|| Err(Error::new(ErrorKind::Other, "message not sent")));
        result.map_err(|e| self.context("queue.send", e))
    }

    /// Sends `value` as a JSON message.
    pub async fn send_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<String> {
        self.send(Message::json(value)?).await
    }

    /// Sends many messages, in as few provider calls as its batch limits allow. Returns one result
    /// per message, in order: its id, or why that message was not sent. Messages that fail validation
    /// are reported without being sent; the others are still sent.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let queue = cloudport_memory::Memory::new().queue("orders");
    /// let results = queue.send_batch((0..25).map(|i| format!("order {i}"))).await;
    /// assert_eq!(results.len(), 25);
    /// assert!(results.iter().all(Result::is_ok));
    /// # }
    /// ```
    pub async fn send_batch<M: Into<Message>>(
        &self,
        messages: impl IntoIterator<Item = M>,
    ) -> Vec<Result<String>> {
        if let Err(e) = self.allow(crate::access::Access::QUEUE_SEND, "queue.send_batch") {
            return messages
                .into_iter()
                .map(|_| Err(e.clone_without_source()))
                .collect();
        }
        // One producer span for the whole batch names the messages' sender.
        let span = self.span("queue.send_batch");
        let messages: Vec<Message> = messages
            .into_iter()
            .map(|m| self.with_trace(m.into(), &span))
            .collect();
        let mut results: Vec<Option<Result<String>>> = Vec::with_capacity(messages.len());
        let mut pending: Vec<usize> = Vec::new();
        for (i, msg) in messages.iter().enumerate() {
            match self.check_message(msg) {
                Ok(()) => {
                    results.push(None);
                    pending.push(i);
                }
                Err(e) => results.push(Some(Err(self.context("queue.send_batch", e)))),
            }
        }
        let caps = self.capabilities().clone();
        let mut chunks: Vec<std::ops::Range<usize>> = Vec::new();
        let mut start = 0;
        while start < pending.len() {
            let mut end = start;
            let mut bytes = 0;
            while end < pending.len()
                && end - start < caps.max_batch_send.max(1)
                && (end == start || bytes + messages[pending[end]].size() <= caps.max_batch_bytes)
            {
                bytes += messages[pending[end]].size();
                end += 1;
            }
            chunks.push(start..end);
            start = end;
        }
        // Messages with ordering keys keep their send order: chunks one after another, nothing
        // re-sent after later messages, a key's later messages held back after a failure.
        if messages.iter().any(|m| m.ordering_key().is_some()) {
            self.send_keyed_chunks(&messages, &pending, chunks, &mut results, &span)
                .await;
            return results
                .into_iter()
                .map(|r| r.unwrap_or_else(|| Err(Error::new(ErrorKind::Other, "message not sent"))))
                .collect();
        }
        let retry_entries = !caps.ordered;
        // Chunks go out `concurrent_sends` at a time; `buffered` keeps their results in order.
        // Within a chunk, messages the service refused by throttling are sent again under the
        // retry policy — except on ordered (FIFO) queues, where a message re-sent alone would
        // follow later ones: there it is reported.
        let sent: Vec<(std::ops::Range<usize>, Vec<Result<String>>)> =
            futures::stream::iter(chunks)
                .map(|range| {
                    let chunk: Vec<Message> = pending[range.clone()]
                        .iter()
                        .map(|&i| messages[i].clone())
                        .collect();
                    let span = span.clone();
                    async move {
                        let results = self
                            .retry
                            .run_batch_with(
                                chunk,
                                retry_entries,
                                |batch: Vec<Message>| async move {
                                    self.driver.send_batch(&batch).await
                                },
                            )
                            .instrument(span)
                            .await;
                        (range, results)
                    }
                })
                .buffered(caps.concurrent_sends.max(1))
                .collect()
                .await;
        for (range, chunk_results) in sent {
            for (&i, r) in pending[range].iter().zip(chunk_results) {
                results[i] = Some(r.map_err(|e| self.context("queue.send_batch", e)));
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::new(ErrorKind::Other, "message not sent"))))
            .collect()
    }

    /// Receives up to `options.max_messages` messages under a lease of `options.lease`.
    ///
    /// With a dead-letter queue set, a message already delivered `max_deliveries` times is moved
    /// there (sent, then acked here) instead of being returned.
    pub async fn receive(&self, options: ReceiveOptions) -> Result<Vec<ReceivedMessage>> {
        const OP: &str = "queue.receive";
        self.allow(crate::access::Access::QUEUE_CONSUME, OP)?;
        let caps = self.capabilities();
        if options.max_messages == 0 || options.max_messages > caps.max_batch_receive {
            return Err(self.context(
                OP,
                Error::invalid(format!(
                    "max_messages must be 1..={}, got {}",
                    caps.max_batch_receive, options.max_messages
                )),
            ));
        }
        self.check_lease(options.lease)
            .map_err(|e| self.context(OP, e))?;
        if options.wait > caps.max_wait {
            return Err(self.context(
                OP,
                Error::invalid(format!(
                    "wait {:?} exceeds this queue's limit of {:?}",
                    options.wait, caps.max_wait
                )),
            ));
        }
        if self.dead_letter.is_some() && !caps.delivery_count {
            return Err(self.context(
                OP,
                Error::unsupported(
                    "dead-lettering needs delivery counts, which this queue does not report",
                ),
            ));
        }
        // The wait is cut to the deadline again for each attempt.
        let received = self
            .retry
            .run(Idempotence::Safe, || {
                let options = within_deadline(options);
                async move { self.driver.receive(&options).await }
            })
            .instrument(self.span(OP))
            .await
            .map_err(|e| self.context(OP, e))?;
        let Some(dl) = &self.dead_letter else {
            return Ok(received);
        };
        let mut deliver = Vec::with_capacity(received.len());
        for msg in received {
            if msg.delivery_count > dl.max_deliveries {
                if let Err(err) = self.move_to_dead_letter(&msg, &dl.queue).await {
                    // Not acked: the message returns when its lease ends and the move is tried again.
                    tracing::error!(queue = self.name(), message_id = %msg.id, error = %err,
                        deliveries = msg.delivery_count,
                        "could not move message to the dead-letter queue; it stays here and the move is retried");
                }
            } else {
                deliver.push(msg);
            }
        }
        Ok(deliver)
    }

    async fn move_to_dead_letter(&self, msg: &ReceivedMessage, dlq: &Queue) -> Result<()> {
        dlq.send(dlq.dead_letter_form(msg.to_message())?).await?;
        self.ack(msg).await?;
        // Moved on its delivery past the limit: it was handled (and failed) one time fewer.
        tracing::info!(queue = self.name(), dead_letter = dlq.name(), message_id = %msg.id,
            failed_deliveries = msg.delivery_count.saturating_sub(1),
            max_deliveries = self.dead_letter.as_ref().map_or(0, |d| d.max_deliveries),
            "moved message to the dead-letter queue");
        Ok(())
    }

    /// Moves a received message to the dead-letter queue now (sent there, then acked here).
    pub async fn dead_letter_now(&self, message: &ReceivedMessage) -> Result<()> {
        self.allow(crate::access::Access::QUEUE_CONSUME, "queue.dead_letter")?;
        let Some(dl) = &self.dead_letter else {
            return Err(self.context(
                "queue.dead_letter",
                Error::unsupported("this queue has no dead-letter queue"),
            ));
        };
        self.move_to_dead_letter(message, &dl.queue).await
    }

    /// For hosts, whose platform delivers messages and acknowledges them itself: a message
    /// delivered more often than this queue's dead-letter policy allows is sent to the
    /// dead-letter queue — unhandled — and reported (`Some(Ok)`); a failed move is `Some(Err)`, so
    /// the host reports a failure and the platform delivers the message again. `None`: no policy,
    /// or within the limit — handle the message.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use cloudport_core::{Env, event::QueueMessage};
    /// let env = Env::builder()
    ///     .provider(cloudport_memory::Memory::new())
    ///     .vars([("CLOUDPORT_QUEUE_ORDERS", "mem://orders?dead_letter=mem://dlq&max_deliveries=3")])
    ///     .build();
    /// let orders = env.queue("orders")?;
    /// let fifth = QueueMessage::new("orders", "m-1", "poison").with_delivery_count(5);
    /// let moved = orders.dead_letter_if_over_limit(&fifth).await.unwrap()?;
    /// assert_eq!((moved.dead_letter_queue.as_str(), moved.deliveries), ("dlq", 5));
    /// let first = QueueMessage::new("orders", "m-2", "fine");
    /// assert!(orders.dead_letter_if_over_limit(&first).await.is_none());
    /// # Ok::<(), cloudport_core::Error>(()) }).unwrap();
    /// ```
    pub async fn dead_letter_if_over_limit(
        &self,
        message: &crate::event::QueueMessage,
    ) -> Option<Result<DeadLettered>> {
        let dl = self.dead_letter.as_ref()?;
        if message.delivery_count <= dl.max_deliveries {
            return None;
        }
        if let Err(e) = self.allow(crate::access::Access::QUEUE_CONSUME, "queue.dead_letter") {
            return Some(Err(e));
        }
        let sent = match dl.queue.dead_letter_form(message.to_message()) {
            Ok(m) => dl.queue.send(m).await,
            Err(e) => Err(e),
        };
        Some(match sent {
            Ok(_) => {
                tracing::info!(queue = self.name(), dead_letter = dl.queue.name(),
                    message_id = %message.id,
                    failed_deliveries = message.delivery_count.saturating_sub(1),
                    max_deliveries = dl.max_deliveries,
                    "moved message to the dead-letter queue");
                Ok(DeadLettered {
                    queue: self.name().to_owned(),
                    dead_letter_queue: dl.queue.name().to_owned(),
                    message_id: message.id.clone(),
                    deliveries: message.delivery_count,
                    max_deliveries: dl.max_deliveries,
                })
            }
            Err(e) => {
                tracing::error!(queue = self.name(), message_id = %message.id, error = %e,
                    "could not dead-letter the message; it returns");
                Err(e)
            }
        })
    }

    /// `message` as this queue, a dead-letter queue, takes it: as it is when it passes this
    /// queue's checks, else enveloped ([`wire::envelope`], content type
    /// `application/cloudevents+json`), so any message a source queue could hold — an empty body,
    /// attribute values with tabs or line breaks, more attributes than this queue carries — can
    /// be dead-lettered, byte for byte, instead of being redelivered until its retention ends.
    fn dead_letter_form(&self, message: Message) -> Result<Message> {
        if self.check_message(&message).is_ok() {
            return Ok(message);
        }
        let body = wire::envelope(&message)?;
        Ok(Message::new(body).with_content_type(DEAD_LETTER_ENVELOPE_CONTENT_TYPE))
    }

    /// Deletes a handled message.
    pub async fn ack(&self, message: &ReceivedMessage) -> Result<()> {
        self.allow(crate::access::Access::QUEUE_CONSUME, "queue.ack")?;
        self.retry
            .run(Idempotence::Safe, || self.driver.ack(&message.lease))
            .instrument(self.span("queue.ack"))
            .await
            .map_err(|e| self.context("queue.ack", e))
    }

    /// Gives a message back: visible again after `delay` (zero: at once).
    pub async fn nack(&self, message: &ReceivedMessage, delay: Duration) -> Result<()> {
        const OP: &str = "queue.nack";
        self.allow(crate::access::Access::QUEUE_CONSUME, OP)?;
        let caps = self.capabilities();
        if !delay.is_zero() {
            if !caps.delayed_nack {
                return Err(self.context(OP, Error::unsupported("this queue cannot delay a nack")));
            }
            if delay > caps.max_delay.min(caps.max_lease) {
                return Err(self.context(
                    OP,
                    Error::invalid(format!("nack delay {delay:?} exceeds this queue's limit")),
                ));
            }
        }
        self.retry
            .run(Idempotence::Safe, || {
                self.driver.nack(&message.lease, delay)
            })
            .instrument(self.span(OP))
            .await
            .map_err(|e| self.context(OP, e))
    }

    /// Keeps a message leased for `lease_for` from now, updating its lease token.
    pub async fn extend_lease(
        &self,
        message: &mut ReceivedMessage,
        lease_for: Duration,
    ) -> Result<()> {
        const OP: &str = "queue.extend_lease";
        self.allow(crate::access::Access::QUEUE_CONSUME, OP)?;
        if !self.capabilities().extend_lease {
            return Err(self.context(OP, Error::unsupported("this queue cannot extend a lease")));
        }
        self.check_lease(lease_for)
            .map_err(|e| self.context(OP, e))?;
        let lease = &message.lease;
        message.lease = self
            .retry
            .run(Idempotence::Safe, || {
                self.driver.extend_lease(lease, lease_for)
            })
            .instrument(self.span(OP))
            .await
            .map_err(|e| self.context(OP, e))?;
        Ok(())
    }
}

/// Time a receive inside an invocation leaves for the call itself and for handling what it got.
const RECEIVE_MARGIN: std::time::Duration = std::time::Duration::from_secs(1);

/// Inside an invocation, a long poll ends [`RECEIVE_MARGIN`] before the invocation's deadline
/// (a short poll when less is left), so waiting for messages never runs the invocation out.
fn within_deadline(mut options: ReceiveOptions) -> ReceiveOptions {
    if let Some(left) = crate::context::remaining() {
        let cap = left.saturating_sub(RECEIVE_MARGIN);
        if options.wait > cap {
            tracing::debug!(wait = ?options.wait, ?cap, "long poll shortened to the invocation's deadline");
            options.wait = cap;
        }
    }
    options
}
