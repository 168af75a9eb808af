//! Topics on Amazon SNS: `Publish` / `PublishBatch` of each event in the CloudEvents SNS
//! binding's structured mode — the event as one JSON document in `Message`
//! ("Amazon SNS Transport Binding for CloudEvents", working draft,
//! <https://github.com/cloudevents/spec/pull/576>; the JSON format:
//! <https://github.com/cloudevents/spec/blob/main/cloudevents/formats/json-format.md>). Every
//! subscriber reads the event whole: a Lambda subscription (the Lambda host delivers a
//! `Message` that is a structured CloudEvent as that event), an SQS subscription with raw
//! message delivery (the body is the event) or without (the SNS envelope's `Message` is), an
//! HTTP one. Subscription filter policies can match the event's fields with
//! `FilterPolicyScope: MessageBody`
//! (<https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering-scope.html>).
//!
//! Limits (<https://docs.aws.amazon.com/sns/latest/api/API_Publish.html>,
//! <https://docs.aws.amazon.com/sns/latest/api/API_PublishBatch.html>): a message of at most
//! 262,144 bytes; ten entries and 262,144 bytes in all per `PublishBatch`. Extensions ride in the
//! JSON, so SNS's ten message attributes do not bound them.
//!
//! The topic ARN is built from the name, the region and `account` when the URL gives one
//! (`sns://orders?account=123456789012`: what deployment binds, no lookup, no extra permission);
//! without it, it is looked up once by `ListTopics` (needs `sns:ListTopics`).

use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::types::PublishBatchRequestEntry;
use cloudport_core::export::cloudevents;
use cloudport_core::topic::wire::to_structured;
use cloudport_core::{Error, ErrorKind, Result, TopicCapabilities, TopicDriver};
use tokio::sync::OnceCell;

use crate::error::{batch_entry_error, batch_results, batch_slot, from_sdk};
use crate::{Aws, Settings};

/// SNS's message limit, and the most bytes one `PublishBatch` takes in all.
const MAX_MESSAGE_BYTES: usize = 262_144;

/// An SNS topic.
pub struct SnsTopic {
    aws: Aws,
    settings: Settings,
    name: String,
    account: Option<String>,
    client: OnceCell<Client>,
    arn: OnceCell<String>,
    capabilities: TopicCapabilities,
}

impl std::fmt::Debug for SnsTopic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnsTopic")
            .field("settings", &self.settings)
            .field("name", &self.name)
            .field("account", &self.account)
            .field("open", &self.client.initialized())
            .finish_non_exhaustive()
    }
}

/// SNS: 1–256 ASCII letters, digits, `-` or `_`; a FIFO topic's name ends in `.fifo`
/// (<https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html>). FIFO topics need a
/// message group id per event, which the portable topic does not carry yet: refused.
pub(crate) fn check_topic_name(name: &str) -> Result<()> {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    let ok = (1..=256).contains(&name.len())
        && !base.is_empty()
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        return Err(Error::invalid(format!(
            "{name:?} is not an SNS topic name (1-256 letters, digits, '-' or '_', optionally ending in .fifo)"
        )));
    }
    if base.len() != name.len() {
        return Err(Error::unsupported(format!(
            "{name:?} is an SNS FIFO topic, which needs a message group id per event; cloudport publishes to standard topics only"
        )));
    }
    Ok(())
}

/// The partition of a region (`aws`, `aws-cn`, `aws-us-gov`), for building ARNs:
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html>.
fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// SNS's error codes that the shared mapping does not name
/// (<https://docs.aws.amazon.com/sns/latest/api/CommonErrors.html>, API_Publish "Errors").
fn refine(err: Error) -> Error {
    use aws_sdk_sns::error::ProvideErrorMetadata;
    let code = err
        .native::<aws_sdk_sns::error::SdkError<aws_sdk_sns::operation::publish_batch::PublishBatchError>>()
        .and_then(|e| e.code().map(str::to_owned));
    match code.as_deref() {
        Some("Throttled") => {
            Error::new(ErrorKind::RateLimited, err.message().to_owned()).with_provider("aws")
        }
        Some("AuthorizationError") => {
            Error::new(ErrorKind::PermissionDenied, err.message().to_owned()).with_provider("aws")
        }
        _ => err,
    }
}

