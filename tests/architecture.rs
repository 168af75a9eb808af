//! The boundaries ARCHITECTURE.md states, checked: core depends on no cloud SDK; providers never
//! depend on each other; adapters know hosts, not services; function code names no provider;
//! every provider has the same file layout; OpenTelemetry is compiled only behind `otel`.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn dependencies(manifest: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(manifest).expect("manifest");
    let doc: toml::Table = text.parse().expect("toml");
    let mut names = Vec::new();
    for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(deps) = doc.get(section).and_then(|d| d.as_table()) {
            names.extend(deps.keys().cloned());
        }
    }
    names
}

const CLOUD_SDKS: &[&str] = &[
    "aws-",
    "aws_",
    "azure",
    "google-cloud",
    "gcloud",
    "firestore",
    "lambda_runtime",
    "lambda-runtime",
];

fn is_cloud_sdk(dep: &str) -> bool {
    CLOUD_SDKS.iter().any(|p| dep.starts_with(p))
}

fn providers() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("providers"))
        .expect("providers/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("Cargo.toml").exists())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn core_depends_on_no_cloud_sdk() {
    let deps = dependencies(&root().join("core/Cargo.toml"));
    let bad: Vec<_> = deps.iter().filter(|d| is_cloud_sdk(d)).collect();
    assert!(bad.is_empty(), "core depends on cloud SDKs: {bad:?}");
}

#[test]
fn opentelemetry_is_compiled_only_behind_the_otel_feature() {
    for crate_dir in ["core", "adapters"] {
        let text = std::fs::read_to_string(root().join(crate_dir).join("Cargo.toml")).unwrap();
        let doc: toml::Table = text.parse().unwrap();
        let deps = doc["dependencies"].as_table().unwrap();
        for (name, spec) in deps {
            if name.contains("opentelemetry") {
                assert_eq!(
                    spec.get("optional").and_then(toml::Value::as_bool),
                    Some(true),
                    "{crate_dir} depends on {name} unconditionally"
                );
            }
        }
    }
}

#[test]
fn providers_never_depend_on_each_other() {
    for dir in providers() {
        let deps = dependencies(&dir.join("Cargo.toml"));
        let others: Vec<_> = deps
            .iter()
            .filter(|d| d.starts_with("cloudport-") && *d != "cloudport-core")
            .collect();
        assert!(others.is_empty(), "{} depends on {others:?}", dir.display());
    }
}

#[test]
fn adapters_know_hosts_not_services() {
    const SERVICE_SDKS: &[&str] = &[
        "aws-sdk-",
        "aws-config",
        "azure_storage",
        "azure_data",
        "google-cloud-pubsub",
        "google-cloud-storage",
        "gcloud-",
        "firestore",
        "cloudport-aws",
        "cloudport-azure",
        "cloudport-gcp",
    ];
    let deps = dependencies(&root().join("adapters/Cargo.toml"));
    let bad: Vec<_> = deps
        .iter()
        .filter(|d| SERVICE_SDKS.iter().any(|s| d.starts_with(s)))
        .collect();
    assert!(bad.is_empty(), "adapters depend on service SDKs: {bad:?}");
}

#[test]
fn function_code_names_no_provider() {
    const PROVIDER_NAMES: &[&str] = &[
        "cloudport_memory",
        "cloudport::memory",
        "cloudport_aws",
        "cloudport_azure",
        "cloudport_gcp",
        "cloudport::aws",
        "cloudport::azure",
        "cloudport::gcp",
        "mem://",
        "sqs://",
        "s3://",
        "dynamodb://",
        "azqueue://",
        "azblob://",
        "aztable://",
        "gcppubsub://",
        "gs://",
        "firestore://",
    ];
    let mut checked = 0;
    for entry in std::fs::read_dir(root().join("examples")).expect("examples/") {
        let dir = entry.expect("entry").path();
        let app = dir.join("app.rs");
        if !app.exists() {
            continue;
        }
        let text = std::fs::read_to_string(&app).expect("read");
        for name in PROVIDER_NAMES {
            assert!(
                !text.contains(name),
                "{} names a provider: {name}",
                app.display()
            );
        }
        checked += 1;
    }
    assert!(
        checked >= 2,
        "every example keeps its function code in app.rs"
    );
}

#[test]
fn every_provider_has_the_same_layout() {
    const FILES: &[&str] = &[
        "src/lib.rs",
        "src/open.rs",
        "src/queue.rs",
        "src/blob.rs",
        "src/kv.rs",
        "tests/conformance.rs",
    ];
    for dir in providers() {
        for file in FILES {
            assert!(dir.join(file).exists(), "{} lacks {file}", dir.display());
        }
    }
}
