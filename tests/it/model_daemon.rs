//! The daemon's late-label join end to end (issue #13), through the real binary on real files,
//! a real SQLite state and an injected clock (`DRIFT_TEST_CLOCK_OFFSET_SECS`): predictions land,
//! labels land days later (some before their predictions, some duplicated with a later
//! `label_time`, some for ids that never come), windows go from pending labels to partial to
//! final, the degraded window (and its degraded segment) fires `ModelPerformanceDegraded`
//! once, the metric equals `drift check --model-task` over the same rows and labels, and a
//! kill -9 in the middle of applying labels or storing an evaluation changes nothing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, StringArray, TimestampMillisecondArray};
use drift::synth::Rng;
use tempfile::TempDir;

use crate::support::{Daemon, s, write};

pub(crate) const DAY: i64 = 86_400;

/// A model's rows: id, region, score, prediction and the label (drawn: the model is good,
/// or, for the ids `degraded` says, the label is a coin toss).
pub(crate) struct Rows {
    id: Vec<String>,
    region: Vec<&'static str>,
    score: Vec<f64>,
    label: Vec<&'static str>,
}

fn rows(prefix: &str, n: usize, seed: u64, degraded: impl Fn(&str) -> bool) -> Rows {
    let mut r = Rng::new(seed);
    let mut out = Rows { id: Vec::new(), region: Vec::new(), score: Vec::new(), label: Vec::new() };
    for i in 0..n {
        let region = if r.uniform() < 0.5 { "north" } else { "south" };
        let score = r.uniform();
        let p = if degraded(region) { 0.5 } else { score };
        out.id.push(format!("{prefix}{i}"));
        out.region.push(region);
        out.score.push(score);
        out.label.push(if r.uniform() < p { "1" } else { "0" });
    }
    out
}

/// Prediction columns (and the drift column `x`, the same distribution everywhere).
pub(crate) fn predictions(r: &Rows, with_label: bool) -> Vec<(&'static str, ArrayRef)> {
    let mut x = Rng::new(r.id.len() as u64 + 7);
    let mut cols: Vec<(&'static str, ArrayRef)> = vec![
        ("id", Arc::new(StringArray::from(r.id.clone()))),
        ("region", Arc::new(StringArray::from(r.region.clone()))),
        ("score", Arc::new(Float64Array::from(r.score.clone()))),
        (
            "prediction",
            Arc::new(StringArray::from(r.score.iter().map(|s| if *s >= 0.5 { "1" } else { "0" }).collect::<Vec<_>>())),
        ),
        ("x", Arc::new(Float64Array::from((0..r.id.len()).map(|_| x.normal()).collect::<Vec<_>>()))),
    ];
    if with_label {
        cols.push(("label", Arc::new(StringArray::from(r.label.clone()))));
    }
    cols
}

/// A label file: (id, label, label_time).
pub(crate) fn labels(dir: &Path, name: &str, rows: &[(String, &str, i64)]) -> PathBuf {
    write(
        dir,
        name,
        vec![
            ("id", Arc::new(StringArray::from(rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>())) as ArrayRef),
            ("label", Arc::new(StringArray::from(rows.iter().map(|r| r.1).collect::<Vec<_>>()))),
            ("label_time", Arc::new(TimestampMillisecondArray::from(rows.iter().map(|r| r.2).collect::<Vec<_>>()))),
        ],
    )
}

pub(crate) struct Setup {
    pub(crate) dir: TempDir,
    pub(crate) config: PathBuf,
    pub(crate) w1: Rows,
    pub(crate) w2: Rows,
}

/// The late-label monitor of the scenario: rows windows, segments, label files.
const LATE_LABELS: &str = r#"[window]
type = "rows"
rows = 1000
min_rows = 50

[labels]
path = "../labels"
settle_secs = 0
min_coverage = 0.5
max_delay_secs = 1209600
"#;

pub(crate) fn setup() -> Setup {
    setup_with(LATE_LABELS)
}

