//! The soak campaign: one driver, one function, one checker; per provider a "platform" that runs
//! the function on its host the way the cloud drives it, with faults.
//!
//! - [`app`]: the function (behaviour per message decided by its body) and its journal.
//! - [`Platform`]: sends, dead-letter queue reading, killing the consumer mid-batch and
//!   restarting it, restarting the emulator; one per provider ([`memory`], [`lambda`],
//!   [`functions`], [`cloudrun`]).
//! - [`run`]: sends the plan in two phases with the faults between them, waits until every message
//!   is handled or dead-lettered (bounded), and checks: sent, handled, dead-lettered, expected
//!   dead-lettered, lost (must be 0), handled twice (each with the platform's redelivery that
//!   caused it), dead-lettered twice.
//!
//! Sizes: `CLOUDPORT_SOAK=full` runs each provider's full size (10,000 messages; 2,000 where the
//! emulator is slow, said in the output); otherwise a short run of the same code (CI);
//! `CLOUDPORT_SOAK_MESSAGES=N` sets the count.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

pub mod app;
#[cfg(feature = "gcp")]
pub mod cloudrun;
#[cfg(feature = "azure")]
pub mod functions;
/// The Functions host's poison move, shared with the Functions e2e test.
#[cfg(feature = "azure")]
#[path = "../functions_host.rs"]
pub mod functions_host;
#[cfg(feature = "aws")]
pub mod lambda;
pub mod memory;
pub mod process;
/// The Lambda Runtime API of the e2e tests, run here for the soak's function process.
#[cfg(feature = "aws")]
#[path = "../runtime_api.rs"]
pub mod runtime_api;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use app::{Body, Entry, Outcome, now_ms, read_journal};

/// One soak at a time in this process: they share two cores with the build and each other.
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How many messages, and how the run is described.
#[derive(Debug, Clone)]
pub struct Size {
    pub messages: usize,
    pub label: String,
    /// How long the whole run may take before it is declared hung.
    pub budget: Duration,
}

impl Size {
    /// `full` messages with `CLOUDPORT_SOAK=full` (`why_smaller` says why, when under 10,000),
    /// else `short`; `CLOUDPORT_SOAK_MESSAGES` overrides both.
    pub fn from_env(full: usize, why_smaller: Option<&str>, short: usize) -> Self {
        let is_full = std::env::var("CLOUDPORT_SOAK").is_ok_and(|v| v == "full");
        let explicit = std::env::var("CLOUDPORT_SOAK_MESSAGES")
            .ok()
            .and_then(|v| v.parse::<usize>().ok());
        let (messages, label) = match (explicit, is_full) {
            (Some(n), _) => (n, format!("{n} messages (CLOUDPORT_SOAK_MESSAGES)")),
            (None, true) => (
                full,
                match why_smaller {
                    Some(why) => format!("full run: {full} messages — {why}"),
                    None => format!("full run: {full} messages"),
                },
            ),
            (None, false) => (
                short,
                format!("short run (CI): {short} messages; CLOUDPORT_SOAK=full runs {full}"),
            ),
        };
        let messages = messages.max(30);
        Self {
            messages,
            label,
            budget: Duration::from_secs(120) + Duration::from_millis(150 * messages as u64),
        }
    }
}

/// The messages of a run: ids 1..=n, behaviours spread evenly (every 200 consecutive ids hold 2
/// that always fail, 1 that panics once, 26 that fail once, 6 that fail twice): about 20 % of
/// the handler's deliveries fail. One message, a third of the way in, is slow on its first
/// attempt: the consumer is killed while it runs.
pub fn plan(n: usize) -> (Vec<Body>, u64) {
    let kill_target = (n / 3).max(1) as u64;
    let bodies = (1..=n as u64)
        .map(|id| {
            let mut body = Body {
                id,
                ..Body::default()
            };
            if id == kill_target {
                body.slow_once_ms = 1500;
                return body;
            }
            match (id * 73) % 200 {
                0 | 1 => body.always_fail = true,
                2 => body.panic_once = true,
                3..=28 => body.fail_first = 1,
                29..=34 => body.fail_first = 2,
                _ => {}
            }
            body
        })
        .collect();
    (bodies, kill_target)
}

/// What happened when, for the checker's reasons.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// (killed instance, when, the instance that replaced it)
    pub kill: Option<(String, u64, String)>,
    /// (from, to) in Unix ms
    pub emulator_restart: Option<(u64, u64)>,
    /// Function processes that exited without being killed: (instance, status).
    pub crashes: Vec<(String, String)>,
}

