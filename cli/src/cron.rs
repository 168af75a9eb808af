//! cloudport's six-field cron (`sec min hour day-of-month month day-of-week`, UTC, the `cron`
//! crate's reading) split for schedulers that fire on whole minutes (EventBridge, Cloud
//! Scheduler): the one place that checks the shape and the seconds.

use crate::{Error, Result};

/// The five minute-level fields of a cron expression whose seconds are `0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinuteFields<'a> {
    /// Minutes.
    pub min: &'a str,
    /// Hours.
    pub hour: &'a str,
    /// Day of the month.
    pub dom: &'a str,
    /// Month.
    pub month: &'a str,
    /// Day of the week (1 = Sunday … 7 = Saturday, or names).
    pub dow: &'a str,
}

/// The error of a cron expression `expr` a platform cannot take.
pub fn unsupported(expr: &str, detail: impl Into<String>) -> Error {
    Error::unsupported(format!("schedule cron {expr:?}"), detail)
}

/// Splits `expr` into its minute-level fields; `platform` names the scheduler in the error when
/// the seconds are not `0`.
///
/// ```
/// use cloudport_cli::cron::minute_fields;
/// let f = minute_fields("0 30 9 * * Mon-Fri", "EventBridge").unwrap();
/// assert_eq!((f.min, f.hour, f.dow), ("30", "9", "Mon-Fri"));
/// assert!(minute_fields("30 * * * * *", "EventBridge").unwrap_err().to_string().contains("EventBridge"));
/// assert!(minute_fields("* * * * *", "EventBridge").is_err());
/// ```
pub fn minute_fields<'a>(expr: &'a str, platform: &str) -> Result<MinuteFields<'a>> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let [sec, min, hour, dom, month, dow] = fields.as_slice() else {
        return Err(unsupported(
            expr,
            "expected six fields: sec min hour day-of-month month day-of-week",
        ));
    };
    if !matches!(*sec, "0" | "00") {
        return Err(unsupported(
            expr,
            format!("{platform} schedules fire on whole minutes: the seconds field must be 0"),
        ));
    }
    Ok(MinuteFields {
        min,
        hour,
        dom,
        month,
        dow,
    })
}
