//! The daemon's flow under load and odd input (issue #10): a backlog drains in bounded
//! batches, oldest first, with the same event-time windows and late counts as one uncapped
//! cycle; a row far in the future is counted and never moves the watermark; a file rewritten
//! after it was consumed is warned about and counted, not read again; the daemon drains a
//! backlog without waiting a poll interval, and shows it in `drift_source_backlog_files`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arrow_array::{ArrayRef, Float64Array, TimestampMillisecondArray};
use drift::synth::Rng;
use tempfile::TempDir;

use crate::support::{Daemon, drift, http_get, s, wait_for, write};

/// A reference of event-timed rows, an incoming directory, a daemon file (extra keys
/// `daemon`) and monitor `model` with `window` and extra `[source]` keys.
struct Setup {
    dir: TempDir,
    incoming: PathBuf,
    config: PathBuf,
}

fn setup(daemon: &str, source: &str, window: &str) -> Setup {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    write(root, "reference.parquet", timed(&[(0, 3000)], 1, 0.0));
    let incoming = root.join("incoming");
    std::fs::create_dir_all(root.join("monitors")).unwrap();
    std::fs::create_dir(&incoming).unwrap();
    let config = root.join("drift.toml");
    std::fs::write(
        &config,
        format!("state_dir = \"state\"\nlisten = \"127.0.0.1:0\"\npoll_secs = 1\nmonitors_dir = \"monitors\"\n{daemon}\n[sinks.log]\ntype = \"log\"\n"),
    )
    .unwrap();
    std::fs::write(
        root.join("monitors/model.toml"),
        format!(
            "[source]\npath = \"../incoming\"\nsettle_secs = 0\npoll_secs = 1\n{source}\n[reference]\npath = \"../reference.parquet\"\n\n[window]\nmin_rows = 50\n{window}\n[columns]\nexclude = [\"t\"]\n\n[alerts]\nwarning = [\"log\"]\n"
        ),
    )
    .unwrap();
    Setup { dir, incoming, config }
}

const HOURLY: &str = "type = \"time\"\nsize_secs = 3600\nallowed_lateness_secs = 600\nidle_timeout_secs = 86400\ntimestamp_column = \"t\"\n";

/// Rows with event times `hour*3600 + offsets` seconds (column `t`, ms) and a value `x`.
fn timed(hours: &[(i64, usize)], seed: u64, shift: f64) -> Vec<(&'static str, ArrayRef)> {
    let mut r = Rng::new(seed);
    let (mut t, mut x) = (Vec::new(), Vec::new());
    for &(hour, n) in hours {
        for i in 0..n {
            t.push((hour * 3600 + (i as i64 * 7) % 3600) * 1000);
            x.push(r.normal() + shift);
        }
    }
    vec![("t", Arc::new(TimestampMillisecondArray::from(t)) as ArrayRef), ("x", Arc::new(Float64Array::from(x)))]
}

/// Writes a file into `incoming` with an mtime `age_secs` in the past.
fn land(st: &Setup, name: &str, cols: Vec<(&str, ArrayRef)>, age_secs: u64) -> PathBuf {
    let p = write(&st.incoming, name, cols);
    age(&p, age_secs);
    p
}

fn age(p: &Path, secs: u64) {
    let f = std::fs::File::options().write(true).open(p).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(secs)).unwrap();
}

