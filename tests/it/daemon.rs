//! The daemon on real files, a real SQLite state and real HTTP: `run --once` consumes each
//! settled file exactly once and records its evaluation; unsettled and truncated files are not
//! read early; a file that never becomes valid is quarantined while others continue; a broken
//! monitor does not stop another; a batch or rows window whose column types change is split, not stalled; a second daemon on the same state refuses; the long-running
//! daemon serves health, readiness, metrics and status, and drains on SIGTERM with exit 0.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arrow_array::{ArrayRef, Float64Array, StringArray};
use drift::synth::Rng;
use tempfile::TempDir;

use crate::support::{Daemon, drift, http_get, s, wait_for, write};

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

fn setup(settle_secs: u64, extra_monitor: Option<&str>) -> Setup {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    write(root, "reference.parquet", batch(5000, 1, 0.0));
    let incoming = root.join("incoming");
    std::fs::create_dir(&incoming).unwrap();
    let config = root.join("drift.toml");
    std::fs::write(
        &config,
        "state_dir = \"state\"\nlisten = \"127.0.0.1:0\"\npoll_secs = 1\ndrain_timeout_secs = 5\nmonitors_dir = \"monitors\"\n\n[sinks.log]\ntype = \"log\"\n\n[sinks.audit]\ntype = \"file\"\npath = \"alerts.jsonl\"\n",
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
    let st = setup(30, None);
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
    let out = drift(&["run", "--once", "--fail-on-drift", "--config", s(&st.config)]);
    assert_eq!(out.status.code(), Some(0), "nothing new: no drift");
}

/// `run --once --fail-on-drift` for CI: 1 when a window of this run drifted, 0 for a calm one.
#[test]
fn fail_on_drift_exits_1_when_a_window_of_this_run_drifted() {
    let st = setup(0, None);
    let fail_on_drift = || {
        let out = drift(&["run", "--once", "--fail-on-drift", "--config", s(&st.config)]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        (out.status.code().unwrap(), text)
    };
    land(&st, "calm.parquet", batch(400, 60, 0.0), 5);
    let (code, out) = fail_on_drift();
    assert_eq!(code, 0, "a calm window: {out}");
    assert!(out.contains("window 1: 1 files, 400 rows") && !out.contains("DRIFT"), "{out}");
    land(&st, "moved.parquet", batch(400, 61, 1.0), 5);
    let (code, out) = fail_on_drift();
    assert_eq!(code, 1, "a drifted window: {out}");
    assert!(out.contains("window 2: 1 files, 400 rows") && out.contains("\nDRIFT: "), "{out}");
    // Without the flag the same kind of run exits 0: the flag is what turns drift into 1.
    land(&st, "moved-again.parquet", batch(400, 62, 1.0), 5);
    let (code, out) = once(&st);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("window 3: 1 files, 400 rows") && out.contains("\nDRIFT: "), "{out}");
}

#[test]
fn small_windows_are_insufficient_not_drift() {
    let st = setup(0, None);
    land(&st, "tiny.parquet", batch(20, 5, 3.0), 5);
    let (code, out) = once(&st);
    assert_eq!(code, 0);
    assert!(out.contains("insufficient, not evaluated"), "{out}");
    assert_eq!(history(&st)[0]["status"], "insufficient");
    assert_eq!(history(&st)[0]["drift"], false);
}

#[test]
fn truncated_files_are_retried_then_quarantined_while_others_continue() {
    let st = setup(0, None);
    let good = land(&st, "good.parquet", batch(300, 6, 0.0), 5);
    let bytes = std::fs::read(&good).unwrap();
    let cut = st.incoming.join("cut.parquet");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    age(&cut, 5);
    let (code, out) = once(&st);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("window 1: 1 files, 300 rows"), "the good file goes on: {out}");
    assert!(out.contains("cannot read file yet; will retry") && out.contains("\"attempts\":1"), "{out}");
    let (code, out) = once(&st);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("cannot read file yet; will retry") && out.contains("\"attempts\":2"), "{out}");
    let (code, out) = once(&st);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("file quarantined after 3 failed reads") && out.contains("cut.parquet"), "{out}");
    let (_, out) = once(&st);
    assert!(!out.contains("cut.parquet"), "quarantined: not read again: {out}");
    // Three failed reads: quarantined, never retried again.
    let state = drift::state::State::open(&st.dir.path().join("state")).unwrap();
    let q = state.quarantined("model").unwrap();
    assert_eq!(q.len(), 1, "{q:?}");
    assert!(q[0].0.ends_with("cut.parquet") && q[0].1.contains("truncated"), "{q:?}");
}

