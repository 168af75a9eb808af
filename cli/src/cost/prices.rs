//! The list prices the projection uses, one constant per price, each with its region, its source
//! page, the date it was read and whether it was seen on that page.
//!
//! Regions: AWS `us-east-1`, Azure `eastus`, Google Cloud `us-central1` (Tier 1). Prices are the
//! first tier of each meter; larger volumes get cheaper tiers, so a projection above the first
//! tier overstates. "GB" means 2^30 bytes, as the clouds bill storage.
//!
//! [`Verification::Seen`] prices were read on the source page (or its official mirror) on
//! [`AS_OF`]; [`Verification::Corroborated`] prices were read on [`AS_OF`] on another public
//! page, named with the price (the official page's stored copy did not show the number);
//! [`Verification::AsPublished`] prices are the published list price as known on that date but
//! no page read confirmed them: verify them before relying on the number (the rendered table
//! marks them `†`, and each constant's comment says why it is unconfirmed).

mod aws;
mod azure;
mod gcp;

pub use aws::*;
pub use azure::*;
pub use gcp::*;

/// The date the prices were collected.
pub const AS_OF: &str = "2026-11-27";

/// Whether a price was seen on its source page on [`AS_OF`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Read on the source page on [`AS_OF`].
    Seen,
    /// Read on [`AS_OF`] on this other public page (a dated guide or an official mirror), the
    /// source page's stored copy not showing the number.
    Corroborated(&'static str),
    /// The published list price as known on [`AS_OF`], not re-read: "as published; verify".
    AsPublished,
}

/// One list price and its free tier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    /// What is billed.
    pub what: &'static str,
    /// USD for [`per`](Self::per) units.
    pub usd: f64,
    /// How many units [`usd`](Self::usd) buys (1, 1,000, 10,000, 1,000,000, …).
    pub per: f64,
    /// The unit (`GB-s`, `requests`, `GB-month`, …).
    pub unit: &'static str,
    /// The price as the source states it.
    pub shown: &'static str,
    /// Units free every month (0 when there is no always-free tier).
    pub free_per_month: f64,
    /// The free tier's terms.
    pub free_terms: &'static str,
    /// The region.
    pub region: &'static str,
    /// The page that states it.
    pub source: &'static str,
    /// Whether it was seen there on [`AS_OF`].
    pub verification: Verification,
}

impl Price {
    /// USD for `quantity` units.
    ///
    /// ```
    /// use cloudport_cli::cost::prices::LAMBDA_REQUESTS;
    /// assert!((LAMBDA_REQUESTS.usd_for(2_000_000.0) - 0.40).abs() < 1e-9);
    /// ```
    pub fn usd_for(&self, quantity: f64) -> f64 {
        quantity * self.usd / self.per
    }
}

/// Every price, for listing and for checks.
pub const ALL: &[&Price] = &[
    &LAMBDA_GB_S_X86,
    &LAMBDA_GB_S_ARM,
    &LAMBDA_REQUESTS,
    &SQS_REQUESTS,
    &S3_PUT,
    &S3_GET,
    &S3_STORAGE,
    &DYNAMODB_WRITES,
    &DYNAMODB_READS,
    &DYNAMODB_STORAGE,
    &FLEX_GB_S,
    &FLEX_EXECUTIONS,
    &AZ_QUEUE_OPS,
    &AZ_BLOB_WRITES,
    &AZ_BLOB_READS,
    &AZ_BLOB_STORAGE,
    &AZ_TABLE_TRANSACTIONS,
    &AZ_TABLE_STORAGE,
    &CLOUD_RUN_VCPU_S,
    &CLOUD_RUN_GIB_S,
    &CLOUD_RUN_REQUESTS,
    &PUBSUB_THROUGHPUT,
    &GCS_CLASS_A,
    &GCS_CLASS_B,
    &GCS_STORAGE,
    &FIRESTORE_READS,
    &FIRESTORE_WRITES,
    &FIRESTORE_STORAGE,
    &SCHEDULER_JOBS,
];
