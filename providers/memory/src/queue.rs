//! The memory queue driver: leases, redelivery, delivery counts and delays on the world's clock;
//! order per ordering key and deduplication ids with SQS FIFO's semantics (see [`MemoryQueue`]).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use cloudport_core::queue::ordering::DEDUPLICATION_WINDOW;
use cloudport_core::queue::wire::ORDERING_KEY_ATTRIBUTE;
use cloudport_core::{
    Error, ErrorKind, LeaseToken, Message, QueueCapabilities, QueueDriver, ReceiveOptions,
    ReceivedMessage, Result,
};
use tokio::sync::Notify;

use crate::World;
use crate::faults::ENTRY_SEND;

#[derive(Debug)]
struct Stored {
    id: String,
    body: Bytes,
    content_type: Option<String>,
    attributes: BTreeMap<String, String>,
    enqueued_at: SystemTime,
    visible_at: SystemTime,
    delivery_count: u32,
    /// Bumped on every delivery and lease change; a lease token names one generation.
    generation: u64,
}

/// The shared state of one named queue.
#[derive(Debug, Default)]
pub(crate) struct QueueState {
    data: Mutex<Data>,
    notify: Notify,
}

#[derive(Debug, Default)]
struct Data {
    next_seq: u64,
    messages: BTreeMap<u64, Stored>,
    /// Deduplication ids sent within the window → the id of the message first sent with them.
    dedup: HashMap<String, String>,
    /// The same ids by the time their window ends, oldest first (the clock only moves forward),
    /// so expired ids are dropped from the front.
    dedup_expiry: VecDeque<(SystemTime, String)>,
}

impl Data {
    /// The id of the message already sent with `dedup_id` within the window, if any.
    fn duplicate_of(&mut self, dedup_id: &str, now: SystemTime) -> Option<String> {
        while let Some((ends, _)) = self.dedup_expiry.front() {
            if *ends > now {
                break;
            }
            if let Some((_, id)) = self.dedup_expiry.pop_front() {
                self.dedup.remove(&id);
            }
        }
        self.dedup.get(dedup_id).cloned()
    }

    fn remember(&mut self, dedup_id: &str, message_id: &str, now: SystemTime) {
        self.dedup
            .insert(dedup_id.to_owned(), message_id.to_owned());
        self.dedup_expiry
            .push_back((now + DEDUPLICATION_WINDOW, dedup_id.to_owned()));
    }
}

fn ordering_key(m: &Stored) -> Option<&str> {
    // No lookup at all for the common message without attributes.
    if m.attributes.is_empty() {
        return None;
    }
    m.attributes.get(ORDERING_KEY_ATTRIBUTE).map(String::as_str)
}

/// A queue in a [`Memory`](crate::Memory) world.
///
/// Messages with an ordering key ([`Message::with_ordering_key`]) are delivered as SQS FIFO
/// delivers a message group: in send order, and none of a key while an earlier message of that
/// key is invisible (leased, delayed, or nacked with a delay) — one receive may return several of
/// a key, in order. A deduplication id ([`Message::with_deduplication_id`]) makes a later send
/// with the same id within [`DEDUPLICATION_WINDOW`] (five minutes, SQS's) on the world's clock
/// succeed with the first message's id and deliver nothing.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
/// use cloudport_core::{Message, ReceiveOptions};
/// let queue = cloudport_memory::Memory::new().queue("ledger");
/// queue.send_batch(["debit", "credit"].map(|b| Message::new(b).with_ordering_key("acct-1"))).await;
/// let first = queue.receive(ReceiveOptions::default().max_messages(1)).await?;
/// assert_eq!(first[0].text()?, "debit");
/// // "credit" waits while "debit" is leased.
/// assert!(queue.receive(ReceiveOptions::default()).await?.is_empty());
/// queue.ack(&first[0]).await?;
/// assert_eq!(queue.receive(ReceiveOptions::default()).await?[0].text()?, "credit");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct MemoryQueue {
    name: String,
    state: Arc<QueueState>,
    world: Arc<World>,
    capabilities: QueueCapabilities,
}

