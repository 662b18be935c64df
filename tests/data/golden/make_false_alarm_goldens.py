#!/usr/bin/env python3
"""Golden vectors for the small-count rules (issue 17, "Stationary data must not page").

Writes, next to this script:

- fisher.json: Fisher's exact test on 2 x 2 tables, two-sided, as
  `scipy.stats.fisher_exact(table).pvalue` (the missing-rate test when an expected count is
  below 5);
- unseen.json: the exact binomial upper tail `scipy.stats.binomtest(k, n, p,
  alternative="greater").pvalue` (the unseen-values test);
- pooled.json: category tables pooled to fit the window (the rule is re-implemented below from
  its statement in README.md, independently of the Rust code), then
  `scipy.stats.chi2_contingency` on the pooled 2 x K table, PSI and psi_corrected on the same
  bins, and the unseen-values test of each case (Good-Turing: reference singletons / N).

Run: `python3 tests/data/golden/make_false_alarm_goldens.py` (SciPy and NumPy; the versions
used are recorded in each file). The tests read the JSON only: they need no Python.
"""

import json
import math
import os

import numpy as np
import scipy
from scipy.stats import binomtest, chi2_contingency, fisher_exact

HERE = os.path.dirname(os.path.abspath(__file__))
OTHER = "__other__"
EPS = 1e-4
RNG = np.random.default_rng(20261127)
VERSIONS = {"scipy": scipy.__version__, "numpy": np.__version__}


def write(name, cases):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump({"generated_by": "make_false_alarm_goldens.py", **VERSIONS, "cases": cases}, f, indent=1)
        f.write("\n")


# --- Fisher ---------------------------------------------------------------------------------

def fisher_cases():
    tables = [
        ("scipy_doc", [[8, 2], [1, 5]]),
        ("symmetric", [[5, 5], [5, 5]]),
        ("mirror_ties", [[2, 3], [3, 2]]),
        ("one_nine", [[1, 9], [9, 1]]),
        ("empty_row", [[0, 0], [3, 4]]),
        ("empty_column", [[0, 7], [0, 4]]),
        ("zero_cell", [[0, 10], [5, 5]]),
        # Missing-rate shapes: reference row (missing, present), then the window's row.
        ("rare_missing_none_in_window", [[12, 19988], [0, 200]]),
        ("rare_missing_three_in_window", [[12, 19988], [3, 197]]),
        ("no_missing_in_reference", [[0, 20000], [4, 196]]),
        ("one_missing_in_window", [[40, 99960], [1, 99]]),
        ("window_all_missing", [[20, 19980], [100, 0]]),
        ("almost_all_missing", [[19990, 10], [200, 0]]),
        ("far_tail", [[0, 1000000], [90, 910]]),
        ("underflow", [[0, 1000000], [1000, 0]]),
        ("large_margins", [[3, 2000000], [2, 500]]),
        # The `holes` column of tests/it/small_counts.rs: 10 of 20 000 missing, then 3 of 200.
        ("small_counts_holes", [[10, 19990], [3, 197]]),
    ]
    # Mirror images are equally probable: the tie rule decides whether they count.
    for k, m in [(1, 10), (3, 20), (7, 50), (13, 100), (30, 100), (120, 1000), (2, 7)]:
        tables.append((f"mirror_{k}_of_{m}", [[k, m - k], [m - k, k]]))
    # Half the total drawn: x and good - x are equally probable, computed along other paths.
    for good, bad, x in [(12, 8, 3), (30, 20, 10), (17, 33, 5), (61, 39, 20), (150, 250, 60), (7, 3, 3)]:
        draws = (good + bad) // 2
        tables.append((f"half_drawn_{good}_{bad}_{x}", [[x, good - x], [draws - x, bad - draws + x]]))
    for i in range(40):
        tables.append((f"random_small_{i}", RNG.integers(0, 25, size=(2, 2)).tolist()))
    for i in range(20):
        n_ref = int(RNG.integers(1000, 200000))
        rate = float(RNG.choice([0.0, 1e-4, 1e-3, 0.005, 0.02]))
        miss_ref = int(RNG.binomial(n_ref, rate))
        n_cur = int(RNG.integers(20, 400))
        miss_cur = int(RNG.binomial(n_cur, float(RNG.choice([rate, 0.01, 0.05]))))
        tables.append((f"random_missing_{i}", [[miss_ref, n_ref - miss_ref], [miss_cur, n_cur - miss_cur]]))
    return [{"name": n, "table": t, "p_value": float(fisher_exact(t).pvalue)} for n, t in tables]