/// A model monitor whose `[window]` and `[labels]` are `tables`.
fn setup_with(tables: &str) -> Setup {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    // The model reference: a good model, labelled; the drift reference: the same without labels.
    let holdout = rows("h", 8000, 1, |_| false);
    write(root, "holdout.parquet", predictions(&holdout, true));
    write(root, "reference.parquet", predictions(&holdout, false));
    for d in ["incoming", "labels", "monitors"] {
        std::fs::create_dir(root.join(d)).unwrap();
    }
    let config = root.join("drift.toml");
    std::fs::write(
        &config,
        "state_dir = \"state\"\nlisten = \"127.0.0.1:0\"\npoll_secs = 1\ndrain_timeout_secs = 5\nmonitors_dir = \"monitors\"\n\n[sinks.audit]\ntype = \"file\"\npath = \"alerts.jsonl\"\n",
    )
    .unwrap();
    let monitor = r#"[source]
path = "../incoming"
settle_secs = 0
poll_secs = 1

[reference]
path = "../reference.parquet"

[columns]
exclude = ["id"]

[segments]
by = ["region"]
min_rows = 100

[alerts]
warning = ["audit"]
critical = ["audit"]

[model]
task = "binary"
id = "id"
prediction = "prediction"
score = "score"
positive = "1"
reference = "../holdout.parquet"

[model.thresholds]
roc_auc = "learned"
accuracy = { min = 0.55 }
"#;
    std::fs::write(root.join("monitors/model.toml"), format!("{monitor}\n{tables}")).unwrap();
    // Window 1: the model as good as on its reference; window 2: a coin toss in the south.
    let w1 = rows("a", 1000, 2, |_| false);
    let w2 = rows("b", 1000, 3, |region| region == "south");
    Setup { dir, config, w1, w2 }
}

pub(crate) fn path(st: &Setup, rel: &str) -> PathBuf {
    st.dir.path().join(rel)
}

/// `drift run --once` on the clock `days` later.
pub(crate) fn once(st: &Setup, days: i64) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_drift"))
        .args(["run", "--once", "--config", s(&st.config)])
        .env(drift::clock::OFFSET_VARIABLE, (days * DAY).to_string())
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    text
}

/// The daemon on the clock `days` later, killed with SIGKILL at the pause point `at`.
fn killed_at(st: &Setup, days: i64, at: &str) {
    let offset = (days * DAY).to_string();
    let d = Daemon::start(&st.config, &[("DRIFT_TEST_PAUSE_AT", at), (drift::clock::OFFSET_VARIABLE, offset.as_str())]);
    let reached = d.wait_log(60, &["test pause point reached", &format!("\"point\":\"{at}\"")]);
    assert!(reached.is_some(), "never reached {at}: {}", d.log());
    d.kill_9();
}

/// Every window's `model` object from `drift history --format json`, oldest first.
pub(crate) fn model_history(st: &Setup) -> Vec<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_drift"))
        .args(["history", "--config", s(&st.config), "--monitor", "model", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let h: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut windows: Vec<serde_json::Value> = h.as_array().unwrap().iter().map(|w| w["model"].clone()).collect();
    windows.reverse();
    windows
}

/// The `ModelPerformanceDegraded` messages the file sink got: (segment, resolved).
fn model_alerts(st: &Setup) -> Vec<(String, bool)> {
    let text = std::fs::read_to_string(path(st, "alerts.jsonl")).unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["commonLabels"]["alertname"] == "ModelPerformanceDegraded" {
            let segment = v["commonLabels"]["segment"].as_str().unwrap_or_default().to_owned();
            out.push((segment, v["status"] == "resolved"));
        }
    }
    out
}

pub(crate) fn label_rows(r: &Rows, range: std::ops::Range<usize>, at: i64) -> Vec<(String, &'static str, i64)> {
    range.map(|i| (r.id[i].clone(), r.label[i], at)).collect()
}

