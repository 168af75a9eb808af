//! Queues on Azure Storage Queues: visibility timeout = lease, Update Message = extend / nack with
//! delay, `DequeueCount` = delivery count, Base64 message text as the Functions host expects it.
//!
//! Storage Queue messages have no attributes: a message with a content type or attributes travels
//! as a CloudEvents envelope ([`cloudport_core::queue::wire::to_envelope`]); a plain one as its
//! body. Either way the text is Base64 of the bytes (so any body, UTF-8 or not, comes back byte for
//! byte) and at most 64 KiB, checked before the call.
//!
//! The delivery count is always the service's `DequeueCount`: a `deliverycount` extension in an
//! envelope (only a producer outside cloudport can write one: cloudport refuses that attribute
//! name) is dropped with a warning, so no sender can reset the count the dead-letter policy reads.
//!
//! Storage Queues keep no order and detect no duplicates ("Ordering guarantee: No", "Duplicate
//! detection: No":
//! <https://learn.microsoft.com/en-us/azure/service-bus-messaging/service-bus-azure-and-service-bus-queues-compared-contrasted>),
//! so their capabilities claim neither `ordering` nor `deduplication`, and a message with an
//! ordering key or a deduplication id is refused (`Unsupported`) before any call — by the
//! portable queue, and by this driver too when it is called directly. What
//! offers them on Azure is Service Bus (sessions, duplicate detection).
//!
//! Update Message (`extend_lease`, `nack`) issues a new pop receipt whenever it succeeds, so it is
//! not idempotent: repeated after an attempt whose answer was lost, it carries a stale receipt and
//! fails (`LeaseLost`) although the first one took effect. Its errors are therefore temporary only
//! when the request certainly never reached the service (no connection could be made); after a
//! timeout, a dropped connection or a server error the error is permanent, so the portable retry
//! layer does not repeat it. The receipt such an attempt may have issued is unknown: the message
//! comes back when the visibility timeout then in force ends (at least once, never lost).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use azure_core::http::headers::HeaderName;
use azure_storage_queue::QueueClient;
use azure_storage_queue::models::{
    QueueClientReceiveMessagesOptions, QueueClientSendMessageOptions, QueueMessage,
    ReceivedMessage as NativeMessage,
};
use base64::Engine;
use cloudport_core::event::DELIVERY_COUNT_EXTENSION;
use cloudport_core::queue::poll_while_empty;
use cloudport_core::queue::whole_seconds;
use cloudport_core::queue::wire::{from_envelope, to_envelope};
use cloudport_core::{
    Error, ErrorKind, LeaseToken, Message, QueueCapabilities, QueueDriver, ReceiveOptions,
    ReceivedMessage, Result,
};

use crate::config::{Account, Refreshing, Service};
use crate::error::{created, from_sdk};

/// Azure's limit on a message's (Base64) text.
pub const MAX_MESSAGE_TEXT: usize = 64 * 1024;

/// An Azure Storage queue.
#[derive(Debug)]
pub struct AzureQueue {
    account: Arc<Account>,
    name: String,
    client: Refreshing<QueueClient>,
    create_if_missing: bool,
    capabilities: QueueCapabilities,
}

/// Storage Queues' limits: 64 KiB of Base64 text (48 KiB of raw body), 32 messages per receive,
/// 7-day visibility timeouts and delays. There is no batch send: a batch is sent as concurrent
/// single sends.
fn capabilities() -> QueueCapabilities {
    QueueCapabilities {
        max_message_bytes: MAX_MESSAGE_TEXT / 4 * 3,
        max_batch_send: 32,
        max_batch_bytes: 32 * (MAX_MESSAGE_TEXT / 4 * 3),
        max_batch_receive: 32,
        min_lease: Duration::from_secs(1),
        max_lease: Duration::from_secs(7 * 24 * 3600),
        max_delay: Duration::from_secs(7 * 24 * 3600),
        attributes: true,
        max_attributes: 16,
        delayed_send: true,
        delayed_nack: true,
        extend_lease: true,
        delivery_count: true,
        max_wait: Duration::from_secs(20),
        concurrent_sends: 2,
        ordered: false,
        ordering: false,
        deduplication: false,
    }
}

