//! Buckets on Azure Blob Storage (a bucket is a container): ETag conditions (`If-None-Match: *`,
//! `If-Match`), ranges, delimiter listing with markers, block upload for large or unsized bodies,
//! server-side copy.
//!
//! The GA blob crate lists flat only; a delimiter listing groups names on the client side and
//! carries its position in its own page token (ADR 0005).

use std::collections::{BTreeMap, HashMap};
use std::num::NonZero;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use azure_core::http::Etag;
use azure_storage_blob::models::{
    BlobClientDeleteOptions, BlobClientDownloadOptions, BlobClientGetPropertiesResultHeaders,
    BlobClientStartCopyFromUrlOptions, BlobClientUploadOptions,
    BlobContainerClientListBlobsOptions, BlockBlobClientCommitBlockListOptions,
    BlockBlobClientCommitBlockListResultHeaders, BlockLookupList, CopyStatus, HttpRange,
    ListBlobsIncludeItem,
};
use azure_storage_blob::{BlobClient, BlobContainerClient};
use base64::Engine;
use bytes::{Bytes, BytesMut};
use cloudport_core::blob::Upload;
use cloudport_core::{
    BlobCapabilities, BlobDriver, Body, ByteRange, ETag, Error, ErrorKind, GetOptions, GetResult,
    ListOptions, ListPage, ObjectMeta, PutOptions, Result, WriteCondition,
};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::config::{Account, Refreshing, Service};
use crate::error::{created, from_sdk};

/// Bodies up to this size go up in one Put Blob; larger or unsized ones as staged blocks.
const SINGLE_PUT_MAX: u64 = 16 * 1024 * 1024;
/// Staged block size for unsized bodies.
const BLOCK_SIZE: usize = 8 * 1024 * 1024;
/// Names fetched per flat-listing call while grouping a delimiter listing.
const FLAT_PAGE: i32 = 1000;

/// An Azure Blob Storage container.
#[derive(Debug)]
pub struct AzureContainer {
    account: Arc<Account>,
    name: String,
    client: Refreshing<BlobContainerClient>,
    capabilities: BlobCapabilities,
}

fn system_time(t: Option<time::OffsetDateTime>) -> Option<SystemTime> {
    t.map(SystemTime::from)
}

fn etag_of(e: Option<Etag>) -> ETag {
    ETag::new(e.map(|e| e.to_string()).unwrap_or_default())
}

/// The `If-None-Match` and `If-Match` values of a write condition.
fn condition_etags(condition: &WriteCondition) -> (Option<Etag>, Option<Etag>) {
    match condition {
        WriteCondition::None => (None, None),
        WriteCondition::IfNotExists => (Some(Etag::from("*")), None),
        WriteCondition::IfMatch(etag) => (None, Some(Etag::from(etag.as_str()))),
    }
}

/// Parses `bytes START-END/TOTAL`.
fn parse_content_range(header: &str) -> Option<(std::ops::Range<u64>, u64)> {
    let spec = header.strip_prefix("bytes ")?;
    let (range, total) = spec.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let (start, end): (u64, u64) = (start.parse().ok()?, end.parse().ok()?);
    Some((start..end + 1, total.parse().ok()?))
}

/// Where a grouped (delimiter) listing resumes: the flat marker of the page it stopped in, and
/// the last name or common prefix it returned.
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
struct ListPosition {
    #[serde(rename = "m", skip_serializing_if = "Option::is_none")]
    marker: Option<String>,
    #[serde(rename = "a")]
    after: String,
    #[serde(rename = "p")]
    after_is_prefix: bool,
}

impl ListPosition {
    fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    fn decode(token: &str) -> Result<Self> {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or_else(|| Error::invalid("not a page token of this container's listing"))
    }

    /// Whether `name` was already returned before this position.
    fn covers(&self, name: &str) -> bool {
        name <= self.after.as_str() || (self.after_is_prefix && name.starts_with(&self.after))
    }
}

impl AzureContainer {
    pub(crate) fn new(account: Arc<Account>, name: String) -> Self {
        Self {
            account,
            name,
            client: Refreshing::new(),
            capabilities: BlobCapabilities::default(),
        }
    }

    /// The SDK client (with a fresh SAS, or the identity's token credential): the escape hatch.
    pub fn client(&self) -> Result<Arc<BlobContainerClient>> {
        self.client.get(|| {
            let (url, credential) = self.account.client_url(Service::Blob, &[&self.name])?;
            BlobContainerClient::new(url, credential, Some(crate::config::blob_options()))
                .map_err(from_sdk)
        })
    }

