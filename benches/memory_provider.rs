//! Memory provider throughput against the plainest baseline: KV get/put vs a `Mutex<HashMap>`,
//! queue send→receive→ack vs a `Mutex<VecDeque>`; and what the declared-access check
//! (`App::uses`) adds to an operation: the same operation on a handle with and without a grant
//! (goal ≤ 20 ns). `cargo bench --bench memory_provider`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod support;

use std::collections::{HashMap, VecDeque};
use std::hint::black_box;
use std::sync::Mutex;
use std::time::Instant;

use bytes::Bytes;
use cloudport::access::{AccessPolicy, kv, queue};
use cloudport::memory::Memory;
use cloudport::{Env, EnvExt, Precondition, ReceiveOptions};

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    support::header(
        "Memory provider (per operation, median of alternating samples)",
        "Mutex<HashMap> / Mutex<VecDeque>",
    );

    let keys: Vec<String> = (0..1024).map(|i| format!("order/{i:05}")).collect();
    let value = Bytes::from_static(b"{\"id\":\"42\",\"total_cents\":1250}");

    let kv = Memory::new().kv("bench");
    let map: Mutex<HashMap<String, (Bytes, u64)>> = Mutex::new(HashMap::new());
    rt.block_on(async {
        for k in &keys {
            kv.put(k, value.clone(), Precondition::None).await.unwrap();
            map.lock().unwrap().insert(k.clone(), (value.clone(), 1));
        }
    });

    support::compare(
        "kv.put",
        |iters| {
            let start = Instant::now();
            for i in 0..iters {
                let k = &keys[(i % 1024) as usize];
                map.lock().unwrap().insert(k.clone(), (value.clone(), i));
            }
            start.elapsed()
        },
        |iters| {
            support::time_async(&rt, iters, |i| {
                let k = &keys[(i % 1024) as usize];
                let (kv, v) = (&kv, value.clone());
                async move {
                    black_box(kv.put(k, v, Precondition::None).await.unwrap());
                }
            })
        },
    );

    support::compare(
        "kv.get",
        |iters| {
            let start = Instant::now();
            for i in 0..iters {
                let k = &keys[(i % 1024) as usize];
                black_box(map.lock().unwrap().get(k).cloned());
            }
            start.elapsed()
        },
        |iters| {
            support::time_async(&rt, iters, |i| {
                let k = &keys[(i % 1024) as usize];
                let kv = &kv;
                async move {
                    black_box(kv.get(k).await.unwrap());
                }
            })
        },
    );

    let queue = Memory::new().queue("bench");
    let deque: Mutex<VecDeque<Bytes>> = Mutex::new(VecDeque::new());
    let options = ReceiveOptions::default().max_messages(1);
    support::compare(
        "queue send→receive→ack",
        |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                deque.lock().unwrap().push_back(value.clone());
                black_box(deque.lock().unwrap().pop_front());
            }
            start.elapsed()
        },
        |iters| {
            support::time_async(&rt, iters, |_| {
                let (queue, v) = (&queue, value.clone());
                async move {
                    queue.send(v).await.unwrap();
                    let got = queue.receive(options).await.unwrap();
                    queue.ack(&got[0]).await.unwrap();
                }
            })
        },
    );

    declared_access(&rt, &keys, &value);
}

/// The declared-access check: the same memory operations through a handle that carries the app's
/// grant (checked) and one that does not (unchecked, the baseline). The difference is the check.
fn declared_access(rt: &tokio::runtime::Runtime, keys: &[String], value: &Bytes) {
    support::header(
        "Declared access check (App::uses): the same operation with and without a grant",
        "without a grant",
    );
    let memory = Memory::new();
    let env = Env::on_memory(&memory);
    let policy = std::sync::Arc::new(AccessPolicy::from_uses([
        kv("bench").read().write().into(),
        queue("bench").send().consume().into(),
    ]));
    let declared = env.with_access(policy);
    let (plain_kv, checked_kv) = (env.kv("bench").unwrap(), declared.kv("bench").unwrap());
    assert!(checked_kv.grant().is_some() && plain_kv.grant().is_none());
    rt.block_on(async {
        for k in keys {
            plain_kv
                .put(k, value.clone(), Precondition::None)
                .await
                .unwrap();
        }
    });
    let get = |store: &cloudport::KvStore| {
        let store = store.clone();
        move |iters| {
            support::time_async(rt, iters, |i| {
                let k = &keys[(i % 1024) as usize];
                let store = &store;
                async move {
                    black_box(store.get(k).await.unwrap());
                }
            })
        }
    };
    let c = support::compare("kv.get", get(&plain_kv), get(&checked_kv));
    println!(
        "kv.get: the check adds {:+.1} ns",
        c.subject_ns - c.baseline_ns
    );

    let (plain_q, checked_q) = (
        env.queue("bench").unwrap(),
        declared.queue("bench").unwrap(),
    );
    let options = ReceiveOptions::default().max_messages(1);
    let cycle = |q: &cloudport::Queue| {
        let q = q.clone();
        move |iters| {
            support::time_async(rt, iters, |_| {
                let (q, v) = (&q, value.clone());
                async move {
                    q.send(v).await.unwrap();
                    let got = q.receive(options).await.unwrap();
                    q.ack(&got[0]).await.unwrap();
                }
            })
        }
    };
    let c = support::compare(
        "queue send→receive→ack (3 checks)",
        cycle(&plain_q),
        cycle(&checked_q),
    );
    println!(
        "queue: the checks add {:+.1} ns per operation",
        (c.subject_ns - c.baseline_ns) / 3.0
    );
}
