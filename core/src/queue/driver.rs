//! The trait a provider implements for queues.

use std::any::Any;
use std::fmt::Debug;
use std::time::Duration;

use async_trait::async_trait;

use super::{LeaseToken, Message, ReceiveOptions, ReceivedMessage};
use crate::{QueueCapabilities, Result};

/// A provider's queue. Thin: [`Queue`](crate::Queue) validates input, chunks batches, applies the
/// dead-letter policy and adds error context before calling it. Drivers never retry.
///
/// Every method sees input already checked against [`QueueDriver::capabilities`].
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait QueueDriver: Any + Debug + Send + Sync {
    /// The provider's name (`"memory"`, `"aws"`, …).
    fn provider(&self) -> &'static str;

    /// The queue's name at the provider.
    fn name(&self) -> &str;

    /// What this queue supports.
    fn capabilities(&self) -> &QueueCapabilities;

    /// Sends up to `max_batch_send` messages; returns one result per message, in order, each the
    /// provider's message id or that message's error. An `Err` means none was sent.
    async fn send_batch(&self, messages: &[Message]) -> Result<Vec<Result<String>>>;

    /// Receives up to `options.max_messages` visible messages, leasing each for `options.lease`.
    async fn receive(&self, options: &ReceiveOptions) -> Result<Vec<ReceivedMessage>>;

    /// Deletes a leased message for good.
    async fn ack(&self, lease: &LeaseToken) -> Result<()>;

    /// Ends a lease early: the message becomes visible again after `delay`.
    async fn nack(&self, lease: &LeaseToken, delay: Duration) -> Result<()>;

    /// Keeps a message invisible for `lease_for` from now; returns the lease to use from now on
    /// (some providers issue a new receipt).
    async fn extend_lease(&self, lease: &LeaseToken, lease_for: Duration) -> Result<LeaseToken>;
}

/// For drivers of services without long polling (Azure Storage Queues, Pub/Sub's unary pull):
/// calls `pull` until it returns messages or `wait` has passed, pausing between empty pulls from
/// 50 ms, doubling, up to 1 s (never past the end of `wait`). With a zero `wait`, one pull.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// use std::time::Duration;
/// use cloudport_core::queue::poll_while_empty;
/// let mut calls = 0;
/// let got: Vec<u32> = poll_while_empty(Duration::from_millis(200), || {
///     calls += 1;
///     let n = calls;
///     async move { Ok(if n < 3 { vec![] } else { vec![n] }) }
/// }).await?;
/// assert_eq!(got, [3]);
/// # Ok::<(), cloudport_core::Error>(()) }).unwrap();
/// ```
pub async fn poll_while_empty<T, F, Fut>(wait: Duration, mut pull: F) -> Result<Vec<T>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>>>,
{
    const FIRST: Duration = Duration::from_millis(50);
    const LONGEST: Duration = Duration::from_secs(1);
    let deadline = tokio::time::Instant::now() + wait;
    let mut pause = FIRST;
    loop {
        let got = pull().await?;
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if !got.is_empty() || left.is_zero() {
            return Ok(got);
        }
        tokio::time::sleep(pause.min(left)).await;
        pause = (pause * 2).min(LONGEST);
    }
}

/// A duration in whole seconds, rounded up (a lease of 1.2 s must not end at 1 s), saturating at
/// `i32::MAX`: what queue services that count in seconds take.
///
/// ```
/// use std::time::Duration;
/// use cloudport_core::queue::whole_seconds;
/// assert_eq!(whole_seconds(Duration::from_millis(1200)), 2);
/// assert_eq!(whole_seconds(Duration::ZERO), 0);
/// ```
pub fn whole_seconds(d: Duration) -> i32 {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    i32::try_from(s).unwrap_or(i32::MAX)
}
