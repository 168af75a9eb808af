//! `cargo cloudport package --cloud aws --example quickstart` end to end: the zip and template it
//! writes pass cfn-lint (no errors, no IAM-action warnings) and checkov (every skipped check
//! carries its reason), the template is created on moto's CloudFormation (only the types moto
//! skips warn, and those are checked from the template), the deployed function reads back as
//! declared, and the quickstart completes its flow against the queue, table and bucket the stack
//! created — bound from the stack's outputs.
//!
//! `./scripts/test.sh` packages the quickstart once (the step "package the quickstart for AWS")
//! and passes the directory in `CLOUDPORT_DEPLOY_AWS_OUT`; without it this test packages it
//! itself. The tools come from `scripts/tools.sh` (`CLOUDPORT_CFN_LINT`, `CLOUDPORT_CHECKOV`),
//! moto from `scripts/emulators.sh`.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The resource types moto 5.2's CloudFormation skips with only a log line; the stack still
/// reaches CREATE_COMPLETE. Everything else in the template must be created.
const MOTO_SKIPS: &[&str] = &[
    "AWS::Budgets::Budget",
    "AWS::Lambda::Url",
    "AWS::CloudWatch::Alarm",
];

fn moto() -> String {
    std::env::var("CLOUDPORT_TEST_MOTO").unwrap_or_else(|_| "http://127.0.0.1:5000".to_owned())
}

fn tool(var: &str, name: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| name.to_owned())
}

/// The packaged quickstart: `CLOUDPORT_DEPLOY_AWS_OUT`, or packaged here.
fn packaged() -> PathBuf {
    if let Ok(dir) = std::env::var("CLOUDPORT_DEPLOY_AWS_OUT") {
        return PathBuf::from(dir);
    }
    let out = std::env::temp_dir().join(format!("cloudport-deploy-aws-{}", std::process::id()));
    let status = Command::new(env!("CARGO"))
        .args([
            "run",
            "--quiet",
            "-p",
            "cargo-cloudport",
            "--",
            "cloudport",
            "package",
        ])
        .args(["--cloud", "aws", "--example", "quickstart", "--out"])
        .arg(&out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("run cargo cloudport package");
    assert!(status.success(), "cargo cloudport package failed");
    out
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// cfn-lint: no error, no IAM-action warning (W3037), and nothing else unexplained.
fn cfn_lint(template: &Path) {
    let output = Command::new(tool("CLOUDPORT_CFN_LINT", "cfn-lint"))
        .args(["--format", "json"])
        .arg(template)
        .output()
        .expect("run cfn-lint (scripts/tools.sh installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let matches: Vec<Value> = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "cfn-lint printed no JSON ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let found: Vec<String> = matches
        .iter()
        .map(|m| format!("{} {}: {}", m["Level"], m["Rule"]["Id"], m["Message"]))
        .collect();
    assert!(found.is_empty(), "cfn-lint found:\n{}", found.join("\n"));
}

/// checkov: no failed check; every skipped one names its reason.
fn checkov(template: &Path) {
    let output = Command::new(tool("CLOUDPORT_CHECKOV", "checkov"))
        .args([
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--quiet",
            "--compact",
        ])
        .arg("--file")
        .arg(template)
        .output()
        .expect("run checkov (scripts/tools.sh installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "checkov printed no JSON ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    // One framework: an object; several: a list of them.
    let reports = match report {
        Value::Array(all) => all,
        one => vec![one],
    };
    let mut failed = Vec::new();
    for r in &reports {
        for c in r["results"]["failed_checks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            failed.push(format!(
                "{} {} on {}",
                c["check_id"], c["check_name"], c["resource"]
            ));
        }
        for c in r["results"]["skipped_checks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let reason = c["suppress_comment"].as_str().unwrap_or_default();
            assert!(
                reason.len() > 10,
                "checkov check {} skipped on {} without a reason",
                c["check_id"],
                c["resource"]
            );
            eprintln!(
                "checkov: skipped {} on {}: {reason}",
                c["check_id"], c["resource"]
            );
        }
    }
    assert!(failed.is_empty(), "checkov failed:\n{}", failed.join("\n"));
}

/// The resources of `template` of type `ty`.
fn of_type<'a>(template: &'a Value, ty: &str) -> Vec<(&'a String, &'a Value)> {
    template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == ty)
        .collect()
}

