#!/usr/bin/env bash
# Issue 20's fault runs under load, longer than the suite's tests (crates/service/tests/faults.rs):
#   1. PostgreSQL connection loss during an open-loop rush: halfway through, the bench's own database
#      refuses connections for OUTAGE seconds (ALTER DATABASE … ALLOW_CONNECTIONS false, then
#      pg_terminate_backend of its connections). The PostgreSQL server is shared and never restarted.
#   2. One of two replicas killed (SIGKILL) halfway through an open-loop rush.
# Clients retry an answer that is no answer with their Idempotency-Key, on the next replica. Each run
# prints bench_submit's summary, the stored-vs-acknowledged check (0 lost, 0 duplicated, receipts as
# acknowledged) and /health as polled every 100 ms; bench_submit exits 1 if the check fails.
#
#   cargo build --release -p service --bin sua --example bench_submit
#   bench/faults.sh                         # RATE=200 SECS=30 OUTAGE=5 by default
#   SUA_BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/test RATE=300 SECS=60 bench/faults.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${SUA_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
BIN=${SUA_BENCH_BIN_DIR:-target/release}
RATE=${RATE:-200}
SECS=${SECS:-30}
OUTAGE=${OUTAGE:-5}
status=0
echo "== 1. PostgreSQL connection loss (${OUTAGE} s) during a rush of ${RATE}/s for ${SECS} s, one replica"
"$BIN/examples/bench_submit" "$PG" --rate "$RATE" --secs "$SECS" --lots 20 --fault "pg-outage:$OUTAGE" || status=1
echo
echo "== 2. one of two replicas killed (SIGKILL) during a rush of ${RATE}/s for ${SECS} s"
"$BIN/examples/bench_submit" "$PG" --rate "$RATE" --secs "$SECS" --lots 20 --replicas 2 --fault kill-replica || status=1
exit $status
