//! Helpers for unit tests of function code (feature `testing`): a test environment on a manual
//! clock, one-call dispatch of a queue message, blob event or schedule tick to an [`App`], and a
//! message run through the portable delivery rules until it is handled or dead-lettered.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport::Result<()> {
//! use cloudport::prelude::*;
//! use cloudport::testing::{AppTestExt, Delivery, TestEnv};
//!
//! let app = App::new().on_queue("orders", |m, env| async move {
//!     let text = m.data().text()?.to_owned();
//!     if text == "bad" {
//!         return Err(Error::handler("cannot take this order"));
//!     }
//!     env.kv("orders")?.put(&text, "taken", Precondition::IfAbsent).await?;
//!     Ok(())
//! });
//! let test = TestEnv::new();
//! app.send_message(test.env(), "orders", "42").await?;
//! assert!(test.env().kv("orders")?.get("42").await?.is_some());
//!
//! // Through the delivery rules: delivered again and again, then dead-lettered.
//! let outcome = app.deliver(test.env(), "orders", "bad").await?;
//! assert_eq!(outcome, Delivery::DeadLettered { deliveries: 5, queue: "orders-dlq".into() });
//! # Ok(()) }
//! ```

use std::time::Duration;

use cloudport_core::event::{BlobEvent, QueueMessage, ScheduleTick};
use cloudport_core::{App, Env, Error, Message, Result, Trigger};
use cloudport_memory::{Clock, Memory};

use crate::EnvExt;

/// A memory world on a manual clock and an [`Env`] on it (unbound names open as `mem://NAME`;
/// [`Env::now`] is the manual clock's). Leases, redelivery delays, TTLs and schedules wait for
/// [`TestEnv::advance`]: a local host started on it runs on virtual time too.
///
/// ```
/// use std::time::Duration;
/// use cloudport::testing::TestEnv;
/// let test = TestEnv::new();
/// let t0 = test.env().now();
/// test.advance(Duration::from_secs(90));
/// assert_eq!((test.env().now() - t0).num_seconds(), 90);
/// ```
#[derive(Debug, Clone)]
pub struct TestEnv {
    memory: Memory,
    env: Env,
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl TestEnv {
    /// A new world on a manual clock.
    pub fn new() -> Self {
        let memory = Memory::with_clock(Clock::manual());
        let env = Env::on_memory(&memory);
        Self { memory, env }
    }

    /// The environment to hand to the app and its handlers.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// The memory world: its queues, buckets and stores, its clock, its fault injection.
    pub fn memory(&self) -> &Memory {
        &self.memory
    }

    /// Moves the clock: leases end, delays pass, entries expire, schedules come due.
    pub fn advance(&self, by: Duration) {
        // A manual clock always advances.
        let _ = self.memory.clock().advance(by);
    }
}

/// What became of a message run through the delivery rules ([`AppTestExt::deliver`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Its handler succeeded on this delivery.
    Handled {
        /// Deliveries it took, the successful one included.
        deliveries: u32,
    },
    /// Its handler failed every delivery the queue's policy allows; it went to this queue.
    DeadLettered {
        /// Deliveries that failed.
        deliveries: u32,
        /// The dead-letter queue's name.
        queue: String,
    },
}

/// Driving an [`App`] from a test, one call per event.
#[allow(async_fn_in_trait)]
pub trait AppTestExt {
    /// Delivers `message` to the handler of queue trigger `queue` once (delivery count 1), as a
    /// host would; the handler's result.
    async fn send_message(&self, env: &Env, queue: &str, message: impl Into<Message>)
    -> Result<()>;

    /// Delivers a "created" event of object `key` of bucket trigger `bucket` — its size, ETag and
    /// content type read from the bucket when the object is there.
    async fn send_blob_created(&self, env: &Env, bucket: &str, key: &str) -> Result<()>;

    /// Delivers a tick of schedule `schedule`, due now on the environment's clock.
    async fn send_tick(&self, env: &Env, schedule: &str) -> Result<()>;

    /// Runs `message` through the portable delivery rules of queue `queue`: delivered (delivery
    /// count 1, 2, …) until its handler succeeds, or until the queue's `max_deliveries` (its
    /// binding's, else the app's declared or default policy, [`App::dead_letter_policy`]) have
    /// failed — then it is sent to the dead-letter queue, as the local host does.
    async fn deliver(
        &self,
        env: &Env,
        queue: &str,
        message: impl Into<Message>,
    ) -> Result<Delivery>;
}

fn queue_event(queue: &str, id: &str, message: &Message, delivery: u32) -> QueueMessage {
    let mut m = QueueMessage::new(queue, id, message.body.clone()).with_delivery_count(delivery);
    if let Some(ct) = &message.content_type {
        m = m.with_content_type(ct.clone());
    }
    for (k, v) in &message.attributes {
        m = m.with_attribute(k.clone(), v.clone());
    }
    m
}

impl AppTestExt for App {
    async fn send_message(
        &self,
        env: &Env,
        queue: &str,
        message: impl Into<Message>,
    ) -> Result<()> {
        let event = queue_event(queue, "test-1", &message.into(), 1)
            .to_cloudevent(&format!("cloudport:test/{queue}"));
        self.dispatch(env, &Trigger::Queue(queue.to_owned()), event)
            .await
    }

    async fn send_blob_created(&self, env: &Env, bucket: &str, key: &str) -> Result<()> {
        let mut event = BlobEvent::created(bucket, key);
        if let Ok(meta) = env.bucket(bucket)?.head(key).await {
            event = event
                .with_size(Some(meta.size))
                .with_etag(Some(meta.etag.to_string()))
                .with_content_type(meta.content_type);
        }
        let event = event.with_time(Some(env.now())).to_cloudevent(
            &format!("cloudport:test/{bucket}"),
            &format!("{bucket}/{key}"),
        );
        self.dispatch(env, &Trigger::Blob(bucket.to_owned()), event)
            .await
    }

    async fn send_tick(&self, env: &Env, schedule: &str) -> Result<()> {
        let now = env.now();
        let event = ScheduleTick::new(schedule, now)
            .to_cloudevent("cloudport:test", &format!("{schedule}-{}", now.timestamp()));
        self.dispatch(env, &Trigger::Schedule(schedule.to_owned()), event)
            .await
    }

    async fn deliver(
        &self,
        env: &Env,
        queue: &str,
        message: impl Into<Message>,
    ) -> Result<Delivery> {
        let message = message.into();
        let bound = env.queue(queue)?;
        let (dead_letter, max) = match bound.dead_letter() {
            Some((dlq, max)) => (dlq.clone(), max),
            None => {
                let policy = self.dead_letter_policy(queue);
                (env.queue(&policy.queue)?, policy.max_deliveries)
            }
        };
        let source = format!("cloudport:test/{queue}");
        for delivery in 1..=max {
            let event = queue_event(queue, "test-1", &message, delivery).to_cloudevent(&source);
            // A failure is delivered again, as the queue would.
            if self
                .dispatch(env, &Trigger::Queue(queue.to_owned()), event)
                .await
                .is_ok()
            {
                return Ok(Delivery::Handled {
                    deliveries: delivery,
                });
            }
        }
        dead_letter
            .send(message)
            .await
            .map_err(|e: Error| e.with_operation("testing.deliver"))?;
        Ok(Delivery::DeadLettered {
            deliveries: max,
            queue: dead_letter.name().to_owned(),
        })
    }
}
