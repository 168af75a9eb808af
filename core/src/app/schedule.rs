//! When a schedule fires.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{Error, Result};

/// A schedule: a fixed interval, or a cron expression.
///
/// Cron expressions have six fields with seconds first — `sec min hour day-of-month month
/// day-of-week` — as Azure Functions (NCRONTAB) and the `cron` crate read them; a five-field Unix
/// expression is taken with `0` seconds. Times are UTC.
///
/// ```
/// use cloudport_core::Schedule;
/// use std::time::Duration;
///
/// let nightly = Schedule::cron("0 0 3 * * *");
/// assert!(nightly.validate().is_ok());
/// let t = "2026-11-26T10:00:00Z".parse().unwrap();
/// assert_eq!(nightly.next_after(t).unwrap().to_rfc3339(), "2026-11-27T03:00:00+00:00");
///
/// let five_field = Schedule::cron("*/15 * * * *");
/// assert_eq!(five_field.cron_expression().unwrap(), "0 */15 * * * *");
/// assert!(Schedule::cron("not cron").validate().is_err());
/// assert!(Schedule::every(Duration::from_secs(60)).validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Every so often, starting one interval after the host starts.
    Every(Duration),
    /// At the times a cron expression names.
    Cron(String),
}

/// `every 60s` or `cron 0 0 3 * * *`, for start-up lines and logs.
///
/// ```
/// use cloudport_core::Schedule;
/// assert_eq!(Schedule::every(std::time::Duration::from_secs(60)).to_string(), "every 60s");
/// assert_eq!(Schedule::cron("*/15 * * * *").to_string(), "cron 0 */15 * * * *");
/// ```
impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Every(d) => write!(f, "every {d:?}"),
            Self::Cron(expr) => write!(f, "cron {}", normalize(expr)),
        }
    }
}

impl Schedule {
    /// Fires every `interval` (at least one second).
    pub fn every(interval: Duration) -> Self {
        Self::Every(interval)
    }

    /// Fires at the times of a cron expression (checked by [`Schedule::validate`]).
    pub fn cron(expression: impl Into<String>) -> Self {
        Self::Cron(expression.into())
    }

    /// The six-field cron expression, for cron schedules.
    pub fn cron_expression(&self) -> Option<String> {
        match self {
            Self::Every(_) => None,
            Self::Cron(expr) => Some(normalize(expr)),
        }
    }

    /// Checks the schedule; a bad expression or an interval under a second is `InvalidArgument`.
    pub fn validate(&self) -> Result<()> {
        match self {
            Self::Every(d) if *d < Duration::from_secs(1) => Err(Error::invalid(format!(
                "schedule interval {d:?} is under one second"
            ))),
            Self::Every(d) if *d > Duration::from_secs(366 * 24 * 3600) => Err(Error::invalid(
                format!("schedule interval {d:?} is over a year; use a cron expression"),
            )),
            Self::Every(_) => Ok(()),
            Self::Cron(expr) => parse(expr).map(|_| ()),
        }
    }

    /// The first time after `t` the schedule fires; `None` if never (or invalid).
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Every(d) => chrono::Duration::from_std(*d)
                .ok()
                .and_then(|d| t.checked_add_signed(d)),
            Self::Cron(expr) => parse(expr).ok()?.after(&t).next(),
        }
    }
}

fn normalize(expr: &str) -> String {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if fields.len() == 5 {
        format!("0 {}", fields.join(" "))
    } else {
        fields.join(" ")
    }
}

fn parse(expr: &str) -> Result<cron::Schedule> {
    let normalized = normalize(expr);
    if normalized.split(' ').count() != 6 {
        return Err(Error::invalid(format!(
            "cron expression {expr:?} must have 6 fields (sec min hour day month weekday) or 5"
        )));
    }
    cron::Schedule::from_str(&normalized)
        .map_err(|e| Error::invalid(format!("cron expression {expr:?} is invalid: {e}")))
}
