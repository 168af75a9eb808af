//! Opening Azure resources from `azqueue://`, `azblob://` and `aztable://` URLs.

use std::sync::Arc;

use cloudport_core::{Bucket, Error, KvStore, Provider, Queue, ResourceUrl, Result};

use crate::config::Account;
use crate::{Azure, AzureContainer, AzureQueue, AzureTable};

/// The Functions host's `maxDequeueCount` default: deliveries before a message moves to
/// `<queue>-poison`.
pub const DEFAULT_MAX_DEQUEUE_COUNT: u32 = 5;

/// Storage accounts: 3–24 lowercase letters and digits.
pub(crate) fn check_account(name: &str) -> Result<()> {
    let ok = (3..=24).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{name:?} is not a storage account name (3-24 lowercase letters and digits)"
        )))
    }
}

/// Queues and containers: 3–63 lowercase letters, digits and single hyphens, starting and ending
/// with a letter or digit (containers may also be `$root`, not supported here).
fn check_dns_name(name: &str, what: &str) -> Result<()> {
    let b = name.as_bytes();
    let ok = (3..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && !name.contains("--");
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{name:?} is not an Azure {what} name (3-63 lowercase letters, digits and single hyphens)"
        )))
    }
}

/// Tables: 3–63 letters and digits, starting with a letter.
fn check_table_name(name: &str) -> Result<()> {
    let b = name.as_bytes();
    let ok = (3..=63).contains(&b.len())
        && b.iter().all(u8::is_ascii_alphanumeric)
        && b[0].is_ascii_alphabetic();
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{name:?} is not an Azure table name (3-63 letters and digits, starting with a letter)"
        )))
    }
}

/// `account/name` of a URL: the account is the host, the resource the one path segment.
fn account_and_name(url: &ResourceUrl, what: &str) -> Result<(String, String)> {
    let (account, name) = (url.host(), url.path());
    if name.is_empty() || name.contains('/') {
        return Err(Error::invalid(format!(
            "{url}: expected {}://ACCOUNT/{what}",
            url.scheme()
        )));
    }
    check_account(&account)?;
    Ok((account, name))
}

impl Azure {
    fn resolve(&self, url: &ResourceUrl, account: &str) -> Result<Arc<Account>> {
        Ok(Arc::new(self.account(account, url.param("connection"))?))
    }

    /// The queue `name` of `account`; `create_if_missing` creates it on first send (as the
    /// Functions host does for poison queues).
    pub fn queue(&self, account: &str, name: &str, setting: Option<&str>) -> Result<AzureQueue> {
        check_account(account)?;
        check_dns_name(name, "queue")?;
        let account = Arc::new(self.account(account, setting)?);
        Ok(AzureQueue::new(account, name.to_owned(), false))
    }

    /// The blob container `name` of `account`.
    pub fn container(
        &self,
        account: &str,
        name: &str,
        setting: Option<&str>,
    ) -> Result<AzureContainer> {
        check_account(account)?;
        check_dns_name(name, "container")?;
        let account = Arc::new(self.account(account, setting)?);
        Ok(AzureContainer::new(account, name.to_owned()))
    }

    /// The store `partition` of the table `name` of `account`.
    pub fn table(
        &self,
        account: &str,
        name: &str,
        partition: &str,
        setting: Option<&str>,
    ) -> Result<AzureTable> {
        check_account(account)?;
        check_table_name(name)?;
        if partition.is_empty() {
            return Err(Error::invalid("the table partition name must not be empty"));
        }
        let account = Arc::new(self.account(account, setting)?);
        AzureTable::new(account, name.to_owned(), partition.to_owned())
    }
}

fn with_context(url: &ResourceUrl, e: Error) -> Error {
    e.with_provider("azure").with_resource(url.to_string())
}

fn scheme(url: &ResourceUrl, expected: &str) -> Result<()> {
    if url.scheme() == expected {
        Ok(())
    } else {
        Err(Error::invalid(format!("{url} is not an {expected}:// URL")))
    }
}

