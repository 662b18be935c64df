//! Alert delivery against a real HTTP server on loopback scripting Slack's behaviour
//! ([`crate::receiver`]).
//!
//! The first tests drive the outbox worker ([`drift::daemon::deliver::Deliverer::pump`]) with an
//! injected clock over a real state database: 200 `ok`; 500 then 200; 429 with `Retry-After`
//! in seconds and 503 with it as an HTTP date (honoured to the millisecond); 400
//! `invalid_payload` (dead-lettered at once, and paged on the other sink); a hanging request
//! (timeout, retry); the per-sink rate limit; connection refused for two minutes of test time,
//! then everything delivered in order; a notification undelivered after its maximum age; a
//! damaged outbox row. The last ones run the real binary: one page per firing alert, none again
//! after a restart, a resolved message after two clean windows, silences, a notification queued
//! before a kill -9 delivered once after the restart, the monitor-failing and stale-source
//! alerts, webhooks with secret headers, `drift alert test`, and the URL never in logs, errors
//! or the database.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arrow_array::{ArrayRef, Float64Array, StringArray};
use drift::alerts::payload::{MONITOR_FAILING, NOTIFICATION_LOST, SOURCE_STALE};
use drift::alerts::route::{Operational, Routing};
use drift::config::Config;
use drift::daemon::deliver::Deliverer;
use drift::daemon::metrics::Metrics;
use drift::state::{OutboxRow, State};
use drift::synth::Rng;
use tempfile::TempDir;

use crate::receiver::{Receiver, Reply};
use crate::support::{Daemon, drift, s, unused_port, wait_for, write};

/// What a webhook URL's secret part looks like in these tests: it must never leak.
const SECRET: &str = "T0SECRET/B0SECRET/XoXoSeCrEtToKeN";

/// Monday 2026-11-23 00:00:00 UTC: the injected clock's start.
const T0: i64 = 1_795_392_000_000;

fn batch(n: usize, seed: u64, shift: f64) -> Vec<(&'static str, ArrayRef)> {
    let mut r = Rng::new(seed);
    let x: Vec<f64> = (0..n).map(|_| r.normal() + shift).collect();
    let k: Vec<&str> = (0..n).map(|_| ["a", "b", "c"][r.choose(&[5.0, 3.0, 2.0])]).collect();
    vec![("x", Arc::new(Float64Array::from(x)) as ArrayRef), ("k", Arc::new(StringArray::from(k)))]
}

/// A daemon directory: reference, incoming files, a Slack sink at `url` (from a file), an
/// audit file sink, and monitor `model` routing everything to Slack and operational alerts to
/// both.
fn config_dir(url: &str, monitor_extra: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    write(root, "reference.parquet", batch(4000, 1, 0.0));
    std::fs::create_dir(root.join("incoming")).unwrap();
    std::fs::create_dir(root.join("monitors")).unwrap();
    std::fs::write(root.join("slack.url"), format!("{url}\n")).unwrap();
    let config = root.join("drift.toml");
    std::fs::write(
        &config,
        "state_dir = \"state\"\nlisten = \"127.0.0.1:0\"\nmonitors_dir = \"monitors\"\ndrain_timeout_secs = 5\n\n\
         [sinks.slack]\ntype = \"slack\"\nurl_file = \"slack.url\"\ntimeout_secs = 1\n\n\
         [sinks.audit]\ntype = \"file\"\npath = \"audit.jsonl\"\n",
    )
    .unwrap();
    std::fs::write(
        root.join("monitors/model.toml"),
        format!(
            "[source]\npath = \"../incoming\"\nsettle_secs = 0\npoll_secs = 1\n{monitor_extra}\n\
             [reference]\npath = \"../reference.parquet\"\n\n[window]\nmin_rows = 50\n\n\
             [alerts]\nwarning = [\"slack\"]\ncritical = [\"slack\"]\noperational = [\"slack\", \"audit\"]\n"
        ),
    )
    .unwrap();
    (dir, config)
}

/// The library-level fixture: configuration, state, metrics and a deliverer.
struct Lib {
    dir: TempDir,
    cfg: Config,
    routing: Routing,
    state: Mutex<State>,
    metrics: Metrics,
    deliverer: Deliverer,
    rt: tokio::runtime::Runtime,
    queued: usize,
}

impl Lib {
    fn new(url: &str) -> Lib {
        let (dir, config) = config_dir(url, "");
        let cfg = drift::config::load(&config).unwrap();
        let routing = cfg.routing(&cfg.monitors[0]);
        let state = Mutex::new(State::open(&cfg.state_dir).unwrap());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        Lib {
            dir,
            cfg,
            routing,
            state,
            metrics: Metrics::default(),
            deliverer: Deliverer::new(7).unwrap(),
            rt,
            queued: 0,
        }
    }

