//! Blob storage: the portable [`Bucket`] over a provider's [`BlobDriver`].

mod body;
mod driver;
mod types;

use std::any::Any;
use std::sync::Arc;
use tracing::Instrument;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use body::{Body, GetResult, Upload};
pub use driver::BlobDriver;
#[cfg(feature = "mock")]
pub use driver::MockBlobDriver;
pub use types::{
    ByteRange, ETag, GetOptions, ListOptions, ListPage, ObjectMeta, PutOptions, WriteCondition,
};

use crate::retry::{Idempotence, RetryPolicy};
use crate::{BlobCapabilities, Error, ErrorKind, Result, validate};

/// A change to a bucket, as a driver's [`BlobDriver::subscribe`] feed reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobChange {
    /// An object was written.
    Created(ObjectMeta),
    /// An object was deleted.
    Deleted {
        /// Its key.
        key: String,
        /// The ETag of the version deleted, when the feed knows it: with the key, a stable id for
        /// the event.
        etag: Option<ETag>,
    },
}

/// A bucket of objects.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
/// use cloudport_core::{ListOptions, PutOptions, WriteCondition, ErrorKind};
/// let bucket = cloudport_memory::Memory::new().bucket("receipts");
///
/// bucket.put("2026/42.json", r#"{"total":10}"#).await?;
/// let again = bucket
///     .put_with("2026/42.json", "{}", PutOptions::default().condition(WriteCondition::IfNotExists))
///     .await;
/// assert_eq!(again.unwrap_err().kind(), ErrorKind::AlreadyExists);
///
/// let page = bucket.list(ListOptions::prefix("2026/")).await?;
/// assert_eq!(page.objects[0].key, "2026/42.json");
/// assert_eq!(bucket.get_bytes("2026/42.json").await?, r#"{"total":10}"#);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Bucket {
    driver: Arc<dyn BlobDriver>,
    retry: RetryPolicy,
    grant: Option<Arc<crate::access::Grant>>,
}

crate::access::granted!(Bucket);

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket")
            .field("provider", &self.driver.provider())
            .field("name", &self.driver.name())
            .finish()
    }
}

impl Bucket {
    /// A bucket over a driver.
    pub fn new(driver: impl BlobDriver) -> Self {
        Self::from_driver(Arc::new(driver))
    }

    /// A bucket over a shared driver.
    pub fn from_driver(driver: Arc<dyn BlobDriver>) -> Self {
        Self {
            driver,
            retry: RetryPolicy::default(),
            grant: None,
        }
    }

    /// Retries driver calls that fail temporarily by this policy (default: [`RetryPolicy::default`]).
    /// Conditional writes are repeated only after throttling; streamed bodies are never repeated.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The bucket's name at the provider.
    pub fn name(&self) -> &str {
        self.driver.name()
    }

