//! Declared access: an operation outside the app's declarations fails with `PermissionDenied`
//! and changes nothing at the provider; a declared one reaches it.

use std::sync::Arc;
use std::time::Duration;

use super::queue::receive_n;
use super::{Fixture, assert_kind};
use crate::access::{AccessPolicy, bucket, kv, queue};
use crate::{Env, ErrorKind, ListOptions, Precondition, ReceiveOptions};

/// A queue declared `send` only, a bucket `read` + `list`, a store `read`: every other operation
/// is refused before the driver (nothing consumed, written or deleted at the provider), and the
/// declared ones work.
pub async fn declared_access_is_enforced_before_the_driver(f: &dyn Fixture) {
    let (raw_queue, raw_bucket, raw_kv) = (f.queue().await, f.bucket().await, f.kv().await);
    let env = Env::builder()
        .queue("jobs", raw_queue.clone())
        .bucket("files", raw_bucket.clone())
        .kv("state", raw_kv.clone())
        .build()
        .with_access(Arc::new(AccessPolicy::from_uses([
            queue("jobs").send().into(),
            bucket("files").read().list().into(),
            kv("state").read().into(),
        ])));
    let denied = ErrorKind::PermissionDenied;

    // Queue: send reaches the provider; consuming is refused and consumes nothing.
    let jobs = env.queue("jobs").expect("queue");
    jobs.send("job-1").await.expect("a declared send");
    let caps = raw_queue.capabilities();
    let options = ReceiveOptions::default()
        .max_messages(caps.max_batch_receive.min(10))
        .lease(caps.min_lease.max(Duration::from_secs(30)))
        .wait(f.wait().min(caps.max_wait));
    assert_kind(jobs.receive(options).await, denied, "an undeclared receive");
    let got = receive_n(&raw_queue, 1, options).await;
    assert_eq!(got.len(), 1, "the refused receive took nothing");
    assert_kind(jobs.ack(&got[0]).await, denied, "an undeclared ack");
    assert_kind(
        jobs.nack(&got[0], Duration::ZERO).await,
        denied,
        "an undeclared nack",
    );
    let results = jobs.send_batch(["a", "b"]).await;
    assert!(results.iter().all(Result::is_ok), "a declared batch send");
    raw_queue.ack(&got[0]).await.expect("ack");

    // Bucket: reads and lists reach the provider; writes and deletes are refused.
    raw_bucket.put("kept", "v1").await.expect("put");
    let files = env.bucket("files").expect("bucket");
    assert_kind(files.put("new", "x").await, denied, "an undeclared put");
    assert_kind(files.delete("kept").await, denied, "an undeclared delete");
    assert_kind(
        files.copy("kept", "copy").await,
        denied,
        "an undeclared copy",
    );
    assert_eq!(files.get_bytes("kept").await.expect("a declared get"), "v1");
    assert_kind(
        files.head("missing").await,
        ErrorKind::NotFound,
        "a missing key",
    );
    let page = files
        .list(ListOptions::default())
        .await
        .expect("a declared list");
    assert_eq!(
        page.objects
            .iter()
            .map(|o| o.key.as_str())
            .collect::<Vec<_>>(),
        ["kept"],
        "nothing was written or deleted"
    );

    // KV: reads reach the provider; writes are refused and write nothing.
    raw_kv
        .put("k", "v1", Precondition::None)
        .await
        .expect("put");
    let state = env.kv("state").expect("kv");
    assert_kind(
        state.put("k", "v2", Precondition::None).await,
        denied,
        "an undeclared put",
    );
    assert_kind(state.delete("k").await, denied, "an undeclared delete");
    let entry = state
        .get("k")
        .await
        .expect("a declared get")
        .expect("entry");
    assert_eq!(entry.value, "v1", "the refused put wrote nothing");
    assert_eq!(state.scan_all("").await.expect("a declared scan").len(), 1);
}
