//! Key-value state on Azure Table Storage, through the legacy `azure_data_tables` 0.21 client
//! (the GA SDK has no Table crate yet; ADR 0005): one entity per key in a store's partition,
//! ETags as versions, TTL honoured on read, prefix scans as `RowKey` ranges.
//!
//! Entity layout: `PartitionKey` = the store's partition, `RowKey` = the escaped key, the value
//! in `Edm.Binary` properties `d0`, `d1`, … of at most 64 KiB each (Table's property limit), and
//! `ExpiresAt` (`Edm.Int64`, Unix milliseconds) when the entry has a TTL.
//!
//! Table forbids `/ \ # ?` and control characters in keys; cloudport escapes them, and `%` and
//! `'`, as `%XX`. Escaping keeps prefixes (a scan of `a/` is a `RowKey` range of `a%2F`), but keys
//! that differ at an escaped character sort by the escaped form.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use azure_core_legacy::Etag;
use azure_data_tables::prelude::*;
use base64::Engine;
use bytes::{Bytes, BytesMut};
use cloudport_core::{
    Error, ErrorKind, KvCapabilities, KvDriver, KvEntry, Precondition, Result, ScanPage, Version,
};
use futures::StreamExt;
use serde_json::{Map, Value};

use crate::config::{Account, Auth, Service};
use crate::error::{created, from_legacy};
use crate::identity::LegacyCredential;

/// Table's limit on one binary property.
const CHUNK: usize = 64 * 1024;
/// Table's limit on a key (PartitionKey or RowKey) once escaped: 1 KiB of UTF-16, so 512 code
/// units (<https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model#partitionkey-property>);
/// Azurite refuses 513 (400 InvalidInput), Azure answers `KeyValueTooLarge`.
const MAX_ESCAPED_KEY_UTF16: usize = 512;
const EXPIRES_AT: &str = "ExpiresAt";

/// A store: one partition of an Azure table.
pub struct AzureTable {
    account: Arc<Account>,
    table: String,
    partition: String,
    client: TableClient,
    capabilities: KvCapabilities,
}

impl std::fmt::Debug for AzureTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureTable")
            .field("account", &self.account.name)
            .field("table", &self.table)
            .field("partition", &self.partition)
            .finish_non_exhaustive()
    }
}

/// Escapes what Table forbids in keys (`/ \ # ?`, control characters) and what would break its
/// URLs and filters (`%`, `'`) as `%XX`.
pub(crate) fn escape_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        if matches!(c, '/' | '\\' | '#' | '?' | '%' | '\'') || c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Refuses a key Table storage would refuse once escaped, before any call.
fn check_escaped_key(row: &str) -> Result<()> {
    let units = row.encode_utf16().count();
    if units > MAX_ESCAPED_KEY_UTF16 {
        return Err(Error::invalid(format!(
            "the key is {units} UTF-16 code units once escaped for Table storage (`/ \\ # ? % '` \
             and control characters take 3 per byte); the limit is {MAX_ESCAPED_KEY_UTF16}"
        )));
    }
    Ok(())
}

/// The inverse of [`escape_key`].
pub(crate) fn unescape_key(escaped: &str) -> String {
    percent_encoding::percent_decode_str(escaped)
        .decode_utf8_lossy()
        .into_owned()
}

/// The smallest string greater than every string starting with `prefix` (for a range scan);
/// `None` when there is none.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = u32::from(last) + 1;
        if (0xD800..0xE000).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )
    .unwrap_or(i64::MAX)
}

/// The entity's expiry, in Unix milliseconds.
fn expires_at(entity: &Map<String, Value>) -> Option<i64> {
    match entity.get(EXPIRES_AT)? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

fn is_live(entity: &Map<String, Value>) -> bool {
    expires_at(entity).is_none_or(|t| t > now_ms())
}

fn expiry_time(entity: &Map<String, Value>) -> Option<SystemTime> {
    let ms = u64::try_from(expires_at(entity)?).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_millis(ms))
}

