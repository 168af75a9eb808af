//! # cloudport-fuzz
//!
//! The fuzzing campaign of cloudport: every decoder that reads outside input, fed through its
//! public entry point by a structure-aware generator seeded with the real payload shapes. See
//! `fuzz/README.md` for what is fuzzed, how, the commands and the campaign's figures.
//!
//! An execution is reproducible from `(target, seed, iteration)` alone: the input of iteration
//! `i` is generated from a PRNG seeded with `(seed, target, i)`, never from earlier iterations.
//!
//! ```
//! use cloudport_fuzz::{Config, run, targets};
//! let mut target = targets::build("trace-headers").unwrap();
//! let report = run(target.as_mut(), &Config { execs: 200, ..Config::default() });
//! assert_eq!(report.execs, 200);
//! assert!(report.failures.is_empty());
//! ```

pub mod case;
pub mod json;
pub mod mutate;
pub mod targets;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use case::Case;
pub use mutate::{Ctx, Shape};

/// A decoder under test, behind its public entry point.
pub trait Target {
    /// The target's name (see [`targets::TARGETS`]).
    fn name(&self) -> &'static str;

    /// What of a [`Case`] it reads.
    fn shape(&self) -> Shape;

    /// The seeds: real payload shapes, taken from the tests and benches.
    fn seeds(&self) -> Vec<Case>;

    /// Tokens that mean something to this decoder.
    fn dictionary(&self) -> &'static [&'static str] {
        &[]
    }

    /// Header names and values that mean something to it.
    fn headers(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// Paths that mean something to it.
    fn paths(&self) -> &'static [&'static str] {
        &[]
    }

    /// Adjusts a generated case before it runs (and before it is saved, so a saved case is what
    /// ran). Most targets take every case as generated.
    fn finish(&self, _case: &mut Case) {}

    /// Runs one input: `Ok` with its outcome (a status, an error kind — a cheap stand-in for
    /// coverage), `Err` when a property the decoder promises does not hold.
    fn exec(&mut self, case: &Case) -> std::result::Result<String, String>;

    /// Rebuilds the target's state (hosts, in-memory resources): every
    /// [`RESET_EVERY`] executions, so nothing accumulates, and after a failure.
    fn reset(&mut self) {}
}

/// How often a target's state is rebuilt.
pub const RESET_EVERY: u64 = 20_000;

/// What one execution came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It answered; the outcome.
    Ok(String),
    /// It panicked (the message and location) — also a panic caught inside the code under test.
    Panic(String),
    /// A promised property did not hold.
    Violation(String),
}

thread_local! {
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    static PANICS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Panics during an execution are recorded (message and location) instead of printed; any
/// other panic goes to the default hook.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !CAPTURING.with(Cell::get) {
                default(info);
                return;
            }
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(a panic with a non-text payload)".to_owned());
            let location = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_else(|| "?".to_owned());
            PANICS.with(|p| p.borrow_mut().push(format!("{message} (at {location})")));
        }));
    });
}

/// Runs one input, catching panics: those that unwind out of the entry point, and those the
/// code under test catches itself (a handler panic caught by `App::dispatch`, say — the
/// handlers here do nothing, so any panic is the decoder's).
pub fn execute(target: &mut dyn Target, case: &Case) -> Verdict {
    install_panic_hook();
    PANICS.with(|p| p.borrow_mut().clear());
    CAPTURING.with(|c| c.set(true));
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| target.exec(case)));
    CAPTURING.with(|c| c.set(false));
    let panics = PANICS.with(|p| std::mem::take(&mut *p.borrow_mut()));
    let verdict = match (result, panics.first()) {
        (Err(_), first) => Verdict::Panic(first.cloned().unwrap_or_else(|| "a panic".to_owned())),
        (Ok(_), Some(first)) => Verdict::Panic(format!("caught inside the entry point: {first}")),
        (Ok(Err(violation)), None) => Verdict::Violation(violation),
        (Ok(Ok(outcome)), None) => Verdict::Ok(outcome),
    };
    if !matches!(verdict, Verdict::Ok(_)) {
        target.reset();
    }
    verdict
}

