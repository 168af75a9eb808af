//! The quickstart binary, unchanged, with its resources bound to Pub/Sub, Cloud Storage and
//! Firestore on the emulators.
#![cfg(feature = "gcp")]
#![allow(clippy::unwrap_used)]

mod support;

use cloudport::Bucket;
use cloudport::gcp::{Gcp, Settings};

const PROJECT: &str = "cloudport-test";

fn var(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::test]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn quickstart_runs_on_the_gcp_emulators() {
    let pubsub = var("PUBSUB_EMULATOR_HOST", "127.0.0.1:8085");
    let storage = var("STORAGE_EMULATOR_HOST", "http://127.0.0.1:4443");
    let firestore = var("FIRESTORE_EMULATOR_HOST", "127.0.0.1:8086");
    let gcp = Gcp::with_settings(Settings {
        project: Some(PROJECT.into()),
        pubsub_emulator: Some(pubsub.clone()),
        storage_emulator: Some(storage.clone()),
    });
    let run = format!("{:x}", std::process::id());
    let (topic, bucket) = (format!("qs-orders-{run}"), format!("qs-receipts-{run}"));
    let sub = format!("{topic}-worker");

    let queue = gcp.pubsub_queue(PROJECT, &topic, Some(&sub)).unwrap();
    let client = queue.client().await.unwrap();
    client.create_topic(&topic, None, None).await.unwrap();
    client
        .create_subscription(&sub, &topic, Default::default(), None)
        .await
        .unwrap();
    let blobs = gcp.gcs_bucket(&bucket).unwrap();
    {
        use cloudport::gcp::sdk::storage::http::buckets::insert::{
            InsertBucketParam, InsertBucketRequest,
        };
        blobs
            .client()
            .await
            .unwrap()
            .insert_bucket(&InsertBucketRequest {
                name: bucket.clone(),
                param: InsertBucketParam {
                    project: PROJECT.into(),
                    ..Default::default()
                },
                ..Default::default()
            })
            .await
            .unwrap();
    }

    support::quickstart::run(&[
        ("PUBSUB_EMULATOR_HOST", pubsub),
        ("STORAGE_EMULATOR_HOST", storage),
        ("FIRESTORE_EMULATOR_HOST", firestore),
        (
            "CLOUDPORT_QUEUE_ORDERS",
            format!("gcppubsub://projects/{PROJECT}/topics/{topic}?subscription={sub}"),
        ),
        ("CLOUDPORT_BUCKET_RECEIPTS", format!("gs://{bucket}")),
        (
            "CLOUDPORT_KV_ORDERS",
            format!("firestore://{PROJECT}/quickstart?partition=run{run}"),
        ),
    ])
    .await;
    support::quickstart::assert_receipts(Bucket::new(blobs), "Cloud Storage").await;
}
