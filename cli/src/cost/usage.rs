//! The workload a projection is for ([`Usage`]: what the user knows) and the monthly volumes it
//! implies on the app's resources ([`Volumes`]: what the price tables are applied to).
//!
//! What the user does not give is derived from the app's description, per resource, one rule
//! each (the rendered projection lists the rules it applied):
//!
//! | volume | default |
//! |---|---|
//! | memory | `Limits::memory_mb`, else 128 MB (the generators' default) |
//! | messages sent | one per invocation for each queue declared `send` |
//! | messages delivered | one per invocation for each queue the app consumes (a queue trigger or `consume`): one receive and one delete each |
//! | objects written | one per invocation for each bucket declared `write` |
//! | objects read | one per invocation for each bucket declared `read` (a blob trigger implies it) |
//! | object storage | one month of writes kept: objects written × object size (16 KiB) |
//! | KV reads | one per invocation for each store declared `read` |
//! | KV writes | one per invocation for each store declared `write` |
//! | KV storage | one month of writes kept as distinct items: KV writes × item size (1 KiB) |
//!
//! The per-invocation rules count every invocation (HTTP, queue, schedule) against every
//! resource, so they overstate an app whose triggers touch different resources: give the volumes
//! you know. `--messages N` is the app's messages a month, all queues together: each is sent once
//! (when the app sends) and delivered once (when it consumes).

use cloudport_core::app::{Description, TriggerDescription};

use super::render::group;
use crate::args::Arch;
use crate::aws::function::DEFAULT_MEMORY_MB;
use crate::{Error, Result};

/// Bytes in a GB as the clouds bill storage (2^30).
pub const GB: f64 = 1_073_741_824.0;

/// The workload: invocations, duration and memory, and any resource volume known. `None` volumes
/// are derived from the description ([module docs](self)).
///
/// ```
/// use cloudport_cli::cost::Usage;
/// let u = Usage::new(1_000_000, 120).memory_mb(512).messages(250_000);
/// assert_eq!((u.invocations_per_month, u.duration_ms, u.memory_mb), (1_000_000, 120, Some(512)));
/// assert_eq!(u.message_bytes, 1024);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    /// Function invocations a month, every trigger and HTTP request together.
    pub invocations_per_month: u64,
    /// Average billed duration of one invocation, in milliseconds.
    pub duration_ms: u64,
    /// Memory of one instance (MiB); default: the code's `Limits::memory_mb`, else 128.
    pub memory_mb: Option<u32>,
    /// Lambda architecture (arm64 is cheaper per GB-s).
    pub arch: Arch,
    /// Cloud Run vCPUs per instance; default: what the GCP generator gives the memory
    /// ([`vcpu_for`]).
    pub vcpu: Option<f64>,
    /// Messages a month, all queues together.
    pub messages_per_month: Option<u64>,
    /// Average message size in bytes.
    pub message_bytes: u64,
    /// Objects written a month, all buckets together.
    pub objects_written: Option<u64>,
    /// Objects read a month, all buckets together.
    pub objects_read: Option<u64>,
    /// Average object size in bytes (for the default storage).
    pub object_bytes: u64,
    /// Object storage kept, GB-months.
    pub object_storage_gb: Option<f64>,
    /// KV reads a month, all stores together.
    pub kv_reads: Option<u64>,
    /// KV writes a month, all stores together.
    pub kv_writes: Option<u64>,
    /// Average KV item size in bytes.
    pub item_bytes: u64,
    /// KV storage kept, GB-months.
    pub kv_storage_gb: Option<f64>,
}

impl Default for Usage {
    fn default() -> Self {
        Self {
            invocations_per_month: 0,
            duration_ms: 0,
            memory_mb: None,
            arch: Arch::X86_64,
            vcpu: None,
            messages_per_month: None,
            message_bytes: 1024,
            objects_written: None,
            objects_read: None,
            object_bytes: 16 * 1024,
            object_storage_gb: None,
            kv_reads: None,
            kv_writes: None,
            item_bytes: 1024,
            kv_storage_gb: None,
        }
    }
}

impl Usage {
    /// `invocations` a month of `duration_ms` each; everything else derived.
    pub fn new(invocations: u64, duration_ms: u64) -> Self {
        Self {
            invocations_per_month: invocations,
            duration_ms,
            ..Self::default()
        }
    }

    /// Sets the memory (MiB).
    pub fn memory_mb(mut self, mb: u32) -> Self {
        self.memory_mb = Some(mb);
        self
    }

    /// Sets the messages a month.
    pub fn messages(mut self, n: u64) -> Self {
        self.messages_per_month = Some(n);
        self
    }
}

