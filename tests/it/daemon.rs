//! The daemon on real files, a real SQLite state and real HTTP: `run --once` consumes each
//! settled file exactly once and records its evaluation; unsettled and truncated files are not
//! read early; a file that never becomes valid is quarantined while others continue; a broken
//! monitor does not stop another; a batch or rows window whose column types change is split, not stalled; a second daemon on the same state refuses; the long-running
//! daemon serves health, readiness, metrics and status, and drains on SIGTERM with exit 0.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arrow_array::{ArrayRef, Float64Array, StringArray};
use drift::synth::Rng;
use tempfile::TempDir;

use crate::support::{drift, free_port, http_get, s, wait_for, write};

/// A reference and a place for new files, plus a daemon file and one monitor.
struct Setup {
    dir: TempDir,
    incoming: PathBuf,
    config: PathBuf,
}

fn batch(n: usize, seed: u64, shift: f64) -> Vec<(&'static str, ArrayRef)> {
    let mut r = Rng::new(seed);
    let x: Vec<f64> = (0..n).map(|_| r.normal() + shift).collect();
    let k: Vec<&str> = (0..n).map(|_| ["a", "b", "c"][r.choose(&[5.0, 3.0, 2.0])]).collect();
    vec![("x", Arc::new(Float64Array::from(x)) as ArrayRef), ("k", Arc::new(StringArray::from(k)))]
}

fn setup(settle_secs: u64, port: u16, extra_monitor: Option<&str>) -> Setup {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    write(root, "reference.parquet", batch(5000, 1, 0.0));
    let incoming = root.join("incoming");
    std::fs::create_dir(&incoming).unwrap();
    let config = root.join("drift.toml");
    std::fs::write(
        &config,
        format!(
            "state_dir = \"state\"\nlisten = \"127.0.0.1:{port}\"\npoll_secs = 1\ndrain_timeout_secs = 5\nmonitors_dir = \"monitors\"\n\n[sinks.log]\ntype = \"log\"\n\n[sinks.audit]\ntype = \"file\"\npath = \"alerts.jsonl\"\n"
        ),
    )
    .unwrap();
    std::fs::create_dir(root.join("monitors")).unwrap();
    std::fs::write(
        root.join("monitors/model.toml"),
        format!(
            "[source]\npath = \"../incoming\"\nsettle_secs = {settle_secs}\npoll_secs = 1\n\n[reference]\npath = \"../reference.parquet\"\n\n[window]\nmin_rows = 50\n\n[alerts]\nwarning = [\"audit\"]\ncritical = [\"audit\"]\n"
        ),
    )
    .unwrap();
    if let Some(text) = extra_monitor {
        std::fs::write(root.join("monitors/other.toml"), text).unwrap();
    }
    Setup { dir, incoming, config }
}

/// Writes a Parquet file into `incoming` with an mtime `age_secs` in the past.
fn land(setup: &Setup, name: &str, cols: Vec<(&str, ArrayRef)>, age_secs: u64) -> PathBuf {
    let p = write(&setup.incoming, name, cols);
    age(&p, age_secs);
    p
}

fn age(p: &Path, secs: u64) {
    let f = std::fs::File::options().write(true).open(p).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(secs)).unwrap();
}

