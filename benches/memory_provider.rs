//! Memory provider throughput against the plainest baseline: KV get/put vs a `Mutex<HashMap>`,
//! queue send→receive→ack vs a `Mutex<VecDeque>`. `cargo bench --bench memory_provider`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod support;

use std::collections::{HashMap, VecDeque};
use std::hint::black_box;
use std::sync::Mutex;
use std::time::Instant;

use bytes::Bytes;
use cloudport::memory::Memory;
use cloudport::{Precondition, ReceiveOptions};

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
}
