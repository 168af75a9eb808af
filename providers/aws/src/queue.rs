//! Queues on Amazon SQS: visibility timeout = lease, `ChangeMessageVisibility` = extend / nack
//! with delay, `ApproximateReceiveCount` = delivery count, `SendMessageBatch` for batches.
//!
//! **FIFO queues** (a name ending in `.fifo`) keep order per ordering key: the message's key
//! ([`Message::with_ordering_key`]) is its `MessageGroupId` — not a message attribute, so it
//! takes none of the ten — and comes back as the `orderingkey` attribute; a deduplication id
//! ([`Message::with_deduplication_id`]) is its `MessageDeduplicationId`. SQS requires a group id
//! on every FIFO message, so a message without a key is refused (`InvalidArgument` naming
//! `with_ordering_key`) rather than put in a default group that would silently serialize the
//! whole queue. A message without a deduplication id gets a unique one, unless the queue has
//! content-based deduplication (read once with `GetQueueAttributes`), where SQS hashes the body.
//! FIFO queues take no per-message delay (only the queue's own): a delayed send is refused.
//! Rules: <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html>.
//!
//! **Standard queues** keep no order and do not deduplicate: a key or deduplication id is refused
//! (`Unsupported`). SQS fair queues (2025) accept a `MessageGroupId` on standard queues, but for
//! fairness between tenants, not order ("In standard queues, using MessageGroupId enables fair
//! queues. If strict ordering is required, use a FIFO queue":
//! <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/using-messagegroupid-property.html>):
//! sending a portable ordering key there would promise an order SQS does not keep.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use base64::Engine;
use cloudport_core::queue::whole_seconds;
use cloudport_core::validate::normalize_attribute_name;
use cloudport_core::{
    Error, ErrorKind, LeaseToken, Message, QueueCapabilities, QueueDriver, ReceiveOptions,
    ReceivedMessage, Result,
};
use tokio::sync::OnceCell;

use crate::error::{batch_entry_error, batch_results, batch_slot, from_sdk};
use crate::{Aws, Settings};

use cloudport_core::queue::ordering::check_sqs_id;
use cloudport_core::queue::wire::{
    BASE64, BODY_ENCODING_ATTRIBUTE as ENCODING_ATTR, CONTENT_TYPE_ATTRIBUTE as CONTENT_TYPE_ATTR,
    ORDERING_KEY_ATTRIBUTE,
};

/// An SQS queue.
pub struct SqsQueue {
    aws: Aws,
    settings: Settings,
    name: String,
    owner: Option<String>,
    client: OnceCell<Client>,
    url: OnceCell<String>,
    /// Whether the FIFO queue has content-based deduplication, read once when first needed.
    content_based_dedup: OnceCell<bool>,
    capabilities: QueueCapabilities,
}

/// The resource and its settings; the SDK client (whose configuration holds credentials and
/// endpoints) only as opened or not.
impl std::fmt::Debug for SqsQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsQueue")
            .field("settings", &self.settings)
            .field("name", &self.name)
            .field("owner", &self.owner)
            .field("capabilities", &self.capabilities)
            .field("open", &self.client.initialized())
            .finish_non_exhaustive()
    }
}

/// SQS's limits (1 MiB messages since January 2026; 10 per batch; 12 h visibility; 15 min delay;
/// 10 message attributes, two of which cloudport may use for content type and encoding). Batch
/// sends overlap four calls, except on FIFO queues, where order across calls matters. FIFO queues
/// keep order per key and deduplicate, and take no per-message delay.
pub(crate) fn capabilities_for(name: &str) -> QueueCapabilities {
    let fifo = is_fifo(name);
    QueueCapabilities {
        concurrent_sends: if fifo { 1 } else { 4 },
        ordered: fifo,
        ordering: fifo,
        deduplication: fifo,
        delayed_send: !fifo,
        ..capabilities()
    }
}

/// Whether a queue name is a FIFO queue's: SQS requires the `.fifo` suffix on them.
fn is_fifo(name: &str) -> bool {
    name.ends_with(".fifo")
}

