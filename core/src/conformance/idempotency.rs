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

/// A claim never outlives its run: a panicking or cancelled run frees its key at once, a claim
/// inside an invocation expires with the invocation's deadline, and a run that outlived its claim
/// (a newer run claimed the key and completed meanwhile) never overwrites the newer record.
pub async fn idempotency_claims_end_with_their_run(f: &dyn Fixture) {
    let kv = f.kv().await;
    let once = Idempotency::new(kv.clone());
    let payload = serde_json::json!({"order": "7"});

    // A panic: the key is free again (released, not left in progress for minutes).
    let panicking = {
        let once = once.clone();
        let payload = payload.clone();
        tokio::spawn(async move {
            once.run("panics", &payload, || async {
                if payload.is_object() {
                    panic!("the handler panicked");
                }
                Ok(0u32)
            })
            .await
        })
    };
    assert!(panicking.await.is_err(), "the task panicked");
    let after_panic = run_when_released(&once, "panics", &payload, f).await;
    assert_eq!(after_panic, 1, "a delivery after the panic runs the work");

    // Cancelled: the future dropped while the work runs (a timed-out invocation).
    let cancelled = tokio::time::timeout(
        std::time::Duration::from_millis(200),
        once.run("cancelled", &payload, || async {
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            Ok(0u32)
        }),
    )
    .await;
    assert!(cancelled.is_err(), "the run was cancelled");
    let after_cancel = run_when_released(&once, "cancelled", &payload, f).await;
    assert_eq!(after_cancel, 1, "a delivery after the cancel runs the work");

    // Inside an invocation, the claim ends with its deadline (plus a margin), not after the
    // five-minute default.
    if kv.capabilities().ttl {
        let probe = kv
            .put(
                "probe",
                "x",
                Precondition::None.with_ttl(std::time::Duration::from_secs(60)),
            )
            .await
            .expect("probe");
        let _ = probe;
        let probe_expiry = kv
            .get("probe")
            .await
            .expect("get probe")
            .and_then(|e| e.expires_at)
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .expect("the probe has an expiry")
            .as_secs();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(3);
        let ctx = crate::context::InvocationContext::new("inv-1", Some(deadline));
        let kv2 = kv.clone();
        let claim_expiry = crate::context::scope(ctx, async {
            once.run("deadline", &payload, || async move {
                Ok(kv2
                    .get("idempotency/deadline")
                    .await?
                    .and_then(|e| e.expires_at)
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_secs()))
            })
            .await
        })
        .await
        .expect("run in an invocation")
        .expect("the claim has an expiry");
        assert!(
            claim_expiry + 30 < probe_expiry,
            "the claim ends with the invocation (3 s + margin), well before a 60 s entry: claim {claim_expiry}, probe {probe_expiry}"
        );
    }

    // Fencing: run A outlives its one-second claim; run B claims the key and completes; A's late
    // result must not overwrite B's record.
    if kv.capabilities().ttl {
        let short =
            Idempotency::new(kv.clone()).in_progress_timeout(std::time::Duration::from_secs(1));
        let b = short.clone();
        let payload_b = payload.clone();
        let a: String = short
            .run("fenced", &payload, || async move {
                f.advance(std::time::Duration::from_secs(2) + f.slack())
                    .await;
                let from_b: String = b
                    .run("fenced", &payload_b, || async { Ok("B".to_owned()) })
                    .await?;
                assert_eq!(from_b, "B", "B claimed the expired key and ran");
                Ok("A".to_owned())
            })
            .await
            .expect("A's work itself succeeded");
        assert_eq!(a, "A", "A's caller still gets A's value");
        let stored: String = short
            .run("fenced", &payload, || async { Ok("C".to_owned()) })
            .await
            .expect("a repeat");
        assert_eq!(stored, "B", "the newer run's record stands");
    }
}

/// Runs `key` once its claim is released (the release runs in a task of its own): the work's
/// result, retrying while the key is still claimed, for at most a few seconds.
async fn run_when_released(
    once: &Idempotency,
    key: &str,
    payload: &serde_json::Value,
    f: &dyn Fixture,
) -> u32 {
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(5) + f.slack();
    loop {
        match once.run(key, payload, || async { Ok(1u32) }).await {
            Ok(n) => return n,
            // Still claimed, or the release raced this claim: temporary, as for a platform that
            // delivers again.
            Err(e) if e.is_temporary() && std::time::Instant::now() < give_up => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => panic!("the key {key:?} was not released: {e}"),
        }
    }
}
