//! The daemon under faults, through the real binary on real files: a panic in one monitor's
//! work (in its evaluation, or inside a state transaction with the lock held) fails that
//! monitor visibly, commits nothing of it, and spares the others; a cycle past
//! `cycle_timeout_secs` is cancelled, and one stuck where nothing can cancel it stops the
//! systemd watchdog's pings and fails `/healthz`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arrow_array::{ArrayRef, Float64Array};
use drift::synth::Rng;
use tempfile::TempDir;

use crate::support::{Daemon, http_get, wait_for, write};

/// Two monitors, `good` and `bad`, over their own directories, against one reference; their
/// operational alerts go to the `audit` file sink after two failed cycles.
pub struct Two {
    pub dir: TempDir,
    pub config: PathBuf,
}

pub fn rows(n: usize, seed: u64, shift: f64) -> Vec<(&'static str, ArrayRef)> {
    let mut r = Rng::new(seed);
    let x: Vec<f64> = (0..n).map(|_| r.normal() + shift).collect();
    vec![("x", Arc::new(Float64Array::from(x)) as ArrayRef)]
}

/// Writes a Parquet file of `n` rows into `dir` with an mtime 5 s in the past.
pub fn land(dir: &Path, name: &str, n: usize, seed: u64, shift: f64) -> PathBuf {
    let p = write(dir, name, rows(n, seed, shift));
    let f = std::fs::File::options().write(true).open(&p).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(5)).unwrap();
    p
}

fn two() -> Two {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    write(root, "reference.parquet", rows(2000, 1, 0.0));
    let config = root.join("drift.toml");
    std::fs::write(
        &config,
        "state_dir = \"state\"\nlisten = \"127.0.0.1:0\"\npoll_secs = 1\ndrain_timeout_secs = 5\n\
         monitors_dir = \"monitors\"\n\n[sinks.audit]\ntype = \"file\"\npath = \"audit.jsonl\"\n",
    )
    .unwrap();
    std::fs::create_dir(root.join("monitors")).unwrap();
    for id in ["good", "bad"] {
        std::fs::create_dir(root.join(id)).unwrap();
        std::fs::write(
            root.join(format!("monitors/{id}.toml")),
            format!(
                "[source]\npath = \"../{id}\"\nsettle_secs = 0\npoll_secs = 1\n\n[reference]\npath = \
                 \"../reference.parquet\"\n\n[window]\nmin_rows = 50\n\n[alerts]\nwarning = [\"audit\"]\n\
                 critical = [\"audit\"]\nfailing_after = 2\n"
            ),
        )
        .unwrap();
    }
    Two { dir, config }
}

/// The status of monitor `id` from `/api/v1/monitors`, once `ok` holds for it (up to `secs`).
fn status_when(port: u16, id: &str, secs: u64, ok: impl Fn(&serde_json::Value) -> bool) -> Option<serde_json::Value> {
    wait_for(secs, || {
        let (_, body) = http_get(port, "/api/v1/monitors")?;
        let all: serde_json::Value = serde_json::from_str(&body).ok()?;
        let m = all.as_array()?.iter().find(|m| m["id"] == id)?.clone();
        ok(&m).then_some(m)
    })
}