#[test]
fn a_broken_monitor_does_not_stop_another() {
    let broken = "[source]\npath = \"../incoming\"\nsettle_secs = 0\n[reference]\npath = \"../broken.drift\"\n";
    let st = setup(0, Some(broken));
    std::fs::write(st.dir.path().join("broken.drift"), b"DRIFTREF garbage").unwrap();
    land(&st, "a.parquet", batch(300, 7, 0.0), 5);
    let (code, out) = once(&st);
    assert_eq!(code, 1, "a monitor failed: {out}");
    assert!(out.contains("monitor other:") && out.contains("broken.drift"), "{out}");
    assert!(out.contains("model: window 1"), "the other monitor ran: {out}");
}

#[test]
fn daemon_serves_health_metrics_and_status() {
    let st = setup(0, None);
    land(&st, "a.parquet", batch(500, 8, 0.0), 5);
    let mut d = Daemon::start(&st.config, &[]);
    let port = d.port();
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
    // The status is written when the cycle ends, just after the window's metrics.
    let status = wait_for(10, || {
        let (code, body) = http_get(port, "/api/v1/monitors")?;
        assert_eq!(code, 200);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        (v[0]["last_window"]["drift"] == true).then_some(v)
    });
    let status = status.expect("/api/v1/monitors shows the drifted window");
    assert_eq!(status[0]["id"], "model");
    assert_eq!(status[0]["windows"], 2, "{status}");

    // History is readable while the daemon runs.
    let h = history(&st);
    assert!(!h.as_array().unwrap().is_empty());

    d.signal("-TERM");
    assert_eq!(d.wait_exit(20), Some(0), "exits 0 after SIGTERM: {}", d.log());
}

/// SIGTERM while a window is being evaluated: the daemon lets it finish within
/// `drain_timeout_secs` (committed, notified) and exits 0; past the timeout it abandons the
/// work uncommitted, and the next run does it exactly once.
#[test]
fn sigterm_lets_an_in_flight_window_finish_within_the_drain_timeout() {
    let st = setup(0, None);
    land(&st, "a.parquet", batch(500, 70, 1.0), 5);
    // Held for 1.5 s just before the window's transaction (the drain timeout is 5 s).
    let mut d = Daemon::start(&st.config, &[("DRIFT_TEST_PAUSE_AT", "commit:1500")]);
    assert!(d.wait_log(30, &["test pause point reached", "\"point\":\"commit\""]).is_some(), "{}", d.log());
    d.signal("-TERM");
    assert_eq!(d.wait_exit(20), Some(0), "{}", d.log());
    let log = d.log();
    assert!(log.contains("stopping: draining in-flight work") && log.contains("files window closed"), "{log}");
    assert!(!log.contains("drain timeout reached"), "{log}");
    let h = history(&st);
    assert_eq!(h.as_array().unwrap().len(), 1, "the in-flight window was committed: {h}");
    assert_eq!((h[0]["files"].as_u64(), h[0]["drift"].as_bool()), (Some(1), Some(true)), "{h}");
    let audit = std::fs::read_to_string(st.dir.path().join("alerts.jsonl")).unwrap_or_default();
    assert_eq!(audit.lines().count(), 1, "and its notification delivered before exit: {audit}");
    let (_, out) = once(&st);
    assert!(out.contains("no new settled files (0 waiting"), "nothing left to redo: {out}");

    // Held longer than the drain timeout (1 s): abandoned before its transaction.
    let st = setup(0, None);
    let config =
        std::fs::read_to_string(&st.config).unwrap().replace("drain_timeout_secs = 5", "drain_timeout_secs = 1");
    std::fs::write(&st.config, config).unwrap();
    land(&st, "a.parquet", batch(500, 71, 1.0), 5);
    let mut d = Daemon::start(&st.config, &[("DRIFT_TEST_PAUSE_AT", "commit:60000")]);
    assert!(d.wait_log(30, &["test pause point reached", "\"point\":\"commit\""]).is_some(), "{}", d.log());
    d.signal("-TERM");
    assert_eq!(d.wait_exit(20), Some(0), "{}", d.log());
    assert!(d.log().contains("drain timeout reached"), "{}", d.log());
    assert!(history(&st).as_array().unwrap().is_empty(), "nothing half-committed");
    let (code, out) = once(&st);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("window 1: 1 files, 500 rows"), "redone after the restart: {out}");
    let (_, out) = once(&st);
    assert!(out.contains("no new settled files (0 waiting"), "and only once: {out}");
}

