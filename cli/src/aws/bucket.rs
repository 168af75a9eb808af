//! Buckets: an `AWS::S3::Bucket` per declared bucket — private (all four public access blocks,
//! bucket-owner-enforced ownership), encrypted with SSE-S3, versioned with old versions expiring
//! — and, for a blob trigger, the notification to the function with its `Lambda::Permission`.
//!
//! SSE-S3 (AES256) rather than SSE-KMS: S3 encrypts every object at rest either way; a KMS key
//! would add `kms:GenerateDataKey`/`kms:Decrypt` to the role, a key policy, and a per-request
//! cost, for control (key policies, CloudTrail of key use) the app did not ask for.
//!
//! A triggered bucket's notification names the function and the function's permission names the
//! bucket, so the bucket cannot be referred to by `Ref` (a cycle): its name is fixed in the
//! template as `<name>-<stack uuid>` ([`names::bucket_name`]) and used everywhere, and the
//! bucket depends on the permission.

use cloudport_core::ResourceKind;
use cloudport_core::env::binding_var;
use serde_json::{Value, json};

use super::iam::Scope;
use super::names::{self, sub};
use super::{Model, Template, skip_check, tags};
use crate::Result;

/// Days an overwritten or deleted object's old version is kept.
pub const NONCURRENT_VERSION_DAYS: u32 = 30;
/// Days before an unfinished multipart upload's parts are removed.
pub const ABORT_INCOMPLETE_UPLOAD_DAYS: u32 = 7;

/// Adds every bucket of the model.
pub fn add(m: &Model<'_>, t: &mut Template) -> Result<()> {
    for b in &m.app.buckets {
        let id = m.ids.get("Bucket", &b.name);
        let (name, arn_parts) = if b.triggered {
            let name = names::bucket_name(&b.name);
            let parts = vec![
                json!("arn:"),
                json!({ "Ref": "AWS::Partition" }),
                json!(":s3:::"),
                name.clone(),
            ];
            (name, parts)
        } else {
            (
                json!({ "Ref": id }),
                vec![json!({ "Fn::GetAtt": [id, "Arn"] })],
            )
        };
        let arn = sub(arn_parts.clone());
        let objects = sub([arn_parts, vec![json!("/*")]].concat());
        let mut props = json!({
            "BucketEncryption": { "ServerSideEncryptionConfiguration": [{
                "ServerSideEncryptionByDefault": { "SSEAlgorithm": "AES256" }
            }]},
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": true,
                "BlockPublicPolicy": true,
                "IgnorePublicAcls": true,
                "RestrictPublicBuckets": true
            },
            "OwnershipControls": { "Rules": [{ "ObjectOwnership": "BucketOwnerEnforced" }] },
            "VersioningConfiguration": { "Status": "Enabled" },
            "LifecycleConfiguration": { "Rules": [
                {
                    "Id": "expire-old-versions",
                    "Status": "Enabled",
                    "NoncurrentVersionExpiration": { "NoncurrentDays": NONCURRENT_VERSION_DAYS }
                },
                {
                    "Id": "abort-incomplete-uploads",
                    "Status": "Enabled",
                    "AbortIncompleteMultipartUpload": { "DaysAfterInitiation": ABORT_INCOMPLETE_UPLOAD_DAYS }
                }
            ]},
            "Tags": tags()
        });
        let mut bucket = json!({
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain"
        });
        if b.triggered {
            let permission = m.ids.get("InvokeFromBucket", &b.name);
            props["BucketName"] = name.clone();
            let function = json!({ "Fn::GetAtt": ["Function", "Arn"] });
            props["NotificationConfiguration"] = json!({ "LambdaConfigurations": [
                { "Event": "s3:ObjectCreated:*", "Function": function },
                { "Event": "s3:ObjectRemoved:*", "Function": function }
            ]});
            bucket["DependsOn"] = json!([permission]);
            t.resources.insert(
                permission,
                json!({
                    "Type": "AWS::Lambda::Permission",
                    "Properties": {
                        "Action": "lambda:InvokeFunction",
                        "FunctionName": { "Ref": "Function" },
                        "Principal": "s3.amazonaws.com",
                        "SourceAccount": { "Ref": "AWS::AccountId" },
                        "SourceArn": arn
                    }
                }),
            );
        }
        bucket["Properties"] = props;
        skip_check(
            &mut bucket,
            "CKV_AWS_18",
            "No server access logging: it needs a second bucket per app and costs per request; CloudTrail data events are the audited alternative where required",
        );
        t.resources.insert(id.clone(), bucket);
        let scope_arn = |scope: Scope| -> Value {
            match scope {
                Scope::Objects => objects.clone(),
                _ => arn.clone(),
            }
        };
        for access in &b.access {
            t.policy.grant(&id, "bucket", access, &scope_arn)?;
        }
        let var = binding_var(ResourceKind::Bucket, &b.name);
        let binding = sub(vec![json!("s3://"), name.clone()]);
        t.env.insert(var.clone(), binding.clone());
        t.output(format!("Binding{id}"), var, binding);
        t.output(
            format!("{id}Name"),
            format!("The S3 bucket of bucket {:?}", b.name),
            name,
        );
    }
    Ok(())
}