    /// Queues `n` notifications on every operational sink: the stale-source alert firing,
    /// resolving, firing... (continuing from the last call), one per millisecond, the last
    /// at `at - 1`.
    fn queue(&mut self, n: usize, at: i64) {
        let mut st = self.state.lock().unwrap();
        for i in 0..n {
            let problem = self.queued.is_multiple_of(2).then_some("no new file for 6 h");
            let op = Operational::condition(SOURCE_STALE, problem, 1);
            st.observe_operational(&self.routing, &op, at - (n - i) as i64).unwrap();
            self.queued += 1;
        }
    }

    fn pump(&mut self, now: i64) -> Option<i64> {
        self.rt.block_on(self.deliverer.pump(&self.state, &self.cfg, &self.metrics, now)).unwrap()
    }

    /// Pumps at `now` until nothing more is due at `now`; returns the next wake-up.
    fn drain(&mut self, now: i64) -> Option<i64> {
        loop {
            match self.pump(now) {
                Some(at) if at <= now => continue,
                other => return other,
            }
        }
    }

    /// The Slack sink's outbox rows, oldest first.
    fn slack_rows(&self) -> Vec<OutboxRow> {
        let mut rows = self.state.lock().unwrap().notifications(None, None, 1000).unwrap();
        rows.retain(|r| r.sink == "slack");
        rows.reverse();
        rows
    }

    fn metric(&self, name: &str, sink: &str) -> f64 {
        let text = self.metrics.encode();
        let prefix = format!("drift_{name}{{sink=\"{sink}\"}} ");
        text.lines().find_map(|l| l.strip_prefix(&prefix)).map_or(0.0, |v| v.parse().unwrap())
    }
}

#[test]
fn slack_answers_drive_delivery_retries_and_dead_letters() {
    let rx = Receiver::start(0, vec![Reply::Ok]);
    let mut lib = Lib::new(&rx.url(&format!("/services/{SECRET}")));

    // 200 ok: delivered once, with the idempotency key as a header and Block Kit as the body.
    lib.queue(1, T0);
    assert_eq!(lib.drain(T0), None, "nothing left");
    let got = rx.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, format!("/services/{SECRET}"));
    assert_eq!(got[0].content_type.as_deref(), Some("application/json"));
    let rows = lib.slack_rows();
    assert_eq!((rows[0].status.as_str(), rows[0].attempts), ("delivered", 1));
    assert!(got[0].idempotency_key.as_deref().is_some_and(|k| k.ends_with("-firing")), "{got:?}");
    assert_eq!(got[0].idempotency_key.as_deref(), Some(rows[0].idempotency_key.as_str()));
    assert!(got[0].body["text"].as_str().unwrap().contains("DriftSourceStale"), "{}", got[0].body);
    assert!(got[0].body["blocks"].as_array().is_some_and(|b| !b.is_empty()));
    assert_eq!(lib.metric("notifications_sent_total", "slack"), 1.0);

    // 500 then 200: retried, not before its time. The first backoff is 0.25 to 0.5 s, but the
    // 500 was a request too, so Slack's one message per second decides.
    rx.script(vec![Reply::Status(500, "internal_error", None)]);
    let t = T0 + 10_000;
    lib.queue(1, t);
    let retry_at = lib.drain(t).expect("a retry is scheduled");
    assert_eq!(retry_at, t + 1000, "first backoff within the rate limit");
    assert_eq!(lib.drain(retry_at - 1), Some(retry_at), "not before its time");
    assert_eq!(rx.received().len(), 2);
    assert_eq!(lib.drain(retry_at), None);
    assert_eq!(rx.received().len(), 3);
    assert_eq!(rx.received()[1].idempotency_key, rx.received()[2].idempotency_key, "same key on a retry");
    assert_eq!(lib.slack_rows()[1].attempts, 2);
    assert_eq!(lib.metric("notifications_retried_total", "slack"), 1.0);

    // 429 with Retry-After: 30: nothing for 30 s, then delivered.
    rx.script(vec![Reply::Status(429, "rate_limited", Some("30"))]);
    let t = T0 + 20_000;
    lib.queue(1, t);
    assert_eq!(lib.drain(t), Some(t + 30_000), "Retry-After is honoured, not the 0.5 s backoff");
    assert_eq!(lib.drain(t + 29_999), Some(t + 30_000));
    assert_eq!(rx.received().len(), 4);
    assert_eq!(lib.drain(t + 30_000), None);
    assert_eq!(rx.received().len(), 5);

    // 503 with Retry-After as an HTTP date (T0 + 5 min): waited for until that time.
    rx.script(vec![Reply::Status(503, "service_unavailable", Some("Mon, 23 Nov 2026 00:05:00 GMT"))]);
    let t = T0 + 60_000;
    lib.queue(1, t);
    assert_eq!(lib.drain(t), Some(T0 + 300_000), "the date, not the backoff");
    assert_eq!(lib.drain(T0 + 300_000), None);
    assert_eq!(rx.received().len(), 7);

    // 400 invalid_payload: dead-lettered at once, never retried; the audit sink is paged.
    rx.script(vec![Reply::Status(400, "invalid_payload", None)]);
    let t = T0 + 400_000;
    lib.queue(1, t);
    assert_eq!(lib.drain(t), None, "no retry");
    assert_eq!(rx.received().len(), 8);
    let dead = lib.slack_rows().pop().unwrap();
    assert_eq!(dead.status, "dead");
    assert_eq!(dead.last_error.as_deref(), Some("HTTP 400: invalid_payload"));
    assert_eq!(lib.metric("notifications_dead_lettered_total", "slack"), 1.0);
    let audit = std::fs::read_to_string(lib.dir.path().join("audit.jsonl")).unwrap();
    let lost = audit.lines().last().unwrap();
    assert!(lost.contains(NOTIFICATION_LOST) && lost.contains("invalid_payload"), "{lost}");
    assert!(lib.drain(t + 3_600_000).is_none() && rx.received().len() == 8, "still no retry an hour later");

    // A request that hangs past the 1 s timeout: retried, then delivered.
    rx.script(vec![Reply::Hang(Duration::from_secs(5))]);
    let t = T0 + 500_000;
    lib.queue(1, t);
    // (Without the timeout the 5 s answer would arrive as a 200: delivered, no retry, no error.)
    let retry_at = lib.drain(t).expect("retry after a timeout");
    let hung = lib.slack_rows().pop().unwrap();
    assert_eq!(hung.last_error.as_deref(), Some("no answer within 1 s"));
    assert_eq!(lib.drain(retry_at), None);
    assert_eq!(lib.slack_rows().pop().unwrap().status, "delivered");

    // Nothing secret in what was stored.
    for r in lib.state.lock().unwrap().notifications(None, None, 1000).unwrap() {
        assert!(!format!("{r:?}").contains("SECRET"), "{r:?}");
    }
    assert!(!lib.metrics.encode().contains("SECRET"));
    assert_eq!(lib.metric("outbox_depth", "slack"), 0.0);
}

