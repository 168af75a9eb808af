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

/// How many event types (`Trigger::Event`) are counted apart; further ones are counted together
/// under [`OTHER_EVENT_TYPES`].
pub const MAX_EVENT_TYPES: usize = 100;

/// The event type the types past [`MAX_EVENT_TYPES`] are counted under.
pub const OTHER_EVENT_TYPES: &str = "(other event types)";

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
        // One look-up on the common path; the trigger is cloned only the first time. Event types
        // come from outside (a caller, an S3 event name): past `MAX_EVENT_TYPES` of them, the
        // rest are counted together, so the map cannot grow without bound.
        let m = match all.get_mut(trigger) {
            Some(m) => m,
            None => {
                let key = match trigger {
                    Trigger::Event(_)
                        if all
                            .keys()
                            .filter(|t| matches!(t, Trigger::Event(_)))
                            .count()
                            >= MAX_EVENT_TYPES =>
                    {
                        Trigger::Event(OTHER_EVENT_TYPES.to_owned())
                    }
                    _ => trigger.clone(),
                };
                all.entry(key).or_default()
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_from_outside_cannot_grow_the_metrics_without_bound() {
        let m = Metrics::default();
        for i in 0..(MAX_EVENT_TYPES + 50) {
            m.record(
                &Trigger::Event(format!("type-{i}")),
                Duration::ZERO,
                false,
                false,
            );
        }
        m.record(
            &Trigger::Event("type-0".into()),
            Duration::ZERO,
            false,
            false,
        );
        let snapshot = m.snapshot();
        assert_eq!(snapshot.len(), MAX_EVENT_TYPES + 1);
        assert_eq!(snapshot[&Trigger::Event("type-0".into())].invocations, 2);
        assert_eq!(
            snapshot[&Trigger::Event(OTHER_EVENT_TYPES.into())].invocations,
            50
        );
    }
}
