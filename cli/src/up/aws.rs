//! AWS on moto (or LocalStack): an SQS queue per declared queue and per dead-letter queue, each
//! source queue with its `RedrivePolicy` (`maxReceiveCount` = `max_deliveries`, as the
//! CloudFormation template sets it, [`crate::aws::queue`]), an S3 bucket per bucket, a DynamoDB
//! table per KV store with the driver's `pk` / `sk` string keys ([`crate::aws::table`], created
//! by the provider's own `create_table`).
//!
//! The endpoint is `AWS_ENDPOINT_URL`, required and on this machine; the clients use static
//! placeholder credentials and `us-east-1` ([`cloudport_aws::Aws::for_emulator`]), never the
//! developer's own, and the printed settings give the app the same.

use cloudport_aws::{Aws, Settings};
use cloudport_core::env::binding_var;
use cloudport_core::{ErrorKind, ResourceKind};

use super::local::{Lookup, require};
use super::{Bindings, Error, Made, Outcome, Up, prefixed};
use crate::aws::table::query_value;
use crate::model::Model;

/// The region the emulator clients use ([`Aws::for_emulator`]): resources on moto are per region,
/// so the app must use it too.
const REGION: &str = "us-east-1";
/// The placeholder credentials the app signs with (moto checks no signature).
const PLACEHOLDER_CREDENTIAL: &str = "emulator";

#[derive(Debug)]
struct SqsQueue {
    name: String,
    native: String,
    dead_letter: Option<(String, u32)>,
}

/// What `up` creates on the AWS emulator.
#[derive(Debug)]
pub(super) struct Plan {
    endpoint: String,
    queues: Vec<SqsQueue>,
    dead_letter_only: Vec<String>,
    buckets: Vec<(String, String)>,
    tables: Vec<(String, String)>,
}

fn sdk_error<E: std::error::Error>(operation: &str, e: E) -> cloudport_core::Error {
    let text = cloudport_aws::sdk::sqs::error::DisplayErrorContext(&e).to_string();
    cloudport_core::Error::new(
        ErrorKind::Other,
        format!("{operation}: {}", cloudport_core::redact::redact(&text)),
    )
    .with_provider("aws")
}

/// An [`Error::Emulator`] for `what` from an SDK error of `operation`.
fn failed<E: std::error::Error>(what: &str, operation: &str) -> impl FnOnce(E) -> Error {
    let (what, operation) = (what.to_owned(), operation.to_owned());
    move |e| Error::emulator(what)(sdk_error(&operation, e))
}

impl Plan {
    /// Checks the endpoint and names every resource.
    pub(super) fn new(d: &Model<'_>, prefix: Option<&str>, env: Lookup<'_>) -> Result<Self, Error> {
        let endpoint = require(
            env,
            "AWS_ENDPOINT_URL",
            "moto or LocalStack",
            "http://127.0.0.1:5000",
        )?
        .trim_end_matches('/')
        .to_owned();
        let queues = d
            .queues
            .iter()
            .map(|q| SqsQueue {
                name: q.name.clone(),
                native: prefixed(prefix, &q.name),
                dead_letter: q
                    .dead_letter
                    .as_ref()
                    .map(|dl| (prefixed(prefix, &dl.queue), dl.max_deliveries)),
            })
            .collect();
        Ok(Self {
            endpoint,
            queues,
            dead_letter_only: d
                .dead_letter_only
                .iter()
                .map(|n| prefixed(prefix, n))
                .collect(),
            buckets: d
                .buckets
                .iter()
                .map(|b| {
                    (
                        b.name.clone(),
                        prefixed(prefix, &b.name)
                            .to_ascii_lowercase()
                            .replace('_', "-"),
                    )
                })
                .collect(),
            tables: d
                .stores
                .iter()
                .map(|s| (s.name.clone(), prefixed(prefix, &s.name)))
                .collect(),
        })
    }

