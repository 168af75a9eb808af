//! The cost projection's arithmetic, pinned on a worked example: the quickstart's description
//! (HTTP, queue `orders` sent to and consumed, schedule `nightly-report`, bucket `receipts`
//! written, KV `orders` read and written, 256 MB) under one fixed workload, every line in cents,
//! computed by hand below.

use cloudport_cli::cost::{self, Cloud, Estimate, Price, Usage, cents, estimate, prices};

mod support {
    pub(crate) mod fixture;
}
use support::fixture::quickstart;

/// The worked example: 8M invocations of 240 ms (memory from the code: 256 MB); 3M messages of
/// 4 KiB; 1,200,400 objects written, 500,000 read, 10 GB kept; 2M KV reads, 1.2M writes of
/// 1 KiB items, 2 GB kept.
fn workload() -> Usage {
    Usage {
        messages_per_month: Some(3_000_000),
        message_bytes: 4096,
        objects_written: Some(1_200_400),
        objects_read: Some(500_000),
        object_storage_gb: Some(10.0),
        kv_reads: Some(2_000_000),
        kv_writes: Some(1_200_000),
        kv_storage_gb: Some(2.0),
        ..Usage::new(8_000_000, 240)
    }
}

/// (price, net cents) for every line, in order, and the total.
fn assert_lines(e: &Estimate, expected: &[(&Price, i64)], total_cents: i64) {
    let got: Vec<(&str, i64)> = e
        .lines
        .iter()
        .map(|l| (l.price.what, cents(l.net_usd())))
        .collect();
    let want: Vec<(&str, i64)> = expected.iter().map(|(p, c)| (p.what, *c)).collect();
    assert_eq!(got, want, "{} lines", e.cloud.name());
    assert_eq!(
        cents(e.total_usd()),
        total_cents,
        "{} total",
        e.cloud.name()
    );
}

#[test]
fn aws_worked_example() {
    let e = estimate(&quickstart(), &workload(), Cloud::Aws).expect("estimate");
    // Duration: 8,000,000 × 0.240 s × 256/1024 GB = 480,000 GB-s; 400,000 free;
    //   80,000 × $0.0000166667 = $1.333336 → 133 ¢ (gross $8.000016, free $6.66668).
    // Requests: 8M − 1M free = 7M × $0.20/1M = $1.40 → 140 ¢.
    // SQS: a 4 KiB message is one 64 KB chunk: 3M sends + 3M × (receive + delete) = 9M requests;
    //   1M free; 8M × $0.40/1M = $3.20 → 320 ¢.
    // S3: 1,200,400 PUTs × $0.005/1,000 = $6.002 → 600 ¢; 500,000 GETs × $0.0004/1,000 = $0.20;
    //   10 GB × $0.023 = $0.23.
    // DynamoDB: 1.2M writes × 1 WRU (1 KiB) × $0.625/1M = $0.75; 2M strongly consistent reads
    //   × 1 RRU (≤ 4 KB) × $0.125/1M = $0.25; 2 GB storage inside the 25 GB free.
    // Total: 1.333336 + 1.40 + 3.20 + 6.002 + 0.20 + 0.23 + 0.75 + 0.25 = $13.365336 → 1337 ¢.
    assert_lines(
        &e,
        &[
            (&prices::LAMBDA_GB_S_X86, 133),
            (&prices::LAMBDA_REQUESTS, 140),
            (&prices::SQS_REQUESTS, 320),
            (&prices::S3_PUT, 600),
            (&prices::S3_GET, 20),
            (&prices::S3_STORAGE, 23),
            (&prices::DYNAMODB_WRITES, 75),
            (&prices::DYNAMODB_READS, 25),
            (&prices::DYNAMODB_STORAGE, 0),
        ],
        1337,
    );
    let duration = &e.lines[0];
    assert_eq!(duration.quantity, 480_000.0);
    assert_eq!(duration.free, 400_000.0);
    assert_eq!(cents(duration.gross_usd()), 800);
    assert_eq!(cents(duration.free_usd()), 667);
    assert_eq!(e.lines[2].quantity, 9_000_000.0);
}

