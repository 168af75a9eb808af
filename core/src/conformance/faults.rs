//! The fault matrix: every operation of the portable types under an injected temporary error, a
//! timeout, and a call that took effect but whose response was lost — on every provider, through
//! a driver wrapper ([`Faulty`]) around the provider's own driver.
//!
//! The contract checked for each: an operation the portable type reports as done was done exactly
//! once; one it reports as failed was done at most once (never twice, so a caller's retry is safe
//! where the type says it is) and its error is temporary; a message is never lost (it comes back);
//! a failed conditional write never reads as a failed condition (`AlreadyExists`,
//! `PreconditionFailed`) that did not happen.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use super::Fixture;
use crate::{
    BlobCapabilities, BlobChange, BlobDriver, Body, Bucket, Error, ErrorKind, GetOptions,
    GetResult, KvCapabilities, KvDriver, KvEntry, KvStore, LeaseToken, ListOptions, ListPage,
    Message, ObjectMeta, Precondition, PutOptions, Queue, QueueCapabilities, QueueDriver,
    ReceiveOptions, ReceivedMessage, Result, ScanPage, Version, WriteCondition,
};

/// How an injected fault strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultMode {
    /// The call fails before it reaches the service: a temporary `Unavailable`.
    Temporary,
    /// The call times out before it reaches the service: a temporary `Timeout`.
    Timeout,
    /// The call takes effect, then its response is lost: a temporary `Timeout`.
    ResponseLost,
}

/// Every mode, in the order the matrix runs them.
pub const FAULT_MODES: [FaultMode; 3] = [
    FaultMode::Temporary,
    FaultMode::Timeout,
    FaultMode::ResponseLost,
];

/// One planned fault: the next call of `operation` fails as `mode` says.
#[derive(Debug, Default)]
pub struct FaultPlan {
    next: Mutex<Option<(&'static str, FaultMode)>>,
}

impl FaultPlan {
    /// Fails the next call of `operation` (`"queue.ack"`, `"kv.put"`, …) as `mode` says.
    pub fn arm(&self, operation: &'static str, mode: FaultMode) {
        *self.lock() = Some((operation, mode));
    }