    /// The bindings, as the CloudFormation template binds them plus `?endpoint=` (which also
    /// switches S3 to path-style addressing): `sqs://<queue>`, `s3://<bucket>`,
    /// `dynamodb://<table>?partition=<name>`; the endpoint, region and placeholder credentials.
    pub(super) fn bindings(&self) -> Bindings {
        let mut b = Bindings::default();
        let ep = &self.endpoint;
        for q in &self.queues {
            b.set(
                binding_var(ResourceKind::Queue, &q.name),
                format!("sqs://{}?endpoint={ep}", q.native),
            );
        }
        for (logical, native) in &self.buckets {
            b.set(
                binding_var(ResourceKind::Bucket, logical),
                format!("s3://{native}?endpoint={ep}"),
            );
        }
        for (logical, native) in &self.tables {
            b.set(
                binding_var(ResourceKind::Kv, logical),
                format!(
                    "dynamodb://{native}?endpoint={ep}&partition={}",
                    query_value(logical)
                ),
            );
        }
        b.set("AWS_ENDPOINT_URL", ep);
        b.set("AWS_REGION", REGION);
        b.set("AWS_ACCESS_KEY_ID", PLACEHOLDER_CREDENTIAL);
        b.set("AWS_SECRET_ACCESS_KEY", PLACEHOLDER_CREDENTIAL);
        b
    }

    fn settings(&self) -> Settings {
        Settings {
            region: None,
            endpoint: Some(self.endpoint.clone()),
        }
    }

    /// Creates what is missing: every queue, then the redrive policies (a dead-letter queue's
    /// ARN exists only once it does), buckets, tables.
    pub(super) async fn create(self) -> Result<Up, Error> {
        let aws = Aws::for_emulator(&self.endpoint);
        let mut made = Vec::new();
        let names = self
            .queues
            .iter()
            .map(|q| (q.native.as_str(), format!("queue {:?}", q.name)))
            .chain(
                self.dead_letter_only
                    .iter()
                    .map(|n| (n.as_str(), "dead-letter queue".to_owned())),
            );
        for (native, of) in names {
            made.push(self.queue(&aws, native, &of).await?);
        }
        for q in &self.queues {
            if let Some((dl, n)) = &q.dead_letter {
                made.push(self.redrive(&aws, &q.native, dl, *n).await?);
            }
        }
        for (logical, native) in &self.buckets {
            made.push(self.bucket(&aws, logical, native).await?);
        }
        for (logical, native) in &self.tables {
            let what = format!("DynamoDB table {native} (kv {logical:?}; keys pk, sk)");
            let kv = aws
                .dynamodb_kv(native, logical, self.settings())
                .map_err(Error::emulator(&what))?;
            let outcome = match kv.create_table().await {
                Ok(()) => Outcome::Created,
                Err(e) if e.kind() == ErrorKind::AlreadyExists => Outcome::Existed,
                Err(e) => return Err(Error::emulator(what)(e)),
            };
            made.push(Made { what, outcome });
        }
        Ok(Up {
            bindings: self.bindings(),
            made,
            notes: Vec::new(),
        })
    }

