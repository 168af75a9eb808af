//! Spans for the portable operations (queue, topic, blob and KV calls) with OpenTelemetry semantic
//! conventions. They cost a callsite check when no subscriber listens.

/// The OpenTelemetry `cloud.provider` of a cloudport provider name.
fn cloud_provider(provider: &str) -> &str {
    match provider {
        "aws" => "aws",
        "azure" => "azure",
        "gcp" => "gcp",
        other => other,
    }
}

/// The OpenTelemetry `messaging.system` of a provider's queues.
fn messaging_system(provider: &str) -> &str {
    match provider {
        "aws" => "aws_sqs",
        "azure" => "azure_storage_queues",
        "gcp" => "gcp_pubsub",
        other => other,
    }
}

/// The cloudport provider of an event's `source` when it is a resource URL (`sqs://orders`,
/// `gcppubsub://…`): the invocation span's `cloud.provider` and `messaging.system`.
pub(crate) fn provider_of_source(source: &str) -> Option<&'static str> {
    let (scheme, _) = source.split_once("://")?;
    crate::provider::KNOWN_SCHEMES
        .iter()
        .find(|(s, ..)| *s == scheme)
        .map(|(_, provider, ..)| *provider)
}

/// The `messaging.system` of a queue trigger whose events come from `source`.
pub(crate) fn queue_system_of_source(source: &str) -> &'static str {
    match provider_of_source(source) {
        Some("aws") => "aws_sqs",
        Some("azure") => "azure_storage_queues",
        Some("gcp") => "gcp_pubsub",
        Some("memory") => "memory",
        _ => "queue",
    }
}

/// The `messaging.system` of a topic trigger whose events come from `source` (a published event
/// keeps its own source; a platform's topic notification names its topic).
pub(crate) fn topic_system_of_source(source: &str) -> &'static str {
    match provider_of_source(source) {
        Some("aws") => "aws_sns",
        Some("gcp") => "gcp_pubsub",
        Some("azure") => "eventgrid",
        Some("memory") => "memory",
        _ => "topic",
    }
}

/// The `messaging.system` of a provider's topics.
fn topic_system(provider: &str) -> &str {
    match provider {
        "aws" => "aws_sns",
        "azure" => "eventgrid",
        "gcp" => "gcp_pubsub",
        other => other,
    }
}

/// The span of one portable operation (`queue.send`, `blob.get`, `kv.put`, …) on `resource`:
/// queue operations carry `messaging.*` attributes, blob and KV ones `db.*`.
pub(crate) fn operation_span(
    op: &'static str,
    provider: &'static str,
    resource: &str,
) -> tracing::Span {
    let (kind, verb) = op.split_once('.').unwrap_or((op, op));
    if kind == "topic" {
        return tracing::debug_span!(
            "topic operation",
            otel.name = op,
            otel.kind = "producer",
            cloud.provider = cloud_provider(provider),
            messaging.system = topic_system(provider),
            messaging.operation = "publish",
            messaging.destination.name = resource,
        );
    }
    if kind == "queue" {
        let operation = match verb {
            "send" | "send_batch" => "publish",
            "receive" => "receive",
            _ => "settle",
        };
        tracing::debug_span!(
            "queue operation",
            otel.name = op,
            otel.kind = if operation == "publish" {
                "producer"
            } else {
                "consumer"
            },
            cloud.provider = cloud_provider(provider),
            messaging.system = messaging_system(provider),
            messaging.operation = operation,
            messaging.destination.name = resource,
        )
    } else {
        tracing::debug_span!(
            "storage operation",
            otel.name = op,
            otel.kind = "client",
            cloud.provider = cloud_provider(provider),
            db.system = provider,
            db.operation = verb,
            db.collection.name = resource,
        )
    }
}