    /// Whether the planned fault is still to strike.
    pub fn armed(&self) -> bool {
        self.lock().is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(&'static str, FaultMode)>> {
        self.next
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn take(&self, operation: &str, when: impl Fn(FaultMode) -> bool) -> Option<FaultMode> {
        let mut next = self.lock();
        match *next {
            Some((op, mode)) if op == operation && when(mode) => {
                *next = None;
                Some(mode)
            }
            _ => None,
        }
    }

    fn before(&self, operation: &str) -> Result<()> {
        match self.take(operation, |m| m != FaultMode::ResponseLost) {
            Some(FaultMode::Timeout) => Err(Error::new(
                ErrorKind::Timeout,
                format!("injected: {operation} timed out before reaching the service"),
            )),
            Some(_) => Err(Error::new(
                ErrorKind::Unavailable,
                format!("injected: {operation} could not reach the service"),
            )),
            None => Ok(()),
        }
    }

    fn after<T>(&self, operation: &str, result: Result<T>) -> Result<T> {
        let value = result?;
        match self.take(operation, |m| m == FaultMode::ResponseLost) {
            Some(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!("injected: {operation} took effect but its response was lost"),
            )),
            None => Ok(value),
        }
    }
}

/// A driver wrapped so that a [`FaultPlan`] can fail its calls.
#[derive(Debug)]
pub struct Faulty<D: ?Sized> {
    inner: Arc<D>,
    plan: Arc<FaultPlan>,
}

impl<D: ?Sized> Faulty<D> {
    async fn call<T, Fut>(&self, operation: &'static str, call: Fut) -> Result<T>
    where
        Fut: std::future::Future<Output = Result<T>>,
    {
        self.plan.before(operation)?;
        self.plan.after(operation, call.await)
    }
}

/// `queue` with its driver wrapped: calls fail as `plan` says.
pub fn faulty_queue(queue: &Queue, plan: &Arc<FaultPlan>) -> Queue {
    Queue::from_driver(Arc::new(Faulty {
        inner: queue.driver().clone(),
        plan: plan.clone(),
    }))
}

/// `bucket` with its driver wrapped: calls fail as `plan` says.
pub fn faulty_bucket(bucket: &Bucket, plan: &Arc<FaultPlan>) -> Bucket {
    Bucket::from_driver(Arc::new(Faulty {
        inner: bucket.driver().clone(),
        plan: plan.clone(),
    }))
}

/// `kv` with its driver wrapped: calls fail as `plan` says.
pub fn faulty_kv(kv: &KvStore, plan: &Arc<FaultPlan>) -> KvStore {
    KvStore::from_driver(Arc::new(Faulty {
        inner: kv.driver().clone(),
        plan: plan.clone(),
    }))
}

#[async_trait]
impl QueueDriver for Faulty<dyn QueueDriver> {
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn capabilities(&self) -> &QueueCapabilities {
        self.inner.capabilities()
    }
    async fn send_batch(&self, messages: &[Message]) -> Result<Vec<Result<String>>> {
        self.call("queue.send", self.inner.send_batch(messages))
            .await
    }
    async fn receive(&self, options: &ReceiveOptions) -> Result<Vec<ReceivedMessage>> {
        self.call("queue.receive", self.inner.receive(options))
            .await
    }
    async fn ack(&self, lease: &LeaseToken) -> Result<()> {
        self.call("queue.ack", self.inner.ack(lease)).await
    }
    async fn nack(&self, lease: &LeaseToken, delay: Duration) -> Result<()> {
        self.call("queue.nack", self.inner.nack(lease, delay)).await
    }
    async fn extend_lease(&self, lease: &LeaseToken, lease_for: Duration) -> Result<LeaseToken> {
        self.call(
            "queue.extend_lease",
            self.inner.extend_lease(lease, lease_for),
        )
        .await
    }
}

#[async_trait]
impl BlobDriver for Faulty<dyn BlobDriver> {
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn capabilities(&self) -> &BlobCapabilities {
        self.inner.capabilities()
    }
    async fn put(&self, key: &str, body: Body, options: &PutOptions) -> Result<ObjectMeta> {
        self.call("blob.put", self.inner.put(key, body, options))
            .await
    }
    async fn get(&self, key: &str, options: &GetOptions) -> Result<GetResult> {
        self.call("blob.get", self.inner.get(key, options)).await
    }
    async fn head(&self, key: &str) -> Result<ObjectMeta> {
        self.call("blob.head", self.inner.head(key)).await
    }
    async fn delete(&self, key: &str) -> Result<()> {
        self.call("blob.delete", self.inner.delete(key)).await
    }
    async fn list(&self, options: &ListOptions) -> Result<ListPage> {
        self.call("blob.list", self.inner.list(options)).await
    }
    async fn copy(&self, from: &str, to: &str, condition: &WriteCondition) -> Result<ObjectMeta> {
        self.call("blob.copy", self.inner.copy(from, to, condition))
            .await
    }
    fn subscribe(&self) -> Option<tokio::sync::broadcast::Receiver<BlobChange>> {
        self.inner.subscribe()
    }
}

#[async_trait]
impl KvDriver for Faulty<dyn KvDriver> {
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn capabilities(&self) -> &KvCapabilities {
        self.inner.capabilities()
    }
    async fn get(&self, key: &str) -> Result<Option<KvEntry>> {
        self.call("kv.get", self.inner.get(key)).await
    }
    async fn put(
        &self,
        key: &str,
        value: Bytes,
        precondition: &Precondition,
        ttl: Option<Duration>,
    ) -> Result<Version> {
        self.call("kv.put", self.inner.put(key, value, precondition, ttl))
            .await
    }
    async fn delete(&self, key: &str, precondition: &Precondition) -> Result<bool> {
        self.call("kv.delete", self.inner.delete(key, precondition))
            .await
    }
    async fn scan(
        &self,
        prefix: &str,
        limit: usize,
        page_token: Option<String>,
    ) -> Result<ScanPage> {
        self.call("kv.scan", self.inner.scan(prefix, limit, page_token))
            .await
    }
}

/// A failed call must be temporary (the caller may try again) and must not claim a failed
/// condition that did not fail.
#[track_caller]
fn assert_honest_failure(what: &str, err: &Error) {
    assert!(
        err.is_temporary(),
        "{what}: a failure under a transient fault is temporary: {err}"
    );
    assert!(
        !matches!(
            err.kind(),
            ErrorKind::AlreadyExists | ErrorKind::PreconditionFailed | ErrorKind::NotFound
        ),
        "{what}: a transient fault must not read as a failed condition: {err}"
    );
}

/// Receives and acks everything visible, returning the bodies (waits `f.wait()` per round).
async fn drain(f: &dyn Fixture, queue: &Queue) -> Vec<Bytes> {
    let mut bodies = Vec::new();
    loop {
        let got = queue
            .receive(ReceiveOptions::default().max_messages(10).wait(f.wait()))
            .await
            .expect("drain: receive");
        if got.is_empty() {
            return bodies;
        }
        for m in got {
            queue.ack(&m).await.expect("drain: ack");
            bodies.push(m.body.clone());
        }
    }
}

/// Receives until something arrives, letting leases end in between, for at most four leases.
async fn receive_until(f: &dyn Fixture, queue: &Queue, lease: Duration) -> Vec<ReceivedMessage> {
    let options = ReceiveOptions::default()
        .max_messages(10)
        .lease(lease)
        .wait(f.wait());
    for _ in 0..4 {
        let got = queue.receive(options).await.expect("receive");
        if !got.is_empty() {
            return got;
        }
        f.advance(lease + f.slack()).await;
    }
    Vec::new()
}

/// Queue operations under every fault mode: sends never doubled nor falsely reported, received
/// messages never lost, acks / nacks / lease extensions never leave a message behind or twice.
pub async fn faults_queue_operations(f: &dyn Fixture) {
    let base = f.queue().await;
    let plan = Arc::new(FaultPlan::default());
    let queue = faulty_queue(&base, &plan);
    let lease = base.capabilities().min_lease.max(Duration::from_secs(1));
    for mode in FAULT_MODES {
        let what = |op: &str| format!("{op} under {mode:?}");

        // send: done once when reported done, at most once when reported failed.
        plan.arm("queue.send", mode);
        let body = format!("send-{mode:?}");
        let sent = queue.send(body.clone()).await;
        let bodies = drain(f, &base).await;
        let copies = bodies.iter().filter(|b| **b == body.as_bytes()).count();
        match &sent {
            Ok(_) => assert_eq!(copies, 1, "{}: reported sent", what("send")),
            Err(e) => {
                assert_honest_failure(&what("send"), e);
                assert!(copies <= 1, "{}: sent twice", what("send"));
                if mode == FaultMode::ResponseLost {
                    assert_eq!(copies, 1, "{}: the service took it", what("send"));
                }
            }
        }

        // receive: a lost response leaves the message leased, never lost: it comes back.
        let body = format!("receive-{mode:?}");
        base.send(body.clone()).await.expect("send");
        plan.arm("queue.receive", mode);
        let first = queue
            .receive(
                ReceiveOptions::default()
                    .max_messages(10)
                    .lease(lease)
                    .wait(f.wait()),
            )
            .await;
        let mut got = first.unwrap_or_default();
        if got.is_empty() {
            got = receive_until(f, &base, lease).await;
        }
        assert_eq!(got.len(), 1, "{}: the message is not lost", what("receive"));
        assert_eq!(got[0].body, body.as_bytes());
        base.ack(&got[0]).await.expect("ack");

        // ack: once it returns Ok the message never comes back; after a failed ack it does, or
        // it was deleted — never twice.
        base.send(format!("ack-{mode:?}")).await.expect("send");
        let got = receive_until(f, &base, lease).await;
        assert_eq!(got.len(), 1, "{}: received", what("ack"));
        plan.arm("queue.ack", mode);
        let acked = queue.ack(&got[0]).await;
        f.advance(lease + f.slack()).await;
        let back = drain(f, &base).await;
        match &acked {
            Ok(()) => assert!(back.is_empty(), "{}: acked but redelivered", what("ack")),
            // A retried ack may find its receipt spent (`LeaseLost`): the message is gone or
            // back once, never twice.
            Err(_) => assert!(back.len() <= 1, "{}: redelivered twice", what("ack")),
        }

        // nack: the message comes back once, whatever the nack's outcome.
        base.send(format!("nack-{mode:?}")).await.expect("send");
        let got = receive_until(f, &base, lease).await;
        assert_eq!(got.len(), 1, "{}: received", what("nack"));
        plan.arm("queue.nack", mode);
        // Whatever the nack's outcome (a retry may find its receipt spent), the message is back.
        let _ = queue.nack(&got[0], Duration::ZERO).await;
        let back = receive_until(f, &base, lease).await;
        assert_eq!(
            back.len(),
            1,
            "{}: the message comes back once",
            what("nack")
        );
        base.ack(&back[0]).await.expect("ack");

        // extend_lease: the message is never lost (it comes back once the lease ends).
        if base.capabilities().extend_lease {
            base.send(format!("extend-{mode:?}")).await.expect("send");
            let mut got = receive_until(f, &base, lease).await;
            assert_eq!(got.len(), 1, "{}: received", what("extend_lease"));
            plan.arm("queue.extend_lease", mode);
            let _ = queue.extend_lease(&mut got[0], lease).await;
            f.advance(lease * 2 + f.slack()).await;
            let back = receive_until(f, &base, lease).await;
            assert_eq!(
                back.len(),
                1,
                "{}: the message is not lost",
                what("extend_lease")
            );
            base.ack(&back[0]).await.expect("ack");
        }
        assert!(!plan.armed(), "every planned fault struck");
    }
}

/// Key-value operations under every fault mode: writes done once when reported done, at most
/// once when reported failed, and a create-only or versioned write whose response was lost never
/// reports a condition that did not fail.
pub async fn faults_kv_operations(f: &dyn Fixture) {
    let base = f.kv().await;
    let plan = Arc::new(FaultPlan::default());
    let kv = faulty_kv(&base, &plan);
    for mode in FAULT_MODES {
        let what = |op: &str| format!("{op} under {mode:?}");

        plan.arm("kv.put", mode);
        let key = format!("put-{mode:?}");
        match kv.put(&key, "v", Precondition::None).await {
            Ok(_) => assert_eq!(
                base.get(&key).await.expect("get").expect("written").value,
                "v"
            ),
            Err(e) => assert_honest_failure(&what("put"), &e),
        }

        plan.arm("kv.put", mode);
        let key = format!("create-{mode:?}");
        match kv.put(&key, "v", Precondition::IfAbsent).await {
            Ok(_) => assert!(base.get(&key).await.expect("get").is_some()),
            Err(e) => assert_honest_failure(&what("put IfAbsent"), &e),
        }

        let key = format!("cas-{mode:?}");
        let v1 = base.put(&key, "1", Precondition::None).await.expect("put");
        plan.arm("kv.put", mode);
        match kv.put(&key, "2", Precondition::IfVersion(v1)).await {
            Ok(_) => assert_eq!(base.get(&key).await.expect("get").expect("kept").value, "2"),
            Err(e) => assert_honest_failure(&what("put IfVersion"), &e),
        }

        let key = format!("delete-{mode:?}");
        base.put(&key, "v", Precondition::None).await.expect("put");
        plan.arm("kv.delete", mode);
        match kv.delete(&key).await {
            Ok(_) => assert!(
                base.get(&key).await.expect("get").is_none(),
                "{}",
                what("delete")
            ),
            Err(e) => assert_honest_failure(&what("delete"), &e),
        }

        plan.arm("kv.get", mode);
        match kv.get(&format!("put-{mode:?}")).await {
            Ok(_) => {}
            Err(e) => assert_honest_failure(&what("get"), &e),
        }
        plan.arm("kv.scan", mode);
        if let Err(e) = kv.scan("put-", 10, None).await {
            assert_honest_failure(&what("scan"), &e);
        }
        // A read retried on a temporary fault: the fault struck and was absorbed.
        assert!(!plan.armed(), "every planned fault struck");
    }
}

/// Blob operations under every fault mode: writes done once when reported done, a create-only
/// write whose response was lost never reads as "already exists", reads retried.
pub async fn faults_blob_operations(f: &dyn Fixture) {
    let base = f.bucket().await;
    let plan = Arc::new(FaultPlan::default());
    let bucket = faulty_bucket(&base, &plan);
    for mode in FAULT_MODES {
        let what = |op: &str| format!("{op} under {mode:?}");

        plan.arm("blob.put", mode);
        let key = format!("put-{mode:?}");
        match bucket.put(&key, Bytes::from_static(b"v")).await {
            Ok(_) => assert_eq!(base.get_bytes(&key).await.expect("get"), "v"),
            Err(e) => assert_honest_failure(&what("put"), &e),
        }

        plan.arm("blob.put", mode);
        let key = format!("create-{mode:?}");
        let options = PutOptions::default().condition(WriteCondition::IfNotExists);
        match bucket
            .put_with(&key, Bytes::from_static(b"v"), options)
            .await
        {
            Ok(_) => assert!(base.exists(&key).await.expect("exists")),
            Err(e) => assert_honest_failure(&what("put IfNoneMatch"), &e),
        }

        base.put("source", Bytes::from_static(b"s"))
            .await
            .expect("put");
        plan.arm("blob.copy", mode);
        let key = format!("copy-{mode:?}");
        match bucket.copy("source", &key).await {
            Ok(_) => assert_eq!(base.get_bytes(&key).await.expect("get"), "s"),
            Err(e) => assert_honest_failure(&what("copy"), &e),
        }

        plan.arm("blob.delete", mode);
        match bucket.delete(format!("put-{mode:?}")).await {
            Ok(()) => assert!(!base.exists(format!("put-{mode:?}")).await.expect("exists")),
            Err(e) => assert_honest_failure(&what("delete"), &e),
        }

        for op in ["blob.get", "blob.head", "blob.list"] {
            plan.arm(op, mode);
            let result = match op {
                "blob.get" => bucket.get_bytes("source").await.map(|_| ()),
                "blob.head" => bucket.head("source").await.map(|_| ()),
                _ => bucket.list(ListOptions::default()).await.map(|_| ()),
            };
            if let Err(e) = result {
                assert_honest_failure(&what(op), &e);
            }
        }
        assert!(!plan.armed(), "every planned fault struck");
    }
}