/// `[retention]` through `run --once` (which prunes before it exits): windows and their
/// evaluations, quarantine records and finished notifications older than their cut-off are
/// deleted; newer ones, pending notifications and consumed-file records (what keeps a file
/// from being read twice) stay.
#[test]
fn retention_prunes_old_rows_and_keeps_pending_notifications_and_consumed_files() {
    let st = setup(0, None);
    let root = st.dir.path();
    // A second sink nobody answers, so its notifications stay pending.
    std::fs::write(root.join("down.url"), format!("http://127.0.0.1:{}/hook\n", crate::support::unused_port()))
        .unwrap();
    let config =
        std::fs::read_to_string(&st.config).unwrap().replace("drain_timeout_secs = 5", "drain_timeout_secs = 1")
            + "\n[sinks.down]\ntype = \"webhook\"\nurl_file = \"down.url\"\ntimeout_secs = 1\n\n\
           [retention]\nhistory_days = 2\nquarantine_days = 3\nnotifications_days = 4\n";
    std::fs::write(&st.config, config).unwrap();
    let monitor = root.join("monitors/model.toml");
    let text = std::fs::read_to_string(&monitor)
        .unwrap()
        .replace("critical = [\"audit\"]", "critical = [\"audit\", \"down\"]");
    std::fs::write(&monitor, text).unwrap();
    let good = land(&st, "old.parquet", batch(400, 80, 1.5), 5);
    let cut = st.incoming.join("cut.parquet");
    std::fs::write(&cut, &std::fs::read(&good).unwrap()[..200]).unwrap();
    age(&cut, 5);
    for _ in 0..3 {
        assert_eq!(once(&st).0, 0);
    }
    let db = root.join("state/drift.sqlite3");
    let count = |sql: &str| -> i64 {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    };
    assert_eq!(count("SELECT COUNT(*) FROM windows"), 1);
    assert!(count("SELECT COUNT(*) FROM evaluations") > 0);
    assert_eq!(count("SELECT COUNT(*) FROM files WHERE status = 'quarantined'"), 1);
    // The drift window's notification (the quarantined file's DriftFilesQuarantined is counted
    // apart: it fires and later resolves on the same sinks).
    let drift = "alertname = 'DataDrift'";
    assert_eq!(
        count(&format!("SELECT COUNT(*) FROM outbox WHERE sink = 'audit' AND status = 'delivered' AND {drift}")),
        1
    );
    assert_eq!(
        count(&format!("SELECT COUNT(*) FROM outbox WHERE sink = 'down' AND status = 'pending' AND {drift}")),
        1
    );

    // Everything so far becomes `days` old; then a new window is evaluated and the run prunes.
    let day = 86_400_000i64;
    let age_rows = |days: i64| {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let ms = days * day;
        conn.execute("UPDATE windows SET closed_ms = closed_ms - ?1", [ms]).unwrap();
        conn.execute("UPDATE files SET updated_ms = updated_ms - ?1", [ms]).unwrap();
        // Pending rows are retried (and would be given up after 24 h): only finished ones age.
        conn.execute(
            "UPDATE outbox SET updated_ms = updated_ms - ?1, created_ms = created_ms - ?1 WHERE status <> 'pending'",
            [ms],
        )
        .unwrap();
    };
    // 2.5 days: past history_days only.
    age_rows(2);
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("UPDATE windows SET closed_ms = closed_ms - ?1", [day / 2]).unwrap();
    drop(conn);
    land(&st, "new.parquet", batch(400, 81, 0.0), 5);
    let (code, out) = once(&st);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("window 2: 1 files, 400 rows"), "{out}");
    assert_eq!(count("SELECT COUNT(*) FROM windows"), 1, "the old window went, the new one stays");
    assert_eq!(count("SELECT MIN(id) FROM windows"), 2);
    assert_eq!(count("SELECT COUNT(*) FROM evaluations WHERE window_id = 1"), 0, "with its evaluations");
    assert!(count("SELECT COUNT(*) FROM evaluations WHERE window_id = 2") > 0);
    assert_eq!(count("SELECT COUNT(*) FROM files WHERE status = 'quarantined'"), 1, "2 days < quarantine_days");
    assert_eq!(
        count(&format!("SELECT COUNT(*) FROM outbox WHERE status = 'delivered' AND {drift}")),
        1,
        "2 days < notifications_days"
    );

    // One more day: the quarantine record goes (and with it the file would be tried again,
    // which the consumed records never allow); a day later the delivered notification.
    age_rows(1);
    once(&st);
    assert_eq!(count("SELECT COUNT(*) FROM files WHERE status = 'quarantined'"), 0, "3 days: quarantine record pruned");
    assert_eq!(count(&format!("SELECT COUNT(*) FROM outbox WHERE status = 'delivered' AND {drift}")), 1);
    age_rows(1);
    let (_, out) = once(&st);
    assert_eq!(
        count(&format!("SELECT COUNT(*) FROM outbox WHERE status = 'delivered' AND {drift}")),
        0,
        "4 days: delivered pruned"
    );
    assert!(count("SELECT COUNT(*) FROM outbox WHERE sink = 'down' AND status = 'pending'") >= 1, "pending stays");
    assert_eq!(count("SELECT COUNT(*) FROM files WHERE status = 'consumed'"), 2, "consumed records stay");
    assert!(!out.contains("window 3"), "nothing consumed is read again: {out}");
    assert_eq!(count("SELECT COUNT(*) FROM windows"), 0, "window 2 is now 2 days old too");
}

