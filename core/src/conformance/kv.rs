//! Key-value checks.

use std::time::Duration;

use super::{Fixture, assert_kind, skipped_for_gap};
use crate::{ErrorKind, Precondition};

/// Put, get (value and version), delete; deleting again is fine and reports nothing deleted.
pub async fn kv_put_get_delete(f: &dyn Fixture) {
    let kv = f.kv().await;
    assert!(kv.get("k").await.expect("get").is_none());
    let v = kv.put("k", "v1", Precondition::None).await.expect("put");
    let e = kv.get("k").await.expect("get").expect("present");
    assert_eq!(e.value, "v1");
    assert_eq!(e.version, v);
    assert_eq!(e.key, "k");
    let v2 = kv
        .put("k", "v2", Precondition::None)
        .await
        .expect("overwrite");
    assert_ne!(v, v2, "a write must change the version");
    assert!(
        kv.delete("k").await.expect("delete"),
        "delete of a live key reports it"
    );
    assert!(kv.get("k").await.expect("get").is_none());
    assert!(
        !kv.delete("k").await.expect("second delete"),
        "second delete finds nothing"
    );
}

/// `IfAbsent` writes once; then `AlreadyExists`.
pub async fn kv_if_absent(f: &dyn Fixture) {
    let kv = f.kv().await;
    kv.put("once", "first", Precondition::IfAbsent)
        .await
        .expect("first");
    assert_kind(
        kv.put("once", "second", Precondition::IfAbsent).await,
        ErrorKind::AlreadyExists,
        "second IfAbsent",
    );
    assert_eq!(
        kv.get("once").await.expect("get").expect("present").value,
        "first"
    );
}

/// `IfVersion` writes and deletes only the version named.
pub async fn kv_if_version(f: &dyn Fixture) {
    let kv = f.kv().await;
    let v1 = kv.put("doc", "1", Precondition::None).await.expect("put");
    let v2 = kv
        .put("doc", "2", Precondition::IfVersion(v1.clone()))
        .await
        .expect("put with current version");
    assert_kind(
        kv.put("doc", "3", Precondition::IfVersion(v1.clone()))
            .await,
        ErrorKind::PreconditionFailed,
        "put with a stale version",
    );
    assert_kind(
        kv.delete_if("doc", Precondition::IfVersion(v1.clone()))
            .await,
        ErrorKind::PreconditionFailed,
        "delete with a stale version",
    );
    assert_kind(
        kv.put("absent", "x", Precondition::IfVersion(v1)).await,
        ErrorKind::PreconditionFailed,
        "IfVersion on an absent key",
    );
    assert!(
        kv.delete_if("doc", Precondition::IfVersion(v2))
            .await
            .expect("delete")
    );
    assert!(kv.get("doc").await.expect("get").is_none());
}

/// An entry past its TTL is never returned, is left out of scans, and counts as absent.
pub async fn kv_ttl(f: &dyn Fixture) {
    let kv = f.kv().await;
    if !kv.capabilities().ttl {
        assert_kind(
            kv.put(
                "t",
                "x",
                Precondition::None.with_ttl(Duration::from_secs(2)),
            )
            .await,
            ErrorKind::Unsupported,
            "ttl",
        );
        return;
    }
    let ttl = Duration::from_secs(2);
    kv.put("ttl/short", "x", Precondition::None.with_ttl(ttl))
        .await
        .expect("put with ttl");
    kv.put("ttl/long", "y", Precondition::None)
        .await
        .expect("put");
    let e = kv
        .get("ttl/short")
        .await
        .expect("get")
        .expect("present before expiry");
    assert!(
        e.expires_at.is_some(),
        "an entry with a TTL reports its expiry"
    );
    // Some stores keep expiry in whole seconds: allow for rounding.
    f.advance(ttl + f.slack() * 2).await;
    assert!(
        kv.get("ttl/short").await.expect("get").is_none(),
        "expired entry returned"
    );
    let keys: Vec<String> = kv
        .scan_all("ttl/")
        .await
        .expect("scan")
        .into_iter()
        .map(|e| e.key)
        .collect();
    assert_eq!(keys, ["ttl/long"], "scan must leave out expired entries");
    kv.put("ttl/short", "again", Precondition::IfAbsent)
        .await
        .expect("IfAbsent over an expired entry");
}

