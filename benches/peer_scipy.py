"""The same job as `drift check` done the usual Python way, for the benchmark's peer column.

pyarrow reads both files; per numeric column: NaN/null drop, scipy.stats.ks_2samp, PSI on
reference deciles, chi2_contingency on the bins; per categorical column: value counts,
PSI and chi2_contingency; Benjamini-Hochberg over all p-values. Prints "seconds peak_mib".

Run: python3 benches/peer_scipy.py REFERENCE.parquet CURRENT.parquet
(needs numpy, scipy, pyarrow; not part of the product or of CI)
"""
import resource
import sys
import time

import numpy as np
import pyarrow.parquet as pq
from scipy import stats


def psi(r, c, eps=1e-4):
    r = np.clip(r / r.sum(), eps, None)
    c = np.clip(c / c.sum(), eps, None)
    return float(np.sum((c - r) * np.log(c / r)))


def chi2(r, c):
    t = np.array([r, c])
    t = t[:, t.sum(axis=0) > 0]
    if t.shape[1] < 2:
        return 1.0
    return stats.chi2_contingency(t).pvalue


def main(ref_path, cur_path):
    t0 = time.perf_counter()
    ref = pq.read_table(ref_path)
    cur = pq.read_table(cur_path)
    pvalues = []
    for name in ref.column_names:
        a, b = ref[name], cur[name]
        if a.type in ("double", "float", "int64", "int32"):
            x = a.to_numpy(zero_copy_only=False).astype(float)
            y = b.to_numpy(zero_copy_only=False).astype(float)
            x, y = x[~np.isnan(x)], y[~np.isnan(y)]
            pvalues.append(stats.ks_2samp(x, y).pvalue)
            edges = np.unique(np.quantile(x, np.arange(1, 10) / 10))
            rc = np.bincount(np.searchsorted(edges, x, side="right"), minlength=len(edges) + 1)
            cc = np.bincount(np.searchsorted(edges, y, side="right"), minlength=len(edges) + 1)
            psi(rc, cc)
            pvalues.append(chi2(rc, cc))
        else:
            rv = a.value_counts().to_pylist()
            cv = b.value_counts().to_pylist()
            rd = {d["values"]: d["counts"] for d in rv}
            cd = {d["values"]: d["counts"] for d in cv}
            cats = sorted(set(rd) | set(cd), key=str)
            rc = np.array([rd.get(k, 0) for k in cats], dtype=float)
            cc = np.array([cd.get(k, 0) for k in cats], dtype=float)
            psi(rc, cc)
            pvalues.append(chi2(rc, cc))
    stats.false_discovery_control(pvalues)
    secs = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{secs} {peak}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