/// Sets the monitor's `[window]` table.
fn set_window(st: &Setup, window: &str) {
    let monitor = st.dir.path().join("monitors/model.toml");
    let text = std::fs::read_to_string(&monitor)
        .unwrap()
        .replace("[window]\nmin_rows = 50", &format!("[window]\n{window}min_rows = 50"));
    std::fs::write(&monitor, text).unwrap();
}

/// What a run leaves behind: every window's files, rows and stored tests, and the
/// notifications the file sink received (group and status, in order).
fn outcome(st: &Setup) -> (serde_json::Value, Vec<String>) {
    let windows = history(st)
        .as_array()
        .unwrap()
        .iter()
        .map(|w| serde_json::json!({"files": w["files"], "rows": w["rows"], "tests": w["tests"]}))
        .collect();
    let audit = std::fs::read_to_string(st.dir.path().join("alerts.jsonl")).unwrap_or_default();
    let notes = audit
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!(
                "{} {} window {} key {}",
                v["groupKey"], v["status"], v["drift"]["window"], v["drift"]["idempotency_key"]
            )
        })
        .collect();
    (serde_json::Value::Array(windows), notes)
}

/// Lands three files one at a time. After each: `--once` (uninterrupted), or a daemon held at
/// the pause point `at`, killed with SIGKILL once it is there, then `--once` to recover.
fn three_files(window: &str, at: Option<&str>) -> (serde_json::Value, Vec<String>) {
    let st = setup(0, None);
    set_window(&st, window);
    for (i, shift) in [0.0, 0.8, 0.0].iter().enumerate() {
        land(&st, &format!("f{i}.parquet"), batch(400, 20 + i as u64, *shift), 5);
        if let Some(point) = at {
            let d = Daemon::start(&st.config, &[("DRIFT_TEST_PAUSE_AT", point)]);
            let reached = d.wait_log(30, &["test pause point reached", &format!("\"point\":\"{point}\"")]);
            assert!(reached.is_some(), "{window:?} file {i}: never reached {point}: {}", d.log());
            d.kill_9();
        }
        let (code, out) = once(&st);
        assert_eq!(code, 0, "{out}");
    }
    outcome(&st)
}

