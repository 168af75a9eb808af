//! What a host and the deploy tool that configures its platform agree on: function names, binding
//! names, settings and their checks, defined once — so the host (in `cloudport-adapters`) and the
//! generator of the platform's files (in `cargo-cloudport`) agree without depending on each other,
//! as [`crate::queue::wire`] does for drivers and hosts. Plain data and pure functions: nothing
//! here writes a deployment file, so nothing of a generator is linked into a function binary.

pub mod azure;

use std::time::Duration;

use crate::{Error, Result};

/// The longest timeout [`parse_timeout`] accepts: a day.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// A timeout setting: whole seconds (`300`) or `hh:mm:ss` (`00:05:00`, as Azure's
/// `functionTimeout` is written), more than zero and at most [`MAX_TIMEOUT`]. `var` names the
/// setting in the error.
///
/// ```
/// use cloudport_core::platform::parse_timeout;
/// use std::time::Duration;
/// assert_eq!(parse_timeout("T", "42").unwrap(), Duration::from_secs(42));
/// assert_eq!(parse_timeout("T", "00:10:00").unwrap(), Duration::from_secs(600));
/// for bad in ["0", "soon", "1:2", "00:61:00", "25:00:00"] {
///     assert!(parse_timeout("T", bad).unwrap_err().message().contains("T"));
/// }
/// ```
pub fn parse_timeout(var: &str, value: &str) -> Result<Duration> {
    let bad = || {
        Error::invalid(format!(
            "{var} {value:?} is not a timeout: whole seconds (300) or hh:mm:ss (00:05:00)"
        ))
    };
    let parts: Vec<&str> = value.trim().split(':').collect();
    let seconds = match parts.as_slice() {
        [s] => s.parse::<u64>().map_err(|_| bad())?,
        [h, m, s] => {
            let (h, m, s) = (
                h.parse::<u64>().map_err(|_| bad())?,
                m.parse::<u64>().map_err(|_| bad())?,
                s.parse::<u64>().map_err(|_| bad())?,
            );
            if m > 59 || s > 59 {
                return Err(bad());
            }
            h.saturating_mul(3600)
                .saturating_add(m * 60)
                .saturating_add(s)
        }
        _ => return Err(bad()),
    };
    if seconds == 0 || seconds > MAX_TIMEOUT.as_secs() {
        return Err(bad());
    }
    Ok(Duration::from_secs(seconds))
}
