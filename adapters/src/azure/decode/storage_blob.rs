//! Blob Storage events of Event Grid as the portable blob event of a bound bucket.

use cloudport_core::event::BlobEvent;
use cloudport_core::export::cloudevents::{self, AttributesReader};
use serde_json::Value;

use super::{EVENT_GRID_BLOB_CREATED, EVENT_GRID_BLOB_DELETED};

/// The `api` values of a `BlobCreated` that mean the blob is completely written: Microsoft's own
/// filter for "a Block Blob is completely committed"
/// (<https://learn.microsoft.com/azure/event-grid/event-schema-blob-storage#list-of-events-for-blob-rest-apis>).
const COMMITTED_WRITE_APIS: &[&str] = &["PutBlob", "PutBlockList", "CopyBlob", "FlushWithClose"];

/// The event's data as JSON (`Null` when it has none or it is not JSON).
fn data_json(event: &cloudevents::Event) -> Value {
    match event.data() {
        Some(cloudevents::Data::Json(v)) => Some(v.clone()),
        Some(cloudevents::Data::String(s)) => serde_json::from_str(s).ok(),
        Some(cloudevents::Data::Binary(b)) => serde_json::from_slice(b).ok(),
        None => None,
    }
    .unwrap_or(Value::Null)
}

/// A Blob Storage event of Event Grid (`Microsoft.Storage.BlobCreated` / `BlobDeleted`, either
/// schema): the account (from the `source`/`topic`, the storage account's resource id), the
/// container and the blob name (from the `subject`,
/// `/blobServices/default/containers/<container>/blobs/<name>`), and what `data` says of the blob.
/// Source: <https://learn.microsoft.com/azure/event-grid/event-schema-blob-storage>.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageBlobEvent {
    /// Created (`BlobCreated`) or deleted (`BlobDeleted`).
    pub created: bool,
    /// The storage account's name, when the source names one.
    pub account: Option<String>,
    /// The container.
    pub container: String,
    /// The blob's name in the container.
    pub key: String,
}

impl StorageBlobEvent {
    /// The blob of a storage blob event; `None` for any other event, or one whose subject names
    /// no blob.
    ///
    /// ```
    /// use cloudport_adapters::azure::decode::StorageBlobEvent;
    /// use cloudport_core::export::cloudevents::{EventBuilder, EventBuilderV10};
    /// let ev = EventBuilderV10::new().id("1").ty("Microsoft.Storage.BlobCreated")
    ///     .source("/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/acct")
    ///     .subject("/blobServices/default/containers/photos/blobs/2026/a b.png").build().unwrap();
    /// let blob = StorageBlobEvent::of(&ev).unwrap();
    /// assert_eq!((blob.account.as_deref(), blob.container.as_str(), blob.key.as_str()),
    ///            (Some("acct"), "photos", "2026/a b.png"));
    /// ```
    pub fn of(event: &cloudevents::Event) -> Option<Self> {
        let created = match event.ty() {
            EVENT_GRID_BLOB_CREATED => true,
            EVENT_GRID_BLOB_DELETED => false,
            _ => return None,
        };
        // Only a committed write is the portable "created": Data Lake's `CreateFile` (an empty
        // file before its data) and a copy that has only started also raise `BlobCreated`.
        if created
            && data_json(event)
                .get("api")
                .and_then(Value::as_str)
                .is_some_and(|api| !COMMITTED_WRITE_APIS.contains(&api))
        {
            return None;
        }
        let path = event
            .subject()?
            .trim_start_matches('/')
            .strip_prefix("blobServices/default/containers/")?;
        let (container, key) = path.split_once("/blobs/")?;
        if container.is_empty() || key.is_empty() {
            return None;
        }
        let source = event.source().as_str();
        let account = source
            .split_once("/storageAccounts/")
            .map(|(_, rest)| rest.split('/').next().unwrap_or_default().to_owned())
            .filter(|a| !a.is_empty());
        Some(Self {
            created,
            account,
            container: container.to_owned(),
            key: key.to_owned(),
        })
    }