    /// Creates the container; an existing one is fine.
    pub async fn create(&self) -> Result<()> {
        created(
            self.client()?
                .create(None)
                .await
                .map(drop)
                .map_err(from_sdk),
        )
    }

    fn blob(&self, key: &str) -> Result<BlobClient> {
        Ok(self.client()?.blob_client(key))
    }

    async fn put_single(&self, key: &str, data: Bytes, options: &PutOptions) -> Result<ObjectMeta> {
        let size = data.len() as u64;
        let (if_none_match, if_match) = condition_etags(&options.condition);
        let native = BlobClientUploadOptions {
            blob_content_type: options.content_type.clone(),
            metadata: Some(metadata_map(&options.metadata)),
            if_none_match,
            if_match,
            // Set, so the SDK does not ask the OS for the core count on every upload.
            parallel: NonZero::new(4),
            ..Default::default()
        };
        let out = self
            .blob(key)?
            .upload(data.into(), Some(native))
            .await
            .map_err(from_sdk)?;
        Ok(written(key, size, out.etag, out.last_modified, options))
    }

    /// Stages blocks as the body streams in, then commits them under the write condition (so a
    /// failed condition leaves the blob untouched; uncommitted blocks expire on their own).
    async fn put_blocks(&self, key: &str, body: Body, options: &PutOptions) -> Result<ObjectMeta> {
        let blob = self.blob(key)?.block_blob_client();
        let mut stream = body.into_stream();
        let mut buffer = BytesMut::new();
        let mut ids: Vec<Vec<u8>> = Vec::new();
        let mut size = 0u64;
        let mut done = false;
        while !done {
            match stream.next().await {
                Some(chunk) => buffer.extend_from_slice(&chunk?),
                None => done = true,
            }
            while buffer.len() >= BLOCK_SIZE || (done && !buffer.is_empty()) {
                let n = buffer.len().min(BLOCK_SIZE);
                let block = buffer.split_to(n).freeze();
                // Block ids must be the same length for one blob: a fixed-width counter.
                let id = format!("{:08}", ids.len()).into_bytes();
                blob.stage_block(&id, block.len() as u64, block.into(), None)
                    .await
                    .map_err(from_sdk)?;
                size += n as u64;
                ids.push(id);
            }
        }
        let (if_none_match, if_match) = condition_etags(&options.condition);
        let native = BlockBlobClientCommitBlockListOptions {
            blob_content_type: options.content_type.clone(),
            metadata: Some(metadata_map(&options.metadata)),
            if_none_match,
            if_match,
            ..Default::default()
        };
        let list = BlockLookupList {
            latest: Some(ids),
            ..Default::default()
        };
        let rsp = blob
            .commit_block_list(list.try_into().map_err(from_sdk)?, Some(native))
            .await
            .map_err(from_sdk)?;
        let etag = rsp.etag().map_err(from_sdk)?;
        let modified = rsp.last_modified().map_err(from_sdk)?;
        Ok(written(key, size, etag, modified, options))
    }

