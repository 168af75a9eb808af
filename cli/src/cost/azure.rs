//! Azure: Functions on the Flex Consumption plan (on-demand), Storage queues, blobs (hot, LRS)
//! and tables (LRS).

use super::prices::*;
use super::{Category, Estimate, Line, Volumes};

/// The instance memory sizes of the Flex Consumption plan (MB).
/// <https://learn.microsoft.com/en-us/azure/azure-functions/flex-consumption-plan#instance-memory>
pub(crate) const FLEX_INSTANCE_MB: [u32; 3] = [512, 2048, 4096];

/// The instance memory when the code sets none (the plan's default).
pub(crate) const FLEX_DEFAULT_INSTANCE_MB: u32 = 2048;

/// The smallest Flex Consumption instance that holds `memory_mb` (the largest when none does).
pub(crate) fn flex_instance_mb(memory_mb: u32) -> u32 {
    FLEX_INSTANCE_MB
        .into_iter()
        .find(|&m| m >= memory_mb)
        .unwrap_or(FLEX_INSTANCE_MB[FLEX_INSTANCE_MB.len() - 1])
}

pub(super) fn estimate(v: Volumes) -> Estimate {
    let n = v.invocations as f64;
    // The Azure generator's choice (`azure::model`): the smallest instance that holds the
    // memory set, else Flex Consumption's default of 2,048 MB.
    let instance_mb = if v.memory_set {
        flex_instance_mb(v.memory_mb)
    } else {
        FLEX_DEFAULT_INSTANCE_MB
    };
    let gb_s = n * v.duration_ms as f64 / 1000.0 * f64::from(instance_mb) / 1024.0;
    let mut lines = vec![
        Line::new(Category::Compute, gb_s, &FLEX_GB_S),
        Line::new(Category::Requests, n, &FLEX_EXECUTIONS),
    ];
    if v.queues > 0 {
        // Put Message per send; Get Messages and Delete Message per delivery.
        let ops = v.messages_sent + 2 * v.messages_delivered;
        lines.push(Line::new(Category::Queue, ops as f64, &AZ_QUEUE_OPS));
    }
    if v.buckets > 0 {
        lines.push(Line::new(
            Category::Storage,
            v.objects_written as f64,
            &AZ_BLOB_WRITES,
        ));
        lines.push(Line::new(
            Category::Storage,
            v.objects_read as f64,
            &AZ_BLOB_READS,
        ));
        lines.push(Line::new(
            Category::Storage,
            v.object_storage_gb,
            &AZ_BLOB_STORAGE,
        ));
    }
    if v.kv_stores > 0 {
        let transactions = v.kv_reads + v.kv_writes;
        lines.push(Line::new(
            Category::Kv,
            transactions as f64,
            &AZ_TABLE_TRANSACTIONS,
        ));
        lines.push(Line::new(Category::Kv, v.kv_storage_gb, &AZ_TABLE_STORAGE));
    }
    let mut notes = vec![
        format!(
            "Flex Consumption bills the instance's memory ({instance_mb} MB: {}) while it executes; executions running on one instance at once share it, so one execution per instance is an upper bound.",
            if v.memory_set {
                format!("the smallest of 512, 2,048 and 4,096 MB that holds {} MB", v.memory_mb)
            } else {
                "the plan's default, the code sets no memory".to_owned()
            }
        ),
        "Not included: the Functions host's own storage account (AzureWebJobsStorage: leases, timers, the deployment package, and its polling of each queue, with back-off up to a minute when idle), Application Insights ingestion, data transfer, the poison queues.".to_owned(),
        "The legacy Consumption plan lists $0.000016 per GB-s and $0.20 per 1M executions with 400,000 GB-s and 1M executions free a month (seen 2026-11-27 on <https://modal.com/blog/azure-function-pricing-guide>; the free grant also on <https://azure.microsoft.com/en-us/pricing/details/functions/>); Linux Consumption is retired on 2028-09-30, so Flex Consumption is priced.".to_owned(),
    ];
    if v.kv_stores > 0 {
        notes.push(
            "Table Storage: one transaction per read or write; cloudport's versioned writes and deletes read the entity first (one transaction more each).".to_owned(),
        );
    }
    Estimate {
        cloud: super::Cloud::Azure,
        region: "eastus",
        platform: format!("Functions custom handler, Flex Consumption, {instance_mb} MB instances"),
        lines,
        notes,
        volumes: v,
    }
}
