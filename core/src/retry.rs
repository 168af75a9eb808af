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

impl RetryPolicy {
    /// Runs a batch call — `op` gets the items still to send and returns one result per item —
    /// and repeats it, under this policy, for the items refused by throttling (`RateLimited`,
    /// which proves they were not taken, so a repeat cannot duplicate them); a failure of the
    /// whole call likewise. Other errors — a timeout, say, after which an item may have been
    /// taken — are returned as they are. Returns one result per item, in order.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use cloudport_core::{Error, ErrorKind, RetryPolicy};
    /// use std::time::Duration;
    /// let policy = RetryPolicy::default().base_delay(Duration::from_millis(1));
    /// let calls = std::sync::atomic::AtomicU32::new(0);
    /// let results = policy
    ///     .run_batch(vec!["a", "b", "c"], |items: Vec<&str>| {
    ///         let first = calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed) == 0;
    ///         let out = items
    ///             .into_iter()
    ///             .map(|i| match (first, i) {
    ///                 (true, "b") => Err(Error::new(ErrorKind::RateLimited, "slow down")),
    ///                 _ => Ok(i.to_uppercase()),
    ///             })
    ///             .collect();
    ///         async move { Ok(out) }
    ///     })
    ///     .await;
    /// assert_eq!(results.into_iter().map(Result::unwrap).collect::<Vec<_>>(), ["A", "B", "C"]);
    /// assert_eq!(calls.into_inner(), 2, "the second call sent \"b\" alone");
    /// # }
    /// ```
    pub async fn run_batch<I, T, F, Fut>(&self, items: Vec<I>, op: F) -> Vec<Result<T>>
    where
        I: Clone,
        F: FnMut(Vec<I>) -> Fut,
        Fut: Future<Output = Result<Vec<Result<T>>>>,
    {
        self.run_batch_with(items, true, op).await
    }

    /// [`RetryPolicy::run_batch`]; with `entries` off, single refused items are not repeated
    /// (only a refused call is): re-sent alone, a message would arrive after ones sent after it,
    /// which an ordered queue must not do.
    pub(crate) async fn run_batch_with<I, T, F, Fut>(
        &self,
        items: Vec<I>,
        entries: bool,
        mut op: F,
    ) -> Vec<Result<T>>
    where
        I: Clone,
        F: FnMut(Vec<I>) -> Fut,
        Fut: Future<Output = Result<Vec<Result<T>>>>,
    {
        let deadline = crate::context::deadline();
        let mut results: Vec<Option<Result<T>>> = items.iter().map(|_| None).collect();
        let mut pending: Vec<usize> = (0..items.len()).collect();
        let mut attempt = 0;
        while !pending.is_empty() {
            let batch: Vec<I> = pending.iter().map(|&i| items[i].clone()).collect();
            let outcome = op(batch).await;
            attempt += 1;
            let again: Vec<usize> = match outcome {
                Ok(round) if round.len() == pending.len() => {
                    let mut again = Vec::new();
                    for (&i, result) in pending.iter().zip(round) {
                        if entries
                            && result
                                .as_ref()
                                .is_err_and(|e| worth_retrying(e, Idempotence::Unsafe))
                        {
                            again.push(i);
                        }
                        results[i] = Some(result);
                    }
                    again
                }
                Ok(round) => {
                    let msg = format!(
                        "the driver returned {} results for {} items; their fate is unknown",
                        round.len(),
                        pending.len()
                    );
                    for &i in &pending {
                        results[i] = Some(Err(Error::new(ErrorKind::Other, msg.clone())));
                    }
                    Vec::new()
                }
                Err(err) => {
                    let retry = worth_retrying(&err, Idempotence::Unsafe);
                    // The last item keeps the error itself (with its source): a single send's.
                    if let Some((&last, others)) = pending.split_last() {
                        for &i in others {
                            results[i] = Some(Err(err.clone_without_source()));
                        }
                        results[last] = Some(Err(err));
                    }
                    if retry { pending.clone() } else { Vec::new() }
                }
            };
            if again.is_empty() || attempt >= self.max_attempts {
                break;
            }
            let pause = self.backoff(attempt - 1);
            if deadline.is_some_and(|d| Instant::now() + pause >= d) {
                tracing::debug!("not retrying failed entries: the invocation's deadline is near");
                break;
            }
            tracing::debug!(
                entries = again.len(),
                attempt,
                ?pause,
                "retrying refused entries"
            );
            tokio::time::sleep(pause).await;
            pending = again;
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::new(ErrorKind::Other, "not attempted"))))
            .collect()
    }
}

fn worth_retrying(err: &Error, idempotence: Idempotence) -> bool {
    err.is_temporary() && (idempotence == Idempotence::Safe || err.kind() == ErrorKind::RateLimited)
}