    /// The provider's name.
    pub fn provider(&self) -> &'static str {
        self.driver.provider()
    }

    /// What this bucket supports.
    pub fn capabilities(&self) -> &BlobCapabilities {
        self.driver.capabilities()
    }

    /// The driver.
    pub fn driver(&self) -> &Arc<dyn BlobDriver> {
        &self.driver
    }

    /// The provider's concrete driver (the escape hatch).
    pub fn native<D: BlobDriver>(&self) -> Option<&D> {
        (self.driver.as_ref() as &dyn Any).downcast_ref::<D>()
    }

    fn span(&self, op: &'static str) -> tracing::Span {
        crate::telemetry::operation_span(op, self.driver.provider(), self.driver.name())
    }

    fn context(&self, op: &'static str, key: Option<&str>, err: Error) -> Error {
        let resource = match key {
            Some(k) => format!("{}/{}", self.driver.name(), validate::truncate(k)),
            None => self.driver.name().to_owned(),
        };
        err.with_provider(self.driver.provider())
            .with_operation(op)
            .with_resource(resource)
    }

    fn check_key(&self, op: &'static str, key: &str) -> Result<()> {
        validate::key(key, self.capabilities().max_key_bytes)
            .map_err(|e| self.context(op, Some(key), e))
    }

    fn check_condition(&self, condition: &WriteCondition) -> Result<()> {
        let caps = self.capabilities();
        match condition {
            WriteCondition::None => Ok(()),
            WriteCondition::IfNotExists if !caps.create_only => Err(Error::unsupported(
                "this bucket cannot make create-only writes",
            )),
            WriteCondition::IfMatch(_) if !caps.if_match => Err(Error::unsupported(
                "this bucket cannot make If-Match writes",
            )),
            _ => Ok(()),
        }
    }

    fn check_put(&self, body: &Body, options: &PutOptions) -> Result<()> {
        let caps = self.capabilities();
        self.check_condition(&options.condition)?;
        if !options.metadata.is_empty() && !caps.metadata {
            return Err(Error::unsupported(
                "this bucket does not store user metadata",
            ));
        }
        for (name, value) in &options.metadata {
            let ok_name = !name.is_empty()
                && name.len() <= 64
                && name.as_bytes()[0].is_ascii_lowercase()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !ok_name {
                return Err(Error::invalid(format!(
                    "metadata name {name:?} must be 1-64 lowercase ASCII letters, digits or '_', starting with a letter"
                )));
            }
            if !value.is_ascii() || value.chars().any(|c| c.is_ascii_control()) {
                return Err(Error::invalid(format!(
                    "metadata {name:?} must be printable ASCII"
                )));
            }
        }
        if let Some(size) = body.size_hint()
            && size > caps.max_object_bytes
        {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!(
                    "object is {size} bytes; the limit of this bucket is {}",
                    caps.max_object_bytes
                ),
            ));
        }
        Ok(())
    }

    /// Writes an object.
    pub async fn put(&self, key: impl AsRef<str>, body: impl Into<Body>) -> Result<ObjectMeta> {
        self.put_with(key, body, PutOptions::default()).await
    }

    /// Writes an object with a content type, metadata or a condition.
    pub async fn put_with(
        &self,
        key: impl AsRef<str>,
        body: impl Into<Body>,
        options: PutOptions,
    ) -> Result<ObjectMeta> {
        const OP: &str = "blob.put";
        self.allow(crate::access::Access::BUCKET_WRITE, OP)?;
        let key = key.as_ref();
        let body = body.into();
        self.check_key(OP, key)?;
        self.check_put(&body, &options)
            .map_err(|e| self.context(OP, Some(key), e))?;
        let idempotence = match options.condition {
            WriteCondition::None => Idempotence::Safe,
            _ => Idempotence::Unsafe,
        };
        let result = match body.as_bytes().cloned() {
            // Bytes in memory can be sent again; a stream can be read once.
            Some(bytes) => {
                self.retry
                    .run(idempotence, || {
                        self.driver.put(key, Body::from(bytes.clone()), &options)
                    })
                    .instrument(self.span(OP))
                    .await
            }
            None => {
                self.driver
                    .put(key, body, &options)
                    .instrument(self.span(OP))
                    .await
            }
        };
        result.map_err(|e| self.context(OP, Some(key), options.condition.failure(e)))
    }

    /// Writes `value` as a JSON object (content type `application/json`).
    pub async fn put_json<T: Serialize + ?Sized>(
        &self,
        key: impl AsRef<str>,
        value: &T,
    ) -> Result<ObjectMeta> {
        let body = serde_json::to_vec(value)
            .map_err(|e| Error::invalid(format!("value is not serializable as JSON: {e}")))?;
        self.put_with(
            key,
            body,
            PutOptions::default().content_type("application/json"),
        )
        .await
    }

    /// Reads a whole object as a stream.
    pub async fn get(&self, key: impl AsRef<str>) -> Result<GetResult> {
        self.get_with(key, GetOptions::default()).await
    }

    /// Reads an object with a range or conditions.
    pub async fn get_with(&self, key: impl AsRef<str>, options: GetOptions) -> Result<GetResult> {
        const OP: &str = "blob.get";
        self.allow(crate::access::Access::BUCKET_READ, OP)?;
        let key = key.as_ref();
        self.check_key(OP, key)?;
        let caps = self.capabilities();
        let unsupported = if options.range.is_some() && !caps.range {
            Some("this bucket cannot read ranges")
        } else if options.if_none_match.is_some() && !caps.if_none_match_get {
            Some("this bucket cannot make If-None-Match reads")
        } else {
            None
        };
        if let Some(msg) = unsupported {
            return Err(self.context(OP, Some(key), Error::unsupported(msg)));
        }
        let empty = match options.range {
            Some(ByteRange::Bounded { start, end }) => start >= end,
            Some(ByteRange::Suffix(n)) => n == 0,
            _ => false,
        };
        if empty {
            return Err(self.context(
                OP,
                Some(key),
                Error::invalid(format!("empty byte range {:?}", options.range)),
            ));
        }
        self.retry
            .run(Idempotence::Safe, || self.driver.get(key, &options))
            .instrument(self.span(OP))
            .await
            .map_err(|e| self.context(OP, Some(key), e))
    }

    /// Reads a whole object into memory.
    pub async fn get_bytes(&self, key: impl AsRef<str>) -> Result<Bytes> {
        self.get(key).await?.bytes().await
    }

    /// Reads a JSON object.
    pub async fn get_json<T: DeserializeOwned>(&self, key: impl AsRef<str>) -> Result<T> {
        let key = key.as_ref();
        let bytes = self.get_bytes(key).await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            self.context(
                "blob.get",
                Some(key),
                Error::new(
                    ErrorKind::Malformed,
                    format!("object is not the expected JSON: {e}"),
                ),
            )
        })
    }

    /// Reads an object unless it still has `etag`; `Ok(None)` when unchanged.
    pub async fn get_if_changed(
        &self,
        key: impl AsRef<str>,
        etag: &ETag,
    ) -> Result<Option<GetResult>> {
        match self
            .get_with(key, GetOptions::default().if_none_match(etag.clone()))
            .await
        {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.kind() == ErrorKind::NotModified => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reads an object's metadata.
    pub async fn head(&self, key: impl AsRef<str>) -> Result<ObjectMeta> {
        const OP: &str = "blob.head";
        self.allow(crate::access::Access::BUCKET_READ, OP)?;
        let key = key.as_ref();
        self.check_key(OP, key)?;
        self.retry
            .run(Idempotence::Safe, || self.driver.head(key))
            .instrument(self.span(OP))
            .await
            .map_err(|e| self.context(OP, Some(key), e))
    }

    /// Whether an object exists.
    pub async fn exists(&self, key: impl AsRef<str>) -> Result<bool> {
        match self.head(key).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes an object; deleting a missing object succeeds.
    pub async fn delete(&self, key: impl AsRef<str>) -> Result<()> {
        const OP: &str = "blob.delete";
        self.allow(crate::access::Access::BUCKET_DELETE, OP)?;
        let key = key.as_ref();
        self.check_key(OP, key)?;
        self.retry
            .run(Idempotence::Safe, || self.driver.delete(key))
            .instrument(self.span(OP))
            .await
            .map_err(|e| self.context(OP, Some(key), e))
    }

    /// Lists one page of keys; follow `next_page_token` for more.
    pub async fn list(&self, options: ListOptions) -> Result<ListPage> {
        const OP: &str = "blob.list";
        self.allow(crate::access::Access::BUCKET_LIST, OP)?;
        let caps = self.capabilities();
        let check = || -> Result<()> {
            if options.delimiter.is_some() && !caps.list_delimiter {
                return Err(Error::unsupported(
                    "this bucket cannot list with a delimiter",
                ));
            }
            if options.delimiter.as_deref() == Some("") {
                return Err(Error::invalid("the delimiter must not be empty"));
            }
            if let Some(n) = options.page_size
                && (n == 0 || n > caps.max_list_page)
            {
                return Err(Error::invalid(format!(
                    "page_size must be 1..={}, got {n}",
                    caps.max_list_page
                )));
            }
            Ok(())
        };
        check().map_err(|e| self.context(OP, None, e))?;
        self.retry
            .run(Idempotence::Safe, || self.driver.list(&options))
            .instrument(self.span(OP))
            .await
            .map_err(|e| self.context(OP, None, e))
    }

    /// Lists every object under `prefix`, following pages.
    pub async fn list_all(&self, prefix: impl Into<String>) -> Result<Vec<ObjectMeta>> {
        let mut options = ListOptions::prefix(prefix);
        let mut all = Vec::new();
        loop {
            let page = self.list(options.clone()).await?;
            all.extend(page.objects);
            match page.next_page_token {
                Some(token) => options.page_token = Some(token),
                None => return Ok(all),
            }
        }
    }

    /// Copies an object within this bucket.
    pub async fn copy(&self, from: impl AsRef<str>, to: impl AsRef<str>) -> Result<ObjectMeta> {
        self.copy_with(from, to, WriteCondition::None).await
    }

    /// Copies an object within this bucket, with a condition on the destination.
    pub async fn copy_with(
        &self,
        from: impl AsRef<str>,
        to: impl AsRef<str>,
        condition: WriteCondition,
    ) -> Result<ObjectMeta> {
        const OP: &str = "blob.copy";
        self.allow(
            crate::access::Access::BUCKET_READ.union(crate::access::Access::BUCKET_WRITE),
            OP,
        )?;
        let (from, to) = (from.as_ref(), to.as_ref());
        self.check_key(OP, from)?;
        self.check_key(OP, to)?;
        if !self.capabilities().copy {
            return Err(self.context(
                OP,
                Some(from),
                Error::unsupported("this bucket cannot copy"),
            ));
        }
        self.check_condition(&condition)
            .map_err(|e| self.context(OP, Some(to), e))?;
        let idempotence = match condition {
            WriteCondition::None => Idempotence::Safe,
            _ => Idempotence::Unsafe,
        };
        self.retry
            .run(idempotence, || self.driver.copy(from, to, &condition))
            .instrument(self.span(OP))
            .await
            .map_err(|e| {
                // A missing source is NotFound, whatever the condition says.
                let e = match e.kind() {
                    ErrorKind::NotFound => e,
                    _ => condition.failure(e),
                };
                self.context(OP, Some(from), e)
            })
    }
}
