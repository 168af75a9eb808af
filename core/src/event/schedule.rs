//! Schedule ticks.

use chrono::{DateTime, Utc};
use cloudevents::{EventBuilder, EventBuilderV10};
use serde::{Deserialize, Serialize};

use super::{EventData, SCHEDULE_TICK, data_json, expect_type};
use crate::Result;

/// A schedule fired.
///
/// As a CloudEvent: `type` [`SCHEDULE_TICK`], `subject` the schedule name, data
/// `{"schedule", "scheduledTime"}`.
///
/// ```
/// use cloudport_core::event::{Event, ScheduleTick};
/// let tick = ScheduleTick::new("nightly", chrono::Utc::now());
/// let event: Event<ScheduleTick> = Event::try_from(tick.to_cloudevent("local", "t-1")).unwrap();
/// assert_eq!(event.data().schedule, "nightly");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ScheduleTick {
    /// The logical schedule name.
    pub schedule: String,
    /// When the tick was due.
    pub scheduled_time: DateTime<Utc>,
}

impl ScheduleTick {
    /// A tick of `schedule` due at `scheduled_time`.
    pub fn new(schedule: impl Into<String>, scheduled_time: DateTime<Utc>) -> Self {
        Self {
            schedule: schedule.into(),
            scheduled_time,
        }
    }

    /// The portable CloudEvent of this tick.
    pub fn to_cloudevent(&self, source: &str, id: &str) -> cloudevents::Event {
        EventBuilderV10::new()
            .id(super::or_unknown(id.to_owned()))
            .ty(SCHEDULE_TICK)
            .source(super::or_unknown(source.to_owned()))
            .subject(self.schedule.clone())
            .time(self.scheduled_time)
            .data(
                "application/json",
                serde_json::to_value(self).unwrap_or_default(),
            )
            .build()
            .unwrap_or_default()
    }
}

impl EventData for ScheduleTick {
    fn from_cloudevent(event: &cloudevents::Event) -> Result<Self> {
        expect_type(event, &[SCHEDULE_TICK])?;
        data_json(event)
    }
}
