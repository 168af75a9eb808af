//! Turning a bucket's change feed into blob-trigger invocations.
//!
//! Each change is tried at once, in the order of the feed. One that fails is tried again like a
//! queue message — after a growing delay, in a task of its own so the bucket's other events go
//! on — and after [`DEFAULT_MAX_DELIVERIES`] failed deliveries it is dead-lettered: the event, as
//! a structured-mode CloudEvent, goes to the queue `mem://<bucket>-dlq`. An event's id is stable
//! for an object version (`<bucket>/<key>@<etag>`, `…@deleted:<etag>` for a delete), so it is the
//! idempotency key it looks like, across restarts too; its time is the environment's clock.

use std::sync::Arc;
use std::time::Duration;

use cloudport_core::env::DEFAULT_MAX_DELIVERIES;
use cloudport_core::event::BlobEvent;
use cloudport_core::export::cloudevents;
use cloudport_core::{App, BlobChange, Env, Message, Trigger};
use tokio::sync::{broadcast, watch};

pub(super) struct Watcher {
    pub(super) app: Arc<App>,
    pub(super) env: Env,
    pub(super) name: String,
    /// The bucket's name at its provider (its dead-letter queue is named after it).
    pub(super) native: String,
    pub(super) source: String,
    pub(super) max_retry_delay: Duration,
}

impl Watcher {
    pub(super) async fn run(
        self,
        mut changes: broadcast::Receiver<BlobChange>,
        mut stop: watch::Receiver<bool>,
    ) {
        let this = Arc::new(self);
        loop {
            let change = tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                change = changes.recv() => change,
            };
            let (event, id) = match change {
                Ok(BlobChange::Created(meta)) => {
                    let id = format!("{}/{}@{}", this.native, meta.key, meta.etag);
                    let event = BlobEvent::created(&this.name, meta.key)
                        .with_size(Some(meta.size))
                        .with_etag(Some(meta.etag.to_string()))
                        .with_content_type(meta.content_type);
                    (event, id)
                }
                Ok(BlobChange::Deleted { key, etag }) => {
                    let version = etag.map_or_else(|| "?".to_owned(), |e| e.to_string());
                    let id = format!("{}/{key}@deleted:{version}", this.native);
                    (BlobEvent::deleted(&this.name, key), id)
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::error!(bucket = %this.name, missed = n, "blob trigger fell behind; events were missed");
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            let event = event
                .with_time(Some(this.env.now()))
                .to_cloudevent(&this.source, &id);
            if let Err(e) = this.deliver(&event).await {
                tracing::warn!(bucket = %this.name, event_id = %id, error = %e, "blob handler failed; the event will be delivered again");
                let this = this.clone();
                tokio::spawn(async move { this.redeliver(event, id).await });
            }
        }
    }

    async fn deliver(&self, event: &cloudevents::Event) -> cloudport_core::Result<()> {
        self.app
            .dispatch(&self.env, &Trigger::Blob(self.name.clone()), event.clone())
            .await
    }

    /// Deliveries 2…[`DEFAULT_MAX_DELIVERIES`], each after a growing delay; then the
    /// dead-letter queue.
    async fn redeliver(&self, event: cloudevents::Event, id: String) {
        for delivery in 2..=DEFAULT_MAX_DELIVERIES {
            let delay = super::redelivery_delay(delivery - 1, self.max_retry_delay);
            tokio::time::sleep(delay).await;
            match self.deliver(&event).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(bucket = %self.name, event_id = %id, delivery, error = %e, "blob handler failed");
                }
            }
        }
        let dead_letter = format!("mem://{}-dlq", self.native);
        let moved = match (
            self.env.open_queue(&dead_letter),
            serde_json::to_vec(&event),
        ) {
            (Ok(queue), Ok(body)) => queue
                .send(Message::new(body).with_content_type("application/cloudevents+json"))
                .await
                .map(|_| ()),
            (Err(e), _) => Err(e),
            (_, Err(e)) => Err(e.into()),
        };
        match moved {
            Ok(()) => {
                tracing::warn!(bucket = %self.name, event_id = %id, dead_letter = %dead_letter,
                failed_deliveries = DEFAULT_MAX_DELIVERIES,
                "moved the blob event to the dead-letter queue")
            }
            Err(e) => tracing::error!(bucket = %self.name, event_id = %id, error = %e,
                "could not dead-letter the blob event; it is dropped"),
        }
    }
}