#[test]
fn azure_worked_example() {
    let e = estimate(&quickstart(), &workload(), Cloud::Azure).expect("estimate");
    // Flex Consumption: 256 MB fits the 512 MB instance: 8M × 0.240 s × 0.5 GB = 960,000 GB-s;
    //   100,000 free; 860,000 × $0.000026 = $22.36 → 2236 ¢ (gross $24.96, free $2.60).
    // Executions: 8M − 250,000 free = 7.75M × $0.40/1M = $3.10 → 310 ¢.
    // Queue: 3M Put + 3M × (Get + Delete) = 9M operations × $0.004/10,000 = $3.60 → 360 ¢.
    // Blobs: 1,200,400 writes × $0.05/10,000 = $6.002 → 600 ¢; 500,000 reads × $0.004/10,000 =
    //   $0.20; 10 GB × $0.018 = $0.18.
    // Tables: 2M + 1.2M = 3.2M transactions × $0.00036/10,000 = $0.1152 → 12 ¢; 2 GB × $0.045 =
    //   $0.09.
    // Total: 22.36 + 3.10 + 3.60 + 6.002 + 0.20 + 0.18 + 0.1152 + 0.09 = $35.6472 → 3565 ¢.
    assert_lines(
        &e,
        &[
            (&prices::FLEX_GB_S, 2236),
            (&prices::FLEX_EXECUTIONS, 310),
            (&prices::AZ_QUEUE_OPS, 360),
            (&prices::AZ_BLOB_WRITES, 600),
            (&prices::AZ_BLOB_READS, 20),
            (&prices::AZ_BLOB_STORAGE, 18),
            (&prices::AZ_TABLE_TRANSACTIONS, 12),
            (&prices::AZ_TABLE_STORAGE, 9),
        ],
        3565,
    );
    assert_eq!(cents(e.lines[0].gross_usd()), 2496);
    assert_eq!(cents(e.lines[0].free_usd()), 260);
}

#[test]
fn gcp_worked_example() {
    let e = estimate(&quickstart(), &workload(), Cloud::Gcp).expect("estimate");
    // Cloud Run: 240 ms rounds up to 300 ms: 8M × 0.3 s = 2,400,000 busy seconds.
    //   CPU: 2,400,000 vCPU-s − 180,000 free = 2,220,000 × $0.000024 = $53.28 → 5328 ¢.
    //   Memory: 2,400,000 × 0.25 GiB = 600,000 GiB-s − 360,000 free = 240,000 × $0.0000025 =
    //   $0.60 → 60 ¢.
    //   Requests: 8M − 2M free = 6M × $0.40/1M = $2.40 → 240 ¢.
    // Pub/Sub: (3M publishes + 3M pushes) × 4,096 bytes (over the 1,000-byte minimum) =
    //   24,576,000,000 bytes = 22.88818359375 GiB; 10 GiB free; 12.88818359375 × $40/1,024 =
    //   $0.5034 → 50 ¢.
    // Cloud Storage: class A (1,200,400 − 5,000 free) × $0.005/1,000 = $5.977 → 598 ¢; class B
    //   (500,000 − 50,000) × $0.0004/1,000 = $0.18; storage (10 − 5 free) GB × $0.020 = $0.10.
    // Firestore: reads (2M − 1.5M free) × $0.03/100,000 = $0.15; writes (1.2M − 600,000) ×
    //   $0.09/100,000 = $0.54; storage (2 − 1 free) GiB × $0.15 = $0.15.
    // Scheduler: 1 job, 3 free → $0.
    // Total: 53.28 + 0.60 + 2.40 + 0.5034 + 5.977 + 0.18 + 0.10 + 0.15 + 0.54 + 0.15 = $63.8804
    //   → 6388 ¢.
    assert_lines(
        &e,
        &[
            (&prices::CLOUD_RUN_VCPU_S, 5328),
            (&prices::CLOUD_RUN_GIB_S, 60),
            (&prices::CLOUD_RUN_REQUESTS, 240),
            (&prices::PUBSUB_THROUGHPUT, 50),
            (&prices::GCS_CLASS_A, 598),
            (&prices::GCS_CLASS_B, 18),
            (&prices::GCS_STORAGE, 10),
            (&prices::FIRESTORE_READS, 15),
            (&prices::FIRESTORE_WRITES, 54),
            (&prices::FIRESTORE_STORAGE, 15),
            (&prices::SCHEDULER_JOBS, 0),
        ],
        6388,
    );
    assert_eq!(e.lines[3].quantity, 22.888_183_593_75);
}

