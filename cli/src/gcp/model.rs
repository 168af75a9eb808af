//! The description, checked and indexed for the Google Cloud generators.

use cloudport_core::app::Description;

use super::names::{check_service_name, local};
use super::{GcpOptions, iam};
use crate::{Error, Result};

/// Memory when the code sets none (MiB).
pub const DEFAULT_MEMORY_MB: u32 = 128;
/// Timeout when the code sets none (s).
pub const DEFAULT_TIMEOUT_SECONDS: u32 = 30;
/// Cloud Run's longest request timeout, 3600 s (source:
/// <https://cloud.google.com/run/docs/configuring/request-timeout>).
pub const MAX_TIMEOUT_SECONDS: u32 = 3600;
/// Pub/Sub's range of `maxDeliveryAttempts` (source:
/// <https://cloud.google.com/pubsub/docs/handling-failures#dead_letter_topic>: "between 5 and 100").
pub const DELIVERY_ATTEMPTS: std::ops::RangeInclusive<u32> = 5..=100;

pub use crate::model::{Resource, ScheduleSpec};

/// The description, checked.
#[derive(Debug)]
pub struct Model<'a> {
    /// The description, checked and indexed the same way for every cloud.
    pub app: crate::model::Model<'a>,
    /// The options.
    pub o: &'a GcpOptions,
    /// The service name.
    pub service: String,
}

impl<'a> Model<'a> {
    /// Checks the service name and the description ([`crate::model::Model::new`]), then what is
    /// Google Cloud's own: every access has a role ([`iam::role`]), dead-letter attempts that
    /// Pub/Sub takes, limits Cloud Run has.
    pub fn new(d: &'a Description, o: &'a GcpOptions) -> Result<Self> {
        check_service_name(&o.service_name)?;
        let app = crate::model::Model::new(d)?;
        app.check_access(iam::role)?;
        for q in &app.queues {
            let Some(dl) = &q.dead_letter else { continue };
            if !DELIVERY_ATTEMPTS.contains(&dl.max_deliveries) {
                return Err(Error::unsupported(
                    format!("queue {:?}: max_deliveries {}", q.name, dl.max_deliveries),
                    format!(
                        "Pub/Sub's dead-letter policy takes {}-{} delivery attempts; set .max_deliveries(n) within that range (refused rather than changed: the code's number would not hold)",
                        DELIVERY_ATTEMPTS.start(),
                        DELIVERY_ATTEMPTS.end()
                    ),
                ));
            }
        }
        let m = Self {
            app,
            o,
            service: o.service_name.clone(),
        };
        m.cpu()?;
        if m.timeout_seconds() > MAX_TIMEOUT_SECONDS || m.timeout_seconds() == 0 {
            return Err(Error::unsupported(
                format!("timeout {} s", m.timeout_seconds()),
                format!("Cloud Run's request timeout is 1-{MAX_TIMEOUT_SECONDS} s"),
            ));
        }
        Ok(m)
    }

    /// Memory (MiB): the code's limit, default 128.
    pub fn memory_mb(&self) -> u32 {
        self.app.d.limits.memory_mb.unwrap_or(DEFAULT_MEMORY_MB)
    }

    /// Timeout (s): the code's limit, default 30.
    pub fn timeout_seconds(&self) -> u32 {
        self.app
            .d
            .limits
            .timeout_seconds
            .unwrap_or(DEFAULT_TIMEOUT_SECONDS)
    }

    /// The CPUs the memory needs: Cloud Run requires at least 2 CPUs over 4 GiB, 4 over 8 GiB,
    /// 6 over 16 GiB, 8 over 24 GiB, and takes at most 32 GiB, at least 128 MiB (source:
    /// <https://cloud.google.com/run/docs/configuring/services/memory-limits>).
    pub fn cpu(&self) -> Result<&'static str> {
        Ok(match self.memory_mb() {
            128..=4096 => "1",
            4097..=8192 => "2",
            8193..=16384 => "4",
            16385..=24576 => "6",
            24577..=32768 => "8",
            mb => {
                return Err(Error::unsupported(
                    format!("memory {mb} MiB"),
                    "Cloud Run instances have 128 MiB to 32 GiB",
                ));
            }
        })
    }

    /// The Terraform local name of the app's Firestore database, when it has KV stores.
    pub fn database_local(&self) -> Option<String> {
        (!self.app.stores.is_empty()).then(|| "database".to_owned())
    }

    /// Every queue's name with its topic's local name: declared ones, then dead-letter-only ones.
    pub fn topics(&self) -> Vec<(String, String)> {
        self.app
            .queues
            .iter()
            .map(|q| q.name.clone())
            .chain(self.app.dead_letter_only.iter().cloned())
            .map(|n| {
                let l = local("queue", &n);
                (n, l)
            })
            .collect()
    }
}