/// Generates the inputs of a target.
#[derive(Debug)]
pub struct Generator {
    seeds: Vec<Case>,
    parsed: Vec<Option<json::Json>>,
    name_hash: u64,
    dictionary: &'static [&'static str],
    headers: &'static [(&'static str, &'static str)],
    paths: &'static [&'static str],
    shape: Shape,
}

/// SplitMix64: spreads a seed's bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Generator {
    /// The generator of `target`'s inputs (its seeds, parsed once).
    pub fn new(target: &dyn Target) -> Self {
        let seeds = target.seeds();
        assert!(!seeds.is_empty(), "{} has no seeds", target.name());
        let parsed = seeds.iter().map(|s| json::parse(&s.body)).collect();
        Self {
            seeds,
            parsed,
            name_hash: target.name().bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            }),
            dictionary: target.dictionary(),
            headers: target.headers(),
            paths: target.paths(),
            shape: target.shape(),
        }
    }

    /// The seeds.
    pub fn seeds(&self) -> &[Case] {
        &self.seeds
    }

    /// The input of `iteration` under `seed`: always the same.
    pub fn case(&self, target: &dyn Target, seed: u64, iteration: u64) -> Case {
        let mut rng = fastrand::Rng::with_seed(mix(mix(seed ^ self.name_hash) ^ iteration));
        let ctx = Ctx {
            seeds: &self.seeds,
            parsed: &self.parsed,
            dictionary: self.dictionary,
            headers: self.headers,
            paths: self.paths,
            shape: self.shape,
        };
        let mut case = mutate::generate(&mut rng, &ctx);
        target.finish(&mut case);
        case
    }
}

/// How a campaign runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The campaign's seed.
    pub seed: u64,
    /// Executions.
    pub execs: u64,
    /// The first iteration (to replay a stretch of a campaign).
    pub start: u64,
    /// Where failures are saved (`None`: not saved).
    pub crash_dir: Option<PathBuf>,
    /// Whether failing inputs are minimized.
    pub minimize: bool,
    /// Stop after this many distinct failures.
    pub max_failures: usize,
    /// Write each input to this file before running it (to find an input that aborts the
    /// process — a stack overflow, say — which no panic handler sees).
    pub checkpoint: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            seed: 0,
            execs: 10_000_000,
            start: 0,
            crash_dir: None,
            minimize: true,
            max_failures: 10,
            checkpoint: None,
        }
    }
}

/// A failing input.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The target.
    pub target: &'static str,
    /// The campaign's seed.
    pub seed: u64,
    /// The iteration that generated it.
    pub iteration: u64,
    /// `panic` or `violation`.
    pub kind: &'static str,
    /// The panic message and location, or the property that failed.
    pub message: String,
    /// The input as generated.
    pub case: Case,
    /// The smallest input found that fails the same way.
    pub minimized: Case,
    /// Where it was saved.
    pub saved: Option<PathBuf>,
    /// How many more inputs failed the same way.
    pub repeats: u64,
}

/// What a campaign on one target came to.
#[derive(Debug, Clone)]
pub struct Report {
    /// The target.
    pub target: &'static str,
    /// The campaign's seed.
    pub seed: u64,
    /// Executions.
    pub execs: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Outcomes seen, with their counts.
    pub outcomes: BTreeMap<String, u64>,
    /// Failures, one per distinct location.
    pub failures: Vec<Failure>,
}