#[test]
fn slack_gets_at_most_one_message_per_second() {
    let rx = Receiver::start(0, vec![]);
    let mut lib = Lib::new(&rx.url("/hook"));
    lib.queue(3, T0);
    assert_eq!(lib.drain(T0), Some(T0 + 1000), "the second waits for the rate limit");
    assert_eq!(rx.received().len(), 1);
    assert_eq!(lib.metric("outbox_depth", "slack"), 2.0);
    assert_eq!(lib.drain(T0 + 1000), Some(T0 + 2000));
    assert_eq!(lib.drain(T0 + 2000), None);
    assert_eq!(rx.received().len(), 3);
}

#[test]
fn connection_refused_for_two_minutes_then_everything_arrives_in_order() {
    let port = unused_port();
    let mut lib = Lib::new(&format!("http://127.0.0.1:{port}/services/{SECRET}"));
    lib.queue(5, T0);
    let keys: Vec<String> = {
        let st = lib.state.lock().unwrap();
        let mut rows = st.notifications(None, None, 100).unwrap();
        rows.retain(|r| r.sink == "slack");
        rows.reverse();
        assert_eq!(rows.len(), 5);
        rows.iter().map(|r| r.id.to_string()).collect()
    };
    // Two minutes of test time with nobody listening.
    let mut now = T0;
    let mut wakeups = 0;
    while now < T0 + 120_000 {
        now = lib.drain(now).expect("retries stay scheduled");
        wakeups += 1;
    }
    let rows = lib.slack_rows();
    assert!(rows.iter().all(|r| r.status == "pending"), "nothing given up: {rows:?}");
    assert_eq!(rows[1..].iter().map(|r| r.attempts).sum::<u32>(), 0, "only the head is tried: in order");
    // 0.5 s doubling to 60 s (upper half jittered): 8 to 10 attempts in two minutes, not a storm.
    assert!((8..=10).contains(&rows[0].attempts), "{} attempts", rows[0].attempts);
    assert!(wakeups <= rows[0].attempts + 1, "{wakeups} wake-ups");
    let error = rows[0].last_error.clone().unwrap();
    assert!(!error.contains("SECRET") && !error.contains("http"), "{error}");
    // As of the last attempt (63 s in, give or take the jitter).
    assert!(lib.metric("outbox_oldest_pending_age_seconds", "slack") >= 30.0);

    let rx = Receiver::start(port, vec![]);
    while let Some(at) = lib.drain(now) {
        now = at;
    }
    let got = rx.received();
    assert_eq!(got.len(), 5, "everything delivered once");
    let statuses: Vec<&str> =
        got.iter().map(|r| r.idempotency_key.as_deref().unwrap().rsplit('-').next().unwrap()).collect();
    assert_eq!(statuses, ["firing", "resolved", "firing", "resolved", "firing"], "in the order queued");
    let rows = lib.slack_rows();
    assert!(rows.iter().all(|r| r.status == "delivered"));
    assert_eq!(rows.iter().map(|r| r.id.to_string()).collect::<Vec<_>>(), keys);
}

