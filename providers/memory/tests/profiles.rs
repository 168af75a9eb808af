//! Limit profiles: `mem://NAME?profile=…` refuses what the cloud would, on every axis, and
//! `strictest` refuses what any cloud refuses while taking what all take.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use cloudport_core::conformance::Fixture;
use cloudport_core::export::async_trait;
use cloudport_core::{
    Bucket, ErrorKind, KvDriver, KvStore, Message, Precondition, Provider, PutOptions, Queue,
    QueueDriver, ReceiveOptions, ResourceUrl,
};
use cloudport_memory::{Clock, Memory, Profile};

/// Resources opened by URL (`mem://NAME?profile=P`), as an app's bindings open them.
struct ProfileFixture {
    memory: Memory,
    profile: Profile,
    next: AtomicU32,
}

impl ProfileFixture {
    fn new(profile: Profile) -> Self {
        Self {
            memory: Memory::with_clock(Clock::manual()),
            profile,
            next: AtomicU32::new(0),
        }
    }

    fn url(&self, kind: &str) -> ResourceUrl {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        ResourceUrl::parse(&format!("mem://{kind}-{n}?profile={}", self.profile)).expect("url")
    }
}

#[async_trait]
impl Fixture for ProfileFixture {
    async fn queue(&self) -> Queue {
        self.memory.open_queue(&self.url("queue")).expect("queue")
    }

    async fn bucket(&self) -> Bucket {
        self.memory
            .open_bucket(&self.url("bucket"))
            .expect("bucket")
    }

    async fn kv(&self) -> KvStore {
        self.memory.open_kv(&self.url("kv")).expect("kv")
    }

    async fn advance(&self, duration: Duration) {
        self.memory.clock().advance(duration).expect("manual clock");
    }

    fn slack(&self) -> Duration {
        Duration::ZERO
    }

    fn wait(&self) -> Duration {
        Duration::ZERO
    }
}

mod aws {
    cloudport_core::conformance_limit_tests! {
        fixture = super::ProfileFixture::new(cloudport_memory::Profile::Aws),
        profile = "aws"
    }
}

mod azure {
    cloudport_core::conformance_limit_tests! {
        fixture = super::ProfileFixture::new(cloudport_memory::Profile::Azure),
        profile = "azure"
    }
}

mod gcp {
    cloudport_core::conformance_limit_tests! {
        fixture = super::ProfileFixture::new(cloudport_memory::Profile::Gcp),
        profile = "gcp"
    }
}

mod strictest {
    cloudport_core::conformance_limit_tests! {
        fixture = super::ProfileFixture::new(cloudport_memory::Profile::Strictest),
        profile = "strictest"
    }
}

/// The whole conformance suite still passes under `strictest`, except where a check uses what
/// a cloud lacks (delayed sends: Pub/Sub), which the profile must refuse.
mod strictest_conformance {
    use super::*;

    #[tokio::test]
    async fn a_profiled_queue_still_leases_redelivers_and_acks() {
        let f = ProfileFixture::new(Profile::Strictest);
        cloudport_core::conformance::queue_send_receive_ack(&f).await;
        cloudport_core::conformance::queue_nack_redelivers(&f).await;
        cloudport_core::conformance::queue_extend_lease(&f).await;
        cloudport_core::conformance::blob_put_get_head(&f).await;
        cloudport_core::conformance::blob_list_prefix_delimiter_pages(&f).await;
        cloudport_core::conformance::kv_ttl(&f).await;
        cloudport_core::conformance::kv_key_characters(&f).await;
    }
}

fn open_queue(memory: &Memory, url: &str) -> cloudport_core::Result<Queue> {
    memory.open_queue(&ResourceUrl::parse(url)?)
}

#[track_caller]
fn assert_refused<T: std::fmt::Debug>(
    result: cloudport_core::Result<T>,
    kind: ErrorKind,
    says: &[&str],
) {
    let err = result.expect_err("refused");
    assert_eq!(err.kind(), kind, "{err}");
    let text = err.to_string();
    for s in says {
        assert!(text.contains(s), "{text:?} should mention {s:?}");
    }
}