/// Prefix scans return only that prefix, in key order, in pages.
pub async fn kv_scan_prefix_pages(f: &dyn Fixture) {
    let kv = f.kv().await;
    for i in 0..25 {
        kv.put(format!("p/{i:03}"), "x", Precondition::None)
            .await
            .expect("put");
    }
    for k in ["o", "q/1", "p"] {
        kv.put(k, "y", Precondition::None).await.expect("put");
    }
    let mut keys = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = kv.scan("p/", 10, token.as_deref()).await.expect("scan");
        pages += 1;
        assert!(page.entries.len() <= 10);
        keys.extend(page.entries.into_iter().map(|e| e.key));
        match page.next_page_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let expected: Vec<String> = (0..25).map(|i| format!("p/{i:03}")).collect();
    assert_eq!(keys, expected);
    assert!(pages >= 3, "25 keys in pages of 10 take at least 3 pages");
    assert_eq!(kv.scan_all("").await.expect("scan all").len(), 28);
}

/// Keys with characters some stores forbid (`/ \ # ?`, spaces, non-ASCII) round-trip and scan.
pub async fn kv_key_characters(f: &dyn Fixture) {
    let kv = f.kv().await;
    let keys = [
        "k/a/b",
        "k/a\\b",
        "k/a#b",
        "k/a?b",
        "k/with space",
        "k/ünïcødé",
        "k/%41",
    ];
    for (i, k) in keys.iter().enumerate() {
        kv.put(*k, format!("{i}"), Precondition::IfAbsent)
            .await
            .unwrap_or_else(|e| panic!("put {k:?}: {e}"));
    }
    for (i, k) in keys.iter().enumerate() {
        let e = kv
            .get(*k)
            .await
            .expect("get")
            .unwrap_or_else(|| panic!("{k:?} not found"));
        assert_eq!(e.value, format!("{i}").into_bytes(), "value of {k:?}");
        assert_eq!(e.key, *k, "key read back");
    }
    let mut scanned: Vec<String> = kv
        .scan_all("k/")
        .await
        .expect("scan")
        .into_iter()
        .map(|e| e.key)
        .collect();
    let mut expected: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    expected.sort();
    scanned.sort();
    assert_eq!(scanned, expected);
    let by_prefix: Vec<String> = kv
        .scan_all("k/a")
        .await
        .expect("scan")
        .into_iter()
        .map(|e| e.key)
        .collect();
    assert_eq!(
        by_prefix.len(),
        4,
        "prefix k/a matches four keys: {by_prefix:?}"
    );
}

/// JSON helpers round-trip; a corrupt value is `Malformed` and names its key.
pub async fn kv_json_helpers(f: &dyn Fixture) {
    let kv = f.kv().await;
    let order = serde_json::json!({"id": "42", "total_cents": 1250});
    kv.put_json("order/42", &order, Precondition::IfAbsent)
        .await
        .expect("put_json");
    let (back, _) = kv
        .get_json::<serde_json::Value>("order/42")
        .await
        .expect("get_json")
        .expect("present");
    assert_eq!(back, order);
    kv.put("order/bad", "{not json", Precondition::None)
        .await
        .expect("put");
    let err = kv
        .get_json::<serde_json::Value>("order/bad")
        .await
        .expect_err("corrupt value");
    assert_eq!(err.kind(), ErrorKind::Malformed);
    assert!(
        err.to_string().contains("order/bad"),
        "error must name the key: {err}"
    );
}

