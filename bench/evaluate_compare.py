#!/usr/bin/env python3
"""Whole-process time of several `sua evaluate` binaries on the same input, runs interleaved (bench/README.md,
"sua evaluate", session 8): on a shared machine the load changes from minute to minute, so binaries compared in
separate batches are not comparable; here each round runs every binary once, in turn.

    python3 bench/evaluate_compare.py RUNS INPUT SUA [SUA...]     # e.g. 30 /tmp/sua-bench-evaluate/bids-100k.json a b

Output to a file (truncated before each run, outside the timing); 3 warm-up rounds; medians of wall clock and
of user, system and user + system CPU time (wait4), and max RSS.
"""
import os
import statistics
import sys
import time

runs, inp, bins = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
out = os.environ.get("OUT", "/tmp/sua-evaluate-compare.json")
rows = {b: [] for b in bins}
for i in range(3 + runs):
    for b in bins:
        with open(out, "wb") as f:
            t0 = time.perf_counter()
            pid = os.posix_spawn(b, [b, "evaluate", inp], os.environ,
                                 file_actions=[(os.POSIX_SPAWN_DUP2, f.fileno(), 1)])
            _, status, ru = os.wait4(pid, 0)
            wall = time.perf_counter() - t0
        assert os.waitstatus_to_exitcode(status) == 0, (b, status)
        if i >= 3:
            rows[b].append((wall * 1e3, ru.ru_utime * 1e3, ru.ru_stime * 1e3,
                            (ru.ru_utime + ru.ru_stime) * 1e3, ru.ru_maxrss / 1024))
for b in bins:
    r = rows[b]
    med = lambda k: statistics.median(x[k] for x in r)
    print(f"{b}: {runs} runs: wall median {med(0):.1f} ms (min {min(x[0] for x in r):.1f}); CPU median "
          f"{med(3):.1f} ms (min {min(x[3] for x in r):.1f}; user {med(1):.1f}, system {med(2):.1f}); "
          f"max RSS {med(4):.1f} MB")
