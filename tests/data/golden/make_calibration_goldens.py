"""Golden vectors for the false-alarm calibration (src/calibrate/): the 95% Wilson score
interval of a false-drift rate, from SciPy's binomtest(k, n).proportion_ci(method="wilson").

    python3 tests/data/golden/make_calibration_goldens.py   # writes wilson.json beside it
"""
import json
import pathlib

import scipy
from scipy.stats import binomtest

cases = []
for n in (1, 5, 40, 200, 1000):
    for k in sorted({0, 1, n // 10, n // 2, n - 1, n}):
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        cases.append({"k": k, "n": n, "low": ci.low, "high": ci.high})

out = pathlib.Path(__file__).with_name("wilson.json")
out.write_text(json.dumps({"scipy": scipy.__version__, "cases": cases}, indent=1) + "\n")
print(f"{out}: {len(cases)} cases")