fn once(setup: &Setup) -> (i32, String) {
    let out = drift(&["run", "--once", "--config", s(&setup.config)]);
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn history(setup: &Setup) -> serde_json::Value {
    let out =
        drift(&["history", "--config", s(&setup.config), "--monitor", "model", "--format", "json", "--limit", "100"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn run_once_consumes_each_settled_file_exactly_once() {
    let st = setup(2, free_port(), None);
    land(&st, "a.parquet", batch(400, 2, 0.0), 60);
    land(&st, "b.parquet", batch(400, 3, 1.0), 60);
    let c = land(&st, "c.parquet", batch(400, 4, 0.0), 0); // still settling
    let (code, out) = once(&st);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("window 1: 2 files, 800 rows:\n") && out.contains("\nDRIFT: "), "{out}");
    let h = history(&st);
    assert_eq!(h.as_array().unwrap().len(), 1);
    assert_eq!(h[0]["files"], 2);
    assert!(
        h[0]["tests"].as_array().unwrap().iter().any(|t| t["column"] == "x" && t["test"] == "ks" && t["drift"] == true)
    );

    let (code, out) = once(&st);
    assert_eq!(code, 0);
    assert!(out.contains("no new settled files (1 waiting to settle)"), "{out}");
    // Its writer touches it again, an hour ago: changed since the last listing, so it waits
    // one more listing even though it is old enough; then it is complete.
    age(&c, 3600);
    let (_, out) = once(&st);
    assert!(out.contains("no new settled files (1 waiting to settle)"), "changed since the last listing: {out}");
    let (_, out) = once(&st);
    assert!(out.contains("window 2: 1 files, 400 rows"), "{out}");
    let (_, out) = once(&st);
    assert!(out.contains("no new settled files (0 waiting"), "{out}");
    assert_eq!(history(&st).as_array().unwrap().len(), 2, "nothing read twice");
    let alerts = std::fs::read_to_string(st.dir.path().join("alerts.jsonl")).unwrap();
    assert_eq!(alerts.lines().count(), 1, "one drifted window, one notification: {alerts}");
    let (code, _) = {
        let out = drift(&["run", "--once", "--fail-on-drift", "--config", s(&st.config)]);
        (out.status.code().unwrap(), ())
    };
    assert_eq!(code, 0, "nothing new: no drift");
}

#[test]
fn small_windows_are_insufficient_not_drift() {
    let st = setup(0, free_port(), None);
    land(&st, "tiny.parquet", batch(20, 5, 3.0), 5);
    let (code, out) = once(&st);
    assert_eq!(code, 0);
    assert!(out.contains("insufficient, not evaluated"), "{out}");
    assert_eq!(history(&st)[0]["status"], "insufficient");
    assert_eq!(history(&st)[0]["drift"], false);
}

#[test]
fn truncated_files_are_retried_then_quarantined_while_others_continue() {
    let st = setup(0, free_port(), None);
    let good = land(&st, "good.parquet", batch(300, 6, 0.0), 5);
    let bytes = std::fs::read(&good).unwrap();
    let cut = st.incoming.join("cut.parquet");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    age(&cut, 5);
    let (code, out) = once(&st);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("window 1: 1 files, 300 rows"), "the good file goes on: {out}");
    for _ in 0..2 {
        once(&st);
    }
    // Three failed reads: quarantined, never retried again.
    let state = drift::state::State::open(&st.dir.path().join("state")).unwrap();
    let q = state.quarantined("model").unwrap();
    assert_eq!(q.len(), 1, "{q:?}");
    assert!(q[0].0.ends_with("cut.parquet") && q[0].1.contains("truncated"), "{q:?}");
}

#[test]
fn a_broken_monitor_does_not_stop_another() {
    let broken = "[source]\npath = \"../incoming\"\nsettle_secs = 0\n[reference]\npath = \"../broken.drift\"\n";
    let st = setup(0, free_port(), Some(broken));
    std::fs::write(st.dir.path().join("broken.drift"), b"DRIFTREF garbage").unwrap();
    land(&st, "a.parquet", batch(300, 7, 0.0), 5);
    let (code, out) = once(&st);
    assert_eq!(code, 1, "a monitor failed: {out}");
    assert!(out.contains("monitor other:") && out.contains("broken.drift"), "{out}");
    assert!(out.contains("model: window 1"), "the other monitor ran: {out}");
}

fn spawn_daemon(st: &Setup) -> Child {
    crate::support::spawn_run(&st.config, true)
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill").args([sig, &child.id().to_string()]).status().unwrap().success();
    assert!(ok, "kill {sig}");
}

#[test]
fn daemon_serves_health_metrics_and_drains_on_sigterm() {
    let port = free_port();
    let st = setup(0, port, None);
    land(&st, "a.parquet", batch(500, 8, 0.0), 5);
    let mut child = spawn_daemon(&st);
    let ready = wait_for(30, || http_get(port, "/readyz").filter(|r| r.0 == 200));
    assert!(ready.is_some(), "never ready");
    assert_eq!(http_get(port, "/healthz").unwrap().0, 200);

    // A second daemon on the same state directory refuses to start.
    let other = drift(&["run", "--config", s(&st.config)]);
    assert_eq!(other.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&other.stderr).contains("another drift daemon is using this state directory"));

    // New drifted data lands while it runs.
    land(&st, "b.parquet", batch(500, 9, 1.5), 5);
    let metrics = wait_for(30, || {
        http_get(port, "/metrics")
            .map(|r| r.1)
            .filter(|m| m.contains("drift_windows_total{monitor=\"model\",outcome=\"drift\"} 1"))
    });
    let metrics = metrics.expect("the drifted window shows in /metrics");
    assert!(metrics.contains("drift_statistic{monitor=\"model\",column=\"x\",test=\"ks\",segment=\"\"}"), "{metrics}");
    assert!(metrics.contains("drift_files_total{monitor=\"model\",outcome=\"consumed\"} 2"), "{metrics}");
    let (code, body) = http_get(port, "/api/v1/monitors").unwrap();
    assert_eq!(code, 200);
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status[0]["id"], "model");
    assert_eq!(status[0]["last_window"]["drift"], true);

    // History is readable while the daemon runs.
    let h = history(&st);
    assert!(!h.as_array().unwrap().is_empty());

    signal(&child, "-TERM");
    let exit = wait_for(20, || child.try_wait().unwrap()).expect("exits after SIGTERM");
    assert_eq!(exit.code(), Some(0));
}

