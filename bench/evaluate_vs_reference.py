#!/usr/bin/env python3
"""`sua evaluate` and the Python reference's compute, runs interleaved (bench/README.md, "sua evaluate", session 8):
the host's speed changes from minute to minute, so a ratio is only meaningful between runs made together.

    python3 bench/evaluate_vs_reference.py INPUT SUA_OUTPUT SUA    # SUA_OUTPUT: sua's output, for the check

12 rounds (2 warm-up): one `sua evaluate INPUT` (output to a file), one `evaluate_reference.py`; medians of sua's
wall clock and CPU time (wait4) and of the reference's compute (wall and CPU, as it prints them), and their ratios.
Run from the repository's root.
"""
import os, re, statistics, subprocess, sys, time
inp, ref_out, sua = sys.argv[1], sys.argv[2], sys.argv[3]
walls, cpus, refs, refcpu = [], [], [], []
for i in range(12):
    with open(os.environ.get("OUT", "/tmp/sua-evaluate-vs-reference.json"), "wb") as f:
        t0 = time.perf_counter()
        pid = os.posix_spawn(sua, [sua, "evaluate", inp], os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, f.fileno(), 1)])
        _, st, ru = os.wait4(pid, 0)
        w = (time.perf_counter() - t0) * 1e3
    r = subprocess.run(["python3", "bench/evaluate_reference.py", inp, ref_out], capture_output=True, text=True)
    m = re.search(r"compute ([0-9.]+) ms \(CPU: json.load [0-9.]+ ms, compute ([0-9.]+) ms", r.stderr + r.stdout)
    if i >= 2:
        walls.append(w); cpus.append((ru.ru_utime + ru.ru_stime) * 1e3); refs.append(float(m.group(1))); refcpu.append(float(m.group(2)))
md = statistics.median
print(f"sua: wall median {md(walls):.1f} ms (min {min(walls):.1f}), CPU median {md(cpus):.1f}; reference compute: wall median {md(refs):.1f} ms (min {min(refs):.1f}), CPU median {md(refcpu):.1f}; ratio of medians: wall {md(refs)/md(walls):.2f}x, CPU {md(refcpu)/md(cpus):.2f}x")
