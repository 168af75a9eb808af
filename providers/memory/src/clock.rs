//! The clock of a memory world: the system clock, or a manual one that tests move by hand.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use cloudport_core::{Error, Result};

/// The time source of a [`Memory`](crate::Memory) world. Leases, delays and TTLs follow it, so a
/// test on a manual clock checks expiry and redelivery without sleeping.
///
/// ```
/// use cloudport_memory::Clock;
/// use std::time::Duration;
/// let clock = Clock::manual();
/// let t0 = clock.now();
/// clock.advance(Duration::from_secs(30)).unwrap();
/// assert_eq!(clock.now(), t0 + Duration::from_secs(30));
/// assert!(Clock::system().advance(Duration::from_secs(1)).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct Clock {
    manual: Option<Arc<Mutex<SystemTime>>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self { manual: None }
    }

    /// A manual clock starting at the present moment; only [`Clock::advance`] moves it.
    pub fn manual() -> Self {
        Self {
            manual: Some(Arc::new(Mutex::new(SystemTime::now()))),
        }
    }

    /// Whether this clock moves only by hand.
    pub fn is_manual(&self) -> bool {
        self.manual.is_some()
    }

    /// The current time.
    pub fn now(&self) -> SystemTime {
        match &self.manual {
            None => SystemTime::now(),
            Some(t) => *t.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }

    /// Moves a manual clock forward; the system clock cannot be moved (`Unsupported`).
    pub fn advance(&self, by: Duration) -> Result<()> {
        match &self.manual {
            None => Err(Error::unsupported(
                "the system clock cannot be advanced; use Clock::manual()",
            )),
            Some(t) => {
                *t.lock().unwrap_or_else(PoisonError::into_inner) += by;
                Ok(())
            }
        }
    }
}
