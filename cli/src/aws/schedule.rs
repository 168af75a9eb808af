//! Schedules: an `AWS::Events::Rule` per schedule, named `<stack>-<schedule>` (the Lambda host
//! maps a scheduled event to the schedule whose name ends the rule name), with its
//! `Lambda::Permission`. Expressions are converted from cloudport's six-field cron (seconds first,
//! UTC, the `cron` crate's reading) or interval to EventBridge's `cron(...)` / `rate(...)`.

use serde_json::json;

use super::{Model, Template};
use crate::{Error, Result};

/// EventBridge's limit on rule names.
pub const MAX_RULE_NAME: usize = 64;

fn err(what: &str, detail: impl Into<String>) -> Error {
    crate::cron::unsupported(what, detail)
}

/// EventBridge's `cron(min hour day-of-month month day-of-week year)` for a six-field cron
/// expression `sec min hour day-of-month month day-of-week`.
///
/// EventBridge fires on whole minutes, so seconds must be `0`; one of day-of-month and
/// day-of-week must be `?` (a field left `*` becomes `?`; both set is refused — EventBridge cannot
/// say "and"); day-of-week numbers mean the same (1 = Sunday … 7 = Saturday, the `cron` crate's
/// reading); names become EventBridge's three-letter upper-case ones; `*/n` becomes `first/n`.
///
/// ```
/// use cloudport_cli::aws::schedule::eventbridge_cron;
/// assert_eq!(eventbridge_cron("0 0 3 * * *").unwrap(), "cron(0 3 * * ? *)");
/// assert_eq!(eventbridge_cron("0 30 9 * * Mon-Fri").unwrap(), "cron(30 9 ? * MON-FRI *)");
/// assert!(eventbridge_cron("30 * * * * *").is_err());
/// ```
pub fn eventbridge_cron(expr: &str) -> Result<String> {
    let crate::cron::MinuteFields {
        min,
        hour,
        dom,
        month,
        dow,
    } = crate::cron::minute_fields(expr, "EventBridge")?;
    let min = field(expr, min, 0, &[])?;
    let hour = field(expr, hour, 0, &[])?;
    let month = field(expr, month, 1, MONTHS)?;
    let (dom, dow) = match (is_any(dom), is_any(dow)) {
        (true, true) => ("*".to_owned(), "?".to_owned()),
        (true, false) => ("?".to_owned(), field(expr, dow, 1, DAYS)?),
        (false, true) => (field(expr, dom, 1, &[])?, "?".to_owned()),
        (false, false) => {
            return Err(err(
                expr,
                "EventBridge cannot restrict both day-of-month and day-of-week; set one to *",
            ));
        }
    };
    Ok(format!("cron({min} {hour} {dom} {month} {dow} *)"))
}

fn is_any(f: &str) -> bool {
    f == "*" || f == "?"
}

const MONTHS: &[(&str, &str)] = &[
    ("january", "JAN"),
    ("february", "FEB"),
    ("march", "MAR"),
    ("april", "APR"),
    ("may", "MAY"),
    ("june", "JUN"),
    ("july", "JUL"),
    ("august", "AUG"),
    ("september", "SEP"),
    ("october", "OCT"),
    ("november", "NOV"),
    ("december", "DEC"),
];

const DAYS: &[(&str, &str)] = &[
    ("sunday", "SUN"),
    ("monday", "MON"),
    ("tuesday", "TUE"),
    ("tues", "TUE"),
    ("wednesday", "WED"),
    ("thursday", "THU"),
    ("thurs", "THU"),
    ("friday", "FRI"),
    ("saturday", "SAT"),
];