/// A panic at `point` of monitor `bad`: its cycles fail (logged with the monitor and its file,
/// counted, `DriftMonitorFailing` after `failing_after`), `/readyz` keeps its rule, and `good`
/// keeps committing windows through the same state.
fn a_panic_at(point: &str) {
    let t = two();
    let root = t.dir.path();
    land(&root.join("bad"), "b1.parquet", 300, 2, 0.0);
    land(&root.join("good"), "g1.parquet", 300, 3, 0.0);
    let d = Daemon::start(&t.config, &[("DRIFT_TEST_PANIC_AT", &format!("{point}:bad"))]);
    let port = d.port();
    let line = d.wait_log(30, &["monitor cycle panicked", "\"monitor\":\"bad\""]);
    let line = line.unwrap_or_else(|| panic!("{point}: no log line of the panic: {}", d.log()));
    assert!(line.contains("b1.parquet") && line.contains("test panic point"), "{point}: names the file: {line}");
    let bad = status_when(port, "bad", 30, |m| m["consecutive_failures"].as_u64() >= Some(2));
    let bad = bad.unwrap_or_else(|| panic!("{point}: bad never counted 2 failures: {}", d.log()));
    let error = bad["last_error"].as_str().unwrap();
    assert!(error.contains("panicked") && error.contains("b1.parquet"), "{point}: {error}");
    let audit = wait_for(20, || {
        let text = std::fs::read_to_string(root.join("audit.jsonl")).ok()?;
        text.contains("DriftMonitorFailing").then_some(text)
    });
    let audit = audit.unwrap_or_else(|| panic!("{point}: no DriftMonitorFailing: {}", d.log()));
    assert!(audit.lines().any(|l| l.contains("DriftMonitorFailing") && l.contains("\"bad\"")), "{audit}");
    assert!(!audit.lines().any(|l| l.contains("DriftMonitorFailing") && l.contains("\"good\"")), "{audit}");
    assert_eq!(http_get(port, "/readyz").map(|r| r.0), Some(200), "{point}: every monitor scanned once");

    // The other monitor goes on committing through the state the panic left.
    land(&root.join("good"), "g2.parquet", 300, 4, 0.0);
    let good = status_when(port, "good", 30, |m| m["windows"].as_u64() >= Some(2));
    assert!(good.is_some(), "{point}: good stopped committing: {}", d.log());
    let good = good.unwrap();
    assert_eq!(good["consecutive_failures"], 0, "{point}: {good}");
    assert!(!d.log().contains("poisoned"), "{point}: {}", d.log());
    let m = http_get(port, "/metrics").unwrap().1;
    assert!(m.contains("drift_errors_total{monitor=\"bad\"}"), "{point}: {m}");
    if point == "state" {
        // The panic came inside the transaction, with the lock held: the lock was cleared.
        assert!(d.log().contains("a panic interrupted a holder of the state lock"), "{}", d.log());
    }
    // Nothing of bad's panicking cycles was committed: its file waits, unconsumed.
    let conn = rusqlite::Connection::open(root.join("state/drift.sqlite3")).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT COUNT(*) FROM windows WHERE monitor = 'bad'"), 0, "{point}");
    assert_eq!(count("SELECT COUNT(*) FROM files WHERE monitor = 'bad' AND status = 'consumed'"), 0, "{point}");
    assert_eq!(count("SELECT COUNT(*) FROM files WHERE monitor = 'good' AND status = 'consumed'"), 2, "{point}");
}

#[test]
fn a_panic_in_one_monitors_evaluation_fails_it_visibly_and_the_others_go_on() {
    a_panic_at("evaluate");
}

#[test]
fn a_panic_while_the_state_lock_is_held_does_not_poison_it_for_the_others() {
    a_panic_at("state");
}

/// A systemd stand-in: the `NOTIFY_SOCKET` datagram socket, collecting what the daemon says
/// with the time it said it.
struct Systemd {
    pings: Arc<std::sync::Mutex<Vec<(std::time::Instant, String)>>>,
    path: PathBuf,
}

impl Systemd {
    fn listen(dir: &Path) -> Systemd {
        let path = dir.join("notify.sock");
        let socket = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        let pings = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = pings.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = socket.recv(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                sink.lock().unwrap().push((std::time::Instant::now(), text));
            }
        });
        Systemd { pings, path }
    }

    /// The watchdog pings after `since`.
    fn pings_after(&self, since: std::time::Instant) -> usize {
        self.pings.lock().unwrap().iter().filter(|(t, m)| *t > since && m.contains("WATCHDOG=1")).count()
    }
}

/// `cycle_timeout_secs` and the watchdog: a cycle held at an await past the timeout is
/// cancelled and counted as failed while the pings go on; a cycle stuck in work nothing can
/// cancel stops the pings (the log says which monitor) until it returns.
#[test]
fn a_cycle_past_its_timeout_is_cancelled_and_a_stuck_one_stops_the_watchdog() {
    let t = two();
    let root = t.dir.path();
    let text = std::fs::read_to_string(&t.config).unwrap();
    std::fs::write(&t.config, text.replacen("[sinks.audit]", "cycle_timeout_secs = 2\n\n[sinks.audit]", 1)).unwrap();
    land(&root.join("bad"), "b1.parquet", 300, 2, 0.0);
    let systemd = Systemd::listen(root);
    let sock = systemd.path.to_str().unwrap().to_owned();
    let watchdog = [("NOTIFY_SOCKET", sock.as_str()), ("WATCHDOG_USEC", "1000000")];

    // Held at an await (the pause point before the commit) for a minute: cancelled at 2 s.
    let mut env = watchdog.to_vec();
    env.push(("DRIFT_TEST_PAUSE_AT", "commit:60000"));
    let d = Daemon::start(&t.config, &env);
    let port = d.port();
    let line = d.wait_log(20, &["monitor cycle cancelled after cycle_timeout_secs", "\"monitor\":\"bad\""]);
    assert!(line.is_some_and(|l| l.contains("b1.parquet")), "{}", d.log());
    let cancelled = std::time::Instant::now();
    let bad = status_when(port, "bad", 10, |m| m["consecutive_failures"].as_u64() >= Some(1)).unwrap();
    assert!(bad["last_error"].as_str().unwrap().contains("cycle_timeout_secs = 2"), "{bad}");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(systemd.pings_after(cancelled) >= 2, "pings go on: {:?}", systemd.pings.lock().unwrap());
    assert!(!d.log().contains("watchdog not pinged"), "{}", d.log());
    drop(d);

    // Stuck for 8 s in work no timeout can cancel: no ping from 4 s into the cycle (the timeout
    // and the 2 s grace for a cancellation) until it returns, and the log names the monitor.
    let mut env = watchdog.to_vec();
    env.push(("DRIFT_TEST_BLOCK_AT", "evaluate:bad:8000"));
    let d = Daemon::start(&t.config, &env);
    assert!(d.wait_log(20, &["test block point reached"]).is_some(), "{}", d.log());
    let blocked = std::time::Instant::now();
    let line = d.wait_log(10, &["watchdog not pinged", "bad for"]);
    assert!(line.is_some(), "{}", d.log());
    let seen = std::time::Instant::now();
    // Kubernetes' liveness probe sees the same: /healthz fails while a loop is stuck.
    let (code, body) = http_get(d.port(), "/healthz").unwrap();
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("not alive: in one pass longer than cycle_timeout_secs (2 s): bad for"), "{body}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(systemd.pings_after(seen), 0, "no ping while stuck: {}", d.log());
    // Once it returns (its work done, or cancelled at its next await), the pings resume.
    let resumed = blocked + Duration::from_secs(8);
    assert!(wait_for(10, || (systemd.pings_after(resumed) >= 1).then_some(())).is_some(), "{}", d.log());
    assert_eq!(http_get(d.port(), "/healthz").map(|r| r.0), Some(200));
}

