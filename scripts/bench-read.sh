#!/usr/bin/env bash
# Read-path benchmark of a busy deadline day: the public list of tenders and a tender's page, with 10,000
# tenders in the database, on SQLite and (when SUA_BENCH_PG_URL is set, e.g.
# postgres://postgres@127.0.0.1:5432/test) on PostgreSQL. Needs `wrk` (apt-get install wrk).
#
#   scripts/bench-read.sh [tenders=10000] [seconds=15] [connections=32]
#
# Target: >= 2,000 requests/s with p99 < 20 ms on a 2-core machine. It is a benchmark, not a test: it prints
# figures and never fails on them. Release build; the server and wrk share the machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}; SECS=${2:-15}; CONNS=${3:-32}
command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 2; }
cargo build --release -q -p service --bin sua --example seed_bench
T=${CARGO_TARGET_DIR:-target}
SUA=$T/release/sua; SEED=$T/release/examples/seed_bench
WORK=$(mktemp -d); trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
PID=

run() { # $1 = label, $2 = database url
  local label=$1 url=$2
  local tender; tender=$($SEED "$url" "$N" | tail -1)
  SUA_DATABASE__URL=$url SUA_HTTP__ADDR=127.0.0.1:0 SUA_LOG__FILTER=warn SUA_SCHEDULER__ENABLED=false \
    SUA_DATABASE__MAX_CONNECTIONS=16 SUA_MAIL__TRANSPORT__DIR="$WORK/mail" \
    $SUA serve >"$WORK/out" 2>"$WORK/err" &
  PID=$!
  local base=""
  for _ in $(seq 1 100); do
    base=$(sed -n 's/^sua listening on //p' "$WORK/out"); [ -n "$base" ] && break; sleep 0.1
  done
  [ -n "$base" ] || { cat "$WORK/err"; exit 1; }
  for path in "/v1/public/tenders?page=1&per_page=20" "/v1/public/tenders/$tender"; do
    curl -sf "$base$path" >/dev/null
    local out; out=$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "$base$path")
    local rps p99
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    printf '%-10s %-45s %10s req/s   p99 %s\n' "$label" "$path" "$rps" "$p99"
  done
  kill $PID; wait $PID 2>/dev/null || true; PID=
}

echo "tenders=$N duration=${SECS}s connections=$CONNS cores=$(nproc)"
run sqlite "sqlite://$WORK/bench.db?mode=rwc"
if [ -n "${SUA_BENCH_PG_URL:-}" ]; then
  db="sua_bench_$$"
  psql -q "$SUA_BENCH_PG_URL" -c "CREATE DATABASE $db" >/dev/null
  run postgres "${SUA_BENCH_PG_URL%/*}/$db"
  psql -q "$SUA_BENCH_PG_URL" -c "DROP DATABASE $db WITH (FORCE)" >/dev/null
else
  echo "postgres: skipped (set SUA_BENCH_PG_URL)"
fi
