#!/usr/bin/env bash
# Read-path benchmark of a busy deadline day: the public list of tenders and a tender's page, with 10,000
# published tenders in the database, on SQLite and (when SUA_BENCH_PG_URL is set) on PostgreSQL.
#
#   scripts/bench-read.sh [tenders=10000] [seconds=15] [connections=32]
#   SUA_BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres scripts/bench-read.sh 10000 10 32
#
# Needs wrk, jq and curl (apt-get install -y wrk jq curl); psql too for PostgreSQL. SUA_BENCH_PG_URL names
# any database of a server where the user may CREATE DATABASE: the script creates a fresh database
# `sua_bench_<pid>` next to it, seeds it and drops it at the end. SUA_BENCH_POOL sets the server's pool size
# (default 8, the configuration default). SUA_BENCH_BIN_DIR=<dir> uses the `sua` and `seed_bench` binaries
# found there instead of building them.
#
# Scenarios, each run with `wrk -t2 -c<connections> -d<seconds>s`:
#   list         GET /v1/public/tenders?page=1&per_page=20   the first page everybody opens
#   tender       GET /v1/public/tenders/<one id>             the page of the tender whose deadline it is
#   list+writes  list, while a client commits ~10 writes/s (POST /v1/provinces): every write empties the
#                public cache, so requests after it read the database again (bids arriving on the day)
#   list-deep    a random page among the first 100 (per_page=20) per request
#   tender-any   a random one of all the tenders per request (about half of them read the database)
# The first two are the issue's target (>= 2,000 requests/s with p99 < 20 ms on a 2-core machine); the
# others show the cost of reading the database behind the public cache (docs/operations.md).
#
# It is a benchmark, not a test: it prints figures and never fails on them. Release build; the server and
# wrk share the machine's cores, so run it on an otherwise idle machine (the load average is printed).
set -euo pipefail
trap 'echo "bench-read.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."
N=${1:-10000}; SECS=${2:-15}; CONNS=${3:-32}; POOL=${SUA_BENCH_POOL:-8}
for tool in wrk jq curl; do
  command -v $tool >/dev/null || { echo "$tool not found: apt-get install -y wrk jq curl" >&2; exit 2; }
done
if [ -n "${SUA_BENCH_PG_URL:-}" ]; then
  command -v psql >/dev/null || { echo "psql not found (needed for SUA_BENCH_PG_URL)" >&2; exit 2; }
fi
WORK=$(mktemp -d)
if [ -n "${SUA_BENCH_BIN_DIR:-}" ]; then # binaries built beforehand (sua and seed_bench side by side)
  cp "$SUA_BENCH_BIN_DIR/sua" "$SUA_BENCH_BIN_DIR/seed_bench" "$WORK/"
else
  cargo build --release -q -p service --bin sua --example seed_bench
  T=${CARGO_TARGET_DIR:-target}
  # private copies: another build in the same target directory cannot swap the binaries under the benchmark
  cp "$T/release/sua" "$T/release/examples/seed_bench" "$WORK/"
fi
SUA=$WORK/sua; SEED=$WORK/seed_bench
PID=; PGDB=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  [ -n "$PGDB" ] && psql -q "$SUA_BENCH_PG_URL" -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$WORK"
  return 0
}
trap cleanup EXIT