/// Sets the monitor's `[window]` table.
fn set_window(st: &Setup, window: &str) {
    let monitor = st.dir.path().join("monitors/model.toml");
    let text = std::fs::read_to_string(&monitor)
        .unwrap()
        .replace("[window]\nmin_rows = 50", &format!("[window]\n{window}min_rows = 50"));
    std::fs::write(&monitor, text).unwrap();
}

/// Lands three files one at a time; after each, either runs `--once` (calm) or starts the
/// daemon and kills it with SIGKILL after `kill_after_ms` (then, at the end, `--once`).
fn three_files(window: &str, kill_after_ms: Option<[u64; 3]>) -> serde_json::Value {
    let st = setup(0, free_port(), None);
    set_window(&st, window);
    for (i, shift) in [0.0, 0.8, 0.0].iter().enumerate() {
        land(&st, &format!("f{i}.parquet"), batch(400, 20 + i as u64, *shift), 5);
        match kill_after_ms {
            None => assert_eq!(once(&st).0, 0),
            Some(delays) => {
                let mut child = spawn_daemon(&st);
                std::thread::sleep(Duration::from_millis(delays[i]));
                signal(&child, "-KILL");
                let _ = child.wait();
            }
        }
    }
    assert_eq!(once(&st).0, 0);
    let strip: Vec<serde_json::Value> = history(&st)
        .as_array()
        .unwrap()
        .iter()
        .map(|w| serde_json::json!({"files": w["files"], "rows": w["rows"], "tests": w["tests"]}))
        .collect();
    serde_json::Value::Array(strip)
}

#[test]
fn kill_9_and_restart_gives_the_uninterrupted_results() {
    // Killed before, during and after the work, for a files window and for a rows window whose
    // open state must survive the crash.
    for window in ["", "type = \"rows\"\nrows = 1000\n"] {
        let want = three_files(window, None);
        for delays in [[0, 0, 0], [40, 80, 150], [300, 300, 300]] {
            let got = three_files(window, Some(delays));
            if window.is_empty() {
                // Batches may be cut differently by when the daemon ran; every file once, same tests per file.
                let files = |v: &serde_json::Value| {
                    v.as_array().unwrap().iter().map(|w| w["files"].as_u64().unwrap()).sum::<u64>()
                };
                assert_eq!(files(&got), 3, "{window:?} {delays:?}: {got}");
            } else {
                assert_eq!(got, want, "{window:?} {delays:?}: every file in exactly one window, same results");
            }
        }
    }
}

