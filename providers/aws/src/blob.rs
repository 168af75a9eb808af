//! Buckets on Amazon S3: conditional writes (`If-None-Match: *`, `If-Match`), ranges, delimiter
//! listing with continuation tokens, multipart upload for large or unsized bodies.

use std::time::SystemTime;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, MetadataDirective};
use bytes::{Bytes, BytesMut};
use cloudport_core::blob::Upload;
use cloudport_core::{
    BlobCapabilities, BlobDriver, Body, ByteRange, ETag, Error, ErrorKind, GetOptions, GetResult,
    ListOptions, ListPage, ObjectMeta, PutOptions, Result, WriteCondition,
};
use futures::StreamExt;
use tokio::sync::OnceCell;

use crate::error::from_sdk;
use crate::{Aws, Settings};

/// Bodies up to this size go up in one `PutObject`; larger or unsized ones as multipart uploads.
const SINGLE_PUT_MAX: u64 = 16 * 1024 * 1024;
/// Multipart part size (S3's minimum is 5 MiB, except the last part).
const PART_SIZE: usize = 8 * 1024 * 1024;

/// An S3 bucket.
pub struct S3Bucket {
    aws: Aws,
    settings: Settings,
    path_style: bool,
    name: String,
    client: OnceCell<Client>,
    capabilities: BlobCapabilities,
}

/// The resource and its settings; the SDK client (whose configuration holds credentials and
/// endpoints) only as opened or not.
impl std::fmt::Debug for S3Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Bucket")
            .field("settings", &self.settings)
            .field("path_style", &self.path_style)
            .field("name", &self.name)
            .field("capabilities", &self.capabilities)
            .field("open", &self.client.initialized())
            .finish_non_exhaustive()
    }
}

fn system_time(t: Option<&DateTime>) -> Option<SystemTime> {
    t.and_then(|t| SystemTime::try_from(*t).ok())
}

/// The `If-None-Match` and `If-Match` headers of a write condition.
fn condition_headers(condition: &WriteCondition) -> (Option<String>, Option<String>) {
    match condition {
        WriteCondition::None => (None, None),
        WriteCondition::IfNotExists => (Some("*".to_owned()), None),
        WriteCondition::IfMatch(etag) => (None, Some(etag.as_str().to_owned())),
    }
}

/// The metadata of an object just written.
fn written(key: &str, size: u64, etag: Option<String>, options: &PutOptions) -> ObjectMeta {
    ObjectMeta::new(key, size, ETag::new(etag.unwrap_or_default()))
        .with_content_type(options.content_type.clone())
        .with_metadata(options.metadata.clone())
}

fn range_header(range: ByteRange) -> String {
    match range {
        ByteRange::Bounded { start, end } => format!("bytes={start}-{}", end.saturating_sub(1)),
        ByteRange::From(start) => format!("bytes={start}-"),
        ByteRange::Suffix(n) => format!("bytes=-{n}"),
    }
}

/// Parses `bytes START-END/TOTAL`.
fn parse_content_range(header: &str) -> Option<std::ops::Range<u64>> {
    let spec = header.strip_prefix("bytes ")?;
    let (range, _total) = spec.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let (start, end): (u64, u64) = (start.parse().ok()?, end.parse().ok()?);
    Some(start..end + 1)
}

/// Decodes a key from a listing made with `encoding-type=url`.
fn url_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

fn copy_source(bucket: &str, key: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    format!(
        "{bucket}/{}",
        percent_encoding::utf8_percent_encode(key, KEEP)
    )
}

impl S3Bucket {
    pub(crate) fn new(aws: Aws, settings: Settings, name: String, path_style: bool) -> Self {
        Self {
            aws,
            settings,
            path_style,
            name,
            client: OnceCell::new(),
            capabilities: BlobCapabilities::default(),
        }
    }