#[test]
fn kill_9_at_each_commit_point_and_restart_gives_the_uninterrupted_results() {
    // Killed after a file was read (nothing committed), just before the transaction that
    // consumes it or closes its window, and just after it (notification queued, not sent); for
    // a files window and for a rows window whose open parts must survive the crash.
    for window in ["", "type = \"rows\"\nrows = 1000\n"] {
        let want = three_files(window, None);
        assert_eq!(want.0.as_array().unwrap().len(), if window.is_empty() { 3 } else { 1 }, "{}", want.0);
        assert!(!want.1.is_empty(), "the drifted file pages: {want:?}");
        for point in ["fetched", "commit", "committed"] {
            let got = three_files(window, Some(point));
            assert_eq!(got.0, want.0, "{window:?} killed at {point}: every file in exactly one window, same tests");
            assert_eq!(got.1, want.1, "{window:?} killed at {point}: each notification exactly once");
        }
    }
}

#[test]
fn rows_windows_persist_their_open_state_without_the_files() {
    let st = setup(0, None);
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

    // The same 1200 rows checked at once give the same report: parts merge exactly, so every
    // test's statistic, p-value, adjusted p-value, bins and counts are equal.
    let dir = TempDir::new().unwrap();
    let mut all = batch(400, 30, 1.0);
    for cols in [batch(400, 31, 1.0), batch(400, 32, 1.0)] {
        for (i, (_, arr)) in cols.into_iter().enumerate() {
            all[i].1 = concat(&all[i].1, &arr);
        }
    }
    let joined = write(dir.path(), "all.parquet", all);
    let (_, rep) = crate::support::check_json(&[s(&st.dir.path().join("reference.parquet"))], &[s(&joined)], &[]);
    let stored = latest_report(&st);
    let (got, want) = (&stored["columns"], &rep["columns"]);
    assert_eq!(got.as_array().map(Vec::len), Some(2), "{got}");
    assert_eq!(got, want, "the window's merged parts against the rows checked at once");
    let psi = crate::support::test(crate::support::column(&stored, "x"), "psi");
    assert!(psi["current_counts"].as_array().is_some_and(|c| c.len() >= 5), "PSI counts compared: {psi}");
    assert_eq!(stored["current"]["rows"], 1200);
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
    let st = setup(0, None);
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
    let st = setup(0, None);
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
    let rows = setup(0, None);
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

/// More qualifying segments than `max_segments` (3): the three largest are evaluated, the
/// rest are reported as over the cap with their rows, never silently dropped.
#[test]
fn max_segments_evaluates_the_largest_and_reports_the_rest() {
    let st = setup(0, None);
    with_segments(&st, "");
    write(
        st.dir.path(),
        "reference.parquet",
        regional(&[("north", 1500, 0.0), ("south", 1500, 0.0), ("east", 1000, 0.0), ("west", 1000, 0.0)], 54),
    );
    // All four qualify (>= 50 rows); west is the smallest and the one that moved.
    land(
        &st,
        "a.parquet",
        regional(&[("north", 300, 0.0), ("south", 250, 0.0), ("east", 200, 0.0), ("west", 120, 2.0)], 55),
        5,
    );
    let (code, out) = once(&st);
    assert_eq!(code, 0, "{out}");
    let db = latest_report(&st);
    assert_eq!(
        db["segments"]["evaluated"],
        serde_json::json!([["region=north", 300], ["region=south", 250], ["region=east", 200]]),
        "{}",
        db["segments"]
    );
    assert_eq!(db["segments"]["over_cap"], serde_json::json!([1, 120]), "{}", db["segments"]);
    let evaluated: Vec<String> = segment_results(&history(&st)).into_iter().map(|s| s.0).collect();
    assert_eq!(evaluated, ["", "region=east", "region=north", "region=south"], "west is not evaluated");
}

/// The JSON report of the latest window, read from the state database.
fn latest_report(st: &Setup) -> serde_json::Value {
    let state = drift::state::State::open_read_only(&st.dir.path().join("state")).unwrap();
    let latest = state.history("model", 1).unwrap()[0].id;
    assert!(state.report(latest).unwrap().is_some(), "evaluated");
    // The report as stored, with the pictures kept apart (`window_pictures`) put back.
    let stored = state.stored_report("model", Some(latest)).unwrap().expect("evaluated");
    serde_json::to_value(&stored.report).unwrap()
}

#[test]
fn sighup_reloads_a_valid_configuration_and_keeps_the_old_one_otherwise() {
    let st = setup(0, None);
    let mut d = Daemon::start(&st.config, &[]);
    let port = d.port();
    assert!(wait_for(30, || http_get(port, "/readyz").filter(|r| r.0 == 200)).is_some(), "never ready");
    let ids = || -> Vec<String> {
        let (_, body) = http_get(port, "/api/v1/monitors").unwrap();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v.as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(ids(), vec!["model"]);
    // A broken new monitor: the reload is refused (the log says so and names the key), the
    // daemon carries on with the old set.
    let extra = st.dir.path().join("monitors/extra.toml");
    std::fs::write(
        &extra,
        "[source]\npath = \"../incoming\"\nsetle_secs = 1\n[reference]\npath = \"../reference.parquet\"\n",
    )
    .unwrap();
    d.signal("-HUP");
    let refused = d.wait_log(20, &["configuration reload refused"]);
    assert!(refused.as_ref().is_some_and(|l| l.contains("setle_secs")), "the signal was handled: {}", d.log());
    assert_eq!(ids(), vec!["model"]);
    assert!(d.child.try_wait().unwrap().is_none(), "still running");
    // Fixed: the reload takes it.
    std::fs::write(
        &extra,
        "[source]\npath = \"../incoming\"\nsettle_secs = 1\n[reference]\npath = \"../reference.parquet\"\n",
    )
    .unwrap();
    d.signal("-HUP");
    assert!(d.wait_log(20, &["configuration reloaded", "\"monitors\":2"]).is_some(), "{}", d.log());
    assert_eq!(ids(), vec!["extra".to_owned(), "model".to_owned()]);
    d.signal("-TERM");
    assert_eq!(d.wait_exit(20), Some(0), "{}", d.log());
}

#[test]
fn a_column_type_change_within_a_batch_splits_it_instead_of_stalling() {
    let st = setup(0, None);
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
    let st = setup(0, None);
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
    let st = setup(0, None);
    let socket_path = st.dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut d = Daemon::start(&st.config, &[("NOTIFY_SOCKET", s(&socket_path)), ("WATCHDOG_USEC", "200000")]);
    let mut seen = String::new();
    // Bounded in total, not per datagram: the watchdog pings keep arriving while we wait.
    let mut expect = |what: &str| {
        let mut buf = [0u8; 512];
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !seen.contains(what) {
            assert!(std::time::Instant::now() < deadline, "no {what:?} within 20 s (saw {seen:?})");
            let n = socket.recv(&mut buf).unwrap_or_else(|e| panic!("waiting for {what:?} (saw {seen:?}): {e}"));
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            seen.push('\n');
        }
        seen.clear();
    };
    expect("READY=1");
    expect("WATCHDOG=1");
    d.signal("-HUP");
    expect("RELOADING=1");
    expect("READY=1");
    d.signal("-TERM");
    expect("STOPPING=1");
    assert_eq!(d.wait_exit(20), Some(0), "{}", d.log());
}
