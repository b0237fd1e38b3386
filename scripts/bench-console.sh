#!/usr/bin/env bash
# Console benchmark: with N tenders in the database (one Province, all published), the buyer's dashboard
# (`/sua`, logged in) and the public list (`/gare`, first page and a search), rendered by the release
# `sua serve` on SQLite, measured with wrk.
#
#   scripts/bench-console.sh [tenders=10000] [seconds=10] [connections=4]
#
# Needs wrk, jq and curl (apt-get install -y wrk jq curl). SUA_BENCH_BIN_DIR=<dir> uses the `sua` and
# `seed_bench` binaries found there instead of building them. A benchmark, not a test: it prints figures
# (target: p99 < 50 ms on a 2-core machine, docs/operations.md) and never fails on them.
set -euo pipefail
trap 'echo "bench-console.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."
N=${1:-10000}; SECS=${2:-10}; CONNS=${3:-4}
for tool in wrk jq curl; do
  command -v $tool >/dev/null || { echo "$tool not found: apt-get install -y wrk jq curl" >&2; exit 2; }
done
WORK=$(mktemp -d)
if [ -n "${SUA_BENCH_BIN_DIR:-}" ]; then
  cp "$SUA_BENCH_BIN_DIR/sua" "$SUA_BENCH_BIN_DIR/seed_bench" "$WORK/"
else
  cargo build --release -q -p service --bin sua --example seed_bench
  T=${CARGO_TARGET_DIR:-target}
  cp "$T/release/sua" "$T/release/examples/seed_bench" "$WORK/"
fi
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$WORK"
  return 0
}
trap cleanup EXIT
URL="sqlite://$WORK/bench.db?mode=rwc"
tender=$("$WORK/seed_bench" "$URL" "$N" | tail -1)
export SUA_DATABASE__URL=$URL
SUA_HTTP__ADDR=127.0.0.1:0 SUA_LOG__FILTER=warn SUA_SCHEDULER__ENABLED=false \
  SUA_MAIL__TRANSPORT__DIR="$WORK/mail" SUA_SEALING__KEY_DIR="$WORK/keys" SUA_DOCUMENTS__DIR="$WORK/documents" \
  "$WORK/sua" serve >"$WORK/out" 2>"$WORK/err" &
PID=$!
base=""
for _ in $(seq 1 300); do
  base=$(sed -n 's/^sua listening on //p' "$WORK/out"); [ -n "$base" ] && break; sleep 0.1
done
[ -n "$base" ] || { echo "sua serve did not start:" >&2; cat "$WORK/err" >&2; exit 1; }
province=$(curl -sf "$base/v1/public/tenders/$tender" | jq -r .province_id)
token=$("$WORK/sua" admin create-token --role sua_buyer --org "$province" --label bench | tail -1)
# log in through the form: the session cookie for wrk
jar=$WORK/jar
csrf=$(curl -sf -c "$jar" "$base/" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
curl -sf -b "$jar" -c "$jar" -o /dev/null -d "csrf=$csrf" --data-urlencode "token=$token" "$base/login"
cookie=$(awk '$6 == "sua_console" {print "sua_console=" $7}' "$jar")
count=$(curl -sf -H "Cookie: $cookie" "$base/sua" | grep -o 'Gare per stato ([0-9]*)')
echo "tenders=$N duration=${SECS}s connections=$CONNS cores=$(nproc) dashboard: $count; start: $(uptime)"
printf '| %-22s | %6s | %9s | %9s | %9s | %s\n' page 'req/s' p50 p90 p99 load1
bench() { # $1 label, $2 path, $3.. extra wrk args
  local label=$1 path=$2; shift 2
  local out; out=$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "$@" "$base$path")
  local errs; errs=$(awk '/Non-2xx|Socket errors/ {sub(/^ +/, ""); printf "%s; ", $0}' <<<"$out")
  printf '| %-22s | %6s | %9s | %9s | %9s | %s %s\n' "$label" \
    "$(awk '/Requests\/sec/ {printf "%d", $2}' <<<"$out")" "$(awk '$1=="50%" {print $2}' <<<"$out")" \
    "$(awk '$1=="90%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")" \
    "$(cut -d' ' -f1 /proc/loadavg)" "$errs"
}
bench "buyer dashboard /sua" /sua -H "Cookie: $cookie"
bench "public list /gare" /gare
bench "public search /gare?q=" "/gare?q=manutenzione%20n.%20123&stato=open"
bench "dashboard page 100" "/sua?pagina=100" -H "Cookie: $cookie"
echo "end: $(uptime)"
