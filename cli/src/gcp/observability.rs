//! Observability: log-based metrics from cloudport's invocation log lines, a monitoring dashboard
//! and alert policies.
//!
//! The Cloud Run host writes one JSON line per invocation (`adapters/src/logs.rs`,
//! `metrics_line`): `{"severity": "INFO", "message": "cloudport invocation", "metrics":
//! {"function", "trigger", "invocations": 1, "errors": 0|1, "coldStarts": 0|1, "durationMs"}}`.
//! Cloud Logging keeps the fields other than its special ones under `jsonPayload` (source:
//! <https://cloud.google.com/logging/docs/structured-logging>), so the metrics filter
//! `jsonPayload.message="cloudport invocation"` on the service's revisions and take the
//! trigger as a label.
//!
//! The dashboard adds Cloud Run's own metrics (source:
//! <https://cloud.google.com/monitoring/api/metrics_gcp_p_z#gcp-run>): `request_count`,
//! `request_latencies` p50/p99, `container/startup_latencies` (cold starts),
//! `container/instance_count`, `container/billable_instance_time`. Alerts: invocation errors,
//! 5xx answers, and messages in every dead-letter subscription
//! (`pubsub.googleapis.com/subscription/num_undelivered_messages`).

use serde_json::{Value, json};

use super::names::reference;
use super::{Model, Tf};
use crate::Result;

/// The log-based metrics: (local name, metric name suffix, extra filter, description).
pub const LOG_METRICS: [(&str, &str, &str, &str); 3] = [
    (
        "invocations",
        "invocations",
        "",
        "cloudport invocations, by trigger",
    ),
    (
        "errors",
        "errors",
        " AND jsonPayload.metrics.errors=1",
        "cloudport invocations that failed, by trigger",
    ),
    (
        "cold_starts",
        "cold_starts",
        " AND jsonPayload.metrics.coldStarts=1",
        "cloudport invocations that started an instance, by trigger",
    ),
];

/// The log filter of the service's invocation lines.
pub fn invocation_filter(service: &str) -> String {
    format!(
        "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"{service}\" AND jsonPayload.message=\"cloudport invocation\""
    )
}

/// The metric type of a log-based metric of the service.
pub fn metric_type(service: &str, suffix: &str) -> String {
    format!("logging.googleapis.com/user/cloudport/{service}/{suffix}")
}

/// Adds the log-based metrics, the dashboard, the notification channels and the alert policies.
pub fn add(m: &Model<'_>, t: &mut Tf) -> Result<()> {
    let filter = invocation_filter(&m.service);
    let trigger_label = json!([{ "key": "trigger", "value_type": "STRING", "description": "queue/<name>, blob/<name>, schedule/<name>, http, event:<type>" }]);
    let trigger_extractor = json!({ "trigger": "EXTRACT(jsonPayload.metrics.trigger)" });
    for (local, suffix, extra, description) in LOG_METRICS {
        t.resource(
            "google_logging_metric",
            local,
            json!({
                "project": "${var.project}",
                "name": format!("cloudport/{}/{suffix}", m.service),
                "description": description,
                "filter": format!("{filter}{extra}"),
                "metric_descriptor": {
                    "metric_kind": "DELTA",
                    "value_type": "INT64",
                    "unit": "1",
                    "labels": trigger_label,
                },
                "label_extractors": trigger_extractor,
            }),
        );
    }
    t.resource(
        "google_logging_metric",
        "duration",
        json!({
            "project": "${var.project}",
            "name": format!("cloudport/{}/duration", m.service),
            "description": "cloudport invocation durations (ms), by trigger",
            "filter": filter,
            "metric_descriptor": {
                "metric_kind": "DELTA",
                "value_type": "DISTRIBUTION",
                "unit": "ms",
                "labels": trigger_label,
            },
            "value_extractor": "EXTRACT(jsonPayload.metrics.durationMs)",
            "label_extractors": trigger_extractor,
            "bucket_options": { "exponential_buckets": {
                "num_finite_buckets": 40, "growth_factor": 1.5, "scale": 1
            }},
        }),
    );
    let log_metrics: Vec<String> = LOG_METRICS
        .iter()
        .map(|(l, ..)| format!("google_logging_metric.{l}"))
        .chain(["google_logging_metric.duration".to_owned()])
        .collect();
    t.resource(
        "google_monitoring_dashboard",
        "dashboard",
        json!({
            "project": "${var.project}",
            "dashboard_json": dashboard(m).to_string(),
            "depends_on": log_metrics,
        }),
    );
    alerts(m, t);
    Ok(())
}

fn run_filter(service: &str, metric: &str) -> String {
    format!(
        "metric.type=\"run.googleapis.com/{metric}\" resource.type=\"cloud_run_revision\" resource.label.\"service_name\"=\"{service}\""
    )
}

fn chart(title: &str, filter: &str, aligner: &str, reducer: &str, group_by: &[&str]) -> Value {
    json!({
        "title": title,
        "xyChart": { "dataSets": [{
            "plotType": "LINE",
            "timeSeriesQuery": { "timeSeriesFilter": {
                "filter": filter,
                "aggregation": {
                    "alignmentPeriod": "60s",
                    "perSeriesAligner": aligner,
                    "crossSeriesReducer": reducer,
                    "groupByFields": group_by
                }
            }}
        }]}
    })
}

