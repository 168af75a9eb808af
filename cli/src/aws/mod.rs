//! AWS: a plain CloudFormation template (no SAM transform, so cfn-lint checks IAM action names)
//! generated from the app's description.
//!
//! Deterministic: resources and keys are sorted, logical ids come from logical names
//! ([`names::Ids`]). Every resource is tagged `cloudport:function = <stack name>` so the budget
//! can filter the app's costs by it.

pub mod bucket;
pub mod deploy;
pub mod function;
pub mod iam;
pub mod names;
pub mod observability;
pub mod queue;
pub mod schedule;
pub mod table;

use std::collections::BTreeMap;

use cloudport_core::app::Description;
use serde_json::{Map, Value, json};

use crate::Result;
use crate::args::Arch;
use names::Ids;

/// The cost-allocation tag on every resource: `cloudport:function = <stack name>`.
pub const TAG_KEY: &str = "cloudport:function";

/// Deployment choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsOptions {
    /// The function's architecture.
    pub arch: Arch,
    /// Whether the Function URL is public (auth type `NONE`) rather than IAM-signed.
    pub public_url: bool,
    /// The stack name the deploy commands use (checked against EventBridge's rule name limit).
    pub stack_name: String,
}

impl AwsOptions {
    /// x86_64, IAM-signed Function URL, stack `stack_name`.
    pub fn new(stack_name: impl Into<String>) -> Self {
        Self {
            arch: Arch::X86_64,
            public_url: false,
            stack_name: stack_name.into(),
        }
    }
}

/// The description, checked and indexed for the generators.
#[derive(Debug)]
pub struct Model<'a> {
    /// The description, checked and indexed the same way for every cloud.
    pub app: crate::model::Model<'a>,
    /// The options.
    pub o: &'a AwsOptions,
    /// Logical ids.
    pub ids: Ids,
}

impl<'a> Model<'a> {
    /// Checks the description ([`crate::model::Model::new`]), then what is AWS's own: every
    /// access has an IAM mapping ([`iam::grants`]) and every logical id fits.
    pub fn new(d: &'a Description, o: &'a AwsOptions) -> Result<Self> {
        let app = crate::model::Model::new(d)?;
        app.check_access(iam::grants)?;
        let ids = Ids::new(
            app.queues
                .iter()
                .map(|q| q.name.as_str())
                .chain(app.dead_letter_only.iter().map(String::as_str))
                .flat_map(|n| [("Queue", n), ("EventSource", n), ("DeadLetterAlarm", n)])
                .chain(app.buckets.iter().flat_map(|b| {
                    [
                        ("Bucket", b.name.as_str()),
                        ("InvokeFromBucket", b.name.as_str()),
                    ]
                }))
                .chain(app.stores.iter().map(|t| ("Table", t.name.as_str())))
                .chain(app.schedules.iter().flat_map(|s| {
                    [
                        ("ScheduleRule", s.name.as_str()),
                        ("InvokeFromSchedule", s.name.as_str()),
                    ]
                })),
        )?;
        Ok(Self { app, o, ids })
    }

    /// The function's memory (MiB): the code's limit, default 128.
    pub fn memory_mb(&self) -> u32 {
        self.app
            .d
            .limits
            .memory_mb
            .unwrap_or(function::DEFAULT_MEMORY_MB)
    }

    /// The function's timeout (s): the code's limit, default 30.
    pub fn timeout_seconds(&self) -> u32 {
        self.app
            .d
            .limits
            .timeout_seconds
            .unwrap_or(function::DEFAULT_TIMEOUT_SECONDS)
    }

    /// Whether Lambda invokes the function asynchronously (schedules, S3 notifications, other
    /// events), so failures past its retries need a dead-letter queue.
    pub fn has_async_triggers(&self) -> bool {
        !self.app.schedules.is_empty()
            || self.app.buckets.iter().any(|b| b.triggered)
            || self.app.d.any_event
    }
}

/// The template under construction.
#[derive(Debug, Default)]
pub struct Template {
    /// Resources by logical id.
    pub resources: Map<String, Value>,
    /// Outputs by key.
    pub outputs: Map<String, Value>,
    /// The function's environment variables (the `CLOUDPORT_*` bindings).
    pub env: Map<String, Value>,
    /// The role's statements.
    pub policy: iam::Policy,
    /// Dead-letter queues to alarm on: (queue id, alarm id, what it holds).
    pub dead_letter_queues: Vec<(String, String, String)>,
}

impl Template {
    /// Adds an output.
    pub fn output(&mut self, key: impl Into<String>, description: impl Into<String>, value: Value) {
        self.outputs.insert(
            key.into(),
            json!({ "Description": description.into(), "Value": value }),
        );
    }
}

/// The cost-allocation tag, as a CloudFormation tag list.
pub fn tags() -> Value {
    json!([{ "Key": TAG_KEY, "Value": { "Ref": "AWS::StackName" } }])
}

/// Records why checkov's check `id` does not apply to `resource` (its `Metadata.checkov.skip`).
pub fn skip_check(resource: &mut Value, id: &str, comment: &str) {
    let skips = &mut resource["Metadata"]["checkov"]["skip"];
    if !skips.is_array() {
        *skips = json!([]);
    }
    if let Some(list) = skips.as_array_mut() {
        list.push(json!({ "id": id, "comment": comment }));
    }
}

/// The CloudFormation template for `d`.
pub fn template(d: &Description, o: &AwsOptions) -> Result<Value> {
    let model = Model::new(d, o)?;
    let mut t = Template::default();
    queue::add(&model, &mut t)?;
    bucket::add(&model, &mut t)?;
    table::add(&model, &mut t)?;
    schedule::add(&model, &mut t)?;
    function::add(&model, &mut t)?;
    observability::add(&model, &mut t)?;
    let statements = t.policy.statements();
    t.resources
        .insert("Role".into(), iam::role(statements, tags()));
    let template = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!(
            "cloudport app (description v{}, cloudport {}), generated by cargo-cloudport {} from what the code declares",
            d.cloudport_description, d.sdk_version, env!("CARGO_PKG_VERSION")
        ),
        "Parameters": {
            "CodeBucket": {
                "Type": "String",
                "Description": "The S3 bucket holding function.zip (aws s3 cp function.zip s3://<CodeBucket>/<CodeKey>)"
            },
            "CodeKey": {
                "Type": "String",
                "Description": "The key of function.zip in CodeBucket"
            },
            "LogRetentionDays": {
                "Type": "Number",
                "Default": 30,
                "AllowedValues": [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653],
                "Description": "Days the function's log group keeps its events"
            }
        },
        "Resources": Value::Object(t.resources),
        "Outputs": Value::Object(t.outputs),
    });
    Ok(sorted(template))
}

/// The value with every object's keys sorted, whatever serde_json's map order is.
pub fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<String, Value> =
                map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}
