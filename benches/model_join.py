#!/usr/bin/env python3
"""Model-join benchmark (#13): what the daemon's late-label join costs a release `drift run --once`
in time, peak RSS and state bytes, on 1 000 000 predictions (10 files x 100 000 rows, rows
windows of 100 000) and 1 060 000 label rows arriving later. Every run is timed under
/usr/bin/time -v; the state is read afterwards with Python's sqlite3 (page counts and, per table
and index, SQLite's `dbstat`). Data goes to a temporary directory under $DRIFT_BENCH_DIR
(default /tmp, under 0.5 GB at the peak) and is deleted at the end.

    python3 benches/model_join.py target/release/drift
    DRIFT_MODEL_ROWS=100000 python3 benches/model_join.py ...   # rows per file (default 100 000)
    python3 benches/model_join.py target/release/drift --layouts  # also: the held rows in other layouts

Prediction files: id (Utf8, 'req-' + 12 digits), region (the segment, 4 values), score
(Float64), prediction (Utf8 '0'/'1'), f0 and f1 (Float64 features); snappy, one row group.
Drift reference and model holdout: 100 000 rows of the same (the holdout with a label). The
monitor is named `fraud_scores` (the state repeats the name in each held row and in both of its
indexes: about 3 bytes per character per prediction).

Phases (the model monitor's clock is moved with DRIFT_TEST_CLOCK_OFFSET_SECS):
  ingest, no [model]      10 prediction files, the same monitor without [model]/[labels]
  ingest, [model]         the same files, the same monitor with them (no label file yet)
  (each ingestion twice, alternating, each in a fresh state; files hard-linked)
  labels (+1 day)         11 label files: 90% of the 1M ids (shuffled), 50 000 of them again with a
                          later label_time, 100 000 early labels for a file not landed yet, 10 000
                          for ids that never come; min_coverage = 1.0 so no window is evaluated
  early file (+1 day)     the 11th prediction file (100 000 rows, all labelled early) lands
  evaluate (+1 day)       min_coverage = 0.5: the 10 partial windows evaluated
  final (+15 days)        past max_delay_secs: every window final, its rows deleted, the
                          never-matched labels expired
"""

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

DAY = 86_400
MONITOR = "fraud_scores"
REGIONS = np.array(["north", "south", "east", "west"])
T0 = 1_700_000_000_000  # label_time base, ms


def predictions(ids: np.ndarray, seed: int, labelled: bool = False) -> tuple[pa.Table, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = len(ids)
    score = rng.uniform(size=n)
    label = (rng.uniform(size=n) < score).astype(np.int8)
    cols = {
        "id": pa.array(ids),
        "region": pa.array(REGIONS[rng.integers(0, 4, size=n)]),
        "score": score,
        "prediction": pa.array(np.where(score >= 0.5, "1", "0")),
        "f0": rng.normal(size=n),
        "f1": rng.lognormal(size=n),
    }
    if labelled:
        cols["label"] = pa.array(np.where(label == 1, "1", "0"))
    return pa.table(cols), label


def ids(start: int, n: int) -> np.ndarray:
    return np.char.add("req-", np.char.zfill(np.arange(start, start + n).astype(str), 12))


def label_table(id_values: np.ndarray, labels: np.ndarray, times: np.ndarray) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(id_values),
            "label": pa.array(np.where(labels == 1, "1", "0")),
            "label_time": pa.array(times.astype("datetime64[ms]")),
        }
    )


def monitor(root: str, model: bool, min_coverage: float, rows: int) -> None:
    text = (
        '[source]\npath = "../incoming"\nsettle_secs = 0\n\n'
        '[reference]\npath = "../reference.parquet"\n\n'
        f'[window]\ntype = "rows"\nrows = {rows}\n\n'
        '[columns]\nexclude = ["id"]\n\n'
        '[segments]\nby = ["region"]\n'
    )
    if model:
        text += (
            '\n[model]\ntask = "binary"\nid = "id"\nprediction = "prediction"\nscore = "score"\n'
            'positive = "1"\nreference = "../holdout.parquet"\n\n'
            "[model.thresholds]\nroc_auc = { min = 0.7 }\n\n"
            f'[labels]\npath = "../labels"\nsettle_secs = 0\nmin_coverage = {min_coverage}\n'
            "max_delay_secs = 1209600\n"
        )
    with open(os.path.join(root, "monitors", f"{MONITOR}.toml"), "w") as f:
        f.write(text)


