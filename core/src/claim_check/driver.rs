//! [`ClaimCheckDriver`]: a queue driver that sends messages over its queue's limit as references to
//! objects in a bucket, and fetches them back on receive.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;

use super::reference::Reference;
use crate::blob::PutOptions;
use crate::{
    Bucket, ErrorKind, LeaseToken, Message, QueueCapabilities, QueueDriver, ReceiveOptions,
    ReceivedMessage, Result,
};

/// How many stored bodies one receive fetches (and one send stores) at once.
const CONCURRENT_FETCHES: usize = 16;

/// A queue driver with the claim check: wraps a provider's driver and a bucket.
///
/// - **Send**: a message larger than the inner queue's `max_message_bytes` is put to the bucket
///   under `cloudport-claims/<queue>/<unique id>` (content type kept) and the queue carries a
///   [reference](super::CONTENT_TYPE) with the message's attributes, delay and deduplication id.
///   A message the inner driver still refuses as too large on the wire (Azure's envelope and
///   Base64 grow a message with attributes) is claimed and sent again, except on ordered queues.
/// - **Receive**: references are fetched, checked (bucket, key prefix, size, SHA-256) and
///   returned as the original message; one that cannot be followed (refused, unreadable, its
///   object gone) is delivered unresolved, with its claim content type, so the consumer fails it
///   and the dead-letter policy applies — never acked here (see the [module docs](super)).
/// - **Ack**: the queue message first, then the object; a failed delete is logged and left to
///   the bucket's lifecycle rule, never failing the ack.
///
/// Its capabilities are the inner queue's, with `max_message_bytes` raised to the bucket's
/// single-put limit: [`Queue`](crate::Queue)'s own checks then let large messages through to it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
/// use cloudport_core::{Message, ReceiveOptions, claim_check};
/// use cloudport_memory::{Memory, Profile};
/// let memory = Memory::new().with_default_profile(Profile::Azure);
/// let small = memory.queue("orders"); // 48 KiB messages
/// let payloads = memory.bucket("payloads");
/// let orders = claim_check::wrap(small, "payloads", payloads.clone());
/// orders.send(Message::new(vec![b'x'; 200 * 1024])).await?;
/// let got = orders.receive(ReceiveOptions::default()).await?;
/// assert_eq!(got[0].body.len(), 200 * 1024);
/// orders.ack(&got[0]).await?;
/// assert!(payloads.list_all("cloudport-claims/").await?.is_empty());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ClaimCheckDriver {
    inner: Arc<dyn QueueDriver>,
    bucket: Bucket,
    bucket_name: String,
    capabilities: QueueCapabilities,
}

impl ClaimCheckDriver {
    /// Wraps `inner`, storing large messages in `bucket`, bound as the logical name
    /// `bucket_name` (which references carry, and which a consumer checks).
    pub fn new(
        inner: Arc<dyn QueueDriver>,
        bucket_name: impl Into<String>,
        bucket: Bucket,
    ) -> Self {
        let mut capabilities = inner.capabilities().clone();
        let object_max =
            usize::try_from(bucket.capabilities().max_object_bytes).unwrap_or(usize::MAX);
        capabilities.max_message_bytes = capabilities.max_message_bytes.max(object_max);
        Self {
            inner,
            bucket,
            bucket_name: bucket_name.into(),
            capabilities,
        }
    }

    /// The provider's driver underneath.
    pub fn inner(&self) -> &Arc<dyn QueueDriver> {
        &self.inner
    }

    /// The bucket large messages are stored in.
    pub fn bucket(&self) -> &Bucket {
        &self.bucket
    }

    /// The bucket's logical name, as references carry it.
    pub fn bucket_name(&self) -> &str {
        &self.bucket_name
    }

    /// Stores `message`'s body and returns the reference message to send in its place.
    async fn claim(&self, message: &Message) -> Result<(Message, String)> {
        let reference = Reference::new(
            &self.bucket_name,
            self.inner.name(),
            &message.body,
            message.content_type.clone(),
        );
        let mut options = PutOptions::default();
        if let Some(ct) = &message.content_type {
            options = options.content_type(ct.clone());
        }
        self.bucket
            .put_with(&reference.key, message.body.clone(), options)
            .await?;
        let sent = reference.message(message)?;
        if sent.size() > self.inner.capabilities().max_message_bytes {
            self.forget(&reference.key).await;
            return Err(crate::Error::new(
                ErrorKind::TooLarge,
                format!(
                    "the message's attributes alone ({} bytes with the claim-check reference) exceed this queue's limit of {} bytes",
                    sent.size(),
                    self.inner.capabilities().max_message_bytes
                ),
            ));
        }
        Ok((sent, reference.key))
    }

