#!/usr/bin/env bash
# Runs the official Microsoft Graph Python SDK (msgraph-sdk + azure-identity) against
# `graph-subs emulator --tls`: create, list, renew and delete subscriptions.
#
#   examples/python/run.sh
#
# Needs Python 3.10+ and PyPI (the first run installs the pinned requirements into
# examples/python/.venv, reused afterwards; VENV=DIR chooses another) and cargo, unless
# GRAPH_SUBS=PATH names a built `graph-subs` binary. Not part of `cargo test` or CI.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
venv="${VENV:-$here/.venv}"

if [[ -z "${GRAPH_SUBS:-}" ]]; then
    echo "building graph-subs..." >&2
    cargo build --quiet --manifest-path "$root/Cargo.toml" -p graph-subs-cli --bin graph-subs
    GRAPH_SUBS="${CARGO_TARGET_DIR:-$root/target}/debug/graph-subs"
fi

if [[ ! -x "$venv/bin/python" ]]; then
    echo "creating the virtual environment $venv..." >&2
    "$python" -m venv "$venv"
fi
echo "installing $here/requirements.txt..." >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"

work="$(mktemp -d)"
emulator_pid=""
stop() {
    if [[ -n "$emulator_pid" ]] && kill -0 "$emulator_pid" 2>/dev/null; then
        kill -TERM "$emulator_pid"
        wait "$emulator_pid" || true
    fi
    rm -rf "$work"
}
trap stop EXIT

# A throwaway app for this run: the emulator's token endpoint knows only apps given with
# --app. The secret is random and never printed.
client_id="$("$python" -c 'import uuid; print(uuid.uuid4())')"
client_secret="$("$python" -c 'import secrets; print(secrets.token_urlsafe(24))')"

# --page-size 2 so that the three subscriptions the demo creates need two List pages
# (the demo follows @odata.nextLink); --no-endpoint-validation since no receiver runs.
"$GRAPH_SUBS" emulator --tls --listen 127.0.0.1:0 --json --page-size 2 \
    --app "$client_id=$client_secret:Mail.Read" --no-endpoint-validation \
    --tls-cert-out "$work/emulator-ca.pem" \
    >"$work/emulator.json" 2>"$work/emulator.log" &
emulator_pid=$!

for _ in $(seq 1 300); do
    [[ -s "$work/emulator.json" ]] && break
    if ! kill -0 "$emulator_pid" 2>/dev/null; then
        echo "error: the emulator did not start:" >&2
        cat "$work/emulator.log" >&2
        exit 4
    fi
    sleep 0.1
done
if [[ ! -s "$work/emulator.json" ]]; then
    echo "error: the emulator printed nothing in 30 seconds" >&2
    exit 4
fi

fact() { "$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$work/emulator.json" "$1"; }
base_url="$(fact baseUrl)"
tenant_id="$(fact tenantId)"
ca="$(fact caCertificate)"
echo "emulator: $base_url (tenant $tenant_id), CA certificate $ca" >&2

status=0
GRAPH_SUBS_BASE_URL="$base_url" \
GRAPH_SUBS_TENANT_ID="$tenant_id" \
GRAPH_SUBS_CLIENT_ID="$client_id" \
GRAPH_SUBS_CLIENT_SECRET="$client_secret" \
SSL_CERT_FILE="$ca" \
REQUESTS_CA_BUNDLE="$ca" \
    "$venv/bin/python" "$here/msgraph_sdk_demo.py" || status=$?

if [[ $status -ne 0 ]]; then
    echo "the demo failed ($status); the emulator's log:" >&2
    cat "$work/emulator.log" >&2
fi
exit $status
