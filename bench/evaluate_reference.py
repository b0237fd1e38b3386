#!/usr/bin/env python3
"""Reference for `sua evaluate`: the Allegato II.2 Metodo A threshold (point 1, 15 or more bids, absolute
decrement; point 2 for 5 to 14) computed with Python's `decimal`, independently of the Rust code.

    python3 bench/evaluate_reference.py INPUT.json [SUA_OUTPUT.json]

Prints the threshold, the number of excluded bids and the winner, and the time of `json.load` and of the
computation alone, wall clock and CPU (stderr). With SUA_OUTPUT (the JSON written by `sua evaluate`) it checks that both agree
on the threshold (to 24 decimal places: the Rust side prints the exact fraction rounded to 28 significant
digits), the sum, the mean, the excluded bids and the winner, and exits 1 if they do not.
"""
import decimal
import json
import sys
import time
from bisect import bisect_left, bisect_right
from decimal import Decimal

decimal.getcontext().prec = 60  # far above the 28 significant digits printed: rounding does not interfere


def threshold(discounts):
    """discounts: list of Decimal (the admitted bids' ribassi). Returns a dict of the figures."""
    n = len(discounts)
    sd = sorted(discounts)  # ascending ribasso
    k = -(-n // 10)  # ceil(n / 10), bid by bid
    low, high = sd[k - 1], sd[n - k]
    kept = sd[bisect_right(sd, low) : bisect_left(sd, high)]  # values equal to a wing's boundary go with it
    m = len(kept)
    s = sum(kept, Decimal(0))
    mean = s / m
    above = kept[bisect_right(kept, mean) :]
    c = len(above)
    sm = (sum(above, Decimal(0)) - c * mean) / c
    if n >= 15:
        frac = s - int(s)
        d1 = int(frac * 10) % 10
        d2 = int(frac * 100) % 10
        t = mean + sm - sm * (d1 * d2) / 100
    else:
        ratio = sm / mean
        t = mean * Decimal("1.2") if ratio <= Decimal("0.15") else mean + sm
    first_excluded = bisect_left(sd, t)  # ribasso >= T is excluded
    best = sd[first_excluded - 1] if first_excluded else None
    return {"sum": s, "mean": mean, "threshold": t, "excluded": n - first_excluded, "best": best}


def main():
    t0, c0 = time.perf_counter(), time.process_time()
    with open(sys.argv[1]) as f:
        doc = json.load(f)
    t1, c1 = time.perf_counter(), time.process_time()
    r = threshold([Decimal(b["discount"]) for b in doc["bids"]])
    t2, c2 = time.perf_counter(), time.process_time()
    # the ids, for the comparison only (not timed)
    excluded = sorted(b["id"] for b in doc["bids"] if Decimal(b["discount"]) >= r["threshold"])
    first = sorted(b["id"] for b in doc["bids"] if Decimal(b["discount"]) == r["best"])
    assert len(excluded) == r["excluded"]
    print(f"threshold {r['threshold']:.28g}")
    print(f"excluded {r['excluded']}")
    print(f"first {','.join(first)}")
    print(
        f"json.load {1000 * (t1 - t0):.1f} ms, compute {1000 * (t2 - t1):.1f} ms"
        f" (CPU: json.load {1000 * (c1 - c0):.1f} ms, compute {1000 * (c2 - c1):.1f} ms)",
        file=sys.stderr,
    )
    if len(sys.argv) > 2:
        with open(sys.argv[2]) as f:
            out = json.load(f)
        a = out["anomaly"]
        problems = []
        if abs(Decimal(a["threshold"]) - r["threshold"]) > Decimal("1e-24"):
            problems.append(f"threshold: sua {a['threshold']}, reference {r['threshold']}")
        num, _, den = a["threshold_exact"].partition("/")
        if abs(Decimal(num) / Decimal(den or 1) - r["threshold"]) > Decimal("1e-40"):
            problems.append(f"threshold_exact: sua {a['threshold_exact']}, reference {r['threshold']}")
        if Decimal(a["sum"]) != r["sum"]:
            problems.append(f"sum: sua {a['sum']}, reference {r['sum']}")
        if abs(Decimal(a["mean"]) - r["mean"]) > Decimal("1e-24"):
            problems.append(f"mean: sua {a['mean']}, reference {r['mean']}")
        if sorted(a["excluded"]) != excluded:
            problems.append(f"excluded: sua {len(a['excluded'])}, reference {len(excluded)}")
        if out["winner"] not in first and out["tie"] != first:
            problems.append(f"winner: sua {out['winner']}, reference {first}")
        if problems:
            print("DISAGREE\n" + "\n".join(problems))
            sys.exit(1)
        print("agree: threshold, exact fraction, sum, mean, excluded bids and winner")


if __name__ == "__main__":
    main()