/// A deduplication id no other send uses (time, process and a counter): for FIFO messages sent
/// without one to a queue without content-based deduplication, so each is delivered, as on any
/// other queue. Hex and `-` only: within SQS's character rule and far under 128 characters.
fn unique_dedup_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!(
        "cp-{nanos:x}-{:x}-{:x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A FIFO message's group id (its ordering key, required) and the deduplication id it gives, all
/// checked against SQS's rule before any call.
fn fifo_ids(msg: &Message) -> Result<(String, Option<String>)> {
    let Some(key) = msg.ordering_key() else {
        return Err(Error::invalid(
            "every message to an SQS FIFO queue needs an ordering key (its MessageGroupId): \
             use Message::with_ordering_key (one key for all messages keeps a total order)",
        ));
    };
    check_sqs_id("ordering key", key)?;
    if let Some(id) = &msg.deduplication_id {
        check_sqs_id("deduplication id", id)?;
    }
    Ok((key.to_owned(), msg.deduplication_id.clone()))
}

/// The portable defaults are SQS's classic limits; SQS differs in message size (1 MiB) and in
/// the attributes left to users.
fn capabilities() -> QueueCapabilities {
    QueueCapabilities {
        max_message_bytes: 1024 * 1024,
        max_batch_bytes: 1024 * 1024,
        max_attributes: 8,
        ..QueueCapabilities::default()
    }
}

/// Whether SQS can carry this text as a message body (its XML character rule).
fn sqs_text(body: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(body).ok()?;
    let ok = s.chars().all(|c| {
        matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
    });
    ok.then_some(s)
}

/// The size SQS counts for an entry: body, and each attribute's name, type and value.
fn entry_size(entry: &SendMessageBatchRequestEntry) -> usize {
    entry.message_body.len()
        + entry.message_attributes.as_ref().map_or(0, |attrs| {
            attrs
                .iter()
                .map(|(k, v)| {
                    k.len() + v.data_type.len() + v.string_value.as_ref().map_or(0, String::len)
                })
                .sum()
        })
}

fn string_attr(value: impl Into<String>) -> Result<MessageAttributeValue> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| Error::invalid(format!("message attribute: {e}")))
}

impl SqsQueue {
    pub(crate) fn new(aws: Aws, settings: Settings, name: String, owner: Option<String>) -> Self {
        let capabilities = capabilities_for(&name);
        Self {
            aws,
            settings,
            name,
            owner,
            client: OnceCell::new(),
            url: OnceCell::new(),
            content_based_dedup: OnceCell::new(),
            capabilities,
        }
    }