impl SnsTopic {
    pub(crate) fn new(aws: Aws, settings: Settings, name: String, account: Option<String>) -> Self {
        Self {
            aws,
            settings,
            name,
            account,
            client: OnceCell::new(),
            arn: OnceCell::new(),
            capabilities: TopicCapabilities {
                max_event_bytes: MAX_MESSAGE_BYTES,
                max_extensions: usize::MAX,
                max_extension_bytes: MAX_MESSAGE_BYTES,
                max_batch: 10,
                max_batch_bytes: MAX_MESSAGE_BYTES,
            },
        }
    }

    /// The SNS client (the escape hatch), built once; the SDK's own retry is off.
    pub async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let base = self.aws.sdk_config().await;
                let mut b = aws_sdk_sns::config::Builder::from(base)
                    .retry_config(aws_sdk_sns::config::retry::RetryConfig::disabled());
                if let Some(r) = &self.settings.region {
                    b = b.region(aws_sdk_sns::config::Region::new(r.clone()));
                }
                if let Some(e) = &self.settings.endpoint {
                    b = b.endpoint_url(e.clone());
                }
                Client::from_conf(b.build())
            })
            .await
    }

    /// The topic's ARN: built from the account, or looked up once by name.
    pub async fn arn(&self) -> Result<&str> {
        self.arn
            .get_or_try_init(|| async {
                let client = self.client().await;
                let region = client
                    .config()
                    .region()
                    .map(|r| r.as_ref().to_owned())
                    .ok_or_else(|| {
                        Error::invalid("no AWS region: set AWS_REGION or the URL's region")
                    })?;
                if let Some(account) = &self.account {
                    return Ok(format!(
                        "arn:{}:sns:{region}:{account}:{}",
                        partition(&region),
                        self.name
                    ));
                }
                let suffix = format!(":{}", self.name);
                let mut pages = client.list_topics().into_paginator().items().send();
                while let Some(topic) = pages.next().await {
                    let topic = topic.map_err(from_sdk)?;
                    if let Some(arn) = topic.topic_arn.filter(|a| a.ends_with(&suffix)) {
                        return Ok(arn);
                    }
                }
                Err(Error::new(
                    ErrorKind::NotFound,
                    format!("no SNS topic named {:?} in {region}", self.name),
                ))
            })
            .await
            .map(String::as_str)
    }
}

#[async_trait]
impl TopicDriver for SnsTopic {
    fn provider(&self) -> &'static str {
        "aws"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> &TopicCapabilities {
        &self.capabilities
    }

    async fn publish_batch(&self, events: &[cloudevents::Event]) -> Result<Vec<Result<String>>> {
        let mut results: Vec<Option<Result<String>>> = Vec::with_capacity(events.len());
        let mut entries = Vec::with_capacity(events.len());
        for (i, event) in events.iter().enumerate() {
            let built = to_structured(event).and_then(|body| {
                let message = String::from_utf8(body)
                    .map_err(|e| Error::invalid(format!("the event is not UTF-8 JSON: {e}")))?;
                if message.len() > MAX_MESSAGE_BYTES {
                    return Err(Error::new(
                        ErrorKind::TooLarge,
                        format!(
                            "the event is {} bytes; SNS takes {MAX_MESSAGE_BYTES}",
                            message.len()
                        ),
                    ));
                }
                PublishBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message(message)
                    .build()
                    .map_err(|e| Error::invalid(format!("SNS entry: {e}")))
            });
            match built {
                Ok(entry) => {
                    entries.push(entry);
                    results.push(None);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        if entries.is_empty() {
            return Ok(results.into_iter().flatten().collect());
        }
        let arn = self.arn().await?;
        let out = self
            .client()
            .await
            .publish_batch()
            .topic_arn(arn)
            .set_publish_batch_request_entries(Some(entries))
            .send()
            .await
            .map_err(|e| refine(from_sdk(e)))?;
        for ok in out.successful.unwrap_or_default() {
            if let (Some(id), Some(message_id)) = (ok.id, ok.message_id)
                && let Some(slot) = batch_slot(&mut results, &id)
            {
                *slot = Some(Ok(message_id));
            }
        }
        for failed in out.failed.unwrap_or_default() {
            if let Some(slot) = batch_slot(&mut results, &failed.id) {
                *slot = Some(Err(batch_entry_error(
                    &failed.code,
                    failed.message,
                    failed.sender_fault,
                )));
            }
        }
        Ok(batch_results(results, "SNS"))
    }
}
