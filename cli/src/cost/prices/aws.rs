//! AWS list prices, us-east-1.

use super::{Price, Verification};
use crate::aws::observability::{
    ARM64_USD_PER_GB_SECOND, USD_PER_REQUEST, X86_64_USD_PER_GB_SECOND,
};

const LAMBDA: &str = "https://aws.amazon.com/lambda/pricing/";
const SQS: &str = "https://aws.amazon.com/sqs/pricing/";
const S3: &str = "https://aws.amazon.com/s3/pricing/";
const DYNAMODB: &str = "https://aws.amazon.com/dynamodb/pricing/on-demand/";

/// Lambda duration, x86_64 (the constant the AWS dashboard uses too).
pub const LAMBDA_GB_S_X86: Price = Price {
    what: "Lambda duration, x86_64",
    usd: X86_64_USD_PER_GB_SECOND,
    per: 1.0,
    unit: "GB-s",
    shown: "$0.0000166667 per GB-s",
    free_per_month: 400_000.0,
    free_terms: "400,000 GB-s a month, always free, per account (x86_64 and arm64 together)",
    region: "us-east-1",
    source: LAMBDA,
    verification: Verification::Seen,
};
/// Lambda duration, arm64.
pub const LAMBDA_GB_S_ARM: Price = Price {
    what: "Lambda duration, arm64",
    usd: ARM64_USD_PER_GB_SECOND,
    per: 1.0,
    unit: "GB-s",
    shown: "$0.0000133334 per GB-s",
    free_per_month: 400_000.0,
    free_terms: "400,000 GB-s a month, always free, per account (x86_64 and arm64 together)",
    region: "us-east-1",
    source: LAMBDA,
    verification: Verification::Corroborated("https://cloudchipr.com/blog/aws-lambda-pricing"),
};
/// Lambda requests.
pub const LAMBDA_REQUESTS: Price = Price {
    what: "Lambda requests",
    usd: USD_PER_REQUEST * 1_000_000.0,
    per: 1_000_000.0,
    unit: "requests",
    shown: "$0.20 per 1M requests",
    free_per_month: 1_000_000.0,
    free_terms: "1M requests a month, always free, per account",
    region: "us-east-1",
    source: LAMBDA,
    verification: Verification::Seen,
};
/// SQS standard queue requests (every 64 KB chunk of a payload is a request).
pub const SQS_REQUESTS: Price = Price {
    what: "SQS standard requests (64 KB chunks)",
    usd: 0.40,
    per: 1_000_000.0,
    unit: "requests",
    shown: "$0.40 per 1M requests",
    free_per_month: 1_000_000.0,
    free_terms: "1M requests a month, always free, per account",
    region: "us-east-1",
    source: SQS,
    verification: Verification::Corroborated("https://cloudburn.io/blog/amazon-sqs-pricing"),
};
/// S3 Standard PUT, COPY, POST, LIST requests.
pub const S3_PUT: Price = Price {
    what: "S3 Standard PUT/COPY/POST/LIST requests",
    usd: 0.005,
    per: 1_000.0,
    unit: "requests",
    shown: "$0.005 per 1,000 requests",
    free_per_month: 0.0,
    free_terms: "none always free (the new-account free tier is not counted)",
    region: "us-east-1",
    source: S3,
    verification: Verification::Corroborated(
        "https://devnotes.tech/understanding-aws-s3-pricing-a-complete-cost-breakdown-with-examples",
    ),
};
/// S3 Standard GET, SELECT and other requests.
pub const S3_GET: Price = Price {
    what: "S3 Standard GET requests",
    usd: 0.0004,
    per: 1_000.0,
    unit: "requests",
    shown: "$0.0004 per 1,000 requests",
    free_per_month: 0.0,
    free_terms: "none always free (the new-account free tier is not counted)",
    region: "us-east-1",
    source: S3,
    verification: Verification::Corroborated(
        "https://devnotes.tech/understanding-aws-s3-pricing-a-complete-cost-breakdown-with-examples",
    ),
};
/// S3 Standard storage, first 50 TB.
pub const S3_STORAGE: Price = Price {
    what: "S3 Standard storage",
    usd: 0.023,
    per: 1.0,
    unit: "GB-month",
    shown: "$0.023 per GB-month (first 50 TB)",
    free_per_month: 0.0,
    free_terms: "none always free (the new-account free tier is not counted)",
    region: "us-east-1",
    source: S3,
    verification: Verification::Corroborated(
        "https://devnotes.tech/understanding-aws-s3-pricing-a-complete-cost-breakdown-with-examples",
    ),
};
/// DynamoDB on-demand write request units (1 KB each).
// † kept: no stored copy of the on-demand pricing page was found, and the one guide found
// (infratally.com, "as of 2025") gives $0.25 per 1M read request units, which disagrees with
// this table's $0.125 (AWS's November 2024 on-demand price cut); unresolved here.
pub const DYNAMODB_WRITES: Price = Price {
    what: "DynamoDB on-demand write request units",
    usd: 0.625,
    per: 1_000_000.0,
    unit: "WRU",
    shown: "$0.625 per 1M write request units",
    free_per_month: 0.0,
    free_terms: "none (the free tier's capacity units are provisioned mode only)",
    region: "us-east-1",
    source: DYNAMODB,
    verification: Verification::AsPublished,
};
/// DynamoDB on-demand read request units (a strongly consistent read of up to 4 KB each).
// † kept: no stored copy of the on-demand pricing page was found, and the one guide found
// (infratally.com, "as of 2025") gives $0.25 per 1M read request units, which disagrees with
// this table's $0.125 (AWS's November 2024 on-demand price cut); unresolved here.
pub const DYNAMODB_READS: Price = Price {
    what: "DynamoDB on-demand read request units",
    usd: 0.125,
    per: 1_000_000.0,
    unit: "RRU",
    shown: "$0.125 per 1M read request units",
    free_per_month: 0.0,
    free_terms: "none (the free tier's capacity units are provisioned mode only)",
    region: "us-east-1",
    source: DYNAMODB,
    verification: Verification::AsPublished,
};
/// DynamoDB Standard table class storage.
pub const DYNAMODB_STORAGE: Price = Price {
    what: "DynamoDB storage",
    usd: 0.25,
    per: 1.0,
    unit: "GB-month",
    shown: "$0.25 per GB-month",
    free_per_month: 25.0,
    free_terms: "25 GB, always free, per account and region",
    region: "us-east-1",
    source: DYNAMODB,
    verification: Verification::Corroborated("https://aws.amazon.com/dynamodb/pricing/"),
};