/// The legacy client's HTTP client, one per process: the machine's roots as well as the bundled
/// ones (as the GA clients trust them: `SSL_CERT_FILE`, a corporate CA, Azurite's test CA), and
/// pooled connections (0.21's own client turns pooling off: a TLS handshake per request).
fn http_client() -> Arc<dyn azure_core_legacy::HttpClient> {
    static CLIENT: std::sync::OnceLock<Arc<dyn azure_core_legacy::HttpClient>> =
        std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| match reqwest_legacy::Client::builder().build() {
            Ok(client) => Arc::new(client),
            // Only a broken TLS backend fails here: fall back to the SDK's own client (bundled
            // roots only, no pooling), and say so.
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "building the Table client's HTTP client failed; using azure_core 0.21's own (bundled roots only)"
                );
                azure_core_legacy::new_http_client()
            }
        })
        .clone()
}

fn version(etag: &Etag) -> Version {
    Version::new(etag.to_string())
}

impl AzureTable {
    pub(crate) fn new(account: Arc<Account>, table: String, partition: String) -> Result<Self> {
        let credentials = match account.auth() {
            Auth::Sas(sas) => azure_storage::StorageCredentials::sas_token(sas)
                .map_err(|e| Error::invalid(format!("the connection string's SAS: {e}")))?,
            Auth::Key(key) => azure_storage::StorageCredentials::access_key(
                account.name.clone(),
                azure_core_legacy::auth::Secret::new(key.secret().to_owned()),
            ),
            Auth::Token(credential) => azure_storage::StorageCredentials::token_credential(
                Arc::new(LegacyCredential(credential.clone())),
            ),
        };
        let location = azure_storage::CloudLocation::Custom {
            account: account.name.clone(),
            uri: account
                .endpoint(Service::Table)?
                .as_str()
                .trim_end_matches('/')
                .to_owned(),
        };
        let client = azure_data_tables::clients::TableServiceClientBuilder::with_location(
            location,
            credentials,
        )
        .retry(azure_core_legacy::RetryOptions::none())
        .transport(azure_core_legacy::TransportOptions::new(http_client()))
        .build()
        .table_client(table.clone());
        Ok(Self {
            account,
            table,
            partition: escape_key(&partition),
            client,
            capabilities: KvCapabilities::default(),
        })
    }

    /// The legacy SDK's table client: the escape hatch.
    pub fn client(&self) -> &TableClient {
        &self.client
    }

    /// Creates the table; an existing one is fine.
    pub async fn create_table(&self) -> Result<()> {
        created(self.client.create().await.map(drop).map_err(from_legacy))
    }

    fn entity_client(&self, key: &str) -> Result<EntityClient> {
        let row = escape_key(key);
        check_escaped_key(&row)?;
        Ok(self
            .client
            .partition_key_client(self.partition.clone())
            .entity_client(row))
    }

    fn entity(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Map<String, Value> {
        let mut e = Map::new();
        e.insert("PartitionKey".into(), Value::String(self.partition.clone()));
        e.insert("RowKey".into(), Value::String(escape_key(key)));
        for (i, chunk) in value.chunks(CHUNK).enumerate() {
            e.insert(format!("d{i}@odata.type"), "Edm.Binary".into());
            e.insert(
                format!("d{i}"),
                base64::engine::general_purpose::STANDARD
                    .encode(chunk)
                    .into(),
            );
        }
        if let Some(ttl) = ttl {
            let at = now_ms().saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
            e.insert(format!("{EXPIRES_AT}@odata.type"), "Edm.Int64".into());
            e.insert(EXPIRES_AT.into(), at.to_string().into());
        }
        e
    }

    /// The value stored in an entity's `d0`, `d1`, … properties.
    fn value_of(entity: &Map<String, Value>) -> Result<Bytes> {
        let mut out = BytesMut::new();
        for i in 0.. {
            let Some(v) = entity.get(&format!("d{i}")) else {
                break;
            };
            let text = v.as_str().ok_or_else(|| {
                Error::new(ErrorKind::Malformed, format!("property d{i} is not binary"))
            })?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| Error::new(ErrorKind::Malformed, format!("property d{i}: {e}")))?;
            out.extend_from_slice(&bytes);
        }
        Ok(out.freeze())
    }

    /// The entity and its ETag, expired or not; `None` when absent.
    async fn read(&self, key: &str) -> Result<Option<(Map<String, Value>, Etag)>> {
        match self.entity_client(key)?.get::<Map<String, Value>>().await {
            Ok(rsp) => Ok(Some((rsp.entity, rsp.etag))),
            Err(e) => match from_legacy(e) {
                e if e.kind() == ErrorKind::NotFound => Ok(None),
                e => Err(e),
            },
        }
    }

