//! Idempotency checks: the helper on the provider's key-value store.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use super::{Fixture, assert_kind};
use crate::idempotency::Idempotency;
use crate::{ErrorKind, Precondition};

/// Duplicate and concurrent deliveries run the work once; repeats get the stored result; a reused
/// key with another payload, and a corrupt record, are errors; a failed run frees its key.
pub async fn idempotency_under_duplicate_and_concurrent_delivery(f: &dyn Fixture) {
    let kv = f.kv().await;
    let once = Idempotency::new(kv.clone());
    let runs = Arc::new(AtomicU32::new(0));
    let payload = serde_json::json!({"order": "42"});

    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (once, runs, payload) = (once.clone(), runs.clone(), payload.clone());
        tasks.push(tokio::spawn(async move {
            once.run("order-42", &payload, || async move {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                Ok(runs.fetch_add(1, Ordering::SeqCst) + 1)
            })
            .await
        }));
    }
    let mut completed = Vec::new();
    for t in tasks {
        match t.await.expect("task") {
            Ok(n) => completed.push(n),
            Err(e) => {
                assert_eq!(
                    e.kind(),
                    ErrorKind::AlreadyExists,
                    "a concurrent repeat: {e}"
                );
                assert!(
                    e.is_temporary(),
                    "a concurrent repeat is worth retrying later"
                );
            }
        }
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "the work must run exactly once"
    );
    assert!(
        completed.iter().all(|n| *n == 1),
        "every completed call sees the one result"
    );
    let repeat: u32 = once
        .run("order-42", &payload, || async { Ok(99) })
        .await
        .expect("repeat");
    assert_eq!(repeat, 1, "a duplicate delivery gets the stored result");

    assert_kind(
        once.run("order-42", &serde_json::json!({"order": "43"}), || async {
            Ok(7u32)
        })
        .await,
        ErrorKind::InvalidArgument,
        "the same key with another payload",
    );

    let failed = once
        .run("order-44", &payload, || async {
            Err::<u32, _>(crate::Error::handler("payment declined"))
        })
        .await;
    assert_kind(failed, ErrorKind::Handler, "a failing run");
    let retried: u32 = once
        .run("order-44", &payload, || async { Ok(44) })
        .await
        .expect("a failed run frees its key");
    assert_eq!(retried, 44);

    kv.put("idempotency/order-45", "{not json", Precondition::None)
        .await
        .expect("corrupt record");
    let err = once
        .run("order-45", &payload, || async { Ok(45u32) })
        .await
        .expect_err("corrupt record");
    assert_eq!(err.kind(), ErrorKind::Malformed);
    assert!(
        err.to_string().contains("order-45"),
        "the error names the key: {err}"
    );
}
