//! Carrying one invocation into its handler: routing, typed views, panics.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use cloudevents::AttributesReader;
use futures::FutureExt;

use crate::event::{Event, EventData};
use crate::{Env, Error, ErrorKind, Result};

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A stored handler of events with data view `T`.
pub(crate) type Handler<T> = Arc<dyn Fn(Event<T>, Env) -> BoxFuture<Result<()>> + Send + Sync>;

pub(crate) fn boxed<T, F, Fut>(f: F) -> Handler<T>
where
    T: EventData,
    F: Fn(Event<T>, Env) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    Arc::new(move |event, env| Box::pin(f(event, env)))
}

/// Runs a handler on a CloudEvent: builds the typed view (a malformed event fails the invocation
/// with `Malformed`), and turns a panic into an `ErrorKind::Handler` error.
pub(crate) async fn invoke<T: EventData>(
    handler: &Handler<T>,
    cloudevent: cloudevents::Event,
    env: Env,
) -> Result<()> {
    let id = cloudevent.id().to_owned();
    let event = Event::<T>::try_from(cloudevent)?;
    // The call itself sits inside the guarded future: a handler whose synchronous part panics
    // is caught too.
    match AssertUnwindSafe(async move { handler(event, env).await })
        .catch_unwind()
        .await
    {
        Ok(result) => result,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a non-string payload".to_owned());
            let what = crate::redact::redact(&what).into_owned();
            tracing::error!(event_id = %id, panic = %what, "handler panicked");
            Err(
                Error::new(ErrorKind::Handler, format!("handler panicked: {what}"))
                    .with_resource(id),
            )
        }
    }
}

/// One failed message of a queue batch.
#[derive(Debug)]
#[non_exhaustive]
pub struct BatchFailure {
    /// The message's position in the batch.
    pub index: usize,
    /// The message (event) id.
    pub id: String,
    /// Why it failed.
    pub error: Error,
}

/// The outcome of a queue batch: which messages failed. Hosts report these to the platform
/// (SQS `batchItemFailures`, a Pub/Sub non-2xx, an Azure failed invocation) so only they return.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct BatchOutcome {
    /// Messages whose handler failed, in batch order.
    pub failures: Vec<BatchFailure>,
}

impl BatchOutcome {
    /// Whether every message succeeded.
    pub fn is_success(&self) -> bool {
        self.failures.is_empty()
    }

    /// The positions of the failed messages in the batch.
    pub fn failed_indexes(&self) -> impl Iterator<Item = usize> + '_ {
        self.failures.iter().map(|f| f.index)
    }

    /// The ids of the failed messages.
    pub fn failed_ids(&self) -> impl Iterator<Item = &str> {
        self.failures.iter().map(|f| f.id.as_str())
    }
}
