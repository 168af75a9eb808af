//! The cloudport side of the operation-latency comparisons, the same on every provider: each
//! function runs its operation `n` times and returns the time taken. Keys cycle over `k0`..`k63`,
//! which [`seed`] writes first.

use std::time::Duration;

use cloudport::{Bucket, KvStore, Precondition, Queue};
use tokio::runtime::Runtime;

/// How many keys the timed operations cycle over.
const KEYS: u64 = 64;

fn key(i: u64) -> String {
    format!("k{}", i % KEYS)
}

/// `n` × `Queue::send` of `body`.
pub(crate) fn queue_send(rt: &Runtime, queue: &Queue, body: &str, n: u64) -> Duration {
    super::time_async(rt, n, |_| async move {
        queue.send(body.to_owned()).await.unwrap();
    })
}

/// `n` × `Bucket::put` of `body`.
pub(crate) fn blob_put(rt: &Runtime, bucket: &Bucket, body: &str, n: u64) -> Duration {
    super::time_async(rt, n, |i| async move {
        bucket.put(key(i), body.to_owned()).await.unwrap();
    })
}

/// `n` × `Bucket::get_bytes` of seeded keys.
pub(crate) fn blob_get(rt: &Runtime, bucket: &Bucket, n: u64) -> Duration {
    super::time_async(rt, n, |i| async move {
        bucket.get_bytes(key(i)).await.unwrap();
    })
}

/// `n` × unconditional `KvStore::put` of `body`.
pub(crate) fn kv_put(rt: &Runtime, kv: &KvStore, body: &str, n: u64) -> Duration {
    super::time_async(rt, n, |i| async move {
        kv.put(key(i), body.to_owned(), Precondition::None)
            .await
            .unwrap();
    })
}

/// `n` × `KvStore::get` of seeded keys.
pub(crate) fn kv_get(rt: &Runtime, kv: &KvStore, n: u64) -> Duration {
    super::time_async(rt, n, |i| async move {
        kv.get(key(i)).await.unwrap().expect("a seeded key");
    })
}

/// Writes `body` under every key the reads cycle over, in `bucket` and `kv` where given.
pub(crate) fn seed(rt: &Runtime, bucket: Option<&Bucket>, kv: Option<&KvStore>, body: &str) {
    rt.block_on(async {
        for i in 0..KEYS {
            if let Some(b) = bucket {
                b.put(key(i), body.to_owned()).await.unwrap();
            }
            if let Some(k) = kv {
                k.put(key(i), body.to_owned(), Precondition::None)
                    .await
                    .unwrap();
            }
        }
    });
}