cat >"$WORK/random.lua" <<'EOF'
-- one random path of the file named by WRK_PATHS per request
local paths = {}
for line in io.lines(os.getenv("WRK_PATHS")) do paths[#paths + 1] = line end
local threads = 0
function setup(thread) threads = threads + 1; thread:set("id", threads) end
function init(args) math.randomseed(os.time() * 100 + id) end
function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
EOF

RESULTS=$WORK/results; : >"$WORK/notes"
bench() { # $1 backend, $2 scenario, $3 base url, $4 path or @file of paths
  local out rps p50 p99 errs
  if [[ $4 == @* ]]; then
    out=$(WRK_PATHS=${4#@} wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s "$WORK/random.lua" "$3")
  else
    out=$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "$3$4")
  fi
  rps=$(awk '/Requests\/sec/ {printf "%d", $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errs=$(awk '/Non-2xx|Socket errors/ {sub(/^ +/, ""); printf "%s; ", $0}' <<<"$out")
  printf '| %-8s | %-11s | %6s | %9s | %9s | %-5s | %s\n' "$1" "$2" "$rps" "$p50" "$p99" \
    "$(cut -d' ' -f1 /proc/loadavg)" "${errs:-}" | tee -a "$RESULTS"
}

run() { # $1 = label, $2 = database url
  local label=$1 url=$2
  local tender; tender=$($SEED "$url" "$N" | tail -1)
  SUA_DATABASE__URL=$url SUA_HTTP__ADDR=127.0.0.1:0 SUA_LOG__FILTER=warn SUA_SCHEDULER__ENABLED=false \
    SUA_DATABASE__MAX_CONNECTIONS=$POOL SUA_MAIL__TRANSPORT__DIR="$WORK/mail" \
    SUA_SEALING__KEY_DIR="$WORK/keys" SUA_DOCUMENTS__DIR="$WORK/documents" \
    "$SUA" serve >"$WORK/out" 2>"$WORK/err" &
  PID=$!
  local base=""
  for _ in $(seq 1 300); do
    base=$(sed -n 's/^sua listening on //p' "$WORK/out"); [ -n "$base" ] && break; sleep 0.1
  done
  [ -n "$base" ] || { echo "sua serve did not start:" >&2; cat "$WORK/err" >&2; exit 1; }
  # every tender's page, and the first 100 pages of the list, for the random scenarios
  : >"$WORK/tenders"; : >"$WORK/pages"
  local pages=$(( (N + 199) / 200 ))
  for p in $(seq 1 "$pages"); do
    curl -sf "$base/v1/public/tenders?page=$p&per_page=200" |
      jq -r '.items[].id | "/v1/public/tenders/" + .' >>"$WORK/tenders"
  done
  for p in $(seq 1 100); do echo "/v1/public/tenders?page=$p&per_page=20"; done >"$WORK/pages"
  local listed; listed=$(wc -l <"$WORK/tenders")
  [ "$listed" -eq "$N" ] || { echo "$label: the public list shows $listed tenders, not $N" >&2; exit 1; }
  curl -sf "$base/v1/public/tenders/$tender" >/dev/null
  bench "$label" list "$base" "/v1/public/tenders?page=1&per_page=20"
  bench "$label" tender "$base" "/v1/public/tenders/$tender"
  # a writer: ~10 committed write transactions per second while wrk reads the first page
  local token; token=$(SUA_DATABASE__URL=$url "$SUA" admin create-token --role platform_admin --label bench | tail -1)
  : >"$WORK/writes"
  ( i=0; while :; do
      curl -s -o /dev/null -w '%{http_code}\n' -X POST -H "Authorization: Bearer $token" \
        -H 'content-type: application/json' -d "{\"code\":\"W$$-$i\",\"name\":\"Scrittura $i\"}" \
        "$base/v1/provinces" >>"$WORK/writes"; i=$((i + 1)); sleep 0.1
    done ) &
  local writer=$!
  bench "$label" list+writes "$base" "/v1/public/tenders?page=1&per_page=20"
  kill "$writer"; wait "$writer" 2>/dev/null || true
  echo "$label list+writes: $(grep -c '^201' "$WORK/writes") writes committed in ${SECS}s, $(grep -vc '^201' "$WORK/writes") refused" |
    tee -a "$WORK/notes"
  bench "$label" list-deep "$base" "@$WORK/pages"
  bench "$label" tender-any "$base" "@$WORK/tenders"
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
}

echo "tenders=$N duration=${SECS}s connections=$CONNS pool=$POOL cores=$(nproc) start: $(uptime)"
header='| backend  | scenario    |  req/s |       p50 |       p99 | load1 | errors'
echo "$header"
run sqlite "sqlite://$WORK/bench.db?mode=rwc"
if [ -n "${SUA_BENCH_PG_URL:-}" ]; then
  PGDB="sua_bench_$$"
  # CREATE DATABASE fails while another session uses template1 (other tests on the server): retry
  for try in 1 2 3 4 5; do
    psql -q "$SUA_BENCH_PG_URL" -c "CREATE DATABASE $PGDB" >/dev/null && break
    [ "$try" -lt 5 ] || exit 1
    sleep 2
  done
  run postgres "${SUA_BENCH_PG_URL%/*}/$PGDB"
  psql -q "$SUA_BENCH_PG_URL" -c "DROP DATABASE $PGDB WITH (FORCE)" >/dev/null; PGDB=
else
  echo "postgres: skipped (set SUA_BENCH_PG_URL)"
fi
echo
echo "summary (target for list and tender: >= 2000 req/s, p99 < 20 ms; load1 = load average after each run)"
echo "$header"
cat "$RESULTS"
cat "$WORK/notes"
echo "end: $(uptime)"