fn once(st: &Setup) -> String {
    let out = drift(&["run", "--once", "--config", s(&st.config)]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    text
}

/// Every stored window, oldest first: files, rows, span and tests.
fn windows(st: &Setup) -> Vec<serde_json::Value> {
    let out =
        drift(&["history", "--config", s(&st.config), "--monitor", "model", "--format", "json", "--limit", "100"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let h: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut w: Vec<serde_json::Value> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            serde_json::json!({"files": w["files"], "rows": w["rows"], "start_ms": w["start_ms"],
                "end_ms": w["end_ms"], "tests": w["tests"]})
        })
        .collect();
    w.reverse();
    w
}

fn query<T: rusqlite::types::FromSql>(st: &Setup, sql: &str) -> Vec<T> {
    let conn = rusqlite::Connection::open(st.dir.path().join("state/drift.sqlite3")).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

#[test]
fn a_backlog_drains_oldest_first_in_batches_capped_by_files_and_bytes() {
    // Landed newest name first, so the order is by mtime, not by name.
    let st = setup("", "max_files_per_cycle = 2\n", "");
    for (i, name) in ["e", "d", "c", "b", "a"].iter().enumerate() {
        land(&st, &format!("{name}.parquet"), timed(&[(1, 100)], 10 + i as u64, 0.0), 60 - i as u64 * 10);
    }
    once(&st);
    let by_window: Vec<String> = query(
        &st,
        "SELECT group_concat(path, ' ') FROM (SELECT path, window_id FROM files ORDER BY mtime_ms) GROUP BY window_id ORDER BY window_id",
    );
    assert_eq!(
        by_window,
        ["e.parquet d.parquet", "c.parquet b.parquet", "a.parquet"],
        "each cycle's batch is one window"
    );
    assert!(once(&st).contains("no new settled files (0 waiting"), "drained: nothing left");

    // Bytes: a cap of one and a half files takes one file per cycle; a file over the cap
    // goes alone.
    let st = setup("", "", "");
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        land(&st, &format!("{name}.parquet"), timed(&[(1, 100)], 20 + i as u64, 0.0), 60 - i as u64 * 10);
    }
    let size = std::fs::metadata(st.incoming.join("a.parquet")).unwrap().len();
    set_bytes(&st, size * 3 / 2);
    once(&st);
    assert_eq!(query::<i64>(&st, "SELECT files FROM windows ORDER BY id"), [1, 1, 1], "files of {size} bytes");
    let st = setup("", "", "");
    land(&st, "big.parquet", timed(&[(1, 100)], 30, 0.0), 60);
    set_bytes(&st, 100);
    once(&st);
    assert_eq!(query::<i64>(&st, "SELECT files FROM windows"), [1], "a file larger than the cap still goes");
}

fn set_bytes(st: &Setup, bytes: u64) {
    let text = std::fs::read_to_string(&st.config).unwrap();
    std::fs::write(
        &st.config,
        text.replace("poll_secs = 1\n", &format!("poll_secs = 1\nmax_bytes_in_flight = {bytes}\n")),
    )
    .unwrap();
}

/// Four files landed in event-time order (hours 1 to 5, a window spread over two files, some
/// rows without a time), drained with `max_files_per_cycle = cap`; every window (span, files,
/// rows, tests, its report's `current` with the late rows charged to it) and the late count.
fn drained(cap: &str) -> (Vec<serde_json::Value>, Vec<i64>) {
    let st = setup("", cap, HOURLY);
    let files: [&[(i64, usize)]; 4] = [&[(1, 300)], &[(2, 300), (3, 100)], &[(3, 200), (4, 300)], &[(5, 300)]];
    for (i, hours) in files.iter().enumerate() {
        let mut cols = timed(hours, 40 + i as u64, 0.5 * i as f64);
        if i == 2 {
            // Three rows without an event time: late, whatever the batching.
            let t = cols[0].1.as_any().downcast_ref::<TimestampMillisecondArray>().unwrap();
            let t: TimestampMillisecondArray = t.iter().enumerate().map(|(j, v)| v.filter(|_| j % 100 != 1)).collect();
            cols[0].1 = Arc::new(t);
        }
        land(&st, &format!("f{i}.parquet"), cols, 60 - i as u64 * 10);
    }
    once(&st);
    let currents: Vec<String> = query(&st, "SELECT json_extract(report, '$.current') FROM windows ORDER BY id");
    let mut w = windows(&st);
    for (w, current) in w.iter_mut().zip(currents) {
        w["current"] = serde_json::from_str(&current).unwrap();
    }
    (w, query(&st, "SELECT late_rows FROM event_clock"))
}

#[test]
fn a_capped_backlog_gives_the_same_event_time_windows_and_late_counts_as_one_cycle() {
    let (want, late) = drained("");
    assert_eq!(want.len(), 4, "hours 1 to 4 close on the watermark (hour 5 stays open): {want:?}");
    assert_eq!(want[2]["files"], 2, "hour 3 from two files");
    assert_eq!(late, [5], "the rows without a time are late");
    assert_eq!(want[3]["current"]["rows_late"], 5, "f2's rows without a time, in its latest window's (hour 4) report");
    assert_eq!(want[2]["current"].get("rows_late"), None);
    for cap in ["max_files_per_cycle = 1\n", "max_files_per_cycle = 3\n"] {
        assert_eq!(drained(cap), (want.clone(), late.clone()), "{cap}");
    }
}

/// 2200-01-01 in ms since the epoch.
const YEAR_2200_MS: i64 = 7_258_118_400_000;

#[test]
fn a_far_future_row_is_counted_and_never_moves_the_watermark() {
    let st = setup("", "", HOURLY);
    let mut cols = timed(&[(10, 300)], 50, 0.0);
    let t: Vec<i64> = (0..300).map(|i| if i == 7 { YEAR_2200_MS } else { (10 * 3600 + i * 7) * 1000 }).collect();
    cols[0].1 = Arc::new(TimestampMillisecondArray::from(t));
    land(&st, "a.parquet", cols, 5);
    let d = Daemon::start(&st.config, &[]);
    let port = d.port();
    let warned = d.wait_log(30, &["counted as future", "a.parquet"]);
    assert!(warned.is_some_and(|l| l.contains("\"future\":1")), "one row counted as future: {}", d.log());
    let metric = "drift_rows_future_total{monitor=\"model\"} 1";
    let metrics = wait_for(10, || http_get(port, "/metrics").map(|r| r.1).filter(|m| m.contains(metric)));
    assert!(metrics.is_some(), "{metric} in /metrics");
    // The status is published when the cycle ends, a moment after the counter: wait for it.
    let status = || serde_json::from_str::<serde_json::Value>(&http_get(port, "/api/v1/monitors")?.1).ok();
    let future = wait_for(10, || status().filter(|s| s[0]["rows_future"] == 1));
    assert!(future.is_some(), "rows_future 1 in the status: {:?}", status());
    d.kill_9();
    let clock: Vec<Option<i64>> = query(&st, "SELECT max_event_ms FROM event_clock");
    assert_eq!(clock, [Some((10 * 3600 + 299 * 7) * 1000)], "the watermark follows the real rows only");
    assert!(windows(&st).is_empty(), "hour 10 is still open");

    // Later rows of hour 10 are not late; hour 11 closes hour 10 on the watermark.
    land(&st, "b.parquet", timed(&[(10, 100), (11, 300)], 51, 0.0), 5);
    let out = once(&st);
    let w = windows(&st);
    assert_eq!((w.len(), &w[0]["rows"]), (1, &serde_json::json!(399)), "{out}");
    assert_eq!(query::<i64>(&st, "SELECT late_rows FROM event_clock"), [0]);
    // The window a.parquet gave its rows to reports the row it did not evaluate.
    let current = |i: usize| {
        let reports: Vec<String> = query(&st, "SELECT report FROM windows ORDER BY id");
        serde_json::from_str::<serde_json::Value>(&reports[i]).unwrap()["current"].clone()
    };
    assert_eq!(current(0), serde_json::json!({"rows": 399, "files": 2, "rows_future": 1}), "hour 10's report");

    // A file of late rows only (hour 10 closed) gave rows to no window: the next window to
    // close (hour 11, on d.parquet's watermark) reports them, and only it.
    land(&st, "c.parquet", timed(&[(10, 20)], 52, 0.0), 5);
    land(&st, "d.parquet", timed(&[(12, 300)], 53, 0.0), 5);
    let out = once(&st);
    assert_eq!(windows(&st).len(), 2, "{out}");
    assert_eq!(current(1), serde_json::json!({"rows": 300, "files": 1, "rows_late": 20}), "hour 11's report");
    assert_eq!(query::<i64>(&st, "SELECT late_rows FROM event_clock"), [20]);
    assert_eq!(query::<i64>(&st, "SELECT COUNT(*) FROM window_dropped"), [0], "reported once");
    // So do `drift history` and the window's page, next to its rows.
    let out = drift(&["history", "-c", s(&st.config), "-m", "model", "--format", "json"]);
    let h: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let counts = |w: &serde_json::Value| (w.get("rows_late").cloned(), w.get("rows_future").cloned());
    let (json, none) = (|n| Some(serde_json::json!(n)), None);
    assert_eq!([counts(&h[0]), counts(&h[1])], [(json(20), none.clone()), (none, json(1))], "newest first: {h}");
    let text = drift(&["history", "-c", s(&st.config), "-m", "model"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.lines().next().unwrap().ends_with(" (not evaluated: 20 late)"), "{text}");
    assert!(text.lines().nth(1).unwrap().ends_with(" (not evaluated: 1 future)"), "{text}");
    let ids: Vec<i64> = query(&st, "SELECT id FROM windows ORDER BY id");
    for (id, want) in ids.iter().zip([
        "399 rows in 2 files; not evaluated: 1 future (past max_future_secs)</dd>",
        "300 rows in 1 file; not evaluated: 20 late (their window had closed, or no timestamp)</dd>",
    ]) {
        let page = drift(&["report", "-c", s(&st.config), "-m", "model", "--window", &id.to_string()]);
        assert!(String::from_utf8_lossy(&page.stdout).contains(want), "window {id}: {want}");
    }
}

#[test]
fn a_file_rewritten_after_it_was_consumed_is_warned_about_and_counted_once() {
    let st = setup("", "", "");
    land(&st, "a.parquet", timed(&[(1, 200)], 60, 0.0), 60);
    land(&st, "b.parquet", timed(&[(1, 200)], 61, 0.0), 60);
    once(&st);
    // Rewritten under the same name after it was read: other rows, another size and mtime.
    land(&st, "a.parquet", timed(&[(1, 300)], 62, 2.0), 30);
    let d = Daemon::start(&st.config, &[]);
    let port = d.port();
    let line = d.wait_log(15, &["replaced", "a.parquet"]);
    assert!(line.as_deref().is_some_and(|l| l.contains("WARN")), "a warning naming the file: {}", d.log());
    let replaced = "drift_files_total{monitor=\"model\",outcome=\"replaced\"} 1";
    let polled = wait_for(15, || {
        let m = http_get(port, "/metrics")?.1;
        m.contains("drift_runs_total{monitor=\"model\"} 3").then_some(m)
    });
    let metrics = polled.expect("three polls");
    assert!(metrics.contains(replaced), "{replaced}: {metrics}");
    let log = d.kill_9();
    assert_eq!(log.matches("replaced after it was consumed").count(), 1, "warned once, not every poll: {log}");
    let w = windows(&st);
    assert_eq!((w.len(), &w[0]["rows"]), (1, &serde_json::json!(400)), "not read again");
    // Changed again: warned again.
    land(&st, "a.parquet", timed(&[(1, 50)], 63, 0.0), 20);
    assert!(once(&st).contains("replaced after it was consumed"));
    assert_eq!(windows(&st).len(), 1);
}

#[test]
fn the_daemon_drains_a_backlog_at_once_and_its_gauge_counts_what_waits() {
    let st = setup("", "max_files_per_cycle = 1\n", "");
    // A poll interval of ten minutes: only the backlog can start the next cycles this soon.
    let monitor = st.dir.path().join("monitors/model.toml");
    let text = std::fs::read_to_string(&monitor).unwrap().replace("poll_secs = 1\n", "poll_secs = 600\n");
    std::fs::write(&monitor, text).unwrap();
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        land(&st, &format!("{name}.parquet"), timed(&[(1, 100)], 70 + i as u64, 0.0), 60 - i as u64 * 10);
    }
    let d = Daemon::start(&st.config, &[("DRIFT_TEST_PAUSE_AT", "fetched:300")]);
    let port = d.port();
    let metric = |text: &str| wait_for(10, || http_get(port, "/metrics").map(|r| r.1).filter(|m| m.contains(text)));
    assert!(metric("drift_source_backlog_files{monitor=\"model\"} 2").is_some(), "two wait while the first is read");
    let drained = metric("drift_files_total{monitor=\"model\",outcome=\"consumed\"} 3");
    assert!(drained.is_some_and(|m| m.contains("drift_source_backlog_files{monitor=\"model\"} 0")), "{}", d.log());
    d.kill_9();
    assert_eq!(query::<i64>(&st, "SELECT files FROM windows ORDER BY id"), [1, 1, 1]);
}

/// Item 3 with no key set: a backlog larger than the default `max_files_per_cycle` (64) is
/// drained in windows of at most 64 files, oldest first (before the caps: one window of every
/// settled file, the allocation that killed the pod).
#[test]
fn a_backlog_over_the_default_cap_is_drained_in_windows_of_at_most_64_files() {
    let st = setup("", "", "");
    for i in 0..70u64 {
        land(&st, &format!("f{i:02}.parquet"), timed(&[(1, 20)], 100 + i, 0.0), 200 - i);
    }
    once(&st);
    assert_eq!(query::<i64>(&st, "SELECT files FROM windows ORDER BY id"), [64, 6]);
    let last: Vec<String> =
        query(&st, "SELECT path FROM files WHERE window_id = (SELECT max(id) FROM windows) ORDER BY path");
    assert_eq!(last, (64..70).map(|i| format!("f{i}.parquet")).collect::<Vec<_>>(), "the newest wait");
}

/// Item 11: the new files a poll finds are recorded in one transaction, not one fsynced
/// commit each. 400 files that have not settled yet (each recorded as seen): the write-ahead
/// log of the running daemon holds far fewer frames than one per file (each commit appends at
/// least one 4 KiB page), and the next polls, which find nothing new, write nothing.
#[test]
fn one_poll_records_its_new_files_in_one_transaction_and_an_idle_poll_writes_nothing() {
    let st = setup("", "", "");
    let monitor = st.dir.path().join("monitors/model.toml");
    let text = std::fs::read_to_string(&monitor).unwrap().replace("settle_secs = 0\n", "settle_secs = 3600\n");
    std::fs::write(&monitor, text).unwrap();
    let cols = timed(&[(1, 5)], 1, 0.0);
    for i in 0..400 {
        land(&st, &format!("d{}/f{i:03}.parquet", i / 100), cols.clone(), 0);
    }
    let d = Daemon::start(&st.config, &[]);
    let port = d.port();
    let runs = |n: u32| {
        let text = format!("drift_runs_total{{monitor=\"model\"}} {n}");
        wait_for(20, || http_get(port, "/metrics").filter(|m| m.1.contains(&text)).map(|_| ()))
    };
    assert!(runs(2).is_some(), "{}", d.log());
    let wal = st.dir.path().join("state/drift.sqlite3-wal");
    let frames = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len().saturating_sub(32) / (4096 + 24));
    let after = frames(&wal);
    assert_eq!(query::<i64>(&st, "SELECT count(*) FROM files WHERE status = 'seen'"), [400]);
    assert!(after < 100, "{after} WAL frames for 400 new files: a commit per file?");
    let before = std::fs::metadata(&wal).unwrap().modified().unwrap();
    assert!(runs(4).is_some(), "{}", d.log());
    assert_eq!(std::fs::metadata(&wal).unwrap().modified().unwrap(), before, "idle polls wrote");
}
