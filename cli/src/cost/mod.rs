//! What the app would cost a month on each cloud: list prices ([`prices`]) applied to the
//! volumes a workload implies on the app's declared resources ([`usage`]).
//!
//! ```
//! use cloudport_cli::cost::{Cloud, Usage, estimate, render};
//! let d = cloudport_cli::describe::parse(br#"{"cloudport_description": 1, "sdk_version": "0.1.0",
//!   "http": true, "any_event": false, "triggers": [], "declared": false, "resources": [],
//!   "limits": {"memory_mb": 1024}}"#).unwrap();
//! // 2M requests of 500 ms at 1 GB: 1,000,000 GB-s, 400,000 of them free.
//! let e = estimate(&d, &Usage::new(2_000_000, 500), Cloud::Aws).unwrap();
//! assert_eq!(e.lines[0].quantity, 1_000_000.0);
//! assert_eq!(e.lines[0].free, 400_000.0);
//! assert_eq!(cloudport_cli::cost::cents(e.total_usd()), 1020); // $10.00 duration + $0.20 requests
//! assert!(render(&[e]).contains("| **Total**"));
//! ```
//!
//! Every line shows its gross amount, the free tier taken off it and the net; the total is the
//! sum of the nets. The projection is an estimate from list prices: it leaves out what it says it
//! leaves out (logs, data transfer, the platform's own storage, …, in each estimate's notes).

pub mod args;
mod aws;
mod azure;
mod gcp;
pub mod prices;
mod render;
pub mod usage;

use cloudport_core::app::Description;

use crate::Result;
pub(crate) use azure::{FLEX_DEFAULT_INSTANCE_MB, flex_instance_mb};
pub use prices::Price;
pub use render::{money, render};
pub use usage::{Usage, Volumes, volumes};

/// The clouds a projection is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Cloud {
    /// AWS: Lambda, SQS, S3, DynamoDB (us-east-1).
    Aws,
    /// Azure: Functions (Flex Consumption), Storage queues, blobs and tables (eastus).
    Azure,
    /// Google Cloud: Cloud Run, Pub/Sub, Cloud Storage, Firestore (us-central1).
    Gcp,
}

impl Cloud {
    /// Every cloud, in the order tables list them.
    pub const ALL: [Cloud; 3] = [Cloud::Aws, Cloud::Azure, Cloud::Gcp];

    /// The cloud's name.
    ///
    /// ```
    /// assert_eq!(cloudport_cli::cost::Cloud::Gcp.name(), "Google Cloud");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Cloud::Aws => "AWS",
            Cloud::Azure => "Azure",
            Cloud::Gcp => "Google Cloud",
        }
    }
}

/// What a line of a projection pays for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// Function duration (GB-s, vCPU-s).
    Compute,
    /// Invocations, executions, requests.
    Requests,
    /// Queue operations or throughput.
    Queue,
    /// Object storage: operations and capacity.
    Storage,
    /// Key-value operations and capacity.
    Kv,
    /// Scheduler jobs.
    Schedules,
}

impl Category {
    /// The category's name in tables.
    pub fn label(self) -> &'static str {
        match self {
            Category::Compute => "compute",
            Category::Requests => "requests",
            Category::Queue => "queue",
            Category::Storage => "storage",
            Category::Kv => "KV",
            Category::Schedules => "schedules",
        }
    }
}

/// One priced quantity.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// What it pays for.
    pub category: Category,
    /// The quantity, in the price's unit.
    pub quantity: f64,
    /// The part of the quantity the free tier covers.
    pub free: f64,
    /// The price.
    pub price: &'static Price,
}

impl Line {
    /// `quantity` at `price`, its free tier applied.
    pub fn new(category: Category, quantity: f64, price: &'static Price) -> Self {
        Self {
            category,
            quantity,
            free: quantity.min(price.free_per_month),
            price,
        }
    }

    /// Before the free tier.
    pub fn gross_usd(&self) -> f64 {
        self.price.usd_for(self.quantity)
    }

    /// What the free tier takes off.
    pub fn free_usd(&self) -> f64 {
        self.price.usd_for(self.free)
    }

    /// What is billed.
    pub fn net_usd(&self) -> f64 {
        self.price.usd_for(self.quantity - self.free)
    }
}

/// A month on one cloud.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// The cloud.
    pub cloud: Cloud,
    /// The region the prices are for.
    pub region: &'static str,
    /// The platform priced (`Lambda provided.al2023, x86_64, 256 MB`).
    pub platform: String,
    /// The lines, in category order.
    pub lines: Vec<Line>,
    /// What the projection assumes or leaves out on this cloud.
    pub notes: Vec<String>,
    /// The volumes priced.
    pub volumes: Volumes,
}

impl Estimate {
    /// Before free tiers.
    pub fn gross_usd(&self) -> f64 {
        self.lines.iter().map(Line::gross_usd).sum()
    }

    /// What the free tiers take off.
    pub fn free_usd(&self) -> f64 {
        self.lines.iter().map(Line::free_usd).sum()
    }

    /// The monthly total: the sum of the lines' nets.
    pub fn total_usd(&self) -> f64 {
        self.lines.iter().map(Line::net_usd).sum()
    }

    /// The line priced at `price`, if any.
    pub fn line(&self, price: &Price) -> Option<&Line> {
        self.lines
            .iter()
            .find(|l| std::ptr::eq(l.price, price) || *l.price == *price)
    }
}

/// A USD amount in whole cents, rounded half away from zero.
///
/// ```
/// assert_eq!(cloudport_cli::cost::cents(14.166_666), 1417);
/// ```
pub fn cents(usd: f64) -> i64 {
    // An estimate stays far below i64's range.
    (usd * 100.0).round() as i64
}

/// The projection of `usage` on the app `description` on `cloud`.
pub fn estimate(description: &Description, usage: &Usage, cloud: Cloud) -> Result<Estimate> {
    let v = volumes(description, usage)?;
    Ok(match cloud {
        Cloud::Aws => aws::estimate(v),
        Cloud::Azure => azure::estimate(v),
        Cloud::Gcp => gcp::estimate(v),
    })
}
