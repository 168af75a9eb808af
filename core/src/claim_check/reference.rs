//! The reference message: what the queue carries in place of a message stored in the bucket.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::{CONTENT_TYPE, KEY_PREFIX};
use crate::{Error, ErrorKind, Message, Result};

/// The body of a reference message (content type [`CONTENT_TYPE`]): where the message is stored
/// and what it must look like when fetched. Small (about 250 bytes of JSON), so the reference fits
/// every queue, Azure's 48 KiB included, beside the message's own attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct Reference {
    /// The format version (1).
    pub v: u8,
    /// The logical name of the bucket (`claim_check=` of the queue's binding).
    pub bucket: String,
    /// The object's key, under [`KEY_PREFIX`].
    pub key: String,
    /// The body's length in bytes.
    pub size: u64,
    /// The body's SHA-256, lowercase hex.
    pub sha256: String,
    /// The message's own content type, if it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

impl Reference {
    /// A reference to `body` stored under a fresh key for `queue` in `bucket`.
    pub(crate) fn new(
        bucket: &str,
        queue: &str,
        body: &[u8],
        content_type: Option<String>,
    ) -> Self {
        // 128 random bits and the time: unique without coordination.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let queue: String = queue
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        Self {
            v: 1,
            bucket: bucket.to_owned(),
            key: format!("{KEY_PREFIX}{queue}/{nanos:x}-{:032x}", fastrand::u128(..)),
            size: body.len() as u64,
            sha256: sha256_hex(body),
            content_type,
        }
    }

    /// The reference message that travels in place of `original`: its attributes (filters,
    /// ordering keys and traces keep working), delay and deduplication id; this reference as the
    /// body, content type [`CONTENT_TYPE`].
    pub(crate) fn message(&self, original: &Message) -> Result<Message> {
        let body = serde_json::to_vec(self)
            .map_err(|e| Error::new(ErrorKind::Other, format!("claim reference: {e}")))?;
        let mut message = original.clone();
        message.body = Bytes::from(body);
        message.content_type = Some(CONTENT_TYPE.to_owned());
        Ok(message)
    }

    /// The reference a message carries, if its content type says it is one: `None` for any other
    /// message; `Malformed` for a body that is not a reference.
    pub(crate) fn read(content_type: Option<&str>, body: &[u8]) -> Result<Option<Self>> {
        if content_type != Some(CONTENT_TYPE) {
            return Ok(None);
        }
        let reference: Self = serde_json::from_slice(body).map_err(|e| {
            Error::new(
                ErrorKind::Malformed,
                format!("a claim-check reference message whose body is not a reference: {e}"),
            )
        })?;
        if reference.v != 1 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "claim-check reference version {} (this build reads 1)",
                    reference.v
                ),
            ));
        }
        Ok(Some(reference))
    }

    /// Refuses a reference this queue must not follow: another bucket than its binding's, or a
    /// key outside [`KEY_PREFIX`] — so a message sent by anyone who can write to the queue can
    /// never make a consumer read, or delete after handling, any other object.
    pub(crate) fn check_bucket(&self, bucket: &str) -> Result<()> {
        if self.bucket != bucket {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                format!(
                    "claim-check reference names bucket {:?}, but this queue's claim_check bucket is {bucket:?}",
                    self.bucket
                ),
            ));
        }
        let rest = self.key.strip_prefix(KEY_PREFIX).unwrap_or_default();
        if rest.is_empty()
            || rest
                .split('/')
                .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                format!(
                    "claim-check reference key {:?} is not under {KEY_PREFIX:?}",
                    self.key
                ),
            ));
        }
        Ok(())
    }

    /// Checks fetched bytes against the reference (a truncated or replaced object is `Malformed`).
    pub(crate) fn verify(&self, body: &[u8]) -> Result<()> {
        if body.len() as u64 != self.size || sha256_hex(body) != self.sha256 {
            return Err(Error::new(
                ErrorKind::Malformed,
                format!(
                    "claimed message {} is {} bytes and does not match its reference ({} bytes, sha256 {})",
                    self.key,
                    body.len(),
                    self.size,
                    self.sha256
                ),
            ));
        }
        Ok(())
    }
}

fn sha256_hex(body: &[u8]) -> String {
    sha2::Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_round_trip_and_keep_attributes() {
        let original = Message::new(vec![7u8; 1000])
            .with_content_type("application/octet-stream")
            .with_attribute("tenant", "acme");
        let r = Reference::new(
            "payloads",
            "orders",
            &original.body,
            original.content_type.clone(),
        );
        assert!(r.key.starts_with("cloudport-claims/orders/"));
        let m = r.message(&original).unwrap();
        assert_eq!(m.attributes, original.attributes);
        assert!(m.size() < 512, "{}", m.size());
        let back = Reference::read(m.content_type.as_deref(), &m.body)
            .unwrap()
            .unwrap();
        assert_eq!(back, r);
        back.verify(&original.body).unwrap();
        assert_eq!(
            back.verify(b"other").unwrap_err().kind(),
            ErrorKind::Malformed
        );
    }

    #[test]
    fn foreign_buckets_and_keys_are_refused() {
        let mut r = Reference::new("payloads", "orders", b"x", None);
        r.check_bucket("payloads").unwrap();
        assert_eq!(
            r.check_bucket("receipts").unwrap_err().kind(),
            ErrorKind::PermissionDenied
        );
        for key in [
            "receipts/2024.pdf",
            "cloudport-claims/",
            "cloudport-claims/../x",
            "cloudport-claims//x",
        ] {
            r.key = key.to_owned();
            assert!(r.check_bucket("payloads").is_err(), "{key}");
        }
    }

    #[test]
    fn other_messages_are_not_references() {
        assert_eq!(
            Reference::read(Some("application/json"), b"{}").unwrap(),
            None
        );
        assert_eq!(Reference::read(None, b"x").unwrap(), None);
        let bad = Reference::read(Some(CONTENT_TYPE), b"{\"v\":1}").unwrap_err();
        assert_eq!(bad.kind(), ErrorKind::Malformed);
    }
}