#[test]
fn urls_take_a_profile_and_name_the_valid_ones() {
    let memory = Memory::new();
    for p in Profile::ALL {
        let q = open_queue(&memory, &format!("mem://orders?profile={p}")).expect("opens");
        assert!(q.native::<cloudport_memory::ProfiledQueue>().is_some());
    }
    let plain = open_queue(&memory, "mem://orders").expect("opens");
    assert!(plain.native::<cloudport_memory::MemoryQueue>().is_some());
    let err = open_queue(&memory, "mem://orders?profile=oracle").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    for name in ["oracle", "aws", "azure", "gcp", "strictest"] {
        assert!(err.to_string().contains(name), "{err}");
    }
    let err = open_queue(&memory, "mem://orders?profil=aws").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
}

#[tokio::test]
async fn a_profile_is_a_view_of_the_same_resource() {
    let memory = Memory::new();
    let azure = memory.queue_with_profile("orders", Profile::Azure);
    azure.send("hello").await.expect("send");
    let plain = memory.queue("orders");
    let got = plain
        .receive(ReceiveOptions::default())
        .await
        .expect("receive");
    assert_eq!(got.len(), 1);
    assert_eq!(memory.queue_driver("orders").len(), 1);
}

#[test]
fn capabilities_tell_each_clouds_limits() {
    let memory = Memory::new();
    let caps = |p| memory.queue_with_profile("q", p).capabilities().clone();
    let (aws, azure, gcp, strictest) = (
        caps(Profile::Aws),
        caps(Profile::Azure),
        caps(Profile::Gcp),
        caps(Profile::Strictest),
    );
    assert_eq!(aws.max_message_bytes, 1024 * 1024);
    assert_eq!((aws.max_batch_send, aws.max_batch_receive), (10, 10));
    assert_eq!(aws.max_lease, Duration::from_secs(12 * 3600));
    assert_eq!(aws.max_delay, Duration::from_secs(900));
    assert_eq!(aws.max_attributes, 8);
    assert_eq!(azure.max_message_bytes, 48 * 1024);
    assert_eq!(azure.max_batch_receive, 32);
    assert_eq!(azure.max_lease, Duration::from_secs(7 * 24 * 3600));
    assert_eq!(gcp.max_message_bytes, 10_000_000);
    assert_eq!(gcp.max_lease, Duration::from_secs(600));
    assert!(!gcp.delayed_send && gcp.ordering);
    assert_eq!(strictest.max_message_bytes, 48 * 1024);
    assert_eq!(
        (strictest.max_batch_send, strictest.max_batch_receive),
        (10, 10)
    );
    assert_eq!(strictest.max_lease, Duration::from_secs(600));
    assert_eq!(strictest.max_attributes, 8);
    assert!(!strictest.delayed_send && !strictest.ordering && !strictest.deduplication);

    let kv = |p| memory.kv_with_profile("k", p).capabilities().clone();
    assert_eq!(kv(Profile::Aws).max_key_bytes, 1024);
    assert_eq!(kv(Profile::Azure).max_key_bytes, 512);
    assert_eq!(kv(Profile::Strictest).max_key_bytes, 512);
    assert_eq!(kv(Profile::Strictest).max_value_bytes, 350 * 1024);
}