    async fn queue(&self, aws: &Aws, native: &str, of: &str) -> Result<Made, Error> {
        let what = format!("SQS queue {native} ({of})");
        let queue = aws
            .sqs_queue(native, self.settings())
            .map_err(Error::emulator(&what))?;
        let client = queue.client().await;
        let outcome = match client.get_queue_url().queue_name(native).send().await {
            Ok(_) => Outcome::Existed,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_queue_does_not_exist()) =>
            {
                client
                    .create_queue()
                    .queue_name(native)
                    .send()
                    .await
                    .map_err(failed(&what, "CreateQueue"))?;
                Outcome::Created
            }
            Err(e) => return Err(failed(&what, "GetQueueUrl")(e)),
        };
        Ok(Made { what, outcome })
    }

    /// Sets `source`'s redrive policy to `dead_letter` after `max` receives (again when it is set
    /// already: the same policy is a no-op).
    async fn redrive(
        &self,
        aws: &Aws,
        source: &str,
        dead_letter: &str,
        max: u32,
    ) -> Result<Made, Error> {
        use cloudport_aws::sdk::sqs::types::QueueAttributeName;
        let what = format!("redrive policy of {source}: to {dead_letter} after {max} receives");
        let client = aws
            .sqs_queue(source, self.settings())
            .map_err(Error::emulator(&what))?
            .client()
            .await
            .clone();
        let url = |name: &str| client.get_queue_url().queue_name(name).send();
        let dl_url = url(dead_letter)
            .await
            .map_err(failed(&what, "GetQueueUrl"))?;
        let arn = client
            .get_queue_attributes()
            .queue_url(dl_url.queue_url().unwrap_or_default())
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(failed(&what, "GetQueueAttributes"))?
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .unwrap_or_default();
        let policy = serde_json::json!({ "deadLetterTargetArn": arn, "maxReceiveCount": max });
        let source_url = url(source).await.map_err(failed(&what, "GetQueueUrl"))?;
        client
            .set_queue_attributes()
            .queue_url(source_url.queue_url().unwrap_or_default())
            .attributes(QueueAttributeName::RedrivePolicy, policy.to_string())
            .send()
            .await
            .map_err(failed(&what, "SetQueueAttributes"))?;
        Ok(Made {
            what,
            outcome: Outcome::Ready,
        })
    }

    async fn bucket(&self, aws: &Aws, logical: &str, native: &str) -> Result<Made, Error> {
        let what = format!("S3 bucket {native} (bucket {logical:?})");
        let bucket = aws
            .s3_bucket(native, self.settings(), true)
            .map_err(Error::emulator(&what))?;
        let client = bucket.client().await;
        // us-east-1 answers CreateBucket on one's own existing bucket with success: ask first.
        let outcome = match client.head_bucket().bucket(native).send().await {
            Ok(_) => Outcome::Existed,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {
                client
                    .create_bucket()
                    .bucket(native)
                    .send()
                    .await
                    .map_err(failed(&what, "CreateBucket"))?;
                Outcome::Created
            }
            Err(e) => return Err(failed(&what, "HeadBucket")(e)),
        };
        Ok(Made { what, outcome })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::up::quickstart;

    #[test]
    fn the_quickstart_on_moto() {
        let env = |v: &str| (v == "AWS_ENDPOINT_URL").then(|| "http://127.0.0.1:5000/".to_owned());
        let plan = Plan::new(&quickstart(), Some("t1"), &env).expect("plan");
        assert_eq!(
            plan.queues[0].dead_letter,
            Some(("t1-orders-dlq".into(), 5))
        );
        assert_eq!(plan.dead_letter_only, ["t1-orders-dlq"]);
        assert_eq!(
            plan.bindings().dotenv(),
            "AWS_ACCESS_KEY_ID=emulator\n\
             AWS_ENDPOINT_URL=http://127.0.0.1:5000\n\
             AWS_REGION=us-east-1\n\
             AWS_SECRET_ACCESS_KEY=emulator\n\
             CLOUDPORT_BUCKET_RECEIPTS='s3://t1-receipts?endpoint=http://127.0.0.1:5000'\n\
             CLOUDPORT_KV_ORDERS='dynamodb://t1-orders?endpoint=http://127.0.0.1:5000&partition=orders'\n\
             CLOUDPORT_QUEUE_ORDERS='sqs://t1-orders?endpoint=http://127.0.0.1:5000'\n"
        );
    }

    #[test]
    fn a_real_endpoint_or_none_is_refused() {
        let remote = |v: &str| {
            (v == "AWS_ENDPOINT_URL").then(|| "https://sqs.us-east-1.amazonaws.com".to_owned())
        };
        assert!(matches!(
            Plan::new(&quickstart(), None, &remote),
            Err(Error::NotLoopback { .. })
        ));
        let unset = |_: &str| None;
        assert!(matches!(
            Plan::new(&quickstart(), None, &unset),
            Err(Error::MissingEndpoint { .. })
        ));
    }
}