    /// `message` as it goes to the inner queue: claimed when over its limit (with the object's
    /// key), else as it is.
    async fn prepare(&self, message: &Message, limit: usize) -> Result<(Message, Option<String>)> {
        if message.size() > limit {
            let (sent, key) = self.claim(message).await?;
            Ok((sent, Some(key)))
        } else {
            Ok((message.clone(), None))
        }
    }

    /// Deletes a stored body nobody will fetch (its send failed, or it was handled); a failure is
    /// logged and left to the bucket's lifecycle rule.
    pub(crate) async fn forget(&self, key: &str) {
        super::delete_quietly(&self.bucket, key).await;
    }

    async fn send_claimed_alone(&self, message: &Message) -> Result<String> {
        let (sent, _key) = self.claim(message).await?;
        // A failed send leaves the object to the lifecycle rule (see `send_batch`).
        match self.inner.send_batch(std::slice::from_ref(&sent)).await {
            Ok(mut results) => results
                .pop()
                .unwrap_or_else(|| Err(crate::Error::new(ErrorKind::Other, "message not sent"))),
            Err(e) => Err(e),
        }
    }

    /// A received message as the consumer sees it: `Some` to deliver (a reference that cannot be
    /// followed — refused, unreadable, its object gone — is delivered unresolved, with its claim
    /// content type, so the consumer fails it and the dead-letter policy applies; it is never
    /// acked here), `None` when it cannot be fetched now (left leased: it returns when the lease
    /// ends), with that error.
    async fn open(
        &self,
        mut msg: ReceivedMessage,
    ) -> (Option<ReceivedMessage>, Option<crate::Error>) {
        let reference =
            match Reference::read(msg.content_type.as_deref(), &msg.body).and_then(|r| {
                if let Some(r) = &r {
                    r.check_bucket(&self.bucket_name)?;
                }
                Ok(r)
            }) {
                Ok(Some(r)) => r,
                Ok(None) => {
                    msg.lease = lease::plain(&msg.lease);
                    return (Some(msg), None);
                }
                Err(e) => {
                    // Not a reference this queue may follow: delivered as it is, so the consumer's
                    // failure (and the dead-letter policy) deal with it like any bad message.
                    tracing::error!(queue = self.inner.name(), message_id = %msg.id, error = %e,
                    "claim-check reference refused; delivering it unresolved");
                    msg.lease = lease::plain(&msg.lease);
                    return (Some(msg), None);
                }
            };
        match super::fetch(&self.bucket, &reference).await {
            Ok(body) => {
                msg.body = body;
                msg.content_type = reference.content_type.clone();
                msg.lease = lease::claimed(&reference.key, &msg.lease);
                (Some(msg), None)
            }
            Err(e) if e.is_temporary() => {
                tracing::warn!(queue = self.inner.name(), message_id = %msg.id, error = %e,
                    "could not fetch a claimed message; it returns when its lease ends");
                (None, Some(e))
            }
            Err(e) => {
                tracing::error!(queue = self.inner.name(), message_id = %msg.id, error = %e,
                    "claimed message unreadable; delivering its reference unresolved");
                msg.lease = lease::plain(&msg.lease);
                (Some(msg), None)
            }
        }
    }
}