#[tokio::test]
async fn message_size_counts_what_each_provider_sends() {
    let memory = Memory::new();
    // 40 KiB of text with a content type Azure's envelope must carry: within every raw limit,
    // over 64 KiB once enveloped and Base64-encoded.
    let msg = || Message::new(vec![b'a'; 48 * 1024 - 100]).with_content_type("text/csv");
    let azure = memory.queue_driver_with_profile("q", Profile::Azure);
    assert_refused(
        azure.check_message(&msg()),
        ErrorKind::TooLarge,
        &[
            "Azure Storage Queues' 64 KiB message limit",
            "(profile=azure)",
        ],
    );
    let q = memory.queue_with_profile("q", Profile::Strictest);
    assert_refused(
        q.send(msg()).await,
        ErrorKind::TooLarge,
        &["Azure Storage Queues", "(profile=strictest)"],
    );
    for p in [Profile::Aws, Profile::Gcp] {
        memory
            .queue_with_profile("q", p)
            .send(msg())
            .await
            .expect("fits");
    }
    // Binary bodies go to SQS as Base64: 800 KiB is over 1 MiB there.
    let binary = Message::new(vec![0xff_u8; 800 * 1024]);
    let aws = memory.queue_driver_with_profile("q", Profile::Aws);
    assert_refused(
        aws.check_message(&binary),
        ErrorKind::TooLarge,
        &["SQS' 1 MiB message limit", "(profile=aws)"],
    );
    memory
        .queue_with_profile("q", Profile::Gcp)
        .send(binary)
        .await
        .expect("Pub/Sub takes 10 MB");
}

#[tokio::test]
async fn attribute_rules_of_each_service() {
    let memory = Memory::new();
    let long_value = || Message::new("x").with_attribute("note", "v".repeat(1025));
    for p in [Profile::Gcp, Profile::Strictest] {
        let q = memory.queue_with_profile("q", p);
        assert_refused(
            q.send(long_value()).await,
            ErrorKind::InvalidArgument,
            &["Pub/Sub's 1,024-byte attribute value limit", p.as_str()],
        );
    }
    for p in [Profile::Aws, Profile::Azure] {
        let q = memory.queue_with_profile("q", p);
        // No cloud reserves attribute names starting with `goog` (no source says Pub/Sub does).
        q.send(Message::new("x").with_attribute("googtrace", "1"))
            .await
            .expect("an ordinary attribute name");
        q.send(long_value())
            .await
            .expect("only Pub/Sub limits values");
    }
    // SQS: eight attributes left to the app; a ninth is refused.
    let nine = (0..9).fold(Message::new("x"), |m, i| {
        m.with_attribute(format!("a{i}"), "v")
    });
    let aws = memory.queue_driver_with_profile("q", Profile::Aws);
    assert_refused(
        aws.check_message(&nine),
        ErrorKind::InvalidArgument,
        &["SQS", "8"],
    );
    memory
        .queue_with_profile("q", Profile::Azure)
        .send(nine)
        .await
        .expect("the envelope carries 16");
    // SQS text excludes U+FFFF, also in attribute values.
    let odd = Message::new("x").with_attribute("note", "\u{ffff}");
    assert_refused(
        aws.check_message(&odd),
        ErrorKind::InvalidArgument,
        &["SQS"],
    );
}

