#!/usr/bin/env bash
# Installs the tools the deploy checks use, each in a virtual environment (PyPI) or npm prefix of
# its own under a cache outside the clone, only when missing; sourced by test.sh.
#   source scripts/tools.sh
#   tools_install            # all of them, or one of: tools_cfn_lint, tools_checkov, tools_zigbuild,
#                            # tools_action_validator
#
# Why a venv each: checkov pins an old boto3/botocore, which would break moto and the aws CLI in
# a shared environment; cfn-lint and cargo-zigbuild stay apart so upgrading one never moves another.
#
# What it exports:
#   CLOUDPORT_CFN_LINT        the cfn-lint executable
#   CLOUDPORT_CHECKOV         the checkov executable
#   CLOUDPORT_CARGO_ZIGBUILD  the cargo-zigbuild executable
#   CLOUDPORT_ACTION_VALIDATOR  action-validator (npm @action-validator/cli): checks a GitHub
#                             Actions workflow against its schema, offline; exits 1 on an invalid one
#   CARGO_ZIGBUILD_ZIG_PATH   the zig compiler from the ziglang wheel; cargo-zigbuild reads it, so
#                             it never has to find `python3 -m ziglang` on PATH
#   PATH                      gains $CLOUDPORT_TOOLS_DIR/bin, which holds only symlinks to the
#                             tools above and zig (never a venv's bin: its python3 would shadow
#                             the python3 that has moto)
#
# Each venv is rebuilt only when its requirement line changes (recorded in the venv) or its
# executable is missing; concurrent runs wait on a lock. The versions below were checked to
# install from PyPI alone (no other download) on the project's machine.

CLOUDPORT_TOOLS_DIR="${CLOUDPORT_TOOLS_DIR:-$HOME/.cache/cloudport-tools}"
CLOUDPORT_TOOLS_PYTHON="${CLOUDPORT_TOOLS_PYTHON:-python3}"

CLOUDPORT_CFN_LINT_REQ='cfn-lint>=1.58,<2'
CLOUDPORT_CHECKOV_REQ='checkov>=3.3.30,<3.4'
CLOUDPORT_ZIGBUILD_REQ='cargo-zigbuild>=0.24.1,<0.25 ziglang>=0.17.1,<0.18'
# Exact versions: the CLI's peer @action-validator/core holds the schema (compiled to WASM), so a
# new version changes what passes. Checked to install from npm alone and to run with no network.
CLOUDPORT_ACTION_VALIDATOR_REQ='@action-validator/cli@0.6.0 @action-validator/core@0.6.0'

# tools_venv NAME EXECUTABLE REQUIREMENT…: makes $CLOUDPORT_TOOLS_DIR/NAME hold the requirements,
# unless it already does and bin/EXECUTABLE exists.
tools_venv() {
  local name=$1 exe=$2
  shift 2
  local venv="$CLOUDPORT_TOOLS_DIR/$name" want="$*"
  mkdir -p "$CLOUDPORT_TOOLS_DIR/bin"
  (
    flock 9
    if [ -x "$venv/bin/$exe" ] && [ "$(cat "$venv/.cloudport-requirements" 2>/dev/null)" = "$want" ]; then
      exit 0
    fi
    echo "installing $want into $venv (PyPI)"
    local start=$SECONDS
    rm -rf "$venv"
    "$CLOUDPORT_TOOLS_PYTHON" -m venv "$venv" || exit 1
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "$@" || {
      echo "pip could not install $want into $venv" >&2
      rm -rf "$venv"
      exit 1
    }
    printf '%s' "$want" >"$venv/.cloudport-requirements"
    echo "installed $name in $((SECONDS - start)) s"
  ) 9>"$CLOUDPORT_TOOLS_DIR/.$name.lock" || return 1
  ln -sfn "$venv/bin/$exe" "$CLOUDPORT_TOOLS_DIR/bin/$exe"
}