impl Provider for Azure {
    fn name(&self) -> &'static str {
        "azure"
    }

    fn schemes(&self) -> &'static [&'static str] {
        &["azqueue", "azblob", "aztable"]
    }

    /// `azqueue://ACCOUNT/QUEUE[?connection=SETTING&max_dequeue_count=N&poison=false]`: messages
    /// delivered `max_dequeue_count` (5) times move to `QUEUE-poison`, as on the Functions host,
    /// unless `poison=false` or the URL names its own `dead_letter`.
    fn open_queue(&self, url: &ResourceUrl) -> Result<Queue> {
        let open = || -> Result<Queue> {
            scheme(url, "azqueue")?;
            url.reject_unknown_params(&["connection", "max_dequeue_count", "poison"])?;
            let (account_name, name) = account_and_name(url, "QUEUE")?;
            let max = match url.param("max_dequeue_count") {
                None => DEFAULT_MAX_DEQUEUE_COUNT,
                Some(n) => n.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    Error::invalid(format!(
                        "max_dequeue_count must be a positive integer, got {n:?}"
                    ))
                })?,
            };
            let poison = match url.param("poison") {
                None | Some("true") => true,
                Some("false") => false,
                Some(other) => {
                    return Err(Error::invalid(format!(
                        "poison must be true or false, got {other:?}"
                    )));
                }
            };
            check_dns_name(&name, "queue")?;
            let account = self.resolve(url, &account_name)?;
            let queue = Queue::from_driver(Arc::new(AzureQueue::new(
                account.clone(),
                name.clone(),
                false,
            )));
            if !poison {
                return Ok(queue);
            }
            let poison_name = format!("{name}-poison");
            check_dns_name(&poison_name, "poison queue")?;
            let poison = Queue::from_driver(Arc::new(AzureQueue::new(account, poison_name, true)));
            Ok(queue.with_dead_letter(poison, max))
        };
        open().map_err(|e| with_context(url, e))
    }

    /// `azblob://ACCOUNT/CONTAINER[?connection=SETTING]`.
    fn open_bucket(&self, url: &ResourceUrl) -> Result<Bucket> {
        let open = || -> Result<Bucket> {
            scheme(url, "azblob")?;
            url.reject_unknown_params(&["connection"])?;
            let (account, name) = account_and_name(url, "CONTAINER")?;
            check_dns_name(&name, "container")?;
            let account = self.resolve(url, &account)?;
            Ok(Bucket::new(AzureContainer::new(account, name)))
        };
        open().map_err(|e| with_context(url, e))
    }

    /// `aztable://ACCOUNT/TABLE[?connection=SETTING&partition=NS]`.
    fn open_kv(&self, url: &ResourceUrl) -> Result<KvStore> {
        let open = || -> Result<KvStore> {
            scheme(url, "aztable")?;
            url.reject_unknown_params(&["connection", "partition"])?;
            let (account, name) = account_and_name(url, "TABLE")?;
            check_table_name(&name)?;
            let partition = url.param("partition").unwrap_or("default");
            if partition.is_empty() {
                return Err(Error::invalid("the table partition name must not be empty"));
            }
            let account = self.resolve(url, &account)?;
            Ok(KvStore::new(AzureTable::new(
                account,
                name,
                partition.to_owned(),
            )?))
        };
        open().map_err(|e| with_context(url, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudport_core::ErrorKind;

    fn azurite() -> Azure {
        Azure::from_connection_string("UseDevelopmentStorage=true")
    }

    fn open_err(url: &str) -> ErrorKind {
        let url = ResourceUrl::parse(url).unwrap();
        let a = azurite();
        let r = match url.scheme() {
            "azqueue" => a.open_queue(&url).map(drop),
            "azblob" => a.open_bucket(&url).map(drop),
            _ => a.open_kv(&url).map(drop),
        };
        r.unwrap_err().kind()
    }

    #[test]
    fn names_azure_rejects_fail_before_any_call() {
        assert_eq!(
            open_err("azqueue://devstoreaccount1/Orders"),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            open_err("azqueue://devstoreaccount1/a--b"),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            open_err("azqueue://devstoreaccount1"),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            open_err("azblob://devstoreaccount1/x"),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            open_err("aztable://devstoreaccount1/9lives"),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            open_err("aztable://devstoreaccount1/t-able"),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            open_err("azqueue://Bad_Account/orders"),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            open_err("azqueue://otheraccount/orders"),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            open_err("azqueue://devstoreaccount1/orders?bogus=1"),
            ErrorKind::InvalidArgument
        );
        let long = format!("azqueue://devstoreaccount1/{}", "q".repeat(60));
        assert_eq!(
            open_err(&long),
            ErrorKind::InvalidArgument,
            "no room for -poison"
        );
    }

    #[test]
    fn queues_dead_letter_to_poison_by_default() {
        let a = azurite();
        let q = a
            .open_queue(&ResourceUrl::parse("azqueue://devstoreaccount1/orders").unwrap())
            .unwrap();
        let (dlq, max) = q.dead_letter().unwrap();
        assert_eq!((dlq.name(), max), ("orders-poison", 5));
        let q = a
            .open_queue(
                &ResourceUrl::parse("azqueue://devstoreaccount1/orders?poison=false").unwrap(),
            )
            .unwrap();
        assert!(q.dead_letter().is_none());
    }
}