# --- Binomial upper tail ---------------------------------------------------------------------

def unseen_cases():
    triples = [
        ("textbook", 3, 10, 0.1),
        ("k_zero", 0, 50, 0.2),
        ("p_zero_none_seen", 0, 200, 0.0),
        ("p_zero_one_seen", 1, 200, 0.0),
        ("p_one", 10, 10, 1.0),
        ("all_of_n", 20, 20, 0.5),
        ("at_the_mean", 50, 1000, 0.05),
        ("below_the_mean", 30, 1000, 0.05),
        ("new_category_5pc", 50, 1000, 0.002),
        ("far_tail", 400, 5000, 0.01),
        ("below_the_smallest_double", 1500, 5000, 0.02),
        ("underflow", 5000, 5000, 0.01),
        ("large_n", 10450, 1000000, 0.01),
        ("ten_million", 100600, 10000000, 0.01),
        ("tiny_p", 2, 100, 1e-6),
    ]
    for i in range(40):
        n = int(RNG.choice([100, 200, 1000, 5000, 20000]))
        p = float(RNG.choice([1e-4, 1e-3, 0.01, 0.05, 0.2])) * float(RNG.uniform(0.5, 1.5))
        k = int(min(n, max(0, RNG.binomial(n, min(1.0, p * float(RNG.choice([1.0, 1.5, 3.0])))))))
        triples.append((f"random_{i}", k, n, p))
    out = []
    for name, k, n, p in triples:
        pv = float(binomtest(k, n, p, alternative="greater").pvalue)
        out.append({"name": name, "k": k, "n": n, "p": p, "p_value": pv})
    return out


# --- Pooled tables -----------------------------------------------------------------------------

def fit(ref, cur, min_expected=5.0, max_categories=10000):
    """The bins a window of the current's size gets, as README.md "How drift decides" states
    the rule. Returns (labels, ref_counts, cur_counts) or None when fewer than two bins."""
    N = sum(ref.values())
    n = sum(cur.values())
    m = float(min(n, N))
    floor = 0
    if len(ref) > max_categories:
        floor = sorted(ref.values(), reverse=True)[max_categories]
    kept = [k for k, c in ref.items() if float(c) * m >= min_expected * float(N) and c > floor]
    kept.sort(key=lambda k: (-ref[k], k))
    other = N - sum(ref[k] for k in kept)
    while kept and float(other) * m < min_expected * float(N):
        other += ref[kept.pop()]
    if not kept:
        return None
    labels = sorted(kept)
    rc = [ref[k] for k in labels] + [other]
    cc = [cur.get(k, 0) for k in labels]
    cc.append(n - sum(cc))
    return labels + [OTHER], rc, cc


def testable_from(ref, min_expected=5.0, max_categories=10000):
    """The smallest window (non-missing values) with at least two bins, by search."""
    N = sum(ref.values())
    for n in range(1, N + 1):
        if fit(ref, {"\0probe": n}, min_expected, max_categories) is not None:
            return n
    return None


def psi(rc, cc):
    r = np.maximum(np.asarray(rc, float) / sum(rc), EPS)
    c = np.maximum(np.asarray(cc, float) / sum(cc), EPS)
    return float(np.sum((c - r) * np.log(c / r)))


