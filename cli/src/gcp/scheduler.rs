//! Schedules: a Cloud Scheduler job per schedule, `<service>-<schedule>`, in UTC, calling the
//! service's `/_cloudport/schedule/<name>` with the scheduler account's OIDC token (the Cloud Run
//! host maps the path to the schedule; `adapters/src/cloudrun/host.rs`). Expressions are
//! converted from cloudport's six-field cron (seconds first, the `cron` crate's reading) or
//! interval to unix cron, which Cloud Scheduler takes (source:
//! <https://cloud.google.com/scheduler/docs/configuring/cron-job-schedules>).

use serde_json::json;

use super::names::reference;
use super::{Model, Tf};
use crate::{Error, Result};

/// The time zone of every job: cloudport schedules are UTC.
pub const TIME_ZONE: &str = "Etc/UTC";

fn err(expr: &str, detail: impl Into<String>) -> Error {
    crate::cron::unsupported(expr, detail)
}

/// Unix cron (`min hour day-of-month month day-of-week`) for a six-field cron expression
/// (`sec min hour day-of-month month day-of-week`).
///
/// Cloud Scheduler fires on whole minutes, so seconds must be `0`; `?` becomes `*`; day-of-week
/// numbers are re-counted (the `cron` crate's 1 = Sunday … 7 = Saturday become unix cron's 0–6)
/// and day and month names become numbers; restricting both day-of-month and day-of-week is
/// refused (the `cron` crate requires both to match, unix cron either).
///
/// ```
/// use cloudport_cli::gcp::scheduler::unix_cron;
/// assert_eq!(unix_cron("0 0 3 * * *").unwrap(), "0 3 * * *");
/// assert_eq!(unix_cron("0 30 9 * * Mon-Fri").unwrap(), "30 9 * * 1-5");
/// assert_eq!(unix_cron("0 */15 * * Jan,Jul ?").unwrap(), "*/15 * * 1,7 *");
/// assert!(unix_cron("30 * * * * *").is_err());
/// ```
pub fn unix_cron(expr: &str) -> Result<String> {
    let crate::cron::MinuteFields {
        min,
        hour,
        dom,
        month,
        dow,
    } = crate::cron::minute_fields(expr, "Cloud Scheduler")?;
    let any = |f: &str| f == "*" || f == "?";
    if !any(dom) && !any(dow) {
        return Err(err(
            expr,
            "unix cron fires when either day-of-month or day-of-week matches, cloudport when both do; set one to *",
        ));
    }
    let min = field(expr, min, &[], 0)?;
    let hour = field(expr, hour, &[], 0)?;
    let dom = field(expr, dom, &[], 0)?;
    let month = field(expr, month, MONTHS, 0)?;
    let dow = field(expr, dow, DAYS, 1)?;
    Ok(format!("{min} {hour} {dom} {month} {dow}"))
}

const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// One field: `*`/`?`, lists, ranges, steps; names (by their first three letters) become
/// numbers (`names[0]` is 1 for months, 0 after the day shift); numbers go down by `shift`.
fn field(expr: &str, f: &str, names: &[&str], shift: u32) -> Result<String> {
    let items: Result<Vec<String>> = f
        .split(',')
        .map(|item| {
            let (range, step) = match item.split_once('/') {
                Some((r, s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                    (r, Some(s))
                }
                Some(_) => return Err(err(expr, format!("bad step in {item:?}"))),
                None => (item, None),
            };
            let range = if range == "*" || range == "?" {
                "*".to_owned()
            } else {
                let ends: Result<Vec<String>> = range
                    .split('-')
                    .map(|v| value(expr, v, names, shift))
                    .collect();
                ends?.join("-")
            };
            Ok(match step {
                Some(s) => format!("{range}/{s}"),
                None => range,
            })
        })
        .collect();
    Ok(items?.join(","))
}

fn value(expr: &str, v: &str, names: &[&str], shift: u32) -> Result<String> {
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        let n: u32 = v
            .parse()
            .map_err(|_| err(expr, format!("bad number {v:?}")))?;
        return n
            .checked_sub(shift)
            .map(|n| n.to_string())
            .ok_or_else(|| err(expr, format!("{v} is out of range")));
    }
    let lower = v.to_ascii_lowercase();
    let position = names
        .iter()
        .position(|n| lower.len() >= 3 && lower.starts_with(n))
        .ok_or_else(|| err(expr, format!("unknown value {v:?}")))?;
    // Months count from 1; days (after the shift) from 0.
    let first = if shift == 0 { 1 } else { 0 };
    Ok((position + first).to_string())
}

