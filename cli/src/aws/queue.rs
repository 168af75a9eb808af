//! Queues: an `AWS::SQS::Queue` per declared queue with its dead-letter queue and redrive policy,
//! an event source mapping per queue trigger, the binding, the role's statement, outputs.
//!
//! Dead-lettering is SQS's own redrive (`maxReceiveCount` = the declared `max_deliveries`), so
//! the binding carries no `?dead_letter=` and the function needs nothing on a dead-letter queue
//! it does not declare.

use cloudport_core::ResourceKind;
use cloudport_core::env::binding_var;
use serde_json::{Value, json};

use super::iam::Scope;
use super::names::sub;
use super::{Model, Template, tags};
use crate::Result;

/// Messages a Lambda event source mapping hands the function at once.
pub const BATCH_SIZE: u32 = 10;
/// A triggered queue's visibility timeout is this many times the function's timeout (AWS's
/// recommendation for SQS event source mappings, so throttled batches can be retried).
pub const VISIBILITY_FACTOR: u32 = 6;
/// Queues keep messages 4 days (SQS's default, stated).
pub const RETENTION_SECONDS: u32 = 4 * 24 * 3600;
/// Dead-letter queues keep messages 14 days, SQS's longest (longer than the 4-day default of the
/// queues feeding them: an expired message's age counts from its first enqueue).
pub const DEAD_LETTER_RETENTION_SECONDS: u32 = 14 * 24 * 3600;

/// An `AWS::SQS::Queue` with `props`: deleted with the stack (messages are transient), checkov's
/// KMS check skipped (SSE-SQS encrypts at rest; the check only knows `KmsMasterKeyId`).
pub fn queue_resource(props: Value) -> Value {
    json!({
        "Type": "AWS::SQS::Queue",
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Properties": props,
        "Metadata": { "checkov": { "skip": [{
            "id": "CKV_AWS_27",
            "comment": "Encrypted at rest with SSE-SQS (SqsManagedSseEnabled): no KMS key, key policy or KMS permission needed; the check only looks for KmsMasterKeyId"
        }]}}
    })
}

fn is_dead_letter_target(m: &Model<'_>, name: &str) -> bool {
    m.app
        .queues
        .iter()
        .any(|q| q.dead_letter.as_ref().is_some_and(|dl| dl.queue == name))
}

/// Adds every queue of the model.
pub fn add(m: &Model<'_>, t: &mut Template) -> Result<()> {
    for q in &m.app.queues {
        let id = m.ids.get("Queue", &q.name);
        let mut props = json!({
            "SqsManagedSseEnabled": true,
            "MessageRetentionPeriod": RETENTION_SECONDS,
            "Tags": tags()
        });
        if let Some(dl) = &q.dead_letter {
            let dl_id = m.ids.get("Queue", &dl.queue);
            props["RedrivePolicy"] = json!({
                "deadLetterTargetArn": { "Fn::GetAtt": [dl_id, "Arn"] },
                "maxReceiveCount": dl.max_deliveries.max(1)
            });
        }
        if q.triggered {
            props["VisibilityTimeout"] = json!(VISIBILITY_FACTOR * m.timeout_seconds());
        }
        if is_dead_letter_target(m, &q.name) {
            props["MessageRetentionPeriod"] = json!(DEAD_LETTER_RETENTION_SECONDS);
            t.dead_letter_queues.push((
                id.clone(),
                m.ids.get("DeadLetterAlarm", &q.name),
                format!("dead-letter queue {:?}", q.name),
            ));
        }
        t.resources.insert(id.clone(), queue_resource(props));
        let arn = json!({ "Fn::GetAtt": [id, "Arn"] });
        let queue_arn = |_: Scope| arn.clone();
        for access in &q.access {
            t.policy.grant(&id, "queue", access, &queue_arn)?;
        }
        if q.triggered {
            t.policy.grant(&id, "queue", "trigger", &queue_arn)?;
            t.resources.insert(
                m.ids.get("EventSource", &q.name),
                json!({
                    "Type": "AWS::Lambda::EventSourceMapping",
                    "Properties": {
                        "EventSourceArn": arn,
                        "FunctionName": { "Ref": "Function" },
                        "BatchSize": BATCH_SIZE,
                        "FunctionResponseTypes": ["ReportBatchItemFailures"],
                        "Enabled": true
                    }
                }),
            );
        }
        let var = binding_var(ResourceKind::Queue, &q.name);
        let binding = sub(vec![
            json!("sqs://"),
            json!({ "Fn::GetAtt": [id, "QueueName"] }),
        ]);
        t.env.insert(var.clone(), binding.clone());
        t.output(format!("Binding{id}"), var, binding);
        queue_outputs(t, &id, &q.name);
    }
    for name in &m.app.dead_letter_only {
        let id = m.ids.get("Queue", name);
        t.resources.insert(
            id.clone(),
            queue_resource(json!({
                "SqsManagedSseEnabled": true,
                "MessageRetentionPeriod": DEAD_LETTER_RETENTION_SECONDS,
                "Tags": tags()
            })),
        );
        t.dead_letter_queues.push((
            id.clone(),
            m.ids.get("DeadLetterAlarm", name),
            format!("dead-letter queue {name:?}"),
        ));
        queue_outputs(t, &id, name);
    }
    Ok(())
}

fn queue_outputs(t: &mut Template, id: &str, name: &str) {
    t.output(
        format!("{id}Name"),
        format!("The SQS name of queue {name:?}"),
        json!({ "Fn::GetAtt": [id, "QueueName"] }),
    );
    t.output(
        format!("{id}Url"),
        format!("The SQS URL of queue {name:?}"),
        json!({ "Ref": id }),
    );
}
