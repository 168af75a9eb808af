//! Turning a bucket's change feed into blob-trigger invocations.

use std::sync::Arc;
use std::time::Duration;

use cloudport_core::event::BlobEvent;
use cloudport_core::{App, BlobChange, Env, Trigger};
use tokio::sync::{broadcast, watch};

pub(super) struct Watcher {
    pub(super) app: Arc<App>,
    pub(super) env: Env,
    pub(super) name: String,
    pub(super) source: String,
}

/// Attempts per blob event before it is logged as failed (platforms retry blob triggers too).
const ATTEMPTS: u32 = 3;

impl Watcher {
    pub(super) async fn run(
        self,
        mut changes: broadcast::Receiver<BlobChange>,
        mut stop: watch::Receiver<bool>,
    ) {
        let trigger = Trigger::Blob(self.name.clone());
        let mut seq = 0u64;
        loop {
            let change = tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                change = changes.recv() => change,
            };
            let event = match change {
                Ok(BlobChange::Created(meta)) => BlobEvent::created(&self.name, meta.key)
                    .with_size(Some(meta.size))
                    .with_etag(Some(meta.etag.to_string()))
                    .with_content_type(meta.content_type),
                Ok(BlobChange::Deleted { key }) => BlobEvent::deleted(&self.name, key),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::error!(bucket = %self.name, missed = n, "blob trigger fell behind; events were missed");
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            seq += 1;
            let event = event
                .with_time(Some(chrono::Utc::now()))
                .to_cloudevent(&self.source, &format!("{}-{seq}", self.name));
            for attempt in 1..=ATTEMPTS {
                match self.app.dispatch(&self.env, &trigger, event.clone()).await {
                    Ok(()) => break,
                    Err(e) if attempt < ATTEMPTS => {
                        tracing::warn!(bucket = %self.name, error = %e, attempt, "blob handler failed; retrying");
                        tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                    }
                    Err(e) => {
                        tracing::error!(bucket = %self.name, error = %e, "blob handler failed {ATTEMPTS} times; giving up on this event")
                    }
                }
            }
        }
    }
}
