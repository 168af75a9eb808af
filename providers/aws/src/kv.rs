//! Key-value state on Amazon DynamoDB: one partition per store (`pk`), keys as sort keys (`sk`),
//! condition expressions for versions, the `expires_at` TTL attribute honoured on read, and
//! `begins_with` queries for prefix scans.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use bytes::Bytes;
use cloudport_core::{
    Error, ErrorKind, KvCapabilities, KvDriver, KvEntry, Precondition, Result, ScanPage, Version,
};
use tokio::sync::OnceCell;

use crate::error::from_sdk;
use crate::{Aws, Settings};

const PK: &str = "pk";
const SK: &str = "sk";
const VALUE: &str = "val";
const VERSION: &str = "ver";
/// Epoch seconds, for DynamoDB's TTL deletion.
const EXPIRES_AT: &str = "expires_at";
/// Epoch milliseconds, for exact expiry on read.
const EXPIRES_MS: &str = "expires_ms";

const LIVE: &str = "(attribute_not_exists(expires_ms) OR expires_ms > :now)";

/// A store in a DynamoDB table.
pub struct DynamoKv {
    aws: Aws,
    settings: Settings,
    table: String,
    partition: String,
    client: OnceCell<Client>,
    capabilities: KvCapabilities,
}

/// The resource and its settings; the SDK client (whose configuration holds credentials and
/// endpoints) only as opened or not.
impl std::fmt::Debug for DynamoKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoKv")
            .field("settings", &self.settings)
            .field("table", &self.table)
            .field("partition", &self.partition)
            .field("capabilities", &self.capabilities)
            .field("open", &self.client.initialized())
            .finish_non_exhaustive()
    }
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

fn new_version() -> Version {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    Version::new(format!("{nanos:x}-{n:x}-{:x}", std::process::id()))
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

impl DynamoKv {
    pub(crate) fn new(aws: Aws, settings: Settings, table: String, partition: String) -> Self {
        Self {
            aws,
            settings,
            table,
            partition,
            client: OnceCell::new(),
            capabilities: KvCapabilities {
                max_key_bytes: 1024,
                max_value_bytes: 350 * 1024,
                ..KvCapabilities::default()
            },
        }
    }

    /// The SDK client (built on first use): the escape hatch.
    pub async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                Client::from_conf(self.settings.apply_dynamodb(self.aws.sdk_config().await))
            })
            .await
    }

    /// Creates the table with the schema cloudport stores use (string partition key `pk`, string
    /// sort key `sk`, on-demand capacity). An existing table is `AlreadyExists`. For tests and
    /// tooling: production tables usually come from infrastructure code.
    pub async fn create_table(&self) -> Result<()> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| Error::invalid(format!("attribute definition: {e}")))
        };
        let key = |name: &str, kind| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(|e| Error::invalid(format!("key schema: {e}")))
        };
        self.client()
            .await
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr(PK)?)
            .attribute_definitions(attr(SK)?)
            .key_schema(key(PK, KeyType::Hash)?)
            .key_schema(key(SK, KeyType::Range)?)
            .send()
            .await
            .map_err(|e| {
                let err = from_sdk(e);
                if format!("{err:?}").contains("ResourceInUse") {
                    Error::new(ErrorKind::AlreadyExists, "the table exists").with_source(err)
                } else {
                    err
                }
            })?;
        Ok(())
    }

    /// The partition (`pk`) this store's keys live in.
    pub fn partition(&self) -> &str {
        &self.partition
    }

    fn key(&self, key: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([(PK.to_owned(), s(&self.partition)), (SK.to_owned(), s(key))])
    }

    fn entry(item: &HashMap<String, AttributeValue>, now: u128) -> Result<Option<KvEntry>> {
        let expires_ms = match item.get(EXPIRES_MS) {
            Some(AttributeValue::N(ms)) => {
                Some(ms.parse::<u128>().map_err(|_| malformed("expires_ms"))?)
            }
            _ => None,
        };
        if expires_ms.is_some_and(|e| e <= now) {
            return Ok(None);
        }
        let key = match item.get(SK) {
            Some(AttributeValue::S(k)) => k.clone(),
            _ => return Err(malformed("sk")),
        };
        let value = match item.get(VALUE) {
            Some(AttributeValue::B(b)) => Bytes::copy_from_slice(b.as_ref()),
            _ => return Err(malformed("val").with_resource(key)),
        };
        let version = match item.get(VERSION) {
            Some(AttributeValue::S(v)) => Version::new(v.clone()),
            _ => return Err(malformed("ver").with_resource(key)),
        };
        let expires_at = expires_ms
            .and_then(|ms| u64::try_from(ms).ok())
            .map(|ms| UNIX_EPOCH + Duration::from_millis(ms));
        Ok(Some(
            KvEntry::new(key, value, version).with_expires_at(expires_at),
        ))
    }
}