def run(drift: str, root: str, days: int = 0) -> dict:
    env = dict(os.environ, DRIFT_TEST_CLOCK_OFFSET_SECS=str(days * DAY))
    env.pop("RUST_LOG", None)
    # The state directory's bytes on disk (database, WAL, lock), sampled while it runs: the
    # peak is what the volume must hold.
    proc = subprocess.Popen(
        ["/usr/bin/time", "-v", drift, "run", "--once", "--config", os.path.join(root, "drift.toml")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        d = os.path.join(root, "state")
        while not done.wait(0.02):
            try:
                peak[0] = max(peak[0], sum(e.stat().st_size for e in os.scandir(d) if e.is_file()))
            except OSError:
                pass

    sampler = threading.Thread(target=sample)
    sampler.start()
    stdout, stderr = proc.communicate()
    done.set()
    sampler.join()
    out = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    if out.returncode != 0:
        sys.exit(f"drift run --once failed ({out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", out.stderr).group(1)
    secs = sum(float(p) * 60**i for i, p in enumerate(reversed(wall.split(":"))))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1)) / 1024
    user = float(re.search(r"User time \(seconds\): (\S+)", out.stderr).group(1))
    system = float(re.search(r"System time \(seconds\): (\S+)", out.stderr).group(1))
    return {"wall": secs, "cpu": user + system, "rss": rss, "disk": peak[0], "log": out.stdout + out.stderr}


