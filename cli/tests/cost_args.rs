//! The `cost` and `adr` command lines as the CLI will wire them (two subcommands flattening
//! `CostArgs` / `AdrArgs`), and what they produce from a description file.

use clap::{CommandFactory, Parser, Subcommand};
use cloudport_cli::cost::Cloud;
use cloudport_cli::cost::args::{
    AdrArgs, CloudChoice, CostArgs, description_for, run_adr, run_cost,
};

/// The wiring the CLI adds: two variants of its `Command` enum.
#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Cost(CostArgs),
    Adr(AdrArgs),
}

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/quickstart.description.json"
);

fn parse(line: &str) -> Result<Command, clap::Error> {
    Cli::try_parse_from(std::iter::once("cargo-cloudport").chain(line.split(' ')))
        .map(|c| c.command)
}

#[test]
fn the_command_definitions_are_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn cost_parses_one_cloud_or_all_and_the_workload() {
    let Ok(Command::Cost(a)) = parse(
        "cost --cloud gcp --example quickstart --invocations 2000000 --duration-ms 120 --memory-mb 512 --messages 10 --kv-writes 7",
    ) else {
        panic!("cost does not parse")
    };
    assert_eq!(a.cloud, CloudChoice::Gcp);
    assert_eq!(a.cloud.clouds(), [Cloud::Gcp]);
    assert_eq!(a.app.example.as_deref(), Some("quickstart"));
    assert_eq!(a.workload.invocations, Some(2_000_000));
    assert_eq!(a.workload.memory_mb, Some(512));
    assert_eq!(a.workload.kv_writes, Some(7));
    let Ok(Command::Cost(a)) = parse("cost --description d.json --invocations 1 --duration-ms 1")
    else {
        panic!("cost does not parse")
    };
    assert_eq!(a.cloud.clouds(), Cloud::ALL);
    assert!(
        parse("cost --invocations 1 --duration-ms 1").is_err(),
        "no app"
    );
    assert!(
        parse("cost --bin a --example b --invocations 1 --duration-ms 1").is_err(),
        "two apps"
    );
}

#[test]
fn cost_from_a_description_file_needs_the_workload() {
    let Ok(Command::Cost(a)) = parse(&format!("cost --description {FIXTURE} --cloud aws")) else {
        panic!("cost does not parse")
    };
    let (d, name) = description_for(&a.app).expect("reads the fixture");
    assert_eq!(name, "quickstart");
    let err = run_cost(&a, &d).expect_err("no workload");
    assert!(err.to_string().contains("--invocations"), "{err}");
    let Ok(Command::Cost(a)) = parse(&format!(
        "cost --description {FIXTURE} --cloud aws --invocations 1000000 --duration-ms 100"
    )) else {
        panic!("cost does not parse")
    };
    let md = run_cost(&a, &d).expect("projects");
    assert!(
        md.contains("| AWS | Lambda provided.al2023, x86_64, 256 MB |"),
        "{md}"
    );
    assert!(!md.contains("| Azure |"), "{md}");
}

#[test]
fn adr_uses_a_reference_workload_unless_given_one() {
    let Ok(Command::Adr(a)) = parse(&format!("adr --description {FIXTURE} --name shop")) else {
        panic!("adr does not parse")
    };
    let (d, name) = description_for(&a.app).expect("reads the fixture");
    assert_eq!(name, "shop");
    let md = run_adr(&a, &d, &name).expect("renders");
    assert!(md.starts_with("# ADR: `shop`"), "{md}");
    assert!(
        md.contains("Workload: 1,000,000 invocations a month, 100 ms each"),
        "{md}"
    );
    let bad = parse(&format!("adr --description {FIXTURE} --vcpu 0"));
    let Ok(Command::Adr(a)) = bad else {
        panic!("adr does not parse")
    };
    assert!(run_adr(&a, &d, "x").is_err(), "0 vCPU is refused");
}
