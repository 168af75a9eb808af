//! Options and results of blob operations.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::SystemTime;

/// An opaque version of an object (an HTTP ETag on S3 and Azure, a generation on Cloud Storage).
/// Compare it; never parse it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ETag(String);

impl ETag {
    /// Wraps a provider's ETag or generation.
    pub fn new(etag: impl Into<String>) -> Self {
        Self(etag.into())
    }

    /// The provider's value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ETag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A condition on a write.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum WriteCondition {
    /// Write whatever is there.
    #[default]
    None,
    /// Create only: fail with `AlreadyExists` if the object exists (`If-None-Match: *`).
    IfNotExists,
    /// Replace only this version: fail with `PreconditionFailed` otherwise (`If-Match`).
    IfMatch(ETag),
}

impl WriteCondition {
    /// What a failed write under this condition means, whatever the service said: a create-only
    /// write that found the object (HTTP 412, or 409) is `AlreadyExists`; an if-match write whose
    /// object is gone (S3 answers 404) is `PreconditionFailed`. [`Bucket`](crate::Bucket) applies
    /// it to every driver's writes, so drivers return the service's error as it is.
    ///
    /// ```
    /// use cloudport_core::{ETag, Error, ErrorKind, WriteCondition};
    /// let e = WriteCondition::IfNotExists.failure(Error::new(ErrorKind::PreconditionFailed, "412"));
    /// assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    /// let e = WriteCondition::IfMatch(ETag::new("v1")).failure(Error::new(ErrorKind::NotFound, "404"));
    /// assert_eq!(e.kind(), ErrorKind::PreconditionFailed);
    /// ```
    pub fn failure(&self, err: crate::Error) -> crate::Error {
        use crate::{Error, ErrorKind};
        match (err.kind(), self) {
            (ErrorKind::PreconditionFailed, Self::IfNotExists) => Error::new(
                ErrorKind::AlreadyExists,
                "the object exists (create-only write)",
            )
            .with_source(err),
            (ErrorKind::NotFound, Self::IfMatch(_)) => Error::new(
                ErrorKind::PreconditionFailed,
                "the object does not exist (if-match write)",
            )
            .with_source(err),
            _ => err,
        }
    }
}

/// Options of [`Bucket::put_with`](crate::Bucket::put_with).
///
/// ```
/// use cloudport_core::{PutOptions, WriteCondition};
/// let opts = PutOptions::default()
///     .content_type("application/json")
///     .metadata("owner", "billing")
///     .condition(WriteCondition::IfNotExists);
/// assert_eq!(opts.condition, WriteCondition::IfNotExists);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PutOptions {
    /// The media type stored with the object.
    pub content_type: Option<String>,
    /// User metadata stored with the object (lowercase ASCII names).
    pub metadata: BTreeMap<String, String>,
    /// The write condition.
    pub condition: WriteCondition,
}

impl PutOptions {
    /// Sets the content type.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Adds a metadata entry.
    pub fn metadata(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(name.into(), value.into());
        self
    }

    /// Sets the write condition.
    pub fn condition(mut self, condition: WriteCondition) -> Self {
        self.condition = condition;
        self
    }
}

/// A byte range of an object to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// Bytes `start..end` (end exclusive; clipped to the object's size).
    Bounded {
        /// First byte.
        start: u64,
        /// One past the last byte.
        end: u64,
    },
    /// From `start` to the end.
    From(u64),
    /// The last `n` bytes.
    Suffix(u64),
}

impl ByteRange {
    /// The concrete range within an object of `size` bytes, or `None` when it is not satisfiable.
    ///
    /// ```
    /// use cloudport_core::ByteRange;
    /// assert_eq!(ByteRange::Suffix(3).resolve(10), Some(7..10));
    /// assert_eq!(ByteRange::Bounded { start: 2, end: 99 }.resolve(10), Some(2..10));
    /// assert_eq!(ByteRange::From(10).resolve(10), None);
    /// ```
    pub fn resolve(self, size: u64) -> Option<Range<u64>> {
        let range = match self {
            Self::Bounded { start, end } => start..end.min(size),
            Self::From(start) => start..size,
            Self::Suffix(n) => size.saturating_sub(n)..size,
        };
        (range.start < range.end).then_some(range)
    }
}