/// Storage Queues keep no order per key and do not deduplicate: a message asking for either is
/// refused, naming what does offer them on Azure.
fn refuse_order(message: &Message) -> Result<()> {
    if message.ordering_key().is_some() {
        return Err(Error::unsupported(
            "Azure Storage Queues keep no order per ordering key: drop \
             Message::with_ordering_key here (Azure Service Bus sessions keep order; cloudport \
             has no Service Bus queue yet)",
        ));
    }
    if message.deduplication_id.is_some() {
        return Err(Error::unsupported(
            "Azure Storage Queues do not deduplicate: drop Message::with_deduplication_id and make \
             the consumer idempotent (cloudport_core::idempotency)",
        ));
    }
    Ok(())
}

/// A lease is the message id and its current pop receipt.
fn lease_token(id: &str, pop_receipt: &str) -> LeaseToken {
    LeaseToken::new(format!("{id}:{pop_receipt}"))
}

fn parse_lease(lease: &LeaseToken) -> Result<(&str, &str)> {
    lease
        .as_str()
        .split_once(':')
        .filter(|(id, receipt)| !id.is_empty() && !receipt.is_empty())
        .ok_or_else(|| Error::invalid("not an Azure queue lease (expected MESSAGE_ID:POP_RECEIPT)"))
}

/// An Update Message error, classified for the retry layer: each success issues a new pop
/// receipt, so a repeat after an attempt that may have taken effect would carry a stale one. Only
/// an error proving the request never left — no connection could be made (`azure_core`'s
/// `ErrorKind::Connection`: "the request was never sent") — stays temporary; any other (a
/// timeout or a connection dropped after sending, an HTTP error) is permanent.
fn update_message_error(err: azure_core::Error) -> Error {
    let never_sent = matches!(err.kind(), azure_core::error::ErrorKind::Connection);
    let e = from_sdk(err);
    if never_sent { e } else { e.temporary(false) }
}

/// The message's Base64 text, or `TooLarge` when it exceeds Azure's 64 KiB.
pub(crate) fn encode(message: &Message) -> Result<String> {
    let wire = to_envelope(message)?;
    let text = base64::engine::general_purpose::STANDARD.encode(wire);
    if text.len() > MAX_MESSAGE_TEXT {
        return Err(Error::new(
            ErrorKind::TooLarge,
            format!(
                "the message is {} bytes once Base64-encoded (with its attributes); Azure Storage Queues take {MAX_MESSAGE_TEXT}",
                text.len()
            ),
        ));
    }
    Ok(text)
}

impl AzureQueue {
    pub(crate) fn new(account: Arc<Account>, name: String, create_if_missing: bool) -> Self {
        Self {
            account,
            name,
            client: Refreshing::new(),
            create_if_missing,
            capabilities: capabilities(),
        }
    }

    /// The SDK client (with a fresh SAS, or the identity's token credential): the escape hatch.
    pub fn client(&self) -> Result<Arc<QueueClient>> {
        self.client.get(|| {
            let (url, credential) = self.account.client_url(Service::Queue, &[&self.name])?;
            QueueClient::new(url, credential, Some(crate::config::queue_options()))
                .map_err(from_sdk)
        })
    }

    /// Creates the queue; an existing one is fine.
    pub async fn create(&self) -> Result<()> {
        created(
            self.client()?
                .create(None)
                .await
                .map(drop)
                .map_err(from_sdk),
        )
    }

