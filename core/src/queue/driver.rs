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
