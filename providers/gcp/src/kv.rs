//! Key-value state on Firestore (the `firestore` crate): one document per key in a collection,
//! `update_time` preconditions as versions, TTL honoured on read, prefix scans as document-id
//! ranges.
//!
//! Document ids are `PARTITION~HEX`, HEX being the key's UTF-8 bytes in lowercase hex: Firestore
//! forbids `/` and some names in ids, and hex keeps both byte order and prefixes, so a scan is an
//! ordered `__name__` range. Fields: `v` (bytes) and, with a TTL, `expires_at` (a timestamp: give
//! the collection a Firestore TTL policy on `expires_at` to have expired entries deleted;
//! cloudport hides them on read either way). A version is the document's `update_time`.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use cloudport_core::{
    Error, ErrorKind, KvCapabilities, KvDriver, KvEntry, Precondition, Result, ScanPage, Version,
};
use firestore::gcloud_sdk::google::firestore::v1::{Document, Value, value::ValueType};
use firestore::gcloud_sdk::prost_types::Timestamp;
use firestore::{FirestoreDb, FirestoreDbOptions, FirestoreValue, FirestoreWritePrecondition};
use tokio::sync::OnceCell;

use crate::error::from_firestore;

const VALUE: &str = "v";
const EXPIRES_AT: &str = "expires_at";
/// Firestore's limit on a document id, in bytes.
const MAX_ID: usize = 1500;

/// A store: the documents of one partition of a Firestore collection.
pub struct FirestoreKv {
    project: String,
    database: String,
    collection: String,
    partition: String,
    db: OnceCell<FirestoreDb>,
    capabilities: KvCapabilities,
}

