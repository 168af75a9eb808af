//! Azure list prices, eastus.

use super::{Price, Verification};

const AZ_FUNCTIONS: &str = "https://azure.microsoft.com/en-us/pricing/details/functions/";
const AZ_QUEUES: &str = "https://azure.microsoft.com/en-us/pricing/details/storage/queues/";
const AZ_BLOBS: &str = "https://azure.microsoft.com/en-us/pricing/details/storage/blobs/";
const AZ_TABLES: &str = "https://azure.microsoft.com/en-us/pricing/details/storage/tables/";

/// Azure Functions Flex Consumption, on-demand execution time.
pub const FLEX_GB_S: Price = Price {
    what: "Functions Flex Consumption on-demand execution time",
    usd: 0.000026,
    per: 1.0,
    unit: "GB-s",
    shown: "$0.000026 per GB-s",
    free_per_month: 100_000.0,
    free_terms: "100,000 GB-s a month of on-demand execution, per subscription",
    region: "eastus",
    source: AZ_FUNCTIONS,
    verification: Verification::Corroborated("https://modal.com/blog/azure-function-pricing-guide"),
};
/// Azure Functions Flex Consumption, on-demand executions.
// † kept: the stored copies of azure.microsoft.com pricing pages show no numbers (the page
// fills them in client-side: "$-/GB-s"), and no other stored page stated this price.
pub const FLEX_EXECUTIONS: Price = Price {
    what: "Functions Flex Consumption on-demand executions",
    usd: 0.40,
    per: 1_000_000.0,
    unit: "executions",
    shown: "$0.40 per 1M executions",
    free_per_month: 250_000.0,
    free_terms: "250,000 executions a month, per subscription",
    region: "eastus",
    source: AZ_FUNCTIONS,
    verification: Verification::AsPublished,
};
/// Azure Queue Storage operations (GPv2, LRS).
// † kept: the stored copies of azure.microsoft.com pricing pages show no numbers (the page
// fills them in client-side: "$-/GB-s"), and no other stored page stated this price.
pub const AZ_QUEUE_OPS: Price = Price {
    what: "Queue Storage operations (GPv2, LRS)",
    usd: 0.004,
    per: 10_000.0,
    unit: "operations",
    shown: "$0.004 per 10,000 operations",
    free_per_month: 0.0,
    free_terms: "none",
    region: "eastus",
    source: AZ_QUEUES,
    verification: Verification::AsPublished,
};
/// Azure Blob Storage hot tier write operations (GPv2, LRS).
// † kept: the stored copies of azure.microsoft.com pricing pages show no numbers (the page
// fills them in client-side: "$-/GB-s"), and no other stored page stated this price.
pub const AZ_BLOB_WRITES: Price = Price {
    what: "Blob Storage hot write operations",
    usd: 0.05,
    per: 10_000.0,
    unit: "operations",
    shown: "$0.05 per 10,000 operations",
    free_per_month: 0.0,
    free_terms: "none",
    region: "eastus",
    source: AZ_BLOBS,
    verification: Verification::AsPublished,
};
/// Azure Blob Storage hot tier read operations (GPv2, LRS).
// † kept: the stored copies of azure.microsoft.com pricing pages show no numbers (the page
// fills them in client-side: "$-/GB-s"), and no other stored page stated this price.
pub const AZ_BLOB_READS: Price = Price {
    what: "Blob Storage hot read operations",
    usd: 0.004,
    per: 10_000.0,
    unit: "operations",
    shown: "$0.004 per 10,000 operations",
    free_per_month: 0.0,
    free_terms: "none",
    region: "eastus",
    source: AZ_BLOBS,
    verification: Verification::AsPublished,
};
/// Azure Blob Storage hot tier capacity (LRS, first 50 TB).
// † kept: the stored copies of azure.microsoft.com pricing pages show no numbers (the page
// fills them in client-side: "$-/GB-s"), and no other stored page stated this price.
pub const AZ_BLOB_STORAGE: Price = Price {
    what: "Blob Storage hot capacity (LRS)",
    usd: 0.018,
    per: 1.0,
    unit: "GB-month",
    shown: "$0.018 per GB-month (first 50 TB)",
    free_per_month: 0.0,
    free_terms: "none",
    region: "eastus",
    source: AZ_BLOBS,
    verification: Verification::AsPublished,
};
/// Azure Table Storage transactions (LRS).
// † kept: the stored copies of azure.microsoft.com pricing pages show no numbers (the page
// fills them in client-side: "$-/GB-s"), and no other stored page stated this price.
pub const AZ_TABLE_TRANSACTIONS: Price = Price {
    what: "Table Storage transactions",
    usd: 0.00036,
    per: 10_000.0,
    unit: "transactions",
    shown: "$0.00036 per 10,000 transactions",
    free_per_month: 0.0,
    free_terms: "none",
    region: "eastus",
    source: AZ_TABLES,
    verification: Verification::AsPublished,
};
/// Azure Table Storage capacity (LRS).
// † kept: the stored copies of azure.microsoft.com pricing pages show no numbers (the page
// fills them in client-side: "$-/GB-s"), and no other stored page stated this price.
pub const AZ_TABLE_STORAGE: Price = Price {
    what: "Table Storage capacity (LRS)",
    usd: 0.045,
    per: 1.0,
    unit: "GB-month",
    shown: "$0.045 per GB-month",
    free_per_month: 0.0,
    free_terms: "none",
    region: "eastus",
    source: AZ_TABLES,
    verification: Verification::AsPublished,
};