#[test]
fn a_damaged_outbox_row_is_dead_lettered_without_stopping_the_queue() {
    let rx = Receiver::start(0, vec![]);
    let mut lib = Lib::new(&rx.url("/hook"));
    lib.queue(2, T0);
    let db = lib.cfg.state_dir.join("drift.sqlite3");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let first: i64 = conn.query_row("SELECT MIN(id) FROM outbox WHERE sink = 'slack'", [], |r| r.get(0)).unwrap();
    conn.execute("UPDATE outbox SET notification = '{not json' WHERE id = ?1", [first]).unwrap();
    assert_eq!(lib.drain(T0), None, "the next notification goes out in the same pass");
    let rows = lib.slack_rows();
    assert_eq!(rows[0].status, "dead");
    assert!(rows[0].last_error.as_deref().unwrap().starts_with("the stored notification is unreadable"), "{rows:?}");
    assert_eq!(rows[1].status, "delivered");
    assert_eq!(rx.received().len(), 1);

    // A damaged alert state does not stop observations either (before, reading it failed the
    // transaction): the alert starts over.
    conn.execute("UPDATE alert_state SET state = 'garbage'", []).unwrap();
    lib.queue(1, T0 + 10_000);
    assert_eq!(lib.drain(T0 + 10_000), None);
    assert_eq!(rx.received().len(), 2, "observed and sent despite the damaged state");
}

#[test]
fn a_revoked_webhook_pages_once_on_the_other_sink_and_resolves_when_it_works_again() {
    let rx = Receiver::start(0, vec![Reply::Status(404, "no_service", None), Reply::Status(404, "no_service", None)]);
    let mut lib = Lib::new(&rx.url("/hook"));
    lib.queue(2, T0);
    let mut now = T0;
    while let Some(at) = lib.drain(now) {
        now = at;
    }
    let rows = lib.slack_rows();
    assert!(rows.iter().all(|r| r.status == "dead"), "{rows:?}");
    let lost = |lib: &Lib| -> Vec<serde_json::Value> {
        std::fs::read_to_string(lib.dir.path().join("audit.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["commonLabels"]["alertname"] == NOTIFICATION_LOST)
            .collect()
    };
    let pages = lost(&lib);
    assert_eq!(pages.len(), 1, "two lost notifications on one sink page once: {pages:?}");
    assert!(pages[0]["drift"]["detail"].as_str().unwrap().contains("HTTP 404: no_service"));
    // The webhook works again: the next delivery resolves the alert.
    lib.queue(1, now + 10_000);
    assert_eq!(lib.drain(now + 10_000), None);
    let pages = lost(&lib);
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[1]["status"], "resolved");
    assert!(pages[1]["drift"]["detail"].as_str().unwrap().contains("takes notifications again"), "{}", pages[1]);
}

#[test]
fn still_undelivered_after_max_age_is_dead_lettered_and_retention_keeps_what_is_pending() {
    let port = unused_port();
    let mut lib = Lib::new(&format!("http://127.0.0.1:{port}/services/{SECRET}"));
    lib.queue(1, T0);
    let day = 24 * 3_600_000;
    assert!(lib.drain(T0).is_some_and(|at| at < T0 + 1000), "retried soon");
    assert!(lib.drain(T0 + day - 60_000).is_some(), "a day minus a minute: still retried");
    assert_eq!(lib.drain(T0 + day + 1), None, "older than max_age_hours = 24: given up");
    let dead = lib.slack_rows().pop().unwrap();
    assert_eq!(dead.status, "dead");
    let error = dead.last_error.unwrap();
    assert!(error.starts_with("still undelivered after 3 attempts and 24 h (last: connection failed)"), "{error}");
    let audit = std::fs::read_to_string(lib.dir.path().join("audit.jsonl")).unwrap();
    assert!(audit.lines().last().unwrap().contains(NOTIFICATION_LOST), "the loss pages the other sink");

    // Retention: finished notifications older than the cut-off go, pending ones stay.
    lib.queue(1, T0 + 2 * day);
    let mut st = lib.state.lock().unwrap();
    let before = st.notifications(None, None, 100).unwrap().len();
    st.prune(0, 0, T0 + 2 * day).unwrap();
    let left = st.notifications(None, None, 100).unwrap();
    assert!(left.len() < before);
    assert!(left.iter().all(|r| r.created_ms >= T0 + 2 * day - 10 || r.status == "pending"), "{left:?}");
    assert!(left.iter().any(|r| r.sink == "slack" && r.status == "pending"));
}

// ---------------------------------------------------------------------------------------------
// The real binary.

fn land(root: &Path, name: &str, shift: f64, seed: u64) {
    let p = write(&root.join("incoming"), name, batch(600, seed, shift));
    let f = std::fs::File::options().write(true).open(&p).unwrap();
    f.set_modified(std::time::SystemTime::now() - Duration::from_secs(60)).unwrap();
}

/// `drift run --once` at debug level: (exit code, stdout + stderr).
fn once(config: &Path) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_drift"))
        .args(["run", "--once", "--log-level", "debug", "--config", s(config)])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap(), text)
}

