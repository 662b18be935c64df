//! The latency objective's error budget and the daemon's own `LatencyBudgetBurn`, through the
//! daemon's cycle on an injected clock over real Parquet files and a real state: good and total
//! requests counted per minute of event time as files are consumed, burn rates evaluated at the
//! watermark every cycle. A fast burn pages (the 1h/5m pair) without a ticket and resets once
//! the short windows are clean; a slow burn raises a ticket (the 3d/6h pair) without a page and
//! resets the same way. The workbook's numbers: 14.4 and 6 for the pages, 1 for the ticket.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, TimestampMillisecondArray};
use drift::alerts::payload::Notification;
use drift::synth::Rng;
use serde_json::Value;
use tempfile::TempDir;

use crate::support::{drift, s, write};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// Friday 2026-11-20 00:00:00 UTC: the incidents' event time (the clock runs later).
const T0: i64 = 1_795_132_800_000;

/// Requests over `[from, to)`: `per_minute` a minute, the first `bad` of each minute 600 ms
/// (over the 250 ms objective), the others about 40 ms.
fn requests(from: i64, to: i64, per_minute: usize, bad: usize, seed: u64) -> Vec<(&'static str, ArrayRef)> {
    let mut r = Rng::new(seed);
    let (mut t, mut latency, mut x) = (Vec::new(), Vec::new(), Vec::new());
    for minute in (from..to).step_by(MINUTE as usize) {
        for i in 0..per_minute {
            t.push(minute + (i as i64 * MINUTE) / per_minute as i64);
            latency.push(if i < bad { 600.0 } else { 40.0 * (0.2 * r.normal()).exp() });
            x.push(r.normal());
        }
    }
    vec![
        ("t", Arc::new(TimestampMillisecondArray::from(t)) as ArrayRef),
        ("latency_ms", Arc::new(Float64Array::from(latency))),
        ("x", Arc::new(Float64Array::from(x))),
    ]
}

/// A daemon file and one monitor with `[latency.objective]` (250 ms for 99% over 30 days, the
/// workbook's rules), a log sink on the warning route and another on the critical one.
fn setup(root: &Path, window: &str) -> drift::config::Config {
    write(root, "reference.parquet", requests(T0 - 10 * DAY, T0 - 10 * DAY + 60 * MINUTE, 20, 0, 1));
    std::fs::create_dir_all(root.join("incoming")).unwrap();
    std::fs::create_dir_all(root.join("monitors")).unwrap();
    std::fs::write(
        root.join("drift.toml"),
        "state_dir = \"state\"\nlisten = \"127.0.0.1:0\"\nmonitors_dir = \"monitors\"\n\n\
         [sinks.tickets]\ntype = \"log\"\n\n[sinks.pager]\ntype = \"log\"\n",
    )
    .unwrap();
    std::fs::write(
        root.join("monitors/api.toml"),
        format!(
            "[source]\npath = \"../incoming\"\nsettle_secs = 0\n\n[reference]\npath = \"../reference.parquet\"\n\n\
             [window]\n{window}\ntimestamp_column = \"t\"\nmin_rows = 10\n\n\
             [columns]\nexclude = [\"t\", \"latency_ms\"]\n\n\
             [latency]\ncolumn = \"latency_ms\"\n\n\
             [latency.objective]\nthreshold_ms = 250\ntarget = 0.99\nperiod_days = 30\n\n\
             [alerts]\nwarning = [\"tickets\"]\ncritical = [\"pager\"]\n"
        ),
    )
    .unwrap();
    drift::config::load(&root.join("drift.toml")).unwrap()
}

