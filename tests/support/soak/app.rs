//! The soak's function: one queue trigger whose behaviour per message the body decides, and a
//! journal in which it writes every attempt — the record the checker counts, across processes.
//!
//! Bodies are JSON: `{"id": 7}` is handled at once; `{"id": 7, "fail_first": 2}` fails its first
//! two attempts; `{"id": 7, "always_fail": true}` fails every attempt (the queue's dead-letter
//! policy must move it); `{"id": 7, "panic_once": true}` panics on its first attempt;
//! `{"id": 7, "slow_once_ms": 1500}` sleeps that long on its first attempt, so the driver can
//! kill the process while that batch is in flight.
//!
//! The journal is a text file, one line per attempt, appended with a single write (so lines of
//! several processes never interleave), never lost when a process is killed (the kernel holds
//! what was written):
//! `<unix ms> <instance> <id> <attempt> <delivery count> <ok|fail|panic|slow>`.
//! The handler writes `ok` before it returns `Ok`, so a process killed between that line and the
//! platform's acknowledgement shows up as a message handled twice.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cloudport::prelude::*;

/// The logical queue the function consumes.
pub const QUEUE: &str = "soak";

/// What a message asks of the handler.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    pub id: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub fail_first: u32,
    #[serde(default, skip_serializing_if = "is_false")]
    pub always_fail: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub panic_once: bool,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub slow_once_ms: u64,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}
fn is_false(b: &bool) -> bool {
    !*b
}

/// What one attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Ok,
    Fail,
    Panic,
    /// A slow first attempt started (an `ok` line follows unless the process dies).
    Slow,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Fail => "fail",
            Self::Panic => "panic",
            Self::Slow => "slow",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ok" => Self::Ok,
            "fail" => Self::Fail,
            "panic" => Self::Panic,
            "slow" => Self::Slow,
            _ => return None,
        })
    }
}

/// One journal line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub at_ms: u64,
    pub instance: String,
    pub id: u64,
    pub attempt: u32,
    pub delivery_count: u32,
    pub outcome: Outcome,
}

impl Entry {
    fn parse(line: &str) -> Option<Self> {
        let mut f = line.split(' ');
        Some(Self {
            at_ms: f.next()?.parse().ok()?,
            instance: f.next()?.to_owned(),
            id: f.next()?.parse().ok()?,
            attempt: f.next()?.parse().ok()?,
            delivery_count: f.next()?.parse().ok()?,
            outcome: Outcome::parse(f.next()?)?,
        })
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

/// Every complete line of the journal at `path` (a line being written is skipped).
pub fn read_journal(path: &Path) -> Vec<Entry> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .filter_map(|l| Entry::parse(l.trim_end()))
        .collect()
}

/// The handler's journal, opened by one process (or one in-process host generation).
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<std::fs::File>,
    instance: Mutex<String>,
    /// Attempts so far per id: read from the journal when opened, then counted here, so a
    /// restarted process goes on where the killed one stopped.
    attempts: Mutex<HashMap<u64, u32>>,
}

impl Journal {
    /// Opens (creating) the journal at `path`, writing as `instance`.
    pub fn open(path: impl Into<PathBuf>, instance: impl Into<String>) -> std::io::Result<Self> {
        let path = path.into();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        let journal = Self {
            path,
            file: Mutex::new(file),
            instance: Mutex::new(instance.into()),
            attempts: Mutex::new(HashMap::new()),
        };
        journal.reload();
        Ok(journal)
    }

    /// Re-reads the attempt counts from the file (after another instance wrote to it).
    pub fn reload(&self) {
        let mut counts = HashMap::new();
        for e in read_journal(&self.path) {
            if e.outcome != Outcome::Slow {
                *counts.entry(e.id).or_insert(0u32) += 1;
            }
        }
        *self.attempts.lock().unwrap_or_else(PoisonError::into_inner) = counts;
    }

    /// Names the instance that writes from now on (the in-process host's generation).
    pub fn set_instance(&self, instance: impl Into<String>) {
        *self.instance.lock().unwrap_or_else(PoisonError::into_inner) = instance.into();
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn next_attempt(&self, id: u64) -> u32 {
        let mut attempts = self.attempts.lock().unwrap_or_else(PoisonError::into_inner);
        let n = attempts.entry(id).or_insert(0);
        *n += 1;
        *n
    }

    fn write(&self, id: u64, attempt: u32, delivery_count: u32, outcome: Outcome) {
        let instance = self
            .instance
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let line = format!(
            "{} {instance} {id} {attempt} {delivery_count} {}\n",
            now_ms(),
            outcome.as_str()
        );
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        // One write per line: appends of several processes never interleave.
        if let Err(e) = file.write_all(line.as_bytes()) {
            // Without its record the checker would count the message lost: fail loudly.
            panic!("soak journal {}: {e}", self.path.display());
        }
    }
}

/// The soak function; four messages of a batch are handled at a time.
pub fn app(journal: Arc<Journal>) -> App {
    App::new()
        .queue_concurrency(4)
        .on_queue(QUEUE, move |event: Event<QueueMessage>, _env| {
            let journal = journal.clone();
            async move { handle(&journal, &event).await }
        })
}

async fn handle(journal: &Journal, event: &Event<QueueMessage>) -> Result<()> {
    let message = event.data();
    let body: Body = message.json()?;
    let delivery = message.delivery_count;
    let attempt = journal.next_attempt(body.id);
    if body.always_fail {
        journal.write(body.id, attempt, delivery, Outcome::Fail);
        return Err(Error::handler("always_fail: dead-lettering expected"));
    }
    if body.panic_once && attempt == 1 {
        journal.write(body.id, attempt, delivery, Outcome::Panic);
        panic!("{PLANNED_PANIC} on message {} (expected)", body.id);
    }
    if attempt <= body.fail_first {
        journal.write(body.id, attempt, delivery, Outcome::Fail);
        return Err(Error::handler(format!(
            "fail_first {}: attempt {attempt} fails",
            body.fail_first
        )));
    }
    if body.slow_once_ms > 0 && attempt == 1 {
        journal.write(body.id, attempt, delivery, Outcome::Slow);
        tokio::time::sleep(Duration::from_millis(body.slow_once_ms)).await;
    }
    journal.write(body.id, attempt, delivery, Outcome::Ok);
    Ok(())
}

/// The message of the handler's planned panics.
const PLANNED_PANIC: &str = "soak: panic_once";

/// Keeps the planned panics (hundreds in a full run) out of the output; any other panic is
/// reported as before.
pub fn quiet_planned_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let planned = info
                .payload()
                .downcast_ref::<String>()
                .is_some_and(|m| m.starts_with(PLANNED_PANIC));
            if !planned {
                previous(info);
            }
        }));
    });
}

/// The variable that makes the soak test binary, re-executed, run the function on the host its
/// environment names (`App::run`): the journal's path.
pub const JOURNAL_VAR: &str = "CLOUDPORT_SOAK_JOURNAL";

/// The entry point of the function process (see `tests/soak.rs`): does nothing unless
/// [`JOURNAL_VAR`] is set; then runs the app until the process is killed.
pub fn function_process() {
    let Ok(path) = std::env::var(JOURNAL_VAR) else {
        return;
    };
    quiet_planned_panics();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
    let journal = Journal::open(&path, std::process::id().to_string())
        .unwrap_or_else(|e| panic!("soak journal {path}: {e}"));
    let result = runtime.block_on(app(Arc::new(journal)).run());
    if let Err(e) = result {
        let _ = writeln!(std::io::stderr(), "soak function stopped: {e}");
        std::process::exit(1);
    }
}