/// The memory queue's default capabilities: SQS's limits, so code tested here fits the
/// strictest common provider limits on batch size and message size.
pub(crate) fn default_queue_capabilities() -> QueueCapabilities {
    QueueCapabilities {
        ordering: true,
        deduplication: true,
        ..QueueCapabilities::default()
    }
}

impl MemoryQueue {
    pub(crate) fn new(
        name: String,
        state: Arc<QueueState>,
        world: Arc<World>,
        capabilities: QueueCapabilities,
    ) -> Self {
        Self {
            name,
            state,
            world,
            capabilities,
        }
    }

    fn data(&self) -> std::sync::MutexGuard<'_, Data> {
        self.state
            .data
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Messages in the queue, visible or leased.
    pub fn len(&self) -> usize {
        self.data().messages.len()
    }

    /// Whether the queue holds no message.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Messages visible now.
    pub fn visible_len(&self) -> usize {
        let now = self.world.clock.now();
        self.data()
            .messages
            .values()
            .filter(|m| m.visible_at <= now)
            .count()
    }

    fn take_visible(&self, options: &ReceiveOptions) -> Vec<ReceivedMessage> {
        let now = self.world.clock.now();
        let mut data = self.data();
        let mut out = Vec::new();
        // Keys with an earlier message invisible: their later messages wait. Allocated only
        // when a keyed message is invisible.
        let mut blocked: HashSet<String> = HashSet::new();
        for (seq, m) in data.messages.iter_mut() {
            if out.len() == options.max_messages {
                break;
            }
            if m.visible_at > now {
                if let Some(key) = ordering_key(m) {
                    blocked.insert(key.to_owned());
                }
                continue;
            }
            if !blocked.is_empty() && ordering_key(m).is_some_and(|k| blocked.contains(k)) {
                continue;
            }
            m.visible_at = now + options.lease;
            m.delivery_count += 1;
            m.generation += 1;
            out.push(
                ReceivedMessage::new(m.id.clone(), m.body.clone(), token(*seq, m.generation))
                    .with_content_type(m.content_type.clone())
                    .with_attributes(m.attributes.clone())
                    .with_delivery_count(m.delivery_count)
                    .with_enqueued_at(Some(m.enqueued_at)),
            );
        }
        out
    }

    /// Runs `f` on the message a lease names, if the lease is current.
    fn with_lease<T>(
        &self,
        lease: &LeaseToken,
        f: impl FnOnce(&mut Data, u64, SystemTime) -> Result<T>,
    ) -> Result<T> {
        let (seq, generation) = parse_token(lease)?;
        let now = self.world.clock.now();
        let mut data = self.data();
        match data.messages.get(&seq) {
            Some(m) if m.generation == generation => f(&mut data, seq, now),
            Some(_) => Err(Error::new(
                ErrorKind::LeaseLost,
                "the message was delivered again since this lease was issued",
            )),
            None => Err(Error::new(
                ErrorKind::LeaseLost,
                "the message is gone (acked already?)",
            )),
        }
    }
}

fn token(seq: u64, generation: u64) -> LeaseToken {
    LeaseToken::new(format!("{seq}.{generation}"))
}

fn parse_token(lease: &LeaseToken) -> Result<(u64, u64)> {
    lease
        .as_str()
        .split_once('.')
        .and_then(|(s, g)| Some((s.parse().ok()?, g.parse().ok()?)))
        .ok_or_else(|| Error::invalid(format!("{:?} is not a memory lease token", lease.as_str())))
}

#[async_trait]
impl QueueDriver for MemoryQueue {
    fn provider(&self) -> &'static str {
        "memory"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> &QueueCapabilities {
        &self.capabilities
    }