/// Lands everything in order, with a kill -9 at `kills` (day, point) before that day's run.
/// Returns each run's output and the final history.
fn scenario(kills: &[(i64, &str)]) -> (Setup, Vec<String>, Vec<serde_json::Value>) {
    let st = setup();
    let (inc, lab) = (path(&st, "incoming"), path(&st, "labels"));
    let t0 = drift::clock::now_ms();
    let mut outs = Vec::new();
    let mut run = |st: &Setup, day: i64| {
        if let Some((_, at)) = kills.iter().find(|(d, _)| *d == day) {
            killed_at(st, day, at);
        }
        outs.push(once(st, day));
    };
    // Day 0: window 1's predictions, and labels ahead of their predictions: 100 of window 2's,
    // and 30 for ids that never come.
    write(&inc, "p1.parquet", predictions(&st.w1, false));
    let mut early = label_rows(&st.w2, 0..100, t0);
    early.extend((0..30).map(|i| (format!("ghost{i}"), "1", t0)));
    labels(&lab, "l0.parquet", &early);
    run(&st, 0);
    // Day 1: window 2's predictions; 700 of window 1's labels, 20 of them wrong at first and
    // corrected by a later label_time written earlier in the file (the last by time wins, not
    // the last in the file).
    write(&inc, "p2.parquet", predictions(&st.w2, false));
    let at = t0 + DAY * 1000;
    let mut l1: Vec<(String, &str, i64)> = (0..20).map(|i| (st.w1.id[i].clone(), st.w1.label[i], at + 5)).collect();
    l1.extend(label_rows(&st.w1, 0..700, at));
    for row in &mut l1[20..40] {
        row.1 = if row.1 == "1" { "0" } else { "1" };
    }
    labels(&lab, "l1.parquet", &l1);
    run(&st, 1);
    // Day 2: 500 more of window 2's labels: 60% labelled.
    labels(&lab, "l2.parquet", &label_rows(&st.w2, 100..600, t0 + 2 * DAY * 1000));
    run(&st, 2);
    // Day 16: both windows are past max_delay_secs (14 days); nothing new lands.
    run(&st, 16);
    let h = model_history(&st);
    (st, outs, h)
}

fn metric(judged: &serde_json::Value, name: &str) -> f64 {
    let m = judged["performance"]["metrics"].as_array().unwrap().iter().find(|m| m["metric"] == name).unwrap();
    m["value"].as_f64().unwrap_or_else(|| panic!("{name} undefined: {m}"))
}

fn segment<'a>(evaluation: &'a serde_json::Value, label: &str) -> &'a serde_json::Value {
    evaluation["segments"].as_array().unwrap().iter().find(|s| s["segment"] == label).unwrap()
}

