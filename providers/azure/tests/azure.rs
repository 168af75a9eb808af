//! Azure-specific behaviour on Azurite, beyond the conformance suite: the `<queue>-poison`
//! convention, Table key escaping, block uploads, missing resources, bad input before any call,
//! and Azurite going away mid-run.

#![allow(clippy::unwrap_used)]

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use cloudport_azure::{Azure, MAX_MESSAGE_TEXT};
use cloudport_core::{
    ErrorKind, KvStore, Message, Precondition, Provider, Queue, ReceiveOptions, ResourceUrl,
};
use support::{ACCOUNT, Azurite};

fn url(s: &str) -> ResourceUrl {
    ResourceUrl::parse(s).unwrap()
}

fn opts(lease: Duration) -> ReceiveOptions {
    ReceiveOptions::default().max_messages(10).lease(lease)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn poison_queue_convention_from_the_url() {
    let f = Azurite::new();
    let name = f.unique("pq");
    f.create_queue(&name).await;
    let q = f
        .azure
        .open_queue(&url(&format!(
            "azqueue://{ACCOUNT}/{name}?max_dequeue_count=2"
        )))
        .unwrap();
    q.send(Message::new("poison").with_attribute("kind", "test"))
        .await
        .unwrap();
    for _ in 0..2 {
        let got = q.receive(opts(Duration::from_secs(30))).await.unwrap();
        assert_eq!(got.len(), 1);
        q.nack(&got[0], Duration::ZERO).await.unwrap();
    }
    // The third delivery moves it to <queue>-poison, which the provider creates on first use.
    assert!(
        q.receive(opts(Duration::from_secs(30)))
            .await
            .unwrap()
            .is_empty()
    );
    let poison = f
        .azure
        .open_queue(&url(&format!(
            "azqueue://{ACCOUNT}/{name}-poison?poison=false"
        )))
        .unwrap();
    let dead = poison.receive(opts(Duration::from_secs(30))).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].text().unwrap(), "poison");
    assert_eq!(dead[0].attributes["kind"], "test");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn plain_messages_are_base64_text_any_consumer_reads() {
    let f = Azurite::new();
    let queue = f.create_queue(&f.unique("raw")).await;
    let client = queue.client().unwrap();
    let q = Queue::new(queue);
    q.send("hello functions").await.unwrap();
    let got = client
        .receive_messages(None)
        .await
        .unwrap()
        .into_model()
        .unwrap()
        .items
        .unwrap();
    let text = got[0].message_text.clone().unwrap();
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap(),
        b"hello functions"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn table_keys_with_forbidden_characters_round_trip_and_scan() {
    let f = Azurite::new();
    let kv = KvStore::new(f.table(&f.unique("esc")).await);
    let keys = ["a/b", "a/c#1", "a/d?x=1", "a/e\\f", "a/it's", "a/100%", "b"];
    for (i, k) in keys.iter().enumerate() {
        kv.put(*k, format!("v{i}"), Precondition::None)
            .await
            .unwrap();
    }
    for (i, k) in keys.iter().enumerate() {
        let e = kv.get(*k).await.unwrap().unwrap_or_else(|| panic!("{k}"));
        assert_eq!(e.key, *k);
        assert_eq!(e.value, Bytes::from(format!("v{i}")));
    }
    let mut scanned: Vec<String> = kv
        .scan_all("a/")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.key)
        .collect();
    scanned.sort();
    let mut expected: Vec<String> = keys[..6].iter().map(|k| (*k).to_owned()).collect();
    expected.sort();
    assert_eq!(scanned, expected);
    assert!(kv.delete("a/d?x=1").await.unwrap());
    assert!(kv.get("a/d?x=1").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn values_over_one_table_property_span_several() {
    let f = Azurite::new();
    let kv = KvStore::new(f.table(&f.unique("big")).await);
    let value: Vec<u8> = (0..200 * 1024).map(|i| (i % 251) as u8).collect();
    kv.put("big", value.clone(), Precondition::IfAbsent)
        .await
        .unwrap();
    assert_eq!(kv.get("big").await.unwrap().unwrap().value, value);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn missing_resources_are_not_found() {
    let azure = support::azure();
    let q = azure
        .open_queue(&url(&format!("azqueue://{ACCOUNT}/never-created-q")))
        .unwrap();
    let e = q.send("x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(e.to_string().contains("404"), "the status is kept: {e}");
    let b = azure
        .open_bucket(&url(&format!("azblob://{ACCOUNT}/never-created-c")))
        .unwrap();
    assert_eq!(
        b.put("k", "v").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let kv = azure
        .open_kv(&url(&format!("aztable://{ACCOUNT}/nevercreated")))
        .unwrap();
    assert_eq!(
        kv.put("k", "v", Precondition::None)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}

/// Cold starts pay for nothing before the first use: opening resources makes no connection.
#[tokio::test]
async fn opening_resources_does_no_network_work() {
    let counter = cloudport_core::conformance::ConnectionCounter::start().await;
    let base = format!("{}/devstoreaccount1", counter.endpoint());
    let azure = Azure::from_connection_string(format!(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;QueueEndpoint={base};BlobEndpoint={base};TableEndpoint={base}"
    ));
    let queue = azure
        .open_queue(&url("azqueue://devstoreaccount1/orders"))
        .unwrap();
    let _bucket = azure
        .open_bucket(&url("azblob://devstoreaccount1/files"))
        .unwrap();
    let _kv = azure
        .open_kv(&url("aztable://devstoreaccount1/state"))
        .unwrap();
    counter.settle().await;
    assert_eq!(counter.connections(), 0, "opening must not connect");
    let _ = tokio::time::timeout(Duration::from_secs(10), queue.send("x")).await;
    assert!(counter.connections() > 0, "the first use connects");
}

/// Points at a port nothing listens on: any network call would fail with `Unavailable`, so a
/// different error proves the input was refused first.
fn unreachable() -> Azure {
    Azure::from_connection_string(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;TableEndpoint=http://127.0.0.1:9/devstoreaccount1",
    )
}

#[tokio::test]
async fn bad_input_fails_before_any_call() {
    let azure = unreachable();
    let q = azure
        .open_queue(&url("azqueue://devstoreaccount1/orders"))
        .unwrap();
    let big = Message::new(vec![b'x'; MAX_MESSAGE_TEXT]);
    assert_eq!(q.send(big).await.unwrap_err().kind(), ErrorKind::TooLarge);
    // Fits raw, not once Base64-encoded with its envelope.
    let almost = Message::new(vec![b'x'; MAX_MESSAGE_TEXT / 4 * 3 - 10])
        .with_content_type("text/plain")
        .with_attribute("a", "b");
    assert_eq!(
        q.send(almost).await.unwrap_err().kind(),
        ErrorKind::TooLarge
    );
    let kv = azure
        .open_kv(&url("aztable://devstoreaccount1/state"))
        .unwrap();
    let long_key = "/".repeat(400);
    assert_eq!(
        kv.put(long_key.as_str(), "v", Precondition::None)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument,
        "a key over Table's limit once escaped"
    );
    // And the network error itself is typed and temporary.
    let e = q.send("x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(e.is_temporary());
}

struct PrivateAzurite(Child);

impl Drop for PrivateAzurite {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A queue-only Azurite of this test's own, so it can be stopped mid-run.
fn start_private_azurite() -> (PrivateAzurite, String) {
    let bin = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/azurite/node_modules/.bin/azurite-queue"
    );
    let port = free_port();
    let child = Command::new(bin)
        .args(["--silent", "--inMemoryPersistence", "--skipApiVersionCheck"])
        .args(["--queueHost", "127.0.0.1", "--queuePort", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("azurite (./scripts/test.sh installs it)");
    let azurite = PrivateAzurite(child);
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (
                azurite,
                format!(
                    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1"
                ),
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("azurite-queue did not start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn azurite_going_away_is_a_temporary_unavailable_error() {
    let (azurite, conn) = start_private_azurite();
    let azure = Azure::from_connection_string(conn);
    let queue = azure.queue(ACCOUNT, "going-away", None).unwrap();
    queue.create().await.unwrap();
    let q = Queue::new(queue);
    q.send("in flight").await.unwrap();
    let got = q.receive(opts(Duration::from_secs(30))).await.unwrap();
    assert_eq!(got.len(), 1);
    drop(azurite);
    for result in [
        q.ack(&got[0]).await.map(drop),
        q.send("more").await.map(drop),
        q.receive(opts(Duration::from_secs(30))).await.map(drop),
    ] {
        let e = result.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
        assert!(e.is_temporary(), "{e}");
        assert_eq!(e.provider(), Some("azure"));
    }
}
