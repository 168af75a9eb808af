//! KV stores: an `AWS::DynamoDB::Table` per store with the driver's schema — string partition key
//! `pk`, string sort key `sk`, TTL on `expires_at` (`providers/aws/src/kv.rs`) — on demand, with
//! point-in-time recovery and encryption at rest under the AWS managed key.
//!
//! Binding: `dynamodb://<table>?partition=<logical name>`. Each store has a table of its own, and
//! its items still say which store wrote them, so stores could later share a table without
//! moving data.

use cloudport_core::ResourceKind;
use cloudport_core::env::binding_var;
use serde_json::json;

use super::iam::Scope;
use super::names::sub;
use super::{Model, Template, tags};
use crate::Result;

/// The partition key attribute the driver writes.
pub const PARTITION_KEY: &str = "pk";
/// The sort key attribute (the entry's key).
pub const SORT_KEY: &str = "sk";
/// The attribute DynamoDB's TTL deletes expired entries by (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// `value` percent-encoded for a URL query (everything but `A-Za-z0-9-._~`).
///
/// ```
/// assert_eq!(cloudport_cli::aws::table::query_value("orders v2/€"), "orders%20v2%2F%E2%82%AC");
/// ```
pub fn query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Adds every KV store of the model.
pub fn add(m: &Model<'_>, t: &mut Template) -> Result<()> {
    for s in &m.app.stores {
        let id = m.ids.get("Table", &s.name);
        t.resources.insert(
            id.clone(),
            json!({
                "Type": "AWS::DynamoDB::Table",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {
                    "AttributeDefinitions": [
                        { "AttributeName": PARTITION_KEY, "AttributeType": "S" },
                        { "AttributeName": SORT_KEY, "AttributeType": "S" }
                    ],
                    "KeySchema": [
                        { "AttributeName": PARTITION_KEY, "KeyType": "HASH" },
                        { "AttributeName": SORT_KEY, "KeyType": "RANGE" }
                    ],
                    "BillingMode": "PAY_PER_REQUEST",
                    "TimeToLiveSpecification": { "AttributeName": TTL_ATTRIBUTE, "Enabled": true },
                    "PointInTimeRecoverySpecification": { "PointInTimeRecoveryEnabled": true },
                    "SSESpecification": { "SSEEnabled": true },
                    "Tags": tags()
                },
                "Metadata": { "checkov": { "skip": [{
                    "id": "CKV_AWS_119",
                    "comment": "Encrypted at rest with the AWS managed key (aws/dynamodb): no key policy to keep and no KMS permission on the role; a customer managed key is a deliberate choice (cost, key policy) left to the user"
                }]}}
            }),
        );
        let arn = json!({ "Fn::GetAtt": [id, "Arn"] });
        for access in &s.access {
            t.policy.grant(&id, "kv", access, &|_: Scope| arn.clone())?;
        }
        let var = binding_var(ResourceKind::Kv, &s.name);
        let binding = sub(vec![
            json!("dynamodb://"),
            json!({ "Ref": id }),
            json!(format!("?partition={}", query_value(&s.name))),
        ]);
        t.env.insert(var.clone(), binding.clone());
        t.output(format!("Binding{id}"), var, binding);
        t.output(
            format!("{id}Name"),
            format!("The DynamoDB table of KV store {:?}", s.name),
            json!({ "Ref": id }),
        );
    }
    Ok(())
}