#[test]
fn rows_windows_persist_their_open_state_without_the_files() {
    let st = setup(0, free_port(), None);
    let monitor = st.dir.path().join("monitors/model.toml");
    let text = std::fs::read_to_string(&monitor)
        .unwrap()
        .replace("[window]\nmin_rows = 50", "[window]\ntype = \"rows\"\nrows = 1000\nmin_rows = 50");
    std::fs::write(&monitor, text).unwrap();
    let a = land(&st, "a.parquet", batch(400, 30, 1.0), 5);
    let b = land(&st, "b.parquet", batch(400, 31, 1.0), 5);
    let (code, out) = once(&st);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 files added to open windows (800 rows so far)"), "{out}");
    assert!(history(&st).as_array().unwrap().is_empty());
    // The consumed files are gone (rotated away): the open window lives in the state.
    std::fs::remove_file(a).unwrap();
    std::fs::remove_file(b).unwrap();
    land(&st, "c.parquet", batch(400, 32, 1.0), 5);
    let (code, out) = once(&st);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("window 1: 3 files, 1200 rows:\n") && out.contains("\nDRIFT: "), "{out}");
    let h = history(&st);
    assert_eq!((h[0]["files"].as_u64(), h[0]["rows"].as_u64()), (Some(3), Some(1200)));
    let x_ks =
        h[0]["tests"].as_array().unwrap().iter().find(|t| t["column"] == "x" && t["test"] == "ks").unwrap().clone();
    assert_eq!(x_ks["drift"], true);

    // The same 1200 rows checked at once give the same statistic: parts merge exactly.
    let dir = TempDir::new().unwrap();
    let mut all = batch(400, 30, 1.0);
    for cols in [batch(400, 31, 1.0), batch(400, 32, 1.0)] {
        for (i, (_, arr)) in cols.into_iter().enumerate() {
            all[i].1 = concat(&all[i].1, &arr);
        }
    }
    let joined = write(dir.path(), "all.parquet", all);
    let (_, rep) = crate::support::check_json(&[s(&st.dir.path().join("reference.parquet"))], &[s(&joined)], &[]);
    let want = crate::support::test(crate::support::column(&rep, "x"), "ks")["statistic"].as_f64().unwrap();
    assert!((x_ks["statistic"].as_f64().unwrap() - want).abs() < 1e-12, "{x_ks} vs {want}");
}

fn concat(a: &ArrayRef, b: &ArrayRef) -> ArrayRef {
    use arrow_array::Array;
    match (a.as_any().downcast_ref::<Float64Array>(), b.as_any().downcast_ref::<Float64Array>()) {
        (Some(x), Some(y)) => Arc::new(Float64Array::from_iter(x.iter().chain(y.iter()))),
        _ => {
            let (x, y) =
                (a.as_any().downcast_ref::<StringArray>().unwrap(), b.as_any().downcast_ref::<StringArray>().unwrap());
            Arc::new(StringArray::from_iter(x.iter().chain(y.iter())))
        }
    }
}

/// Rows with event times `hour*3600 + offsets` seconds (as a timestamp column `t`).
fn timed(hours: &[(i64, usize)], seed: u64, shift: f64) -> Vec<(&'static str, ArrayRef)> {
    let mut r = Rng::new(seed);
    let mut t = Vec::new();
    let mut x = Vec::new();
    for &(hour, n) in hours {
        for i in 0..n {
            t.push((hour * 3600 + (i as i64 * 7) % 3600) * 1000);
            x.push(r.normal() + shift);
        }
    }
    vec![
        ("t", Arc::new(arrow_array::TimestampMillisecondArray::from(t)) as ArrayRef),
        ("x", Arc::new(Float64Array::from(x))),
    ]
}

/// A monitor with hourly event-time windows (10 minutes' lateness) over column `t`, against a
/// reference of `timed` rows.
fn hourly(idle_timeout_secs: u64) -> Setup {
    let st = setup(0, free_port(), None);
    write(st.dir.path(), "reference.parquet", timed(&[(0, 3000)], 40, 0.0));
    set_window(
        &st,
        &format!(
            "type = \"time\"\nsize_secs = 3600\nallowed_lateness_secs = 600\nidle_timeout_secs = {idle_timeout_secs}\ntimestamp_column = \"t\"\n"
        ),
    );
    let monitor = st.dir.path().join("monitors/model.toml");
    let text =
        std::fs::read_to_string(&monitor).unwrap().replace("[alerts]", "[columns]\nexclude = [\"t\"]\n\n[alerts]");
    std::fs::write(&monitor, text).unwrap();
    st
}

