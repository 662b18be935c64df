#!/usr/bin/env python3
"""Backlog benchmark (#10): a source holding a 2 GiB backlog of ~5 MB Parquet files, drained by
one `drift run --once` (release build) under /usr/bin/time -v; prints the peak RSS, the wall
time and the windows stored. The data is generated into a temporary directory under
$DRIFT_BENCH_DIR (default /tmp) and deleted at the end.

    python3 benches/backlog.py target/release/drift            # the default caps
    python3 benches/backlog.py target/release/drift --uncapped # caps lifted: the old behaviour
    DRIFT_BACKLOG_FILES=40 python3 benches/backlog.py ...      # a smaller backlog

Files: 25 000 rows x (20 Float64 + 5 Utf8 Zipf-like labels), snappy, one row group, ~5 MB each
(random floats hardly compress); copies of one generated file under different names (every
copy is read and decoded; only the names differ). Files windows, settle 0.
"""

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROWS = 25_000


def table(seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    cols = {f"n{i}": rng.normal(size=ROWS) for i in range(20)}
    labels = np.array([f"label{i:02d}" for i in range(50)])
    weights = 1.0 / np.arange(1, 51)
    weights /= weights.sum()
    for i in range(5):
        cols[f"c{i}"] = labels[rng.choice(50, size=ROWS, p=weights)]
    return pa.table(cols)


def main() -> None:
    drift = os.path.abspath(sys.argv[1])
    uncapped = "--uncapped" in sys.argv
    n = int(os.environ.get("DRIFT_BACKLOG_FILES", "426"))
    root = tempfile.mkdtemp(prefix="drift-backlog-", dir=os.environ.get("DRIFT_BENCH_DIR", "/tmp"))
    try:
        incoming = os.path.join(root, "incoming")
        os.makedirs(incoming)
        os.makedirs(os.path.join(root, "monitors"))
        pq.write_table(table(1), os.path.join(root, "reference.parquet"), compression="snappy")
        one = os.path.join(root, "one.parquet")
        pq.write_table(table(2), one, compression="snappy")
        for i in range(n):
            shutil.copyfile(one, os.path.join(incoming, f"part-{i:05d}.parquet"))
            os.utime(os.path.join(incoming, f"part-{i:05d}.parquet"), (1_700_000_000 + i, 1_700_000_000 + i))
        size = os.path.getsize(one)
        caps = "max_bytes_in_flight = 1099511627776\n" if uncapped else ""
        source_caps = "max_files_per_cycle = 1000000\n" if uncapped else ""
        with open(os.path.join(root, "drift.toml"), "w") as f:
            f.write(f'state_dir = "state"\nlisten = "127.0.0.1:0"\nmonitors_dir = "monitors"\n{caps}')
        with open(os.path.join(root, "monitors", "model.toml"), "w") as f:
            f.write(
                f'[source]\npath = "../incoming"\nsettle_secs = 0\n{source_caps}\n'
                '[reference]\npath = "../reference.parquet"\n'
            )
        out = subprocess.run(
            ["/usr/bin/time", "-v", drift, "run", "--once", "--config", os.path.join(root, "drift.toml")],
            capture_output=True,
            text=True,
        )
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr)
        wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", out.stderr)
        db = sqlite3.connect(os.path.join(root, "state", "drift.sqlite3"))
        windows = db.execute("SELECT COUNT(*), COALESCE(SUM(files), 0) FROM windows").fetchone()
        print(f"files: {n} x {size / 1e6:.2f} MB = {n * size / 2**30:.2f} GiB; caps: {'lifted' if uncapped else 'default'}")
        print(f"exit: {out.returncode}; wall: {wall.group(1) if wall else '?'}")
        print(f"peak RSS: {int(rss.group(1)) / 1024:.0f} MiB" if rss else "peak RSS: ? (killed?)")
        print(f"windows: {windows[0]}, files consumed: {windows[1]}")
        if out.returncode != 0:
            print(out.stderr[-2000:])
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