# tools_path: puts $CLOUDPORT_TOOLS_DIR/bin first on PATH, once.
tools_path() {
  case ":$PATH:" in
    *":$CLOUDPORT_TOOLS_DIR/bin:"*) ;;
    *) export PATH="$CLOUDPORT_TOOLS_DIR/bin:$PATH" ;;
  esac
}

# tools_cfn_lint: cfn-lint (CloudFormation schemas, IAM action names: rule W3037).
tools_cfn_lint() {
  # shellcheck disable=SC2086 # the requirement list splits on spaces on purpose
  tools_venv cfn-lint cfn-lint $CLOUDPORT_CFN_LINT_REQ || return 1
  export CLOUDPORT_CFN_LINT="$CLOUDPORT_TOOLS_DIR/cfn-lint/bin/cfn-lint"
  tools_path
}

# tools_checkov: checkov (cloudformation, terraform, arm, bicep frameworks) in its own venv.
tools_checkov() {
  # shellcheck disable=SC2086
  tools_venv checkov checkov $CLOUDPORT_CHECKOV_REQ || return 1
  export CLOUDPORT_CHECKOV="$CLOUDPORT_TOOLS_DIR/checkov/bin/checkov"
  tools_path
}

# tools_zigbuild: cargo-zigbuild and the zig compiler (ziglang wheel), for Lambda binaries linked
# against glibc 2.34 (provided.al2023): cargo zigbuild --release --target x86_64-unknown-linux-gnu.2.34
tools_zigbuild() {
  # shellcheck disable=SC2086
  tools_venv zigbuild cargo-zigbuild $CLOUDPORT_ZIGBUILD_REQ || return 1
  local venv="$CLOUDPORT_TOOLS_DIR/zigbuild" zig
  zig=$("$venv/bin/python" -c 'import ziglang, os; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))') || return 1
  if [ ! -x "$zig" ]; then
    echo "the ziglang wheel in $venv has no zig binary at $zig" >&2
    return 1
  fi
  ln -sfn "$zig" "$CLOUDPORT_TOOLS_DIR/bin/zig"
  export CLOUDPORT_CARGO_ZIGBUILD="$venv/bin/cargo-zigbuild"
  export CARGO_ZIGBUILD_ZIG_PATH="$zig"
  tools_path
}

# tools_action_validator: action-validator (GitHub Actions workflow schema) from npm, in a
# prefix of its own: $CLOUDPORT_TOOLS_DIR/action-validator/node_modules/.bin/action-validator.
# One file per run: action-validator FILE.yml.
tools_action_validator() {
  local dir="$CLOUDPORT_TOOLS_DIR/action-validator" want="$CLOUDPORT_ACTION_VALIDATOR_REQ"
  local exe="$dir/node_modules/.bin/action-validator"
  mkdir -p "$CLOUDPORT_TOOLS_DIR/bin"
  (
    flock 9
    if [ -x "$exe" ] && [ "$(cat "$dir/.cloudport-requirements" 2>/dev/null)" = "$want" ]; then
      exit 0
    fi
    if ! command -v npm >/dev/null; then
      echo "npm is needed to install $want (Node.js 18 or newer)" >&2
      exit 1
    fi
    echo "installing $want into $dir (npm)"
    local start=$SECONDS
    rm -rf "$dir"
    mkdir -p "$dir"
    # shellcheck disable=SC2086 # the requirement list splits on spaces on purpose
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error $want || {
      echo "npm could not install $want into $dir" >&2
      rm -rf "$dir"
      exit 1
    }
    printf '%s' "$want" >"$dir/.cloudport-requirements"
    echo "installed action-validator in $((SECONDS - start)) s"
  ) 9>"$CLOUDPORT_TOOLS_DIR/.action-validator.lock" || return 1
  ln -sfn "$exe" "$CLOUDPORT_TOOLS_DIR/bin/action-validator"
  export CLOUDPORT_ACTION_VALIDATOR="$exe"
  tools_path
}

# tools_install: every tool above.
tools_install() {
  tools_cfn_lint && tools_checkov && tools_zigbuild && tools_action_validator
}