    async fn send_one(&self, message: &Message) -> Result<String> {
        refuse_order(message)?;
        let text = encode(message)?;
        let send = || async {
            let options = QueueClientSendMessageOptions {
                visibility_timeout: message.delay.map(whole_seconds),
                ..Default::default()
            };
            let content = QueueMessage {
                message_text: Some(text.clone()),
            }
            .try_into()
            .map_err(from_sdk)?;
            let sent = self
                .client()?
                .send_message(content, Some(options))
                .await
                .map_err(from_sdk)?
                .into_model()
                .map_err(from_sdk)?;
            // The message is stored once Put Message succeeds; an answer without its id is a
            // malformed answer, not a failed send (sending again would duplicate it).
            sent.items
                .and_then(|items| items.into_iter().next())
                .and_then(|m| m.message_id)
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::Malformed,
                        "Put Message succeeded but its answer carries no message id",
                    )
                })
        };
        match send().await {
            Err(e) if e.kind() == ErrorKind::NotFound && self.create_if_missing => {
                // The Functions host creates `<queue>-poison` on first use; so does cloudport.
                self.create().await?;
                send().await
            }
            other => other,
        }
    }

    fn received(&self, m: NativeMessage) -> Result<ReceivedMessage> {
        let id = m.message_id.ok_or_else(|| {
            Error::new(
                ErrorKind::Malformed,
                "Azure returned a message without a message id",
            )
        })?;
        let receipt = m.pop_receipt.ok_or_else(|| {
            Error::new(
                ErrorKind::Malformed,
                "Azure returned a message without a pop receipt",
            )
        })?;
        let text = m.message_text.unwrap_or_default();
        let wire = match base64::engine::general_purpose::STANDARD.decode(text.as_bytes()) {
            Ok(bytes) => bytes,
            // Sent by a producer that does not Base64-encode (the Functions host would fail it
            // too): deliver it as it is; a handler that cannot use it dead-letters it.
            Err(e) => {
                tracing::warn!(queue = %self.name, message_id = %id, error = %e,
                    "message text is not Base64; delivering it undecoded");
                text.into_bytes()
            }
        };
        let mut message = from_envelope(&wire);
        // The service's DequeueCount is the delivery count, whatever an envelope claims.
        if let Some(claimed) = message.attributes.remove(DELIVERY_COUNT_EXTENSION) {
            tracing::warn!(queue = %self.name, message_id = %id, claimed = %claimed,
                "dropping the envelope's deliverycount attribute; the dequeue count is the service's");
        }
        let count = m
            .dequeue_count
            .and_then(|c| u32::try_from(c).ok())
            .unwrap_or(1);
        Ok(
            ReceivedMessage::new(id.clone(), message.body, lease_token(&id, &receipt))
                .with_content_type(message.content_type)
                .with_attributes(message.attributes)
                .with_delivery_count(count)
                .with_enqueued_at(m.insertion_time.map(SystemTime::from)),
        )
    }

    async fn receive_once(&self, options: &ReceiveOptions) -> Result<Vec<ReceivedMessage>> {
        let native = QueueClientReceiveMessagesOptions {
            number_of_messages: Some(i32::try_from(options.max_messages).unwrap_or(32)),
            visibility_timeout: Some(whole_seconds(options.lease)),
            ..Default::default()
        };
        let got = self
            .client()?
            .receive_messages(Some(native))
            .await
            .map_err(from_sdk)?
            .into_model()
            .map_err(from_sdk)?;
        got.items
            .unwrap_or_default()
            .into_iter()
            .map(|m| self.received(m))
            .collect()
    }

    /// Update Message with a new visibility timeout; returns the new pop receipt.
    async fn set_visibility(&self, lease: &LeaseToken, timeout: Duration) -> Result<LeaseToken> {
        let (id, receipt) = parse_lease(lease)?;
        let rsp = self
            .client()?
            .update_message(id, receipt, whole_seconds(timeout), None)
            .await
            .map_err(update_message_error)?;
        // The SDK has no typed accessor for the new receipt (Update Message REST reference).
        let new_receipt = rsp
            .headers()
            .get_optional_string(&HeaderName::from_static("x-ms-popreceipt"))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Malformed,
                    "Update Message returned no x-ms-popreceipt",
                )
            })?;
        Ok(lease_token(id, &new_receipt))
    }
}

