#!/usr/bin/env python3
"""Golden vectors for latency percentiles (issue 12, "latency as a distribution").

Writes latency.json next to this script: heavy-tailed latency samples (milliseconds, rounded
to the microsecond) and, for each, NumPy's
`numpy.quantile(values, QUANTILES, method="inverted_cdf")` (a value at a rank: the definition
drift states in README.md) and the exact count of values above a few thresholds
(`numpy.sum(values > t)`), from which the SLO breach is decided.

Cases: lognormal (median 40 ms, sigma 0.8), Pareto (shape 1.5, scale 20 ms: infinite
variance), bimodal (a body around 30 ms with a 0.5% tail at 100x the median), and a sample
with zeros and ties (values <= 0 are one bucket in the sketch). `splits` cut each sample into
parts for the merge tests.

Run: `python3 tests/data/golden/make_latency_goldens.py` (NumPy; its version is recorded).
The tests read the JSON only: they need no Python.
"""

import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
RNG = np.random.default_rng(20261202)
QUANTILES = [0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0]


def bimodal(n):
    body = RNG.normal(30.0, 5.0, n).clip(1.0, None)
    tail = RNG.random(n) < 0.005
    body[tail] = RNG.lognormal(np.log(3000.0), 0.2, tail.sum())
    return body


def case(name, values, thresholds):
    values = np.round(np.asarray(values, dtype=np.float64), 3)
    n = len(values)
    splits = sorted(set(int(s) for s in RNG.integers(1, n, 3)))
    return {
        "name": name,
        "values": values.tolist(),
        "quantiles": QUANTILES,
        "want": [float(v) for v in np.quantile(values, QUANTILES, method="inverted_cdf")],
        "thresholds": thresholds,
        "above": [int(np.sum(values > t)) for t in thresholds],
        "splits": splits,
    }


def main():
    cases = [
        case("lognormal", RNG.lognormal(np.log(40.0), 0.8, 4000), [100.0, 250.0, 400.0]),
        case("pareto", (RNG.pareto(1.5, 4000) + 1.0) * 20.0, [100.0, 250.0, 1000.0]),
        case("bimodal_tail", bimodal(4000), [50.0, 250.0, 2500.0]),
        case("zeros_and_ties", np.concatenate([np.zeros(50), np.full(200, 12.5), RNG.exponential(10.0, 250)]), [0.0, 12.5]),
    ]
    with open(os.path.join(HERE, "latency.json"), "w") as f:
        json.dump({"generated_by": "make_latency_goldens.py", "numpy": np.__version__, "cases": cases}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
