//! Templates for the shapes the quickstart does not have: a blob trigger, an interval schedule,
//! a public URL, budget emails, arm64, declared dead-letter queues; and what is refused.

use cloudport_cli::args::Arch;
use cloudport_cli::aws::{AwsOptions, template};
use cloudport_cli::{Error, describe};
use serde_json::{Value, json};

fn description(extra: Value) -> cloudport_core::app::Description {
    let mut d = json!({
        "cloudport_description": 1, "sdk_version": "0.1.0", "http": false, "any_event": false,
        "triggers": [], "declared": true, "resources": [], "limits": {}
    });
    if let (Some(d), Some(extra)) = (d.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            d.insert(k.clone(), v.clone());
        }
    }
    describe::parse(d.to_string().as_bytes()).expect("a description")
}

fn pipeline() -> Value {
    let d = description(json!({
        "http": true,
        "triggers": [
            { "kind": "blob", "name": "uploads" },
            { "kind": "queue", "name": "jobs" },
            { "kind": "schedule", "name": "tick", "every_seconds": 300 }
        ],
        "resources": [
            { "kind": "queue", "name": "jobs", "access": ["consume"],
              "dead_letter": { "queue": "failed-jobs", "max_deliveries": 3 },
              "declaration": "queue(\"jobs\").consume()" },
            { "kind": "queue", "name": "failed-jobs", "access": ["consume"],
              "dead_letter": { "queue": "failed-jobs-dlq", "max_deliveries": 5 },
              "declaration": "queue(\"failed-jobs\").consume()" },
            { "kind": "bucket", "name": "uploads", "access": ["read", "delete", "list"],
              "declaration": "bucket(\"uploads\").read().delete().list()" }
        ],
        "limits": { "timeout_seconds": 60 },
        "budget": { "monthly_usd": 25, "notify": ["ops@example.com", "dev@example.com"] }
    }));
    let mut o = AwsOptions::new("pipeline");
    o.arch = Arch::Arm64;
    o.public_url = true;
    template(&d, &o).expect("a template")
}

