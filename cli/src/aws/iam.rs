//! Least privilege, as a table: one row per (resource kind, access), with exactly the IAM actions
//! the AWS driver's SDK calls (or the platform acting with the function's role) need, on exactly
//! that resource's ARN, each row citing its source. The role gets one statement per resource ARN
//! holding the union of its rows' actions there — never one statement over several resources.
//!
//! Checked against the drivers (`providers/aws/src/{queue,blob,kv}.rs`): the SQS driver calls
//! `GetQueueUrl`, `SendMessageBatch`, `ReceiveMessage`, `DeleteMessage`,
//! `ChangeMessageVisibility`; S3 `PutObject`, `CreateMultipartUpload`, `UploadPart`,
//! `CompleteMultipartUpload`, `AbortMultipartUpload`, `GetObject`, `HeadObject`, `DeleteObject`,
//! `ListObjectsV2`, `CopyObject`; DynamoDB `GetItem`, `PutItem`, `DeleteItem`, `Query`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::{Error, Result};

/// What a row's actions apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// The queue's ARN.
    Queue,
    /// The bucket's ARN (bucket-level actions).
    Bucket,
    /// The bucket's objects, `<bucket ARN>/*`.
    Objects,
    /// The table's ARN.
    Table,
    /// The function's log group (its ARN ends in `:*`, which covers its log streams).
    LogGroup,
    /// `*` — only for actions that have no resource type at all; never a data action.
    Everything,
}

/// One row of the table.
#[derive(Debug)]
pub struct Grant {
    /// `queue`, `bucket`, `kv`, or `function` (the function's own needs).
    pub kind: &'static str,
    /// The access word of the description (`send`, `read`, …), or `trigger` (what the platform
    /// does with the function's role for a trigger), `logs`, `tracing`, `async-dead-letter`.
    pub access: &'static str,
    /// What the actions apply to.
    pub scope: Scope,
    /// The IAM actions, sorted.
    pub actions: &'static [&'static str],
    /// The calls they authorise.
    pub calls: &'static str,
    /// Where that is documented.
    pub source: &'static str,
}

const SQS_SAR: &str =
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsqs.html";
const S3_SAR: &str =
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html";
const DYNAMODB_SAR: &str =
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html";

/// The table.
pub const GRANTS: &[Grant] = &[
    Grant {
        kind: "queue",
        access: "send",
        scope: Scope::Queue,
        actions: &["sqs:GetQueueUrl", "sqs:SendMessage"],
        calls: "GetQueueUrl (the driver resolves sqs://<name>), SendMessageBatch (authorised by sqs:SendMessage: SQS has no batch actions)",
        source: "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsqs.html; https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html",
    },
    Grant {
        kind: "queue",
        access: "consume",
        scope: Scope::Queue,
        actions: &[
            "sqs:ChangeMessageVisibility",
            "sqs:DeleteMessage",
            "sqs:GetQueueUrl",
            "sqs:ReceiveMessage",
        ],
        calls: "GetQueueUrl, ReceiveMessage, DeleteMessage (ack), ChangeMessageVisibility (nack, extend lease)",
        source: SQS_SAR,
    },
    Grant {
        kind: "queue",
        access: "trigger",
        scope: Scope::Queue,
        actions: &[
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ReceiveMessage",
        ],
        calls: "the Lambda event source mapping polls the queue with the function's role",
        source: "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html",
    },
    Grant {
        kind: "bucket",
        access: "read",
        scope: Scope::Objects,
        actions: &["s3:GetObject"],
        calls: "GetObject, HeadObject (authorised by s3:GetObject), the source of CopyObject",
        source: "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html; https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html",
    },
    Grant {
        kind: "bucket",
        access: "read",
        scope: Scope::Bucket,
        actions: &["s3:ListBucket"],
        calls: "no call: without it S3 answers a missing key with 403 AccessDenied instead of 404 NoSuchKey",
        source: "https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html",
    },
    Grant {
        kind: "bucket",
        access: "write",
        scope: Scope::Objects,
        actions: &["s3:AbortMultipartUpload", "s3:PutObject"],
        calls: "PutObject, CreateMultipartUpload, UploadPart, CompleteMultipartUpload (all s3:PutObject), AbortMultipartUpload, the destination of CopyObject; not ListMultipartUploadParts (the driver never calls ListParts)",
        source: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions",
    },
    Grant {
        kind: "bucket",
        access: "delete",
        scope: Scope::Objects,
        actions: &["s3:DeleteObject"],
        calls: "DeleteObject",
        source: S3_SAR,
    },
    Grant {
        kind: "bucket",
        access: "list",
        scope: Scope::Bucket,
        actions: &["s3:ListBucket"],
        calls: "ListObjectsV2 (authorised by s3:ListBucket)",
        source: "https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html",
    },
    Grant {
        kind: "kv",
        access: "read",
        scope: Scope::Table,
        actions: &["dynamodb:GetItem", "dynamodb:Query"],
        calls: "GetItem (get), Query (scan: the store's partition, begins_with on the sort key)",
        source: DYNAMODB_SAR,
    },
    Grant {
        kind: "kv",
        access: "write",
        scope: Scope::Table,
        actions: &["dynamodb:DeleteItem", "dynamodb:PutItem"],
        calls: "PutItem (put; preconditions are condition expressions), DeleteItem (ReturnValues ALL_OLD); not UpdateItem (the driver never calls it: an update is a get and a conditional put)",
        source: "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/api-permissions-reference.html",
    },
    Grant {
        kind: "function",
        access: "logs",
        scope: Scope::LogGroup,
        actions: &["logs:CreateLogStream", "logs:PutLogEvents"],
        calls: "Lambda writes the function's output to its log group with the function's role",
        source: "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html",
    },
    Grant {
        kind: "function",
        access: "tracing",
        scope: Scope::Everything,
        actions: &["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
        calls: "active tracing: Lambda sends trace segments; these X-Ray actions have no resource type, so `*` is the only resource IAM accepts (they reach no data)",
        source: "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html; https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html",
    },
    Grant {
        kind: "function",
        access: "async-dead-letter",
        scope: Scope::Queue,
        actions: &["sqs:SendMessage"],
        calls: "Lambda sends asynchronous invocations (schedules, S3 notifications) that failed every retry to the function's dead-letter queue",
        source: "https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html",
    },
];

/// The rows for (kind, access); an access the table does not know is an error (a description
/// newer than this tool).
///
/// ```
/// use cloudport_cli::aws::iam::grants;
/// let rows = grants("kv", "write").unwrap();
/// assert_eq!(rows[0].actions, ["dynamodb:DeleteItem", "dynamodb:PutItem"]);
/// assert!(grants("kv", "admin").is_err());
/// ```
pub fn grants(kind: &str, access: &str) -> Result<Vec<&'static Grant>> {
    let rows: Vec<&Grant> = GRANTS
        .iter()
        .filter(|g| g.kind == kind && g.access == access)
        .collect();
    if rows.is_empty() {
        return Err(Error::unsupported(
            format!("{kind} access {access:?}"),
            "this cargo-cloudport has no IAM mapping for it; update cargo-cloudport",
        ));
    }
    Ok(rows)
}

