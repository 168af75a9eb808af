//! # cloudport-aws
//!
//! The AWS provider of cloudport, on the official AWS SDK for Rust: queues on **SQS**
//! ([`SqsQueue`]), topics on **SNS** ([`SnsTopic`]), buckets on **S3** ([`S3Bucket`]),
//! key-value state on **DynamoDB** ([`DynamoKv`]). Resources open from URLs —
//!
//! | URL | resource |
//! |---|---|
//! | `sqs://QUEUE[?region=R&endpoint=URL&owner=ACCOUNT]` | an SQS queue, by name |
//! | `sns://TOPIC[?account=ACCOUNT&region=R&endpoint=URL]` | an SNS topic, by name |
//! | `s3://BUCKET[?region=R&endpoint=URL&path_style=true]` | an S3 bucket |
//! | `dynamodb://TABLE[?region=R&endpoint=URL&partition=NS]` | a DynamoDB table (schema below) |
//!
//! — and take their configuration from the standard AWS environment (`aws-config`: credentials
//! chain, `AWS_REGION`, `AWS_ENDPOINT_URL[_SQS|_SNS|_S3|_DYNAMODB]`). Clients are built lazily, once.
//!
//! A KV table has a string partition key `pk` and a string sort key `sk`: a store is one
//! partition (`partition`, default `default`), so prefix scans are ordered `begins_with` queries.
//! Enable DynamoDB TTL on attribute `expires_at` to have expired items deleted; cloudport hides
//! them on read either way.
//!
//! ```no_run
//! # async fn demo() -> cloudport_core::Result<()> {
//! use cloudport_core::{Provider, ResourceUrl};
//! let aws = cloudport_aws::Aws::from_env();
//! let queue = aws.open_queue(&ResourceUrl::parse("sqs://orders?region=eu-west-1")?)?;
//! queue.send("hello").await?;
//! # Ok(()) }
//! ```

mod blob;
mod config;
mod error;
mod kv;
mod open;
mod queue;
mod topic;

pub use blob::S3Bucket;
pub use config::{Aws, Settings};
pub use kv::DynamoKv;
pub use queue::SqsQueue;
pub use topic::SnsTopic;

/// The native SDK crates, for the escape hatch.
pub mod sdk {
    pub use aws_config;
    pub use aws_sdk_dynamodb as dynamodb;
    pub use aws_sdk_s3 as s3;
    pub use aws_sdk_sns as sns;
    pub use aws_sdk_sqs as sqs;
}