impl std::fmt::Debug for FirestoreKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FirestoreKv")
            .field("project", &self.project)
            .field("database", &self.database)
            .field("collection", &self.collection)
            .field("partition", &self.partition)
            .finish_non_exhaustive()
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn unhex(s: &str) -> Option<String> {
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

fn timestamp(t: SystemTime) -> Timestamp {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    Timestamp {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

fn system_time(t: &Timestamp) -> Option<SystemTime> {
    let secs = u64::try_from(t.seconds).ok()?;
    let nanos = u32::try_from(t.nanos).ok()?;
    UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
}

/// A version is `update_time` as `SECONDS.NANOS`.
fn version(doc: &Document) -> Version {
    let t = doc.update_time.unwrap_or_default();
    Version::new(format!("{}.{:09}", t.seconds, t.nanos))
}

fn update_time(version: &Version) -> Result<firestore::FirestoreInstant> {
    let bad = || {
        Error::new(
            ErrorKind::PreconditionFailed,
            format!("{:?} is not a Firestore version", version.as_str()),
        )
    };
    let (secs, nanos) = version.as_str().split_once('.').ok_or_else(bad)?;
    let seconds: i64 = secs.parse().map_err(|_| bad())?;
    let nanos: i32 = nanos.parse().map_err(|_| bad())?;
    firestore::FirestoreInstant::new(seconds, nanos).map_err(|_| bad())
}

fn expires_at(doc: &Document) -> Option<SystemTime> {
    match doc.fields.get(EXPIRES_AT)?.value_type.as_ref()? {
        ValueType::TimestampValue(t) => system_time(t),
        _ => None,
    }
}

fn is_live(doc: &Document) -> bool {
    expires_at(doc).is_none_or(|t| t > SystemTime::now())
}

fn value_of(doc: &Document) -> Result<Bytes> {
    match doc.fields.get(VALUE).and_then(|v| v.value_type.as_ref()) {
        Some(ValueType::BytesValue(b)) => Ok(Bytes::from(b.clone())),
        _ => Err(Error::new(
            ErrorKind::Malformed,
            format!("document {} has no bytes field {VALUE:?}", doc.name),
        )),
    }
}

impl FirestoreKv {
    pub(crate) fn new(
        project: String,
        database: String,
        collection: String,
        partition: String,
    ) -> Self {
        Self {
            project,
            database,
            collection,
            partition,
            db: OnceCell::new(),
            capabilities: KvCapabilities::default(),
        }
    }

    /// The Firestore client (connected on first use): the escape hatch.
    pub async fn db(&self) -> Result<&FirestoreDb> {
        self.db
            .get_or_try_init(|| async {
                crate::config::ensure_crypto_provider();
                FirestoreDb::with_options(
                    FirestoreDbOptions::new(self.project.clone())
                        .with_database_id(self.database.clone())
                        .with_max_retries(0),
                )
                .await
                .map_err(from_firestore)
            })
            .await
    }

    fn id(&self, key: &str) -> Result<String> {
        let id = format!("{}~{}", self.partition, hex(key.as_bytes()));
        if id.len() > MAX_ID {
            return Err(Error::invalid(format!(
                "the key is too long for a Firestore document id ({} bytes once encoded; the limit is {MAX_ID})",
                id.len()
            )));
        }
        Ok(id)
    }

    fn key_of(&self, doc: &Document) -> Option<String> {
        let id = doc.name.rsplit('/').next()?;
        unhex(id.strip_prefix(&self.partition)?.strip_prefix('~')?)
    }

    async fn document(&self, id: &str, value: &[u8], ttl: Option<Duration>) -> Result<Document> {
        let db = self.db().await?;
        let mut fields = HashMap::new();
        fields.insert(
            VALUE.to_owned(),
            Value {
                value_type: Some(ValueType::BytesValue(value.to_vec())),
            },
        );
        if let Some(ttl) = ttl {
            fields.insert(
                EXPIRES_AT.to_owned(),
                Value {
                    value_type: Some(ValueType::TimestampValue(timestamp(
                        SystemTime::now() + ttl,
                    ))),
                },
            );
        }
        Ok(Document {
            name: format!("{}/{}/{id}", db.get_documents_path(), self.collection),
            fields,
            ..Document::default()
        })
    }

    async fn read(&self, id: &str) -> Result<Option<Document>> {
        self.db()
            .await?
            .fluent()
            .select()
            .by_id_in(&self.collection)
            .one(id)
            .await
            .map_err(from_firestore)
    }

    async fn update(
        &self,
        doc: Document,
        precondition: Option<FirestoreWritePrecondition>,
    ) -> Result<Version> {
        let db = self.db().await?;
        let builder = db.fluent().update().in_col(&self.collection);
        let builder = match precondition {
            Some(p) => builder.precondition(p),
            None => builder,
        };
        let written = builder
            .document(doc)
            .execute()
            .await
            .map_err(from_firestore)?;
        Ok(version(&written))
    }

    /// The update time to write document `id` under `IfVersion(v)` — `v`'s, which the service
    /// compares in the write's precondition — once its entry is known to be live:
    /// `PreconditionFailed` when it is absent or expired (expired documents stay until the TTL
    /// policy deletes them: they must not take `IfVersion` writes, which would bring them back).
    async fn live_version(&self, id: &str, v: &Version) -> Result<firestore::FirestoreInstant> {
        match self.read(id).await? {
            None => Err(Error::new(
                ErrorKind::PreconditionFailed,
                "the key is absent",
            )),
            Some(doc) if !is_live(&doc) => Err(Error::new(
                ErrorKind::PreconditionFailed,
                "the entry expired",
            )),
            Some(_) => update_time(v),
        }
    }

    fn reference(&self, db: &FirestoreDb, id: &str) -> FirestoreValue {
        FirestoreValue::from(Value {
            value_type: Some(ValueType::ReferenceValue(format!(
                "{}/{}/{id}",
                db.get_documents_path(),
                self.collection
            ))),
        })
    }

    /// One read-then-delete under the version read; `None` when the entry changed in between.
    async fn delete_once(&self, key: &str, precondition: &Precondition) -> Result<Option<bool>> {
        let id = self.id(key)?;
        let (at, live) = match precondition {
            Precondition::IfVersion(v) => (self.live_version(&id, v).await?, true),
            _ => match self.read(&id).await? {
                None => return Ok(Some(false)),
                // Delete exactly what was read, so "was it live" stays true of what went.
                Some(doc) => (update_time(&version(&doc))?, is_live(&doc)),
            },
        };
        let result = self
            .db()
            .await?
            .fluent()
            .delete()
            .from(&self.collection)
            .precondition(FirestoreWritePrecondition::UpdateTime(at))
            .document_id(&id)
            .execute()
            .await
            .map_err(from_firestore);
        match (result, precondition) {
            (Ok(()), _) => Ok(Some(live)),
            (Err(e), Precondition::IfVersion(_)) => Err(version_error(e)),
            (Err(e), _)
                if matches!(
                    e.kind(),
                    ErrorKind::PreconditionFailed | ErrorKind::NotFound
                ) =>
            {
                // Changed or gone between read and delete: start over.
                Ok(None)
            }
            (Err(e), _) => Err(e),
        }
    }
}

/// A write whose version precondition failed: Firestore says NOT_FOUND (gone) or
/// FAILED_PRECONDITION (changed).
fn version_error(e: Error) -> Error {
    match e.kind() {
        ErrorKind::NotFound => {
            Error::new(ErrorKind::PreconditionFailed, "the entry does not exist").with_source(e)
        }
        _ => e,
    }
}

#[async_trait]
impl KvDriver for FirestoreKv {
    fn provider(&self) -> &'static str {
        "gcp"
    }

    fn name(&self) -> &str {
        &self.collection
    }

    fn capabilities(&self) -> &KvCapabilities {
        &self.capabilities
    }

    async fn get(&self, key: &str) -> Result<Option<KvEntry>> {
        let id = self.id(key)?;
        match self.read(&id).await? {
            Some(doc) if is_live(&doc) => Ok(Some(
                KvEntry::new(key, value_of(&doc)?, version(&doc)).with_expires_at(expires_at(&doc)),
            )),
            _ => Ok(None),
        }
    }

    async fn put(
        &self,
        key: &str,
        value: Bytes,
        precondition: &Precondition,
        ttl: Option<Duration>,
    ) -> Result<Version> {
        let id = self.id(key)?;
        let doc = self.document(&id, &value, ttl).await?;
        match precondition {
            Precondition::IfAbsent => {
                match self
                    .update(doc.clone(), Some(FirestoreWritePrecondition::Exists(false)))
                    .await
                {
                    Err(e)
                        if e.kind() == ErrorKind::AlreadyExists
                            || e.kind() == ErrorKind::PreconditionFailed =>
                    {
                        // An expired entry counts as absent: replace exactly that one.
                        match self.read(&id).await? {
                            Some(old) if !is_live(&old) => {
                                let at = update_time(&version(&old))?;
                                self.update(doc, Some(FirestoreWritePrecondition::UpdateTime(at)))
                                    .await
                                    .map_err(|r| match r.kind() {
                                        // Someone else replaced it first: the key exists.
                                        ErrorKind::PreconditionFailed | ErrorKind::NotFound => {
                                            Error::new(ErrorKind::AlreadyExists, "the key exists")
                                                .with_source(r)
                                        }
                                        _ => r,
                                    })
                            }
                            Some(_) => Err(Error::new(ErrorKind::AlreadyExists, "the key exists")
                                .with_source(e)),
                            // Gone between the create and the read: nothing exists to report;
                            // the caller tries again.
                            None => Err(Error::new(
                                ErrorKind::Unavailable,
                                "the key changed during a create-only write; try again",
                            )
                            .with_source(e)),
                        }
                    }
                    other => other,
                }
            }
            Precondition::IfVersion(v) => {
                let at = self.live_version(&id, v).await?;
                self.update(doc, Some(FirestoreWritePrecondition::UpdateTime(at)))
                    .await
                    .map_err(version_error)
            }
            _ => self.update(doc, None).await,
        }
    }

    async fn delete(&self, key: &str, precondition: &Precondition) -> Result<bool> {
        // The entry may change between the read and the conditional delete.
        cloudport_core::kv::delete_in_rounds(|| self.delete_once(key, precondition)).await
    }

    async fn scan(
        &self,
        prefix: &str,
        limit: usize,
        page_token: Option<String>,
    ) -> Result<ScanPage> {
        let db = self.db().await?;
        let from = self.id(prefix)?;
        // Ids of this prefix share `from` as a prefix; `~` sorts after every hex digit.
        let end = format!("{from}~");
        let after = match page_token {
            Some(t) => {
                if !t.starts_with(&from) || t.contains('/') {
                    return Err(Error::invalid("not a page token of this scan"));
                }
                Some(t)
            }
            None => None,
        };
        let lower = match &after {
            Some(t) => self.reference(db, t),
            None => self.reference(db, &from),
        };
        let upper = self.reference(db, &end);
        let strict = after.is_some();
        let docs = db
            .fluent()
            .select()
            .from(self.collection.as_str())
            .filter(move |q| {
                q.for_all([
                    if strict {
                        q.field("__name__").greater_than(lower.clone())
                    } else {
                        q.field("__name__").greater_than_or_equal(lower.clone())
                    },
                    q.field("__name__").less_than(upper.clone()),
                ])
            })
            .order(|o| o.fields([o.field("__name__").ascending()]))
            .limit(u32::try_from(limit.saturating_add(1)).unwrap_or(u32::MAX))
            .query()
            .await
            .map_err(from_firestore)?;
        let mut entries = Vec::new();
        let mut next = None;
        for (i, doc) in docs.iter().enumerate() {
            if i == limit {
                next = docs
                    .get(i - 1)
                    .and_then(|d| d.name.rsplit('/').next())
                    .map(str::to_owned);
                break;
            }
            if !is_live(doc) {
                continue;
            }
            let Some(key) = self.key_of(doc) else {
                // A document another writer put in the partition's id range.
                tracing::warn!(document = %doc.name, "skipping a document whose id is not a cloudport key");
                continue;
            };
            entries.push(
                KvEntry::new(key, value_of(doc)?, version(doc)).with_expires_at(expires_at(doc)),
            );
        }
        Ok(ScanPage::new(entries, next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_ids_keep_order_and_prefixes() {
        let mut keys = ["a/b", "a", "b", "a/c", "ä", "a0"];
        let mut ids: Vec<String> = keys.iter().map(|k| hex(k.as_bytes())).collect();
        keys.sort_unstable();
        ids.sort();
        let back: Vec<String> = ids.iter().map(|i| unhex(i).unwrap()).collect();
        assert_eq!(back, keys);
        assert!(hex(b"a/b").starts_with(&hex(b"a/")));
    }

    #[test]
    fn versions_round_trip() {
        let doc = Document {
            update_time: Some(Timestamp {
                seconds: 1_795_700_000,
                nanos: 123_456_000,
            }),
            ..Document::default()
        };
        let v = version(&doc);
        assert_eq!(v.as_str(), "1795700000.123456000");
        assert!(update_time(&v).is_ok());
        assert_eq!(
            update_time(&Version::new("nope")).unwrap_err().kind(),
            ErrorKind::PreconditionFailed
        );
    }
}