    async fn send_batch(&self, messages: &[Message]) -> Result<Vec<Result<String>>> {
        self.world.faults.check("queue.send", &self.name).await?;
        let result = async {
            let now = self.world.clock.now();
            let mut ids = Vec::with_capacity(messages.len());
            {
                let mut data = self.data();
                // Keys with a failed entry in this call: their later entries are not stored
                // either, so none overtakes the failed one (the portable queue's rule).
                let mut failed_keys: Vec<&str> = Vec::new();
                for msg in messages {
                    let key = msg.ordering_key();
                    if let Some(k) = key.filter(|k| failed_keys.contains(k)) {
                        ids.push(Err(Error::invalid(format!(
                            "not sent: an earlier message of the ordering key {k:?} in this batch failed"
                        ))));
                        continue;
                    }
                    // A failed entry is not stored, as a batch send's failed entries are not sent.
                    if let Err(e) = self.world.faults.check_entry(ENTRY_SEND, &self.name) {
                        failed_keys.extend(key);
                        ids.push(Err(e));
                        continue;
                    }
                    if let Some(dedup_id) = &msg.deduplication_id
                        && let Some(first) = data.duplicate_of(dedup_id, now)
                    {
                        // Accepted, not delivered again (SQS FIFO answers with success too).
                        ids.push(Ok(first));
                        continue;
                    }
                    data.next_seq += 1;
                    let seq = data.next_seq;
                    let id = format!("{}-{seq}", self.world.id);
                    if let Some(dedup_id) = &msg.deduplication_id {
                        data.remember(dedup_id, &id, now);
                    }
                    data.messages.insert(
                        seq,
                        Stored {
                            id: id.clone(),
                            body: msg.body.clone(),
                            content_type: msg.content_type.clone(),
                            attributes: msg.attributes.clone(),
                            enqueued_at: now,
                            visible_at: now + msg.delay.unwrap_or_default(),
                            delivery_count: 0,
                            generation: 0,
                        },
                    );
                    ids.push(Ok(id));
                }
            }
            self.state.notify.notify_waiters();
            Ok(ids)
        }
        .await;
        self.world.faults.settle("queue.send", &self.name, result)
    }

    async fn receive(&self, options: &ReceiveOptions) -> Result<Vec<ReceivedMessage>> {
        self.world.faults.check("queue.receive", &self.name).await?;
        let result = async {
            let deadline = tokio::time::Instant::now() + options.wait;
            loop {
                let notified = self.state.notify.notified();
                let out = self.take_visible(options);
                let now = tokio::time::Instant::now();
                if !out.is_empty() || now >= deadline {
                    return Ok(out);
                }
                // Wake on a send, or poll: leases and delays end as the clock moves.
                let poll = (deadline - now).min(Duration::from_millis(25));
                let _ = tokio::time::timeout(poll, notified).await;
            }
        }
        .await;
        self.world
            .faults
            .settle("queue.receive", &self.name, result)
    }

    async fn ack(&self, lease: &LeaseToken) -> Result<()> {
        self.world.faults.check("queue.ack", &self.name).await?;
        let result = async {
            self.with_lease(lease, |data, seq, _| {
                data.messages.remove(&seq);
                Ok(())
            })
        }
        .await;
        self.world.faults.settle("queue.ack", &self.name, result)
    }

    async fn nack(&self, lease: &LeaseToken, delay: Duration) -> Result<()> {
        self.world.faults.check("queue.nack", &self.name).await?;
        let result = async {
            self.with_lease(lease, |data, seq, now| {
                if let Some(m) = data.messages.get_mut(&seq) {
                    m.visible_at = now + delay;
                    m.generation += 1;
                }
                Ok(())
            })?;
            self.state.notify.notify_waiters();
            Ok(())
        }
        .await;
        self.world.faults.settle("queue.nack", &self.name, result)
    }

    async fn extend_lease(&self, lease: &LeaseToken, lease_for: Duration) -> Result<LeaseToken> {
        self.world
            .faults
            .check("queue.extend_lease", &self.name)
            .await?;
        self.with_lease(lease, |data, seq, now| {
            let Some(m) = data.messages.get_mut(&seq) else {
                return Err(Error::new(ErrorKind::LeaseLost, "the message is gone"));
            };
            if m.visible_at <= now {
                return Err(Error::new(
                    ErrorKind::LeaseLost,
                    "the lease has expired; the message may be delivered again",
                ));
            }
            m.visible_at = now + lease_for;
            // Like Azure's pop receipts, an extension issues a new token.
            m.generation += 1;
            Ok(token(seq, m.generation))
        })
    }
}
