//! Operation latency through cloudport vs the same call on the SDK client, on one moto
//! (goal ≤ 1.03×), and 10,000 sends through the batch API vs one SDK call per message
//! (goal ≥ 8×). Starts its own moto_server. `cargo bench --features aws --bench aws_latency`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cloudport::aws::sdk::dynamodb::primitives::Blob;
use cloudport::aws::sdk::dynamodb::types::AttributeValue;
use cloudport::aws::sdk::s3::primitives::ByteStream;
use cloudport::aws::{Aws, Settings};
use cloudport::{Bucket, KvStore, Queue};

fn start_moto() -> (support::Processes, String) {
    let [port] = support::free_ports();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server on PATH (pip install 'moto[server]')");
    let moto = support::Processes(vec![child]);
    assert!(
        support::wait_ports(&[port], Duration::from_secs(10)),
        "moto did not start"
    );
    (moto, format!("http://127.0.0.1:{port}"))
}

fn main() {
    let only_batch = std::env::var("BENCH_ONLY_BATCH").is_ok();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (_moto, endpoint) = start_moto();
    let aws = Aws::for_emulator(&endpoint);
    let settings = Settings {
        region: None,
        endpoint: Some(endpoint.clone()),
    };

    let (sqs_driver, s3_driver, kv_driver) = rt.block_on(async {
        let sqs = aws.sqs_queue("bench", settings.clone()).unwrap();
        sqs.client()
            .await
            .create_queue()
            .queue_name("bench")
            .send()
            .await
            .unwrap();
        let s3 = aws.s3_bucket("bench", settings.clone(), true).unwrap();
        s3.client()
            .await
            .create_bucket()
            .bucket("bench")
            .send()
            .await
            .unwrap();
        let kv = aws
            .dynamodb_kv("bench", "default", settings.clone())
            .unwrap();
        kv.create_table().await.unwrap();
        (sqs, s3, kv)
    });
    let sqs_client = rt.block_on(sqs_driver.client()).clone();
    let queue_url = rt.block_on(sqs_driver.queue_url()).unwrap().to_owned();
    let s3_client = rt.block_on(s3_driver.client()).clone();
    let ddb_client = rt.block_on(kv_driver.client()).clone();
    let queue = Queue::new(sqs_driver);
    let bucket = Bucket::new(s3_driver);
    let kv = KvStore::new(kv_driver);

    if !only_batch {
        support::header(
            "AWS operation latency on moto (per call)",
            "SDK client directly",
        );
        let body = "x".repeat(1024);
        // Queue::send makes one SendMessageBatch call: the baseline makes the same call.
        support::compare(
            "SQS send (SendMessageBatch of 1)",
            |n| {
                support::time_async(&rt, n, |_| {
                    let (c, u, b) = (&sqs_client, &queue_url, body.clone());
                    async move {
                        let entry =
                            cloudport::aws::sdk::sqs::types::SendMessageBatchRequestEntry::builder(
                            )
                            .id("0")
                            .message_body(b)
                            .build()
                            .unwrap();
                        c.send_message_batch()
                            .queue_url(u)
                            .entries(entry)
                            .send()
                            .await
                            .unwrap();
                    }
                })
            },
            |n| support::portable::queue_send(&rt, &queue, &body, n),
        );
        support::compare(
            "S3 put (1 KiB)",
            |n| {
                support::time_async(&rt, n, |i| {
                    let (c, b) = (&s3_client, body.clone());
                    async move {
                        c.put_object()
                            .bucket("bench")
                            .key(format!("k{}", i % 64))
                            .body(ByteStream::from(b.into_bytes()))
                            .send()
                            .await
                            .unwrap();
                    }
                })
            },
            |n| support::portable::blob_put(&rt, &bucket, &body, n),
        );
        support::portable::seed(&rt, Some(&bucket), Some(&kv), &body);
        support::compare(
            "S3 get (1 KiB)",
            |n| {
                support::time_async(&rt, n, |i| {
                    let c = &s3_client;
                    async move {
                        let out = c
                            .get_object()
                            .bucket("bench")
                            .key(format!("k{}", i % 64))
                            .send()
                            .await
                            .unwrap();
                        out.body.collect().await.unwrap();
                    }
                })
            },
            |n| support::portable::blob_get(&rt, &bucket, n),
        );
        support::compare(
            "DynamoDB put",
            |n| {
                support::time_async(&rt, n, |i| {
                    let (c, b) = (&ddb_client, body.clone());
                    async move {
                        c.put_item()
                            .table_name("bench")
                            .item("pk", AttributeValue::S("default".into()))
                            .item("sk", AttributeValue::S(format!("k{}", i % 64)))
                            .item("val", AttributeValue::B(Blob::new(b.into_bytes())))
                            .item("ver", AttributeValue::S(format!("{i}")))
                            .send()
                            .await
                            .unwrap();
                    }
                })
            },
            |n| support::portable::kv_put(&rt, &kv, &body, n),
        );
        support::compare(
            "DynamoDB get",
            |n| {
                support::time_async(&rt, n, |i| {
                    let c = &ddb_client;
                    async move {
                        c.get_item()
                            .table_name("bench")
                            .consistent_read(true)
                            .key("pk", AttributeValue::S("default".into()))
                            .key("sk", AttributeValue::S(format!("k{}", i % 64)))
                            .send()
                            .await
                            .unwrap();
                    }
                })
            },
            |n| support::portable::kv_get(&rt, &kv, n),
        );
    }
    // moto's SendMessage recomputes the queue's attributes over every message it holds, so its cost
    // grows with the queue; the 10,000 go out in rounds of 100, each side into a fresh queue per
    // round, to measure requests rather than moto's bookkeeping. Only the sends are timed.
    const N: usize = 10_000;
    const ROUND: usize = 100;
    support::header(
        "10,000 SQS sends on moto (total)",
        "one SDK send_message per message",
    );
    let (mut one_by_one, mut batched) = (Duration::ZERO, Duration::ZERO);
    for round in 0..N / ROUND {
        rt.block_on(async {
            let single = format!("single-{round}");
            let url = sqs_client
                .create_queue()
                .queue_name(&single)
                .send()
                .await
                .unwrap()
                .queue_url
                .unwrap();
            let start = Instant::now();
            for i in 0..ROUND {
                sqs_client
                    .send_message()
                    .queue_url(&url)
                    .message_body(format!("m{i}"))
                    .send()
                    .await
                    .unwrap();
            }
            one_by_one += start.elapsed();

            let name = format!("batched-{round}");
            let driver = aws.sqs_queue(&name, settings.clone()).unwrap();
            driver
                .client()
                .await
                .create_queue()
                .queue_name(&name)
                .send()
                .await
                .unwrap();
            let target = Queue::new(driver);
            target.send("warm up").await.unwrap();
            let start = Instant::now();
            let results = target.send_batch((0..ROUND).map(|i| format!("m{i}"))).await;
            batched += start.elapsed();
            assert!(results.iter().all(Result::is_ok));
        });
    }
    println!(
        "| Queue::send_batch of {N} | {:.2} s | {:.2} s | {:.1}× faster |",
        batched.as_secs_f64(),
        one_by_one.as_secs_f64(),
        one_by_one.as_secs_f64() / batched.as_secs_f64()
    );
}