#[tokio::test]
async fn lease_delay_and_batch_ranges() {
    let memory = Memory::new();
    let receive = |max, lease| {
        ReceiveOptions::default()
            .max_messages(max)
            .lease(Duration::from_secs(lease))
            .wait(Duration::ZERO)
    };
    let gcp = memory.queue_driver_with_profile("q", Profile::Gcp);
    assert_refused(
        gcp.receive(&receive(1, 601)).await,
        ErrorKind::InvalidArgument,
        &["Pub/Sub", "(profile=gcp)"],
    );
    let aws = memory.queue_driver_with_profile("q", Profile::Aws);
    assert_refused(
        aws.receive(&receive(11, 30)).await,
        ErrorKind::InvalidArgument,
        &["SQS"],
    );
    aws.receive(&receive(10, 12 * 3600)).await.expect("12 h");
    let azure = memory.queue_driver_with_profile("q", Profile::Azure);
    azure
        .receive(&receive(32, 7 * 24 * 3600))
        .await
        .expect("7 days");
    let strictest = memory.queue_driver_with_profile("q", Profile::Strictest);
    assert_refused(
        strictest.receive(&receive(10, 601)).await,
        ErrorKind::InvalidArgument,
        &["Pub/Sub", "strictest"],
    );
    // A delayed send: Pub/Sub has none; SQS up to 15 min.
    let delayed = |s| Message::new("x").with_delay(Duration::from_secs(s));
    assert_refused(
        gcp.check_message(&delayed(1)),
        ErrorKind::Unsupported,
        &["Pub/Sub"],
    );
    assert_refused(
        aws.check_message(&delayed(901)),
        ErrorKind::InvalidArgument,
        &["SQS"],
    );
    azure
        .check_message(&delayed(3600))
        .expect("Azure delays up to 7 days");
    // A batch past the service's count, sent straight to the driver.
    let batch: Vec<Message> = (0..11).map(|i| Message::new(format!("{i}"))).collect();
    assert_refused(
        aws.send_batch(&batch).await,
        ErrorKind::InvalidArgument,
        &["per send call"],
    );
    // Per-message refusals in a batch: the others are sent.
    let mixed = [
        Message::new("ok"),
        Message::new("x").with_attribute("note", "v".repeat(1025)),
    ];
    let results = gcp.send_batch(&mixed).await.expect("batch");
    assert!(results[0].is_ok());
    assert_eq!(
        results[1].as_ref().unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

#[tokio::test]
async fn ordering_and_deduplication_where_the_service_has_them() {
    let memory = Memory::new();
    let keyed = || Message::new("x").with_ordering_key("account-1");
    memory
        .queue_with_profile("q", Profile::Gcp)
        .send(keyed())
        .await
        .expect("Pub/Sub orders by key");
    for p in [Profile::Aws, Profile::Azure, Profile::Strictest] {
        let err = memory
            .queue_with_profile("q", p)
            .send(keyed())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{p}: {err}");
    }
    let dedup = Message::new("x").with_deduplication_id("d-1");
    let gcp = memory.queue_driver_with_profile("q", Profile::Gcp);
    assert_refused(
        gcp.check_message(&dedup),
        ErrorKind::Unsupported,
        &["Pub/Sub", "deduplicate"],
    );
}

#[tokio::test]
async fn object_key_and_metadata_rules() {
    let memory = Memory::new();
    let azure = memory.bucket_driver_with_profile("b", Profile::Azure);
    for key in ["report.", "dir./x", "folder/"] {
        assert_refused(
            azure.check_key(key),
            ErrorKind::InvalidArgument,
            &["Azure Blob Storage", "(profile=azure)"],
        );
    }
    let deep = vec!["d"; 255].join("/");
    assert_refused(azure.check_key(&deep), ErrorKind::InvalidArgument, &["254"]);
    let gcp = memory.bucket_driver_with_profile("b", Profile::Gcp);
    assert_refused(
        gcp.check_key(".well-known/acme-challenge/t"),
        ErrorKind::InvalidArgument,
        &["Cloud Storage"],
    );
    let strictest = memory.bucket_with_profile("b", Profile::Strictest);
    assert_refused(
        strictest.put("report.", "x").await,
        ErrorKind::InvalidArgument,
        &["strictest"],
    );
    // Reads of such a key are refused too: on Azure they would reach another blob.
    assert_refused(
        strictest.get("report.").await,
        ErrorKind::InvalidArgument,
        &["Azure"],
    );
    for p in [Profile::Aws, Profile::Gcp] {
        memory
            .bucket_with_profile("b", p)
            .put("report.", "x")
            .await
            .expect("kept as is");
    }
    // Metadata: S3 2 KB, Azure 8 KB, Cloud Storage 8 KiB (names and values).
    let meta = |n: usize| PutOptions::default().metadata("note", "v".repeat(n - 4));
    assert_refused(
        memory
            .bucket_with_profile("b", Profile::Aws)
            .put_with("m", "x", meta(2049))
            .await,
        ErrorKind::TooLarge,
        &["S3' 2 KB metadata limit"],
    );
    memory
        .bucket_with_profile("b", Profile::Aws)
        .put_with("m", "x", meta(2048))
        .await
        .expect("2 KB");
    memory
        .bucket_with_profile("b", Profile::Azure)
        .put_with("m", "x", meta(8192))
        .await
        .expect("8 KB");
    assert_refused(
        memory
            .bucket_with_profile("b", Profile::Gcp)
            .put_with("m", "x", meta(8193))
            .await,
        ErrorKind::TooLarge,
        &["Cloud Storage"],
    );
    assert_refused(
        strictest.put_with("m", "x", meta(2049)).await,
        ErrorKind::TooLarge,
        &["S3", "strictest"],
    );
    // The local host's blob triggers still see changes through a profile.
    assert!(strictest.driver().subscribe().is_some());
}

#[tokio::test]
async fn kv_key_value_and_ttl_rules() {
    let memory = Memory::with_clock(Clock::manual());
    let put = |kv: &KvStore, key: String| {
        let kv = kv.clone();
        async move { kv.put(key, "v", Precondition::None).await }
    };
    let aws = memory.kv_with_profile("k", Profile::Aws);
    put(&aws, "k".repeat(1024))
        .await
        .expect("DynamoDB sort keys take 1,024 bytes");
    for p in [Profile::Azure, Profile::Gcp, Profile::Strictest] {
        let kv = memory.kv_with_profile("k", p);
        let err = put(&kv, "k".repeat(513)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{p}: {err}");
    }
    // Azure escapes `/` to `%2F`: 171 of them are 513 UTF-16 code units of RowKey (1 KiB is 512).
    let slashes = "/".repeat(171);
    let azure = memory.kv_driver_with_profile("k", Profile::Azure);
    assert_refused(
        azure.check_key(&slashes),
        ErrorKind::InvalidArgument,
        &[
            "Azure Table Storage's 1 KiB (512 UTF-16 code units) RowKey limit",
            "(profile=azure)",
        ],
    );
    put(&memory.kv_with_profile("k", Profile::Gcp), slashes.clone())
        .await
        .expect("Firestore ids are hex-encoded by the provider");
    put(
        &memory.kv_with_profile("k", Profile::Strictest),
        "/".repeat(170),
    )
    .await
    .expect("510 code units escaped");
    // Values: 350 KiB everywhere.
    let big = bytes::Bytes::from(vec![0u8; 350 * 1024 + 1]);
    let err = memory
        .kv_driver_with_profile("k", Profile::Strictest)
        .put("big", big, &Precondition::None, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge, "{err}");
    assert!(err.to_string().contains("profile=strictest"), "{err}");
    // TTLs are kept in whole milliseconds, as the providers store them.
    let kv = memory.kv_with_profile("ttl", Profile::Strictest);
    kv.put(
        "t",
        "v",
        Precondition::None.with_ttl(Duration::from_micros(1_000_900)),
    )
    .await
    .expect("put");
    memory
        .clock()
        .advance(Duration::from_millis(1000))
        .expect("advance");
    assert!(
        kv.get("t").await.expect("get").is_none(),
        "expired at 1,000 ms, not 1,000.9"
    );
}

#[tokio::test]
async fn a_default_profile_applies_to_every_resource_unless_the_url_names_another() {
    let memory = Memory::new().with_default_profile(Profile::Azure);
    assert_eq!(memory.default_profile(), Some(Profile::Azure));
    let by_name = memory.queue("q");
    assert_eq!(by_name.capabilities().max_batch_receive, 32);
    let by_url = open_queue(&memory, "mem://q").expect("opens");
    assert_eq!(by_url.capabilities().max_batch_receive, 32);
    let overridden = open_queue(&memory, "mem://q?profile=aws").expect("opens");
    assert_eq!(overridden.capabilities().max_batch_receive, 10);
    let err = memory.bucket("b").put("x.", "v").await.unwrap_err();
    assert!(err.to_string().contains("profile=azure"), "{err}");
    let err = memory
        .kv("k")
        .put("/".repeat(342), "v", Precondition::None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("profile=azure"), "{err}");
    // The same world: a plain handle sees what the profiled one sent.
    by_name.send("hello").await.expect("send");
    assert_eq!(Memory::queue_driver(&memory, "q").len(), 1);
}
