#!/usr/bin/env python3
"""Polling cost over a long history (#10): a source holding 100 000 files that the state
already records as consumed, watched by a release `drift run` with `poll_secs = 1`. Prints the
daemon's CPU time per poll (from /proc, over the polls after the first, which loads the
reference) and what it wrote meanwhile (bytes through write(2), and the database and WAL
sizes). The data goes to a temporary directory and is deleted at the end.

    python3 benches/poll.py target/release/drift              # 100 000 files, 20 s
    DRIFT_POLL_FILES=10000 DRIFT_POLL_SECS=10 python3 benches/poll.py ...

The files are empty (listing never reads them: consumed paths are never fetched again); the
state is created by a first `drift run --once` over an empty directory, then the 100 000
consumed records are inserted with sqlite3 as a daemon would have left them.
"""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def cpu_secs(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def written(pid: int) -> int:
    """Bytes the process sent to storage (`write_bytes`; `wchar` would also count the HTTP
    answers to this script's own /metrics requests)."""
    for line in open(f"/proc/{pid}/io"):
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0


def runs(port: int) -> int:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    m = re.search(r'drift_runs_total\{monitor="model"\} (\d+)', text)
    return int(m.group(1)) if m else 0


def main() -> None:
    drift = os.path.abspath(sys.argv[1])
    n = int(os.environ.get("DRIFT_POLL_FILES", "100000"))
    secs = float(os.environ.get("DRIFT_POLL_SECS", "20"))
    root = tempfile.mkdtemp(prefix="drift-poll-", dir=os.environ.get("DRIFT_BENCH_DIR", "/tmp"))
    daemon = None
    try:
        incoming = os.path.join(root, "incoming")
        os.makedirs(incoming)
        os.makedirs(os.path.join(root, "monitors"))
        pq.write_table(pa.table({"x": np.random.default_rng(1).normal(size=1000)}), os.path.join(root, "ref.parquet"))
        config = os.path.join(root, "drift.toml")
        with open(config, "w") as f:
            f.write('state_dir = "state"\nlisten = "127.0.0.1:0"\nmonitors_dir = "monitors"\n')
        with open(os.path.join(root, "monitors", "model.toml"), "w") as f:
            f.write('[source]\npath = "../incoming"\nsettle_secs = 0\npoll_secs = 1\n\n[reference]\npath = "../ref.parquet"\n')
        subprocess.run([drift, "run", "--once", "--config", config], check=True, capture_output=True)
        rows = []
        for i in range(n):
            d = os.path.join(incoming, f"day-{i // 1000:03d}")
            if i % 1000 == 0:
                os.makedirs(d)
            p = os.path.join(d, f"part-{i:06d}.parquet")
            open(p, "w").close()
            st = os.stat(p)
            rows.append(("model", os.path.relpath(p, incoming), st.st_size, st.st_mtime_ns // 1_000_000))
        db = sqlite3.connect(os.path.join(root, "state", "drift.sqlite3"))
        db.executemany(
            "INSERT INTO files (monitor, path, size, mtime_ms, first_seen_ms, status, rows, updated_ms) "
            "VALUES (?, ?, ?, ?, 0, 'consumed', 0, 0)",
            rows,
        )
        db.commit()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        env = dict(os.environ, RUST_LOG="info")
        daemon = subprocess.Popen([drift, "run", "--config", config], stderr=subprocess.PIPE, text=True, env=env)
        port = None
        for line in daemon.stderr:
            if "drift daemon started" in line:
                port = int(json.loads(line)["fields"]["listen"].rsplit(":", 1)[1])
                break
        threading.Thread(target=lambda: [None for _ in daemon.stderr], daemon=True).start()
        while runs(port) < 2:
            time.sleep(0.05)
        state = os.path.join(root, "state")
        def sizes():
            return {f: os.stat(os.path.join(state, f))[6:9:2] for f in sorted(os.listdir(state)) if "sqlite3" in f}

        r0, c0, w0, s0 = runs(port), cpu_secs(daemon.pid), written(daemon.pid), sizes()
        time.sleep(secs)
        r1, c1, w1, s1 = runs(port), cpu_secs(daemon.pid), written(daemon.pid), sizes()
        polls = r1 - r0
        print(f"files: {n} consumed; polls measured: {polls} over {secs:.0f} s")
        print(f"CPU per poll: {1000 * (c1 - c0) / max(polls, 1):.0f} ms")
        print(f"written to storage meanwhile: {w1 - w0} bytes")
        print(f"state files (size, mtime) {'unchanged' if s0 == s1 else 'CHANGED'}: {s0} -> {s1}")
    finally:
        if daemon:
            daemon.terminate()
            daemon.wait()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
