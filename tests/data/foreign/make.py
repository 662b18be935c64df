"""Writes Parquet fixtures the way other tools do (pandas + pyarrow), to test that drift reads
files it did not write: every codec, several row groups, data page v2, pandas categoricals and
nullable dtypes, a non-default index, datetimes, nested lists, NaN and None.

Run (not needed for the tests; the files are committed):
    pip install pandas pyarrow && python3 make.py
Expected values for the tests are written to expected.json from pandas itself.
"""
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

rng = np.random.default_rng(20261126)


def frame(n, shift):
    df = pd.DataFrame(
        {
            "f64": rng.normal(shift, 1, n),
            "f32": rng.normal(0, 1, n).astype("float32"),
            "nullable_int": pd.array(rng.integers(0, 100, n), dtype="Int64"),
            "small_int": rng.integers(-5, 5, n).astype("int8"),
            "cat": pd.Categorical(rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])),
            "text": rng.choice(["x", "y", None], n, p=[0.6, 0.3, 0.1]),
            "flag": pd.array(rng.choice([True, False, None], n), dtype="boolean"),
            "when": pd.date_range("2026-01-01", periods=n, freq="min"),
            "tags": [list(range(i % 3)) for i in range(n)],
        },
        index=pd.Index(np.arange(n) * 2, name=None),
    )
    df.loc[df.index[::50], "f64"] = np.nan
    df.loc[df.index[::70], "nullable_int"] = pd.NA
    return df


ref = frame(5000, 0.0)
cur = frame(3000, 0.5)
options = [
    ("snappy", {}),
    ("gzip", {}),
    ("zstd", {}),
    ("brotli", {}),
    ("lz4", {}),
    ("none", {"data_page_version": "2.0"}),
]
for codec, extra in options:
    pq.write_table(
        pa.Table.from_pandas(ref), f"reference_{codec}.parquet", compression=codec, row_group_size=1200, **extra
    )
pq.write_table(pa.Table.from_pandas(cur), "current.parquet", compression="snappy", row_group_size=1000)

expected = {}
for name in ["f64", "f32", "nullable_int", "small_int", "cat", "text", "flag"]:
    r, c = ref[name], cur[name]
    expected[name] = {
        "reference_missing": int(r.isna().sum()),
        "current_missing": int(c.isna().sum()),
        "reference_count": int(r.notna().sum()),
    }
expected["f64"]["reference_mean"] = float(ref["f64"].mean())
expected["f64"]["current_median"] = float(cur["f64"].median())
with open("expected.json", "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
