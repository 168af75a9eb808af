//! The app's decision record, generated for the quickstart: its sections, the facts each takes
//! from the description, and the cost numbers of the worked example (`cost_quickstart.rs`).

use cloudport_cli::cost::{Cloud, Usage, estimate};
use cloudport_cli::{adr, cost};

mod support {
    pub(crate) mod fixture;
}
use support::fixture::quickstart;

fn record() -> String {
    let d = quickstart();
    let usage = Usage {
        messages_per_month: Some(3_000_000),
        message_bytes: 4096,
        objects_written: Some(1_200_400),
        objects_read: Some(500_000),
        object_storage_gb: Some(10.0),
        kv_reads: Some(2_000_000),
        kv_writes: Some(1_200_000),
        kv_storage_gb: Some(2.0),
        ..Usage::new(8_000_000, 240)
    };
    let estimates: Vec<cost::Estimate> = Cloud::ALL
        .into_iter()
        .map(|c| estimate(&d, &usage, c).expect("estimate"))
        .collect();
    adr::render(&d, &estimates, "quickstart")
}

fn assert_has(md: &str, needles: &[&str]) {
    for needle in needles {
        assert!(md.contains(needle), "missing {needle:?} in\n{md}");
    }
}

#[test]
fn has_the_sections_of_a_decision_record_in_order() {
    let md = record();
    let sections = [
        "# ADR: `quickstart` on AWS, Azure and Google Cloud",
        "Status: proposed.",
        "## Context",
        "## Decision",
        "### 1. Runtime and host",
        "### 2. State",
        "### 3. Access",
        "### 4. Limits and budget",
        "### 5. Cost projection",
        "## Consequences",
    ];
    let mut at = 0;
    for s in sections {
        let found = md[at..]
            .find(s)
            .unwrap_or_else(|| panic!("{s:?} missing or out of order in\n{md}"));
        at += found + s.len();
    }
}

#[test]
fn context_says_what_the_app_does() {
    assert_has(
        &record(),
        &[
            "- It serves HTTP with its own router.",
            "- Each message on queue `orders` is one invocation.",
            "- Schedule `nightly-report` runs it, cron `0 0 3 * * *` (UTC, seconds first).",
            "| queue `orders` | send, consume | `orders-dlq` after 5 deliveries | `queue(\"orders\").send().consume()` |",
            "| bucket `receipts` | write | — |",
            "| kv `orders` | read, write | — |",
        ],
    );
}

#[test]
fn runtime_and_host_per_cloud_and_per_trigger() {
    assert_has(
        &record(),
        &[
            "Lambda `provided.al2023`",
            "Azure Functions custom handler (`FUNCTIONS_WORKER_RUNTIME=custom`), Flex Consumption plan",
            "Cloud Run service (request-based billing)",
            "Function URL (`AWS_IAM` auth unless `--public-url`)",
            "| queue `orders` | SQS event source mapping: batches of 10, `ReportBatchItemFailures`, visibility timeout 6 × the function timeout | queue trigger function `queue-orders` | Pub/Sub push subscription to `/_cloudport/queue/orders`",
            "EventBridge rule `<stack>-nightly-report`, `cron(0 3 * * ? *)`",
            "timer trigger function `schedule-nightly-report`",
            "Cloud Scheduler job calling `/_cloudport/schedule/nightly-report` with an OIDC token",
        ],
    );
}

#[test]
fn state_consistency_idempotency_and_dead_letters() {
    assert_has(
        &record(),
        &[
            "| queue `orders` | SQS standard queue (SSE-SQS) | Storage queue | Pub/Sub topic + subscription | at-least-once delivery",
            "| kv `orders` | DynamoDB table, on demand (`pk`/`sk`, TTL, PITR), strongly consistent reads | Table Storage table, ETag `If-Match` on versioned writes | Firestore documents, `update_time` / `exists` preconditions | strong reads; conditional (versioned, create-only) writes; TTL |",
            "cloudport's `Idempotency` runs work at most once per key",
            "Store(s) it can use: `orders`.",
            "- queue `orders`: after 5 deliveries to `orders-dlq`: SQS `RedrivePolicy.maxReceiveCount` 5; Azure: the Functions host moves it to `orders-poison` (its own name) after host.json's `maxDequeueCount` (one value for the whole app); Pub/Sub dead-letter topic, `max_delivery_attempts` 5",
        ],
    );
}