#[test]
fn event_time_windows_close_on_the_watermark_count_late_rows_and_close_when_idle() {
    let st = hourly(2);
    // Hours 10 and 11; the watermark (end of hour 11 minus 10 minutes) passes hour 10's end.
    land(&st, "a.parquet", timed(&[(10, 300), (11, 300)], 41, 0.0), 5);
    let (code, out) = once(&st);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("window 1: 1 files, 300 rows"), "{out}");
    // Hour 11 again, hour 12 (drifted), and 40 rows of hour 10: too late, counted.
    land(&st, "b.parquet", timed(&[(10, 40), (11, 200), (12, 300)], 42, 1.5), 5);
    let (_, out) = once(&st);
    assert!(out.contains("window 2: 2 files, 500 rows"), "hour 11 from both files: {out}");
    let state = drift::state::State::open(&st.dir.path().join("state")).unwrap();
    assert_eq!(state.clock("model").unwrap().late_rows, 40);
    drop(state);
    // No more data: after the idle timeout the open hour 12 closes too. Rather than wait 2 s,
    // the last data is moved 3 s into the past (the idle timeout counts from it).
    let conn = rusqlite::Connection::open(st.dir.path().join("state/drift.sqlite3")).unwrap();
    let moved =
        conn.execute("UPDATE event_clock SET last_data_ms = last_data_ms - 3000 WHERE monitor = 'model'", []).unwrap();
    assert_eq!(moved, 1);
    drop(conn);
    let (_, out) = once(&st);
    assert!(out.contains("window 3: 1 files, 300 rows:\n") && out.contains("\nDRIFT: "), "{out}");
    let h = history(&st);
    let spans: Vec<(i64, i64)> = h
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|w| (w["start_ms"].as_i64().unwrap(), w["end_ms"].as_i64().unwrap()))
        .collect();
    assert_eq!(spans, vec![(36_000_000, 39_600_000), (39_600_000, 43_200_000), (43_200_000, 46_800_000)]);
}

