//! The quickstart binary, unchanged, with its resources bound to Storage Queue, Blob and Table on
//! Azurite.
#![cfg(feature = "azure")]

mod support;

use cloudport::azure::{Azure, DEVELOPMENT_ACCOUNT};
use cloudport::{Bucket, ListOptions};

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

    let output = tokio::process::Command::new(support::binaries::example("quickstart"))
        .env_clear()
        .env("AzureWebJobsStorage", azurite())
        .env(
            "CLOUDPORT_QUEUE_ORDERS",
            format!("azqueue://{DEVELOPMENT_ACCOUNT}/{queue}"),
        )
        .env(
            "CLOUDPORT_BUCKET_RECEIPTS",
            format!("azblob://{DEVELOPMENT_ACCOUNT}/{container}"),
        )
        .env(
            "CLOUDPORT_KV_ORDERS",
            format!("aztable://{DEVELOPMENT_ACCOUNT}/{table}"),
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

    let listed = Bucket::new(blobs)
        .list(ListOptions::default())
        .await
        .expect("list");
    assert_eq!(
        listed.objects.len(),
        4,
        "three receipts and a report in Blob Storage"
    );
}