    /// The SDK client (built on first use): the escape hatch.
    pub async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                Client::from_conf(self.settings.apply_sqs(self.aws.sdk_config().await))
            })
            .await
    }

    /// The queue URL, looked up once.
    pub async fn queue_url(&self) -> Result<&str> {
        let client = self.client().await;
        self.url
            .get_or_try_init(|| async {
                let out = client
                    .get_queue_url()
                    .queue_name(&self.name)
                    .set_queue_owner_aws_account_id(self.owner.clone())
                    .send()
                    .await
                    .map_err(from_sdk)?;
                out.queue_url
                    .ok_or_else(|| Error::new(ErrorKind::NotFound, "SQS returned no queue URL"))
            })
            .await
            .map(String::as_str)
    }

    /// Whether this FIFO queue deduplicates by content (`ContentBasedDeduplication`), read once.
    async fn content_based_dedup(&self) -> Result<bool> {
        let url = self.queue_url().await?;
        let client = self.client().await;
        self.content_based_dedup
            .get_or_try_init(|| async {
                let out = client
                    .get_queue_attributes()
                    .queue_url(url)
                    .attribute_names(QueueAttributeName::ContentBasedDeduplication)
                    .send()
                    .await
                    .map_err(from_sdk)?;
                Ok(out
                    .attributes
                    .and_then(|a| {
                        a.get(&QueueAttributeName::ContentBasedDeduplication)
                            .cloned()
                    })
                    .is_some_and(|v| v.eq_ignore_ascii_case("true")))
            })
            .await
            .copied()
    }

    fn entry(
        id: usize,
        msg: &Message,
        fifo: Option<(String, Option<String>)>,
    ) -> Result<SendMessageBatchRequestEntry> {
        let mut attributes = HashMap::new();
        let body = match sqs_text(&msg.body) {
            Some(text) => text.to_owned(),
            None => {
                attributes.insert(ENCODING_ATTR.to_owned(), string_attr(BASE64)?);
                base64::engine::general_purpose::STANDARD.encode(&msg.body)
            }
        };
        if body.len() > capabilities().max_message_bytes {
            return Err(Error::new(
                ErrorKind::TooLarge,
                "the message exceeds SQS's limit once base64-encoded",
            ));
        }
        if let Some(ct) = &msg.content_type {
            attributes.insert(CONTENT_TYPE_ATTR.to_owned(), string_attr(ct.clone())?);
        }
        for (k, v) in &msg.attributes {
            // On a FIFO queue the key is the message group id, which comes back on receive.
            if fifo.is_some() && k == ORDERING_KEY_ATTRIBUTE {
                continue;
            }
            attributes.insert(k.clone(), string_attr(v.clone())?);
        }
        // FIFO queues take no per-message delay (core refused a non-zero one).
        let delay = if fifo.is_some() {
            None
        } else {
            msg.delay.map(whole_seconds)
        };
        let (group, dedup) = fifo.unzip();
        SendMessageBatchRequestEntry::builder()
            .id(id.to_string())
            .message_body(body)
            .set_message_group_id(group)
            .set_message_deduplication_id(dedup.flatten())
            .set_delay_seconds(delay)
            .set_message_attributes(Some(attributes))
            .build()
            .map_err(|e| Error::invalid(format!("SQS batch entry: {e}")))
    }

    fn received(&self, m: aws_sdk_sqs::types::Message) -> Result<ReceivedMessage> {
        let id = m.message_id.unwrap_or_default();
        let receipt = m.receipt_handle.ok_or_else(|| {
            Error::new(ErrorKind::Malformed, "SQS message without a receipt handle")
        })?;
        let mut attrs = m.message_attributes.unwrap_or_default();
        let encoding = attrs.remove(ENCODING_ATTR).and_then(|v| v.string_value);
        let content_type = attrs.remove(CONTENT_TYPE_ATTR).and_then(|v| v.string_value);
        let body = m.body.unwrap_or_default();
        let body = match encoding.as_deref() {
            Some(BASE64) => match base64::engine::general_purpose::STANDARD.decode(body.as_bytes())
            {
                Ok(decoded) => decoded.into(),
                // Deliver it as it is rather than fail the whole receive: the handler decides,
                // and a message it cannot handle dead-letters like any other.
                Err(e) => {
                    tracing::warn!(queue = %self.name, message_id = %id, error = %e,
                        "a body marked base64 is not base64; delivering it undecoded");
                    bytes::Bytes::from(body)
                }
            },
            _ => bytes::Bytes::from(body),
        };
        let mut attributes = BTreeMap::new();
        for (name, value) in attrs {
            let (Some(n), Some(v)) = (normalize_attribute_name(&name), value.string_value) else {
                tracing::warn!(queue = %self.name, message_id = %id, attribute = %name,
                    "dropping an SQS message attribute that is not a string or has no valid name");
                continue;
            };
            attributes.insert(n, v);
        }
        let system = m.attributes.unwrap_or_default();
        if is_fifo(&self.name)
            && let Some(group) = system.get(&MessageSystemAttributeName::MessageGroupId)
        {
            attributes.insert(ORDERING_KEY_ATTRIBUTE.to_owned(), group.clone());
        }
        let count = system
            .get(&MessageSystemAttributeName::ApproximateReceiveCount)
            .and_then(|c| c.parse().ok())
            .unwrap_or(1);
        let sent = system
            .get(&MessageSystemAttributeName::SentTimestamp)
            .and_then(|t| t.parse::<u64>().ok())
            .and_then(|ms| UNIX_EPOCH.checked_add(Duration::from_millis(ms)));
        Ok(ReceivedMessage::new(id, body, LeaseToken::new(receipt))
            .with_content_type(content_type)
            .with_attributes(attributes)
            .with_delivery_count(count)
            .with_enqueued_at(sent.or(Some(SystemTime::now()))))
    }
}

#[async_trait]
impl QueueDriver for SqsQueue {
    fn provider(&self) -> &'static str {
        "aws"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> &QueueCapabilities {
        &self.capabilities
    }