#[test]
fn volumes_default_from_triggers_and_declared_access() {
    let v = cost::volumes(&quickstart(), &Usage::new(1000, 100)).expect("volumes");
    // Memory from Limits::memory_mb; one message sent (queue `orders` is declared `send`) and
    // one delivered (it triggers the app) per invocation; one object written (bucket `receipts`:
    // write) and none read; one KV read and one write (`orders`: read, write).
    assert_eq!(v.memory_mb, 256);
    assert_eq!((v.messages_sent, v.messages_delivered), (1000, 1000));
    assert_eq!((v.objects_written, v.objects_read), (1000, 0));
    assert_eq!((v.kv_reads, v.kv_writes), (1000, 1000));
    assert_eq!(v.schedules, 1);
    assert_eq!(v.object_storage_gb, 1000.0 * 16384.0 / 1_073_741_824.0);
    assert!(v.rules.iter().any(|r| r.contains("Limits::memory_mb")));
    assert!(
        v.rules
            .iter()
            .any(|r| r.contains("queue(s) declared `send`"))
    );
}

#[test]
fn every_price_has_a_source_a_region_and_a_free_tier_statement() {
    for p in prices::ALL {
        assert!(p.source.starts_with("https://"), "{}", p.what);
        assert!(
            ["us-east-1", "eastus", "us-central1"].contains(&p.region),
            "{}",
            p.what
        );
        assert!(p.usd > 0.0 && p.per >= 1.0, "{}", p.what);
        assert!(
            !p.free_terms.is_empty() && !p.shown.is_empty(),
            "{}",
            p.what
        );
    }
    assert_eq!(prices::AS_OF, "2026-11-27");
}

#[test]
fn the_rendered_table_shows_each_cloud_its_free_tiers_and_unverified_prices() {
    let d = quickstart();
    let all: Vec<Estimate> = Cloud::ALL
        .into_iter()
        .map(|c| estimate(&d, &workload(), c).expect("estimate"))
        .collect();
    let md = cost::render(&all);
    for needle in [
        "| AWS | Lambda provided.al2023, x86_64, 256 MB | us-east-1 | $21.13 | −$7.77 | **$13.37** |",
        "**$35.65**",
        "**$63.88**",
        "| compute | Lambda duration, x86_64 | 480,000 GB-s | $0.0000166667 per GB-s | $8.00 | 400,000 GB-s: −$6.67 | $1.33 |",
        "| **Total** |",
        // Unconfirmed prices keep their mark; corroborated ones name the page read.
        "$0.15 per GiB-month †",
        "$0.03 per 100,000 reads |",
        "(seen 2026-11-27 on <https://airbyte.com/data-engineering-resources/google-firestore-pricing>)",
        "<https://aws.amazon.com/lambda/pricing/> (seen 2026-11-27)",
        "as published on 2026-11-27; verify",
    ] {
        assert!(md.contains(needle), "missing {needle:?} in\n{md}");
    }
}

#[test]
fn an_app_without_resources_costs_compute_and_requests_only() {
    let d = cloudport_cli::describe::parse(
        br#"{"cloudport_description": 1, "sdk_version": "0.1.0", "http": true,
            "any_event": false, "triggers": [], "declared": false, "resources": [], "limits": {}}"#,
    )
    .expect("parses");
    let e = estimate(&d, &Usage::new(100, 10), Cloud::Gcp).expect("estimate");
    assert_eq!(e.lines.len(), 3);
    assert_eq!(cents(e.total_usd()), 0);
    assert_eq!(e.volumes.memory_mb, 128);
    assert_eq!(e.volumes.vcpu, 1.0);
    // No memory in the code: Azure prices Flex Consumption's default 2,048 MB instance, as the
    // Azure generator deploys it.
    let azure = estimate(&d, &Usage::new(1_000_000, 1000), Cloud::Azure).expect("estimate");
    assert_eq!(azure.lines[0].quantity, 2_000_000.0);
    assert!(
        azure.platform.ends_with("2048 MB instances"),
        "{}",
        azure.platform
    );
}
