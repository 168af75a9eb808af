//! The trait a provider implements for blob storage.

use std::any::Any;
use std::fmt::Debug;

use async_trait::async_trait;

use super::{BlobChange, PutOptions};
use super::{Body, GetOptions, GetResult, ListOptions, ListPage, ObjectMeta, WriteCondition};
use crate::{BlobCapabilities, Result};

/// A provider's bucket (S3 bucket, Azure container, Cloud Storage bucket). Thin:
/// [`Bucket`](crate::Bucket) validates keys and options against the capabilities and adds error
/// context; drivers never retry.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait BlobDriver: Any + Debug + Send + Sync {
    /// The provider's name.
    fn provider(&self) -> &'static str;

    /// The bucket's name at the provider.
    fn name(&self) -> &str;

    /// What this bucket supports.
    fn capabilities(&self) -> &BlobCapabilities;

    /// Writes an object. Conditions: `IfNotExists` fails with `AlreadyExists`, a stale `IfMatch`
    /// with `PreconditionFailed`.
    async fn put(&self, key: &str, body: Body, options: &PutOptions) -> Result<ObjectMeta>;

    /// Reads an object, or a range of it. A missing object is `NotFound`; an unsatisfiable range
    /// `InvalidArgument`; a matching `if_none_match` `NotModified`; a failed `if_match`
    /// `PreconditionFailed`.
    async fn get(&self, key: &str, options: &GetOptions) -> Result<GetResult>;

    /// Reads an object's metadata.
    async fn head(&self, key: &str) -> Result<ObjectMeta>;

    /// Deletes an object; deleting a missing object succeeds.
    async fn delete(&self, key: &str) -> Result<()>;

    /// Lists one page of keys.
    async fn list(&self, options: &ListOptions) -> Result<ListPage>;

    /// Copies an object within this bucket, server side.
    async fn copy(&self, from: &str, to: &str, condition: &WriteCondition) -> Result<ObjectMeta>;

    /// A feed of changes, for hosts that turn them into blob triggers locally. Providers whose
    /// changes arrive as platform events (S3 notifications, Event Grid, Eventarc) return `None`.
    fn subscribe(&self) -> Option<tokio::sync::broadcast::Receiver<BlobChange>> {
        None
    }
}
