#!/usr/bin/env bash
# Issue 20's replica and open-loop figures (bench/README.md, "Replicas and open loop"):
#   - one and two replicas on one PostgreSQL database, a closed-loop rush of N submissions on one Province
#     (one tender) and spread over P Provinces (one tender each);
#   - open loop at RATE/s for SECS s on SQLite and PostgreSQL, with a second Province's reads and writes
#     measured idle and during the rush (--probe).
#
#   cargo build --release -p service --bin sua --example bench_submit
#   bench/cluster.sh                        # N=2000 P=4 RATE=500 SECS=30
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${SUA_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
BIN=${SUA_BENCH_BIN_DIR:-target/release}
N=${N:-2000}
P=${P:-4}
RATE=${RATE:-500}
SECS=${SECS:-30}
B="$BIN/examples/bench_submit"
for replicas in 1 2; do
  echo "== closed loop, $N submissions, one Province (20 lots), $replicas replica(s)"
  "$B" "$PG" "$N" --lots 20 --replicas "$replicas"
  echo
  echo "== closed loop, $N submissions over $P Provinces (20 lots each), $replicas replica(s)"
  "$B" "$PG" "$N" --lots 20 --provinces "$P" --replicas "$replicas"
  echo
done
echo "== open loop, $RATE/s for $SECS s, SQLite, one Province (20 lots), second Province probed"
"$B" sqlite --rate "$RATE" --secs "$SECS" --lots 20 --probe
echo
echo "== open loop, $RATE/s for $SECS s, PostgreSQL, one Province (20 lots), second Province probed"
"$B" "$PG" --rate "$RATE" --secs "$SECS" --lots 20 --probe
