//! Fault injection: make calls fail or slow down, to test retry and idempotency logic.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use cloudport_core::{Error, ErrorKind, Result};

/// A fault to inject: the next `times` matching calls fail with an error of `kind`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use cloudport_core::{ErrorKind, Precondition, RetryPolicy};
/// use cloudport_memory::{Fault, Memory};
///
/// let memory = Memory::new();
/// memory.faults().inject(Fault::error(ErrorKind::Unavailable).on_operation("kv.put").times(2));
/// // Two temporary failures: the default retry policy absorbs them.
/// memory.kv("orders").put("k", "v", Precondition::None).await.unwrap();
///
/// memory.faults().inject(Fault::error(ErrorKind::Unavailable).on_operation("kv.put"));
/// let kv = memory.kv("orders").with_retry(RetryPolicy::none());
/// let err = kv.put("k", "v", Precondition::None).await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Unavailable);
/// assert!(err.is_temporary());
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Fault {
    kind: ErrorKind,
    /// Fails after the call took effect (its response lost) rather than before.
    after: bool,
    temporary: Option<bool>,
    operation: Option<String>,
    resource: Option<String>,
    times: u32,
}

impl Fault {
    /// Fails the next matching call with an error of `kind` (temporary as the kind is by default).
    pub fn error(kind: ErrorKind) -> Self {
        Self {
            kind,
            after: false,
            temporary: None,
            operation: None,
            resource: None,
            times: 1,
        }
    }

    /// The next matching call takes effect, but its response is lost: the caller gets a
    /// temporary [`ErrorKind::Timeout`], as when a connection drops after the service acted.
    /// The case retries must not turn into a second effect.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use cloudport_core::{ErrorKind, RetryPolicy};
    /// use cloudport_memory::{Fault, Memory};
    /// let memory = Memory::new();
    /// let queue = memory.queue("orders").with_retry(RetryPolicy::none());
    /// memory.faults().inject(Fault::response_lost().on_operation("queue.send"));
    /// let err = queue.send("hello").await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Timeout);
    /// assert_eq!(memory.queue_driver("orders").len(), 1); // sent all the same
    /// # }
    /// ```
    pub fn response_lost() -> Self {
        Self {
            after: true,
            ..Self::error(ErrorKind::Timeout)
        }
    }

    /// Only calls whose operation starts with this (`"kv"`, `"queue.send"`, `"blob.get"`, …).
    ///
    /// [`ENTRY_SEND`] (`"queue.send.entry"`, named exactly) instead fails single messages inside a
    /// batch send whose call succeeds, as SQS reports failed entries of `SendMessageBatch`.
    pub fn on_operation(mut self, operation: impl Into<String>) -> Self {
        self.operation = Some(operation.into());
        self
    }

    /// Only calls on the resource of this name.
    pub fn on_resource(mut self, name: impl Into<String>) -> Self {
        self.resource = Some(name.into());
        self
    }

    /// Fails this many matching calls (default 1).
    pub fn times(mut self, n: u32) -> Self {
        self.times = n;
        self
    }

    /// Overrides whether the error is temporary.
    pub fn temporary(mut self, temporary: bool) -> Self {
        self.temporary = Some(temporary);
        self
    }

    fn matches_exactly(&self, operation: &str, resource: &str) -> bool {
        self.times > 0
            && !self.after
            && self.operation.as_deref() == Some(operation)
            && self.resource.as_deref().is_none_or(|r| r == resource)
    }

    fn matches(&self, operation: &str, resource: &str) -> bool {
        self.times > 0
            && self
                .operation
                .as_deref()
                .is_none_or(|o| operation.starts_with(o))
            && self.resource.as_deref().is_none_or(|r| r == resource)
    }
}

/// The operation of a fault that fails one message of a batch send, not the call.
pub const ENTRY_SEND: &str = "queue.send.entry";

/// The faults of a memory world, shared by all its resources.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    faults: Vec<Fault>,
    latency: Option<Duration>,
}

impl Faults {
    /// Adds a fault.
    pub fn inject(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    /// Delays every call by `latency` (`None`: no delay).
    pub fn set_latency(&self, latency: Option<Duration>) {
        self.lock().latency = latency;
    }

    /// Removes every fault and the latency.
    pub fn clear(&self) {
        *self.lock() = State::default();
    }

    /// How many injected failures are still to happen (at most `u32::MAX`).
    pub fn pending(&self) -> u32 {
        self.lock()
            .faults
            .iter()
            .fold(0u32, |n, f| n.saturating_add(f.times))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Fails one entry of a batch if a fault names exactly `operation` (consuming one time).
    pub(crate) fn check_entry(&self, operation: &str, resource: &str) -> Result<()> {
        self.fail_first(operation, |f| f.matches_exactly(operation, resource))
    }

    /// Applies latency, then fails if a fault matches (consuming one of its times).
    pub(crate) async fn check(&self, operation: &str, resource: &str) -> Result<()> {
        let latency = self.lock().latency;
        if let Some(d) = latency {
            tokio::time::sleep(d).await;
        }
        self.fail_first(operation, |f| !f.after && f.matches(operation, resource))
    }

    /// After a call took effect: `result`, unless a [`Fault::response_lost`] matches, which
    /// turns a success into the error of a lost response.
    pub(crate) fn settle<T>(
        &self,
        operation: &str,
        resource: &str,
        result: Result<T>,
    ) -> Result<T> {
        let value = result?;
        self.fail_first(operation, |f| f.after && f.matches(operation, resource))?;
        Ok(value)
    }

    /// Fails with the first fault `matches` picks, consuming one of its times.
    fn fail_first(&self, operation: &str, matches: impl Fn(&Fault) -> bool) -> Result<()> {
        let mut state = self.lock();
        let Some(fault) = state.faults.iter_mut().find(|f| matches(f)) else {
            return Ok(());
        };
        fault.times -= 1;
        let what = if fault.after {
            "injected fault: the response was lost"
        } else {
            "injected fault"
        };
        let mut err = Error::new(fault.kind, format!("{what} on {operation}"));
        if let Some(t) = fault.temporary {
            err = err.temporary(t);
        }
        state.faults.retain(|f| f.times > 0);
        Err(err)
    }
}