    /// The ETag to write `key` under `IfVersion(v)`: `v` itself (the service compares it, as it
    /// spells ETags), once the entry is known to be live — `PreconditionFailed` when it is absent
    /// or expired (Table storage keeps expired entities: they must not take `IfVersion` writes,
    /// which would bring them back).
    async fn live_version(&self, key: &str, v: &Version) -> Result<Etag> {
        match self.read(key).await? {
            None => Err(Error::new(
                ErrorKind::PreconditionFailed,
                "the key is absent",
            )),
            Some((entity, _)) if !is_live(&entity) => Err(Error::new(
                ErrorKind::PreconditionFailed,
                "the entry expired",
            )),
            Some(_) => Ok(Etag::from(v.as_str().to_owned())),
        }
    }

    async fn replace_if(
        &self,
        key: &str,
        entity: &Map<String, Value>,
        etag: Etag,
    ) -> Result<Version> {
        let rsp = self
            .entity_client(key)?
            .update(entity, IfMatchCondition::Etag(etag))
            .map_err(from_legacy)?
            .await
            .map_err(from_legacy)
            .map_err(|e| match e.kind() {
                // Gone since it was read: the version no longer holds.
                ErrorKind::NotFound => {
                    Error::new(ErrorKind::PreconditionFailed, "the entry changed").with_source(e)
                }
                _ => e,
            })?;
        Ok(version(&rsp.etag))
    }

    /// One read-then-delete under the version read; `None` when the entry changed in between.
    async fn delete_once(&self, key: &str, precondition: &Precondition) -> Result<Option<bool>> {
        let client = self.entity_client(key)?;
        let (condition, live) = match precondition {
            Precondition::IfVersion(v) => (
                IfMatchCondition::Etag(self.live_version(key, v).await?),
                true,
            ),
            _ => match self.read(key).await? {
                None => return Ok(Some(false)),
                // Delete exactly what was read, so "was it live" stays true of what went.
                Some((entity, etag)) => (IfMatchCondition::Etag(etag), is_live(&entity)),
            },
        };
        match client.delete().if_match(condition).await {
            Ok(_) => Ok(Some(live)),
            Err(e) => match (from_legacy(e), precondition) {
                (e, Precondition::IfVersion(_)) if e.kind() == ErrorKind::NotFound => Err(
                    Error::new(ErrorKind::PreconditionFailed, "the entry does not exist")
                        .with_source(e),
                ),
                (e, Precondition::IfVersion(_)) => Err(e),
                // Changed between read and delete: start over.
                (e, _) if e.kind() == ErrorKind::PreconditionFailed => Ok(None),
                (e, _) if e.kind() == ErrorKind::NotFound => Ok(Some(false)),
                (e, _) => Err(e),
            },
        }
    }
}