/// What moto skipped, checked from the template itself.
fn check_skipped_from_the_template(template: &Value) {
    let budgets = of_type(template, "AWS::Budgets::Budget");
    assert_eq!(budgets.len(), 1, "one budget");
    let budget = &budgets[0].1["Properties"]["Budget"];
    assert_eq!(
        budget["BudgetLimit"]["Amount"], 10,
        "the quickstart's 10 USD"
    );
    assert_eq!(budget["BudgetType"], "COST");
    assert_eq!(budget["TimeUnit"], "MONTHLY");
    let filter = budget.to_string();
    assert!(
        filter.contains("user:cloudport:function"),
        "the budget filters by the function's cost-allocation tag: {filter}"
    );
    let urls = of_type(template, "AWS::Lambda::Url");
    assert_eq!(
        urls.len(),
        1,
        "the quickstart serves HTTP: one Function URL"
    );
    assert_eq!(urls[0].1["Properties"]["AuthType"], "AWS_IAM");
    let alarms: BTreeSet<String> = of_type(template, "AWS::CloudWatch::Alarm")
        .iter()
        .map(|(_, a)| {
            a["Properties"]["MetricName"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    for metric in ["Errors", "Throttles", "ApproximateNumberOfMessagesVisible"] {
        assert!(alarms.contains(metric), "an alarm on {metric}: {alarms:?}");
    }
}

/// moto's log names every type it skipped: none beyond [`MOTO_SKIPS`].
fn check_moto_log() {
    let Ok(path) = std::env::var("CLOUDPORT_MOTO_LOG") else {
        eprintln!("CLOUDPORT_MOTO_LOG is not set: moto's log is not checked");
        return;
    };
    let log = std::fs::read_to_string(&path).unwrap_or_default();
    for line in log.lines() {
        let ty = line
            .split("No Moto CloudFormation support for ")
            .nth(1)
            .or_else(|| {
                line.split("Tried to parse ")
                    .nth(1)
                    .and_then(|rest| rest.split(" but").next())
            });
        if let Some(ty) = ty {
            assert!(
                MOTO_SKIPS.contains(&ty.trim()),
                "moto skipped {ty} (only {MOTO_SKIPS:?} may be): {line}"
            );
        }
    }
}

/// The resource name in binding `var` (`sqs://NAME?…` → `NAME`).
fn native_name(bindings: &[(String, String)], var: &str, scheme: &str) -> String {
    let (_, url) = bindings.iter().find(|(k, _)| k == var).unwrap();
    let rest = url.strip_prefix(scheme).unwrap();
    rest.split('?').next().unwrap().to_owned()
}

/// `url` with the moto endpoint and region added.
fn at_moto(url: &str, endpoint: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}endpoint={endpoint}&region=us-east-1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs emulators and the deploy tools: ./scripts/test.sh"]
async fn the_quickstart_packages_passes_the_validators_and_deploys_on_moto() {
    let out = packaged();
    let template_path = out.join("template.json");
    let template = read_json(&template_path);
    assert!(out.join("function.zip").is_file(), "function.zip written");
    assert!(template.get("Transform").is_none(), "plain CloudFormation");

    cfn_lint(&template_path);
    checkov(&template_path);
    check_skipped_from_the_template(&template);

    // Created on moto's CloudFormation.
    let endpoint = moto();
    let stack = format!("quickstart-{:x}", std::process::id());
    let output = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/deploy_moto.py"))
        .args(["--endpoint", &endpoint, "--stack", &stack, "--template"])
        .arg(&template_path)
        .arg("--zip")
        .arg(out.join("function.zip"))
        .output()
        .expect("run scripts/deploy_moto.py");
    assert!(
        output.status.success(),
        "deploying on moto failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let deployed: Value = serde_json::from_slice(&output.stdout).expect("deploy_moto JSON");
    assert_eq!(deployed["status"], "CREATE_COMPLETE");
    for skipped in deployed["skipped"].as_array().unwrap() {
        let ty = skipped["type"].as_str().unwrap();
        assert!(
            MOTO_SKIPS.contains(&ty),
            "moto skipped {skipped} (only {MOTO_SKIPS:?} may be)"
        );
    }
    check_moto_log();
    let created: BTreeSet<&str> = deployed["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    for ty in [
        "AWS::SQS::Queue",
        "AWS::S3::Bucket",
        "AWS::DynamoDB::Table",
        "AWS::IAM::Role",
        "AWS::Lambda::Function",
        "AWS::Lambda::EventSourceMapping",
        "AWS::Lambda::Permission",
        "AWS::Events::Rule",
        "AWS::Logs::LogGroup",
        "AWS::CloudWatch::Dashboard",
    ] {
        assert!(created.contains(ty), "{ty} created: {created:?}");
    }

    // The function as deployed: provided.al2023, the limits the code set, the bindings.
    let functions = deployed["functions"].as_object().unwrap();
    assert_eq!(functions.len(), 1, "one function");
    let function = functions.values().next().unwrap();
    assert_eq!(function["runtime"], "provided.al2023");
    assert_eq!(function["handler"], "bootstrap");
    assert_eq!(function["memory_mb"], 256);
    assert_eq!(function["timeout_seconds"], 30);
    assert_eq!(function["reserved_concurrency"], 10);
    let mappings = function["event_source_mappings"].as_array().unwrap();
    assert_eq!(mappings.len(), 1, "the orders queue triggers the function");
    assert_eq!(mappings[0]["response_types"][0], "ReportBatchItemFailures");
    let environment = function["environment"].as_object().unwrap();
    let outputs: BTreeSet<&str> = deployed["outputs"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_str)
        .collect();
    let bindings: Vec<(String, String)> = environment
        .iter()
        .filter(|(k, _)| k.starts_with("CLOUDPORT_") && k.as_str() != "CLOUDPORT_HOST")
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .filter(|(k, _)| {
            ["CLOUDPORT_QUEUE_", "CLOUDPORT_BUCKET_", "CLOUDPORT_KV_"]
                .iter()
                .any(|p| k.starts_with(p))
        })
        .collect();
    let names: BTreeSet<&str> = bindings.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "CLOUDPORT_BUCKET_RECEIPTS",
            "CLOUDPORT_KV_ORDERS",
            "CLOUDPORT_QUEUE_ORDERS"
        ]),
        "one binding per declared resource"
    );
    for (var, url) in &bindings {
        assert!(
            outputs.contains(url.as_str()),
            "the stack's outputs give {var}'s binding {url}: {outputs:?}"
        );
    }

    // The dead-letter queue and its redrive policy, read back.
    let queue_name = native_name(&bindings, "CLOUDPORT_QUEUE_ORDERS", "sqs://");
    let aws = cloudport::aws::Aws::for_emulator(&endpoint);
    let settings = cloudport::aws::Settings {
        region: Some("us-east-1".into()),
        endpoint: Some(endpoint.clone()),
    };
    let sqs = aws.sqs_queue(&queue_name, settings.clone()).unwrap();
    let client = sqs.client().await;
    let url = client
        .get_queue_url()
        .queue_name(&queue_name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let attributes = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(cloudport::aws::sdk::sqs::types::QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .unwrap();
    let redrive = attributes
        .attributes
        .unwrap()
        .get(&cloudport::aws::sdk::sqs::types::QueueAttributeName::RedrivePolicy)
        .cloned()
        .unwrap();
    let redrive: Value = serde_json::from_str(&redrive).unwrap();
    assert_eq!(
        redrive["maxReceiveCount"].to_string().trim_matches('"'),
        "5"
    );

    // The quickstart, unchanged, against what the stack created.
    let mut vars: Vec<(&str, String)> = vec![
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
    ];
    for (var, url) in &bindings {
        vars.push((var.as_str(), at_moto(url, &endpoint)));
    }
    support::quickstart::run(&vars).await;
    let bucket = native_name(&bindings, "CLOUDPORT_BUCKET_RECEIPTS", "s3://");
    let receipts = cloudport::Bucket::new(aws.s3_bucket(&bucket, settings, true).unwrap());
    support::quickstart::assert_receipts(receipts, "the stack's bucket").await;
}
