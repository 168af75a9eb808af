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

    support::quickstart::run(&[
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        (
            "CLOUDPORT_QUEUE_ORDERS",
            format!("sqs://{queue}?endpoint={endpoint}"),
        ),
        (
            "CLOUDPORT_BUCKET_RECEIPTS",
            format!("s3://{bucket}?endpoint={endpoint}"),
        ),
        (
            "CLOUDPORT_KV_ORDERS",
            format!("dynamodb://{table}?endpoint={endpoint}"),
        ),
    ])
    .await;
    support::quickstart::assert_receipts(cloudport::Bucket::new(s3), "S3").await;
}
