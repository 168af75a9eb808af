#!/usr/bin/env bash
# Runs every check and test of the workspace: the command CI runs (.ci/run) and the README names.
#   ./scripts/test.sh
# It installs and starts each emulator the tests need, runs the emulator-backed tests too, and
# stops the emulators when it ends (scripts/emulators.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cloudport-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Two cores: one build at a time, test binaries on both.
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
# CI builds a fresh clone each time: incremental caches would only pile up in the shared target.
if [ "${CI:-}" = "true" ]; then export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"; fi

step() { printf '\n==> %s\n' "$*"; }

# The target dir is shared by every clone on this machine and grows with each build; when the
# disk runs low, stale test and example binaries (untouched for 2 hours: earlier builds' hashes)
# and incremental caches go first. Cargo rebuilds anything it still needs.
prune_target() {
  local free_kb
  free_kb=$(df -Pk "$CARGO_TARGET_DIR" 2>/dev/null | awk 'NR == 2 { print $4 }')
  if [ -n "$free_kb" ] && [ "$free_kb" -lt $((20 * 1024 * 1024)) ]; then
    echo "less than 20 GiB free: pruning stale binaries and incremental caches in $CARGO_TARGET_DIR"
    rm -rf "$CARGO_TARGET_DIR"/debug/incremental "$CARGO_TARGET_DIR"/release/incremental
    find "$CARGO_TARGET_DIR"/debug/deps "$CARGO_TARGET_DIR"/debug/examples -maxdepth 1 -type f \
      -perm -u+x -mmin +120 -delete 2>/dev/null || true
  fi
}
mkdir -p "$CARGO_TARGET_DIR"
prune_target

PASSED=0 FAILED=0 IGNORED=0
RESULTS="$(mktemp)"
# run_tests ARGS…: cargo test ARGS, counting what its test binaries report.
run_tests() {
  cargo test "$@" 2>&1 | tee "$RESULTS"
  local status=${PIPESTATUS[0]}
  local p f i
  read -r p f i < <(awk '/^test result:/ { for (n = 1; n <= NF; n++) {
      if ($(n+1) ~ /^passed/) p += $n; if ($(n+1) ~ /^failed/) f += $n; if ($(n+1) ~ /^ignored/) i += $n } }
      END { print p + 0, f + 0, i + 0 }' "$RESULTS")
  PASSED=$((PASSED + p)) FAILED=$((FAILED + f)) IGNORED=$((IGNORED + i))
  return "$status"
}

step "rustfmt"
cargo fmt --all -- --check

step "clippy (-D warnings)"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

step "rustdoc (-D warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features --locked

# shellcheck source=scripts/tools.sh
source scripts/tools.sh
step "deploy tools: cfn-lint, checkov, cargo-zigbuild + zig, action-validator (each in its own venv or npm prefix under \$CLOUDPORT_TOOLS_DIR)"
tools_install

step "build the examples (end-to-end tests run them as processes)"
cargo build --examples --all-features --locked

step "package the quickstart for AWS: cargo cloudport package (tests/deploy_aws.rs lints and deploys it)"
CLOUDPORT_DEPLOY_AWS_OUT="$(mktemp -d)/quickstart-aws"
export CLOUDPORT_DEPLOY_AWS_OUT
cargo run --locked --quiet -p cargo-cloudport -- cloudport package --cloud aws --example quickstart \
  --out "$CLOUDPORT_DEPLOY_AWS_OUT" --ci github

step "package the quickstart for Azure and Google Cloud (cli/tests/packaged_azure.rs, packaged_gcp.rs check those files)"
CLOUDPORT_DEPLOY_AZURE_OUT="$(mktemp -d)/quickstart-azure"
CLOUDPORT_DEPLOY_GCP_OUT="$(mktemp -d)/quickstart-gcp"
export CLOUDPORT_DEPLOY_AZURE_OUT CLOUDPORT_DEPLOY_GCP_OUT
cargo run --locked --quiet -p cargo-cloudport -- cloudport package --cloud azure --example quickstart \
  --out "$CLOUDPORT_DEPLOY_AZURE_OUT" --ci github
cargo run --locked --quiet -p cargo-cloudport -- cloudport package --cloud gcp --example quickstart \
  --out "$CLOUDPORT_DEPLOY_GCP_OUT" --ci github

step "the quickstart's monthly cost projection and its decision record (cargo cloudport cost / adr)"
cargo run --locked --quiet -p cargo-cloudport -- cloudport cost --cloud all \
  --description "$CLOUDPORT_DEPLOY_AWS_OUT/description.json" --invocations 1000000 --duration-ms 120
cargo run --locked --quiet -p cargo-cloudport -- cloudport adr \
  --description "$CLOUDPORT_DEPLOY_AWS_OUT/description.json" --out "$CLOUDPORT_DEPLOY_AWS_OUT/ADR.md"

step "unit, integration and doc tests (memory provider, local host, error mapping)"
run_tests --workspace --all-features --locked

# shellcheck source=scripts/emulators.sh
source scripts/emulators.sh
trap emulators_stop EXIT
emulators_start

step "emulator-backed and end-to-end tests (the #[ignore = \"needs …: ./scripts/test.sh\"] ones)"
run_tests --workspace --all-features --locked -- --ignored

step "the quickstart end to end, in memory"
cargo run --example quickstart --all-features --locked

step "benchmarks compile in release (default features; clippy above builds the cloud benches too)"
cargo bench --no-run --locked

echo
# Each emulator-backed test is counted once: ignored in the first run, passed in the second.
echo "all checks passed"
echo "summary: $PASSED passed, $FAILED failed"