    /// One page of the flat listing, from `marker`.
    async fn flat_page(
        &self,
        prefix: Option<&str>,
        marker: Option<String>,
        max: i32,
    ) -> Result<(Vec<ObjectMeta>, Option<String>)> {
        let options = BlobContainerClientListBlobsOptions {
            prefix: prefix.map(str::to_owned),
            marker,
            maxresults: Some(max),
            include: Some(vec![ListBlobsIncludeItem::Metadata]),
            ..Default::default()
        };
        let mut pages = self
            .client()?
            .list_blobs(Some(options))
            .map_err(from_sdk)?
            .into_pages();
        let Some(page) = pages.try_next().await.map_err(from_sdk)? else {
            return Ok((Vec::new(), None));
        };
        let page = page.into_model().map_err(from_sdk)?;
        let objects = page
            .blob_items
            .into_iter()
            .map(|item| {
                let name = item.name.ok_or_else(|| {
                    Error::new(
                        ErrorKind::Malformed,
                        "the blob listing has an item without a name",
                    )
                })?;
                let props = item.properties.unwrap_or_default();
                let metadata = item
                    .metadata
                    .and_then(|m| m.values)
                    .unwrap_or_default()
                    .into_iter()
                    .collect();
                Ok(
                    ObjectMeta::new(name, props.content_length.unwrap_or(0), etag_of(props.etag))
                        .with_last_modified(system_time(props.last_modified))
                        .with_content_type(props.content_type)
                        .with_metadata(metadata),
                )
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((objects, page.next_marker.filter(|m| !m.is_empty())))
    }

    /// A delimiter listing, grouped here from flat pages (see the module docs).
    async fn list_grouped(
        &self,
        prefix: &str,
        delimiter: &str,
        limit: usize,
        position: Option<ListPosition>,
    ) -> Result<ListPage> {
        let mut marker = position.as_ref().and_then(|p| p.marker.clone());
        let mut objects = Vec::new();
        let mut prefixes: Vec<String> = Vec::new();
        let mut last: Option<(String, bool)> = position.map(|p| (p.after, p.after_is_prefix));
        loop {
            let page_marker = marker.clone();
            let (page, next) = self
                .flat_page(Some(prefix), marker.take(), FLAT_PAGE)
                .await?;
            for object in page {
                if let Some((after, is_prefix)) = &last {
                    let pos = ListPosition {
                        marker: None,
                        after: after.clone(),
                        after_is_prefix: *is_prefix,
                    };
                    if pos.covers(&object.key) {
                        continue;
                    }
                }
                if objects.len() + prefixes.len() == limit {
                    let (after, after_is_prefix) = last.unwrap_or_default();
                    let token = ListPosition {
                        marker: page_marker,
                        after,
                        after_is_prefix,
                    };
                    return Ok(ListPage::new(objects, prefixes, Some(token.encode())));
                }
                let rest = &object.key[prefix.len()..];
                match rest.find(delimiter) {
                    Some(at) => {
                        let common = format!("{prefix}{}", &rest[..at + delimiter.len()]);
                        last = Some((common.clone(), true));
                        prefixes.push(common);
                    }
                    None => {
                        last = Some((object.key.clone(), false));
                        objects.push(object);
                    }
                }
            }
            match next {
                Some(m) => marker = Some(m),
                None => return Ok(ListPage::new(objects, prefixes, None)),
            }
        }
    }

    async fn wait_for_copy(&self, to: &str) -> Result<ObjectMeta> {
        // Copies within one account finish at once; poll briefly for the rare pending one.
        for attempt in 0..50u32 {
            let rsp = self
                .blob(to)?
                .get_properties(None)
                .await
                .map_err(from_sdk)?;
            match rsp.copy_status().map_err(from_sdk)? {
                Some(CopyStatus::Pending) => {
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt.min(10) + 1)))
                        .await;
                }
                Some(CopyStatus::Success) | None => return self.head(to).await,
                Some(other) => {
                    return Err(Error::new(
                        ErrorKind::Unavailable,
                        format!("server-side copy ended {other:?}"),
                    ));
                }
            }
        }
        Err(Error::new(
            ErrorKind::Timeout,
            "server-side copy still pending",
        ))
    }
}

