//! Opening AWS resources from `sqs://`, `sns://`, `s3://` and `dynamodb://` URLs.

use std::sync::Arc;

use cloudport_core::{Bucket, Error, KvStore, Provider, Queue, ResourceUrl, Result, Topic};

use crate::{Aws, DynamoKv, S3Bucket, Settings, SnsTopic, SqsQueue};

fn settings(url: &ResourceUrl) -> Settings {
    Settings {
        region: url.param("region").map(str::to_owned),
        endpoint: url.param("endpoint").map(str::to_owned),
    }
}

fn no_path(url: &ResourceUrl) -> Result<()> {
    if url.path().is_empty() {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{url}: the resource is named by the host part alone, without a path"
        )))
    }
}

/// SQS: 1–80 letters, digits, `-` or `_`, optionally ending in `.fifo` (a FIFO queue: ordering
/// keys required, see the queue module).
fn check_queue_name(name: &str) -> Result<()> {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    let ok = (1..=80).contains(&name.len())
        && !base.is_empty()
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{name:?} is not an SQS queue name (1-80 letters, digits, '-' or '_', optionally ending in .fifo)"
        )))
    }
}

/// S3: 3–63 lowercase letters, digits, `.` or `-`, starting and ending with a letter or digit.
fn check_bucket_name(name: &str) -> Result<()> {
    let b = name.as_bytes();
    let ok = (3..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'.' || *c == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && !name.contains("..");
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{name:?} is not an S3 bucket name (3-63 lowercase letters, digits, '.' or '-')"
        )))
    }
}

/// DynamoDB: 3–255 letters, digits, `_`, `-` or `.`.
fn check_table_name(name: &str) -> Result<()> {
    let ok = (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{name:?} is not a DynamoDB table name (3-255 letters, digits, '_', '-' or '.')"
        )))
    }
}

impl Aws {
    /// The SQS queue of this name.
    pub fn sqs_queue(&self, name: &str, settings: Settings) -> Result<SqsQueue> {
        check_queue_name(name)?;
        Ok(SqsQueue::new(self.clone(), settings, name.to_owned(), None))
    }

    /// The SNS topic of this name, its ARN built with `account` when given (else looked up
    /// once by `ListTopics`).
    pub fn sns_topic(
        &self,
        name: &str,
        account: Option<String>,
        settings: Settings,
    ) -> Result<SnsTopic> {
        crate::topic::check_topic_name(name)?;
        if let Some(a) = &account
            && (a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(Error::invalid(format!(
                "account {a:?} is not an AWS account id (12 digits)"
            )));
        }
        Ok(SnsTopic::new(
            self.clone(),
            settings,
            name.to_owned(),
            account,
        ))
    }

    /// The S3 bucket of this name (path-style addressing when `path_style`).
    pub fn s3_bucket(&self, name: &str, settings: Settings, path_style: bool) -> Result<S3Bucket> {
        check_bucket_name(name)?;
        Ok(S3Bucket::new(
            self.clone(),
            settings,
            name.to_owned(),
            path_style,
        ))
    }

    /// The store `partition` of the DynamoDB table of this name.
    pub fn dynamodb_kv(
        &self,
        table: &str,
        partition: &str,
        settings: Settings,
    ) -> Result<DynamoKv> {
        check_table_name(table)?;
        if partition.is_empty() {
            return Err(Error::invalid(
                "the DynamoDB partition name must not be empty",
            ));
        }
        Ok(DynamoKv::new(
            self.clone(),
            settings,
            table.to_owned(),
            partition.to_owned(),
        ))
    }
}

fn with_context(url: &ResourceUrl, e: Error) -> Error {
    e.with_provider("aws").with_resource(url.to_string())
}

impl Provider for Aws {
    fn name(&self) -> &'static str {
        "aws"
    }

    fn schemes(&self) -> &'static [&'static str] {
        &["sqs", "sns", "s3", "dynamodb"]
    }

    fn open_queue(&self, url: &ResourceUrl) -> Result<Queue> {
        let open = || -> Result<Queue> {
            if url.scheme() != "sqs" {
                return Err(Error::invalid(format!("{url} is not an sqs:// URL")));
            }
            url.reject_unknown_params(&["region", "endpoint", "owner"])?;
            no_path(url)?;
            let mut queue = self.sqs_queue(&url.host(), settings(url))?;
            if let Some(owner) = url.param("owner") {
                queue = SqsQueue::new(
                    self.clone(),
                    settings(url),
                    url.host(),
                    Some(owner.to_owned()),
                );
            }
            Ok(Queue::from_driver(Arc::new(queue)))
        };
        open().map_err(|e| with_context(url, e))
    }

    fn open_topic(&self, url: &ResourceUrl) -> Result<Topic> {
        let open = || -> Result<Topic> {
            if url.scheme() != "sns" {
                return Err(Error::invalid(format!("{url} is not an sns:// URL")));
            }
            url.reject_unknown_params(&["region", "endpoint", "account"])?;
            no_path(url)?;
            let account = url.param("account").map(str::to_owned);
            Ok(Topic::new(self.sns_topic(
                &url.host(),
                account,
                settings(url),
            )?))
        };
        open().map_err(|e| with_context(url, e))
    }

    fn open_bucket(&self, url: &ResourceUrl) -> Result<Bucket> {
        let open = || -> Result<Bucket> {
            if url.scheme() != "s3" {
                return Err(Error::invalid(format!("{url} is not an s3:// URL")));
            }
            url.reject_unknown_params(&["region", "endpoint", "path_style"])?;
            no_path(url)?;
            let settings = settings(url);
            let path_style = match url.param("path_style") {
                Some("true") => true,
                Some("false") => false,
                Some(other) => {
                    return Err(Error::invalid(format!(
                        "path_style must be true or false, got {other:?}"
                    )));
                }
                // Emulators behind a custom endpoint rarely serve virtual-hosted buckets.
                None => settings.endpoint.is_some(),
            };
            Ok(Bucket::new(self.s3_bucket(
                &url.host(),
                settings,
                path_style,
            )?))
        };
        open().map_err(|e| with_context(url, e))
    }

    fn open_kv(&self, url: &ResourceUrl) -> Result<KvStore> {
        let open = || -> Result<KvStore> {
            if url.scheme() != "dynamodb" {
                return Err(Error::invalid(format!("{url} is not a dynamodb:// URL")));
            }
            url.reject_unknown_params(&["region", "endpoint", "partition"])?;
            no_path(url)?;
            let partition = url.param("partition").unwrap_or("default");
            Ok(KvStore::new(self.dynamodb_kv(
                &url.host(),
                partition,
                settings(url),
            )?))
        };
        open().map_err(|e| with_context(url, e))
    }
}
