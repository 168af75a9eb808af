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

/// What `<name>-poison` holds (received, leased for 30 s).
async fn poisoned(f: &Azurite, name: &str) -> Vec<cloudport_core::ReceivedMessage> {
    let poison = f
        .azure
        .open_queue(&url(&format!(
            "azqueue://{ACCOUNT}/{name}-poison?poison=false"
        )))
        .unwrap();
    poison.receive(opts(Duration::from_secs(30))).await.unwrap()
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
    let dead = poisoned(&f, &name).await;
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
    let (azurite, port) = private_azurite();
    (azurite, queue_endpoint(port))
}

/// A queue-only Azurite of this test's own and its queue port.
fn private_azurite() -> (PrivateAzurite, u16) {
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
            return (azurite, port);
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

// ---- Reliability: bodies byte for byte, Update Message never repeated blindly, the service's
// ---- dequeue count always wins.

/// A connection string of Azurite's well-known account whose queue endpoint is `queue_port`.
fn queue_endpoint(queue_port: u16) -> String {
    format!(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;QueueEndpoint=http://127.0.0.1:{queue_port}/devstoreaccount1"
    )
}

fn is_update_message(head: &[u8]) -> bool {
    head.starts_with(b"PUT ") && head.windows(11).any(|w| w == b"popreceipt=")
}

/// A server that reads each request's head, counts the Update Messages (`PUT …?popreceipt=`)
/// and closes the connection without answering: each request may have been applied, and its
/// answer is lost.
fn answer_never_comes() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::Read;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let updates = Arc::new(AtomicUsize::new(0));
    let counter = updates.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let counter = counter.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut buf = [0u8; 8192];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                if is_update_message(&head) {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
                // Dropped: closed without an answer.
            });
        }
    });
    (port, updates)
}

/// Update Message issues a new pop receipt whenever it succeeds, so an attempt whose answer was
/// lost must not be repeated with the old receipt: exactly one request per `extend_lease` /
/// `nack`, an error that says "not worth retrying", and the lease token left as it was.
#[tokio::test]
async fn update_message_is_not_repeated_after_a_lost_answer() {
    use std::sync::atomic::Ordering;
    let (port, updates) = answer_never_comes();
    let azure = Azure::from_connection_string(queue_endpoint(port));
    let q = Queue::new(azure.queue(ACCOUNT, "orders", None).unwrap());
    let lease = cloudport_core::LeaseToken::new("msg-1:AgAAAAMAAAAAAAAA");
    let mut m = cloudport_core::ReceivedMessage::new("msg-1", "body", lease.clone());

    let e = q
        .extend_lease(&mut m, Duration::from_secs(30))
        .await
        .unwrap_err();
    assert_eq!(
        updates.load(Ordering::SeqCst),
        1,
        "extend_lease sent Update Message more than once: {e}"
    );
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(
        !e.is_temporary(),
        "a repeat would carry a stale receipt: {e}"
    );
    assert_eq!(m.lease, lease, "the lease is unchanged");

    let e = q.nack(&m, Duration::ZERO).await.unwrap_err();
    assert_eq!(
        updates.load(Ordering::SeqCst),
        2,
        "nack sent Update Message more than once: {e}"
    );
    assert!(!e.is_temporary(), "{e}");
}

/// A request that never left (nothing listens) can be repeated safely: it stays temporary.
#[tokio::test]
async fn update_message_that_never_left_stays_temporary() {
    let q = Queue::new(unreachable().queue(ACCOUNT, "orders", None).unwrap());
    let mut m = cloudport_core::ReceivedMessage::new(
        "msg-1",
        "body",
        cloudport_core::LeaseToken::new("msg-1:AgAAAAMAAAAAAAAA"),
    );
    let e = q
        .extend_lease(&mut m, Duration::from_secs(30))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(e.is_temporary(), "connection refused: never applied: {e}");
}

