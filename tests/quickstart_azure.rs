//! The quickstart binary, unchanged, with its resources bound to Storage Queue, Blob and Table on
//! Azurite.
#![cfg(feature = "azure")]

mod support;

use cloudport::Bucket;
use cloudport::azure::{Azure, DEVELOPMENT_ACCOUNT};

fn azurite() -> String {
    std::env::var("CLOUDPORT_TEST_AZURITE").unwrap_or_else(|_| "UseDevelopmentStorage=true".into())
}

#[tokio::test]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn quickstart_runs_on_azurite() {
    let azure = Azure::from_connection_string(azurite());
    let run = format!("{:x}", std::process::id());
    let (queue, container, table) = (
        format!("qs-orders-{run}"),
        format!("qs-receipts-{run}"),
        format!("qsorders{run}"),
    );
    azure
        .queue(DEVELOPMENT_ACCOUNT, &queue, None)
        .unwrap()
        .create()
        .await
        .expect("create queue");
    let blobs = azure
        .container(DEVELOPMENT_ACCOUNT, &container, None)
        .unwrap();
    blobs.create().await.expect("create container");
    azure
        .table(DEVELOPMENT_ACCOUNT, &table, "default", None)
        .unwrap()
        .create_table()
        .await
        .expect("create table");

    support::quickstart::run(&[
        ("AzureWebJobsStorage", azurite()),
        (
            "CLOUDPORT_QUEUE_ORDERS",
            format!("azqueue://{DEVELOPMENT_ACCOUNT}/{queue}"),
        ),
        (
            "CLOUDPORT_BUCKET_RECEIPTS",
            format!("azblob://{DEVELOPMENT_ACCOUNT}/{container}"),
        ),
        (
            "CLOUDPORT_KV_ORDERS",
            format!("aztable://{DEVELOPMENT_ACCOUNT}/{table}"),
        ),
    ])
    .await;
    support::quickstart::assert_receipts(Bucket::new(blobs), "Blob Storage").await;
}