#[test]
fn labels_landing_days_later_take_windows_from_pending_to_partial_to_final_and_page_once() {
    let (st, outs, h) = scenario(&[]);
    // Day 0: window 1 waits for its labels; no model line yet.
    assert!(outs[0].contains("model: window 1: 1 files, 1000 rows"), "{}", outs[0]);
    assert!(!outs[0].contains("model performance"), "{}", outs[0]);
    // Day 1: window 1 has 700 of 1000 labels: partial, and fine.
    let w1 = outs[1].lines().find(|l| l.contains("window 1 model performance (partial)")).expect(&outs[1]);
    assert!(w1.contains("700 of 1000 predictions labelled (70%)") && w1.ends_with("; ok"), "{w1}");
    // Day 2: window 2 (100 early labels + 500): partial and degraded, the south segment too.
    let w2 = outs[2].lines().find(|l| l.contains("window 2 model performance (partial)")).expect(&outs[2]);
    assert!(w2.contains("600 of 1000 predictions labelled (60%)") && w2.ends_with("DEGRADED"), "{w2}");
    assert!(outs[2].contains("segment region=south: "), "{}", outs[2]);
    assert!(!outs[2].contains("segment region=north: "), "north is fine: {}", outs[2]);
    // Day 16: both final, nothing new to say to receivers.
    assert!(outs[3].contains("window 1 model performance (final)"), "{}", outs[3]);
    assert!(outs[3].contains("window 2 model performance (final)"), "{}", outs[3]);

    assert_eq!(h.len(), 2, "{h:?}");
    for (w, labelled) in h.iter().zip([700, 600]) {
        assert_eq!((w["status"].as_str(), w["labelled"].as_u64()), (Some("final"), Some(labelled)), "{w}");
    }
    assert_eq!(h[0]["verdict"], "clean", "{}", h[0]);
    assert_eq!(h[1]["verdict"], "breached", "{}", h[1]);
    let e2 = &h[1]["evaluation"];
    assert_eq!(segment(e2, "region=south")["status"], "breached", "{e2}");
    assert_eq!(segment(e2, "region=north")["status"], "clean", "{e2}");
    let join = &e2["join"];
    assert_eq!(join["duplicates"], 20, "the 20 corrected labels: {join}");
    assert_eq!(join["unmatched"], 30, "the ghosts, expired after max_delay_secs: {join}");
    assert_eq!(join["pending_labels"], 0, "{join}");
    // Counted as window 2 was finalized: window 1's predictions are gone (a final window
    // keeps only its evaluation), window 2's own still held until this evaluation is stored.
    assert_eq!(join["held_predictions"], 1000, "{join}");
    // Learned band over reference chunks of the window's labelled rows.
    let roc = e2["whole"]["checks"].as_array().unwrap().iter().find(|c| c["metric"] == "roc_auc").unwrap();
    assert_eq!((roc["threshold"].as_str(), roc["chunk_rows"].as_u64()), (Some("learned"), Some(600)), "{roc}");
    assert_eq!(roc["band"]["chunks"], 13, "8000 reference rows in chunks of 600: {roc}");
    assert_eq!(roc["breached"], true, "{roc}");

    // Paged once for the window and once for the south, never for the north, never resolved.
    let mut alerts = model_alerts(&st);
    alerts.sort();
    assert_eq!(
        alerts,
        [(String::new(), false), ("region=south".to_owned(), false)],
        "{alerts:?} {}",
        std::fs::read_to_string(path(&st, "alerts.jsonl")).unwrap_or_default()
    );

    // The daemon's window 1 equals `drift check --model-task` on the same predictions and label
    // files (the corrected labels win by label_time in both).
    let out = Command::new(env!("CARGO_BIN_EXE_drift"))
        .args(["check", "--reference", s(&path(&st, "holdout.parquet")), "--current"])
        .arg(path(&st, "incoming/p1.parquet"))
        .args(["--columns", "x", "--model-task", "binary", "--prediction", "prediction", "--score", "score"])
        .args(["--label", "label", "--id", "id", "--format", "json", "--no-progress", "--labels"])
        .arg(path(&st, "labels/l0.parquet"))
        .arg(path(&st, "labels/l1.parquet"))
        .output()
        .unwrap();
    let check: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let current = &check["model"]["current"];
    let w1 = &h[0]["evaluation"]["whole"];
    for name in ["roc_auc", "accuracy", "f1", "log_loss", "brier", "ece", "average_precision"] {
        let (got, want) = (metric(w1, name), metric(current, name));
        assert!((got - want).abs() < 1e-12, "{name}: daemon {got}, check {want}");
    }
    // And its labels' drift against the model reference equals the check's.
    let shares = |v: &serde_json::Value| -> Vec<(String, f64, f64)> {
        let a = v["shares"].as_array().unwrap_or_else(|| panic!("no shares: {v}"));
        a.iter().map(|s| (s[0].as_str().unwrap().to_owned(), s[1].as_f64().unwrap(), s[2].as_f64().unwrap())).collect()
    };
    let (daemon, check) = (shares(&h[0]["evaluation"]["label_drift"]), shares(&check["model"]["label_drift"]));
    assert_eq!((daemon.len(), check.len()), (2, 2), "{daemon:?} {check:?}");
    for (d, c) in daemon.iter().zip(&check) {
        assert!(
            d.0 == c.0 && (d.1 - c.1).abs() < 1e-12 && (d.2 - c.2).abs() < 1e-12,
            "daemon {daemon:?}, check {check:?}"
        );
    }
}

#[test]
fn a_kill_9_while_consuming_predictions_applying_labels_or_storing_an_evaluation_changes_nothing() {
    let (st, _, want) = scenario(&[]);
    let want_alerts = model_alerts(&st);
    // Killed holding a label file's transaction (day 1: the corrections), and holding the
    // degraded window's evaluation before it is stored and its alert stepped (day 2).
    let (st, _, got) = scenario(&[(1, "labels"), (2, "model")]);
    assert_eq!(got, want, "the same windows, labels, evaluations and counts");
    assert_eq!(model_alerts(&st), want_alerts, "each page exactly once");
    // Killed just before the transaction that consumes window 1's prediction file with its
    // join rows (day 0), and just after window 2's (day 1, before its labels are applied).
    let (st, _, got) = scenario(&[(0, "commit"), (1, "committed")]);
    assert_eq!(got, want, "predictions kept once, with their file");
    assert_eq!(model_alerts(&st), want_alerts, "each page exactly once");
}