/// Bad keys, oversize values and a TTL under a second fail typed.
pub async fn kv_rejects_bad_input(f: &dyn Fixture) {
    let kv = f.kv().await;
    let caps = kv.capabilities().clone();
    assert_kind(
        kv.put("", "x", Precondition::None).await,
        ErrorKind::InvalidArgument,
        "empty key",
    );
    assert_kind(
        kv.put("k".repeat(caps.max_key_bytes + 1), "x", Precondition::None)
            .await,
        ErrorKind::InvalidArgument,
        "long key",
    );
    assert_kind(
        kv.get("a\u{0}b").await,
        ErrorKind::InvalidArgument,
        "NUL in key",
    );
    assert_kind(
        kv.put("k", vec![0u8; caps.max_value_bytes + 1], Precondition::None)
            .await,
        ErrorKind::TooLarge,
        "oversize value",
    );
    if caps.ttl {
        assert_kind(
            kv.put(
                "k",
                "x",
                Precondition::None.with_ttl(Duration::from_millis(10)),
            )
            .await,
            ErrorKind::InvalidArgument,
            "ttl under a second",
        );
    }
    assert_kind(
        kv.delete_if("k", Precondition::IfAbsent).await,
        ErrorKind::InvalidArgument,
        "delete IfAbsent",
    );
    assert_kind(
        kv.scan("", 0, None).await,
        ErrorKind::InvalidArgument,
        "scan limit 0",
    );
}

/// 8 writers × 200 optimistic increments of one key end at exactly 1600.
pub async fn kv_concurrent_increments(f: &dyn Fixture) {
    const WRITERS: u64 = 8;
    const INCREMENTS: u64 = 200;
    let kv = f.kv().await;
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let kv = kv.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..INCREMENTS {
                kv.update_json("counter", 10_000, |n: Option<u64>| Ok(n.unwrap_or(0) + 1))
                    .await
                    .expect("increment");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer task");
    }
    let (n, _) = kv
        .get_json::<u64>("counter")
        .await
        .expect("get")
        .expect("present");
    // Never doubled: a conditional write is never repeated after it may have taken effect.
    assert!(n <= WRITERS * INCREMENTS, "doubled increments: {n}");
    if !skipped_for_gap(f, "kv.condition.atomic") {
        assert_eq!(n, WRITERS * INCREMENTS, "lost increments");
    }
}

/// One contract for versions: a version is never reused (a key deleted and written again gets a
/// new one, so a stale writer's `IfVersion` fails — the fencing the idempotency helper relies on),
/// and an entry past its TTL is absent for `IfVersion` writes and deletes too (they fail with
/// `PreconditionFailed`, and never bring the entry back).
pub async fn kv_versions_fence_stale_writers(f: &dyn Fixture) {
    let kv = f.kv().await;
    let v1 = kv
        .put("fenced", "1", Precondition::None)
        .await
        .expect("put");
    assert!(kv.delete("fenced").await.expect("delete"));
    let v2 = kv
        .put("fenced", "2", Precondition::IfAbsent)
        .await
        .expect("put again");
    assert_ne!(v1, v2, "a version is never reused after a delete");
    assert_kind(
        kv.put("fenced", "stale", Precondition::IfVersion(v1)).await,
        ErrorKind::PreconditionFailed,
        "a stale writer's version after a delete and re-create",
    );
    assert_eq!(
        kv.get("fenced").await.expect("get").expect("kept").value,
        "2"
    );

    if !kv.capabilities().ttl {
        return;
    }
    let ttl = Duration::from_secs(1);
    let v = kv
        .put("expiring", "1", Precondition::None.with_ttl(ttl))
        .await
        .expect("put with ttl");
    f.advance(ttl + f.slack()).await;
    assert_kind(
        kv.put("expiring", "back", Precondition::IfVersion(v.clone()))
            .await,
        ErrorKind::PreconditionFailed,
        "IfVersion write on an expired entry",
    );
    assert!(
        kv.get("expiring").await.expect("get").is_none(),
        "a refused write never brings an expired entry back"
    );
    assert_kind(
        kv.delete_if("expiring", Precondition::IfVersion(v)).await,
        ErrorKind::PreconditionFailed,
        "IfVersion delete on an expired entry",
    );
    kv.put("expiring", "new", Precondition::IfAbsent)
        .await
        .expect("an expired entry counts as absent");
}