/// The monthly volumes a projection prices, and the rules that produced them.
#[derive(Debug, Clone, PartialEq)]
pub struct Volumes {
    /// Invocations.
    pub invocations: u64,
    /// Billed duration per invocation (ms).
    pub duration_ms: u64,
    /// Memory (MiB).
    pub memory_mb: u32,
    /// Whether the memory was given or set in code (not the generators' default), which decides
    /// the Azure instance size (Flex Consumption's default is 2,048 MB).
    pub memory_set: bool,
    /// Lambda architecture.
    pub arch: Arch,
    /// Cloud Run vCPUs.
    pub vcpu: f64,
    /// Queues the app declares (those it sends to or consumes).
    pub queues: usize,
    /// Messages sent.
    pub messages_sent: u64,
    /// Messages delivered to the app (each a receive and a delete).
    pub messages_delivered: u64,
    /// Average message size (bytes).
    pub message_bytes: u64,
    /// Buckets the app declares.
    pub buckets: usize,
    /// Objects written.
    pub objects_written: u64,
    /// Objects read.
    pub objects_read: u64,
    /// Object storage (GB-months).
    pub object_storage_gb: f64,
    /// KV stores the app declares.
    pub kv_stores: usize,
    /// KV reads.
    pub kv_reads: u64,
    /// KV writes.
    pub kv_writes: u64,
    /// Average item size (bytes).
    pub item_bytes: u64,
    /// KV storage (GB-months).
    pub kv_storage_gb: f64,
    /// Schedules.
    pub schedules: usize,
    /// How each volume was obtained, in words.
    pub rules: Vec<String>,
}

fn has(access: &[String], word: &str) -> bool {
    access.iter().any(|a| a == word)
}

