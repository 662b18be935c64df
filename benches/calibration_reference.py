"""A tailnum-like reference and a daemon directory for measuring the calibration's cost
(BENCHMARKS.md, "The false-alarm calibration").

    python3 benches/calibration_reference.py DIR [ROWS]    # default 200 000 rows

Writes DIR/reference.parquet (a 4 000-level Zipf code like an aircraft tail number, a
50-level carrier, 4 numeric columns, an event time one minute apart) and DIR/drift.toml with
two monitors over it at 200-row windows paging a log sink: `defaults` and `old`
(psi_effect = "classic", min_expected = 0).
"""
import pathlib
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

out = pathlib.Path(sys.argv[1])
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
rng = np.random.default_rng(17)


def zipf(levels, exponent, n, prefix):
    w = np.arange(1, levels + 1, dtype=float) ** -exponent
    codes = rng.choice(levels, size=n, p=w / w.sum())
    return pa.array([f"{prefix}{c:04d}" for c in codes])


table = pa.table({
    "tailnum": zipf(4_000, 0.6, rows, "N"),
    "carrier": zipf(50, 1.0, rows, "C"),
    "dep_delay": rng.lognormal(2.0, 1.0, rows),
    "distance": rng.normal(1_000, 300, rows).round(),
    "air_time": rng.gamma(4.0, 30.0, rows),
    "taxi_out": rng.poisson(15, rows).astype("int64"),
    "at": pa.array(1_700_000_000_000 + 60_000 * np.arange(rows), pa.timestamp("ms")),
})
(out / "monitors").mkdir(parents=True, exist_ok=True)
(out / "incoming").mkdir(exist_ok=True)
pq.write_table(table, out / "reference.parquet")
(out / "drift.toml").write_text(
    'state_dir = "state"\nmonitors_dir = "monitors"\n\n[sinks.log]\ntype = "log"\n')
for name, policy in [("defaults", ""), ("old", '[policy]\npsi_effect = "classic"\nmin_expected = 0\n')]:
    (out / "monitors" / f"{name}.toml").write_text(
        '[source]\npath = "../incoming"\n\n[reference]\npath = "../reference.parquet"\n\n'
        '[window]\ntype = "rows"\nrows = 200\nmin_rows = 50\ntimestamp_column = "at"\n\n'
        '[alerts]\nwarning = ["log"]\ncritical = ["log"]\n\n' + policy)
print(f"{out}: {rows} rows")