fn malformed(attribute: &str) -> Error {
    Error::new(
        ErrorKind::Malformed,
        format!(
            "the item's {attribute:?} attribute is missing or of the wrong type; is this table a cloudport store?"
        ),
    )
}

#[async_trait]
impl KvDriver for DynamoKv {
    fn provider(&self) -> &'static str {
        "aws"
    }

    fn name(&self) -> &str {
        &self.table
    }

    fn capabilities(&self) -> &KvCapabilities {
        &self.capabilities
    }

    async fn get(&self, key: &str) -> Result<Option<KvEntry>> {
        let out = self
            .client()
            .await
            .get_item()
            .table_name(&self.table)
            .set_key(Some(self.key(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(from_sdk)?;
        match out.item {
            None => Ok(None),
            Some(item) => Self::entry(&item, now_ms()),
        }
    }

    async fn put(
        &self,
        key: &str,
        value: Bytes,
        precondition: &Precondition,
        ttl: Option<Duration>,
    ) -> Result<Version> {
        let now = now_ms();
        let version = new_version();
        let mut item = self.key(key);
        item.insert(
            VALUE.to_owned(),
            AttributeValue::B(Blob::new(value.to_vec())),
        );
        item.insert(VERSION.to_owned(), s(version.as_str()));
        if let Some(ttl) = ttl {
            let expires_ms = now + ttl.as_millis();
            item.insert(EXPIRES_MS.to_owned(), n(expires_ms));
            item.insert(EXPIRES_AT.to_owned(), n(expires_ms.div_ceil(1000)));
        }
        let mut req = self
            .client()
            .await
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        match precondition {
            Precondition::None => {}
            Precondition::IfAbsent => {
                req = req
                    .condition_expression("attribute_not_exists(pk) OR expires_ms <= :now")
                    .expression_attribute_values(":now", n(now));
            }
            Precondition::IfVersion(v) => {
                req = req
                    .condition_expression(format!("ver = :ver AND {LIVE}"))
                    .expression_attribute_values(":ver", s(v.as_str()))
                    .expression_attribute_values(":now", n(now));
            }
        }
        req.send().await.map_err(|e| {
            let err = from_sdk(e);
            match (err.kind(), precondition) {
                (ErrorKind::PreconditionFailed, Precondition::IfAbsent) => {
                    Error::new(ErrorKind::AlreadyExists, "the key exists").with_source(err)
                }
                _ => err,
            }
        })?;
        Ok(version)
    }

    async fn delete(&self, key: &str, precondition: &Precondition) -> Result<bool> {
        let now = now_ms();
        let mut req = self
            .client()
            .await
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(self.key(key)))
            .return_values(ReturnValue::AllOld);
        if let Precondition::IfVersion(v) = precondition {
            req = req
                .condition_expression(format!("ver = :ver AND {LIVE}"))
                .expression_attribute_values(":ver", s(v.as_str()))
                .expression_attribute_values(":now", n(now));
        }
        let out = req.send().await.map_err(from_sdk)?;
        Ok(match out.attributes {
            Some(old) => Self::entry(&old, now)?.is_some(),
            None => false,
        })
    }

    async fn scan(
        &self,
        prefix: &str,
        limit: usize,
        page_token: Option<String>,
    ) -> Result<ScanPage> {
        let now = now_ms();
        let mut req = self
            .client()
            .await
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .filter_expression(LIVE)
            .expression_attribute_values(":pk", s(&self.partition))
            .expression_attribute_values(":now", n(now));
        req = if prefix.is_empty() {
            req.key_condition_expression("pk = :pk")
        } else {
            req.key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":prefix", s(prefix))
        };
        if let Some(token) = page_token {
            req = req.set_exclusive_start_key(Some(self.key(&token)));
        }
        let out = req.send().await.map_err(from_sdk)?;
        let mut entries = Vec::new();
        for item in out.items.unwrap_or_default() {
            if let Some(e) = Self::entry(&item, now)? {
                entries.push(e);
            }
        }
        let next = out.last_evaluated_key.and_then(|k| match k.get(SK) {
            Some(AttributeValue::S(sk)) => Some(sk.clone()),
            _ => None,
        });
        Ok(ScanPage::new(entries, next))
    }
}