/// The role's policy being assembled: one statement per (Sid, resource).
#[derive(Debug, Default)]
pub struct Policy {
    statements: BTreeMap<String, (BTreeSet<&'static str>, Value)>,
}

impl Policy {
    /// Adds the rows of (kind, access) for the resource whose statements are named
    /// `<sid>` (`Objects<sid>` for its objects), with `arn(scope)` giving its ARN for each scope.
    pub fn grant(
        &mut self,
        sid: &str,
        kind: &str,
        access: &str,
        arn: &dyn Fn(Scope) -> Value,
    ) -> Result<()> {
        for g in grants(kind, access)? {
            // `Objects` starts no logical id, so these Sids never collide with another's.
            let prefix = if g.scope == Scope::Objects {
                "Objects"
            } else {
                ""
            };
            let entry = self
                .statements
                .entry(format!("{prefix}{sid}"))
                .or_insert_with(|| (BTreeSet::new(), arn(g.scope)));
            entry.0.extend(g.actions.iter().copied());
        }
        Ok(())
    }

    /// The statements, by Sid.
    pub fn statements(&self) -> Vec<Value> {
        self.statements
            .iter()
            .map(|(sid, (actions, resource))| {
                json!({ "Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resource })
            })
            .collect()
    }
}

/// The function's execution role: assumable by Lambda only, no managed policy, one inline policy
/// of `statements`.
pub fn role(statements: Vec<Value>, tags: Value) -> Value {
    json!({
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": { "Service": "lambda.amazonaws.com" },
                    "Action": "sts:AssumeRole"
                }]
            },
            "Policies": [{
                "PolicyName": "cloudport-declared-access",
                "PolicyDocument": { "Version": "2012-10-17", "Statement": statements }
            }],
            "Tags": tags
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_narrow_and_sourced() {
        for g in GRANTS {
            assert!(
                g.source.starts_with("https://docs.aws.amazon.com/"),
                "{g:?}"
            );
            assert!(!g.actions.is_empty(), "{g:?}");
            let mut sorted = g.actions.to_vec();
            sorted.sort_unstable();
            assert_eq!(sorted, g.actions, "{g:?}");
            for a in g.actions {
                let (service, action) = a.split_once(':').expect("service:Action");
                assert!(
                    !service.is_empty() && !action.is_empty() && !a.contains('*'),
                    "{a}"
                );
            }
            if g.scope == Scope::Everything {
                assert!(g.actions.iter().all(|a| a.starts_with("xray:")), "{g:?}");
            }
        }
    }
}