fn metadata_map(metadata: &BTreeMap<String, String>) -> HashMap<String, String> {
    metadata
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The metadata of a blob just written.
fn written(
    key: &str,
    size: u64,
    etag: Option<Etag>,
    modified: Option<time::OffsetDateTime>,
    options: &PutOptions,
) -> ObjectMeta {
    ObjectMeta::new(key, size, etag_of(etag))
        .with_last_modified(system_time(modified))
        .with_content_type(options.content_type.clone())
        .with_metadata(options.metadata.clone())
}

fn http_range(range: ByteRange, size: Option<u64>) -> Option<HttpRange> {
    match range {
        ByteRange::Bounded { start, end } => Some(HttpRange::from(start..end)),
        ByteRange::From(start) => Some(HttpRange::from(start..)),
        ByteRange::Suffix(_) => range.resolve(size?).map(HttpRange::from),
    }
}

#[async_trait]
impl BlobDriver for AzureContainer {
    fn provider(&self) -> &'static str {
        "azure"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> &BlobCapabilities {
        &self.capabilities
    }

    async fn put(&self, key: &str, body: Body, options: &PutOptions) -> Result<ObjectMeta> {
        // `Bucket` maps 409 `BlobAlreadyExists` / 412 to what the condition means.
        match body.upload(SINGLE_PUT_MAX).await? {
            Upload::Single(data) => self.put_single(key, data, options).await,
            Upload::Parts(body) => self.put_blocks(key, body, options).await,
        }
    }

    async fn get(&self, key: &str, options: &GetOptions) -> Result<GetResult> {
        // Azure has no suffix ranges: resolve one against the blob's size first.
        let size = match options.range {
            Some(ByteRange::Suffix(_)) => Some(self.head(key).await?.size),
            _ => None,
        };
        let range = match options.range {
            Some(r) => Some(http_range(r, size).ok_or_else(|| {
                Error::new(ErrorKind::InvalidArgument, "the range is not satisfiable")
            })?),
            None => None,
        };
        let native = BlobClientDownloadOptions {
            range,
            if_match: options.if_match.as_ref().map(|e| Etag::from(e.as_str())),
            if_none_match: options
                .if_none_match
                .as_ref()
                .map(|e| Etag::from(e.as_str())),
            parallel: NonZero::new(1),
            ..Default::default()
        };
        let out = self
            .blob(key)?
            .download(Some(native))
            .await
            .map_err(from_sdk)?;
        let props = &out.properties;
        let length = props.content_length.unwrap_or(0);
        let content_range =
            out.headers
                .get_optional_str(&azure_core::http::headers::HeaderName::from_static(
                    "content-range",
                ));
        // No Content-Range: the whole blob. One that cannot be read is not guessed at.
        let (range, total) = match content_range {
            None => (0..length, length),
            Some(header) => parse_content_range(header).ok_or_else(|| {
                Error::new(
                    ErrorKind::Malformed,
                    format!("the ranged read answered an unreadable Content-Range {header:?}"),
                )
            })?,
        };
        // Azure answers 416 to a range that starts at or past the end; the SDK's empty-blob
        // handling can turn that into an empty body. Keep the portable answer.
        let start = match options.range {
            Some(ByteRange::Bounded { start, .. } | ByteRange::From(start)) => Some(start),
            _ => None,
        };
        if let Some(start) = start
            && start >= total
        {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("the range starts at {start}, past the blob's {total} bytes"),
            ));
        }
        let meta = ObjectMeta::new(key, total, etag_of(props.etag.clone()))
            .with_last_modified(system_time(props.last_modified))
            .with_content_type(props.content_type.clone())
            .with_metadata(props.metadata.clone().into_iter().collect());
        let stream = out.body.map(|chunk| chunk.map_err(from_sdk));
        Ok(GetResult::new(
            meta,
            range.clone(),
            Body::from_stream(stream, Some(range.end - range.start)),
        ))
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta> {
        let rsp = self
            .blob(key)?
            .get_properties(None)
            .await
            .map_err(from_sdk)?;
        Ok(ObjectMeta::new(
            key,
            rsp.content_length().map_err(from_sdk)?.unwrap_or(0),
            etag_of(rsp.etag().map_err(from_sdk)?),
        )
        .with_last_modified(system_time(rsp.last_modified().map_err(from_sdk)?))
        .with_content_type(rsp.content_type().map_err(from_sdk)?)
        .with_metadata(rsp.metadata().map_err(from_sdk)?.into_iter().collect()))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        match self
            .blob(key)?
            .delete(Some(BlobClientDeleteOptions::default()))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match from_sdk(e) {
                e if e.kind() == ErrorKind::NotFound && e.message().contains("BlobNotFound") => {
                    Ok(())
                }
                e => Err(e),
            },
        }
    }

    async fn list(&self, options: &ListOptions) -> Result<ListPage> {
        let limit = options.page_size.unwrap_or(self.capabilities.max_list_page);
        let prefix = options.prefix.as_deref().unwrap_or("");
        match options.delimiter.as_deref() {
            Some(delimiter) => {
                let position = options
                    .page_token
                    .as_deref()
                    .map(ListPosition::decode)
                    .transpose()?;
                self.list_grouped(prefix, delimiter, limit, position).await
            }
            None => {
                let max = i32::try_from(limit).unwrap_or(FLAT_PAGE);
                let (objects, next) = self
                    .flat_page(Some(prefix), options.page_token.clone(), max)
                    .await?;
                Ok(ListPage::new(objects, Vec::new(), next))
            }
        }
    }

    async fn copy(&self, from: &str, to: &str, condition: &WriteCondition) -> Result<ObjectMeta> {
        // A copy within the account: the source carries the SAS of a key-based connection; an
        // identity-based one authorizes the source with the same token as the copy request.
        let source = self
            .account
            .client_url(Service::Blob, &[&self.name, from])?
            .0
            .to_string();
        let (if_none_match, if_match) = condition_etags(condition);
        let native = BlobClientStartCopyFromUrlOptions {
            if_none_match,
            if_match,
            ..Default::default()
        };
        self.blob(to)?
            .start_copy_from_url(source, Some(native))
            .await
            .map_err(from_sdk)?;
        self.wait_for_copy(to).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_positions_round_trip_and_reject_garbage() {
        let p = ListPosition {
            marker: Some("m".into()),
            after: "a/".into(),
            after_is_prefix: true,
        };
        assert_eq!(ListPosition::decode(&p.encode()).unwrap(), p);
        assert!(p.covers("a/b") && p.covers("0") && !p.covers("b"));
        assert_eq!(
            ListPosition::decode("%%%").unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }

    #[test]
    fn content_range_gives_range_and_total() {
        assert_eq!(parse_content_range("bytes 2-4/10"), Some((2..5, 10)));
        assert_eq!(parse_content_range("bogus"), None);
    }
}
