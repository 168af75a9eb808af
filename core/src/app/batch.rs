//! Queue batches: every message attempted, [`App::queue_concurrency`] at a time, and the order of
//! each ordering key kept — a failed message holds back the rest of its key in that batch.

use cloudevents::AttributesReader;
use futures::StreamExt;

use super::{App, BatchFailure, BatchOutcome, Trigger};
use crate::queue::wire::ORDERING_KEY_ATTRIBUTE;
use crate::{Env, Error, ErrorKind, Result};

/// The ordering key a queue-message event carries (its `orderingkey` attribute), if any.
fn ordering_key(event: &cloudevents::Event) -> Option<String> {
    event
        .extension(ORDERING_KEY_ATTRIBUTE)
        .map(ToString::to_string)
        .filter(|k| !k.is_empty())
}

/// The error of a message not attempted because an earlier one of its key failed.
fn held_back(key: &str, failed_id: &str) -> Error {
    Error::new(
        ErrorKind::Handler,
        format!(
            "not attempted: message {failed_id:?} of ordering key {key:?} failed earlier in this \
             batch, so the rest of that key returns with it, in order"
        ),
    )
    .with_operation("app.dispatch")
}

/// One message of a batch: its position, id, key and event.
struct Item {
    index: usize,
    id: String,
    key: Option<String>,
    event: cloudevents::Event,
}

impl App {
    /// Delivers a batch of queue messages, [`App::queue_concurrency`] at a time, and reports which
    /// failed. Every message is attempted, and one failure does not stop the others — except
    /// within an ordering key (the `orderingkey` attribute:
    /// [`Message::with_ordering_key`](crate::Message)): the messages of one key run one after
    /// another in batch order, and once one fails, the rest of that key in the batch are reported
    /// failed without running, so they return to the queue behind it and keep their order.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use cloudport_core::{App, Env, Error, ErrorKind};
    /// use cloudport_core::event::QueueMessage;
    ///
    /// let app = App::new().on_queue("orders", |event, _env| async move {
    ///     match event.data().text()? {
    ///         "bad" => Err(Error::new(ErrorKind::Handler, "refused")),
    ///         _ => Ok(()),
    ///     }
    /// });
    /// let env = Env::builder().provider(cloudport_memory::Memory::new()).fallback_scheme("mem").build();
    /// let message = |id: &str, key: &str, body: &str| {
    ///     QueueMessage::new("orders", id, body.to_owned())
    ///         .with_attribute("orderingkey", key)
    ///         .to_cloudevent("mem://orders")
    /// };
    /// let batch = vec![message("1", "a", "bad"), message("2", "b", "ok"), message("3", "a", "ok")];
    /// let outcome = app.dispatch_batch(&env, "orders", batch).await;
    /// // "3" did not run: "1" of its key failed before it.
    /// assert_eq!(outcome.failed_ids().collect::<Vec<_>>(), ["1", "3"]);
    /// # }
    /// ```
    pub async fn dispatch_batch(
        &self,
        env: &Env,
        queue: &str,
        events: Vec<cloudevents::Event>,
    ) -> BatchOutcome {
        let trigger = Trigger::Queue(queue.to_owned());
        let items: Vec<Item> = events
            .into_iter()
            .enumerate()
            .map(|(index, event)| Item {
                index,
                id: event.id().to_owned(),
                key: ordering_key(&event),
                event,
            })
            .collect();
        let results = if items.iter().all(|i| i.key.is_none()) {
            // No keys (the common case): one message at a time or `queue_concurrency` at once.
            futures::stream::iter(items)
                .map(|item| {
                    let trigger = &trigger;
                    async move {
                        let result = self.dispatch(env, trigger, item.event).await;
                        vec![(item.index, item.id, result)]
                    }
                })
                .buffered(self.queue_concurrency)
                .collect::<Vec<_>>()
                .await
        } else {
            futures::stream::iter(groups(items))
                .map(|group| self.run_group(env, &trigger, group))
                .buffer_unordered(self.queue_concurrency)
                .collect::<Vec<_>>()
                .await
        };
        let mut failures: Vec<BatchFailure> = results
            .into_iter()
            .flatten()
            .filter_map(|(index, id, r)| r.err().map(|error| BatchFailure { index, id, error }))
            .collect();
        failures.sort_unstable_by_key(|f| f.index);
        BatchOutcome { failures }
    }

    /// Runs one group in order; after a failure of a keyed group, the rest is held back.
    async fn run_group(
        &self,
        env: &Env,
        trigger: &Trigger,
        group: Vec<Item>,
    ) -> Vec<(usize, String, Result<()>)> {
        let mut results = Vec::with_capacity(group.len());
        let mut failed: Option<String> = None;
        for item in group {
            let result = match (&failed, &item.key) {
                (Some(failed_id), Some(key)) => Err(held_back(key, failed_id)),
                _ => self.dispatch(env, trigger, item.event).await,
            };
            if result.is_err() && failed.is_none() {
                failed = Some(item.id.clone());
            }
            results.push((item.index, item.id, result));
        }
        results
    }
}

/// The batch as groups in order of first appearance: one per ordering key (its messages in batch
/// order), and each message without a key alone.
fn groups(items: Vec<Item>) -> Vec<Vec<Item>> {
    let mut groups: Vec<Vec<Item>> = Vec::new();
    let mut by_key: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for item in items {
        match item.key.clone() {
            Some(key) => match by_key.get(&key) {
                Some(&at) => groups[at].push(item),
                None => {
                    by_key.insert(key, groups.len());
                    groups.push(vec![item]);
                }
            },
            None => groups.push(vec![item]),
        }
    }
    groups
}