/// Window 1's first labels are wrong (corrected later by a later `label_time`), window 2's model
/// is a coin toss: both page at their partial evaluation. When both go final, window 1 turned
/// clean but window 2 is still degraded: an older window's final verdict must not resolve what
/// the newer window speaks for, and window 2's unchanged verdict must not count twice.
#[test]
fn an_older_windows_final_verdict_does_not_resolve_what_a_newer_window_breaches() {
    let mut st = setup();
    let monitor = path(&st, "monitors/model.toml");
    let text = std::fs::read_to_string(&monitor).unwrap();
    std::fs::write(&monitor, text.replace("[alerts]\n", "[alerts]\nfire_after = 1\nresolve_after = 1\n")).unwrap();
    st.w2 = rows("b", 1000, 3, |_| true);
    let (inc, lab) = (path(&st, "incoming"), path(&st, "labels"));
    let t0 = drift::clock::now_ms();
    write(&inc, "p1.parquet", predictions(&st.w1, false));
    write(&inc, "p2.parquet", predictions(&st.w2, false));
    once(&st, 0);
    let mut wrong = label_rows(&st.w1, 0..600, t0 + DAY * 1000);
    for row in &mut wrong {
        row.1 = if row.1 == "1" { "0" } else { "1" };
    }
    wrong.extend(label_rows(&st.w2, 0..600, t0 + DAY * 1000));
    labels(&lab, "l1.parquet", &wrong);
    once(&st, 1);
    let fired = model_alerts(&st);
    assert!(fired.contains(&(String::new(), false)), "the partial evaluations page: {fired:?}");
    assert!(fired.iter().all(|(_, resolved)| !resolved), "{fired:?}");
    let mut right = label_rows(&st.w1, 0..1000, t0 + 2 * DAY * 1000);
    right.extend(label_rows(&st.w2, 600..1000, t0 + 2 * DAY * 1000));
    labels(&lab, "l2.parquet", &right);
    once(&st, 2);
    once(&st, 15);
    let h = model_history(&st);
    let finals: Vec<(&str, &str)> =
        h.iter().map(|m| (m["status"].as_str().unwrap(), m["verdict"].as_str().unwrap())).collect();
    assert_eq!(finals, [("final", "clean"), ("final", "breached")], "{h:?}");
    assert_eq!(model_alerts(&st), fired, "nothing resolved by window 1 and nothing re-sent for window 2");
    let list =
        Command::new(env!("CARGO_BIN_EXE_drift")).args(["alert", "list", "--config", s(&st.config)]).output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(list.lines().any(|l| l.contains("ModelPerformanceDegraded") && l.contains("firing")), "{list}");
}

