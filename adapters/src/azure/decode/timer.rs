//! Timer-trigger invocations: the portable schedule tick.

use chrono::Utc;
use cloudport_core::Result;
use cloudport_core::event::ScheduleTick;
use cloudport_core::export::cloudevents;
use serde_json::Value;

use super::{Invocation, malformed, unwrap_encoded};

/// A timer-trigger invocation as the portable tick of schedule `schedule`
/// (`io.cloudport.schedule.tick.v1`), due at the host's `sys.UtcNow` (now when absent). The
/// `TimerInfo` in `Data` (`Schedule`, `ScheduleStatus`, `IsPastDue`) must be an object; its
/// `IsPastDue` is logged.
///
/// ```
/// use cloudport_adapters::azure::decode::{Invocation, timer_event};
/// use cloudport_core::event::{Event, ScheduleTick};
/// let inv = Invocation::parse(br#"{"Data":{"timer":{"Schedule":{"AdjustForDST":true},"IsPastDue":false}},
///     "Metadata":{"sys":{"MethodName":"schedule-nightly","UtcNow":"2026-11-26T03:00:00.0123Z"}}}"#).unwrap();
/// let ev = Event::<ScheduleTick>::try_from(timer_event(&inv, "timer", "nightly", "azure-functions:schedule-nightly").unwrap()).unwrap();
/// assert_eq!(ev.data().schedule, "nightly");
/// assert_eq!(ev.data().scheduled_time.to_rfc3339(), "2026-11-26T03:00:00.012300+00:00");
/// ```
pub fn timer_event(
    inv: &Invocation,
    binding: &str,
    schedule: &str,
    source: &str,
) -> Result<cloudevents::Event> {
    let info: Value = serde_json::from_str(inv.data(binding)?.get())?;
    let info = match unwrap_encoded(&info) {
        Value::Object(o) => o,
        _ => {
            return Err(malformed(
                "the timer invocation's Data is not a TimerInfo object",
            ));
        }
    };
    if info
        .get("IsPastDue")
        .is_some_and(|v| unwrap_encoded(v) == Value::Bool(true))
    {
        tracing::warn!(schedule, "the timer tick is past due");
    }
    let time = inv.host_now().unwrap_or_else(Utc::now);
    let id = format!("{schedule}-{}", time.timestamp_micros());
    Ok(ScheduleTick::new(schedule, time).to_cloudevent(source, &id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudport_core::ErrorKind;
    use cloudport_core::event::{Event, SCHEDULE_TICK, ScheduleTick as Tick};

    #[test]
    fn timer_payloads_become_ticks() {
        let payload = r#"{
          "Data": { "timer": { "Schedule": { "AdjustForDST": true },
            "ScheduleStatus": { "Last": "2026-11-26T02:55:00+00:00", "Next": "2026-11-26T03:05:00+00:00",
                                "LastUpdated": "2026-11-26T02:55:00+00:00" },
            "IsPastDue": false } },
          "Metadata": { "sys": { "MethodName": "schedule-nightly", "UtcNow": "2026-11-26T03:00:00Z",
                                 "RandGuid": "r" } }
        }"#;
        let inv = Invocation::parse(payload.as_bytes()).unwrap();
        let ce = timer_event(&inv, "timer", "nightly", "azure-functions:schedule-nightly").unwrap();
        assert_eq!(cloudevents::AttributesReader::ty(&ce), SCHEDULE_TICK);
        let tick = Event::<Tick>::try_from(ce).unwrap();
        assert_eq!(tick.data().schedule, "nightly");
        assert_eq!(
            tick.data().scheduled_time.to_rfc3339(),
            "2026-11-26T03:00:00+00:00"
        );
        // A TimerInfo JSON-encoded into a string is read too; a scalar is not a TimerInfo.
        let encoded =
            Invocation::parse(br#"{"Data":{"timer":"{\"IsPastDue\":true}"},"Metadata":{}}"#)
                .unwrap();
        assert!(timer_event(&encoded, "timer", "n", "s").is_ok());
        let scalar = Invocation::parse(br#"{"Data":{"timer":"5"},"Metadata":{}}"#).unwrap();
        assert_eq!(
            timer_event(&scalar, "timer", "n", "s").unwrap_err().kind(),
            ErrorKind::Malformed
        );
    }
}