#[async_trait]
impl QueueDriver for ClaimCheckDriver {
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }

    fn name(&self) -> &str {
        self.inner.name()
    }

    fn capabilities(&self) -> &QueueCapabilities {
        &self.capabilities
    }

    async fn send_batch(&self, messages: &[Message]) -> Result<Vec<Result<String>>> {
        let inner_caps = self.inner.capabilities();
        let limit = inner_caps.max_message_bytes;
        let ordered = inner_caps.ordered || messages.iter().any(|m| m.ordering_key().is_some());
        let claims: Vec<_> = futures::stream::iter(
            messages
                .iter()
                .map(|m| self.prepare(m, limit))
                .collect::<Vec<_>>(),
        )
        .buffered(CONCURRENT_FETCHES)
        .collect()
        .await;
        // On an ordered queue nothing is sent after a message that could not be stored.
        let mut results: Vec<Option<Result<String>>> = Vec::with_capacity(messages.len());
        let mut to_send = Vec::new();
        let mut held_back = false;
        for (i, claim) in claims.into_iter().enumerate() {
            match claim {
                Ok((sent, key)) if !held_back => {
                    results.push(None);
                    to_send.push((i, sent, key));
                }
                Ok((_, key)) => {
                    if let Some(key) = key {
                        self.forget(&key).await;
                    }
                    results.push(Some(Err(crate::Error::new(
                        ErrorKind::Other,
                        "not sent: an earlier message of this ordered batch failed",
                    ))));
                }
                Err(e) => {
                    held_back |= ordered;
                    results.push(Some(Err(e)));
                }
            }
        }
        if !to_send.is_empty() {
            let batch: Vec<Message> = to_send.iter().map(|(_, m, _)| m.clone()).collect();
            // A failed send never deletes the objects it stored: a timeout may hide a send that
            // went through, and deleting its object would make the message look handled (lost).
            // The lifecycle rule removes the ones no message refers to.
            let sent = self.inner.send_batch(&batch).await?;
            for ((i, _, key), result) in to_send.into_iter().zip(sent) {
                results[i] = Some(match result {
                    // Too large on the wire after all (an envelope, Base64): claimed and sent
                    // alone — where order does not matter.
                    Err(e) if key.is_none() && e.kind() == ErrorKind::TooLarge && !ordered => {
                        self.send_claimed_alone(&messages[i]).await
                    }
                    result => result,
                });
            }
        }
        Ok(results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| Err(crate::Error::new(ErrorKind::Other, "message not sent")))
            })
            .collect())
    }

    async fn receive(&self, options: &ReceiveOptions) -> Result<Vec<ReceivedMessage>> {
        let received = self.inner.receive(options).await?;
        let opened: Vec<_> = futures::stream::iter(
            received
                .into_iter()
                .map(|m| self.open(m))
                .collect::<Vec<_>>(),
        )
        .buffered(CONCURRENT_FETCHES)
        .collect()
        .await;
        let mut deliver = Vec::with_capacity(opened.len());
        let mut first_error = None;
        for (msg, err) in opened {
            deliver.extend(msg);
            if first_error.is_none() {
                first_error = err;
            }
        }
        // Nothing to deliver because the bucket failed: say so, rather than look empty.
        match first_error {
            Some(e) if deliver.is_empty() => Err(e),
            _ => Ok(deliver),
        }
    }

    async fn ack(&self, lease: &LeaseToken) -> Result<()> {
        let (key, inner) = lease::split(lease)?;
        self.inner.ack(&inner).await?;
        if let Some(key) = key {
            self.forget(&key).await;
        }
        Ok(())
    }

    async fn nack(&self, lease: &LeaseToken, delay: Duration) -> Result<()> {
        let (_, inner) = lease::split(lease)?;
        self.inner.nack(&inner, delay).await
    }

    async fn extend_lease(&self, lease: &LeaseToken, lease_for: Duration) -> Result<LeaseToken> {
        let (key, inner) = lease::split(lease)?;
        let renewed = self.inner.extend_lease(&inner, lease_for).await?;
        Ok(match key {
            Some(key) => lease::claimed(&key, &renewed),
            None => lease::plain(&renewed),
        })
    }
}

/// Lease tokens of the wrapper: the inner token, and the object key to delete after the ack.
/// `p<inner>` for a message that was not claimed; `c<key length>:<key><inner>` for one that was.
mod lease {
    use crate::{Error, ErrorKind, LeaseToken, Result};

    pub(super) fn plain(inner: &LeaseToken) -> LeaseToken {
        LeaseToken::new(format!("p{}", inner.as_str()))
    }

    pub(super) fn claimed(key: &str, inner: &LeaseToken) -> LeaseToken {
        LeaseToken::new(format!("c{}:{key}{}", key.len(), inner.as_str()))
    }

    pub(super) fn split(lease: &LeaseToken) -> Result<(Option<String>, LeaseToken)> {
        let bad = || {
            Error::new(
                ErrorKind::InvalidArgument,
                "not a lease of this claim-check queue (receive the message from it)",
            )
        };
        let token = lease.as_str();
        if let Some(inner) = token.strip_prefix('p') {
            return Ok((None, LeaseToken::new(inner)));
        }
        let rest = token.strip_prefix('c').ok_or_else(bad)?;
        let (len, rest) = rest.split_once(':').ok_or_else(bad)?;
        let len: usize = len.parse().map_err(|_| bad())?;
        if !rest.is_char_boundary(len.min(rest.len())) || rest.len() < len {
            return Err(bad());
        }
        let (key, inner) = rest.split_at(len);
        Ok((Some(key.to_owned()), LeaseToken::new(inner)))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn leases_round_trip() {
            let inner = LeaseToken::new("rcpt:with:colons");
            assert_eq!(split(&plain(&inner)).unwrap(), (None, inner.clone()));
            let key = "cloudport-claims/orders/1-2";
            assert_eq!(
                split(&claimed(key, &inner)).unwrap(),
                (Some(key.to_owned()), inner)
            );
            for bad in ["", "x", "c", "c5", "c99:short", "cx:y"] {
                assert!(split(&LeaseToken::new(bad)).is_err(), "{bad}");
            }
        }
    }
}