/// A positive class the labels do not write (`"yes"` for labels 0/1) is not a window of
/// negatives: the monitor fails in part naming the key (`run --once` exits 1), its drift window
/// is still evaluated and printed, and once the key is fixed the waiting window is evaluated.
#[test]
fn a_positive_class_the_labels_do_not_write_fails_the_monitor_naming_the_key() {
    let st = setup();
    let monitor = path(&st, "monitors/model.toml");
    let text = std::fs::read_to_string(&monitor).unwrap();
    std::fs::write(&monitor, text.replace("positive = \"1\"", "positive = \"yes\"")).unwrap();
    write(&path(&st, "incoming"), "p1.parquet", predictions(&st.w1, false));
    labels(&path(&st, "labels"), "l1.parquet", &label_rows(&st.w1, 0..800, drift::clock::now_ms()));
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_drift"))
            .args(["run", "--once", "--config", s(&st.config)])
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
    };
    let (code, out) = run();
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("model performance not evaluated for 1 window(s)"), "{out}");
    assert!(out.contains(r#"no label is the positive class "yes", yet the labels have 2 classes ("0", "1")"#), "{out}");
    assert!(out.contains("set [model] positive"), "{out}");
    assert!(out.contains("window 1: 1 files, 1000 rows"), "the drift window is still said: {out}");
    let h = model_history(&st);
    assert_eq!(h.len(), 1, "the window itself was stored: {h:?}");
    assert_eq!(h[0]["status"], "pending", "{h:?}");
    std::fs::write(&monitor, text).unwrap();
    let (code, out) = run();
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(model_history(&st)[0]["status"], "partial", "evaluated once the key is fixed");
}

/// Labels already in the prediction files (a label column filled for some rows), files windows:
/// each window is evaluated as it closes; past `max_pending_predictions` the oldest window is
/// finalized early (counted and said); the long-running daemon serves the metrics.
#[test]
fn labels_in_the_prediction_files_with_a_cap_on_held_predictions_and_the_metrics_served() {
    let st = setup_with("[window]\nmin_rows = 50\n\n[labels]\nmin_coverage = 0.5\nmax_pending_predictions = 1500\n");
    let inc = path(&st, "incoming");
    // 60% of each file's rows carry their label.
    let with_labels = |r: &Rows| {
        let mut cols = predictions(r, false);
        let labels: Vec<Option<&str>> = r.label.iter().enumerate().map(|(i, l)| (i % 5 < 3).then_some(*l)).collect();
        cols.push(("label", Arc::new(StringArray::from(labels)) as ArrayRef));
        cols
    };
    write(&inc, "p1.parquet", with_labels(&st.w1));
    let out = once(&st, 0);
    let line = out.lines().find(|l| l.contains("window 1 model performance (partial)")).expect(&out);
    assert!(line.contains("600 of 1000 predictions labelled (60%)"), "{line}");
    write(&inc, "p2.parquet", with_labels(&st.w2));
    let out = once(&st, 0);
    assert!(
        out.contains("window 1 model performance (final, finalized early by max_pending_predictions)"),
        "2000 held > 1500: {out}"
    );
    assert!(out.contains("window 2 model performance (partial)"), "{out}");
    let h = model_history(&st);
    assert_eq!((h[0]["status"].as_str(), h[0]["early"].as_bool()), (Some("final"), Some(true)), "{}", h[0]);
    assert_eq!(h[1]["evaluation"]["join"]["early_windows"], 1, "{}", h[1]);

    // The daemon evaluates the next window and serves its metrics.
    write(&inc, "p3.parquet", with_labels(&rows("c", 1000, 4, |_| false)));
    let d = Daemon::start(&st.config, &[]);
    let port = d.port();
    let want = "drift_model_metric{monitor=\"model\",segment=\"\",metric=\"roc_auc\",status=\"partial\"}";
    // The join's counts are set after the cycle's evaluations: wait for both.
    let join = "drift_model_join{monitor=\"model\",count=\"early_windows\"}";
    let metrics = crate::support::wait_for(30, || {
        crate::support::http_get(port, "/metrics").map(|m| m.1).filter(|m| m.contains(want) && m.contains(join))
    });
    let metrics = metrics.unwrap_or_else(|| panic!("{want} never served: {}", d.log()));
    assert!(metrics.contains("drift_model_label_coverage{monitor=\"model\",segment=\"\"} 0.6"), "{metrics}");
    // Window 3's 1000 held with window 2's pass the cap again: window 2 is finalized early too.
    assert!(metrics.contains("drift_model_join{monitor=\"model\",count=\"early_windows\"} 2"), "{metrics}");
    // The status API names the last evaluated window (recorded as the cycle ends, just after
    // the metrics: waited for).
    let monitor = |body: &str| -> Option<serde_json::Value> {
        let status: serde_json::Value = serde_json::from_str(body).ok()?;
        let m = status.as_array().and_then(|a| a.first()).map_or(&status["monitors"][0], |m| m).clone();
        (!m["model"].is_null()).then_some(m)
    };
    let body = || crate::support::http_get(port, "/api/v1/monitors").map(|(_, b)| b).unwrap_or_default();
    let m = &crate::support::wait_for(30, || monitor(&body())).unwrap_or_else(|| panic!("no model in {}", body()));
    assert_eq!((m["model"]["window"].as_i64(), m["model"]["status"].as_str()), (Some(3), Some("partial")), "{m}");
    assert_eq!(m["model"]["labelled"], 600, "{m}");
}

/// Event-time windows: a file's predictions go to the windows its rows' times fall in, and a
/// window closed over parts of two files takes exactly its rows of each for the join.
#[test]
fn event_time_windows_take_each_files_predictions_of_their_span() {
    let st = setup_with(
        "[window]\ntype = \"time\"\nsize_secs = 3600\nallowed_lateness_secs = 0\ntimestamp_column = \"t\"\nmin_rows = 50\n\n[labels]\nmin_coverage = 0.5\n",
    );
    let inc = path(&st, "incoming");
    let base = 1_767_225_600_000i64; // 2026-01-01T00:00:00Z
    // Every row labelled; `minute(i)` is row i's event time.
    let timed = |r: &Rows, minute: &dyn Fn(i64) -> i64| {
        let mut cols = predictions(r, true);
        let t: Vec<i64> = (0..r.id.len() as i64).map(|i| base + minute(i) * 60_000).collect();
        cols.push(("t", Arc::new(TimestampMillisecondArray::from(t)) as ArrayRef));
        cols
    };
    // File 1: minutes 0..90 (600 rows in the first hour, 300 in the second); file 2: minutes
    // 90..130 (450 in the second hour, 150 in the third, which stays open).
    write(&inc, "p1.parquet", timed(&rows("a", 900, 2, |_| false), &|i| i * 90 / 900));
    write(&inc, "p2.parquet", timed(&rows("b", 600, 3, |_| false), &|i| 90 + i * 40 / 600));
    let out = once(&st, 0);
    assert!(out.contains("window 1 model performance (partial): 600 of 600 predictions labelled"), "{out}");
    assert!(out.contains("window 2 model performance (partial): 750 of 750 predictions labelled"), "{out}");
    let h = model_history(&st);
    let rows: Vec<Option<u64>> = h.iter().map(|m| m["rows"].as_u64()).collect();
    assert_eq!(rows, [Some(600), Some(750)], "{h:?}");
}

/// Label files are a source like the predictions: a damaged one and one without the id column
/// are retried, then quarantined (listed and released with the monitor), each named with what
/// is wrong, while the good one is applied.
#[test]
fn damaged_label_files_are_retried_then_quarantined_while_the_others_are_applied() {
    let st = setup();
    write(&path(&st, "incoming"), "p1.parquet", predictions(&st.w1, false));
    let lab = path(&st, "labels");
    std::fs::write(lab.join("a-damaged.parquet"), b"PAR1 this is not a parquet file").unwrap();
    write(&lab, "b-no-id.parquet", vec![("label", Arc::new(StringArray::from(vec!["1"])) as ArrayRef)]);
    labels(&lab, "c-good.parquet", &label_rows(&st.w1, 0..700, 0));
    // A prediction file whose score is not a probability: drift evaluates it, the join keeps
    // none of its predictions, and says why.
    let mut bad = predictions(&rows("z", 1000, 9, |_| false), false);
    bad[2].1 = Arc::new(Float64Array::from(vec![1.5; 1000]));
    write(&path(&st, "incoming"), "p2.parquet", bad);
    let first = once(&st, 0);
    assert!(first.contains("window 1 model performance (partial): 700 of 1000"), "{first}");
    assert!(first.contains("window 2: 1 files, 1000 rows"), "drift still evaluates the file: {first}");
    assert!(first.contains("score 1.5 is not a probability in [0, 1]"), "{first}");
    assert!(model_history(&st)[1].is_null(), "window 2 keeps no prediction for the join");
    assert!(first.contains("cannot read label file yet; will retry"), "{first}");
    for _ in 0..2 {
        once(&st, 0);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_drift"))
        .args(["quarantine", "list", "--config", s(&st.config), "--monitor", "model"])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(list.contains("a-damaged.parquet") && list.contains("b-no-id.parquet"), "{list}");
    assert!(list.contains("model:labels"), "{list}");
    assert!(list.contains("no column \"id\" ([model] id) in the label file"), "the missing column is named: {list}");
    let out = Command::new(env!("CARGO_BIN_EXE_drift"))
        .args(["quarantine", "release", "--config", s(&st.config), "--monitor", "model", "--all"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let again = once(&st, 0);
    assert!(again.contains("cannot read label file yet; will retry"), "released files are read again: {again}");
}
