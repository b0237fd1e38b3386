#!/usr/bin/env bash
# `sua evaluate` on 100,000 bids against the Python `decimal` reference (bench/README.md, "sua evaluate").
#
#   bench/evaluate.sh [SUA_BINARY]      # default: target/release/sua (cargo build --release -p service --bin sua)
#
# Prints: the reference's json.load and compute times (median of 7 runs) and whether both agree; max RSS of
# `sua evaluate` (/usr/bin/time -v); the whole-process time of `sua evaluate` (compact, and --pretty when
# the binary has it) with hyperfine, or, where hyperfine is not installed, the medians of RUNS (30) runs
# under /usr/bin/time (wall clock and CPU); the load average before and after (figures on a loaded machine
# are not comparable with an idle one: compare CPU time).
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
echo "== whole process, output to a file (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
cmds=("$sua evaluate $input > $work/out-compact.json")
if "$sua" evaluate --help | grep -q -- --pretty; then
    cmds+=("$sua evaluate --pretty $input > $work/out-pretty.json")
fi
if command -v hyperfine >/dev/null; then
    hyperfine --warmup 3 --runs "${RUNS:-30}" "${cmds[@]}"
else
    # without hyperfine: each run timed by python (wall clock, and user + system CPU time and max RSS from
    # wait4, in microseconds: /usr/bin/time's 10 ms steps are too coarse here); medians
    variants=("")
    if "$sua" evaluate --help | grep -q -- --pretty; then variants+=("--pretty"); fi
    for v in "${variants[@]}"; do
        python3 - "$sua" "$input" "$work/out-run.json" "${RUNS:-30}" $v <<'PY'
import os, statistics, sys, time
sua, inp, out, runs, extra = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
argv = [sua, "evaluate", *extra, inp]
rows = []
for i in range(3 + runs):
    with open(out, "wb") as f:
        t0 = time.perf_counter()
        pid = os.posix_spawn(sua, argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, f.fileno(), 1)])
        _, status, ru = os.wait4(pid, 0)
        wall = time.perf_counter() - t0
    assert os.waitstatus_to_exitcode(status) == 0, status
    if i >= 3:  # 3 warm-up runs
        rows.append((wall * 1e3, ru.ru_utime * 1e3, ru.ru_stime * 1e3, ru.ru_maxrss / 1024))
med = lambda k: statistics.median(r[k] for r in rows)
print(" ".join(argv))
print(f"  {runs} runs: wall median {med(0):.1f} ms (min {min(r[0] for r in rows):.1f}, max {max(r[0] for r in rows):.1f}); "
      f"CPU median {statistics.median(r[1] + r[2] for r in rows):.1f} ms (user {med(1):.1f}, system {med(2):.1f}); max RSS {med(3):.1f} MB")
PY
    done
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
