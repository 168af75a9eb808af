//! Blob bodies: whole bytes, or a stream so large objects never sit in memory whole.

use std::ops::Range;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use futures::stream::BoxStream;

use super::ObjectMeta;
use crate::Result;

/// The body of an object being written or read.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
/// use cloudport_core::Body;
/// use futures::stream;
///
/// let whole = Body::from("hello");
/// assert_eq!(whole.size_hint(), Some(5));
///
/// let chunks = stream::iter(vec![Ok(bytes::Bytes::from("hel")), Ok(bytes::Bytes::from("lo"))]);
/// let streamed = Body::from_stream(chunks, Some(5));
/// assert_eq!(streamed.bytes().await?, "hello");
/// # Ok(()) }
/// ```
pub struct Body {
    inner: Inner,
}

enum Inner {
    Bytes(Bytes),
    Stream {
        stream: BoxStream<'static, Result<Bytes>>,
        size: Option<u64>,
    },
}

impl Body {
    /// An empty body.
    pub fn empty() -> Self {
        Self::from(Bytes::new())
    }

    /// A streamed body; `size` is its length when known (providers that need it up front use it).
    pub fn from_stream(
        stream: impl futures::Stream<Item = Result<Bytes>> + Send + 'static,
        size: Option<u64>,
    ) -> Self {
        Self {
            inner: Inner::Stream {
                stream: stream.boxed(),
                size,
            },
        }
    }

    /// The length, when known.
    pub fn size_hint(&self) -> Option<u64> {
        match &self.inner {
            Inner::Bytes(b) => Some(b.len() as u64),
            Inner::Stream { size, .. } => *size,
        }
    }

    /// The whole body, when it is held in memory already.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match &self.inner {
            Inner::Bytes(b) => Some(b),
            Inner::Stream { .. } => None,
        }
    }

    /// Reads the whole body into memory.
    pub async fn bytes(self) -> Result<Bytes> {
        match self.inner {
            Inner::Bytes(b) => Ok(b),
            Inner::Stream { mut stream, size } => {
                let cap = size.and_then(|s| usize::try_from(s).ok()).unwrap_or(0);
                let mut buf = BytesMut::with_capacity(cap.min(64 * 1024 * 1024));
                while let Some(chunk) = stream.next().await {
                    buf.extend_from_slice(&chunk?);
                }
                Ok(buf.freeze())
            }
        }
    }

    /// How a driver uploads this body: in one request ([`Upload::Single`], read into memory)
    /// when its size is known and at most `single_max`, else in parts ([`Upload::Parts`]: the
    /// body as it is, to stream).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudport_core::Result<()> {
    /// use cloudport_core::{Body, blob::Upload};
    /// assert!(matches!(Body::from("small").upload(1024).await?, Upload::Single(_)));
    /// let unsized_body = Body::from_stream(futures::stream::empty(), None);
    /// assert!(matches!(unsized_body.upload(1024).await?, Upload::Parts(_)));
    /// # Ok(()) }
    /// ```
    pub async fn upload(self, single_max: u64) -> Result<Upload> {
        match self.size_hint() {
            Some(n) if n <= single_max => Ok(Upload::Single(self.bytes().await?)),
            _ => Ok(Upload::Parts(self)),
        }
    }

    /// The body as a stream of chunks.
    pub fn into_stream(self) -> BoxStream<'static, Result<Bytes>> {
        match self.inner {
            Inner::Bytes(b) => futures::stream::once(async move { Ok(b) }).boxed(),
            Inner::Stream { stream, .. } => stream,
        }
    }
}

/// How a driver uploads a body: see [`Body::upload`].
#[derive(Debug)]
pub enum Upload {
    /// In one request, with these bytes.
    Single(Bytes),
    /// In parts (multipart, blocks, a resumable session), streaming this body.
    Parts(Body),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            Inner::Bytes(b) => f.debug_tuple("Body::Bytes").field(&b.len()).finish(),
            Inner::Stream { size, .. } => f.debug_tuple("Body::Stream").field(size).finish(),
        }
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Self {
        Self {
            inner: Inner::Bytes(b),
        }
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Self {
        Bytes::from(v).into()
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Bytes::from(s).into()
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Self {
        Bytes::from_static(s.as_bytes()).into()
    }
}

impl From<&'static [u8]> for Body {
    fn from(s: &'static [u8]) -> Self {
        Bytes::from_static(s).into()
    }
}

/// What a read returns: the object's metadata, the range read, and the body.
#[derive(Debug)]
#[non_exhaustive]
pub struct GetResult {
    /// The object's metadata.
    pub meta: ObjectMeta,
    /// The bytes of the object this body holds.
    pub range: Range<u64>,
    /// The bytes.
    pub body: Body,
}

impl GetResult {
    /// A read result; drivers build these.
    pub fn new(meta: ObjectMeta, range: Range<u64>, body: Body) -> Self {
        Self { meta, range, body }
    }

    /// Reads the whole body into memory.
    pub async fn bytes(self) -> Result<Bytes> {
        self.body.bytes().await
    }
}