/// One field: lists, ranges, steps, numbers and names, re-spelt for EventBridge.
fn field(expr: &str, f: &str, first: u32, names: &[(&str, &str)]) -> Result<String> {
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
            let range = if range == "*" {
                match step {
                    Some(_) => first.to_string(),
                    None => "*".to_owned(),
                }
            } else {
                let ends: Result<Vec<String>> =
                    range.split('-').map(|v| value(expr, v, names)).collect();
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

fn value(expr: &str, v: &str, names: &[(&str, &str)]) -> Result<String> {
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(v.to_owned());
    }
    let lower = v.to_ascii_lowercase();
    names
        .iter()
        .find(|(long, short)| lower == *long || lower == short.to_ascii_lowercase())
        .map(|(_, short)| (*short).to_owned())
        .ok_or_else(|| {
            err(
                expr,
                format!("{v:?} is not a value EventBridge cron accepts here"),
            )
        })
}

/// EventBridge's `rate(...)` for an interval: a whole number of minutes, in the largest unit
/// that divides it.
///
/// ```
/// use cloudport_cli::aws::schedule::eventbridge_rate;
/// assert_eq!(eventbridge_rate(60).unwrap(), "rate(1 minute)");
/// assert_eq!(eventbridge_rate(300).unwrap(), "rate(5 minutes)");
/// assert_eq!(eventbridge_rate(7200).unwrap(), "rate(2 hours)");
/// assert_eq!(eventbridge_rate(86400).unwrap(), "rate(1 day)");
/// assert!(eventbridge_rate(90).is_err());
/// ```
pub fn eventbridge_rate(every_seconds: u64) -> Result<String> {
    if every_seconds == 0 || !every_seconds.is_multiple_of(60) {
        return Err(Error::unsupported(
            format!("schedule every {every_seconds} s"),
            "EventBridge rates are whole minutes (at least one): use a multiple of 60 seconds",
        ));
    }
    let minutes = every_seconds / 60;
    let (n, unit) = if minutes.is_multiple_of(1440) {
        (minutes / 1440, "day")
    } else if minutes.is_multiple_of(60) {
        (minutes / 60, "hour")
    } else {
        (minutes, "minute")
    };
    let plural = if n == 1 { "" } else { "s" };
    Ok(format!("rate({n} {unit}{plural})"))
}

/// The schedule expression of a description's schedule.
pub fn expression(name: &str, cron: Option<&str>, every_seconds: Option<u64>) -> Result<String> {
    match (cron, every_seconds) {
        (Some(c), _) => eventbridge_cron(c),
        (None, Some(s)) => eventbridge_rate(s),
        (None, None) => Err(Error::Description(format!(
            "schedule {name:?} has neither cron nor every_seconds"
        ))),
    }
}

/// Adds a rule and a permission per schedule.
pub fn add(m: &Model<'_>, t: &mut Template) -> Result<()> {
    for s in &m.app.schedules {
        let name = &s.name;
        let expr = expression(name, s.cron.as_deref(), s.every_seconds)?;
        let rule_name = format!("{}-{name}", m.o.stack_name);
        if rule_name.len() > MAX_RULE_NAME
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        {
            return Err(Error::unsupported(
                format!("schedule {name:?}"),
                format!(
                    "its EventBridge rule would be named {rule_name:?}: rule names are at most {MAX_RULE_NAME} letters, digits, '.', '-' or '_'; shorten the stack name (--stack-name) or the schedule's name"
                ),
            ));
        }
        let rule = m.ids.get("ScheduleRule", name);
        t.resources.insert(
            rule.clone(),
            json!({
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "Name": { "Fn::Join": ["-", [{ "Ref": "AWS::StackName" }, name]] },
                    "Description": format!("cloudport schedule {name:?}"),
                    "ScheduleExpression": expr,
                    "State": "ENABLED",
                    "Targets": [{ "Arn": { "Fn::GetAtt": ["Function", "Arn"] }, "Id": "Function" }]
                }
            }),
        );
        t.resources.insert(
            m.ids.get("InvokeFromSchedule", name),
            json!({
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "Action": "lambda:InvokeFunction",
                    "FunctionName": { "Ref": "Function" },
                    "Principal": "events.amazonaws.com",
                    "SourceArn": { "Fn::GetAtt": [rule, "Arn"] }
                }
            }),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_conversion_table() {
        let cases = [
            ("0 0 3 * * *", "cron(0 3 * * ? *)"),
            ("0 */15 * * * *", "cron(0/15 * * * ? *)"),
            ("0 0 */2 * * *", "cron(0 0/2 * * ? *)"),
            ("0 5,35 * * * *", "cron(5,35 * * * ? *)"),
            ("0 0 9 1 * *", "cron(0 9 1 * ? *)"),
            ("0 0 9 1,15 jan-jun *", "cron(0 9 1,15 JAN-JUN ? *)"),
            ("0 0 9 * * Mon-Fri", "cron(0 9 ? * MON-FRI *)"),
            ("0 0 9 * * 2-6", "cron(0 9 ? * 2-6 *)"),
            ("0 0 9 ? * sunday", "cron(0 9 ? * SUN *)"),
            ("0 0 12 * * tues,thurs", "cron(0 12 ? * TUE,THU *)"),
            ("0 0 0 */5 * *", "cron(0 0 1/5 * ? *)"),
            ("0 0 0 1 */3 *", "cron(0 0 1 1/3 ? *)"),
            ("0 10-20/5 * * * *", "cron(10-20/5 * * * ? *)"),
            ("00 0 3 * * *", "cron(0 3 * * ? *)"),
        ];
        for (input, want) in cases {
            assert_eq!(eventbridge_cron(input).expect(input), want, "{input}");
        }
    }

    #[test]
    fn cron_conversion_errors() {
        for bad in [
            "30 0 3 * * *",     // seconds
            "*/10 * * * * *",   // seconds
            "0 0 3 1 * Mon",    // both days
            "0 0 3 * *",        // five fields
            "0 0 3 * * * 2030", // seven fields
            "0 0 3 * * L",      // not a cron-crate value
            "0 0 3 * * Mon/x",  // bad step
            "0 0 3 * * Mon/",   // empty step
            "0 0 3 * smarch *", // not a month
        ] {
            assert!(eventbridge_cron(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn rates() {
        assert_eq!(eventbridge_rate(120).expect("2 min"), "rate(2 minutes)");
        assert_eq!(eventbridge_rate(3600).expect("1 h"), "rate(1 hour)");
        assert_eq!(eventbridge_rate(5400).expect("90 min"), "rate(90 minutes)");
        assert_eq!(eventbridge_rate(172_800).expect("2 d"), "rate(2 days)");
        for bad in [0, 1, 59, 61, 90] {
            assert!(eventbridge_rate(bad).is_err(), "{bad}");
        }
        assert!(expression("x", None, None).is_err());
    }
}
