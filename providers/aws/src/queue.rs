//! Queues on Amazon SQS: visibility timeout = lease, `ChangeMessageVisibility` = extend / nack
//! with delay, `ApproximateReceiveCount` = delivery count, `SendMessageBatch` for batches.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeName, SendMessageBatchRequestEntry,
};
use base64::Engine;
use cloudport_core::queue::whole_seconds;
use cloudport_core::validate::normalize_attribute_name;
use cloudport_core::{
    Error, ErrorKind, LeaseToken, Message, QueueCapabilities, QueueDriver, ReceiveOptions,
    ReceivedMessage, Result,
};
use tokio::sync::OnceCell;

use crate::error::from_sdk;
use crate::{Aws, Settings};

use cloudport_core::queue::wire::{
    BASE64, BODY_ENCODING_ATTRIBUTE as ENCODING_ATTR, CONTENT_TYPE_ATTRIBUTE as CONTENT_TYPE_ATTR,
};

/// An SQS queue.
pub struct SqsQueue {
    aws: Aws,
    settings: Settings,
    name: String,
    owner: Option<String>,
    client: OnceCell<Client>,
    url: OnceCell<String>,
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
/// sends overlap four calls, except on FIFO queues, where order across calls matters.
pub(crate) fn capabilities_for(name: &str) -> QueueCapabilities {
    let fifo = name.ends_with(".fifo");
    QueueCapabilities {
        concurrent_sends: if fifo { 1 } else { 4 },
        ordered: fifo,
        ..capabilities()
    }
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

    fn entry(id: usize, msg: &Message) -> Result<SendMessageBatchRequestEntry> {
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
            attributes.insert(k.clone(), string_attr(v.clone())?);
        }
        SendMessageBatchRequestEntry::builder()
            .id(id.to_string())
            .message_body(body)
            .set_delay_seconds(msg.delay.map(whole_seconds))
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
        let mut results: Vec<Option<Result<String>>> = Vec::with_capacity(messages.len());
        let mut entries = Vec::new();
        for (i, msg) in messages.iter().enumerate() {
            match Self::entry(i, msg) {
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
                if let Ok(i) = ok.id.parse::<usize>()
                    && let Some(slot) = results.get_mut(i)
                {
                    *slot = Some(Ok(ok.message_id));
                }
            }
            for failed in out.failed {
                let kind = match failed.code.as_str() {
                    c if c.contains("Throttl") => ErrorKind::RateLimited,
                    "MessageTooLong" | "AWS.SimpleQueueService.BatchRequestTooLong" => {
                        ErrorKind::TooLarge
                    }
                    _ if failed.sender_fault => ErrorKind::InvalidArgument,
                    _ => ErrorKind::Unavailable,
                };
                let err = Error::new(
                    kind,
                    format!("{}: {}", failed.code, failed.message.unwrap_or_default()),
                )
                .temporary(!failed.sender_fault || kind == ErrorKind::RateLimited);
                if let Ok(i) = failed.id.parse::<usize>()
                    && let Some(slot) = results.get_mut(i)
                {
                    *slot = Some(Err(err));
                }
            }
        }
        Ok(results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(Error::new(
                        ErrorKind::Other,
                        "SQS reported nothing for this message",
                    ))
                })
            })
            .collect())
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
