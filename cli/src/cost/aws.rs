//! AWS: Lambda (`provided.al2023`), SQS standard queues, S3 Standard, DynamoDB on demand.

use super::prices::*;
use super::{Category, Estimate, Line, Volumes};
use crate::args::Arch;

/// The SQS payload chunk: every 64 KB of a request's payload is billed as one request.
const SQS_CHUNK_BYTES: u64 = 64 * 1024;
/// A write request unit covers 1 KB; a strongly consistent read request unit 4 KB.
const WRU_BYTES: u64 = 1024;
const RRU_BYTES: u64 = 4 * 1024;

pub(super) fn estimate(v: Volumes) -> Estimate {
    let n = v.invocations as f64;
    let gb_s = n * v.duration_ms as f64 / 1000.0 * f64::from(v.memory_mb) / 1024.0;
    let duration = match v.arch {
        Arch::X86_64 => &LAMBDA_GB_S_X86,
        Arch::Arm64 => &LAMBDA_GB_S_ARM,
    };
    let mut lines = vec![
        Line::new(Category::Compute, gb_s, duration),
        Line::new(Category::Requests, n, &LAMBDA_REQUESTS),
    ];
    if v.queues > 0 {
        let chunks = v.message_bytes.div_ceil(SQS_CHUNK_BYTES).max(1);
        // A send per message; a receive and a delete per delivered message.
        let requests = v.messages_sent * chunks + v.messages_delivered * (chunks + 1);
        lines.push(Line::new(Category::Queue, requests as f64, &SQS_REQUESTS));
    }
    if v.buckets > 0 {
        lines.push(Line::new(
            Category::Storage,
            v.objects_written as f64,
            &S3_PUT,
        ));
        lines.push(Line::new(Category::Storage, v.objects_read as f64, &S3_GET));
        lines.push(Line::new(
            Category::Storage,
            v.object_storage_gb,
            &S3_STORAGE,
        ));
    }
    if v.kv_stores > 0 {
        let wru = v.kv_writes * v.item_bytes.div_ceil(WRU_BYTES).max(1);
        let rru = v.kv_reads * v.item_bytes.div_ceil(RRU_BYTES).max(1);
        lines.push(Line::new(Category::Kv, wru as f64, &DYNAMODB_WRITES));
        lines.push(Line::new(Category::Kv, rru as f64, &DYNAMODB_READS));
        lines.push(Line::new(Category::Kv, v.kv_storage_gb, &DYNAMODB_STORAGE));
    }
    let mut notes = vec![
        "Lambda bills duration per 1 ms; on provided.al2023 the init phase of a cold start is billed too: include it in the average duration.".to_owned(),
        "Not included: CloudWatch Logs ingestion and storage (every log line), the dashboard and alarms, X-Ray traces, data transfer out, the function's asynchronous dead-letter queue.".to_owned(),
    ];
    if v.queues > 0 {
        notes.push(format!(
            "SQS: every {} KB of a message is one request; one receive per message is counted, though the event source mapping receives up to 10 a request; its long polling of an idle queue also makes (empty, billable) receives, which the free tier usually covers.",
            SQS_CHUNK_BYTES / 1024
        ));
    }
    if v.kv_stores > 0 {
        notes.push(
            "DynamoDB: cloudport reads strongly consistently (one RRU per 4 KB); a conditional write that fails still consumes its WRUs.".to_owned(),
        );
    }
    Estimate {
        cloud: super::Cloud::Aws,
        region: "us-east-1",
        platform: format!(
            "Lambda provided.al2023, {}, {} MB",
            v.arch.lambda_name(),
            v.memory_mb
        ),
        lines,
        notes,
        volumes: v,
    }
}