/// How long after monitor `bad` reached `DRIFT_TEST_BLOCK_AT=POINT:bad:6000` (and holds
/// whatever that step holds for 6 s) monitor `good` consumed a file landed just then, under
/// extra daemon keys `limits`. Both monitors have rows windows, so each file is profiled into
/// parts on its own.
fn good_waits_for_bad(point: &str, limits: &str) -> Duration {
    let t = two();
    let root = t.dir.path();
    let text = std::fs::read_to_string(&t.config).unwrap();
    std::fs::write(&t.config, text.replacen("[sinks.audit]", &format!("{limits}\n[sinks.audit]"), 1)).unwrap();
    for id in ["good", "bad"] {
        let m = root.join(format!("monitors/{id}.toml"));
        let text = std::fs::read_to_string(&m).unwrap();
        std::fs::write(&m, text.replacen("min_rows = 50\n", "min_rows = 50\ntype = \"rows\"\nrows = 100000\n", 1))
            .unwrap();
    }
    land(&root.join("bad"), "b1.parquet", 300, 2, 0.0);
    let block = format!("{point}:bad:6000");
    let d = Daemon::start(&t.config, &[("DRIFT_TEST_BLOCK_AT", block.as_str())]);
    let port = d.port();
    let line = d.wait_log(30, &["test block point reached", "\"monitor\":\"bad\""]);
    assert!(line.is_some(), "{point}: {}", d.log());
    let blocked = std::time::Instant::now();
    land(&root.join("good"), "g1.parquet", 300, 3, 0.0);
    let consumed = "drift_files_total{monitor=\"good\",outcome=\"consumed\"} 1";
    let seen = wait_for(30, || http_get(port, "/metrics").filter(|m| m.1.contains(consumed)).map(|_| ()));
    assert!(seen.is_some(), "{point} {limits}: good never consumed its file: {}", d.log());
    blocked.elapsed()
}

/// `max_concurrent_evaluations` bounds every CPU- and memory-heavy step, not only the final
/// evaluation: while one monitor profiles a file into window parts, or profiles its reference,
/// with the only permit, another monitor's file waits; and `max_bytes_in_flight` bounds what
/// is fetched over every monitor: with one byte of it, a fetched batch (held until its parts
/// are committed) makes the other monitor's fetch wait. The control: with two permits and
/// the default bytes, the other monitor goes on at once. (The four daemons run side by side.)
#[test]
fn the_daemons_limits_bound_profiling_reference_loading_and_fetching_over_every_monitor() {
    let cases = [
        ("profile", "max_concurrent_evaluations = 1\n", true),
        ("reference", "max_concurrent_evaluations = 1\n", true),
        ("profile", "max_concurrent_evaluations = 2\nmax_bytes_in_flight = 1\n", true),
        ("profile", "max_concurrent_evaluations = 2\n", false),
    ];
    let runs: Vec<_> =
        cases.iter().map(|&(point, limits, _)| std::thread::spawn(move || good_waits_for_bad(point, limits))).collect();
    let mut wrong = Vec::new();
    for ((point, limits, waits), run) in cases.iter().zip(runs) {
        let waited = run.join().unwrap();
        if *waits != (waited >= Duration::from_millis(4500)) {
            wrong.push(format!("{point} {limits:?}: good should wait: {waits}, waited {waited:?}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
