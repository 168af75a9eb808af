//! Google Cloud list prices, us-central1 (Tier 1).

use super::{Price, Verification};

const CLOUD_RUN: &str = "https://cloud.google.com/run/pricing";
const PUBSUB: &str = "https://cloud.google.com/pubsub/pricing";
const GCS: &str = "https://cloud.google.com/storage/pricing";
const FIRESTORE: &str = "https://cloud.google.com/firestore/pricing";
const SCHEDULER: &str = "https://cloud.google.com/scheduler/pricing";

/// Cloud Run request-based billing, CPU.
pub const CLOUD_RUN_VCPU_S: Price = Price {
    what: "Cloud Run CPU (request-based billing)",
    usd: 0.000024,
    per: 1.0,
    unit: "vCPU-s",
    shown: "$0.000024 per vCPU-s",
    free_per_month: 180_000.0,
    free_terms: "180,000 vCPU-s a month, per billing account",
    region: "us-central1",
    source: CLOUD_RUN,
    verification: Verification::Seen,
};
/// Cloud Run request-based billing, memory.
pub const CLOUD_RUN_GIB_S: Price = Price {
    what: "Cloud Run memory (request-based billing)",
    usd: 0.0000025,
    per: 1.0,
    unit: "GiB-s",
    shown: "$0.0000025 per GiB-s",
    free_per_month: 360_000.0,
    free_terms: "360,000 GiB-s a month, per billing account",
    region: "us-central1",
    source: CLOUD_RUN,
    verification: Verification::Corroborated("https://cloudchipr.com/blog/cloud-run-pricing"),
};
/// Cloud Run requests.
pub const CLOUD_RUN_REQUESTS: Price = Price {
    what: "Cloud Run requests",
    usd: 0.40,
    per: 1_000_000.0,
    unit: "requests",
    shown: "$0.40 per 1M requests",
    free_per_month: 2_000_000.0,
    free_terms: "2M requests a month, per billing account",
    region: "us-central1",
    source: CLOUD_RUN,
    verification: Verification::Corroborated("https://cloudchipr.com/blog/cloud-run-pricing"),
};
/// Pub/Sub throughput (publish and delivery; at least 1,000 bytes per request), priced per TiB,
/// counted here in GiB.
pub const PUBSUB_THROUGHPUT: Price = Price {
    what: "Pub/Sub throughput (publish + delivery)",
    usd: 40.0,
    per: 1024.0,
    unit: "GiB",
    shown: "$40 per TiB (1,000 bytes minimum per publish or push request)",
    free_per_month: 10.0,
    free_terms: "10 GiB a month, per billing account",
    region: "us-central1",
    source: PUBSUB,
    verification: Verification::Seen,
};
/// Cloud Storage Standard class A operations (writes, lists).
pub const GCS_CLASS_A: Price = Price {
    what: "Cloud Storage class A operations",
    usd: 0.005,
    per: 1_000.0,
    unit: "operations",
    shown: "$0.005 per 1,000 operations",
    free_per_month: 5_000.0,
    free_terms: "5,000 a month, always free (us-east1, us-west1, us-central1)",
    region: "us-central1",
    source: GCS,
    verification: Verification::Seen,
};
/// Cloud Storage Standard class B operations (reads).
pub const GCS_CLASS_B: Price = Price {
    what: "Cloud Storage class B operations",
    usd: 0.0004,
    per: 1_000.0,
    unit: "operations",
    shown: "$0.0004 per 1,000 operations",
    free_per_month: 50_000.0,
    free_terms: "50,000 a month, always free (us-east1, us-west1, us-central1)",
    region: "us-central1",
    source: GCS,
    verification: Verification::Seen,
};
/// Cloud Storage Standard storage.
pub const GCS_STORAGE: Price = Price {
    what: "Cloud Storage Standard storage",
    usd: 0.020,
    per: 1.0,
    unit: "GB-month",
    shown: "$0.020 per GB-month",
    free_per_month: 5.0,
    free_terms: "5 GB-months, always free (us-east1, us-west1, us-central1)",
    region: "us-central1",
    source: GCS,
    verification: Verification::Seen,
};
/// Firestore (native mode) document reads.
pub const FIRESTORE_READS: Price = Price {
    what: "Firestore document reads",
    usd: 0.03,
    per: 100_000.0,
    unit: "reads",
    shown: "$0.03 per 100,000 reads",
    free_per_month: 1_500_000.0,
    free_terms: "50,000 a day (× 30 days), (default) database only",
    region: "us-central1",
    source: FIRESTORE,
    verification: Verification::Corroborated(
        "https://airbyte.com/data-engineering-resources/google-firestore-pricing",
    ),
};
/// Firestore (native mode) document writes.
pub const FIRESTORE_WRITES: Price = Price {
    what: "Firestore document writes",
    usd: 0.09,
    per: 100_000.0,
    unit: "writes",
    shown: "$0.09 per 100,000 writes",
    free_per_month: 600_000.0,
    free_terms: "20,000 a day (× 30 days), (default) database only",
    region: "us-central1",
    source: FIRESTORE,
    verification: Verification::Corroborated(
        "https://airbyte.com/data-engineering-resources/google-firestore-pricing",
    ),
};
/// Firestore (native mode) stored data.
// † kept: the stored Firestore pricing pages show the free quota (1 GiB) but not the
// per-location table, and no other stored page stated the us-central1 storage price.
pub const FIRESTORE_STORAGE: Price = Price {
    what: "Firestore stored data",
    usd: 0.15,
    per: 1.0,
    unit: "GiB-month",
    shown: "$0.15 per GiB-month",
    free_per_month: 1.0,
    free_terms: "1 GiB, (default) database only",
    region: "us-central1",
    source: FIRESTORE,
    verification: Verification::AsPublished,
};
/// Cloud Scheduler jobs.
pub const SCHEDULER_JOBS: Price = Price {
    what: "Cloud Scheduler jobs",
    usd: 0.10,
    per: 1.0,
    unit: "job-month",
    shown: "$0.10 per job a month",
    free_per_month: 3.0,
    free_terms: "3 jobs a month, per billing account",
    region: "us-central1",
    source: SCHEDULER,
    verification: Verification::Seen,
};
