//! GCP-specific behaviour on the emulators, beyond the conformance suite: bad input refused
//! before any call, missing resources, ordering keys, resumable uploads, and an emulator going
//! away mid-run.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cloudport_core::{
    Bucket, ErrorKind, KvStore, Message, Precondition, Provider, Queue, ReceiveOptions, ResourceUrl,
};
use cloudport_gcp::{Gcp, Settings};
use support::{Emulators, PROJECT};

fn url(s: &str) -> ResourceUrl {
    ResourceUrl::parse(s).unwrap()
}

/// Cold starts pay for nothing before the first use: opening Pub/Sub and Cloud Storage resources
/// makes no connection (Firestore's client takes its endpoint from the process environment, which
/// the test command points at the emulator; it is built on first use the same way).
#[tokio::test]
async fn opening_resources_does_no_network_work() {
    let counter = cloudport_core::conformance::ConnectionCounter::start().await;
    let gcp = Gcp::with_settings(Settings {
        project: Some("p1".into()),
        pubsub_emulator: Some(counter.addr().to_string()),
        storage_emulator: Some(counter.endpoint()),
    });
    let queue = gcp
        .open_queue(&url(
            "gcppubsub://projects/p1/topics/orders?subscription=orders-sub",
        ))
        .unwrap();
    let bucket = gcp.open_bucket(&url("gs://files")).unwrap();
    counter.settle().await;
    assert_eq!(counter.connections(), 0, "opening must not connect");
    let _ = tokio::time::timeout(Duration::from_secs(5), queue.send("x")).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), bucket.head("k")).await;
    assert!(counter.connections() > 0, "the first use connects");
}

/// Every endpoint on a port nothing listens on: a call would fail `Unavailable`, so another
/// error proves the input was refused first.
fn unreachable() -> Gcp {
    Gcp::with_settings(Settings {
        project: Some("p1".into()),
        pubsub_emulator: Some("127.0.0.1:9".into()),
        storage_emulator: Some("http://127.0.0.1:9".into()),
    })
}

#[tokio::test]
async fn bad_input_fails_before_any_call() {
    let gcp = unreachable();
    let q = gcp
        .open_queue(&url(
            "gcppubsub://projects/p1/topics/orders?subscription=orders-sub",
        ))
        .unwrap();
    let big = Message::new(vec![0u8; 10 * 1000 * 1000 + 1]);
    assert_eq!(q.send(big).await.unwrap_err().kind(), ErrorKind::TooLarge);
    let delayed = Message::new("later").with_delay(Duration::from_secs(5));
    assert_eq!(
        q.send(delayed).await.unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    let send_only = gcp
        .open_queue(&url("gcppubsub://projects/p1/topics/orders"))
        .unwrap();
    assert_eq!(
        send_only
            .receive(ReceiveOptions::default())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Unsupported,
        "a topic without a subscription cannot receive"
    );
    let kv = gcp.open_kv(&url("firestore://p1/state")).unwrap();
    let long = "k".repeat(1000);
    assert_eq!(
        kv.put(long.as_str(), "v", Precondition::None)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn missing_topics_and_buckets_are_not_found() {
    let f = Emulators::new();
    let q = Queue::new(
        f.gcp
            .pubsub_queue(PROJECT, &f.unique("missing"), Some("missing-sub"))
            .unwrap(),
    );
    let e = q.send("x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = q.receive(ReceiveOptions::default()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let b = Bucket::new(f.gcp.gcs_bucket(&f.unique("nobucket")).unwrap());
    assert_eq!(
        b.put("k", "v").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(b.delete("k").await.unwrap_err().kind(), ErrorKind::NotFound);
    // Firestore collections exist implicitly: a never-written one is empty, not an error.
    let kv = KvStore::new(
        f.gcp
            .firestore_kv(PROJECT, "nevercreated", "default", None)
            .unwrap(),
    );
    assert!(kv.get("k").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn ordering_keys_and_content_types_round_trip() {
    let f = Emulators::new();
    let q = Queue::new(f.create_queue(&f.unique("ord")).await);
    q.send(
        Message::new("{\"n\":1}")
            .with_content_type("application/json")
            .with_attribute("orderingkey", "customer-7"),
    )
    .await
    .unwrap();
    let got = q
        .receive(ReceiveOptions::default().wait(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(got[0].attributes["orderingkey"], "customer-7");
    q.ack(&got[0]).await.unwrap();
}

struct PrivateEmulator(Child);

impl Drop for PrivateEmulator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A Pub/Sub emulator of this test's own, so it can be stopped mid-run.
fn start_private_pubsub() -> (PrivateEmulator, String) {
    let out = Command::new("dpkg")
        .args(["-L", "google-cloud-cli-pubsub-emulator"])
        .output()
        .expect("dpkg");
    let listing = String::from_utf8_lossy(&out.stdout);
    let jar = listing
        .lines()
        .find(|l| l.ends_with("all.jar"))
        .expect("the Pub/Sub emulator jar (google-cloud-cli-pubsub-emulator)")
        .to_owned();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("java")
        .args(["-jar", &jar, "--host=127.0.0.1", &format!("--port={port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("java");
    let emulator = PrivateEmulator(child);
    for _ in 0..600 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (emulator, format!("127.0.0.1:{port}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the private Pub/Sub emulator did not start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn pubsub_going_away_is_a_temporary_unavailable_error() {
    let (emulator, host) = start_private_pubsub();
    let gcp = Gcp::with_settings(Settings {
        pubsub_emulator: Some(host),
        ..support::settings()
    });
    let queue = gcp
        .pubsub_queue(PROJECT, "going-away", Some("going-away-sub"))
        .unwrap();
    let client = queue.client().await.unwrap();
    client.create_topic("going-away", None, None).await.unwrap();
    client
        .create_subscription("going-away-sub", "going-away", Default::default(), None)
        .await
        .unwrap();
    let q = Queue::new(queue);
    q.send("in flight").await.unwrap();
    let got = q
        .receive(ReceiveOptions::default().wait(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    drop(emulator);
    for result in [
        q.ack(&got[0]).await.map(drop),
        q.send("more").await.map(drop),
        q.receive(ReceiveOptions::default()).await.map(drop),
    ] {
        let e = result.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
        assert!(e.is_temporary(), "{e}");
        assert_eq!(e.provider(), Some("gcp"));
    }
}
