//! What the code sets for its deployment: memory, timeout, a concurrency cap and a budget.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Limits of the deployed function, set in code next to its triggers ([`App::limits`](crate::App::limits));
/// the deploy tool writes them into the function's configuration. Unset values take the tool's
/// defaults (stated in the generated files).
///
/// ```
/// use std::time::Duration;
/// use cloudport_core::{App, app::Limits};
/// let app = App::new().limits(
///     Limits::new().memory_mb(256).timeout(Duration::from_secs(30)).max_concurrency(10),
/// );
/// assert_eq!(app.describe().limits.max_concurrency, Some(10));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Limits {
    /// Memory of one instance, in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<u32>,
    /// The longest one invocation may run, in whole seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u32>,
    /// The most invocations running at once (AWS: reserved concurrency) — the hard cap on spend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
}

impl Limits {
    /// No limits set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Memory of one instance, in MiB.
    pub fn memory_mb(mut self, mb: u32) -> Self {
        self.memory_mb = Some(mb);
        self
    }

    /// The longest one invocation may run (rounded up to whole seconds).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        let secs = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
        self.timeout_seconds = Some(u32::try_from(secs).unwrap_or(u32::MAX));
        self
    }

    /// The most invocations running at once.
    pub fn max_concurrency(mut self, n: u32) -> Self {
        self.max_concurrency = Some(n);
        self
    }
}

/// A monthly cost budget for the function ([`App::budget`](crate::App::budget)): the deploy tool
/// creates the cloud's budget, filtered to this function, alerting at 80 % (forecast) and 100 %
/// (actual).
///
/// ```
/// use cloudport_core::{App, app::Budget};
/// let app = App::new().budget(Budget::monthly_usd(20).notify("ops@example.com"));
/// assert_eq!(app.describe().budget.unwrap().monthly_usd, 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Budget {
    /// The monthly limit, in whole US dollars.
    pub monthly_usd: u32,
    /// Who is told when the budget is (forecast to be) spent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<String>,
}

impl Budget {
    /// A budget of `usd` US dollars a month.
    pub fn monthly_usd(usd: u32) -> Self {
        Self {
            monthly_usd: usd,
            notify: Vec::new(),
        }
    }

    /// Also tells `email` when the budget is (forecast to be) spent.
    pub fn notify(mut self, email: impl Into<String>) -> Self {
        self.notify.push(email.into());
        self
    }
}
