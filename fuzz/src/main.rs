//! The campaign runner:
//!
//! ```text
//! cargo run --release -p cloudport-fuzz -- [--target NAME|all] [--execs N] [--seed S] [--start I]
//!     [--no-minimize] [--checkpoint FILE] [--show] [--show-outcome TEXT] [--gen-only]
//!     [--replay FILE] [--list]
//! ```
//!
//! Prints, per target: executions, wall time, executions per second, distinct outcomes, panics
//! and property violations (both must be 0), and the most frequent outcomes. Failures are saved
//! under `fuzz/crashes/` with their minimized input and a regression test to paste. Exits 1 if
//! any target failed.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::process::ExitCode;

use cloudport_fuzz::{Config, Generator, Verdict, execute, load_crash, run_with_progress, targets};

/// Each target runs on a thread with this stack: a Tokio worker's, where the hosts run.
const STACK: usize = 2 * 1024 * 1024;

struct Args {
    targets: Vec<String>,
    config: Config,
    show: bool,
    gen_only: bool,
    matching: Option<String>,
    replay: Option<PathBuf>,
}

fn usage() -> String {
    let names: Vec<&str> = targets::TARGETS.iter().map(|(n, _)| *n).collect();
    format!(
        "usage: cloudport-fuzz [--target NAME|all] [--execs N] [--seed S] [--start I] [--no-minimize] [--checkpoint FILE] [--show] [--show-outcome TEXT] [--gen-only] [--replay FILE] [--list]\ntargets: {}",
        names.join(", ")
    )
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        targets: Vec::new(),
        config: Config {
            crash_dir: Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("crashes")),
            ..Config::default()
        },
        show: false,
        gen_only: false,
        matching: None,
        replay: None,
    };
    let mut it = std::env::args().skip(1);
    let number = |v: Option<String>, what: &str| {
        v.as_deref()
            .map(|s| s.replace('_', ""))
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| format!("{what} needs a number\n{}", usage()))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--target" | "-t" => {
                let name = it.next().ok_or_else(usage)?;
                if name == "all" {
                    args.targets = targets::TARGETS
                        .iter()
                        .map(|(n, _)| (*n).to_owned())
                        .collect();
                } else if targets::TARGETS.iter().any(|(n, _)| *n == name) {
                    args.targets.push(name);
                } else {
                    return Err(format!("no target {name:?}\n{}", usage()));
                }
            }
            "--execs" | "-n" => args.config.execs = number(it.next(), "--execs")?,
            "--seed" | "-s" => args.config.seed = number(it.next(), "--seed")?,
            "--start" => args.config.start = number(it.next(), "--start")?,
            "--no-minimize" => args.config.minimize = false,
            "--checkpoint" => args.config.checkpoint = it.next().map(PathBuf::from),
            "--show" => args.show = true,
            "--gen-only" => args.gen_only = true,
            "--show-outcome" => {
                args.show = true;
                args.matching = it.next();
            }
            "--replay" => args.replay = it.next().map(PathBuf::from),
            "--list" => {
                for (name, entry) in targets::TARGETS {
                    let seeds = targets::build(name).map_or(0, |t| t.seeds().len());
                    println!("{name:<24} {seeds:>3} seeds  {entry}");
                }
                std::process::exit(0);
            }
            "--help" | "-h" => {
                println!("{}", usage());
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{}", usage())),
        }
    }
    if args.targets.is_empty() {
        args.targets = targets::TARGETS
            .iter()
            .map(|(n, _)| (*n).to_owned())
            .collect();
    }
    Ok(args)
}

fn replay(path: &std::path::Path) -> ExitCode {
    let Some((target, case)) = load_crash(path) else {
        eprintln!("{}: not a crash file", path.display());
        return ExitCode::FAILURE;
    };
    let verdict = std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || cloudport_fuzz::run_one(&target, &case))
        .map(|h| h.join());
    match verdict {
        Ok(Ok(Verdict::Ok(outcome))) => {
            println!("no failure: {outcome}");
            ExitCode::SUCCESS
        }
        Ok(Ok(other)) => {
            println!("{other:?}");
            ExitCode::FAILURE
        }
        _ => {
            println!("the replay thread died");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Some(path) = &args.replay {
        return replay(path);
    }
    let mut failed = false;
    let mut lines = Vec::new();
    for name in &args.targets {
        let config = args.config.clone();
        let show = args.show;
        let gen_only = args.gen_only;
        let matching = args.matching.clone();
        let target_name = name.clone();
        let joined = std::thread::Builder::new()
            .name(name.clone())
            .stack_size(STACK)
            .spawn(move || {
                let name = target_name;
                let mut target = targets::build(&name)?;
                if gen_only {
                    // The generator alone: how much of an execution's cost is the input's.
                    let generator = Generator::new(target.as_ref());
                    let started = std::time::Instant::now();
                    let mut bytes = 0usize;
                    for i in config.start..config.start + config.execs {
                        bytes += generator.case(target.as_ref(), config.seed, i).size();
                    }
                    let secs = started.elapsed().as_secs_f64();
                    println!(
                        "{name}: generated {} inputs in {secs:.1} s ({:.0}/s), {:.0} bytes on average",
                        config.execs,
                        config.execs as f64 / secs,
                        bytes as f64 / config.execs.max(1) as f64
                    );
                    return None;
                }
                if show {
                    // The inputs themselves, with their outcomes, instead of a campaign.
                    let generator = Generator::new(target.as_ref());
                    for i in config.start..config.start + config.execs {
                        let case = generator.case(target.as_ref(), config.seed, i);
                        let verdict = execute(target.as_mut(), &case);
                        if let (Some(m), Verdict::Ok(outcome)) = (&matching, &verdict)
                            && !outcome.contains(m.as_str())
                        {
                            continue;
                        }
                        println!("{name} seed={} iteration={i}: {verdict:?}\n  {}", config.seed, case.to_json());
                    }
                    return None;
                }
                println!(
                    "== {name}: {} executions from iteration {}, seed {}",
                    config.execs, config.start, config.seed
                );
                Some(run_with_progress(target.as_mut(), &config, |r| {
                    println!(
                        "   {name}: {:>11} execs  {:>7.1} s  {:>8.0}/s  outcomes {}",
                        r.execs,
                        r.elapsed.as_secs_f64(),
                        r.execs_per_sec(),
                        r.outcomes.len()
                    );
                }))
            })
            .map(|h| h.join());
        match joined {
            Ok(Ok(Some(report))) => {
                println!("{}", report.summary());
                println!("   top outcomes: {}", report.top_outcomes(12));
                failed |= !report.failures.is_empty();
                lines.push(report.summary());
            }
            Ok(Ok(None)) => {}
            _ => {
                failed = true;
                lines.push(format!("{name}: the campaign thread died (see above)"));
            }
        }
    }
    if lines.len() > 1 {
        println!("\n== summary (seed {})", args.config.seed);
        for line in &lines {
            println!("{line}");
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