/// The dashboard's JSON (the Monitoring API's `Dashboard`).
pub fn dashboard(m: &Model<'_>) -> Value {
    let s = &m.service;
    let log = |suffix: &str| {
        format!(
            "metric.type=\"{}\" resource.type=\"cloud_run_revision\"",
            metric_type(s, suffix)
        )
    };
    let widgets = vec![
        chart(
            "Requests / s by response class",
            &run_filter(s, "request_count"),
            "ALIGN_RATE",
            "REDUCE_SUM",
            &["metric.label.\"response_code_class\""],
        ),
        chart(
            "Request latency p50 (ms)",
            &run_filter(s, "request_latencies"),
            "ALIGN_DELTA",
            "REDUCE_PERCENTILE_50",
            &[],
        ),
        chart(
            "Request latency p99 (ms)",
            &run_filter(s, "request_latencies"),
            "ALIGN_DELTA",
            "REDUCE_PERCENTILE_99",
            &[],
        ),
        chart(
            "Cold start latency p99 (ms)",
            &run_filter(s, "container/startup_latencies"),
            "ALIGN_DELTA",
            "REDUCE_PERCENTILE_99",
            &[],
        ),
        chart(
            "Instances by state",
            &run_filter(s, "container/instance_count"),
            "ALIGN_MAX",
            "REDUCE_SUM",
            &["metric.label.\"state\""],
        ),
        chart(
            "Billable instance time (s/s)",
            &run_filter(s, "container/billable_instance_time"),
            "ALIGN_RATE",
            "REDUCE_SUM",
            &[],
        ),
        chart(
            "cloudport invocations / s by trigger",
            &log("invocations"),
            "ALIGN_RATE",
            "REDUCE_SUM",
            &["metric.label.\"trigger\""],
        ),
        chart(
            "cloudport errors / s by trigger",
            &log("errors"),
            "ALIGN_RATE",
            "REDUCE_SUM",
            &["metric.label.\"trigger\""],
        ),
        chart(
            "cloudport cold starts / s by trigger",
            &log("cold_starts"),
            "ALIGN_RATE",
            "REDUCE_SUM",
            &["metric.label.\"trigger\""],
        ),
        chart(
            "cloudport duration p99 (ms) by trigger",
            &log("duration"),
            "ALIGN_DELTA",
            "REDUCE_PERCENTILE_99",
            &["metric.label.\"trigger\""],
        ),
    ];
    let tiles: Vec<Value> = widgets
        .into_iter()
        .enumerate()
        .map(|(i, w)| {
            json!({
                "xPos": (i % 2) * 6, "yPos": (i / 2) * 4, "width": 6, "height": 4, "widget": w
            })
        })
        .collect();
    json!({
        "displayName": format!("cloudport: {s}"),
        "mosaicLayout": { "columns": 12, "tiles": tiles }
    })
}

fn policy(m: &Model<'_>, name: &str, doc: &str, filter: &str, aligner: &str) -> Value {
    json!({
        "project": "${var.project}",
        "display_name": format!("cloudport {}: {name}", m.service),
        "combiner": "OR",
        "enabled": true,
        "user_labels": super::labels(m),
        "documentation": { "content": doc, "mime_type": "text/markdown" },
        "notification_channels": "${google_monitoring_notification_channel.email[*].id}",
        "alert_strategy": { "auto_close": "86400s" },
        "conditions": [{
            "display_name": name,
            "condition_threshold": {
                "filter": filter,
                "comparison": "COMPARISON_GT",
                "threshold_value": 0,
                "duration": "0s",
                "aggregations": [{
                    "alignment_period": "300s",
                    "per_series_aligner": aligner,
                    "cross_series_reducer": "REDUCE_SUM"
                }]
            }
        }]
    })
}

/// The notification channels (one per budget e-mail) and the alert policies.
fn alerts(m: &Model<'_>, t: &mut Tf) {
    let emails: Vec<String> = m
        .app
        .d
        .budget
        .as_ref()
        .map(|b| b.notify.clone())
        .unwrap_or_default();
    t.resource(
        "google_monitoring_notification_channel",
        "email",
        json!({
            "count": emails.len(),
            "project": "${var.project}",
            "display_name": format!("cloudport {}: ${{local.alert_emails[count.index]}}", m.service),
            "type": "email",
            "labels": { "email_address": "${local.alert_emails[count.index]}" },
            "user_labels": super::labels(m),
        }),
    );
    t.locals.insert("alert_emails".into(), json!(emails));
    let mut errors = policy(
        m,
        "invocation errors",
        "A handler returned an error or panicked (cloudport's `errors` log-based metric). Find the lines: Logs Explorer, `jsonPayload.message=\"cloudport invocation\" AND jsonPayload.metrics.errors=1`.",
        &format!(
            "metric.type=\"{}\" resource.type=\"cloud_run_revision\"",
            metric_type(&m.service, "errors")
        ),
        "ALIGN_DELTA",
    );
    errors["depends_on"] = json!(["google_logging_metric.errors"]);
    t.resource("google_monitoring_alert_policy", "errors", errors);
    t.resource(
        "google_monitoring_alert_policy",
        "server_errors",
        policy(
            m,
            "5xx answers",
            "The service answered 5xx (failed event deliveries are 500, which Pub/Sub, Eventarc and Cloud Scheduler retry).",
            &format!(
                "{} metric.label.\"response_code_class\"=\"5xx\"",
                run_filter(&m.service, "request_count")
            ),
            "ALIGN_DELTA",
        ),
    );
    for (sub, queue) in t.dead_letters.clone() {
        t.resource(
            "google_monitoring_alert_policy",
            &format!("dead_letters_{}", sub.trim_start_matches("queue_")),
            policy(
                m,
                &format!("messages in dead-letter queue {queue}"),
                &format!("Messages that failed every delivery attempt wait in the subscription of dead-letter queue `{queue}`: read them, fix the cause, then republish or acknowledge them."),
                &format!(
                    "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\" resource.type=\"pubsub_subscription\" resource.label.\"subscription_id\"=\"{}\"",
                    reference("google_pubsub_subscription", &sub, "name")
                ),
                "ALIGN_MAX",
            ),
        );
    }
}
