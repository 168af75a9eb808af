//! Operation latency through cloudport vs the same call on the SDK client, on one Azurite
//! (goal ≤ 1.03×). Starts its own Azurite (`scripts/azurite`, installed with `npm ci` when
//! missing). `cargo bench --features azure --bench azure_latency`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod support;

use std::num::NonZero;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use cloudport::azure::sdk::blob::models::BlobClientDownloadOptions;
use cloudport::azure::sdk::queue::models::{QueueClientReceiveMessagesOptions, QueueMessage};
use cloudport::azure::{Azure, DEVELOPMENT_ACCOUNT};
use cloudport::{Bucket, KvStore, Queue, ReceiveOptions};
use serde::{Deserialize, Serialize};

const ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

fn start_azurite() -> (support::Processes, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/azurite");
    let bin = dir.join("node_modules/.bin/azurite");
    if !bin.exists() {
        let installed = Command::new("npm")
            .args(["ci", "--prefix"])
            .arg(&dir)
            .args(["--no-audit", "--no-fund"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            installed && bin.exists(),
            "Azurite is not installed: run `npm ci --prefix scripts/azurite --no-audit --no-fund`"
        );
    }
    let [blob, queue, table] = support::free_ports();
    let child = Command::new(&bin)
        .args([
            "--silent",
            "--inMemoryPersistence",
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--blobHost",
            "127.0.0.1",
            "--queueHost",
            "127.0.0.1",
            "--tableHost",
            "127.0.0.1",
            "--blobPort",
            &blob.to_string(),
            "--queuePort",
            &queue.to_string(),
            "--tablePort",
            &table.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Azurite starts (node on PATH)");
    let azurite = support::Processes(vec![child]);
    let connection = format!(
        "DefaultEndpointsProtocol=http;AccountName={DEVELOPMENT_ACCOUNT};AccountKey={ACCOUNT_KEY};\
         BlobEndpoint=http://127.0.0.1:{blob}/{DEVELOPMENT_ACCOUNT};\
         QueueEndpoint=http://127.0.0.1:{queue}/{DEVELOPMENT_ACCOUNT};\
         TableEndpoint=http://127.0.0.1:{table}/{DEVELOPMENT_ACCOUNT};"
    );
    assert!(
        support::wait_ports(&[blob, queue, table], Duration::from_secs(20)),
        "Azurite did not start"
    );
    (azurite, connection)
}

/// The entity the KV driver writes for a value of up to 64 KiB: the partition, the key, and the
/// value as one `Edm.Binary` property.
#[allow(non_snake_case)]
#[derive(Serialize, Deserialize)]
struct Entity {
    PartitionKey: String,
    RowKey: String,
    #[serde(rename = "d0@odata.type", skip_deserializing)]
    d0_type: &'static str,
    d0: String,
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (_azurite, connection) = start_azurite();
    let azure = Azure::from_connection_string(connection);
    let account = DEVELOPMENT_ACCOUNT;

    let (queue_driver, rx_driver, container_driver, table_driver) = rt.block_on(async {
        let queue = azure.queue(account, "bench", None).unwrap();
        queue.create().await.unwrap();
        let rx = azure.queue(account, "bench-rx", None).unwrap();
        rx.create().await.unwrap();
        let container = azure.container(account, "bench", None).unwrap();
        container.create().await.unwrap();
        let table = azure.table(account, "bench", "default", None).unwrap();
        table.create_table().await.unwrap();
        (queue, rx, container, table)
    });
    let queue_client = queue_driver.client().unwrap();
    let rx_client = rx_driver.client().unwrap();
    let container_client = container_driver.client().unwrap();
    let table_client = table_driver.client().clone();
    let queue = Queue::new(queue_driver);
    let rx = Queue::new(rx_driver);
    let bucket = Bucket::new(container_driver);
    let kv = KvStore::new(table_driver);

    support::header(
        "Azure operation latency on Azurite (per call)",
        "SDK client directly",
    );
    let body = "x".repeat(1024);
    // Azurite's receives slow down as a queue grows (each one finds and sorts all the queue's
    // visible messages), so queues are kept shallow: the send queue is cleared before each sample,
    // and round trips take messages put there just before, 32 at a time. Only the calls compared
    // are timed.
    let clear_then = |n: u64, run: &dyn Fn(u64) -> Duration| {
        rt.block_on(queue_client.clear(None)).unwrap();
        run(n)
    };
    // Queue::send makes one Put Message call with the Base64 body: the baseline makes the same.
    support::compare(
        "Queue send (1 KiB)",
        |n| {
            clear_then(n, &|n| {
                support::time_async(&rt, n, |_| {
                    let (c, b) = (&queue_client, body.as_bytes());
                    async move {
                        let content = QueueMessage {
                            message_text: Some(B64.encode(b)),
                        }
                        .try_into()
                        .unwrap();
                        c.send_message(content, None).await.unwrap();
                    }
                })
            })
        },
        |n| clear_then(n, &|n| support::portable::queue_send(&rt, &queue, &body, n)),
    );

    const ROUND: u64 = 32;
    let in_rounds = |n: u64, run: &dyn Fn(u64) -> Duration| {
        let (mut left, mut total) = (n, Duration::ZERO);
        while left > 0 {
            let k = left.min(ROUND);
            rt.block_on(async {
                let results = rx.send_batch((0..k).map(|_| body.clone())).await;
                assert!(results.iter().all(Result::is_ok));
            });
            total += run(k);
            left -= k;
        }
        total
    };
    support::compare(
        "Queue receive + ack (1 KiB)",
        |n| {
            in_rounds(n, &|n| {
                support::time_async(&rt, n, |_| {
                    let c = &rx_client;
                    async move {
                        let options = QueueClientReceiveMessagesOptions {
                            number_of_messages: Some(1),
                            visibility_timeout: Some(30),
                            ..Default::default()
                        };
                        let got = c
                            .receive_messages(Some(options))
                            .await
                            .unwrap()
                            .into_model()
                            .unwrap();
                        let m = got.items.unwrap().into_iter().next().unwrap();
                        B64.decode(m.message_text.unwrap()).unwrap();
                        c.delete_message(&m.message_id.unwrap(), &m.pop_receipt.unwrap(), None)
                            .await
                            .unwrap();
                    }
                })
            })
        },
        |n| {
            in_rounds(n, &|n| {
                support::time_async(&rt, n, |_| {
                    let q = &rx;
                    async move {
                        let got = q
                            .receive(ReceiveOptions::default().max_messages(1))
                            .await
                            .unwrap();
                        q.ack(&got[0]).await.unwrap();
                    }
                })
            })
        },
    );

    support::compare(
        "Blob put (1 KiB)",
        |n| {
            support::time_async(&rt, n, |i| {
                let (c, b) = (&container_client, body.clone());
                async move {
                    c.blob_client(&format!("k{}", i % 64))
                        .upload(Bytes::from(b).into(), None)
                        .await
                        .unwrap();
                }
            })
        },
        |n| support::portable::blob_put(&rt, &bucket, &body, n),
    );
    support::portable::seed(&rt, Some(&bucket), Some(&kv), &body);
    // Bucket::get downloads with `parallel: 1` (one request; the SDK's default concurrency reads
    // the CPU count, cgroup files included, on every download): the baseline does the same.
    support::compare(
        "Blob get (1 KiB)",
        |n| {
            support::time_async(&rt, n, |i| {
                let c = &container_client;
                async move {
                    let out = c
                        .blob_client(&format!("k{}", i % 64))
                        .download(Some(BlobClientDownloadOptions {
                            parallel: NonZero::new(1),
                            ..Default::default()
                        }))
                        .await
                        .unwrap();
                    out.body.collect().await.unwrap();
                }
            })
        },
        |n| support::portable::blob_get(&rt, &bucket, n),
    );
    support::compare(
        "Table KV put",
        |n| {
            support::time_async(&rt, n, |i| {
                let (c, b) = (&table_client, body.as_bytes());
                async move {
                    let key = format!("k{}", i % 64);
                    let entity = Entity {
                        PartitionKey: "default".into(),
                        RowKey: key.clone(),
                        d0_type: "Edm.Binary",
                        d0: B64.encode(b),
                    };
                    c.partition_key_client("default")
                        .entity_client(key)
                        .insert_or_replace(&entity)
                        .unwrap()
                        .await
                        .unwrap();
                }
            })
        },
        |n| support::portable::kv_put(&rt, &kv, &body, n),
    );
    support::compare(
        "Table KV get",
        |n| {
            support::time_async(&rt, n, |i| {
                let c = &table_client;
                async move {
                    let got = c
                        .partition_key_client("default")
                        .entity_client(format!("k{}", i % 64))
                        .get::<Entity>()
                        .await
                        .unwrap();
                    B64.decode(got.entity.d0).unwrap();
                }
            })
        },
        |n| support::portable::kv_get(&rt, &kv, n),
    );
}