    /// The SDK client (built on first use): the escape hatch.
    pub async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                Client::from_conf(
                    self.settings
                        .apply_s3(self.aws.sdk_config().await, self.path_style),
                )
            })
            .await
    }

    async fn put_single(&self, key: &str, data: Bytes, options: &PutOptions) -> Result<ObjectMeta> {
        let size = data.len() as u64;
        let req = self
            .client()
            .await
            .put_object()
            .bucket(&self.name)
            .key(key)
            .body(ByteStream::from(data))
            .set_content_type(options.content_type.clone())
            .set_metadata(Some(options.metadata.clone().into_iter().collect()));
        let (if_none_match, if_match) = condition_headers(&options.condition);
        let out = req
            .set_if_none_match(if_none_match)
            .set_if_match(if_match)
            .send()
            .await
            .map_err(from_sdk)?;
        Ok(written(key, size, out.e_tag, options))
    }

    async fn put_multipart(
        &self,
        key: &str,
        body: Body,
        options: &PutOptions,
    ) -> Result<ObjectMeta> {
        let client = self.client().await;
        let created = client
            .create_multipart_upload()
            .bucket(&self.name)
            .key(key)
            .set_content_type(options.content_type.clone())
            .set_metadata(Some(options.metadata.clone().into_iter().collect()))
            .send()
            .await
            .map_err(from_sdk)?;
        let upload_id = created
            .upload_id
            .ok_or_else(|| Error::new(ErrorKind::Other, "S3 returned no upload id"))?;
        match self.upload_parts(key, &upload_id, body, options).await {
            Ok(meta) => Ok(meta),
            Err(e) => {
                // Leave no half-written upload behind (S3 bills for its parts).
                let aborted = client
                    .abort_multipart_upload()
                    .bucket(&self.name)
                    .key(key)
                    .upload_id(&upload_id)
                    .send()
                    .await;
                if let Err(abort) = aborted {
                    tracing::warn!(bucket = %self.name, key, error = %from_sdk(abort), "could not abort multipart upload");
                }
                Err(e)
            }
        }
    }

    async fn upload_parts(
        &self,
        key: &str,
        upload_id: &str,
        body: Body,
        options: &PutOptions,
    ) -> Result<ObjectMeta> {
        let client = self.client().await;
        // S3 allows 10,000 parts: a known size sets parts large enough to fit; an unknown size
        // gets parts that grow every 1,000 parts, which reaches S3's 5 TiB object limit.
        let fixed = body.size_hint().map(|s| {
            usize::try_from(s.div_ceil(10_000))
                .unwrap_or(usize::MAX)
                .max(PART_SIZE)
        });
        let part_size = |n: usize| fixed.unwrap_or(PART_SIZE << (n / 1000).min(6));
        let mut stream = body.into_stream();
        let mut buf = BytesMut::with_capacity(part_size(0));
        let mut parts = Vec::new();
        let mut size = 0u64;
        let mut done = false;
        while !done {
            let wanted = part_size(parts.len());
            while buf.len() < wanted {
                match stream.next().await {
                    Some(chunk) => buf.extend_from_slice(&chunk?),
                    None => {
                        done = true;
                        break;
                    }
                }
            }
            if buf.is_empty() && !parts.is_empty() {
                break;
            }
            let take = buf.len().min(wanted);
            let part = buf.split_to(take).freeze();
            size += part.len() as u64;
            let number = i32::try_from(parts.len() + 1).unwrap_or(i32::MAX);
            let out = client
                .upload_part()
                .bucket(&self.name)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .body(ByteStream::from(part))
                .send()
                .await
                .map_err(from_sdk)?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(out.e_tag)
                    .build(),
            );
        }
        let req = client
            .complete_multipart_upload()
            .bucket(&self.name)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            );
        let (if_none_match, if_match) = condition_headers(&options.condition);
        let out = req
            .set_if_none_match(if_none_match)
            .set_if_match(if_match)
            .send()
            .await
            .map_err(from_sdk)?;
        Ok(written(key, size, out.e_tag, options))
    }
}

#[async_trait]
impl BlobDriver for S3Bucket {
    fn provider(&self) -> &'static str {
        "aws"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> &BlobCapabilities {
        &self.capabilities
    }

    async fn put(&self, key: &str, body: Body, options: &PutOptions) -> Result<ObjectMeta> {
        match body.upload(SINGLE_PUT_MAX).await? {
            Upload::Single(data) => self.put_single(key, data, options).await,
            Upload::Parts(body) => self.put_multipart(key, body, options).await,
        }
    }

