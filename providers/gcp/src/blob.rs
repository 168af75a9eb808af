//! Buckets on Cloud Storage (JSON API, `gcloud-storage`): generation preconditions for
//! create-only (`ifGenerationMatch=0`) and compare-and-swap (`ifGenerationMatch=N`), ranged reads,
//! delimiter listing with page tokens, resumable uploads for large or unsized bodies.
//!
//! An object's portable ETag is its **generation** (a decimal string): it changes on every write,
//! and generation preconditions are what Cloud Storage enforces on writes, reads and copies.

use std::collections::HashMap;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use cloudport_core::blob::Upload;
use cloudport_core::{
    BlobCapabilities, BlobDriver, Body, ETag, Error, ErrorKind, GetOptions, GetResult, ListOptions,
    ListPage, ObjectMeta, PutOptions, Result, WriteCondition,
};
use futures::{StreamExt, TryStreamExt};
use gcloud_storage::client::{Client, ClientConfig};
use gcloud_storage::http::objects::Object;
use gcloud_storage::http::objects::copy::CopyObjectRequest;
use gcloud_storage::http::objects::delete::DeleteObjectRequest;
use gcloud_storage::http::objects::download::Range;
use gcloud_storage::http::objects::get::GetObjectRequest;
use gcloud_storage::http::objects::list::ListObjectsRequest;
use gcloud_storage::http::objects::upload::{UploadObjectRequest, UploadType};
use gcloud_storage::http::resumable_upload_client::{ChunkSize, UploadStatus};
use tokio::sync::OnceCell;

use crate::Gcp;
use crate::error::from_storage;

/// Bodies up to this size go up in one multipart upload; larger or unsized ones resumably.
const SINGLE_PUT_MAX: u64 = 16 * 1024 * 1024;
/// Resumable chunk size (a multiple of 256 KiB, as Cloud Storage requires).
const CHUNK: usize = 8 * 1024 * 1024;

/// A Cloud Storage bucket.
pub struct GcsBucket {
    gcp: Gcp,
    name: String,
    client: OnceCell<Client>,
    capabilities: BlobCapabilities,
}

impl std::fmt::Debug for GcsBucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcsBucket")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn system_time(t: Option<time::OffsetDateTime>) -> Option<SystemTime> {
    t.map(SystemTime::from)
}

fn meta(object: Object) -> ObjectMeta {
    ObjectMeta::new(
        object.name,
        u64::try_from(object.size).unwrap_or(0),
        ETag::new(object.generation.to_string()),
    )
    .with_last_modified(system_time(object.updated))
    .with_content_type(object.content_type)
    .with_metadata(object.metadata.unwrap_or_default().into_iter().collect())
}

/// The generation an ETag names; anything else can never match.
fn generation(etag: &ETag) -> Result<i64> {
    etag.as_str().parse().map_err(|_| {
        Error::new(
            ErrorKind::PreconditionFailed,
            format!("{:?} is not a Cloud Storage generation", etag.as_str()),
        )
    })
}

/// `ifGenerationMatch` for a write condition (0 = the object must not exist).
fn if_generation(condition: &WriteCondition) -> Result<Option<i64>> {
    Ok(match condition {
        WriteCondition::None => None,
        WriteCondition::IfNotExists => Some(0),
        WriteCondition::IfMatch(etag) => Some(generation(etag)?),
    })
}

impl GcsBucket {
    pub(crate) fn new(gcp: Gcp, name: String) -> Self {
        Self {
            gcp,
            name,
            client: OnceCell::new(),
            capabilities: BlobCapabilities::default(),
        }
    }

    /// The Cloud Storage client (built on first use): the escape hatch.
    pub async fn client(&self) -> Result<&Client> {
        self.client
            .get_or_try_init(|| async {
                crate::config::ensure_crypto_provider();
                let config = match &self.gcp.settings().storage_emulator {
                    Some(endpoint) => ClientConfig {
                        storage_endpoint: endpoint.clone(),
                        ..ClientConfig::default()
                    }
                    .anonymous(),
                    None => ClientConfig::default().with_auth().await.map_err(|e| {
                        Error::new(
                            ErrorKind::Unauthenticated,
                            format!("Cloud Storage credentials: {e}"),
                        )
                    })?,
                };
                Ok(Client::new(config))
            })
            .await
    }

    fn upload_meta(&self, key: &str, options: &PutOptions) -> Object {
        Object {
            name: key.to_owned(),
            bucket: self.name.clone(),
            content_type: Some(
                options
                    .content_type
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".to_owned()),
            ),
            metadata: (!options.metadata.is_empty()).then(|| {
                options
                    .metadata
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<HashMap<_, _>>()
            }),
            ..Object::default()
        }
    }