impl From<Range<u64>> for ByteRange {
    fn from(r: Range<u64>) -> Self {
        Self::Bounded {
            start: r.start,
            end: r.end,
        }
    }
}

impl From<std::ops::RangeFrom<u64>> for ByteRange {
    fn from(r: std::ops::RangeFrom<u64>) -> Self {
        Self::From(r.start)
    }
}

/// Options of [`Bucket::get_with`](crate::Bucket::get_with).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetOptions {
    /// Read only these bytes.
    pub range: Option<ByteRange>,
    /// Fail with `NotModified` when the object still has this ETag.
    pub if_none_match: Option<ETag>,
    /// Fail with `PreconditionFailed` unless the object has this ETag.
    pub if_match: Option<ETag>,
}

impl GetOptions {
    /// Sets the range.
    pub fn range(mut self, range: impl Into<ByteRange>) -> Self {
        self.range = Some(range.into());
        self
    }

    /// Sets `If-None-Match`.
    pub fn if_none_match(mut self, etag: ETag) -> Self {
        self.if_none_match = Some(etag);
        self
    }

    /// Sets `If-Match`.
    pub fn if_match(mut self, etag: ETag) -> Self {
        self.if_match = Some(etag);
        self
    }
}

/// What is known about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectMeta {
    /// The object's key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its version.
    pub etag: ETag,
    /// When it was last written, if known.
    pub last_modified: Option<SystemTime>,
    /// Its media type, if stored.
    pub content_type: Option<String>,
    /// Its user metadata (empty in listings on providers that do not list it).
    pub metadata: BTreeMap<String, String>,
}

impl ObjectMeta {
    /// Metadata of an object; drivers build these.
    pub fn new(key: impl Into<String>, size: u64, etag: ETag) -> Self {
        Self {
            key: key.into(),
            size,
            etag,
            last_modified: None,
            content_type: None,
            metadata: BTreeMap::new(),
        }
    }

    /// Sets the modification time.
    pub fn with_last_modified(mut self, t: Option<SystemTime>) -> Self {
        self.last_modified = t;
        self
    }

    /// Sets the content type.
    pub fn with_content_type(mut self, content_type: Option<String>) -> Self {
        self.content_type = content_type;
        self
    }

    /// Sets the metadata.
    pub fn with_metadata(mut self, metadata: BTreeMap<String, String>) -> Self {
        self.metadata = metadata;
        self
    }
}

/// Options of [`Bucket::list`](crate::Bucket::list).
///
/// ```
/// use cloudport_core::ListOptions;
/// let opts = ListOptions::prefix("photos/").delimiter("/").page_size(100);
/// assert_eq!(opts.delimiter.as_deref(), Some("/"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListOptions {
    /// Only keys starting with this.
    pub prefix: Option<String>,
    /// Group keys that contain this after the prefix into `common_prefixes`.
    pub delimiter: Option<String>,
    /// Most entries (objects plus common prefixes) in one page.
    pub page_size: Option<usize>,
    /// Continue after the page that returned this token.
    pub page_token: Option<String>,
}

impl ListOptions {
    /// Lists keys under `prefix`.
    pub fn prefix(prefix: impl Into<String>) -> Self {
        Self {
            prefix: Some(prefix.into()),
            ..Self::default()
        }
    }

    /// Sets the delimiter.
    pub fn delimiter(mut self, delimiter: impl Into<String>) -> Self {
        self.delimiter = Some(delimiter.into());
        self
    }

    /// Sets the page size.
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = Some(n);
        self
    }

    /// Continues from a previous page.
    pub fn page_token(mut self, token: impl Into<String>) -> Self {
        self.page_token = Some(token.into());
        self
    }
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListPage {
    /// Objects, in key order.
    pub objects: Vec<ObjectMeta>,
    /// With a delimiter: the distinct prefixes up to and including the delimiter, in order.
    pub common_prefixes: Vec<String>,
    /// Pass this in [`ListOptions::page_token`] for the next page; `None` on the last page.
    pub next_page_token: Option<String>,
}

impl ListPage {
    /// A page; drivers build these.
    pub fn new(
        objects: Vec<ObjectMeta>,
        common_prefixes: Vec<String>,
        next_page_token: Option<String>,
    ) -> Self {
        Self {
            objects,
            common_prefixes,
            next_page_token,
        }
    }
}