/// The burn-rate notifications queued so far, oldest first: (sink, notification).
fn burns(root: &Path) -> Vec<(String, Notification)> {
    let conn = rusqlite::Connection::open(root.join("state/drift.sqlite3")).unwrap();
    let mut stmt = conn
        .prepare("SELECT sink, notification FROM outbox WHERE alertname = 'LatencyBudgetBurn' ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
        .map(|row| {
            let (sink, json) = row.unwrap();
            (sink, serde_json::from_str(&json).unwrap())
        })
        .collect()
}

/// Runs the monitor's cycles over the landed files, one file per cycle at a later clock.
struct Run {
    shared: Arc<drift::daemon::Shared>,
    runs: Vec<drift::daemon::MonitorRun>,
    rt: tokio::runtime::Runtime,
    files: usize,
    now: i64,
    /// Windows closed so far.
    closed: usize,
}

impl Run {
    fn start(cfg: &drift::config::Config) -> Run {
        let (shared, runs) = drift::daemon::prepare(cfg).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        Run { shared, runs, rt, files: 0, now: drift::clock::now_ms(), closed: 0 }
    }

    /// Lands a file of requests and runs one cycle a minute later on the injected clock; returns
    /// the budget as the cycle evaluated it.
    fn land(&mut self, root: &Path, rows: Vec<(&'static str, ArrayRef)>) -> Value {
        let f = write(&root.join("incoming"), &format!("{:03}.parquet", self.files), rows);
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        std::fs::File::options().write(true).open(&f).unwrap().set_modified(old).unwrap();
        self.files += 1;
        self.now += MINUTE;
        let outcome = self.rt.block_on(drift::daemon::cycle(&self.shared, &mut self.runs[0], self.now)).unwrap();
        assert_eq!(outcome.consumed, 1);
        self.closed += outcome.windows.len();
        // What `/api/v1/monitors` shows after the cycle: the same budget.
        let budget = serde_json::to_value(&outcome.budgets[0]).unwrap();
        drift::daemon::status::record(&self.shared, &mut self.runs[0], &Ok(outcome), self.now);
        let api = serde_json::to_value(&self.shared.status.lock().unwrap()["api"]).unwrap();
        assert_eq!(api["budgets"][0], budget, "{api:#}");
        // And the gauges `/metrics` shows.
        let text = self.shared.metrics.encode();
        let left = budget["budget_left"].as_f64().unwrap();
        let want = format!("drift_budget_remaining_ratio{{monitor=\"api\",kind=\"latency\"}} {left:?}");
        assert!(text.contains(&want), "{want} in {text}");
        budget
    }
}

/// The burn rates of a rule in an evaluated budget: (long, short, threshold).
fn rates(budget: &Value, rule: &str) -> (f64, f64, f64) {
    let r = budget["rules"].as_array().unwrap().iter().find(|r| r["name"] == rule).unwrap();
    (r["long_rate"].as_f64().unwrap(), r["short_rate"].as_f64().unwrap(), r["threshold"].as_f64().unwrap())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// A day of good requests, then 10 minutes where every request takes 600 ms: 1/6 of the last
/// hour bad, a burn rate of 16.7 over 1 h and 100 over 5 min, both above 14.4: the page fires
/// (critical route, the Slack message with the rule, its rates and the budget left). Over 3 days
/// it is 0.69 < 1: no ticket. The page holds while the 6h/30m pair's short window still burns,
/// and resolves once every short window is clean.
#[test]
fn a_fast_burn_pages_without_a_ticket_and_resets_when_the_short_windows_are_clean() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    let cfg = setup(root, "type = \"files\"");
    let mut run = Run::start(&cfg);

    let b = run.land(root, requests(T0 - DAY, T0, 20, 0, 2));
    assert_eq!(b["as_of_ms"], T0, "the end of the latest minute counted");
    assert_eq!((b["period"]["good"].as_u64(), b["period"]["total"].as_u64()), (Some(28_800), Some(28_800)));
    assert!(burns(root).is_empty());

    let b = run.land(root, requests(T0, T0 + 10 * MINUTE, 20, 20, 3));
    let (long, short, threshold) = rates(&b, "1h/5m");
    assert!(close(long, 200.0 / 1200.0 / 0.01) && close(short, 100.0) && close(threshold, 14.4), "{b:#}");
    let (long, short, threshold) = rates(&b, "3d/6h");
    assert!(close(long, 200.0 / 29_000.0 / 0.01) && long < 1.0 && short > 1.0 && close(threshold, 1.0), "{b:#}");
    let queued = burns(root);
    assert_eq!(queued.len(), 1, "one page, no ticket: {queued:#?}");
    let (sink, n) = &queued[0];
    assert_eq!((sink.as_str(), n.severity.as_str(), n.resolved), ("pager", "critical", false));
    assert_eq!(n.findings.iter().map(|f| f.column.as_str()).collect::<Vec<_>>(), ["1h/5m"]);
    let slack = drift::alerts::slack::message(n).to_string();
    assert!(slack.contains("🔴 LatencyBudgetBurn in api: 1 rule(s) burning"), "{slack}");
    assert!(
        slack.contains("burn rate 16.7 over 1h and 100.0 over 5m, above 14.4 (2% of the 30-day budget in 1h)"),
        "{slack}"
    );
    // 200 bad of 29 000: the budget is 290, 31% of it left.
    assert!(
        slack.contains("31.0% of the 30-day error budget left: 28800 of 29000 requests with latency_ms &lt;= 250 ms"),
        "{slack}"
    );
    let body = drift::alerts::payload::webhook(n);
    assert_eq!(body["drift"]["latency"]["budget"]["level"], "page", "{body:#}");
    assert_eq!(body["drift"]["columns"], serde_json::json!([]), "drift.columns stays drift's");

    // 10 good minutes: the 5 min window is clean, but the last 30 minutes are a third bad
    // (33 > 6): the 6h/30m page holds the alert.
    let b = run.land(root, requests(T0 + 10 * MINUTE, T0 + 20 * MINUTE, 20, 0, 4));
    let (_, short, threshold) = rates(&b, "6h/30m");
    assert!(close(short, 100.0 / 3.0) && close(threshold, 6.0), "{b:#}");
    assert_eq!(burns(root).len(), 1, "holding");
    // 20 more: every short window clean: resolved, on the route that was paged.
    run.land(root, requests(T0 + 20 * MINUTE, T0 + 40 * MINUTE, 20, 0, 5));
    let queued = burns(root);
    assert_eq!(queued.len(), 2, "{queued:#?}");
    assert_eq!((queued[1].0.as_str(), queued[1].1.resolved), ("pager", true));
    assert!(drift::alerts::slack::message(&queued[1].1).to_string().contains("✅ Resolved: api — LatencyBudgetBurn"));
    let st = drift::state::State::open_read_only(&root.join("state")).unwrap();
    assert_eq!(st.budget_sum("api", "latency", 0, i64::MAX).unwrap().total, 29_000 + 600, "each file once");
}

/// Daily event-time windows. A day of good requests, then a day with 4% of the
/// requests over the objective: 2% over 3 days and 4% over 6 h, both above the ticket's rate 1,
/// while 4 stays below the pages' 14.4 and 6: a ticket (warning route), no page. Seven good
/// hours later the 6 h window is clean and the ticket resolves, in a cycle that closes no window;
/// `drift history` shows the budget left over the period.
#[test]
fn a_slow_burn_raises_a_ticket_without_a_page_and_resets() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    let cfg = setup(root, "type = \"time\"\nsize_secs = 86400\nallowed_lateness_secs = 0\nidle_timeout_secs = 864000");
    let mut run = Run::start(&cfg);
    run.land(root, requests(T0 - DAY, T0, 50, 0, 2));
    let b = run.land(root, requests(T0, T0 + DAY, 50, 2, 3));
    assert_eq!(b["as_of_ms"], T0 + DAY - MINUTE, "the watermark (the latest event), down to the minute");
    let (long, short, threshold) = rates(&b, "3d/6h");
    let bad_share = (1439.0 * 2.0) / (2879.0 * 50.0);
    assert!(close(long, bad_share / 0.01) && close(short, 4.0) && close(threshold, 1.0), "{b:#}");
    let (long, short, _) = rates(&b, "1h/5m");
    assert!(close(long, 4.0) && close(short, 4.0), "{b:#}");
    let queued = burns(root);
    assert_eq!(queued.len(), 1, "a ticket, no page: {queued:#?}");
    let (sink, n) = &queued[0];
    assert_eq!((sink.as_str(), n.severity.as_str()), ("tickets", "warning"));
    assert_eq!(n.findings[0].column, "3d/6h");
    let slack = drift::alerts::slack::message(n).to_string();
    assert!(slack.contains("🟠 LatencyBudgetBurn in api") && slack.contains("ticket"), "{slack}");
    assert!(slack.contains("the 30-day error budget is overspent by 99.9%: 141072 of 143950 requests"), "{slack}");

    let out = drift(&["history", "--config", s(&root.join("drift.toml")), "--monitor", "api"]);
    let text = String::from_utf8_lossy(&out.stdout);
    // Two days of requests in the period: a budget of 1439.5 bad ones, 2878 spent.
    let want =
        "error budget (latency_ms <= 250 ms, target 99% over 30 d): left none (overspent by 99.9%); 2878 bad of 143950";
    assert!(text.starts_with(want), "{text}");
    assert!(
        text.contains("LatencyBudgetBurn ticket  3d/6h  burn rate 2.00 over 3d, 4.00 over 6h (fires above 1): FIRING"),
        "{text}"
    );

    // An hour of good requests closes the slow day's window; the last 6 h still burn at 3.3.
    let b = run.land(root, requests(T0 + DAY, T0 + DAY + HOUR, 50, 0, 4));
    assert_eq!(run.closed, 2, "both days' windows closed");
    assert!(close(rates(&b, "3d/6h").1, 301.0 * 2.0 / 18_000.0 / 0.01), "5 h and a minute of the slow day: {b:#}");
    assert_eq!(burns(root).len(), 1, "still burning");
    // Six more good hours, inside the open window of the next day: no window closes, yet the
    // 6 h window is clean and the ticket resolves.
    run.land(root, requests(T0 + DAY + HOUR, T0 + DAY + 7 * HOUR, 50, 0, 5));
    assert_eq!(run.closed, 2, "no window closed: only the per-cycle evaluation resets it");
    let queued = burns(root);
    assert_eq!(queued.len(), 2, "{queued:#?}");
    assert_eq!((queued[1].0.as_str(), queued[1].1.resolved), ("tickets", true));
}

/// A kill -9 before, at and after the transaction that consumes a file (pause points
/// `fetched`, `commit`, `committed`), then a `--once` restart: every file's requests are in the
/// budget's minutes exactly once (overlapping minutes of two files added, not replaced), for a
/// files window and for an event-time window whose files join open windows.
#[test]
fn a_kill_at_each_commit_point_counts_every_request_exactly_once() {
    for window in ["type = \"files\"", "type = \"time\"\nsize_secs = 86400\nallowed_lateness_secs = 0"] {
        let dir = TempDir::new().unwrap();
        let root = dir.path();
        setup(root, window);
        let config = root.join("drift.toml");
        for (i, point) in ["fetched", "commit", "committed"].into_iter().enumerate() {
            // An hour of requests, the last 5 minutes shared with the next file; 1 in 20 slow.
            let from = T0 + i as i64 * 55 * MINUTE;
            let f = write(
                &root.join("incoming"),
                &format!("{i}.parquet"),
                requests(from, from + HOUR, 20, 1, 10 + i as u64),
            );
            let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
            std::fs::File::options().write(true).open(&f).unwrap().set_modified(old).unwrap();
            let d = crate::support::Daemon::start(&config, &[("DRIFT_TEST_PAUSE_AT", point)]);
            let reached = d.wait_log(30, &["test pause point reached", &format!("\"point\":\"{point}\"")]);
            assert!(reached.is_some(), "{window}: file {i} never reached {point}: {}", d.log());
            d.kill_9();
            let out = drift(&["run", "--once", "--config", s(&config)]);
            assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        }
        let st = drift::state::State::open_read_only(&root.join("state")).unwrap();
        let all = st.budget_sum("api", "latency", 0, i64::MAX).unwrap();
        assert_eq!((all.good, all.total), (3 * 1140, 3 * 1200), "{window}: every request once");
        let shared = st.budget_sum("api", "latency", T0 + 55 * MINUTE, T0 + HOUR).unwrap();
        assert_eq!(shared.total, 5 * 40, "{window}: two files' requests in the shared minutes");
    }
}