/// Rows with a `region` column: (region, rows, shift of x).
fn regional(groups: &[(&'static str, usize, f64)], seed: u64) -> Vec<(&'static str, ArrayRef)> {
    let mut r = Rng::new(seed);
    let (mut region, mut x) = (Vec::new(), Vec::new());
    for &(g, n, shift) in groups {
        for _ in 0..n {
            region.push(g);
            x.push(r.normal() + shift);
        }
    }
    vec![("region", Arc::new(StringArray::from(region)) as ArrayRef), ("x", Arc::new(Float64Array::from(x)))]
}

fn with_segments(st: &Setup, window: &str) {
    write(
        st.dir.path(),
        "reference.parquet",
        regional(&[("north", 2000, 0.0), ("south", 2000, 0.0), ("east", 1000, 0.0)], 50),
    );
    let monitor = st.dir.path().join("monitors/model.toml");
    let text = std::fs::read_to_string(&monitor).unwrap().replace(
        "[window]\nmin_rows = 50",
        &format!("[window]\n{window}min_rows = 50\n\n[segments]\nby = [\"region\"]\nmin_rows = 50\nmax_segments = 3"),
    );
    std::fs::write(&monitor, text).unwrap();
}

fn segment_results(h: &serde_json::Value) -> Vec<(String, bool)> {
    let mut v: Vec<(String, bool)> = h[0]["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["column"] == "x" && t["test"] == "ks")
        .map(|t| (t["segment"].as_str().unwrap().to_owned(), t["drift"].as_bool().unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn segments_find_the_group_that_drifted() {
    let st = setup(0, free_port(), None);
    with_segments(&st, "");
    // North moved; south did not; east is too small; west is not in the reference.
    land(
        &st,
        "a.parquet",
        regional(&[("north", 400, 1.0), ("south", 300, 0.0), ("east", 30, 0.0), ("west", 80, 0.0)], 51),
        5,
    );
    let (code, out) = once(&st);
    assert_eq!(code, 0, "{out}");
    let h = history(&st);
    assert_eq!(
        segment_results(&h),
        vec![("".to_owned(), true), ("region=north".to_owned(), true), ("region=south".to_owned(), false)],
        "the whole window and the two evaluated segments"
    );
    // The stored report says what happened to the other segments.
    let db = latest_report(&st);
    assert_eq!(db["segments"]["too_small"], serde_json::json!([["region=east", 30]]));
    assert_eq!(db["segments"]["not_in_reference"], serde_json::json!(["region=west"]));
    // Alerts are per segment: one message for the whole window, one for north, none for south.
    let audit = std::fs::read_to_string(st.dir.path().join("alerts.jsonl")).unwrap();
    let mut groups: Vec<String> = audit
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["groupLabels"]["segment"].as_str().unwrap().to_owned()
        })
        .collect();
    groups.sort();
    assert_eq!(groups, ["", "region=north"], "{audit}");

    // Row windows keep per-segment parts and evaluate them the same way.
    let rows = setup(0, free_port(), None);
    with_segments(&rows, "type = \"rows\"\nrows = 700\n");
    land(&rows, "a.parquet", regional(&[("north", 200, 1.0), ("south", 150, 0.0)], 52), 5);
    land(&rows, "b.parquet", regional(&[("north", 200, 1.0), ("south", 150, 0.0), ("east", 30, 0.0)], 53), 5);
    let (code, out) = once(&rows);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("window 1: 2 files, 730 rows"), "{out}");
    assert_eq!(
        segment_results(&history(&rows)),
        vec![("".to_owned(), true), ("region=north".to_owned(), true), ("region=south".to_owned(), false)]
    );
}

/// The JSON report of the latest window, read from the state database.
fn latest_report(st: &Setup) -> serde_json::Value {
    let state = drift::state::State::open_read_only(&st.dir.path().join("state")).unwrap();
    let latest = state.history("model", 1).unwrap()[0].id;
    serde_json::from_str(&state.report(latest).unwrap().expect("evaluated")).unwrap()
}

#[test]
fn sighup_reloads_a_valid_configuration_and_keeps_the_old_one_otherwise() {
    let port = free_port();
    let st = setup(0, port, None);
    let mut child = spawn_daemon(&st);
    assert!(wait_for(30, || http_get(port, "/readyz").filter(|r| r.0 == 200)).is_some(), "never ready");
    let ids = || -> Vec<String> {
        let (_, body) = http_get(port, "/api/v1/monitors").unwrap();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v.as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(ids(), vec!["model"]);
    // A broken new monitor: the reload is refused, the daemon carries on with the old set.
    let extra = st.dir.path().join("monitors/extra.toml");
    std::fs::write(
        &extra,
        "[source]\npath = \"../incoming\"\nsetle_secs = 1\n[reference]\npath = \"../reference.parquet\"\n",
    )
    .unwrap();
    signal(&child, "-HUP");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(ids(), vec!["model"]);
    assert!(child.try_wait().unwrap().is_none(), "still running");
    // Fixed: the reload takes it.
    std::fs::write(
        &extra,
        "[source]\npath = \"../incoming\"\nsettle_secs = 1\n[reference]\npath = \"../reference.parquet\"\n",
    )
    .unwrap();
    signal(&child, "-HUP");
    let reloaded = wait_for(20, || {
        let v = ids();
        (v.len() == 2).then_some(v)
    });
    assert_eq!(reloaded, Some(vec!["extra".to_owned(), "model".to_owned()]));
    signal(&child, "-TERM");
    let exit = wait_for(20, || child.try_wait().unwrap()).expect("exits after SIGTERM");
    assert_eq!(exit.code(), Some(0));
}

#[test]
fn a_column_type_change_within_a_batch_splits_it_instead_of_stalling() {
    let st = setup(0, free_port(), None);
    land(&st, "a.parquet", batch(400, 2, 0.0), 60);
    let mut b = batch(400, 3, 0.0);
    b[0].1 = Arc::new(StringArray::from((0..400).map(|i| format!("v{i}")).collect::<Vec<_>>()));
    land(&st, "b.parquet", b, 60);
    let (code, out) = once(&st);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("window 1: 1 files, 400 rows"), "{out}");
    assert!(out.contains("column types change within the batch") && out.contains("b.parquet"), "{out}");
    let (code, out) = once(&st);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("window 2: 1 files, 400 rows"), "the rest next cycle: {out}");
    let (_, out) = once(&st);
    assert!(out.contains("no new settled files (0 waiting"), "{out}");
}

#[test]
fn a_column_type_change_within_a_rows_window_closes_it_early_and_loses_nothing() {
    let st = setup(0, free_port(), None);
    set_window(&st, "type = \"rows\"\nrows = 700\n");
    let monitor = st.dir.path().join("monitors/model.toml");
    let text =
        std::fs::read_to_string(&monitor).unwrap().replace("critical = [\"audit\"]", "critical = [\"audit\", \"log\"]");
    std::fs::write(&monitor, text).unwrap();
    land(&st, "a.parquet", batch(400, 2, 0.0), 60);
    let mut b = batch(400, 3, 0.0);
    b[0].1 = Arc::new(StringArray::from((0..400).map(|i| format!("v{i}")).collect::<Vec<_>>()));
    land(&st, "b.parquet", b, 60);
    let (code, out) = once(&st);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("column types change within the window") && out.contains("b.parquet"), "{out}");
    let h = history(&st);
    assert_eq!(h.as_array().unwrap().len(), 1, "{h}");
    assert_eq!((h[0]["files"].as_u64(), h[0]["rows"].as_u64()), (Some(1), Some(400)), "{h}");
    // b.parquet opens the next window, which a same-typed file then completes.
    let mut c = batch(400, 4, 0.0);
    c[0].1 = Arc::new(StringArray::from((0..400).map(|i| format!("w{i}")).collect::<Vec<_>>()));
    land(&st, "c.parquet", c, 60);
    let (code, out) = once(&st);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(r#""severity":"critical","columns":"","schema":"x:type_changed""#),
        "the log sink says why: {out}"
    );
    let h = history(&st);
    assert_eq!(h.as_array().unwrap().len(), 2, "{h}");
    let rows: Vec<_> = h.as_array().unwrap().iter().map(|w| w["rows"].as_u64().unwrap()).collect();
    assert_eq!(rows.iter().sum::<u64>(), 1200, "every row in exactly one window: {h}");
    let retyped = h[0]["tests"].as_array().unwrap().iter().find(|t| t["column"] == "x").unwrap();
    assert_eq!(
        (&retyped["test"], &retyped["drift"], &retyped["severity"], &retyped["statistic"]),
        (
            &serde_json::json!("type_changed"),
            &serde_json::json!(true),
            &serde_json::json!("critical"),
            &serde_json::Value::Null
        ),
        "the text window reports x's change of type against the reference: {h}"
    );
}

#[test]
fn a_column_type_change_within_an_event_time_window_splits_it() {
    let st = hourly(600);
    land(&st, "a.parquet", timed(&[(10, 200)], 41, 0.0), 5);
    // Hour 10 with `x` as text, and hour 12 whose watermark passes hour 10's end.
    let mut b = timed(&[(10, 200), (12, 300)], 42, 0.0);
    b[1].1 = Arc::new(StringArray::from((0..500).map(|i| format!("v{i}")).collect::<Vec<_>>()));
    land(&st, "b.parquet", b, 5);
    let (code, out) = once(&st);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("column types change within the window") && out.contains("b.parquet"), "{out}");
    assert!(out.contains("window 1: 1 files, 200 rows"), "{out}");
    let (code, out) = once(&st);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("window 2: 1 files, 200 rows"), "b.parquet's hour 10, closed next: {out}");
    let h = history(&st);
    let spans: Vec<(i64, i64)> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["start_ms"].as_i64().unwrap(), w["end_ms"].as_i64().unwrap()))
        .collect();
    assert_eq!(spans, vec![(36_000_000, 39_600_000); 2], "both halves of hour 10; hour 12 still open: {h}");
}

#[test]
fn under_systemd_it_notifies_ready_watchdog_reload_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    let st = setup(0, free_port(), None);
    let socket_path = st.dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_drift"))
        .args(["run", "--config", s(&st.config)])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "200000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = String::new();
    let mut expect = |what: &str| {
        let mut buf = [0u8; 512];
        while !seen.contains(what) {
            let n = socket.recv(&mut buf).unwrap_or_else(|e| panic!("waiting for {what:?} (saw {seen:?}): {e}"));
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            seen.push('\n');
        }
        seen.clear();
    };
    expect("READY=1");
    expect("WATCHDOG=1");
    signal(&child, "-HUP");
    expect("RELOADING=1");
    expect("READY=1");
    signal(&child, "-TERM");
    expect("STOPPING=1");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}