/// Derives the volumes of `usage` on the app `d` (rules in the [module docs](self)).
///
/// ```
/// use cloudport_cli::cost::{Usage, volumes};
/// let d = cloudport_cli::describe::parse(br#"{"cloudport_description": 1, "sdk_version": "0.1.0",
///   "http": true, "any_event": false, "triggers": [], "declared": true,
///   "resources": [{"kind": "kv", "name": "orders", "access": ["read", "write"],
///                  "declaration": "kv(\"orders\").read().write()"}],
///   "limits": {"memory_mb": 512}}"#).unwrap();
/// let v = volumes(&d, &Usage::new(1000, 50)).unwrap();
/// assert_eq!((v.memory_mb, v.kv_reads, v.kv_writes, v.messages_sent), (512, 1000, 1000, 0));
/// ```
pub fn volumes(d: &Description, usage: &Usage) -> Result<Volumes> {
    let n = usage.invocations_per_month;
    let mut rules = Vec::new();
    let (mut sends, mut consumes, mut writes, mut reads, mut kv_r, mut kv_w) = (0, 0, 0, 0, 0, 0);
    let (mut queues, mut buckets, mut kv_stores, mut schedules) = (0, 0, 0, 0);
    let triggered = |kind: &str, name: &str| {
        d.triggers.iter().any(|t| match t {
            TriggerDescription::Queue { name: q } => kind == "queue" && q == name,
            TriggerDescription::Blob { name: b } => kind == "bucket" && b == name,
            _ => false,
        })
    };
    for t in &d.triggers {
        match t {
            TriggerDescription::Queue { .. } | TriggerDescription::Blob { .. } => {}
            TriggerDescription::Schedule { .. } => schedules += 1,
            other => {
                return Err(Error::unsupported(
                    format!("trigger {other:?}"),
                    "this cargo-cloudport cannot price this kind of trigger; update it",
                ));
            }
        }
    }
    for r in &d.resources {
        let on = triggered(&r.kind, &r.name);
        match r.kind.as_str() {
            "queue" => {
                queues += 1;
                sends += u64::from(has(&r.access, "send"));
                consumes += u64::from(on || has(&r.access, "consume"));
            }
            "bucket" => {
                buckets += 1;
                writes += u64::from(has(&r.access, "write"));
                reads += u64::from(on || has(&r.access, "read"));
            }
            "kv" => {
                kv_stores += 1;
                kv_r += u64::from(has(&r.access, "read"));
                kv_w += u64::from(has(&r.access, "write"));
            }
            other => {
                return Err(Error::Description(format!(
                    "resource {:?} has kind {other:?}; this cargo-cloudport knows queue, bucket and kv",
                    r.name
                )));
            }
        }
    }
    let memory_mb = match (usage.memory_mb, d.limits.memory_mb) {
        (Some(m), _) => {
            rules.push(format!("memory {m} MB: given"));
            m
        }
        (None, Some(m)) => {
            rules.push(format!("memory {m} MB: the code's Limits::memory_mb"));
            m
        }
        (None, None) => {
            rules.push(format!(
                "memory {DEFAULT_MEMORY_MB} MB: the generators' default (the code sets no memory limit)"
            ));
            DEFAULT_MEMORY_MB
        }
    };
    let (messages_sent, messages_delivered) = match usage.messages_per_month {
        Some(m) => {
            rules.push(format!(
                "messages {}: given (each sent once, delivered once)",
                group(m)
            ));
            (
                if sends > 0 { m } else { 0 },
                if consumes > 0 { m } else { 0 },
            )
        }
        None => {
            if queues > 0 {
                rules.push(format!(
                    "messages: one sent per invocation for each of the {sends} queue(s) declared `send`; one delivered (a receive and a delete) per invocation for each of the {consumes} queue(s) the app consumes"
                ));
            }
            (n * sends, n * consumes)
        }
    };
    let objects_written = given_or(
        usage.objects_written,
        n * writes,
        &mut rules,
        || {
            format!(
                "objects written: one per invocation for each of the {writes} bucket(s) declared `write`"
            )
        },
        buckets > 0,
    );
    let objects_read = given_or(
        usage.objects_read,
        n * reads,
        &mut rules,
        || {
            format!(
                "objects read: one per invocation for each of the {reads} bucket(s) declared `read` or triggering"
            )
        },
        buckets > 0,
    );
    let object_storage_gb = match usage.object_storage_gb {
        Some(g) => g,
        None => {
            if buckets > 0 {
                rules.push(format!(
                    "object storage: one month of writes kept ({} × {} bytes)",
                    group(objects_written),
                    group(usage.object_bytes)
                ));
            }
            objects_written as f64 * usage.object_bytes as f64 / GB
        }
    };
    let kv_reads = given_or(
        usage.kv_reads,
        n * kv_r,
        &mut rules,
        || format!("KV reads: one per invocation for each of the {kv_r} store(s) declared `read`"),
        kv_stores > 0,
    );
    let kv_writes = given_or(
        usage.kv_writes,
        n * kv_w,
        &mut rules,
        || {
            format!(
                "KV writes: one per invocation for each of the {kv_w} store(s) declared `write`"
            )
        },
        kv_stores > 0,
    );
    let kv_storage_gb = match usage.kv_storage_gb {
        Some(g) => g,
        None => {
            if kv_stores > 0 {
                rules.push(format!(
                    "KV storage: one month of writes kept as distinct items ({} × {} bytes)",
                    group(kv_writes),
                    group(usage.item_bytes)
                ));
            }
            kv_writes as f64 * usage.item_bytes as f64 / GB
        }
    };
    Ok(Volumes {
        invocations: n,
        duration_ms: usage.duration_ms,
        memory_mb,
        memory_set: usage.memory_mb.is_some() || d.limits.memory_mb.is_some(),
        arch: usage.arch,
        vcpu: usage.vcpu.unwrap_or_else(|| vcpu_for(memory_mb)),
        queues,
        messages_sent,
        messages_delivered,
        message_bytes: usage.message_bytes,
        buckets,
        objects_written,
        objects_read,
        object_storage_gb,
        kv_stores,
        kv_reads,
        kv_writes,
        item_bytes: usage.item_bytes,
        kv_storage_gb,
        schedules,
        rules,
    })
}

/// The vCPUs the GCP generator gives a Cloud Run service of `memory_mb`
/// (`cli/src/gcp/model.rs`, from Cloud Run's memory limits per CPU,
/// <https://cloud.google.com/run/docs/configuring/services/memory-limits>).
///
/// ```
/// assert_eq!(cloudport_cli::cost::usage::vcpu_for(256), 1.0);
/// assert_eq!(cloudport_cli::cost::usage::vcpu_for(6144), 2.0);
/// ```
pub fn vcpu_for(memory_mb: u32) -> f64 {
    match memory_mb {
        0..=4096 => 1.0,
        4097..=8192 => 2.0,
        8193..=16384 => 4.0,
        16385..=24576 => 6.0,
        _ => 8.0,
    }
}

fn given_or(
    given: Option<u64>,
    derived: u64,
    rules: &mut Vec<String>,
    rule: impl FnOnce() -> String,
    applies: bool,
) -> u64 {
    match given {
        Some(g) => g,
        None => {
            if applies {
                rules.push(rule());
            }
            derived
        }
    }
}