fn header(r: &crate::receiver::Received) -> String {
    r.body["blocks"][0]["text"]["text"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn the_daemon_pages_once_resolves_after_clean_windows_and_honours_silences() {
    let rx = Receiver::start(0, vec![]);
    let (dir, config) = config_dir(&rx.url(&format!("/services/{SECRET}")), "");
    let root = dir.path();
    // Every change of columns is notified (windows here are seconds apart, not minutes).
    let monitor = root.join("monitors/model.toml");
    let text = std::fs::read_to_string(&monitor).unwrap().replace("[alerts]\n", "[alerts]\ngroup_interval_secs = 0\n");
    std::fs::write(&monitor, text).unwrap();
    let mut logs = String::new();
    let run = |logs: &mut String| {
        let (code, out) = once(&config);
        assert_eq!(code, 0, "{out}");
        logs.push_str(&out);
    };

    land(root, "1.parquet", 1.0, 2);
    run(&mut logs);
    let got = rx.received();
    assert_eq!(got.len(), 1, "one message for the window: {logs}");
    assert!(header(&got[0]).contains("Drift in model"), "{}", got[0].body);
    assert!(got[0].body["text"].as_str().unwrap().contains("x"), "{}", got[0].body);

    // Still drifting, same columns and severity, after a restart: no second page.
    land(root, "2.parquet", 1.0, 3);
    run(&mut logs);
    assert_eq!(rx.received().len(), 1, "no re-page after a restart while firing");

    // Two clean windows (resolve_after = 2): resolved once, after the second.
    land(root, "3.parquet", 0.0, 4);
    run(&mut logs);
    assert_eq!(rx.received().len(), 1, "one clean window does not resolve");
    land(root, "4.parquet", 0.0, 5);
    run(&mut logs);
    let got = rx.received();
    assert_eq!(got.len(), 2);
    assert!(header(&got[1]).starts_with("✅ Resolved: model"), "{}", got[1].body);

    // A silence: the next drift is recorded, not sent.
    let out = drift(&[
        "silence",
        "add",
        "--config",
        s(&config),
        "--monitor",
        "model",
        "--until",
        "1h",
        "--reason",
        "retraining",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let listed = String::from_utf8_lossy(&drift(&["silence", "list", "--config", s(&config)]).stdout).into_owned();
    assert!(listed.contains("monitor model") && listed.contains("reason: retraining"), "{listed}");
    land(root, "5.parquet", 1.0, 6);
    run(&mut logs);
    assert_eq!(rx.received().len(), 2, "silenced");
    let list = String::from_utf8_lossy(&drift(&["alert", "list", "--config", s(&config)]).stdout).into_owned();
    let newest = list.lines().next().unwrap();
    assert!(newest.contains("silenced") && newest.contains("DataDrift window 5"), "{list}");

    // Expired: silences no longer apply (the alert is already firing, so the next change pages).
    let id = listed.split_whitespace().next().unwrap();
    let out = drift(&["silence", "expire", "--config", s(&config), id]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = drift(&["silence", "expire", "--config", s(&config), id]);
    assert_eq!(out.status.code(), Some(2), "expiring twice is an error");
    // The next change pages: `k` drifts too (its `c` share from 20% to 60%).
    let mut moved = batch(600, 7, 1.0);
    moved[1].1 = Arc::new(StringArray::from((0..600).map(|i| if i % 5 < 3 { "c" } else { "a" }).collect::<Vec<_>>()));
    let p = write(&root.join("incoming"), "6.parquet", moved);
    std::fs::File::options()
        .write(true)
        .open(&p)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(60))
        .unwrap();
    run(&mut logs);
    let got = rx.received();
    assert_eq!(got.len(), 3, "paged once the silence expired: {logs}");
    assert!(header(&got[2]).contains("Drift in model"), "{}", got[2].body);
    let text = got[2].body["text"].as_str().unwrap();
    assert!(text.contains('x') && text.contains('k'), "both drifted columns: {text}");
    let list = String::from_utf8_lossy(&drift(&["alert", "list", "--config", s(&config)]).stdout).into_owned();
    let newest = list.lines().next().unwrap();
    assert!(newest.contains("DataDrift window 6") && !newest.contains("silenced"), "{list}");

    // The URL never shows: not in logs at debug level, not in the database.
    assert!(!logs.contains("SECRET"), "the URL leaked into the logs:\n{logs}");
    let db = std::fs::read(root.join("state/drift.sqlite3")).unwrap();
    let wal = std::fs::read(root.join("state/drift.sqlite3-wal")).unwrap_or_default();
    for bytes in [db, wal] {
        assert!(!String::from_utf8_lossy(&bytes).contains("SECRET"), "the URL is in the state database");
    }
}

#[test]
fn a_notification_queued_before_a_kill_is_delivered_once_after_restart() {
    let port = unused_port();
    let (dir, config) = config_dir(&format!("http://127.0.0.1:{port}/services/{SECRET}"), "");
    let root = dir.path();
    let daemon = Daemon::start(&config, &[]);
    land(root, "1.parquet", 1.0, 2);
    // The window is evaluated and its notification queued; Slack is down, so it stays pending.
    let db = root.join("state/drift.sqlite3");
    let queued = wait_for(30, || {
        let conn = rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
        let n: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM outbox WHERE sink = 'slack' AND status = 'pending' AND attempts >= 1",
                [],
                |r| r.get(0),
            )
            .ok()?;
        (n >= 1).then_some(n)
    });
    assert_eq!(queued, Some(1), "queued and tried once while Slack is down");
    // The retry is committed before it is logged: wait for the line, or a loaded machine can
    // kill the daemon between the two.
    let retried = daemon.wait_log(30, &["will retry"]);
    let logs = daemon.kill_9();
    assert!(retried.is_some(), "{logs}");
    assert!(!logs.contains("SECRET"), "the URL leaked into the logs:\n{logs}");

    let rx = Receiver::start(port, vec![]);
    let (code, out) = once(&config);
    assert_eq!(code, 0, "{out}");
    let (_, out2) = once(&config);
    let got = rx.received();
    let firing: Vec<_> = got.iter().filter(|r| header(r).contains("Drift in model")).collect();
    assert_eq!(firing.len(), 1, "exactly one firing message for the window: {got:?}");
    assert!(firing[0].idempotency_key.as_deref().unwrap().ends_with("-1-firing"), "window 1");
    assert!(!(out + &out2).contains("SECRET"));
}

#[test]
fn a_kill_during_the_send_redelivers_with_the_same_idempotency_key() {
    // Slack takes the request and never answers; the daemon is killed mid-request. At least
    // once: after the restart the message goes again, with the key a receiver dedupes on.
    let rx = Receiver::start(0, vec![Reply::Hang(Duration::from_secs(60))]);
    let (dir, config) = config_dir(&rx.url("/services/x"), "");
    let root = dir.path();
    let text = std::fs::read_to_string(&config).unwrap().replace("timeout_secs = 1", "timeout_secs = 60");
    std::fs::write(&config, text).unwrap();
    let daemon = Daemon::start(&config, &[]);
    land(root, "1.parquet", 1.0, 2);
    let in_flight = wait_for(30, || (!rx.received().is_empty()).then_some(()));
    daemon.kill_9();
    assert!(in_flight.is_some(), "the request reached the receiver");
    let (code, out) = once(&config);
    assert_eq!(code, 0, "{out}");
    let got = rx.received();
    assert_eq!(got.len(), 2, "sent again after the restart: {got:?}");
    assert!(got[0].idempotency_key.is_some());
    assert_eq!(got[0].idempotency_key, got[1].idempotency_key, "the same key both times");
    let list = String::from_utf8_lossy(&drift(&["alert", "list", "--config", s(&config)]).stdout).into_owned();
    assert!(list.lines().any(|l| l.contains("slack") && l.contains("delivered")), "{list}");
}

#[test]
fn a_monitor_failing_cycle_after_cycle_pages_after_failing_after() {
    let rx = Receiver::start(0, vec![]);
    let (dir, config) = config_dir(&rx.url("/hook"), "");
    let root = dir.path();
    let text = std::fs::read_to_string(root.join("monitors/model.toml")).unwrap();
    std::fs::write(root.join("monitors/model.toml"), text.replace("[alerts]\n", "[alerts]\nfailing_after = 2\n"))
        .unwrap();
    std::fs::write(root.join("reference.parquet"), b"not parquet any more").unwrap();
    let (code, _) = once(&config);
    assert_eq!(code, 1, "a failed monitor fails --once");
    assert!(rx.received().is_empty(), "one failure does not page");
    let (_, out) = once(&config);
    let got = rx.received();
    assert_eq!(got.len(), 1, "{out}");
    let text = got[0].body["text"].as_str().unwrap();
    assert!(
        text.contains(MONITOR_FAILING) && text.contains("2 times in a row") && text.contains("reference.parquet"),
        "{text}"
    );
    let audit = std::fs::read_to_string(root.join("audit.jsonl")).unwrap();
    assert!(audit.contains(MONITOR_FAILING), "operational alerts go to every operational sink");
}

#[test]
fn webhooks_get_the_alertmanager_body_with_secret_headers_and_alert_test_is_marked() {
    let rx = Receiver::start(0, vec![]);
    let (dir, config) = config_dir(&rx.url("/slack"), "");
    let root = dir.path();
    std::fs::write(root.join("hook.url"), rx.url(&format!("/hook/{SECRET}"))).unwrap();
    std::fs::write(root.join("auth.txt"), "Bearer s3cr3t-t0ken\n").unwrap();
    let mut daemon = std::fs::read_to_string(&config).unwrap();
    daemon.push_str("\n[sinks.hook]\ntype = \"webhook\"\nurl_file = \"hook.url\"\nheaders_file = { Authorization = \"auth.txt\" }\n");
    std::fs::write(&config, daemon).unwrap();
    let monitor = root.join("monitors/model.toml");
    let text = std::fs::read_to_string(&monitor).unwrap().replace("critical = [\"slack\"]", "critical = [\"hook\"]");
    std::fs::write(&monitor, text).unwrap();

    // `drift alert test`: one clearly marked message, exit 0; a failing sink exits 1 and says why.
    let out = drift(&["alert", "test", "--config", s(&config), "--sink", "hook"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let test = rx.received().pop().unwrap();
    assert_eq!(test.body["drift"]["test"], true);
    assert!(test.body["commonAnnotations"]["summary"].as_str().unwrap().starts_with("[TEST]"), "{}", test.body);
    assert_eq!(test.authorization.as_deref(), Some("Bearer s3cr3t-t0ken"));
    rx.script(vec![Reply::Status(404, "no_service", None)]);
    let out = drift(&["alert", "test", "--config", s(&config), "--sink", "slack"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("sink slack: test message not delivered: HTTP 404: no_service"), "{stderr}");
    let out = drift(&["alert", "test", "--config", s(&config), "--sink", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no sink \"nope\""));

    // A critical drift goes to the webhook: the Alertmanager v4 shape plus drift's fields.
    land(root, "1.parquet", 2.0, 2);
    let (code, out) = once(&config);
    assert_eq!(code, 0, "{out}");
    let got = rx.received().pop().unwrap();
    assert_eq!(got.path, format!("/hook/{SECRET}"));
    let b = &got.body;
    assert_eq!((b["version"].as_str(), b["status"].as_str()), (Some("4"), Some("firing")));
    assert_eq!(b["groupLabels"]["monitor"], "model");
    let alert = &b["alerts"][0];
    assert_eq!(
        (alert["labels"]["column"].as_str(), alert["labels"]["severity"].as_str()),
        (Some("x"), Some("critical"))
    );
    assert_eq!(b["drift"]["idempotency_key"].as_str(), got.idempotency_key.as_deref());
    assert_eq!(b["drift"]["window"], 1);
    assert!(
        b["drift"]["columns"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["test"] == "ks" && c["statistic"].as_f64().unwrap() > 0.2)
    );
    assert!(!out.contains("SECRET") && !out.contains("s3cr3t"), "{out}");

    // The documented payload (monitors/README.md) has exactly the fields sent.
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/monitors/README.md")).unwrap();
    let block = doc.split("```json\n").nth(1).unwrap().split("```").next().unwrap();
    let documented: serde_json::Value = serde_json::from_str(block).unwrap();
    assert_eq!(paths(&documented, ""), paths(b, ""), "monitors/README.md documents another payload");
}

/// Every object key path of a JSON value (arrays merged over their elements).
fn paths(v: &serde_json::Value, at: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{at}.{k}");
                out.extend(paths(x, &p));
                out.insert(p);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| out.extend(paths(x, &format!("{at}[]")))),
        _ => {}
    }
    out
}

#[test]
fn a_stale_source_pages_and_resolves_when_files_arrive() {
    let rx = Receiver::start(0, vec![]);
    let (dir, config) = config_dir(&rx.url("/hook"), "stale_after_secs = 1\n");
    let mut daemon = Daemon::start(&config, &[]);
    let text = |r: &crate::receiver::Received| r.body["text"].as_str().unwrap_or_default().to_owned();
    let port = daemon.port();
    let stale = wait_for(20, || rx.received().iter().map(text).find(|t| t.contains(SOURCE_STALE)));
    // The status API and the metrics show what fires.
    // (Both are refreshed at the end of the cycle that queued the message: wait for it.)
    let status = wait_for(5, || {
        let body = crate::support::http_get(port, "/api/v1/monitors").map(|(_, body)| body)?;
        body.contains(SOURCE_STALE).then_some(body)
    })
    .unwrap_or_default();
    let series =
        r#"drift_alerts_firing{monitor="model",alertname="DriftSourceStale",segment="",severity="critical"} 1"#;
    let metrics = || crate::support::http_get(port, "/metrics").map(|(_, body)| body).unwrap_or_default();
    let gauge_while_stale = wait_for(5, || metrics().contains(series).then_some(())).is_some();
    let resolved = stale.as_ref().and_then(|_| {
        land(dir.path(), "1.parquet", 0.0, 2);
        wait_for(20, || rx.received().iter().map(text).find(|t| t.contains("DriftSourceStale resolved")))
    });
    let gauge_gone = wait_for(10, || (!metrics().contains("DriftSourceStale")).then_some(())).is_some();
    daemon.signal("-TERM");
    assert_eq!(daemon.wait_exit(20), Some(0), "{}", daemon.log());
    let stale = stale.expect("a stale-source alert");
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status[0]["firing"][0]["alertname"], SOURCE_STALE, "{status}");
    assert_eq!(status[0]["stale"], true);
    assert!(gauge_while_stale, "drift_alerts_firing shows the stale-source alert");
    assert!(gauge_gone, "and drops it once resolved");
    assert!(stale.contains("no new file in") && stale.contains("stale_after_secs = 1"), "{stale}");
    assert!(
        resolved.is_some(),
        "resolved once a file arrived: {:?}",
        rx.received().iter().map(text).collect::<Vec<_>>()
    );
    let stale_pages =
        rx.received().iter().filter(|r| text(r).contains(SOURCE_STALE) && !text(r).contains("resolved")).count();
    assert_eq!(stale_pages, 1, "no re-page while stale");
}

#[test]
fn commands_that_never_send_need_no_webhook_secret() {
    let (dir, config) = config_dir("http://127.0.0.1:9/unused", "");
    // The daemon's environment has the URL; an operator's shell does not.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("url_file = \"slack.url\"", "url_env = \"DRIFT_TEST_UNSET_SLACK_URL\"");
    std::fs::write(&config, text).unwrap();
    let out = drift(&["validate", "--config", s(&config)]);
    assert_eq!(out.status.code(), Some(64), "validate reads secrets");
    assert!(String::from_utf8_lossy(&out.stderr).contains("DRIFT_TEST_UNSET_SLACK_URL is not set"));
    for args in [
        vec!["silence", "add", "--monitor", "model", "--until", "2h", "--reason", "maintenance"],
        vec!["silence", "list"],
        vec!["history", "--monitor", "model"],
        vec!["alert", "list"],
    ] {
        let mut full = args.clone();
        full.extend(["--config", s(&config)]);
        let out = drift(&full);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let out = drift(&["alert", "test", "--config", s(&config), "--sink", "slack"]);
    assert_eq!(out.status.code(), Some(2), "alert test needs the secret");
    drop(dir);
}

#[test]
fn dead_letters_can_be_queued_again_once_the_sink_is_fixed() {
    let rx = Receiver::start(0, vec![Reply::Status(404, "no_service", None)]);
    let (dir, config) = config_dir(&rx.url("/services/x"), "");
    let root = dir.path();
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("external_url = \"https://grafana.example/d/drift?var-monitor={{monitor}}\"\n{text}"),
    )
    .unwrap();
    land(root, "1.parquet", 1.0, 2);
    let (code, out) = once(&config);
    assert_eq!(code, 0, "{out}");
    let dead = String::from_utf8_lossy(&drift(&["alert", "list", "--status", "dead", "--config", s(&config)]).stdout)
        .into_owned();
    let line = dead.lines().find(|l| l.contains("slack")).unwrap_or_else(|| panic!("{dead}"));
    assert!(line.contains("DataDrift window 1") && line.contains("HTTP 404: no_service"), "{dead}");
    let id = line.split_whitespace().next().unwrap();

    // Fixed (the receiver answers 200 now): queue it again by id; a second retry finds nothing.
    let out = drift(&["alert", "retry", "--config", s(&config), id]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = drift(&["alert", "retry", "--config", s(&config), id]);
    assert_eq!(out.status.code(), Some(2), "only dead letters are retried");
    let (code, out) = once(&config);
    assert_eq!(code, 0, "{out}");
    let got = rx.received();
    assert_eq!(got.len(), 2, "the 404, then the retry");
    assert_eq!(got[0].idempotency_key, got[1].idempotency_key);
    let link = got[1].body["blocks"].as_array().unwrap().last().unwrap()["text"]["text"].as_str().unwrap().to_owned();
    assert!(link.contains("var-monitor=model"), "external_url's {{monitor}} is filled in: {link}");
    let delivered =
        String::from_utf8_lossy(&drift(&["alert", "list", "--status", "delivered", "--config", s(&config)]).stdout)
            .into_owned();
    assert!(delivered.lines().any(|l| l.starts_with(&format!("{id:>5}")) && l.contains("slack")), "{delivered}");
    let out = drift(&["alert", "retry", "--config", s(&config), "--sink", "nope"]);
    assert_eq!(out.status.code(), Some(2));
}
