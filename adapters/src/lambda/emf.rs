//! Invocation metrics as CloudWatch Embedded Metric Format: one JSON line per invocation on
//! stdout, which Lambda ships to CloudWatch Logs and CloudWatch turns into metrics.

use std::io::Write;
use std::sync::Arc;

use cloudport_core::app::{InvocationRecord, MetricsSink};

/// A sink printing EMF lines in namespace `namespace`, with dimensions `Function` and `Trigger`.
pub fn sink(function: String, namespace: String) -> MetricsSink {
    Arc::new(move |record: &InvocationRecord| {
        let line = line(
            &function,
            &namespace,
            record,
            chrono::Utc::now().timestamp_millis(),
        );
        // A lost metric line must not fail the invocation.
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    })
}

/// The EMF document of one invocation.
pub fn line(
    function: &str,
    namespace: &str,
    record: &InvocationRecord,
    timestamp_ms: i64,
) -> serde_json::Value {
    serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["Function", "Trigger"]],
                "Metrics": [
                    {"Name": "Invocations", "Unit": "Count"},
                    {"Name": "Errors", "Unit": "Count"},
                    {"Name": "ColdStarts", "Unit": "Count"},
                    {"Name": "Duration", "Unit": "Milliseconds"}
                ]
            }]
        },
        "Function": function,
        "Trigger": record.trigger.label(),
        "Invocations": 1,
        "Errors": u8::from(record.failed),
        "ColdStarts": u8::from(record.cold_start),
        "Duration": record.duration.as_secs_f64() * 1000.0,
        "traceId": record.trace_id,
    })
}