def state(root: str) -> dict:
    """The state after the run (the daemon checkpointed and removed its WAL on exit)."""
    path = os.path.join(root, "state", "drift.sqlite3")
    wal = path + "-wal"
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    page_size, pages, free = (db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_size", "page_count", "freelist_count"))
    tables = dict(db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
    model = {k: v for k, v in tables.items() if "model" in k}
    counts = {
        "held": db.execute("SELECT COUNT(*) FROM model_rows").fetchone()[0],
        "labelled": db.execute("SELECT COUNT(*) FROM model_rows WHERE label IS NOT NULL").fetchone()[0],
        "pending_labels": db.execute("SELECT COUNT(*) FROM model_pending_labels").fetchone()[0],
        "windows": db.execute("SELECT COUNT(*) FROM windows").fetchone()[0],
    }
    join = db.execute("SELECT label_rows, matched, duplicates, unmatched FROM model_join").fetchall()
    status = db.execute("SELECT status, COUNT(*) FROM model_windows GROUP BY status").fetchall()
    db.close()
    return {
        "file": os.path.getsize(path),
        "wal": os.path.getsize(wal) if os.path.exists(wal) else 0,
        "used": (pages - free) * page_size,
        "pages": pages,
        "free": free,
        "page_size": page_size,
        "model_tables": model,
        "counts": counts,
        "join": join,
        "status": status,
    }


# The held rows' table and indexes as shipped (schema 7), and variants, for --layouts.
LAYOUTS = {
    "as shipped (schema 7)": ("monitor TEXT NOT NULL", True),
    "monitor as an INTEGER key": ("monitor INTEGER NOT NULL", True),
    "without model_rows_by_window": ("monitor TEXT NOT NULL", False),
}


def layouts(path: str, total: int) -> list[tuple[str, float, float, float]]:
    """Copies the held rows into each layout in a scratch database and measures it with dbstat:
    (layout, table, indexes, total) bytes per prediction."""
    out = []
    for name, (monitor_col, by_window) in LAYOUTS.items():
        scratch = path + ".layout"
        db = sqlite3.connect(scratch)
        db.execute(f"ATTACH 'file:{path}?mode=ro' AS held")
        db.execute(
            f"CREATE TABLE model_rows ({monitor_col}, window_key INTEGER NOT NULL, window_id INTEGER, "
            "file_id INTEGER NOT NULL, id_hash INTEGER NOT NULL, segment TEXT NOT NULL, prediction TEXT, value REAL, "
            "label TEXT, label_time INTEGER, label_order INTEGER)"
        )
        db.execute("CREATE INDEX model_rows_by_id ON model_rows (monitor, id_hash)")
        if by_window:
            db.execute("CREATE INDEX model_rows_by_window ON model_rows (monitor, window_id, window_key)")
        key = "monitor" if monitor_col.startswith("monitor TEXT") else "1"
        db.execute(
            f"INSERT INTO model_rows SELECT {key}, window_key, window_id, file_id, id_hash, segment, prediction, value, "
            "label, label_time, label_order FROM held.model_rows ORDER BY rowid"
        )
        db.commit()
        sizes = dict(db.execute("SELECT name, SUM(pgsize) FROM dbstat WHERE schema = 'main' GROUP BY name").fetchall())
        db.close()
        os.remove(scratch)
        table = sizes.get("model_rows", 0)
        indexes = sum(v for k, v in sizes.items() if k.startswith("model_rows_by"))
        out.append((name, table / total, indexes / total, (table + indexes) / total))
    return out


def mib(b: float) -> str:
    return f"{b / 2**20:.1f}"


def main() -> None:
    drift = os.path.abspath(sys.argv[1])
    per_file = int(os.environ.get("DRIFT_MODEL_ROWS", "100000"))
    files = 10
    total = per_file * files
    root = tempfile.mkdtemp(prefix="drift-model-join-", dir=os.environ.get("DRIFT_BENCH_DIR", "/tmp"))
    try:
        data = os.path.join(root, "data")
        os.makedirs(os.path.join(data, "incoming"))
        reference, _ = predictions(ids(900_000_000, 100_000), 1)
        holdout, _ = predictions(ids(900_000_000, 100_000), 1, labelled=True)
        pq.write_table(reference, os.path.join(data, "reference.parquet"), compression="snappy")
        pq.write_table(holdout, os.path.join(data, "holdout.parquet"), compression="snappy")
        all_labels = []
        for i in range(files):
            t, label = predictions(ids(i * per_file, per_file), 10 + i)
            pq.write_table(t, os.path.join(data, "incoming", f"part-{i:02d}.parquet"), compression="snappy")
            all_labels.append(label)
        pred_bytes = sum(os.path.getsize(os.path.join(data, "incoming", f)) for f in os.listdir(os.path.join(data, "incoming")))
        early, early_label = predictions(ids(800_000_000, per_file), 99)
        pq.write_table(early, os.path.join(data, "early.parquet"), compression="snappy")

        # Labels: 90% of the ids in random order over 9 files, 5% of those again later, the early
        # file's ids, and ids that never come.
        rng = np.random.default_rng(7)
        every = ids(0, total)
        label = np.concatenate(all_labels)
        chosen = rng.permutation(total)[: total * 9 // 10]
        times = T0 + np.arange(len(chosen)) * 10
        os.makedirs(os.path.join(data, "labels"))
        label_files = []
        for k, part in enumerate(np.array_split(np.arange(len(chosen)), 9)):
            idx = chosen[part]
            label_files.append((f"labels-{k:02d}.parquet", label_table(every[idx], label[idx], times[part])))
        dup = chosen[: len(chosen) // 18]  # 5% of the labelled ids
        label_files.append(("labels-09-relabel.parquet", label_table(every[dup], 1 - label[dup], times[-1] + 1000 + np.arange(len(dup)))))
        never = ids(700_000_000, total // 100)
        label_files.append(("labels-10-early.parquet", label_table(
            np.concatenate([ids(800_000_000, per_file), never]),
            np.concatenate([early_label, rng.integers(0, 2, size=len(never))]),
            T0 + np.arange(per_file + len(never)),
        )))
        label_rows = sum(t.num_rows for _, t in label_files)
        for name, t in label_files:
            pq.write_table(t, os.path.join(data, "labels", name), compression="snappy")

        def fresh(name: str, model: bool) -> str:
            d = os.path.join(root, name)
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(os.path.join(d, "monitors"))
            os.makedirs(os.path.join(d, "labels"))
            os.makedirs(os.path.join(d, "incoming"))
            for f in sorted(os.listdir(os.path.join(data, "incoming"))):
                os.link(os.path.join(data, "incoming", f), os.path.join(d, "incoming", f))
            for f in ("reference.parquet", "holdout.parquet"):
                os.link(os.path.join(data, f), os.path.join(d, f))
            with open(os.path.join(d, "drift.toml"), "w") as f:
                f.write('state_dir = "state"\nlisten = "127.0.0.1:0"\nmonitors_dir = "monitors"\n')
            monitor(d, model, 1.0, per_file)
            return d

        # Ingestion with and without the join, alternating, each in a fresh state.
        ingest = {False: [], True: []}
        for model in (False, True, False, True):
            d = fresh("model" if model else "plain", model)
            r = run(drift, d)
            r["state"] = state(d) if model else None
            if not model:
                db = sqlite3.connect(f"file:{os.path.join(d, 'state', 'drift.sqlite3')}?mode=ro", uri=True)
                ps, pc, fc = (db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_size", "page_count", "freelist_count"))
                db.close()
                r["used"] = (pc - fc) * ps
                r["file"] = os.path.getsize(os.path.join(d, "state", "drift.sqlite3"))
            ingest[model].append(r)
        m = os.path.join(root, "model")
        plain, held = ingest[False][-1], ingest[True][-1]
        held_state = held["state"]
        shapes = layouts(os.path.join(m, "state", "drift.sqlite3"), total) if "--layouts" in sys.argv else []

        # Labels land a day later (no window evaluated: min_coverage 1.0).
        for name, _ in label_files:
            os.link(os.path.join(data, "labels", name), os.path.join(m, "labels", name))
        labels_run = run(drift, m, 1)
        labelled_state = state(m)
        # The early-labelled prediction file lands.
        os.link(os.path.join(data, "early.parquet"), os.path.join(m, "incoming", "part-10.parquet"))
        early_run = run(drift, m, 1)
        early_state = state(m)
        # The partial evaluations, then the final ones.
        monitor(m, True, 0.5, per_file)
        eval_run = run(drift, m, 1)
        final_run = run(drift, m, 15)
        final_state = state(m)

        print(f"predictions: {files} files x {per_file} rows = {total} ({pred_bytes / 1e6:.1f} MB of Parquet); label rows: {label_rows}")
        print(f"state page size {held_state['page_size']} bytes; 'used' = (page_count - freelist_count) x page_size, after the daemon's exit checkpoint (WAL {held_state['wal']} bytes)")
        print()
        print("| phase | wall s | CPU s | peak RSS MiB | state used MiB | state file MiB | peak on disk MiB |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for i in range(2):
            p, h = ingest[False][i], ingest[True][i]
            print(f"| ingest {total} predictions, no [model] (run {i + 1}) | {p['wall']:.2f} | {p['cpu']:.2f} | {p['rss']:.0f} | {mib(p['used'])} | {mib(p['file'])} | {mib(p['disk'])} |")
            print(f"| ingest {total} predictions, [model] (run {i + 1}) | {h['wall']:.2f} | {h['cpu']:.2f} | {h['rss']:.0f} | {mib(h['state']['used'])} | {mib(h['state']['file'])} | {mib(h['disk'])} |")
        for name, r, s in (
            (f"labels: {label_rows} rows, 11 files (+1 day)", labels_run, labelled_state),
            (f"early-labelled file: {per_file} predictions (+1 day)", early_run, early_state),
            ("evaluate 10 partial windows (+1 day)", eval_run, None),
            ("final: 11 windows, rows deleted (+15 days)", final_run, final_state),
        ):
            used = mib(s["used"]) if s else ""
            size = mib(s["file"]) if s else ""
            print(f"| {name} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['rss']:.0f} | {used} | {size} | {mib(r['disk'])} |")
        print()
        wall_ratio = [ingest[True][i]["wall"] / ingest[False][i]["wall"] for i in range(2)]
        cpu_ratio = [ingest[True][i]["cpu"] / ingest[False][i]["cpu"] for i in range(2)]
        print(f"ingestion with the join / without: wall {wall_ratio[0]:.2f}x, {wall_ratio[1]:.2f}x; CPU {cpu_ratio[0]:.2f}x, {cpu_ratio[1]:.2f}x")
        cpu_per = [(ingest[True][i]["cpu"] - ingest[False][i]["cpu"]) / total * 1e6 for i in range(2)]
        print(f"join CPU per prediction: {cpu_per[0]:.2f}, {cpu_per[1]:.2f} us")
        print(f"labels: {label_rows / labels_run['wall']:.0f} label rows/s wall, {label_rows / labels_run['cpu']:.0f} per CPU second")
        extra = held_state["used"] - plain["used"]
        print(f"held predictions, no labels: {extra / total:.1f} bytes each = {extra / total * 1e6 / 1e6:.1f} MB per million (used-page difference against no [model])")
        rows_bytes = sum(held_state["model_tables"].values())
        print(f"  dbstat, model tables and indexes: {rows_bytes / total:.1f} bytes each; " + ", ".join(f"{k} {v / total:.1f}" for k, v in sorted(held_state["model_tables"].items())))
        lab = labelled_state["used"] - plain["used"]
        print(f"after the labels ({labelled_state['counts']['labelled']} labelled, {labelled_state['counts']['pending_labels']} waiting): {lab / total:.1f} bytes per held prediction; " + ", ".join(f"{k} {v / total:.1f}" for k, v in sorted(labelled_state["model_tables"].items())))
        print(f"after the early file ({total + per_file} held): " + ", ".join(f"{k} {v / (total + per_file):.1f}" for k, v in sorted(early_state["model_tables"].items())))
        print(f"final: used {mib(final_state['used'])} MiB, file {mib(final_state['file'])} MiB ({final_state['free']} free pages); counts {final_state['counts']}")
        for name, s in (("held", held_state), ("labelled", labelled_state), ("early", early_state), ("final", final_state)):
            print(f"  {name}: counts {s['counts']}, join (label_rows, matched, duplicates, unmatched) {s['join']}, windows {s['status']}")
        if shapes:
            print()
            print("| held rows' layout (--layouts) | table B | indexes B | total B per prediction |")
            print("|---|---:|---:|---:|")
            for name, table, indexes, both in shapes:
                print(f"| {name} | {table:.1f} | {indexes:.1f} | {both:.1f} |")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