    async fn get(&self, key: &str, options: &GetOptions) -> Result<GetResult> {
        let out = self
            .client()
            .await
            .get_object()
            .bucket(&self.name)
            .key(key)
            .set_range(options.range.map(range_header))
            .set_if_none_match(
                options
                    .if_none_match
                    .as_ref()
                    .map(|e| e.as_str().to_owned()),
            )
            .set_if_match(options.if_match.as_ref().map(|e| e.as_str().to_owned()))
            .send()
            .await
            .map_err(from_sdk)?;
        let length = out
            .content_length
            .and_then(|l| u64::try_from(l).ok())
            .unwrap_or(0);
        let range = out
            .content_range
            .as_deref()
            .and_then(parse_content_range)
            .unwrap_or(0..length);
        let total = out
            .content_range
            .as_deref()
            .and_then(|r| r.rsplit_once('/'))
            .and_then(|(_, t)| t.parse().ok())
            .unwrap_or(length);
        let meta = ObjectMeta::new(key, total, ETag::new(out.e_tag.unwrap_or_default()))
            .with_last_modified(system_time(out.last_modified.as_ref()))
            .with_content_type(out.content_type)
            .with_metadata(out.metadata.unwrap_or_default().into_iter().collect());
        let stream = futures::stream::unfold(out.body, |mut body| async move {
            match body.try_next().await {
                Ok(Some(chunk)) => Some((Ok(chunk), body)),
                Ok(None) => None,
                Err(e) => Some((
                    Err(
                        Error::new(ErrorKind::Unavailable, format!("reading the S3 body: {e}"))
                            .with_source(e),
                    ),
                    body,
                )),
            }
        });
        Ok(GetResult::new(
            meta,
            range.clone(),
            Body::from_stream(stream, Some(range.end - range.start)),
        ))
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta> {
        let out = self
            .client()
            .await
            .head_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
            .map_err(from_sdk)?;
        Ok(ObjectMeta::new(
            key,
            out.content_length
                .and_then(|l| u64::try_from(l).ok())
                .unwrap_or(0),
            ETag::new(out.e_tag.unwrap_or_default()),
        )
        .with_last_modified(system_time(out.last_modified.as_ref()))
        .with_content_type(out.content_type)
        .with_metadata(out.metadata.unwrap_or_default().into_iter().collect()))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.client()
            .await
            .delete_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
            .map_err(from_sdk)?;
        Ok(())
    }

    async fn list(&self, options: &ListOptions) -> Result<ListPage> {
        let out = self
            .client()
            .await
            .list_objects_v2()
            .bucket(&self.name)
            .set_prefix(options.prefix.clone())
            .set_delimiter(options.delimiter.clone())
            .set_max_keys(options.page_size.and_then(|n| i32::try_from(n).ok()))
            .set_continuation_token(options.page_token.clone())
            // Keys XML cannot carry come back URL-encoded (decoded below) instead of failing.
            .encoding_type(aws_sdk_s3::types::EncodingType::Url)
            .send()
            .await
            .map_err(from_sdk)?;
        let objects = out
            .contents
            .unwrap_or_default()
            .into_iter()
            .map(|o| {
                ObjectMeta::new(
                    url_decode(&o.key.unwrap_or_default()),
                    o.size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                    ETag::new(o.e_tag.unwrap_or_default()),
                )
                .with_last_modified(system_time(o.last_modified.as_ref()))
            })
            .collect();
        let prefixes = out
            .common_prefixes
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.prefix)
            .map(|p| url_decode(&p))
            .collect();
        let next = if out.is_truncated == Some(true) {
            out.next_continuation_token
        } else {
            None
        };
        Ok(ListPage::new(objects, prefixes, next))
    }

    async fn copy(&self, from: &str, to: &str, condition: &WriteCondition) -> Result<ObjectMeta> {
        let mut req = self
            .client()
            .await
            .copy_object()
            .bucket(&self.name)
            .key(to)
            .copy_source(copy_source(&self.name, from))
            .metadata_directive(MetadataDirective::Copy);
        let (if_none_match, if_match) = condition_headers(condition);
        req = req.set_if_none_match(if_none_match).set_if_match(if_match);
        // The condition's meaning of a failure is applied by `Bucket`.
        req.send().await.map_err(from_sdk)?;
        self.head(to).await
    }
}