/// A TCP proxy in front of Azurite's queue endpoint that forwards everything, except that it
/// swallows the answer to the first Update Message and closes that connection: the service
/// applied it (new pop receipt, new visibility), the client never hears of it.
struct LossyProxy {
    port: u16,
    updates: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl LossyProxy {
    fn start(upstream: u16) -> Self {
        use std::io::{Read, Write};
        use std::net::{Shutdown, TcpStream};
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let updates = Arc::new(AtomicUsize::new(0));
        let dropped_one = Arc::new(AtomicBool::new(false));
        let counter = updates.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                // Set (by the request side, before the request goes on) when this connection's
                // next answer is to be swallowed.
                let swallow = Arc::new(AtomicBool::new(false));
                let (mut c_in, mut s_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (counter, dropped_one, swallow_req) =
                    (counter.clone(), dropped_one.clone(), swallow.clone());
                std::thread::spawn(move || {
                    let mut buf = [0u8; 64 * 1024];
                    loop {
                        let n = match c_in.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if is_update_message(&buf[..n]) {
                            counter.fetch_add(1, Ordering::SeqCst);
                            if !dropped_one.swap(true, Ordering::SeqCst) {
                                swallow_req.store(true, Ordering::SeqCst);
                            }
                        }
                        if s_out.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = s_out.shutdown(Shutdown::Write);
                });
                let (mut s_in, mut c_out) = (server, client);
                std::thread::spawn(move || {
                    let mut buf = [0u8; 64 * 1024];
                    loop {
                        let n = match s_in.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if swallow.load(Ordering::SeqCst) {
                            // The answer to the update: applied, never delivered.
                            break;
                        }
                        if c_out.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = c_out.shutdown(Shutdown::Both);
                    let _ = s_in.shutdown(Shutdown::Both);
                });
            }
        });
        Self { port, updates }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn a_lost_update_message_answer_is_not_retried_with_a_stale_receipt() {
    use std::sync::atomic::Ordering;
    let (_azurite, port) = private_azurite();
    let proxy = LossyProxy::start(port);
    let azure = Azure::from_connection_string(queue_endpoint(proxy.port));
    let queue = azure.queue(ACCOUNT, "lost-answers", None).unwrap();
    queue.create().await.unwrap();
    let q = Queue::new(queue);
    q.send("important").await.unwrap();
    let mut got = q.receive(opts(Duration::from_secs(30))).await.unwrap();
    assert_eq!(got.len(), 1);

    // Applied by the service (visible again in 2 s under a receipt nobody learns), answer lost.
    let e = q
        .extend_lease(&mut got[0], Duration::from_secs(2))
        .await
        .unwrap_err();
    assert_ne!(
        e.kind(),
        ErrorKind::LeaseLost,
        "Update Message was repeated with the stale receipt: {e}"
    );
    assert_eq!(
        proxy.updates.load(Ordering::SeqCst),
        1,
        "one Update Message, not repeated: {e}"
    );
    assert!(!e.is_temporary(), "{e}");

    // Never lost: the message comes back when the visibility the service applied ends.
    let mut again = Vec::new();
    for _ in 0..40 {
        again = q.receive(opts(Duration::from_secs(30))).await.unwrap();
        if !again.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(again.len(), 1, "the message returns");
    assert_eq!(again[0].text().unwrap(), "important");
    assert_eq!(again[0].delivery_count, 2);
    q.ack(&again[0]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn bodies_round_trip_byte_for_byte() {
    let f = Azurite::new();
    let queue = f.create_queue(&f.unique("bytes")).await;
    let client = queue.client().unwrap();
    let q = Queue::new(queue);
    let not_utf8 = Bytes::from_static(&[0xff, 0x00, 0xc3, 0x28, b'{', 0x80]);
    let cases = [
        Message::new(not_utf8.clone()),
        Message::new(not_utf8.clone()).with_content_type("application/octet-stream"),
        Message::new(not_utf8.clone()).with_attribute("kind", "raw"),
        Message::new("plain text"),
        Message::new(r#"{"id":"42"}"#).with_content_type("application/json"),
        Message::new("héllo ✓").with_content_type("text/plain; charset=utf-8"),
    ];
    for sent in cases {
        q.send(sent.clone()).await.unwrap();
        let got = q.receive(opts(Duration::from_secs(30))).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].body, sent.body, "{sent:?}");
        assert_eq!(got[0].attributes, sent.attributes, "{sent:?}");
        if sent.content_type.as_deref() == Some("application/octet-stream") {
            assert_eq!(got[0].content_type, sent.content_type);
        }
        q.ack(&got[0]).await.unwrap();
    }
    // A plain non-UTF-8 body is Base64 of itself: any consumer reads it unchanged.
    q.send(Message::new(not_utf8.clone())).await.unwrap();
    let native = client
        .receive_messages(None)
        .await
        .unwrap()
        .into_model()
        .unwrap()
        .items
        .unwrap();
    let text = native[0].message_text.clone().unwrap();
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap(),
        not_utf8
    );
}

/// An envelope written by a producer outside cloudport, claiming `deliverycount: 1`.
fn envelope_claiming_a_first_delivery() -> String {
    let wire = serde_json::json!({
        "specversion": "1.0", "id": "e-1", "source": "elsewhere",
        "type": cloudport_core::queue::wire::ENVELOPE_TYPE,
        "datacontenttype": "text/plain", "data": "poison",
        "deliverycount": "1", "tenant": "acme"
    })
    .to_string();
    base64::engine::general_purpose::STANDARD.encode(wire)
}

async fn send_raw(queue: &cloudport_azure::AzureQueue, text: String) {
    use azure_storage_queue::models::QueueMessage as Native;
    queue
        .client()
        .unwrap()
        .send_message(
            Native {
                message_text: Some(text),
            }
            .try_into()
            .unwrap(),
            None,
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs emulators: ./scripts/test.sh"]
async fn a_sender_deliverycount_never_replaces_the_dequeue_count() {
    use cloudport_core::event::{Event, QueueMessage};
    let f = Azurite::new();
    let name = f.unique("dc");
    let queue = f.create_queue(&name).await;
    send_raw(&queue, envelope_claiming_a_first_delivery()).await;
    let q = Queue::new(queue);
    let first = q.receive(opts(Duration::from_secs(30))).await.unwrap();
    q.nack(&first[0], Duration::ZERO).await.unwrap();
    let second = q.receive(opts(Duration::from_secs(30))).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].delivery_count, 2);
    assert_eq!(
        second[0].attributes.get("tenant").map(String::as_str),
        Some("acme")
    );
    // The event a handler gets carries the service's count, whatever the sender wrote.
    let event = QueueMessage::from_received(&name, &second[0]).to_cloudevent("s");
    let event = Event::<QueueMessage>::try_from(event).unwrap();
    assert_eq!(
        event.data().delivery_count,
        2,
        "the sender's deliverycount replaced the dequeue count"
    );
    assert!(!second[0].attributes.contains_key("deliverycount"));
    q.ack(&second[0]).await.unwrap();

    // With the poison-queue policy (1 delivery): the second delivery goes to <queue>-poison.
    let name = f.unique("dcp");
    let queue = f.create_queue(&name).await;
    send_raw(&queue, envelope_claiming_a_first_delivery()).await;
    let q = f
        .azure
        .open_queue(&url(&format!(
            "azqueue://{ACCOUNT}/{name}?max_dequeue_count=1"
        )))
        .unwrap();
    let first = q.receive(opts(Duration::from_secs(30))).await.unwrap();
    assert_eq!(first.len(), 1);
    q.nack(&first[0], Duration::ZERO).await.unwrap();
    assert!(
        q.receive(opts(Duration::from_secs(30)))
            .await
            .unwrap()
            .is_empty()
    );
    let dead = poisoned(&f, &name).await;
    assert_eq!(dead.len(), 1, "the message was dead-lettered");
    assert_eq!(dead[0].text().unwrap(), "poison");
    assert_eq!(dead[0].attributes["tenant"], "acme");
}