#[async_trait]
impl KvDriver for AzureTable {
    fn provider(&self) -> &'static str {
        "azure"
    }

    fn name(&self) -> &str {
        &self.table
    }

    fn capabilities(&self) -> &KvCapabilities {
        &self.capabilities
    }

    async fn get(&self, key: &str) -> Result<Option<KvEntry>> {
        let Some((entity, etag)) = self.read(key).await? else {
            return Ok(None);
        };
        if !is_live(&entity) {
            return Ok(None);
        }
        Ok(Some(
            KvEntry::new(key, Self::value_of(&entity)?, version(&etag))
                .with_expires_at(expiry_time(&entity)),
        ))
    }

    async fn put(
        &self,
        key: &str,
        value: Bytes,
        precondition: &Precondition,
        ttl: Option<Duration>,
    ) -> Result<Version> {
        let entity = self.entity(key, &value, ttl);
        match precondition {
            Precondition::IfAbsent => {
                let inserted = self
                    .client
                    .insert::<_, Value>(&entity)
                    .map_err(from_legacy)?
                    .await;
                match inserted {
                    Ok(rsp) => Ok(version(&rsp.etag)),
                    Err(e) => {
                        let e = from_legacy(e);
                        if e.kind() != ErrorKind::AlreadyExists {
                            return Err(e);
                        }
                        // An expired entry counts as absent: replace exactly that one.
                        match self.read(key).await? {
                            Some((old, etag)) if !is_live(&old) => {
                                // Someone else replaced it first: the key exists. Any other
                                // failure is reported as it is.
                                self.replace_if(key, &entity, etag).await.map_err(|r| {
                                    if r.kind() == ErrorKind::PreconditionFailed {
                                        e
                                    } else {
                                        r
                                    }
                                })
                            }
                            Some(_) => Err(e),
                            // Gone between the insert and the read: nothing to report as
                            // existing; the caller tries again.
                            None => Err(Error::new(
                                ErrorKind::Unavailable,
                                "the key changed during a create-only write; try again",
                            )
                            .with_source(e)),
                        }
                    }
                }
            }
            Precondition::IfVersion(v) => {
                let etag = self.live_version(key, v).await?;
                self.replace_if(key, &entity, etag).await
            }
            _ => {
                let rsp = self
                    .entity_client(key)?
                    .insert_or_replace(&entity)
                    .map_err(from_legacy)?
                    .await
                    .map_err(from_legacy)?;
                Ok(version(&rsp.etag))
            }
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
        let from = escape_key(prefix);
        // The token is the escaped row key to resume at; quotes doubled so no token can change
        // the filter's meaning.
        let resume = page_token.map(|t| t.replace('\'', "''"));
        let lower = resume
            .as_deref()
            .filter(|t| *t > from.as_str())
            .unwrap_or(&from);
        let mut filter = format!(
            "PartitionKey eq '{}' and RowKey ge '{lower}'",
            self.partition
        );
        if let Some(end) = prefix_end(&from).filter(|_| !from.is_empty()) {
            filter.push_str(&format!(" and RowKey lt '{end}'"));
        }
        // One more than asked: its row key is where the next page starts.
        let top = u32::try_from(limit.saturating_add(1))
            .unwrap_or(1000)
            .min(1000);
        let mut pages = self
            .client
            .query()
            .filter(filter)
            .top(top)
            .into_stream::<Map<String, Value>>();
        let Some(page) = pages.next().await else {
            return Ok(ScanPage::new(Vec::new(), None));
        };
        let page = page.map_err(from_legacy)?;
        use azure_core_legacy::Continuable;
        let mut next = page.continuation().and_then(|(_, row)| row);
        let mut entries = Vec::new();
        for (i, entity) in page.entities.into_iter().enumerate() {
            let row = entity
                .get("RowKey")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::Malformed,
                        "the table answered an entity without a RowKey",
                    )
                })?;
            if i == limit {
                next = Some(row.to_owned());
                break;
            }
            if !is_live(&entity) {
                continue;
            }
            let etag = entity
                .get("odata.etag")
                .and_then(Value::as_str)
                .map(|e| Version::new(e.to_owned()))
                .unwrap_or_else(|| Version::new(String::new()));
            entries.push(
                KvEntry::new(unescape_key(row), Self::value_of(&entity)?, etag)
                    .with_expires_at(expiry_time(&entity)),
            );
        }
        Ok(ScanPage::new(entries, next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_over_512_utf16_units_once_escaped_is_refused_before_any_call() {
        // Azurite takes 170 `/` (510 units escaped) and refuses 171 (513) with 400 InvalidInput;
        // Azure answers KeyValueTooLarge.
        assert!(check_escaped_key(&escape_key(&"/".repeat(170))).is_ok());
        let err = check_escaped_key(&escape_key(&"/".repeat(171))).unwrap_err();
        assert_eq!(err.kind(), cloudport_core::ErrorKind::InvalidArgument);
        assert!(err.message().contains("513"), "{err}");
        // Counted in UTF-16 code units, as Table does: 512 two-byte characters fit.
        assert!(check_escaped_key(&"é".repeat(512)).is_ok());
        assert!(check_escaped_key(&"é".repeat(513)).is_err());
    }

    #[test]
    fn escaping_round_trips_and_keeps_prefixes() {
        for key in [
            "a/b",
            "x#y?z",
            "back\\slash",
            "100%",
            "it's",
            "plain",
            "ünï/",
        ] {
            let e = escape_key(key);
            assert!(!e.contains(['/', '\\', '#', '?', '\'']), "{e}");
            assert_eq!(unescape_key(&e), key);
        }
        assert!(escape_key("a/b/c").starts_with(&escape_key("a/")));
    }

    #[test]
    fn prefix_ends_bound_the_range() {
        assert_eq!(prefix_end("ab").as_deref(), Some("ac"));
        assert!(prefix_end("").is_none());
    }
}