impl Report {
    /// Executions per second.
    pub fn execs_per_sec(&self) -> f64 {
        self.execs as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Panics (every execution that panicked, also repeats of one location).
    pub fn panics(&self) -> u64 {
        self.failures
            .iter()
            .filter(|f| f.kind == "panic")
            .map(|f| 1 + f.repeats)
            .sum()
    }

    /// Property violations.
    pub fn violations(&self) -> u64 {
        self.failures
            .iter()
            .filter(|f| f.kind == "violation")
            .map(|f| 1 + f.repeats)
            .sum()
    }

    /// One line: target, executions, time, speed, distinct outcomes, panics, violations.
    pub fn summary(&self) -> String {
        format!(
            "{:<24} execs {:>11}  time {:>8.1} s  {:>9.0} execs/s  outcomes {:>3}  panics {}  violations {}",
            self.target,
            self.execs,
            self.elapsed.as_secs_f64(),
            self.execs_per_sec(),
            self.outcomes.len(),
            self.panics(),
            self.violations(),
        )
    }

    /// The most frequent outcomes, `n` of them.
    pub fn top_outcomes(&self, n: usize) -> String {
        let mut all: Vec<(&String, &u64)> = self.outcomes.iter().collect();
        all.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        all.iter()
            .take(n)
            .map(|(o, c)| format!("{o:?}×{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Where a failure happened: the panic's location, or the property's first words.
fn failure_key(message: &str) -> String {
    match message.rfind(" (at ") {
        Some(at) => message[at..].to_owned(),
        None => message.chars().take(60).collect(),
    }
}

/// Runs `config.execs` generated inputs through `target`.
pub fn run(target: &mut dyn Target, config: &Config) -> Report {
    run_with_progress(target, config, |_| {})
}

/// [`run`], calling `progress` every million executions.
pub fn run_with_progress(
    target: &mut dyn Target,
    config: &Config,
    mut progress: impl FnMut(&Report),
) -> Report {
    let generator = Generator::new(&*target);
    let started = Instant::now();
    let mut report = Report {
        target: target.name(),
        seed: config.seed,
        execs: 0,
        elapsed: Duration::ZERO,
        outcomes: BTreeMap::new(),
        failures: Vec::new(),
    };
    for iteration in config.start..config.start + config.execs {
        if iteration > config.start && iteration.is_multiple_of(RESET_EVERY) {
            target.reset();
        }
        let case = generator.case(&*target, config.seed, iteration);
        if let Some(path) = &config.checkpoint {
            let _ = std::fs::write(
                path,
                crash_file(
                    target.name(),
                    config.seed,
                    iteration,
                    "in-flight",
                    "",
                    &case,
                    &case,
                ),
            );
        }
        let verdict = execute(target, &case);
        report.execs += 1;
        let (kind, message) = match verdict {
            Verdict::Ok(outcome) => {
                *report.outcomes.entry(outcome).or_default() += 1;
                if report.execs.is_multiple_of(1_000_000) {
                    report.elapsed = started.elapsed();
                    progress(&report);
                }
                continue;
            }
            Verdict::Panic(m) => ("panic", m),
            Verdict::Violation(m) => ("violation", m),
        };
        *report.outcomes.entry(kind.to_owned()).or_default() += 1;
        let key = failure_key(&message);
        if let Some(seen) = report
            .failures
            .iter_mut()
            .find(|f| failure_key(&f.message) == key)
        {
            seen.repeats += 1;
            continue;
        }
        let minimized = if config.minimize {
            minimize(target, &case, &key)
        } else {
            case.clone()
        };
        let mut failure = Failure {
            target: target.name(),
            seed: config.seed,
            iteration,
            kind,
            message,
            case,
            minimized,
            saved: None,
            repeats: 0,
        };
        if let Some(dir) = &config.crash_dir {
            failure.saved = save(dir, &failure);
        }
        eprintln!("{}", describe(&failure));
        report.failures.push(failure);
        if report.failures.len() >= config.max_failures {
            break;
        }
    }
    report.elapsed = started.elapsed();
    report
}

/// A failure as the campaign prints it: what, where, and how to run it again.
pub fn describe(f: &Failure) -> String {
    format!(
        "FAILURE ({kind}) target={target} seed={seed} iteration={iteration}\n  {message}\n  input: {input}\n  minimized: {min}\n  reproduce: cargo run --release -p cloudport-fuzz -- --target {target} --seed {seed} --start {iteration} --execs 1{saved}",
        kind = f.kind,
        target = f.target,
        seed = f.seed,
        iteration = f.iteration,
        message = f.message,
        input = f.case.to_json(),
        min = f.minimized.to_json(),
        saved = f
            .saved
            .as_ref()
            .map(|p| format!(
                "\n  saved: {} (replay: -- --replay {})",
                p.display(),
                p.display()
            ))
            .unwrap_or_default(),
    )
}

fn crash_file(
    target: &str,
    seed: u64,
    iteration: u64,
    kind: &str,
    message: &str,
    case: &Case,
    minimized: &Case,
) -> Vec<u8> {
    let file = serde_json::json!({
        "target": target,
        "seed": seed,
        "iteration": iteration,
        "kind": kind,
        "message": message,
        "case": case.to_json(),
        "minimized": minimized.to_json(),
        "regression_test": minimized.to_rust(target, &format!("{}_{seed}_{iteration}", target.replace('-', "_"))),
    });
    serde_json::to_vec_pretty(&file).unwrap_or_default()
}

fn save(dir: &std::path::Path, f: &Failure) -> Option<PathBuf> {
    std::fs::create_dir_all(dir).ok()?;
    let path = dir.join(format!("{}-s{}-i{}.json", f.target, f.seed, f.iteration));
    std::fs::write(
        &path,
        crash_file(
            f.target,
            f.seed,
            f.iteration,
            f.kind,
            &f.message,
            &f.case,
            &f.minimized,
        ),
    )
    .ok()?;
    Some(path)
}

/// A saved failure's target and minimized input (`--replay`, the regression tests).
pub fn load_crash(path: &std::path::Path) -> Option<(String, Case)> {
    let text = std::fs::read(path).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&text).ok()?;
    let target = value.get("target")?.as_str()?.to_owned();
    let case = Case::from_json(value.get("minimized")?)?;
    Some((target, case))
}

/// The smallest input found that still fails at `key`: headers dropped, then chunks of the body,
/// the header values and the path removed (greedily, at most a few thousand tries).
pub fn minimize(target: &mut dyn Target, case: &Case, key: &str) -> Case {
    let budget = Cell::new(4_000u32);
    let fails = |t: &mut dyn Target, c: &Case| {
        if budget.get() == 0 {
            return false;
        }
        budget.set(budget.get() - 1);
        match execute(t, c) {
            Verdict::Panic(m) | Verdict::Violation(m) => failure_key(&m) == key,
            Verdict::Ok(_) => false,
        }
    };
    let mut best = case.clone();
    let mut i = 0;
    while i < best.headers.len() {
        let mut c = best.clone();
        c.headers.remove(i);
        if fails(target, &c) {
            best = c;
        } else {
            i += 1;
        }
    }
    let body = shrink(best.body.clone(), &budget, |b| {
        let mut c = best.clone();
        c.body = b.to_vec();
        fails(target, &c)
    });
    best.body = body;
    for h in 0..best.headers.len() {
        let value = shrink(best.headers[h].1.clone(), &budget, |v| {
            let mut c = best.clone();
            c.headers[h].1 = v.to_vec();
            fails(target, &c)
        });
        best.headers[h].1 = value;
    }
    let path = shrink(best.path.clone().into_bytes(), &budget, |p| {
        let mut c = best.clone();
        c.path = String::from_utf8_lossy(p).into_owned();
        fails(target, &c)
    });
    best.path = String::from_utf8_lossy(&path).into_owned();
    best
}

/// Removes chunks of `bytes` (halves down to single bytes) while `still_fails`, until the
/// budget of tries is spent.
fn shrink(
    mut bytes: Vec<u8>,
    budget: &Cell<u32>,
    mut still_fails: impl FnMut(&[u8]) -> bool,
) -> Vec<u8> {
    let mut chunk = bytes.len() / 2;
    while chunk >= 1 && budget.get() > 0 {
        let mut at = 0;
        while at < bytes.len() && budget.get() > 0 {
            let end = (at + chunk).min(bytes.len());
            let mut candidate = bytes.clone();
            candidate.drain(at..end);
            if still_fails(&candidate) {
                bytes = candidate;
            } else {
                at += chunk;
            }
        }
        chunk /= 2;
    }
    bytes
}

/// Runs one input through a freshly built target: the regression tests' entry.
pub fn run_one(target: &str, case: &Case) -> Verdict {
    let mut t = targets::build(target).unwrap_or_else(|| panic!("no target {target:?}"));
    execute(t.as_mut(), case)
}
