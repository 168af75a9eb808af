//! The quickstart's template, from its description (`fixtures/quickstart.description.json`, what
//! `CLOUDPORT_DESCRIBE=1 quickstart` prints): every resource, and the role's exact actions.

use std::collections::{BTreeMap, BTreeSet};

use cloudport_cli::aws::{AwsOptions, template};
use cloudport_cli::describe;
use serde_json::{Value, json};

const QUICKSTART: &[u8] = include_bytes!("fixtures/quickstart.description.json");

fn quickstart() -> Value {
    let d = describe::parse(QUICKSTART).expect("the fixture parses");
    describe::check_declared(&d).expect("the quickstart declares its access");
    template(&d, &AwsOptions::new("quickstart")).expect("a template")
}

fn resource<'a>(t: &'a Value, id: &str) -> &'a Value {
    let r = &t["Resources"][id];
    assert!(r.is_object(), "no resource {id}");
    r
}

fn props<'a>(t: &'a Value, id: &str) -> &'a Value {
    &resource(t, id)["Properties"]
}

fn types(t: &Value) -> BTreeMap<String, String> {
    t["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .map(|(id, r)| {
            (
                id.clone(),
                r["Type"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_resource_is_there() {
    let t = quickstart();
    let want: BTreeMap<String, String> = [
        ("BucketReceipts", "AWS::S3::Bucket"),
        ("Budget", "AWS::Budgets::Budget"),
        ("Dashboard", "AWS::CloudWatch::Dashboard"),
        ("DeadLetterAlarmOrdersDlq", "AWS::CloudWatch::Alarm"),
        ("ErrorsAlarm", "AWS::CloudWatch::Alarm"),
        ("EventSourceOrders", "AWS::Lambda::EventSourceMapping"),
        ("Function", "AWS::Lambda::Function"),
        ("FunctionDeadLetterAlarm", "AWS::CloudWatch::Alarm"),
        ("FunctionDeadLetterQueue", "AWS::SQS::Queue"),
        ("FunctionUrl", "AWS::Lambda::Url"),
        ("InvokeFromScheduleNightlyReport", "AWS::Lambda::Permission"),
        ("LogGroup", "AWS::Logs::LogGroup"),
        ("QueueOrders", "AWS::SQS::Queue"),
        ("QueueOrdersDlq", "AWS::SQS::Queue"),
        ("Role", "AWS::IAM::Role"),
        ("ScheduleRuleNightlyReport", "AWS::Events::Rule"),
        ("TableOrders", "AWS::DynamoDB::Table"),
        ("ThrottlesAlarm", "AWS::CloudWatch::Alarm"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect();
    assert_eq!(types(&t), want);
    assert_eq!(t["AWSTemplateFormatVersion"], "2010-09-09");
    assert!(
        t.get("Transform").is_none(),
        "plain CloudFormation: no SAM transform"
    );
    let params: BTreeSet<&str> = t["Parameters"]
        .as_object()
        .expect("parameters")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        params,
        BTreeSet::from(["CodeBucket", "CodeKey", "LogRetentionDays"])
    );
}

#[test]
fn queue_has_its_dead_letter_queue_and_a_batch_failure_mapping() {
    let t = quickstart();
    let q = props(&t, "QueueOrders");
    assert_eq!(
        q["RedrivePolicy"],
        json!({ "deadLetterTargetArn": { "Fn::GetAtt": ["QueueOrdersDlq", "Arn"] }, "maxReceiveCount": 5 })
    );
    assert_eq!(q["SqsManagedSseEnabled"], true);
    assert_eq!(q["VisibilityTimeout"], 180, "6 x the 30 s function timeout");
    let dlq = props(&t, "QueueOrdersDlq");
    assert_eq!(dlq["SqsManagedSseEnabled"], true);
    assert_eq!(dlq["MessageRetentionPeriod"], 1_209_600);
    assert!(dlq.get("RedrivePolicy").is_none());
    let esm = props(&t, "EventSourceOrders");
    assert_eq!(
        esm["EventSourceArn"],
        json!({ "Fn::GetAtt": ["QueueOrders", "Arn"] })
    );
    assert_eq!(esm["FunctionName"], json!({ "Ref": "Function" }));
    assert_eq!(
        esm["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    assert_eq!(esm["BatchSize"], 10);
}

#[test]
fn bucket_is_private_encrypted_and_versioned() {
    let t = quickstart();
    let b = props(&t, "BucketReceipts");
    assert_eq!(
        b["PublicAccessBlockConfiguration"],
        json!({ "BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true })
    );
    assert_eq!(
        b["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
            ["SSEAlgorithm"],
        "AES256"
    );
    assert_eq!(
        b["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
        "BucketOwnerEnforced"
    );
    assert_eq!(b["VersioningConfiguration"]["Status"], "Enabled");
    assert!(
        b.get("NotificationConfiguration").is_none(),
        "no blob trigger"
    );
    assert!(
        b.get("BucketName").is_none(),
        "CloudFormation names an untriggered bucket"
    );
    assert_eq!(resource(&t, "BucketReceipts")["DeletionPolicy"], "Retain");
}

#[test]
fn table_has_the_driver_schema_and_ttl() {
    let t = quickstart();
    let tbl = props(&t, "TableOrders");
    assert_eq!(
        tbl["KeySchema"],
        json!([{ "AttributeName": "pk", "KeyType": "HASH" }, { "AttributeName": "sk", "KeyType": "RANGE" }])
    );
    assert_eq!(
        tbl["AttributeDefinitions"],
        json!([{ "AttributeName": "pk", "AttributeType": "S" }, { "AttributeName": "sk", "AttributeType": "S" }])
    );
    assert_eq!(tbl["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        tbl["TimeToLiveSpecification"],
        json!({ "AttributeName": "expires_at", "Enabled": true })
    );
    assert_eq!(
        tbl["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(tbl["SSESpecification"]["SSEEnabled"], true);
}

#[test]
fn function_has_the_limits_bindings_and_tag() {
    let t = quickstart();
    let f = props(&t, "Function");
    assert_eq!(f["Runtime"], "provided.al2023");
    assert_eq!(f["Handler"], "bootstrap");
    assert_eq!(f["Architectures"], json!(["x86_64"]));
    assert_eq!(f["MemorySize"], 256);
    assert_eq!(f["Timeout"], 30);
    assert_eq!(f["ReservedConcurrentExecutions"], 10);
    assert_eq!(f["TracingConfig"]["Mode"], "Active");
    assert_eq!(f["LoggingConfig"]["LogGroup"], json!({ "Ref": "LogGroup" }));
    assert_eq!(
        f["Tags"],
        json!([{ "Key": "cloudport:function", "Value": { "Ref": "AWS::StackName" } }])
    );
    assert_eq!(
        f["Environment"]["Variables"],
        json!({
            "CLOUDPORT_QUEUE_ORDERS": { "Fn::Sub": "sqs://${QueueOrders.QueueName}" },
            "CLOUDPORT_BUCKET_RECEIPTS": { "Fn::Sub": "s3://${BucketReceipts}" },
            "CLOUDPORT_KV_ORDERS": { "Fn::Sub": "dynamodb://${TableOrders}?partition=orders" }
        })
    );
    assert_eq!(
        f["DeadLetterConfig"]["TargetArn"],
        json!({ "Fn::GetAtt": ["FunctionDeadLetterQueue", "Arn"] })
    );
    assert_eq!(
        props(&t, "LogGroup")["RetentionInDays"],
        json!({ "Ref": "LogRetentionDays" })
    );
    assert_eq!(t["Parameters"]["LogRetentionDays"]["Default"], 30);
    let url = props(&t, "FunctionUrl");
    assert_eq!(url["AuthType"], "AWS_IAM");
    assert!(
        !types(&t).contains_key("FunctionUrlPublicAccess"),
        "an IAM-signed URL needs no resource policy"
    );
}

#[test]
fn schedule_rule_fires_the_function_at_three() {
    let t = quickstart();
    let rule = props(&t, "ScheduleRuleNightlyReport");
    assert_eq!(rule["ScheduleExpression"], "cron(0 3 * * ? *)");
    assert_eq!(
        rule["Name"],
        json!({ "Fn::Join": ["-", [{ "Ref": "AWS::StackName" }, "nightly-report"]] })
    );
    assert_eq!(
        rule["Targets"][0]["Arn"],
        json!({ "Fn::GetAtt": ["Function", "Arn"] })
    );
    let permission = props(&t, "InvokeFromScheduleNightlyReport");
    assert_eq!(permission["Principal"], "events.amazonaws.com");
    assert_eq!(permission["Action"], "lambda:InvokeFunction");
    assert_eq!(
        permission["SourceArn"],
        json!({ "Fn::GetAtt": ["ScheduleRuleNightlyReport", "Arn"] })
    );
}

#[test]
fn budget_alarms_and_dashboard() {
    let t = quickstart();
    let budget = &props(&t, "Budget")["Budget"];
    assert_eq!(
        budget["BudgetLimit"],
        json!({ "Amount": 10, "Unit": "USD" })
    );
    assert_eq!(
        (budget["BudgetType"].as_str(), budget["TimeUnit"].as_str()),
        (Some("COST"), Some("MONTHLY"))
    );
    assert_eq!(
        budget["CostFilters"]["TagKeyValue"],
        json!([{ "Fn::Join": ["", ["user:cloudport:function$", { "Ref": "AWS::StackName" }]] }])
    );
    assert!(
        props(&t, "Budget")
            .get("NotificationsWithSubscribers")
            .is_none(),
        "no emails in the quickstart"
    );
    for (alarm, metric) in [("ErrorsAlarm", "Errors"), ("ThrottlesAlarm", "Throttles")] {
        let a = props(&t, alarm);
        assert_eq!(
            (a["Namespace"].as_str(), a["MetricName"].as_str()),
            (Some("AWS/Lambda"), Some(metric))
        );
        assert_eq!(a["Threshold"], 0);
        assert_eq!(a["ComparisonOperator"], "GreaterThanThreshold");
    }
    for (alarm, queue) in [
        ("DeadLetterAlarmOrdersDlq", "QueueOrdersDlq"),
        ("FunctionDeadLetterAlarm", "FunctionDeadLetterQueue"),
    ] {
        let a = props(&t, alarm);
        assert_eq!(a["MetricName"], "ApproximateNumberOfMessagesVisible");
        assert_eq!(
            a["Dimensions"][0]["Value"],
            json!({ "Fn::GetAtt": [queue, "QueueName"] })
        );
    }
    let body = props(&t, "Dashboard")["DashboardBody"]["Fn::Sub"]
        .as_str()
        .expect("a Fn::Sub string");
    let body: Value = serde_json::from_str(body).expect("the body is JSON");
    let text = body.to_string();
    for needle in [
        "Invocations",
        "Errors",
        "Throttles",
        "p50",
        "p99",
        "ConcurrentExecutions",
        "ColdStarts",
        "{cloudport,Function,Trigger}",
        "@billedDuration",
        "0.0000166667",
        "${QueueOrdersDlq.QueueName}",
    ] {
        assert!(text.contains(needle), "the dashboard has no {needle}");
    }
}

/// The statement of the role whose Sid is `sid`: (actions, resource).
fn statements(t: &Value) -> BTreeMap<String, (BTreeSet<String>, Value)> {
    let policies = props(t, "Role")["Policies"]
        .as_array()
        .expect("inline policies");
    assert_eq!(policies.len(), 1);
    policies[0]["PolicyDocument"]["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .map(|s| {
            assert_eq!(s["Effect"], "Allow");
            let actions = s["Action"]
                .as_array()
                .expect("an action list")
                .iter()
                .map(|a| a.as_str().expect("a string").to_owned())
                .collect();
            (
                s["Sid"].as_str().expect("a Sid").to_owned(),
                (actions, s["Resource"].clone()),
            )
        })
        .collect()
}

fn set(actions: &[&str]) -> BTreeSet<String> {
    actions.iter().map(|a| (*a).to_owned()).collect()
}

/// The policy test: exactly these actions, each on exactly its resource.
#[test]
fn the_role_grants_exactly_the_declared_access() {
    let t = quickstart();
    let want: BTreeMap<String, (BTreeSet<String>, Value)> = [
        (
            // queue orders: send + consume (driver) + the event source mapping's polling.
            "QueueOrders",
            set(&[
                "sqs:GetQueueUrl",
                "sqs:SendMessage",
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
            ]),
            json!({ "Fn::GetAtt": ["QueueOrders", "Arn"] }),
        ),
        (
            // kv orders read + write, as the DynamoDB driver calls them (no UpdateItem, no Scan).
            "TableOrders",
            set(&[
                "dynamodb:GetItem",
                "dynamodb:Query",
                "dynamodb:PutItem",
                "dynamodb:DeleteItem",
            ]),
            json!({ "Fn::GetAtt": ["TableOrders", "Arn"] }),
        ),
        (
            // bucket receipts write, on its objects only (no ListMultipartUploadParts: never called).
            "ObjectsBucketReceipts",
            set(&["s3:PutObject", "s3:AbortMultipartUpload"]),
            json!({ "Fn::Sub": "${BucketReceipts.Arn}/*" }),
        ),
        (
            "Logs",
            set(&["logs:CreateLogStream", "logs:PutLogEvents"]),
            json!({ "Fn::GetAtt": ["LogGroup", "Arn"] }),
        ),
        (
            "FunctionDeadLetterQueue",
            set(&["sqs:SendMessage"]),
            json!({ "Fn::GetAtt": ["FunctionDeadLetterQueue", "Arn"] }),
        ),
        (
            // The one `*`: X-Ray's write actions have no resource type; they reach no data.
            "Tracing",
            set(&["xray:PutTraceSegments", "xray:PutTelemetryRecords"]),
            json!("*"),
        ),
    ]
    .into_iter()
    .map(|(sid, actions, resource)| (sid.to_owned(), (actions, resource)))
    .collect();
    assert_eq!(statements(&t), want);

    let role = props(&t, "Role");
    assert!(
        role.get("ManagedPolicyArns").is_none(),
        "no managed policies"
    );
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"],
        json!([{ "Effect": "Allow", "Principal": { "Service": "lambda.amazonaws.com" }, "Action": "sts:AssumeRole" }])
    );
}

#[test]
fn no_wildcard_actions_and_no_wildcard_resource_on_data() {
    let t = quickstart();
    for (sid, (actions, resource)) in statements(&t) {
        for a in &actions {
            assert!(!a.contains('*'), "{sid}: wildcard action {a}");
        }
        if resource == json!("*") {
            assert!(
                actions.iter().all(|a| a.starts_with("xray:")),
                "{sid}: Resource \"*\" on {actions:?}"
            );
        }
    }
}

#[test]
fn the_template_is_deterministic_and_sorted() {
    let a = serde_json::to_string(&quickstart()).expect("serialises");
    let b = serde_json::to_string(&quickstart()).expect("serialises");
    assert_eq!(a, b);
    let t = quickstart();
    let ids: Vec<String> = t["Resources"]
        .as_object()
        .expect("resources")
        .keys()
        .cloned()
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
}