/// What a platform is, for the driver and the checker: fixed per provider.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    /// "memory — the local host", …
    pub name: &'static str,
    /// Whether the platform tells the handler the delivery count (then two `ok` lines with the
    /// same count would be one delivery handled twice: a defect).
    pub reports_delivery_counts: bool,
    /// Why a message was handled twice when neither the kill nor the emulator restart explains it.
    pub redelivery_reason: &'static str,
    /// How the emulator restart is done (with messages in flight, or at a quiet point because the
    /// emulator keeps no state).
    pub restart_note: &'static str,
    /// How many sent messages may be neither handled nor dead-lettered before the producer
    /// waits.
    pub max_outstanding: usize,
    /// Whether the emulator keeps its state across a restart (else the driver restarts it only
    /// once everything sent so far is settled and the dead-letter queue read).
    pub restart_keeps_state: bool,
}

/// A provider's platform: the host the function runs on, driven as the cloud drives it.
#[allow(async_fn_in_trait)]
pub trait Platform {
    /// What it is ([`Profile`]).
    fn profile(&self) -> Profile;
    /// The journal the function writes.
    fn journal(&self) -> PathBuf;
    /// Sends these messages (retrying what fails until every one is sent).
    async fn send(&mut self, bodies: &[Body]);
    /// Reads (and deletes) what reached the dead-letter queue since the last call: message ids.
    async fn drain_dead_letters(&mut self) -> Vec<u64>;
    /// Kills the consumer process (SIGKILL; for memory: aborts the in-process host) mid-batch
    /// and starts it again; returns (killed instance, new instance).
    async fn kill_consumer(&mut self) -> (String, String);
    /// Restarts the emulator (for memory: an outage of every queue operation).
    async fn restart_emulator(&mut self);
    /// A function process that ended by itself since the last call (and was started again).
    async fn crashed(&mut self) -> Option<(String, String)>;
    /// Figures of the platform side (invocations, settle failures, …), one line each.
    fn stats(&self) -> Vec<String>;
    /// Everything is sent: what remains is the tail of retries and redeliveries.
    fn all_sent(&mut self) {}
    /// Stops everything it started.
    async fn stop(&mut self);
    /// Where its logs are.
    fn run_dir(&self) -> PathBuf;
}

/// A fresh directory for one run's journal and logs.
pub fn run_dir(provider: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "cloudport-soak-{provider}-{}-{}",
        std::process::id(),
        now_ms()
    ));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// The checker's figures.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub sent: usize,
    pub handled: usize,
    pub dead_lettered: usize,
    pub expected_dead_lettered: usize,
    pub lost: Vec<u64>,
    pub handled_twice: usize,
    pub handled_twice_reasons: BTreeMap<String, usize>,
    /// Two `ok` lines of one id with the same platform delivery count.
    pub handled_twice_in_one_delivery: Vec<u64>,
    pub dead_lettered_twice: usize,
    pub unexpected_dead_letters: Vec<u64>,
    pub expected_not_dead_lettered: Vec<u64>,
    pub handled_and_dead_lettered: Vec<u64>,
    pub attempts: usize,
    pub failed_attempts: usize,
    pub panics: usize,
}

impl Figures {
    pub fn settled(&self) -> bool {
        self.lost.is_empty()
    }
}