    async fn send_batch(&self, messages: &[Message]) -> Result<Vec<Result<String>>> {
        // FIFO: every message's ids checked before any call; then, only when a message has no
        // deduplication id, whether the queue deduplicates by content (one lookup per process).
        let fifo: Vec<Option<Result<(String, Option<String>)>>> = messages
            .iter()
            .map(|m| is_fifo(&self.name).then(|| fifo_ids(m)))
            .collect();
        let needs_dedup = fifo.iter().any(|f| matches!(f, Some(Ok((_, None)))));
        let content_based = if needs_dedup {
            self.content_based_dedup().await?
        } else {
            false
        };
        let mut results: Vec<Option<Result<String>>> = Vec::with_capacity(messages.len());
        let mut entries = Vec::new();
        for ((i, msg), fifo) in messages.iter().enumerate().zip(fifo) {
            let built = match fifo {
                None => Self::entry(i, msg, None),
                Some(Err(e)) => Err(e),
                Some(Ok((group, dedup))) => {
                    let dedup = dedup.or_else(|| (!content_based).then(unique_dedup_id));
                    Self::entry(i, msg, Some((group, dedup)))
                }
            };
            match built {
                Ok(e) => {
                    entries.push(e);
                    results.push(None);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        // Base64 bodies are larger than the portable size that chunked them: split again so no
        // request exceeds SQS's total (bodies plus attribute names, types and values).
        let mut requests: Vec<Vec<SendMessageBatchRequestEntry>> = Vec::new();
        let mut bytes = 0usize;
        for entry in entries {
            let size = entry_size(&entry);
            match requests.last_mut() {
                Some(last) if bytes + size <= capabilities().max_batch_bytes => {
                    bytes += size;
                    last.push(entry);
                }
                _ => {
                    bytes = size;
                    requests.push(vec![entry]);
                }
            }
        }
        for (n, entries) in requests.into_iter().enumerate() {
            let ids: Vec<String> = entries.iter().map(|e| e.id().to_owned()).collect();
            let sent = async {
                let url = self.queue_url().await?;
                self.client()
                    .await
                    .send_message_batch()
                    .queue_url(url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(from_sdk)
            }
            .await;
            let out = match sent {
                Ok(out) => out,
                // Nothing was sent yet: the call failed as a whole.
                Err(e) if n == 0 => return Err(e),
                // Earlier requests were taken: this request's messages alone failed.
                Err(e) => {
                    for id in ids {
                        if let Ok(i) = id.parse::<usize>()
                            && let Some(slot) = results.get_mut(i)
                        {
                            *slot = Some(Err(e.clone_without_source()));
                        }
                    }
                    continue;
                }
            };
            for ok in out.successful {
                if let Some(slot) = batch_slot(&mut results, &ok.id) {
                    *slot = Some(Ok(ok.message_id));
                }
            }
            for failed in out.failed {
                if let Some(slot) = batch_slot(&mut results, &failed.id) {
                    *slot = Some(Err(batch_entry_error(
                        &failed.code,
                        failed.message,
                        failed.sender_fault,
                    )));
                }
            }
        }
        Ok(batch_results(results, "SQS"))
    }

    async fn receive(&self, options: &ReceiveOptions) -> Result<Vec<ReceivedMessage>> {
        let url = self.queue_url().await?;
        let out = self
            .client()
            .await
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(i32::try_from(options.max_messages).unwrap_or(10))
            .visibility_timeout(whole_seconds(options.lease))
            .wait_time_seconds(whole_seconds(options.wait))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(from_sdk)?;
        out.messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| self.received(m))
            .collect()
    }

    async fn ack(&self, lease: &LeaseToken) -> Result<()> {
        let url = self.queue_url().await?;
        self.client()
            .await
            .delete_message()
            .queue_url(url)
            .receipt_handle(lease.as_str())
            .send()
            .await
            .map_err(from_sdk)?;
        Ok(())
    }

    async fn nack(&self, lease: &LeaseToken, delay: Duration) -> Result<()> {
        self.change_visibility(lease, delay).await
    }

    async fn extend_lease(&self, lease: &LeaseToken, lease_for: Duration) -> Result<LeaseToken> {
        self.change_visibility(lease, lease_for).await?;
        Ok(lease.clone())
    }
}

impl SqsQueue {
    async fn change_visibility(&self, lease: &LeaseToken, timeout: Duration) -> Result<()> {
        let url = self.queue_url().await?;
        self.client()
            .await
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(lease.as_str())
            .visibility_timeout(whole_seconds(timeout))
            .send()
            .await
            .map_err(from_sdk)?;
        Ok(())
    }
}
