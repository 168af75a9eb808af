//! The portable dead-letter policy as every host applies it to a delivered queue event.

use cloudport_core::event::{Event, QueueMessage};
use cloudport_core::export::cloudevents;
use cloudport_core::{DeadLettered, Env, Result};

/// [`cloudport_core::Queue::dead_letter_if_over_limit`] for the event of logical queue `queue`:
/// `Some(Ok)` moved, `Some(Err)` the move failed (the platform delivers it again), `None` handle
/// it. A queue that cannot be opened is logged and the event handled.
pub(crate) async fn if_over_limit(
    env: &Env,
    queue: &str,
    event: &cloudevents::Event,
) -> Option<Result<DeadLettered>> {
    let q = match env.queue(queue) {
        Ok(q) => q,
        Err(e) => {
            // The handler runs; the binding's error surfaces wherever the queue is used.
            tracing::warn!(queue, error = %e,
                "cannot open the queue to apply its dead-letter policy");
            return None;
        }
    };
    let view = Event::<QueueMessage>::try_from(event.clone()).ok()?;
    q.dead_letter_if_over_limit(view.data()).await
}