    /// The portable blob event of logical bucket `bucket` (source: the bucket's binding URL):
    /// size, content type and ETag from `data` (`contentLength`, `contentType`, `eTag`), time
    /// from the event. Its id is `<container>/<key>/<ETag>` for a write — the id the blob
    /// trigger gives the same write — and `<container>/<key>/<sequencer>` (else the event's id)
    /// for a deletion.
    pub fn to_blob_event(
        &self,
        event: &cloudevents::Event,
        bucket: &str,
        source: &str,
    ) -> cloudevents::Event {
        let data = data_json(event);
        let text = |k: &str| {
            data.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let etag = text("eTag").map(cloudport_core::event::quoted_etag);
        let version = if self.created {
            etag.as_deref().map(|e| e.trim_matches('"').to_owned())
        } else {
            None
        }
        .or_else(|| text("sequencer").map(str::to_owned))
        .unwrap_or_else(|| event.id().to_owned());
        let id = format!("{}/{}/{version}", self.container, self.key);
        let blob = if self.created {
            BlobEvent::created(bucket, &self.key)
                .with_size(data.get("contentLength").and_then(Value::as_u64))
                .with_content_type(text("contentType").map(str::to_owned))
        } else {
            BlobEvent::deleted(bucket, &self.key)
        };
        blob.with_etag(etag)
            .with_time(event.time().copied())
            .to_cloudevent(source, &id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::decode::event_grid::tests::{blob_created, cloudevent};
    use cloudport_core::event::{BLOB_CREATED, BLOB_DELETED, Event};

    #[test]
    fn blob_events_become_portable_blob_events() {
        let created = cloudevent(&blob_created());
        let blob = StorageBlobEvent::of(&created).unwrap();
        assert_eq!(blob.account.as_deref(), Some("my-storage-account"));
        assert_eq!(
            (blob.container.as_str(), blob.key.as_str()),
            ("test-container", "new-file.txt")
        );
        let portable = blob.to_blob_event(
            &created,
            "uploads",
            "azblob://my-storage-account/test-container",
        );
        assert_eq!(portable.ty(), BLOB_CREATED);
        assert_eq!(
            portable.id(),
            "test-container/new-file.txt/0x8D4BCC2E4835CD0"
        );
        let b = Event::<BlobEvent>::try_from(portable).unwrap();
        assert_eq!(b.data().bucket, "uploads");
        assert_eq!(b.data().size, Some(524_288));
        assert_eq!(b.data().etag.as_deref(), Some("\"0x8D4BCC2E4835CD0\""));
        assert_eq!(b.data().content_type.as_deref(), Some("text/plain"));

        let mut deleted = blob_created();
        deleted["eventType"] = EVENT_GRID_BLOB_DELETED.into();
        let deleted = cloudevent(&deleted);
        let blob = StorageBlobEvent::of(&deleted).unwrap();
        let portable = blob.to_blob_event(&deleted, "uploads", "s");
        assert_eq!(portable.ty(), BLOB_DELETED);
        assert_eq!(
            portable.id(),
            "test-container/new-file.txt/00000000000004420000000000028963"
        );

        // Other events, and blob events whose subject names no blob, are not blob events.
        let mut other = blob_created();
        other["eventType"] = "Microsoft.Storage.BlobTierChanged".into();
        assert!(StorageBlobEvent::of(&cloudevent(&other)).is_none());
        let mut no_blob = blob_created();
        no_blob["subject"] = "/blobServices/default/containers/c".into();
        assert!(StorageBlobEvent::of(&cloudevent(&no_blob)).is_none());
    }

    #[test]
    fn only_a_committed_write_is_created() {
        // Data Lake's CreateFile (an empty file, before FlushWithClose) stays Event Grid's event.
        let mut create_file = blob_created();
        create_file["data"]["api"] = "CreateFile".into();
        assert!(StorageBlobEvent::of(&cloudevent(&create_file)).is_none());
        for api in ["PutBlob", "PutBlockList", "CopyBlob", "FlushWithClose"] {
            let mut write = blob_created();
            write["data"]["api"] = api.into();
            assert!(StorageBlobEvent::of(&cloudevent(&write)).is_some(), "{api}");
        }
    }
}
