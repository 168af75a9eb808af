//! What the function costs and how it behaves: a CloudWatch dashboard (invocations, errors,
//! throttles, duration p50/p99, concurrency, cloudport's cold starts, estimated cost, dead-letter
//! depth), alarms (errors, throttles, each dead-letter queue), and a monthly cost budget filtered
//! by the cost-allocation tag.

use serde_json::{Value, json};

use super::{Model, TAG_KEY, Template, skip_check};
use crate::args::Arch;
use crate::{Error, Result};

/// The namespace of cloudport's EMF metrics (`adapters/src/lambda/emf.rs`; the Lambda host's
/// default for `CLOUDPORT_METRICS_NAMESPACE`), with dimensions `Function` and `Trigger`.
pub const EMF_NAMESPACE: &str = "cloudport";

/// USD per GB-second of duration, x86_64, first tier, US East (N. Virginia), from
/// <https://aws.amazon.com/lambda/pricing/>; other regions and tiers differ a little.
pub const X86_64_USD_PER_GB_SECOND: f64 = 0.000_016_666_7;
/// USD per GB-second of duration, arm64, same source.
pub const ARM64_USD_PER_GB_SECOND: f64 = 0.000_013_333_4;
/// USD per request, same source ($0.20 per million).
pub const USD_PER_REQUEST: f64 = 0.000_000_2;

/// Email subscribers AWS Budgets allows on one notification.
pub const MAX_BUDGET_SUBSCRIBERS: usize = 10;

/// The duration price of `arch`.
pub fn usd_per_gb_second(arch: Arch) -> f64 {
    match arch {
        Arch::X86_64 => X86_64_USD_PER_GB_SECOND,
        Arch::Arm64 => ARM64_USD_PER_GB_SECOND,
    }
}

/// Adds the dashboard, the alarms and the budget.
pub fn add(m: &Model<'_>, t: &mut Template) -> Result<()> {
    let emails = m
        .app
        .d
        .budget
        .as_ref()
        .map(|b| b.notify.clone())
        .unwrap_or_default();
    if !emails.is_empty() {
        let mut topic = json!({
            "Type": "AWS::SNS::Topic",
            "Properties": {
                "Subscription": emails.iter().map(|e| json!({ "Protocol": "email", "Endpoint": e })).collect::<Vec<_>>(),
                "Tags": super::tags()
            }
        });
        skip_check(
            &mut topic,
            "CKV_AWS_26",
            "CloudWatch alarms cannot publish to a topic encrypted with the AWS managed key (aws/sns); the notifications carry alarm states, no data",
        );
        t.resources.insert("AlarmTopic".into(), topic);
    }
    let actions = if emails.is_empty() {
        json!([])
    } else {
        json!([{ "Ref": "AlarmTopic" }])
    };
    let function = json!([{ "Name": "FunctionName", "Value": { "Ref": "Function" } }]);
    for (id, metric, what) in [
        ("ErrorsAlarm", "Errors", "invocations failed"),
        (
            "ThrottlesAlarm",
            "Throttles",
            "invocations were throttled (the concurrency cap was reached)",
        ),
    ] {
        t.resources.insert(
            id.into(),
            alarm(
                "AWS/Lambda",
                metric,
                "Sum",
                function.clone(),
                what,
                &actions,
            ),
        );
    }
    for (queue, alarm_id, what) in &t.dead_letter_queues.clone() {
        let dims =
            json!([{ "Name": "QueueName", "Value": { "Fn::GetAtt": [queue, "QueueName"] } }]);
        t.resources.insert(
            alarm_id.clone(),
            alarm(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                "Maximum",
                dims,
                &format!("messages wait in the {what}"),
                &actions,
            ),
        );
    }
    t.resources.insert(
        "Dashboard".into(),
        json!({
            "Type": "AWS::CloudWatch::Dashboard",
            "Properties": { "DashboardBody": { "Fn::Sub": dashboard_body(m, t) } }
        }),
    );
    if let Some(budget) = &m.app.d.budget {
        t.resources.insert(
            "Budget".into(),
            budget_resource(budget.monthly_usd, &emails)?,
        );
    }
    Ok(())
}

fn alarm(
    namespace: &str,
    metric: &str,
    statistic: &str,
    dimensions: Value,
    what: &str,
    actions: &Value,
) -> Value {
    json!({
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": format!("cloudport: {what}"),
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": dimensions,
            "Statistic": statistic,
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": actions
        }
    })
}

