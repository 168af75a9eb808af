//! What the current invocation knows about itself: its deadline, id and trigger, and whether it
//! is the process's first (a cold start). Hosts set it; retries and function code read it.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::time::Instant;

/// The invocation a task is running, if any.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct InvocationContext {
    /// When the platform stops the invocation.
    pub deadline: Option<Instant>,
    /// The platform's request id (or the event id).
    pub invocation_id: String,
    /// Whether this is the first invocation of the process.
    pub cold_start: bool,
    /// The trace this invocation is part of.
    pub trace: Option<crate::trace::TraceContext>,
}

impl InvocationContext {
    /// A context with this id and deadline; `cold_start` is filled in when it runs.
    pub fn new(invocation_id: impl Into<String>, deadline: Option<Instant>) -> Self {
        Self {
            deadline,
            invocation_id: invocation_id.into(),
            cold_start: false,
            trace: None,
        }
    }

    /// Sets the trace (from the platform's trace header, say).
    pub fn with_trace(mut self, trace: Option<crate::trace::TraceContext>) -> Self {
        self.trace = trace;
        self
    }
}

tokio::task_local! {
    static CURRENT: InvocationContext;
}

static STARTED: AtomicBool = AtomicBool::new(false);

/// Marks the first call of the process: `true` once, then `false`.
pub(crate) fn first_invocation() -> bool {
    !STARTED.swap(true, Ordering::Relaxed)
}

/// Runs `fut` as the invocation `ctx`. A plain wrapper (no `async fn` layer of its own), so the
/// future is not copied once more on every poll path.
pub fn scope<F: Future>(ctx: InvocationContext, fut: F) -> impl Future<Output = F::Output> {
    CURRENT.scope(ctx, fut)
}

/// Spawns a task that runs inside the current invocation's context (deadline, trace), which a plain
/// `tokio::spawn` would lose.
pub fn spawn<F>(fut: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match current() {
        Some(ctx) => tokio::spawn(CURRENT.scope(ctx, fut)),
        None => tokio::spawn(fut),
    }
}

/// The current invocation, if the task runs one.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use cloudport_core::context::{self, InvocationContext};
/// assert!(context::current().is_none());
/// context::scope(InvocationContext::new("req-1", None), async {
///     assert_eq!(context::current().unwrap().invocation_id, "req-1");
/// }).await;
/// # }
/// ```
pub fn current() -> Option<InvocationContext> {
    CURRENT.try_with(Clone::clone).ok()
}

/// The current invocation's deadline, if any.
pub fn deadline() -> Option<Instant> {
    CURRENT.try_with(|c| c.deadline).ok().flatten()
}

/// Time left before the deadline, if there is one.
pub fn remaining() -> Option<std::time::Duration> {
    deadline().map(|d| d.saturating_duration_since(Instant::now()))
}
