#!/usr/bin/env python3
"""Write a `sua evaluate` input: N lowest-price bids (Metodo A), ribassi with 3 decimals in [5, 35).

    python3 bench/gen_bids.py 100000 > /tmp/bids-100k.json

Deterministic (seeded), so the figures of bench/README.md can be reproduced.
"""
import json
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
rng = random.Random(20261206)
bids = [
    {"id": f"op-{i:06d}", "discount": f"{rng.randrange(5000, 35000) / 1000:.3f}"}
    for i in range(n)
]
doc = {"criterion": "lowest_price", "anomaly": {"method": "A"}, "seed": "42", "bids": bids}
json.dump(doc, sys.stdout, indent=1)
sys.stdout.write("\n")
