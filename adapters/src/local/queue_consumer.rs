//! Consuming one queue trigger — or one topic trigger's subscription, a queue of structured-mode
//! CloudEvents: receive, hold the lease while handlers run, ack or nack.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use cloudport_core::event::QueueMessage;
use cloudport_core::{App, Env, Queue, ReceiveOptions, ReceivedMessage, Trigger};
use tokio::sync::{oneshot, watch};

/// What the consumed queue's messages are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Delivers {
    /// The queue trigger of the consumer's name: each message as a portable queue message.
    Queue,
    /// The topic trigger of the consumer's name: each message is the structured-mode CloudEvent
    /// published ([`cloudport_core::topic::wire::from_structured`]), delivered as it was.
    Topic,
}

pub(super) struct Consumer {
    pub(super) delivers: Delivers,
    pub(super) app: Arc<App>,
    pub(super) env: Env,
    pub(super) name: String,
    pub(super) source: String,
    pub(super) queue: Queue,
    pub(super) lease: Duration,
    pub(super) wait: Duration,
    pub(super) max_retry_delay: Duration,
}

type Held = Arc<Mutex<Vec<ReceivedMessage>>>;

impl Consumer {
    fn options(&self) -> ReceiveOptions {
        let caps = self.queue.capabilities();
        ReceiveOptions::default()
            .max_messages(caps.max_batch_receive.min(10))
            .lease(self.lease.clamp(caps.min_lease, caps.max_lease))
            .wait(self.wait.min(caps.max_wait))
    }

    pub(super) async fn run(self, stop: watch::Receiver<bool>) {
        let options = self.options();
        let mut errors_in_a_row = 0u32;
        // A receive is never cancelled midway (its messages would sit leased until the lease
        // ends); the stop flag is checked between receives, each at most `wait` long.
        while !*stop.borrow() {
            match self.queue.receive(options).await {
                Ok(batch) if batch.is_empty() => {
                    errors_in_a_row = 0;
                    if options.wait.is_zero() {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                Ok(batch) => {
                    errors_in_a_row = 0;
                    self.handle(batch, options.lease).await;
                }
                Err(e) => {
                    errors_in_a_row += 1;
                    let pause = Duration::from_millis(100 << errors_in_a_row.min(6));
                    tracing::warn!(queue = %self.name, error = %e, ?pause, "receive failed");
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }

    async fn handle(&self, batch: Vec<ReceivedMessage>, lease: Duration) {
        let held: Held = Arc::new(Mutex::new(Vec::new()));
        let failed: HashSet<usize> = match self.delivers {
            Delivers::Queue => {
                let events = batch
                    .iter()
                    .map(|m| QueueMessage::from_received(&self.name, m).to_cloudevent(&self.source))
                    .collect();
                *held.lock().unwrap_or_else(PoisonError::into_inner) = batch;
                let (done, extender) = self.hold_leases(held.clone(), lease);
                let outcome = self.app.dispatch_batch(&self.env, &self.name, events).await;
                let _ = done.send(());
                if let Some(extender) = extender {
                    let _ = extender.await;
                }
                for failure in &outcome.failures {
                    tracing::warn!(queue = %self.name, message_id = %failure.id, error = %failure.error,
                        "handler failed; the message will be delivered again");
                }
                outcome.failed_indexes().collect()
            }
            Delivers::Topic => {
                let events: Vec<_> = batch
                    .iter()
                    .map(|m| cloudport_core::topic::wire::from_structured(&m.body))
                    .collect();
                *held.lock().unwrap_or_else(PoisonError::into_inner) = batch;
                let (done, extender) = self.hold_leases(held.clone(), lease);
                let failed = self.dispatch_topic_events(events).await;
                let _ = done.send(());
                if let Some(extender) = extender {
                    let _ = extender.await;
                }
                failed
            }
        };
        let messages = std::mem::take(&mut *held.lock().unwrap_or_else(PoisonError::into_inner));
        for (index, m) in messages.into_iter().enumerate() {
            let settled = if failed.contains(&index) {
                self.queue
                    .nack(&m, self.retry_delay(m.delivery_count))
                    .await
            } else {
                self.queue.ack(&m).await
            };
            if let Err(e) = settled {
                // The lease ends by itself and the message comes back: at least once, never lost.
                tracing::warn!(queue = %self.name, message_id = %m.id, error = %e, "could not settle message");
            }
        }
    }

    /// Each event to the topic's handler, one at a time (as published); the indexes that failed.
    /// A message that is not a structured-mode CloudEvent fails too: it is delivered again and
    /// ends in the subscription's dead-letter queue, never dropped.
    async fn dispatch_topic_events(
        &self,
        events: Vec<cloudport_core::Result<cloudport_core::export::cloudevents::Event>>,
    ) -> HashSet<usize> {
        let trigger = Trigger::Topic(self.name.clone());
        let mut failed = HashSet::new();
        for (index, event) in events.into_iter().enumerate() {
            let result = match event {
                Ok(event) => self.app.dispatch(&self.env, &trigger, event).await,
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                tracing::warn!(topic = %self.name, subscription = %self.queue.name(), error = %e,
                    "topic handler failed; the event will be delivered again");
                failed.insert(index);
            }
        }
        failed
    }

    /// Extends every held lease each third of the lease, until `done` fires.
    fn hold_leases(
        &self,
        held: Held,
        lease: Duration,
    ) -> (oneshot::Sender<()>, Option<tokio::task::JoinHandle<()>>) {
        let (done_tx, mut done_rx) = oneshot::channel::<()>();
        if !self.queue.capabilities().extend_lease {
            return (done_tx, None);
        }
        let queue = self.queue.clone();
        let handle = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut done_rx => return,
                    () = tokio::time::sleep(lease / 3) => {}
                }
                let mut messages =
                    std::mem::take(&mut *held.lock().unwrap_or_else(PoisonError::into_inner));
                for m in &mut messages {
                    if let Err(e) = queue.extend_lease(m, lease).await {
                        tracing::warn!(message_id = %m.id, error = %e, "could not extend lease");
                    }
                }
                *held.lock().unwrap_or_else(PoisonError::into_inner) = messages;
            }
        });
        (done_tx, Some(handle))
    }

    fn retry_delay(&self, delivery_count: u32) -> Duration {
        let caps = self.queue.capabilities();
        if !caps.delayed_nack {
            return Duration::ZERO;
        }
        super::redelivery_delay(delivery_count, self.max_retry_delay)
            .min(caps.max_delay)
            .min(caps.max_lease)
    }
}
