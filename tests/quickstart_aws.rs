//! The quickstart binary, unchanged, with its resources bound to SQS, S3 and DynamoDB on moto.
#![cfg(feature = "aws")]

mod support;

use cloudport::aws::{Aws, Settings};

fn moto() -> String {
    std::env::var("CLOUDPORT_TEST_MOTO").unwrap_or_else(|_| "http://127.0.0.1:5000".to_owned())
}

#[tokio::test]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn quickstart_runs_on_moto() {
    let endpoint = moto();
    let aws = Aws::for_emulator(&endpoint);
    let settings = Settings {
        region: None,
        endpoint: Some(endpoint.clone()),
    };
    let run = format!("{:x}", std::process::id());
    let (queue, bucket, table) = (
        format!("qs-orders-{run}"),
        format!("qs-receipts-{run}"),
        format!("qs-orders-{run}"),
    );

    let sqs = aws.sqs_queue(&queue, settings.clone()).unwrap();
    sqs.client()
        .await
        .create_queue()
        .queue_name(&queue)
        .send()
        .await
        .expect("create queue");
    let s3 = aws.s3_bucket(&bucket, settings.clone(), true).unwrap();
    s3.client()
        .await
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket");
    let kv = aws.dynamodb_kv(&table, "default", settings).unwrap();
    kv.create_table().await.expect("create table");

    let output = tokio::process::Command::new(support::binaries::example("quickstart"))
        .env_clear()
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env(
            "CLOUDPORT_QUEUE_ORDERS",
            format!("sqs://{queue}?endpoint={endpoint}"),
        )
        .env(
            "CLOUDPORT_BUCKET_RECEIPTS",
            format!("s3://{bucket}?endpoint={endpoint}"),
        )
        .env(
            "CLOUDPORT_KV_ORDERS",
            format!("dynamodb://{table}?endpoint={endpoint}"),
        )
        .output()
        .await
        .expect("run quickstart");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "quickstart failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("3 orders, 6549 cents"), "{stdout}");
    assert!(stdout.contains("receipt receipts/o-1003.json"), "{stdout}");

    let listed = s3
        .client()
        .await
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .expect("list");
    assert_eq!(
        listed.contents.unwrap_or_default().len(),
        4,
        "three receipts and a report in S3"
    );
}
