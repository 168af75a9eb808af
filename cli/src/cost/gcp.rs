//! Google Cloud: Cloud Run (request-based billing), Pub/Sub, Cloud Storage Standard, Firestore
//! (native mode), Cloud Scheduler.

use super::prices::*;
use super::usage::GB;
use super::{Category, Estimate, Line, Volumes};

/// Pub/Sub bills at least this many bytes per publish, push or pull request.
pub(crate) const PUBSUB_MIN_BYTES: u64 = 1000;
/// Cloud Run rounds billable time up to 100 ms.
const CLOUD_RUN_ROUNDING_MS: u64 = 100;

pub(super) fn estimate(v: Volumes) -> Estimate {
    let n = v.invocations as f64;
    let seconds = v.duration_ms.div_ceil(CLOUD_RUN_ROUNDING_MS) * CLOUD_RUN_ROUNDING_MS;
    let busy_s = n * seconds as f64 / 1000.0;
    let mut lines = vec![
        Line::new(Category::Compute, busy_s * v.vcpu, &CLOUD_RUN_VCPU_S),
        Line::new(
            Category::Compute,
            busy_s * f64::from(v.memory_mb) / 1024.0,
            &CLOUD_RUN_GIB_S,
        ),
        Line::new(Category::Requests, n, &CLOUD_RUN_REQUESTS),
    ];
    if v.queues > 0 {
        // One message per publish request and per push request, each at least 1,000 bytes.
        let per_request = v.message_bytes.max(PUBSUB_MIN_BYTES);
        let bytes = (v.messages_sent + v.messages_delivered) * per_request;
        lines.push(Line::new(
            Category::Queue,
            bytes as f64 / GB,
            &PUBSUB_THROUGHPUT,
        ));
    }
    if v.buckets > 0 {
        lines.push(Line::new(
            Category::Storage,
            v.objects_written as f64,
            &GCS_CLASS_A,
        ));
        lines.push(Line::new(
            Category::Storage,
            v.objects_read as f64,
            &GCS_CLASS_B,
        ));
        lines.push(Line::new(
            Category::Storage,
            v.object_storage_gb,
            &GCS_STORAGE,
        ));
    }
    if v.kv_stores > 0 {
        lines.push(Line::new(Category::Kv, v.kv_reads as f64, &FIRESTORE_READS));
        lines.push(Line::new(
            Category::Kv,
            v.kv_writes as f64,
            &FIRESTORE_WRITES,
        ));
        lines.push(Line::new(Category::Kv, v.kv_storage_gb, &FIRESTORE_STORAGE));
    }
    if v.schedules > 0 {
        lines.push(Line::new(
            Category::Schedules,
            v.schedules as f64,
            &SCHEDULER_JOBS,
        ));
    }
    let mut notes = vec![
        format!(
            "Cloud Run request-based billing: each invocation's {} ms rounded up to {seconds} ms, {} vCPU, one request per instance at a time (an upper bound: concurrent requests share an instance).",
            v.duration_ms, v.vcpu
        ),
        "Not included: Cloud Logging beyond its free allotment, Artifact Registry storage of the image, Eventarc, Cloud Monitoring, data transfer.".to_owned(),
    ];
    if v.queues > 0 {
        notes.push(format!(
            "Pub/Sub: one message per publish and per push request, each billed at least {PUBSUB_MIN_BYTES} bytes; acknowledging a push is its HTTP answer (no charge)."
        ));
    }
    if v.kv_stores > 0 {
        notes.push(
            "Firestore: the free quota is daily (50,000 reads, 20,000 writes), for the (default) database only, spread here over 30 days; cloudport's versioned writes and deletes read the document first (one read more each).".to_owned(),
        );
    }
    Estimate {
        cloud: super::Cloud::Gcp,
        region: "us-central1",
        platform: format!("Cloud Run, {} vCPU, {} MiB", v.vcpu, v.memory_mb),
        lines,
        notes,
        volumes: v,
    }
}