    fn upload_request(&self, options: &PutOptions) -> Result<UploadObjectRequest> {
        Ok(UploadObjectRequest {
            bucket: self.name.clone(),
            if_generation_match: if_generation(&options.condition)?,
            ..UploadObjectRequest::default()
        })
    }

    async fn put_single(&self, key: &str, data: Bytes, options: &PutOptions) -> Result<ObjectMeta> {
        // Multipart (metadata + media in one request): the upload type whose preconditions every
        // Cloud Storage emulator honours.
        let object = self
            .client()
            .await?
            .upload_object(
                &self.upload_request(options)?,
                data,
                &UploadType::Multipart(Box::new(self.upload_meta(key, options))),
            )
            .await
            .map_err(from_storage)?;
        self.ensure_content_type(object, options).await
    }

    /// Cloud Storage takes a multipart upload's content type from its metadata part;
    /// fake-gcs-server 1.54 takes it from the media part, which `gcloud-storage` sends untyped.
    /// Where the stored type differs from the one asked for, set it on exactly the generation
    /// just written (its generation, the portable ETag, is unchanged). On GCS this never runs.
    async fn ensure_content_type(
        &self,
        object: Object,
        options: &PutOptions,
    ) -> Result<ObjectMeta> {
        let Some(wanted) = &options.content_type else {
            return Ok(meta(object));
        };
        if object.content_type.as_deref() == Some(wanted.as_str()) {
            return Ok(meta(object));
        }
        let request = gcloud_storage::http::objects::patch::PatchObjectRequest {
            bucket: self.name.clone(),
            object: object.name.clone(),
            if_generation_match: Some(object.generation),
            if_metageneration_match: Some(object.metageneration),
            metadata: Some(Object {
                name: object.name.clone(),
                bucket: self.name.clone(),
                content_type: Some(wanted.clone()),
                metadata: object.metadata.clone(),
                ..Object::default()
            }),
            ..Default::default()
        };
        let client = self.client().await?;
        match client.patch_object(&request).await {
            Ok(patched) => Ok(meta(patched)),
            // fake-gcs-server answers a patch with an object shape of its own: read it back.
            Err(gcloud_storage::http::Error::HttpClient(e)) if e.is_decode() => {
                self.head(&object.name).await
            }
            Err(e) => Err(from_storage(e)),
        }
    }

    /// A resumable upload in 8 MiB chunks; the session is cancelled if anything fails.
    async fn put_resumable(
        &self,
        key: &str,
        body: Body,
        options: &PutOptions,
    ) -> Result<ObjectMeta> {
        let session = self
            .client()
            .await?
            .prepare_resumable_upload(
                &self.upload_request(options)?,
                &UploadType::Multipart(Box::new(self.upload_meta(key, options))),
            )
            .await
            .map_err(from_storage)?;
        let mut stream = body.into_stream();
        let mut buffer = BytesMut::new();
        let mut sent = 0u64;
        let mut done = false;
        let result: Result<ObjectMeta> = async {
            loop {
                while !done && buffer.len() < CHUNK {
                    match stream.next().await {
                        Some(chunk) => buffer.extend_from_slice(&chunk?),
                        None => done = true,
                    }
                }
                let n = if done { buffer.len() } else { CHUNK };
                let chunk = buffer.split_to(n).freeze();
                let total = done.then_some(sent + n as u64);
                let size = if n == 0 {
                    // An empty last chunk finalises the upload at `sent` bytes.
                    ChunkSize::new(sent, sent, Some(sent))
                } else {
                    ChunkSize::new(sent, sent + n as u64 - 1, total)
                };
                let status = session
                    .upload_multiple_chunk(chunk, &size)
                    .await
                    .map_err(from_storage)?;
                sent += n as u64;
                match status {
                    UploadStatus::Ok(object) => {
                        return self.ensure_content_type(object, options).await;
                    }
                    _ if done => {
                        return Err(Error::new(
                            ErrorKind::Unavailable,
                            "the resumable upload did not complete",
                        ));
                    }
                    _ => {}
                }
            }
        }
        .await;
        if result.is_err() {
            let _ = session.cancel().await;
        }
        result
    }

    fn get_request(&self, key: &str) -> GetObjectRequest {
        GetObjectRequest {
            bucket: self.name.clone(),
            object: key.to_owned(),
            ..GetObjectRequest::default()
        }
    }
}