/// Unix cron for an interval: whole minutes that divide an hour, or whole hours that divide a
/// day (unix cron's steps restart each hour or day, so other intervals would drift).
///
/// ```
/// use cloudport_cli::gcp::scheduler::interval_cron;
/// assert_eq!(interval_cron(300).unwrap(), "*/5 * * * *");
/// assert_eq!(interval_cron(60).unwrap(), "* * * * *");
/// assert_eq!(interval_cron(7200).unwrap(), "0 */2 * * *");
/// assert_eq!(interval_cron(86400).unwrap(), "0 0 * * *");
/// assert!(interval_cron(90).is_err());
/// assert!(interval_cron(420).is_err());
/// ```
pub fn interval_cron(every_seconds: u64) -> Result<String> {
    let refuse = |why: &str| {
        Error::unsupported(
            format!("schedule interval of {every_seconds} s"),
            format!(
                "{why}; Cloud Scheduler takes unix cron: use an interval of whole minutes dividing an hour (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 min), whole hours dividing a day, or one day — or a cron expression"
            ),
        )
    };
    if every_seconds == 0 || !every_seconds.is_multiple_of(60) {
        return Err(refuse("it is not a whole number of minutes"));
    }
    let minutes = every_seconds / 60;
    Ok(match minutes {
        1 => "* * * * *".to_owned(),
        m if m < 60 && 60_u64.is_multiple_of(m) => format!("*/{m} * * * *"),
        60 => "0 * * * *".to_owned(),
        m if m.is_multiple_of(60) && m < 1440 && 1440_u64.is_multiple_of(m) => {
            format!("0 */{} * * *", m / 60)
        }
        1440 => "0 0 * * *".to_owned(),
        _ => return Err(refuse("it does not divide an hour or a day evenly")),
    })
}

/// Adds a job per schedule.
pub fn add(m: &Model<'_>, t: &mut Tf) -> Result<()> {
    for s in &m.app.schedules {
        let schedule = match (&s.cron, s.every_seconds) {
            (Some(c), _) => unix_cron(c)?,
            (None, Some(every)) => interval_cron(every)?,
            (None, None) => {
                return Err(Error::Description(format!(
                    "schedule {:?} has neither a cron expression nor an interval",
                    s.name
                )));
            }
        };
        let uri = format!(
            "{}/_cloudport/schedule/{}",
            reference("google_cloud_run_v2_service", "service", "uri"),
            s.name
        );
        t.resource(
            "google_cloud_scheduler_job",
            &super::names::local("schedule", &s.name),
            json!({
                "name": format!("{}-{}", m.service, s.name),
                "project": "${var.project}",
                "region": "${var.region}",
                "description": format!("cloudport schedule {:?} of {}", s.name, m.service),
                "schedule": schedule,
                "time_zone": TIME_ZONE,
                // Cloud Scheduler waits 15 s to 30 min for an HTTP target's answer.
                "attempt_deadline": format!("{}s", m.timeout_seconds().clamp(15, 1800)),
                "retry_config": { "retry_count": 1, "min_backoff_duration": "10s" },
                "http_target": {
                    "http_method": "POST",
                    "uri": uri,
                    "oidc_token": {
                        "service_account_email": reference("google_service_account", "scheduler", "email"),
                        // The service's URL: what Cloud Run's IAM check and the host both accept.
                        "audience": reference("google_cloud_run_v2_service", "service", "uri"),
                    }
                }
            }),
        );
    }
    Ok(())
}