#[async_trait]
impl QueueDriver for AzureQueue {
    fn provider(&self) -> &'static str {
        "azure"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> &QueueCapabilities {
        &self.capabilities
    }

    async fn send_batch(&self, messages: &[Message]) -> Result<Vec<Result<String>>> {
        Ok(futures::future::join_all(messages.iter().map(|m| self.send_one(m))).await)
    }

    async fn receive(&self, options: &ReceiveOptions) -> Result<Vec<ReceivedMessage>> {
        // Storage Queues have no long polling: poll while the receive's `wait` lasts.
        poll_while_empty(options.wait, || self.receive_once(options)).await
    }

    async fn ack(&self, lease: &LeaseToken) -> Result<()> {
        let (id, receipt) = parse_lease(lease)?;
        self.client()?
            .delete_message(id, receipt, None)
            .await
            .map_err(from_sdk)?;
        Ok(())
    }

    async fn nack(&self, lease: &LeaseToken, delay: Duration) -> Result<()> {
        self.set_visibility(lease, delay).await.map(drop)
    }

    async fn extend_lease(&self, lease: &LeaseToken, lease_for: Duration) -> Result<LeaseToken> {
        self.set_visibility(lease, lease_for).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversize_messages_fail_before_any_call() {
        let ok = Message::new(vec![b'a'; MAX_MESSAGE_TEXT / 4 * 3]);
        assert!(encode(&ok).is_ok());
        let big = Message::new(vec![b'a'; MAX_MESSAGE_TEXT / 4 * 3 + 1]);
        assert_eq!(encode(&big).unwrap_err().kind(), ErrorKind::TooLarge);
    }

    #[test]
    fn ordering_keys_and_deduplication_ids_are_refused() {
        assert!(!capabilities().ordering);
        assert!(!capabilities().deduplication);
        for msg in [
            Message::new("x").with_ordering_key("k"),
            Message::new("x").with_deduplication_id("d"),
        ] {
            let e = refuse_order(&msg).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unsupported);
            assert!(e.to_string().contains("Azure Storage Queues"), "{e}");
        }
        assert!(refuse_order(&Message::new("x").with_attribute("k", "v")).is_ok());
    }

    #[test]
    fn plain_messages_are_base64_of_the_body() {
        assert_eq!(encode(&Message::new("hi")).unwrap(), "aGk=");
    }

    #[test]
    fn update_message_is_repeated_only_when_it_never_left() {
        use azure_core::error::ErrorKind as K;
        let never_sent = update_message_error(azure_core::Error::with_message(
            K::Connection,
            "connection refused",
        ));
        assert_eq!(never_sent.kind(), ErrorKind::Unavailable);
        assert!(never_sent.is_temporary());
        let answer_lost = update_message_error(azure_core::Error::with_message(
            K::Io,
            "connection closed before message completed",
        ));
        assert_eq!(answer_lost.kind(), ErrorKind::Unavailable);
        assert!(!answer_lost.is_temporary());
        for (status, code) in [(500, "InternalError"), (503, "ServerBusy"), (408, "")] {
            let e = update_message_error(azure_core::Error::with_message(
                K::HttpResponse {
                    status: azure_core::http::StatusCode::from(status),
                    error_code: Some(code.to_owned()),
                    raw_response: None,
                },
                "server error",
            ));
            assert!(!e.is_temporary(), "{status} {code}: {e}");
        }
    }

    #[test]
    fn leases_carry_id_and_receipt() {
        let lease = lease_token("id-1", "AgAAAA==");
        assert_eq!(parse_lease(&lease).unwrap(), ("id-1", "AgAAAA=="));
        assert_eq!(
            parse_lease(&LeaseToken::new("garbage")).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }
}