#[async_trait]
impl BlobDriver for GcsBucket {
    fn provider(&self) -> &'static str {
        "gcp"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> &BlobCapabilities {
        &self.capabilities
    }

    async fn put(&self, key: &str, body: Body, options: &PutOptions) -> Result<ObjectMeta> {
        // `Bucket` maps a 412 to what the condition means.
        match body.upload(SINGLE_PUT_MAX).await? {
            Upload::Single(data) => self.put_single(key, data, options).await,
            Upload::Parts(body) => self.put_resumable(key, body, options).await,
        }
    }

    async fn get(&self, key: &str, options: &GetOptions) -> Result<GetResult> {
        let client = self.client().await?;
        let mut request = self.get_request(key);
        if let Some(etag) = &options.if_match {
            request.if_generation_match = Some(generation(etag)?);
        }
        if let Some(etag) = &options.if_none_match
            && let Ok(g) = etag.as_str().parse::<i64>()
        {
            request.if_generation_not_match = Some(g);
        }
        // Metadata first, under the same conditions, then the bytes of exactly that generation.
        let object = client.get_object(&request).await.map_err(from_storage)?;
        let meta = meta(object);
        // Cloud Storage answers these conditions itself (304 / 412); checking the generation
        // read as well keeps emulators that ignore them honest.
        if options.if_none_match.as_ref() == Some(&meta.etag) {
            return Err(Error::new(
                ErrorKind::NotModified,
                "the object is unchanged",
            ));
        }
        if let Some(etag) = &options.if_match
            && *etag != meta.etag
        {
            return Err(Error::new(
                ErrorKind::PreconditionFailed,
                "the object changed (if-match read)",
            ));
        }
        let range = match options.range {
            None => 0..meta.size,
            Some(r) => r.resolve(meta.size).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    format!("the range is not satisfiable for {} bytes", meta.size),
                )
            })?,
        };
        request.generation = meta.etag.as_str().parse().ok();
        let body = if range.is_empty() {
            Body::empty()
        } else {
            let native = Range(Some(range.start), Some(range.end - 1));
            let stream = client
                .download_streamed_object(&request, &native)
                .await
                .map_err(from_storage)?
                .map_err(from_storage);
            Body::from_stream(stream, Some(range.end - range.start))
        };
        Ok(GetResult::new(meta, range, body))
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta> {
        let object = self
            .client()
            .await?
            .get_object(&self.get_request(key))
            .await
            .map_err(from_storage)?;
        Ok(meta(object))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let request = DeleteObjectRequest {
            bucket: self.name.clone(),
            object: key.to_owned(),
            ..DeleteObjectRequest::default()
        };
        match self.client().await?.delete_object(&request).await {
            Ok(()) => Ok(()),
            Err(e) => match from_storage(e) {
                e if e.kind() == ErrorKind::NotFound => {
                    // Only a missing object is fine; a missing bucket is not.
                    self.client()
                        .await?
                        .get_bucket(&gcloud_storage::http::buckets::get::GetBucketRequest {
                            bucket: self.name.clone(),
                            ..Default::default()
                        })
                        .await
                        .map_err(from_storage)?;
                    Ok(())
                }
                e => Err(e),
            },
        }
    }

    async fn list(&self, options: &ListOptions) -> Result<ListPage> {
        let request = ListObjectsRequest {
            bucket: self.name.clone(),
            prefix: options.prefix.clone(),
            delimiter: options.delimiter.clone(),
            page_token: options.page_token.clone(),
            max_results: Some(
                i32::try_from(options.page_size.unwrap_or(self.capabilities.max_list_page))
                    .unwrap_or(1000),
            ),
            ..ListObjectsRequest::default()
        };
        let page = self
            .client()
            .await?
            .list_objects(&request)
            .await
            .map_err(from_storage)?;
        Ok(ListPage::new(
            page.items
                .unwrap_or_default()
                .into_iter()
                .map(meta)
                .collect(),
            page.prefixes.unwrap_or_default(),
            page.next_page_token.filter(|t| !t.is_empty()),
        ))
    }

    async fn copy(&self, from: &str, to: &str, condition: &WriteCondition) -> Result<ObjectMeta> {
        let request = CopyObjectRequest {
            source_bucket: self.name.clone(),
            source_object: from.to_owned(),
            destination_bucket: self.name.clone(),
            destination_object: to.to_owned(),
            if_generation_match: if_generation(condition)?,
            ..CopyObjectRequest::default()
        };
        let object = self
            .client()
            .await?
            .copy_object(&request)
            .await
            .map_err(from_storage)?;
        Ok(meta(object))
    }
}
