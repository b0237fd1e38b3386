#!/usr/bin/env bash
# `sua evaluate` on 100,000 bids against the Python `decimal` reference (bench/README.md, "sua evaluate").
#
#   bench/evaluate.sh [SUA_BINARY]      # default: target/release/sua (cargo build --release -p service --bin sua)
#
# Prints: the reference's json.load and compute times (median of 7 runs) and whether both agree; max RSS of
# `sua evaluate` (/usr/bin/time -v); hyperfine's whole-process time for `sua evaluate` (compact, and
# --pretty when the binary has it).
set -euo pipefail
cd "$(dirname "$0")/.."
sua="${1:-target/release/sua}"
work="${BENCH_DIR:-/tmp/sua-bench-evaluate}"
mkdir -p "$work"
input="$work/bids-100k.json"
[ -s "$input" ] || python3 bench/gen_bids.py 100000 >"$input"
echo "input: $(wc -c <"$input") bytes, 100000 bids"

"$sua" evaluate "$input" >"$work/out.json"
echo "output: $(wc -c <"$work/out.json") bytes"
echo "== Python decimal reference (compute = after json.load), 7 runs"
for _ in 1 2 3 4 5 6 7; do
    python3 bench/evaluate_reference.py "$input" "$work/out.json" 2>&1 >/dev/null | sed -n 's/^json.load [0-9.]* ms, compute \([0-9.]*\) ms.*/\1/p'
done | sort -n | awk '{a[NR]=$1} END {print "compute median " a[4] " ms (min " a[1] ", max " a[NR] ")"}'
python3 bench/evaluate_reference.py "$input" "$work/out.json" | tail -n 1

echo "== max RSS"
/usr/bin/time -v "$sua" evaluate "$input" 2>&1 >/dev/null | grep -E "Maximum resident|Elapsed"
if "$sua" evaluate --help | grep -q -- --pretty; then
    /usr/bin/time -v "$sua" evaluate --pretty "$input" 2>&1 >/dev/null | grep -E "Maximum resident"
fi
echo "== hyperfine (whole process, output to a file)"
cmds=("$sua evaluate $input > $work/out-compact.json")
if "$sua" evaluate --help | grep -q -- --pretty; then
    cmds+=("$sua evaluate --pretty $input > $work/out-pretty.json")
fi
hyperfine --warmup 3 --runs "${RUNS:-30}" "${cmds[@]}"