/// The dashboard's JSON, for `Fn::Sub` (`${Function}`, `${LogGroup}`, `${AWS::Region}` and the
/// dead-letter queues' `${Id.QueueName}` are filled in by CloudFormation).
fn dashboard_body(m: &Model<'_>, t: &Template) -> String {
    let lambda = |metric: &str, stat: &str, label: &str| json!(["AWS/Lambda", metric, "FunctionName", "${Function}", { "stat": stat, "label": label }]);
    let price = usd_per_gb_second(m.o.arch);
    let gb = f64::from(m.memory_mb()) / 1024.0;
    let metric = |title: &str, metrics: Value| {
        json!({ "type": "metric", "properties": {
            "title": title, "region": "${AWS::Region}", "view": "timeSeries",
            "stacked": false, "period": 300, "metrics": metrics
        }})
    };
    let mut widgets = vec![
        metric(
            "Invocations",
            json!([lambda("Invocations", "Sum", "invocations")]),
        ),
        metric(
            "Errors and throttles",
            json!([
                lambda("Errors", "Sum", "errors"),
                lambda("Throttles", "Sum", "throttles")
            ]),
        ),
        metric(
            "Duration (ms)",
            json!([
                lambda("Duration", "p50", "p50"),
                lambda("Duration", "p99", "p99")
            ]),
        ),
        metric(
            "Concurrent executions",
            json!([lambda(
                "ConcurrentExecutions",
                "Maximum",
                "concurrent executions"
            )]),
        ),
        metric(
            "Cold starts (cloudport EMF)",
            json!([[{
                "expression": format!(
                    "SUM(SEARCH('{{{EMF_NAMESPACE},Function,Trigger}} MetricName=\"ColdStarts\" Function=\"${{Function}}\"', 'Sum', 300))"
                ),
                "label": "cold starts", "id": "coldstarts"
            }]]),
        ),
        metric(
            &format!(
                "Estimated cost, USD per 5 min (duration × {} MB × ${price}/GB-s + ${USD_PER_REQUEST}/request)",
                m.memory_mb()
            ),
            json!([
                ["AWS/Lambda", "Duration", "FunctionName", "${Function}", { "stat": "Sum", "id": "duration", "visible": false }],
                ["AWS/Lambda", "Invocations", "FunctionName", "${Function}", { "stat": "Sum", "id": "requests", "visible": false }],
                [{ "expression": format!("duration / 1000 * {gb} * {price} + requests * {USD_PER_REQUEST}"), "label": "estimated USD", "id": "cost" }]
            ]),
        ),
        json!({ "type": "log", "properties": {
            "title": "Billed cost by day (from the REPORT lines: billed duration × memory)",
            "region": "${AWS::Region}", "view": "table",
            "query": format!(
                "SOURCE '${{LogGroup}}' | filter @type = \"REPORT\" | stats sum(@billedDuration) / 1000 * avg(@memorySize) / 1000000 / 1024 * {price} + count(*) * {USD_PER_REQUEST} as estimated_usd, count(*) as invocations, count(@initDuration) as cold_starts by bin(1d)"
            )
        }}),
    ];
    if !t.dead_letter_queues.is_empty() {
        let queues: Vec<Value> = t
            .dead_letter_queues
            .iter()
            .map(|(q, _, _)| {
                json!(["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", format!("${{{q}.QueueName}}"), { "stat": "Maximum" }])
            })
            .collect();
        widgets.push(metric(
            "Dead-letter queues (messages waiting)",
            json!(queues),
        ));
    }
    for (i, w) in widgets.iter_mut().enumerate() {
        w["x"] = json!((i % 2) * 12);
        w["y"] = json!((i / 2) * 6);
        w["width"] = json!(12);
        w["height"] = json!(6);
    }
    serde_json::to_string(&super::sorted(json!({ "widgets": widgets }))).unwrap_or_default()
}

/// A monthly COST budget over everything tagged `cloudport:function = <stack name>`, telling
/// `emails` at 80 % of the forecast and 100 % of the actual spend.
fn budget_resource(monthly_usd: u32, emails: &[String]) -> Result<Value> {
    if emails.len() > MAX_BUDGET_SUBSCRIBERS {
        return Err(Error::unsupported(
            "budget",
            format!(
                "AWS Budgets notifies at most {MAX_BUDGET_SUBSCRIBERS} email addresses; use a list address"
            ),
        ));
    }
    let mut props = json!({
        "Budget": {
            "BudgetName": { "Fn::Join": ["-", [{ "Ref": "AWS::StackName" }, "monthly"]] },
            "BudgetType": "COST",
            "TimeUnit": "MONTHLY",
            "BudgetLimit": { "Amount": monthly_usd, "Unit": "USD" },
            "CostFilters": { "TagKeyValue": [
                { "Fn::Join": ["", [format!("user:{TAG_KEY}$"), { "Ref": "AWS::StackName" }]] }
            ]}
        }
    });
    if !emails.is_empty() {
        let subscribers: Vec<Value> = emails
            .iter()
            .map(|e| json!({ "SubscriptionType": "EMAIL", "Address": e }))
            .collect();
        props["NotificationsWithSubscribers"] = json!([
            {
                "Notification": { "NotificationType": "FORECASTED", "ComparisonOperator": "GREATER_THAN", "Threshold": 80, "ThresholdType": "PERCENTAGE" },
                "Subscribers": subscribers
            },
            {
                "Notification": { "NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN", "Threshold": 100, "ThresholdType": "PERCENTAGE" },
                "Subscribers": subscribers
            }
        ]);
    }
    Ok(json!({ "Type": "AWS::Budgets::Budget", "Properties": props }))
}