/// Counts: every sent id must be handled (an `ok` line) or dead-lettered.
pub fn check(
    bodies: &[Body],
    journal: &[Entry],
    dead_letters: &[u64],
    timeline: &Timeline,
    platform: &impl Platform,
) -> Figures {
    let mut f = Figures {
        sent: bodies.len(),
        expected_dead_lettered: bodies.iter().filter(|b| b.always_fail).count(),
        ..Figures::default()
    };
    let mut oks: HashMap<u64, Vec<&Entry>> = HashMap::new();
    for e in journal {
        match e.outcome {
            Outcome::Ok => oks.entry(e.id).or_default().push(e),
            Outcome::Fail => f.failed_attempts += 1,
            Outcome::Panic => {
                f.failed_attempts += 1;
                f.panics += 1;
            }
            Outcome::Slow => continue,
        }
        f.attempts += 1;
    }
    let mut dl_count: HashMap<u64, usize> = HashMap::new();
    for id in dead_letters {
        *dl_count.entry(*id).or_default() += 1;
    }
    f.dead_lettered = dl_count.len();
    f.dead_lettered_twice = dl_count.values().filter(|n| **n > 1).count();
    f.handled = oks.len();
    for b in bodies {
        let handled = oks.contains_key(&b.id);
        let dead = dl_count.contains_key(&b.id);
        if !handled && !dead {
            f.lost.push(b.id);
        }
        if handled && dead {
            f.handled_and_dead_lettered.push(b.id);
        }
        if dead && !b.always_fail {
            f.unexpected_dead_letters.push(b.id);
        }
        if b.always_fail && !dead {
            f.expected_not_dead_lettered.push(b.id);
        }
    }
    let sent: HashSet<u64> = bodies.iter().map(|b| b.id).collect();
    for (id, mut list) in oks {
        if !sent.contains(&id) || list.len() < 2 {
            continue;
        }
        f.handled_twice += 1;
        list.sort_by_key(|e| e.at_ms);
        for pair in list.windows(2) {
            let (first, again) = (pair[0], pair[1]);
            if platform.profile().reports_delivery_counts
                && first.delivery_count == again.delivery_count
            {
                f.handled_twice_in_one_delivery.push(id);
            }
            *f.handled_twice_reasons
                .entry(reason(first, timeline, platform).to_owned())
                .or_default() += 1;
        }
    }
    f.lost.sort_unstable();
    f.handled_twice_in_one_delivery.sort_unstable();
    f
}

fn reason(first: &Entry, timeline: &Timeline, platform: &impl Platform) -> &'static str {
    // The batch in flight when the process died: handled in the seconds before the kill.
    if let Some((killed, at, _)) = &timeline.kill
        && first.instance == *killed
        && first.at_ms <= *at
        && first.at_ms + 3_000 >= *at
    {
        return "the consumer was killed after handling it, before the ack";
    }
    if let Some((from, to)) = timeline.emulator_restart
        && first.at_ms + 3_000 >= from
        && first.at_ms <= to + 3_000
    {
        return "the emulator restart (on memory: the outage) kept the ack from the queue";
    }
    platform.profile().redelivery_reason
}