#[test]
fn a_blob_trigger_notifies_the_function_through_a_fixed_bucket_name() {
    let t = pipeline();
    let bucket = &t["Resources"]["BucketUploads"];
    let name = json!({ "Fn::Join": ["-", ["uploads", { "Fn::Select": [2, { "Fn::Split": ["/", { "Ref": "AWS::StackId" }] }] }]] });
    assert_eq!(bucket["Properties"]["BucketName"], name);
    assert_eq!(bucket["DependsOn"], json!(["InvokeFromBucketUploads"]));
    let events: Vec<&Value> =
        bucket["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]
            .as_array()
            .expect("notifications")
            .iter()
            .map(|c| &c["Event"])
            .collect();
    assert_eq!(
        events,
        [&json!("s3:ObjectCreated:*"), &json!("s3:ObjectRemoved:*")]
    );
    let permission = &t["Resources"]["InvokeFromBucketUploads"]["Properties"];
    assert_eq!(permission["Principal"], "s3.amazonaws.com");
    assert_eq!(
        permission["SourceAccount"],
        json!({ "Ref": "AWS::AccountId" })
    );
    let arn = json!({ "Fn::Sub": ["arn:${AWS::Partition}:s3:::${V0}", { "V0": name }] });
    assert_eq!(permission["SourceArn"], arn);
    // The binding and the policy use the name too: no Ref to the bucket, so no cycle.
    let env = &t["Resources"]["Function"]["Properties"]["Environment"]["Variables"];
    assert_eq!(
        env["CLOUDPORT_BUCKET_UPLOADS"],
        json!({ "Fn::Sub": ["s3://${V0}", { "V0": name }] })
    );
    for refers in ["Role", "Function", "InvokeFromBucketUploads"] {
        let text = t["Resources"][refers]["Properties"].to_string();
        for reference in [
            r#"{"Ref":"BucketUploads"}"#,
            r#"["BucketUploads","#,
            "${BucketUploads",
        ] {
            assert!(
                !text.contains(reference),
                "{refers} refers to the bucket: {text}"
            );
        }
    }
    let statements =
        t["Resources"]["Role"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            .as_array()
            .expect("statements")
            .clone();
    let by_sid = |sid: &str| {
        statements
            .iter()
            .find(|s| s["Sid"] == sid)
            .cloned()
            .expect(sid)
    };
    assert_eq!(by_sid("BucketUploads")["Action"], json!(["s3:ListBucket"]));
    assert_eq!(by_sid("BucketUploads")["Resource"], arn);
    assert_eq!(
        by_sid("ObjectsBucketUploads")["Action"],
        json!(["s3:DeleteObject", "s3:GetObject"])
    );
    assert_eq!(
        by_sid("ObjectsBucketUploads")["Resource"],
        json!({ "Fn::Sub": ["arn:${AWS::Partition}:s3:::${V0}/*", { "V0": name }] })
    );
}

#[test]
fn declared_dead_letter_queues_are_referenced_not_duplicated() {
    let t = pipeline();
    let r = &t["Resources"];
    assert_eq!(
        r["QueueJobs"]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"],
        json!({ "Fn::GetAtt": ["QueueFailedJobs", "Arn"] })
    );
    assert_eq!(
        r["QueueJobs"]["Properties"]["RedrivePolicy"]["maxReceiveCount"],
        3
    );
    assert_eq!(r["QueueJobs"]["Properties"]["VisibilityTimeout"], 360);
    assert_eq!(
        r["QueueFailedJobs"]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"],
        json!({ "Fn::GetAtt": ["QueueFailedJobsDlq", "Arn"] })
    );
    let queues = r
        .as_object()
        .expect("resources")
        .values()
        .filter(|v| v["Type"] == "AWS::SQS::Queue")
        .count();
    assert_eq!(
        queues, 4,
        "jobs, failed-jobs, failed-jobs-dlq and the function's"
    );
    for alarm in [
        "DeadLetterAlarmFailedJobs",
        "DeadLetterAlarmFailedJobsDlq",
        "FunctionDeadLetterAlarm",
    ] {
        assert_eq!(r[alarm]["Type"], "AWS::CloudWatch::Alarm", "{alarm}");
        assert_eq!(
            r[alarm]["Properties"]["AlarmActions"],
            json!([{ "Ref": "AlarmTopic" }])
        );
    }
    assert!(
        r.get("EventSourceFailedJobs").is_none(),
        "failed-jobs has no trigger"
    );
}

#[test]
fn interval_public_url_arm64_and_budget_emails() {
    let t = pipeline();
    let r = &t["Resources"];
    assert_eq!(
        r["ScheduleRuleTick"]["Properties"]["ScheduleExpression"],
        "rate(5 minutes)"
    );
    assert_eq!(
        r["Function"]["Properties"]["Architectures"],
        json!(["arm64"])
    );
    assert_eq!(r["Function"]["Properties"]["MemorySize"], 128);
    assert_eq!(r["Function"]["Properties"]["Timeout"], 60);
    assert!(
        r["Function"]["Properties"]
            .get("ReservedConcurrentExecutions")
            .is_none()
    );
    let skipped: Vec<&Value> = r["Function"]["Metadata"]["checkov"]["skip"]
        .as_array()
        .expect("skips")
        .iter()
        .map(|s| &s["id"])
        .collect();
    assert!(
        skipped.contains(&&json!("CKV_AWS_115")),
        "no cap: the concurrency check is skipped with a reason"
    );
    assert_eq!(r["FunctionUrl"]["Properties"]["AuthType"], "NONE");
    assert_eq!(
        r["FunctionUrlPublicAccess"]["Properties"]["FunctionUrlAuthType"],
        "NONE"
    );
    assert_eq!(
        r["FunctionUrlPublicInvoke"]["Properties"]["InvokedViaFunctionUrl"],
        true
    );
    let notifications = r["Budget"]["Properties"]["NotificationsWithSubscribers"]
        .as_array()
        .expect("notifications");
    assert_eq!(notifications.len(), 2);
    assert_eq!(
        notifications[0]["Notification"]["NotificationType"],
        "FORECASTED"
    );
    assert_eq!(notifications[0]["Notification"]["Threshold"], 80);
    assert_eq!(
        notifications[1]["Notification"]["NotificationType"],
        "ACTUAL"
    );
    assert_eq!(notifications[1]["Notification"]["Threshold"], 100);
    assert_eq!(
        notifications[1]["Subscribers"][1]["Address"],
        "dev@example.com"
    );
    assert_eq!(
        r["AlarmTopic"]["Properties"]["Subscription"][0]["Endpoint"],
        "ops@example.com"
    );
    assert!(
        r["Dashboard"].to_string().contains("0.0000133334"),
        "arm64 price"
    );
}

#[test]
fn refusals() {
    let refuse = |extra: Value, stack: &str| {
        template(&description(extra), &AwsOptions::new(stack)).expect_err("refused")
    };
    // Sub-minute schedules, seconds in cron, both day fields.
    let e = refuse(
        json!({ "triggers": [{ "kind": "schedule", "name": "s", "every_seconds": 90 }] }),
        "a",
    );
    assert!(e.to_string().contains("multiple of 60"), "{e}");
    let e = refuse(
        json!({ "triggers": [{ "kind": "schedule", "name": "s", "cron": "30 0 3 * * *" }] }),
        "a",
    );
    assert!(e.to_string().contains("seconds field must be 0"), "{e}");
    let e = refuse(
        json!({ "triggers": [{ "kind": "schedule", "name": "s", "every_seconds": 60, "every_subsec_nanos": 5 }] }),
        "a",
    );
    assert!(e.to_string().contains("fraction of a second"), "{e}");
    // A rule name over 64 characters.
    let e = refuse(
        json!({ "triggers": [{ "kind": "schedule", "name": "a-rather-long-schedule-name", "cron": "0 0 3 * * *" }] }),
        &"s".repeat(40),
    );
    assert!(e.to_string().contains("at most 64"), "{e}");
    // A trigger without a resource, an unknown access, a dead-letter loop.
    let e = refuse(
        json!({ "triggers": [{ "kind": "queue", "name": "q" }] }),
        "a",
    );
    assert!(e.to_string().contains("no resource entry"), "{e}");
    let e = refuse(
        json!({ "resources": [{ "kind": "kv", "name": "k", "access": ["admin"], "declaration": "" }] }),
        "a",
    );
    assert!(e.to_string().contains("no IAM mapping"), "{e}");
    let e = refuse(
        json!({ "resources": [{ "kind": "queue", "name": "a", "access": ["send"], "dead_letter": { "queue": "a", "max_deliveries": 2 }, "declaration": "" }] }),
        "a",
    );
    assert!(e.to_string().contains("lead back"), "{e}");
}

#[test]
fn an_undeclared_app_is_refused_with_the_declarations_to_add() {
    let d = description(json!({
        "declared": false,
        "triggers": [{ "kind": "queue", "name": "orders" }],
        "resources": [
            { "kind": "queue", "name": "orders", "access": ["consume"], "declaration": "queue(\"orders\").consume()" },
            { "kind": "bucket", "name": "receipts", "access": ["read", "write", "delete", "list"],
              "declaration": "bucket(\"receipts\").read().write().delete().list()" }
        ]
    }));
    let e = describe::check_declared(&d).expect_err("refused");
    let Error::Undeclared { suggestions } = &e else {
        panic!("not Undeclared: {e}")
    };
    assert_eq!(
        suggestions,
        &[
            r#".uses(queue("orders").consume())"#.to_owned(),
            r#".uses(bucket("receipts").read().write().delete().list())"#.to_owned(),
        ]
    );
    assert!(
        e.to_string()
            .contains(r#"    .uses(bucket("receipts").read().write().delete().list())"#)
    );
    // An app with nothing to declare (HTTP only) is not refused: it gets no data access.
    let http_only = description(json!({ "declared": false, "http": true }));
    describe::check_declared(&http_only).expect("nothing to declare");
}

#[test]
fn an_unknown_description_version_is_refused() {
    let e = describe::parse(br#"{"cloudport_description": 2}"#).expect_err("refused");
    assert!(
        matches!(
            e,
            Error::DescriptionVersion {
                found: 2,
                supported: 1
            }
        ),
        "{e}"
    );
    assert!(describe::parse(br#"{"sdk_version": "0.1.0"}"#).is_err());
}