#[test]
fn access_maps_each_declaration_on_each_cloud() {
    // The rows come from the generators' tables (aws::iam, azure::roles, gcp::iam).
    assert_has(
        &record(),
        &[
            "| queue `orders` | send | `sqs:GetQueueUrl`, `sqs:SendMessage` | Storage Queue Data Message Sender `c6a89b2d-59bc-44d0-9896-0f6e12d7b80a` | `roles/pubsub.publisher` on the topic |",
            "| queue `orders` | consume | `sqs:ChangeMessageVisibility`, `sqs:DeleteMessage`, `sqs:GetQueueUrl`, `sqs:ReceiveMessage` | Storage Queue Data Contributor `974c5e8b-45b9-4653-ba55-5f855dd0fb88` + Storage Queue Data Message Sender `c6a89b2d-59bc-44d0-9896-0f6e12d7b80a` on its poison queue | `roles/pubsub.subscriber` on the subscription |",
            "| bucket `receipts` | write | `s3:AbortMultipartUpload`, `s3:PutObject` | Storage Blob Data Contributor `ba92f5b4-2d11-453d-a403-e96b0029c9fe` | `roles/storage.objectUser` on the bucket |",
            "| kv `orders` | read | `dynamodb:GetItem`, `dynamodb:Query` | Storage Table Data Reader `76199698-9eea-4c19-bc75-cec21354c6b6` | `roles/datastore.viewer` on the database |",
            "| kv `orders` | write | `dynamodb:DeleteItem`, `dynamodb:PutItem` | Storage Table Data Contributor `0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3` | `roles/datastore.user` on the database |",
        ],
    );
}

#[test]
fn limits_budget_and_the_cost_numbers() {
    assert_has(
        &record(),
        &[
            "| memory | 256 MB (set in code) | `MemorySize` 256 | instance memory 512 MB",
            "| timeout | 30 s (set in code) | `Timeout` 30; SQS visibility 180 s | host.json `functionTimeout` `00:00:30` |",
            "| max concurrency | 10 (set in code): the hard cap on spend | `ReservedConcurrentExecutions` 10 |",
            "Budget: **$10 a month**.",
            "- AWS: projected $13.37 a month, **over the budget**.",
            "- Azure: projected $35.65 a month, **over the budget**.",
            "- Google Cloud: projected $63.88 a month, **over the budget**.",
            "#### AWS — Lambda provided.al2023, x86_64, 256 MB (us-east-1)",
            "**$13.37 / month**",
            "the cheapest is AWS ($13.37) a month",
        ],
    );
}

#[test]
fn an_undeclared_app_is_flagged() {
    let d = cloudport_cli::describe::parse(
        br#"{"cloudport_description": 1, "sdk_version": "0.1.0", "http": false,
            "any_event": false, "triggers": [{"kind": "queue", "name": "jobs"}], "declared": false,
            "resources": [{"kind": "queue", "name": "jobs", "access": ["consume"],
                           "declaration": "queue(\"jobs\").consume()"}], "limits": {}}"#,
    )
    .expect("parses");
    let md = adr::render(&d, &[], "jobs");
    assert_has(
        &md,
        &[
            "**The app declares no access.**",
            "The app declares no KV store it can read and write",
            "| memory | 128 MB (default) |",
            "| max concurrency | none: nothing caps spend |",
            "Budget: none set in code",
            "No projection was made",
        ],
    );
}