/// Runs the soak on `platform` and asserts its promises; prints the figures.
pub async fn run(mut platform: impl Platform, size: &Size) -> Figures {
    let started = Instant::now();
    let deadline = started + size.budget;
    let (bodies, kill_target) = plan(size.messages);
    let split = size.messages * 2 / 3;
    let mut timeline = Timeline::default();
    let mut dead_letters: Vec<u64> = Vec::new();
    let journal = platform.journal();
    let mut pacing = Pacing {
        journal: journal.clone(),
        window: platform.profile().max_outstanding,
        deadline,
        done: 0,
    };
    app::quiet_planned_panics();
    note(&format!(
        "soak {} — {}",
        platform.profile().name,
        size.label
    ));

    // Phase 1: two thirds, the consumer killed while the slow message's batch is in flight.
    let mut looked = Instant::now();
    for (i, chunk) in bodies[..split].chunks(10).enumerate() {
        pacing
            .send(&mut platform, &mut dead_letters, i * 10, chunk)
            .await;
        if looked.elapsed() < Duration::from_millis(100) {
            continue;
        }
        looked = Instant::now();
        watch(&mut platform, &mut timeline).await;
        if timeline.kill.is_none() && slow_started(&journal, kill_target) {
            kill(&mut platform, &mut timeline).await;
        }
    }
    while timeline.kill.is_none() {
        assert!(
            Instant::now() < deadline,
            "the slow message {kill_target} never started; see {}",
            platform.run_dir().display()
        );
        watch(&mut platform, &mut timeline).await;
        if slow_started(&journal, kill_target) {
            kill(&mut platform, &mut timeline).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The emulator restart: with messages in flight where the emulator keeps its state; else
    // once everything sent so far is settled (an emulator without state loses what it holds).
    if !platform.profile().restart_keeps_state {
        settle(
            &mut platform,
            &bodies[..split],
            &mut dead_letters,
            &mut timeline,
            deadline,
        )
        .await;
    }
    let from = now_ms();
    platform.restart_emulator().await;
    timeline.emulator_restart = Some((from, now_ms()));

    // Phase 2: the rest.
    for (i, chunk) in bodies[split..].chunks(10).enumerate() {
        pacing
            .send(&mut platform, &mut dead_letters, split + i * 10, chunk)
            .await;
        if looked.elapsed() >= Duration::from_millis(100) {
            looked = Instant::now();
            watch(&mut platform, &mut timeline).await;
        }
    }
    platform.all_sent();
    let figures = settle(
        &mut platform,
        &bodies,
        &mut dead_letters,
        &mut timeline,
        deadline,
    )
    .await;
    let settled_after = started.elapsed();
    // Late redeliveries (a lease that ends after the last check) still count.
    tokio::time::sleep(Duration::from_secs(3)).await;
    watch(&mut platform, &mut timeline).await;
    dead_letters.extend(platform.drain_dead_letters().await);
    let figures = if figures.settled() {
        check(
            &bodies,
            &read_journal(&journal),
            &dead_letters,
            &timeline,
            &platform,
        )
    } else {
        figures
    };
    platform.stop().await;
    report(&platform, size, &figures, &timeline, settled_after);
    assert_promises(&platform, &figures, &timeline, &bodies, &journal);
    let _ = std::fs::remove_dir_all(platform.run_dir());
    figures
}

/// Flow control: before each chunk is sent, waits while `window` or more of the messages sent
/// so far are neither handled nor dead-lettered (a steady stream, not one burst: some emulators
/// slow down with a deep queue), or until the deadline.
struct Pacing {
    journal: PathBuf,
    window: usize,
    deadline: Instant,
    /// Handled or dead-lettered at the last look.
    done: usize,
}

impl Pacing {
    /// Sends `chunk` once fewer than `window` of the `sent` before it are outstanding.
    async fn send(
        &mut self,
        platform: &mut impl Platform,
        dead_letters: &mut Vec<u64>,
        sent: usize,
        chunk: &[Body],
    ) {
        // Handled and dead-lettered only grow: no need to look while the last count allows it.
        let outstanding = |done: usize| sent - done.min(sent);
        if outstanding(self.done) >= self.window {
            loop {
                dead_letters.extend(platform.drain_dead_letters().await);
                let mut done: HashSet<u64> = read_journal(&self.journal)
                    .iter()
                    .filter(|e| e.outcome == Outcome::Ok)
                    .map(|e| e.id)
                    .collect();
                done.extend(dead_letters.iter().copied());
                self.done = done.len();
                if outstanding(self.done) < self.window || Instant::now() >= self.deadline {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        platform.send(chunk).await;
    }
}

fn slow_started(journal: &Path, id: u64) -> bool {
    read_journal(journal)
        .iter()
        .any(|e| e.id == id && e.outcome == Outcome::Slow)
}

async fn kill(platform: &mut impl Platform, timeline: &mut Timeline) {
    // Mid-batch: the slow message is being handled, others of its batch are done or running.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let at = now_ms();
    let (killed, new) = platform.kill_consumer().await;
    note(&format!(
        "  killed the consumer {killed} mid-batch; restarted as {new}"
    ));
    timeline.kill = Some((killed, at, new));
}

async fn watch(platform: &mut impl Platform, timeline: &mut Timeline) {
    if let Some(crash) = platform.crashed().await {
        note(&format!(
            "  the function process {} exited by itself: {}",
            crash.0, crash.1
        ));
        timeline.crashes.push(crash);
    }
}

/// Waits until every message of `bodies` is handled or dead-lettered, or the deadline.
async fn settle(
    platform: &mut impl Platform,
    bodies: &[Body],
    dead_letters: &mut Vec<u64>,
    timeline: &mut Timeline,
    deadline: Instant,
) -> Figures {
    loop {
        watch(platform, timeline).await;
        dead_letters.extend(platform.drain_dead_letters().await);
        let figures = check(
            bodies,
            &read_journal(&platform.journal()),
            dead_letters,
            timeline,
            platform,
        );
        if figures.settled() || Instant::now() >= deadline {
            return figures;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Kills a function process (SIGKILL) and starts it again, `while_down` run in between:
/// (killed pid, new pid) — [`Platform::kill_consumer`] of the process platforms.
pub async fn kill_and_restart(
    function: &mut process::Process,
    while_down: impl FnOnce(),
) -> (String, String) {
    let killed = function.pid().to_string();
    function.kill().await;
    while_down();
    let new = function.restart().to_string();
    (killed, new)
}

/// A function process that ended by itself, started again (`while_down` run first): (pid,
/// "status; restarted as new pid") — [`Platform::crashed`] of the process platforms.
pub fn restart_if_exited(
    function: &mut process::Process,
    while_down: impl FnOnce(),
) -> Option<(String, String)> {
    let status = function.exited()?;
    let pid = function.pid().to_string();
    while_down();
    let new = function.restart();
    Some((pid, format!("{status}; restarted as {new}")))
}

/// Restarts an emulator process: SIGTERM (`grace`), started again, then waits up to `within` for
/// its `port` (panics with the end of its log, naming it `what`, if it does not come back).
pub async fn restart_emulator(
    emulator: &mut process::Process,
    grace: Duration,
    port: u16,
    within: Duration,
    what: &str,
) {
    emulator.terminate(grace).await;
    emulator.restart();
    assert!(
        process::wait_port(port, within).await,
        "{what} did not come back: {}",
        process::tail(emulator.log(), 20)
    );
}

/// A line of the soak's output: straight to stderr, so the figures show even where the test
/// harness captures output (CI).
pub fn note(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn report(
    platform: &impl Platform,
    size: &Size,
    f: &Figures,
    timeline: &Timeline,
    duration: Duration,
) {
    let reasons = if f.handled_twice_reasons.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = f
            .handled_twice_reasons
            .iter()
            .map(|(r, n)| format!("{n}× {r}"))
            .collect();
        format!("  ({})", list.join("; "))
    };
    let failed_pct = if f.attempts == 0 {
        0.0
    } else {
        100.0 * f.failed_attempts as f64 / f.attempts as f64
    };
    let mut out = vec![
        format!(
            "soak figures — {} — {}",
            platform.profile().name,
            size.label
        ),
        format!("  sent                    {:>6}", f.sent),
        format!("  handled                 {:>6}", f.handled),
        format!("  dead-lettered           {:>6}", f.dead_lettered),
        format!("  expected dead-lettered  {:>6}", f.expected_dead_lettered),
        format!("  lost                    {:>6}", f.lost.len()),
        format!("  handled twice           {:>6}{reasons}", f.handled_twice),
        format!("  dead-lettered twice     {:>6}", f.dead_lettered_twice),
        format!(
            "  handler deliveries {} — failed {} ({failed_pct:.1} %), panics {}",
            f.attempts, f.failed_attempts, f.panics
        ),
    ];
    if let Some((killed, _, new)) = &timeline.kill {
        out.push(format!(
            "  consumer killed mid-batch: {killed}, restarted as {new}"
        ));
    }
    out.push(format!(
        "  emulator restart: {}",
        platform.profile().restart_note
    ));
    out.extend(platform.stats().into_iter().map(|s| format!("  {s}")));
    out.push(format!(
        "  duration                {:.1} s",
        duration.as_secs_f64()
    ));
    note(&out.join("\n"));
}

fn assert_promises(
    platform: &impl Platform,
    f: &Figures,
    timeline: &Timeline,
    bodies: &[Body],
    journal: &Path,
) {
    let dir = platform.run_dir();
    let keep = |what: String| -> String {
        format!("{what}\n(journal and logs kept in {})", dir.display())
    };
    if !f.lost.is_empty() {
        let entries = read_journal(journal);
        let sample: Vec<String> = f
            .lost
            .iter()
            .take(5)
            .map(|id| {
                let body = bodies.iter().find(|b| b.id == *id);
                let lines: Vec<String> = entries
                    .iter()
                    .filter(|e| e.id == *id)
                    .map(|e| format!("{e:?}"))
                    .collect();
                format!("{body:?}: {lines:?}")
            })
            .collect();
        panic!(
            "{}",
            keep(format!(
                "{} messages lost (neither handled nor dead-lettered), e.g. {:#?}",
                f.lost.len(),
                sample
            ))
        );
    }
    assert!(
        timeline.crashes.is_empty(),
        "{}",
        keep(format!(
            "the function process exited by itself: {:?}",
            timeline.crashes
        ))
    );
    assert!(
        f.handled_twice_in_one_delivery.is_empty(),
        "{}",
        keep(format!(
            "handled twice within one delivery (no redelivery): {:?}",
            f.handled_twice_in_one_delivery
        ))
    );
    assert!(
        f.handled_and_dead_lettered.is_empty(),
        "{}",
        keep(format!(
            "handled and also dead-lettered: {:?}",
            f.handled_and_dead_lettered
        ))
    );
    assert!(
        f.expected_not_dead_lettered.is_empty(),
        "{}",
        keep(format!(
            "messages that always fail but were not dead-lettered: {:?}",
            f.expected_not_dead_lettered
        ))
    );
    assert!(
        f.unexpected_dead_letters.is_empty(),
        "{}",
        keep(format!(
            "dead-lettered although they succeed within the delivery limit: {:?}",
            f.unexpected_dead_letters
        ))
    );
    assert!(f.panics > 0 || bodies.iter().all(|b| !b.panic_once));
}
