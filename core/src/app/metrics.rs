//! Per-trigger invocation metrics, kept in process: count, errors, cold starts, durations.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use super::Trigger;

/// What one trigger's invocations add up to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TriggerMetrics {
    /// Invocations handled (successes and failures).
    pub invocations: u64,
    /// Invocations that failed (errors and panics).
    pub errors: u64,
    /// Invocations that were their process's first.
    pub cold_starts: u64,
    /// Time spent in handlers, in total.
    pub total_duration: Duration,
    /// The longest invocation.
    pub max_duration: Duration,
}

/// One finished invocation, as a metrics sink sees it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InvocationRecord {
    /// The trigger that was invoked.
    pub trigger: Trigger,
    /// How long the handler took.
    pub duration: Duration,
    /// Whether it failed.
    pub failed: bool,
    /// Whether it was the process's first invocation.
    pub cold_start: bool,
    /// The trace it belonged to (32 hex digits).
    pub trace_id: Option<String>,
}

impl InvocationRecord {
    /// A record (sinks are usually handed these; tests build them).
    pub fn new(
        trigger: Trigger,
        duration: Duration,
        failed: bool,
        cold_start: bool,
        trace_id: Option<String>,
    ) -> Self {
        Self {
            trigger,
            duration,
            failed,
            cold_start,
            trace_id,
        }
    }
}

/// Receives every finished invocation (to print CloudWatch EMF, say).
pub type MetricsSink = std::sync::Arc<dyn Fn(&InvocationRecord) + Send + Sync>;

/// A snapshot of an app's metrics, by trigger.
pub type MetricsSnapshot = BTreeMap<Trigger, TriggerMetrics>;

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    by_trigger: Mutex<MetricsSnapshot>,
}

impl Metrics {
    pub(crate) fn record(&self, trigger: &Trigger, took: Duration, failed: bool, cold: bool) {
        let mut all = self
            .by_trigger
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // One look-up on the common path; the trigger is cloned only the first time.
        let m = match all.get_mut(trigger) {
            Some(m) => m,
            None => all.entry(trigger.clone()).or_default(),
        };
        m.invocations += 1;
        m.errors += u64::from(failed);
        m.cold_starts += u64::from(cold);
        m.total_duration += took;
        m.max_duration = m.max_duration.max(took);
    }

    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        self.by_trigger
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}
