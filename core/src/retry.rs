//! Retries, once, in the portable types: only errors marked temporary, exponential backoff with
//! full jitter, bounded attempts, and never past the invocation's deadline. Drivers never retry on
//! their own (the AWS provider switches its SDK's retry off).

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::{Error, ErrorKind, Result};

/// How an operation is retried.
///
/// ```
/// use cloudport_core::RetryPolicy;
/// use std::time::Duration;
/// let policy = RetryPolicy::default().max_attempts(5).base_delay(Duration::from_millis(20));
/// assert_eq!(policy.attempts(), 5);
/// assert_eq!(RetryPolicy::none().attempts(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Three attempts, backoff from 50 ms up to 2 s.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
        }
    }
}

/// Whether an operation may be repeated after an error whose effect is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotence {
    /// Repeating it is harmless (reads, deletes, acks, unconditional writes).
    Safe,
    /// A repeat may be observed (a conditional write that took effect fails its condition the
    /// second time; a send may be duplicated): retried only when the error proves the first
    /// attempt was refused (`RateLimited`).
    Unsafe,
}

impl RetryPolicy {
    /// No retries: one attempt.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Sets the number of attempts (at least 1).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// Sets the first backoff.
    pub fn base_delay(mut self, d: Duration) -> Self {
        self.base_delay = d;
        self
    }

    /// Sets the longest backoff.
    pub fn max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }

    /// The number of attempts.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The pause before attempt `attempt + 1`: uniformly random up to `base · 2^attempt`, capped
    /// ("full jitter").
    pub fn backoff(&self, attempt: u32) -> Duration {
        let cap = self
            .base_delay
            .saturating_mul(1u32 << attempt.min(20))
            .min(self.max_delay);
        let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(fastrand::u64(..nanos))
    }

    /// Runs `op` until it succeeds, fails with an error not worth retrying, runs out of attempts,
    /// or the next pause would end past the invocation's deadline.
    pub async fn run<T, F, Fut>(&self, idempotence: Idempotence, mut op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let deadline = crate::context::deadline();
        let mut attempt = 0;
        loop {
            let err = match op().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            attempt += 1;
            if attempt >= self.max_attempts || !worth_retrying(&err, idempotence) {
                return Err(err);
            }
            let pause = self.backoff(attempt - 1);
            if deadline.is_some_and(|d| Instant::now() + pause >= d) {
                tracing::debug!(error = %err, "not retrying: the invocation's deadline is near");
                return Err(err);
            }
            tracing::debug!(error = %err, attempt, ?pause, "retrying a temporary error");
            tokio::time::sleep(pause).await;
        }
    }
}

fn worth_retrying(err: &Error, idempotence: Idempotence) -> bool {
    err.is_temporary() && (idempotence == Idempotence::Safe || err.kind() == ErrorKind::RateLimited)
}