def unseen(ref, cur):
    N = sum(ref.values())
    n = sum(cur.values())
    singletons = sum(1 for c in ref.values() if c == 1)
    k = sum(c for lab, c in cur.items() if lab not in ref)
    expected = singletons / N
    return {
        "singletons": singletons,
        "expected_rate": expected,
        "unseen": k,
        "unseen_rate": k / n,
        "p_value": float(binomtest(k, n, expected, alternative="greater").pvalue),
    }


def zipf_counts(levels, exponent, size, prefix):
    w = 1.0 / np.arange(1, levels + 1) ** exponent
    draws = RNG.choice(levels, size=size, p=w / w.sum())
    counts = np.bincount(draws, minlength=levels)
    return {f"{prefix}{i:05d}": int(c) for i, c in enumerate(counts) if c > 0}


def pooled_cases():
    cases = [
        ("five_levels_all_kept", {"a": 4000, "b": 3000, "c": 1500, "d": 1000, "e": 500},
         {"a": 80, "b": 55, "c": 35, "d": 20, "e": 10}),
        ("rare_tail_pooled", {"a": 5000, "b": 3000, "c": 1500, "r1": 30, "r2": 12, "r3": 1, "r4": 1},
         {"a": 101, "b": 58, "c": 33, "r1": 2, "new": 6}),
        ("tie_all_in", {"a": 50, "b": 50, "c": 50, "d": 850}, {"a": 5, "b": 6, "c": 4, "d": 85}),
        ("tie_all_out", {"a": 49, "b": 49, "c": 49, "x": 853}, {"a": 2, "b": 8, "c": 4, "x": 86}),
        ("binary", {"yes": 700, "no": 300}, {"yes": 60, "no": 40}),
        ("one_dominant_insufficient", {"a": 9990, "b": 5, "c": 5}, {"a": 50}),
        ("constant_insufficient", {"a": 10000}, {"a": 99, "z": 1}),
        ("small_reference_limits", {"a": 12, "b": 9, "c": 3, "d": 1}, {"a": 400, "b": 300, "c": 200, "d": 100}),
        ("new_category_hidden_in_other", {**{f"c{i:03d}": 40 for i in range(100)}, "big": 6000},
         {**{f"c{i:03d}": 1 for i in range(0, 100, 3)}, "big": 120, "new": 12}),
    ]
    for levels, exponent, n_ref, n_cur in [(10, 1.0, 20000, 200), (100, 1.0, 20000, 200), (100, 1.0, 20000, 1000),
                                            (5000, 0.6, 50000, 200), (5000, 0.6, 50000, 1000),
                                            (5000, 0.6, 50000, 5000)]:
        ref = zipf_counts(levels, exponent, n_ref, "k")
        cur = zipf_counts(levels, exponent, n_cur, "k")
        cases.append((f"zipf_{levels}_{exponent}_{n_cur}_rows", ref, cur))
    out = []
    for name, ref, cur in cases:
        case = {"name": name, "ref": ref, "cur": cur, "min_expected": 5.0}
        fitted = fit(ref, cur)
        if fitted is None:
            case["insufficient"] = True
            case["testable_from"] = testable_from(ref)
        else:
            labels, rc, cc = fitted
            res = chi2_contingency(np.array([rc, cc]))
            p = psi(rc, cc)
            dof = int(res.dof)
            n, N = sum(cc), sum(rc)
            case.update({
                "insufficient": False,
                "labels": labels,
                "ref_counts": rc,
                "cur_counts": cc,
                "chi2_statistic": float(res.statistic),
                "chi2_pvalue": float(res.pvalue),
                "chi2_dof": dof,
                "psi": p,
                "psi_corrected": max(0.0, p - dof * (1.0 / n + 1.0 / N)),
            })
        case["unseen"] = unseen(ref, cur)
        out.append(case)
    return out


if __name__ == "__main__":
    write("fisher.json", fisher_cases())
    write("unseen.json", unseen_cases())
    write("pooled.json", pooled_cases())
    print("wrote fisher.json, unseen.json, pooled.json in", HERE)
