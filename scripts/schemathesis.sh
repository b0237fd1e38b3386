#!/usr/bin/env bash
# Conformance of the running API to its own OpenAPI document (issue 20, "Hostile clients"): starts
# `sua serve` on a scratch SQLite database, issues one token per role (platform admin, SUA buyer,
# municipality, operator) and runs schemathesis 4 once per role, bounded, with every response check on.
# Exits non-zero on any server error or conformance failure.
#
#   scripts/schemathesis.sh [path/to/sua]   # default: target/debug/sua
#
# Needs schemathesis 4 on PATH or in $SUA_SCHEMATHESIS (scripts/test.sh installs it in a venv with pip).
# Bounds: SUA_ST_MAX_EXAMPLES (default 10) generated cases per operation and phase, SUA_ST_MAX_TIME (default
# 30) seconds per role.
set -euo pipefail
cd "$(dirname "$0")/.."
SUA_BIN=$(realpath "${1:-target/debug/sua}")
ST=${SUA_SCHEMATHESIS:-schemathesis}
command -v "$ST" >/dev/null || { echo "schemathesis.sh: schemathesis not found (\$SUA_SCHEMATHESIS=$ST)" >&2; exit 2; }
MAX_EXAMPLES=${SUA_ST_MAX_EXAMPLES:-10}
MAX_TIME=${SUA_ST_MAX_TIME:-30}
WORK=$(mktemp -d)
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT
export SUA_DATABASE__URL="sqlite://$WORK/sua.db?mode=rwc" SUA_HTTP__ADDR=127.0.0.1:0 \
  SUA_MAIL__TRANSPORT__KIND=file SUA_MAIL__TRANSPORT__DIR="$WORK/mail" \
  SUA_MAIL__TEMPLATES_DIR="$PWD/config/templates/mail" SUA_DOCUMENTS__DIR="$WORK/documents" \
  SUA_SEALING__KEY_DIR="$WORK/keys" SUA_SUA__QUALIFICATION=advanced SUA_HTTP__RATE_LIMIT_PER_SECOND=0 \
  RUST_LOG=error
"$SUA_BIN" serve >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER=$!
for _ in $(seq 1 100); do grep -q "sua listening on" "$WORK/serve.out" 2>/dev/null && break; sleep 0.2; done
BASE=$(sed -n 's/^sua listening on //p' "$WORK/serve.out")
[[ -n $BASE ]] || { echo "schemathesis.sh: sua serve did not start" >&2; cat "$WORK/serve.err" >&2; exit 2; }
ADMIN=$("$SUA_BIN" admin create-token --role platform_admin | tail -1)
# POST a JSON body (with the admin's token unless $3 = anon) and print one field of the answer
post() {
  python3 - "$BASE$1" "$2" "${3:-$ADMIN}" "$4" <<'PY'
import json, sys, urllib.request
url, body, token, field = sys.argv[1:5]
req = urllib.request.Request(url, data=body.encode(), method="POST", headers={"content-type": "application/json"})
if token != "anon":
    req.add_header("authorization", "Bearer " + token)
print(json.load(urllib.request.urlopen(req))[field])
PY
}
PROV=$(post /v1/provinces '{"code":"VM","name":"Provincia di Valmarina"}' "$ADMIN" id)
MUN=$(post /v1/municipalities "{\"province_id\":\"$PROV\",\"name\":\"Comune di Castelrupe\",\"codice_fiscale\":\"00430120048\"}" "$ADMIN" id)
BUYER=$(post /v1/tokens "{\"role\":\"sua_buyer\",\"org\":\"$PROV\"}" "$ADMIN" token)
MUNI=$(post /v1/tokens "{\"role\":\"municipality\",\"org\":\"$MUN\"}" "$ADMIN" token)
OPERATOR=$(post /v1/operators '{"name":"Edilizia Rossi srl","codice_fiscale":"05949241110","pec":"gare@pec.rossi.it"}' anon token)
status=0
for role in platform_admin:$ADMIN sua_buyer:$BUYER municipality:$MUNI bidder:$OPERATOR; do
  name=${role%%:*}; token=${role#*:}
  echo "== schemathesis as $name"
  # one worker: hypothesis' lambda-source cache is not thread-safe ("AST constructor recursion depth
  # mismatch", a tool error, not a finding); the clock override is a test-only route (404 unless enabled); the console's HTML pages are not in the
  # OpenAPI document
  # run in the scratch directory: schemathesis keeps a cache (.schemathesis/) in its working directory
  if ! (cd "$WORK" && "$ST" run "$BASE/openapi.json" --checks all --max-examples "$MAX_EXAMPLES" --max-time "$MAX_TIME" \
      --workers 1 --phases examples,coverage,fuzzing --suppress-health-check all --no-color \
      --exclude-checks ignored_auth,positive_data_acceptance \
      --exclude-path /v1/admin/clock -H "Authorization: Bearer $token") >"$WORK/st-$name.log" 2>&1; then
    status=1
  fi
  tail -n 60 "$WORK/st-$name.log"
  cp "$WORK/st-$name.log" "${SUA_ST_LOG_DIR:-/tmp}/schemathesis-$name.log" 2>/dev/null || true
done
if grep -q . "$WORK/serve.err"; then echo "== server log (errors)"; tail -n 40 "$WORK/serve.err"; fi
exit $status
