#!/usr/bin/env bash
# Starts and stops the local cloud emulators the emulator-backed tests use; sourced by test.sh.
# Each emulator listens on 127.0.0.1 only, is recorded by PID, and is stopped by that PID.
# Which emulators start follows the providers in the workspace: none yet for the memory provider.

EMULATOR_PIDS=()
EMULATOR_DIR="${EMULATOR_DIR:-${TMPDIR:-/tmp}/cloudport-emulators}"

# wait_port PORT NAME: waits up to 60 s for 127.0.0.1:PORT to accept connections.
wait_port() {
  local port=$1 name=$2
  for _ in $(seq 1 120); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  echo "emulator $name did not listen on 127.0.0.1:$port in 60 s; its log:" >&2
  tail -n 40 "$EMULATOR_DIR/$name.log" >&2 || true
  return 1
}

emulators_start() {
  mkdir -p "$EMULATOR_DIR"
  # Providers add their emulators here (moto, Azurite, the gcloud emulators, fake-gcs-server).
  true
}

emulators_stop() {
  local pid
  for pid in "${EMULATOR_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${EMULATOR_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  EMULATOR_PIDS=()
}
