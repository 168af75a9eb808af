//! The function: `AWS::Lambda::Function` on `provided.al2023` with the limits the code set, its
//! bindings, active tracing and the cost-allocation tag; its log group (retention
//! `LogRetentionDays`); the Function URL when the app serves HTTP; and a dead-letter queue for
//! asynchronous invocations (schedules, S3 notifications) that failed every retry.

use serde_json::{Value, json};

use super::{Model, Template, skip_check, tags};
use crate::Result;

/// Memory when the code sets none (MiB): Lambda's minimum and default.
pub const DEFAULT_MEMORY_MB: u32 = 128;
/// Timeout when the code sets none (s).
pub const DEFAULT_TIMEOUT_SECONDS: u32 = 30;

/// Adds the function, its log group, URL and asynchronous dead-letter queue, and the role's
/// logs and tracing statements.
pub fn add(m: &Model<'_>, t: &mut Template) -> Result<()> {
    t.resources.insert(
        "LogGroup".into(),
        json!({
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "RetentionInDays": { "Ref": "LogRetentionDays" },
                "Tags": tags()
            },
            "Metadata": { "checkov": { "skip": [
                {
                    "id": "CKV_AWS_158",
                    "comment": "CloudWatch Logs encrypts log data at rest by default; cloudport redacts credentials from every log line; a customer managed key needs a key policy for the logs service and is left to the user"
                }
            ]}}
        }),
    );
    t.output(
        "LogGroupName",
        "The function's log group",
        json!({ "Ref": "LogGroup" }),
    );
    let log_group = json!({ "Fn::GetAtt": ["LogGroup", "Arn"] });
    t.policy
        .grant("Logs", "function", "logs", &|_| log_group.clone())?;
    t.policy
        .grant("Tracing", "function", "tracing", &|_| json!("*"))?;

    let mut props = json!({
        "Runtime": "provided.al2023",
        "Handler": "bootstrap",
        "Architectures": [m.o.arch.lambda_name()],
        "Code": { "S3Bucket": { "Ref": "CodeBucket" }, "S3Key": { "Ref": "CodeKey" } },
        "Role": { "Fn::GetAtt": ["Role", "Arn"] },
        "MemorySize": m.memory_mb(),
        "Timeout": m.timeout_seconds(),
        "Environment": { "Variables": Value::Object(t.env.clone()) },
        "TracingConfig": { "Mode": "Active" },
        "LoggingConfig": { "LogGroup": { "Ref": "LogGroup" } },
        "Tags": tags()
    });
    let mut function = json!({ "Type": "AWS::Lambda::Function" });
    match m.app.d.limits.max_concurrency {
        Some(n) => props["ReservedConcurrentExecutions"] = json!(n),
        None => skip_check(
            &mut function,
            "CKV_AWS_115",
            "The code sets no max_concurrency (Limits::max_concurrency): reserving concurrency takes it from the account's pool, and fails on accounts with the default low quota",
        ),
    }
    if m.has_async_triggers() {
        t.resources.insert(
            "FunctionDeadLetterQueue".into(),
            super::queue::queue_resource(json!({
                "SqsManagedSseEnabled": true,
                "MessageRetentionPeriod": super::queue::DEAD_LETTER_RETENTION_SECONDS,
                "Tags": tags()
            })),
        );
        let arn = json!({ "Fn::GetAtt": ["FunctionDeadLetterQueue", "Arn"] });
        props["DeadLetterConfig"] = json!({ "TargetArn": arn });
        t.policy.grant(
            "FunctionDeadLetterQueue",
            "function",
            "async-dead-letter",
            &|_| arn.clone(),
        )?;
        t.dead_letter_queues.push((
            "FunctionDeadLetterQueue".into(),
            "FunctionDeadLetterAlarm".into(),
            "asynchronous invocations (schedules, S3 notifications) that failed every retry".into(),
        ));
        t.output(
            "FunctionDeadLetterQueueUrl",
            "Failed asynchronous invocations",
            json!({ "Ref": "FunctionDeadLetterQueue" }),
        );
    } else {
        skip_check(
            &mut function,
            "CKV_AWS_116",
            "No asynchronous trigger: queue messages dead-letter through their queue's redrive policy, HTTP requests are synchronous",
        );
    }
    skip_check(
        &mut function,
        "CKV_AWS_117",
        "The function reaches only AWS service endpoints; a VPC would add NAT or endpoint costs and cold-start time for no isolation gain",
    );
    skip_check(
        &mut function,
        "CKV_AWS_173",
        "The environment holds resource URLs (CLOUDPORT_* bindings), no secrets; Lambda encrypts it at rest with an AWS managed key",
    );
    function["Properties"] = props;
    t.resources.insert("Function".into(), function);
    t.output("FunctionName", "The function", json!({ "Ref": "Function" }));
    t.output(
        "FunctionArn",
        "The function's ARN",
        json!({ "Fn::GetAtt": ["Function", "Arn"] }),
    );
    if m.app.d.http {
        add_url(m, t);
    }
    Ok(())
}

/// The Function URL: IAM-signed requests by default (callers need `lambda:InvokeFunctionUrl`
/// and `lambda:InvokeFunction` in their own policies; no resource policy is needed in the same
/// account), or public with `--public-url` (resource policy for everyone: both actions, the
/// second only through the URL).
fn add_url(m: &Model<'_>, t: &mut Template) {
    let auth = if m.o.public_url { "NONE" } else { "AWS_IAM" };
    let mut url = json!({
        "Type": "AWS::Lambda::Url",
        "Properties": { "AuthType": auth, "TargetFunctionArn": { "Fn::GetAtt": ["Function", "Arn"] } }
    });
    if m.o.public_url {
        skip_check(
            &mut url,
            "CKV_AWS_258",
            "Public on purpose: packaged with --public-url; the app authenticates requests itself",
        );
        t.resources.insert(
            "FunctionUrlPublicAccess".into(),
            json!({
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "Action": "lambda:InvokeFunctionUrl",
                    "FunctionName": { "Ref": "Function" },
                    "Principal": "*",
                    "FunctionUrlAuthType": "NONE"
                }
            }),
        );
        t.resources.insert(
            "FunctionUrlPublicInvoke".into(),
            json!({
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "Action": "lambda:InvokeFunction",
                    "FunctionName": { "Ref": "Function" },
                    "Principal": "*",
                    "InvokedViaFunctionUrl": true
                }
            }),
        );
    }
    t.resources.insert("FunctionUrl".into(), url);
    t.output(
        "FunctionUrl",
        format!("The function's HTTPS endpoint (auth {auth})"),
        json!({ "Fn::GetAtt": ["FunctionUrl", "FunctionUrl"] }),
    );
}
