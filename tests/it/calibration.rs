//! The false-alarm calibration through the real binary: a `tailnum`-like column (about 4 000
//! Zipf-distributed levels) at 200-row windows pages under the old rules and is quiet under the
//! defaults; the same reference and settings give the same numbers; the daemon shows the figure
//! in `/api/v1/monitors` and `/metrics`, warns in its log, and reads it back from its cache
//! after a restart. The fold split itself (a window's rows all come from the held-out fold) is
//! a unit test in `src/calibrate/pool.rs`; the Wilson interval is checked here against SciPy.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, StringArray};
use drift::synth::Rng;
use serde_json::Value;
use tempfile::TempDir;

use crate::support::{Daemon, drift, http_get, s, wait_for, write};

const REFERENCE_ROWS: usize = 20_000;

/// A tail-number-like code: 4 000 levels with Zipf weights k^-0.6 (most seen a few times).
fn tailnum(n: usize, rng: &mut Rng) -> Vec<String> {
    let w: Vec<f64> = (1..=4_000).map(|k| (k as f64).powf(-0.6)).collect();
    (0..n).map(|_| format!("N{:04}", rng.choose(&w))).collect()
}

/// A daemon directory: the reference (tailnum and a normal column), a `log` sink, and a
/// monitor per (id, policy TOML) with 200-row windows paging the log sink after two drifted
/// windows in a row (with `fire_after = 1`, even a perfect test at alpha = 0.05 pages about a
/// dozen times a month at one window an hour, which the calibration says, and the defaults'
/// figure would not be about this column).
fn setup(monitors: &[(&str, &str)]) -> TempDir {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    let mut rng = Rng::new(17);
    let codes = tailnum(REFERENCE_ROWS, &mut rng);
    let x: Vec<f64> = (0..REFERENCE_ROWS).map(|_| rng.normal()).collect();
    write(
        root,
        "reference.parquet",
        vec![
            ("tailnum", Arc::new(StringArray::from(codes)) as ArrayRef),
            ("delay", Arc::new(Float64Array::from(x)) as ArrayRef),
        ],
    );
    std::fs::create_dir_all(root.join("incoming")).unwrap();
    std::fs::create_dir_all(root.join("monitors")).unwrap();
    std::fs::write(
        root.join("drift.toml"),
        "state_dir = \"state\"\nlisten = \"127.0.0.1:0\"\nmonitors_dir = \"monitors\"\n\n[sinks.log]\ntype = \"log\"\n",
    )
    .unwrap();
    for (id, policy) in monitors {
        std::fs::write(
            root.join(format!("monitors/{id}.toml")),
            format!(
                "[source]\npath = \"../incoming\"\nsettle_secs = 0\n\n[reference]\npath = \"../reference.parquet\"\n\n\
                 [window]\ntype = \"rows\"\nrows = 200\nmin_rows = 50\n\n[alerts]\nwarning = [\"log\"]\ncritical = [\"log\"]\nfire_after = 2\n\n{policy}"
            ),
        )
        .unwrap();
    }
    dir
}

const OLD_RULES: &str = "[policy]\npsi_effect = \"classic\"\nmin_expected = 0\n";

/// `drift validate --calibrate --format json`: each monitor's entry by id.
fn validate_json(dir: &Path) -> Value {
    let out = drift(&["validate", "--config", s(&dir.join("drift.toml")), "--calibrate", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn column<'a>(c: &'a Value, name: &str) -> &'a Value {
    c["columns"].as_array().unwrap().iter().find(|x| x["column"] == name).unwrap_or_else(|| panic!("{name}: {c}"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn a_tailnum_like_column_pages_under_the_old_rules_and_is_quiet_under_the_defaults() {
    let dir = setup(&[("defaults", ""), ("old", OLD_RULES)]);
    let all = validate_json(dir.path());
    let old = &all["old"]["calibration"];
    assert_eq!(all["old"]["status"], "done", "{all}");
    assert_eq!(
        (old["windows"].as_u64(), old["window_rows"].as_u64(), old["folds"].as_u64()),
        (Some(200), Some(200), Some(5))
    );
    assert_eq!(old["lower_bound"], true);
    let tail = column(old, "tailnum");
    assert!(f(&tail["false_drift_rate"]) >= 0.2, "the old rules flag the column: {tail}");
    assert!(f(&old["pages_per_30d"]) > 1.0, "{old}");
    let advice = old["advice"].to_string();
    assert!(
        advice.contains("tailnum") && advice.contains("min_expected = 5"),
        "names the column and the fix: {advice}"
    );
    let [lo, hi] = [f(&tail["ci"][0]), f(&tail["ci"][1])];
    assert!(lo < f(&tail["false_drift_rate"]) && f(&tail["false_drift_rate"]) < hi, "{tail}");

    let defaults = &all["defaults"]["calibration"];
    assert!(f(&column(defaults, "tailnum")["false_drift_rate"]) <= 0.02, "{defaults}");
    assert!(f(&defaults["pages_per_30d"]) <= 1.0, "{defaults}");
    assert_eq!(defaults["advice"], serde_json::json!([]), "within the budget: no advice");
    assert!(f(&defaults["ci"][1]) > 0.0, "0 of 200 is not 'never': {defaults}");

    // Deterministic: the same reference and settings give the same figures (seed included).
    assert_eq!(validate_json(dir.path()), all);
}

#[test]
fn the_wilson_interval_matches_scipy() {
    let golden: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden/wilson.json")).unwrap(),
    )
    .unwrap();
    for c in golden["cases"].as_array().unwrap() {
        let (k, n) = (c["k"].as_u64().unwrap() as usize, c["n"].as_u64().unwrap() as usize);
        let [lo, hi] = drift::calibrate::verdicts::wilson(k, n);
        for (got, want) in [(lo, f(&c["low"])), (hi, f(&c["high"]))] {
            assert!((got - want).abs() <= 1e-12, "wilson({k}, {n}): {got} against SciPy's {want}");
        }
    }
}

#[test]
fn the_daemon_shows_the_figure_warns_and_reads_it_back_after_a_restart() {
    let dir = setup(&[("old", OLD_RULES)]);
    let config = dir.path().join("drift.toml");
    let monitors = |port: u16| -> Option<Value> {
        let (code, body) = http_get(port, "/api/v1/monitors")?;
        let v: Value = serde_json::from_str(&body).ok()?;
        (code == 200 && v[0]["calibration"]["status"] == "done").then_some(v)
    };
    let d = Daemon::start(&config, &[]);
    let port = d.port();
    let line = d.wait_log(120, &["calibration: this monitor would page"]).unwrap_or_else(|| panic!("{}", d.log()));
    assert!(line.contains("tailnum") && line.contains("WARN"), "{line}");
    let status = wait_for(30, || monitors(port)).unwrap_or_else(|| panic!("{}", d.log()));
    let c = &status[0]["calibration"];
    assert_eq!((c["window_rows"].as_u64(), c["windows"].as_u64()), (Some(200), Some(200)), "{c}");
    assert!(f(&column(c, "tailnum")["false_drift_rate"]) >= 0.2 && c.get("cached").is_none(), "{c}");
    let (_, metrics) = http_get(port, "/metrics").unwrap();
    let gauge = metrics.lines().find(|l| l.starts_with("drift_calibration_pages_per_30d{monitor=\"old\"}"));
    assert!(gauge.is_some_and(|l| l.ends_with(&format!(" {}", c["pages_per_30d"]))), "{metrics}");
    assert!(metrics.contains("drift_calibration_column_false_drift_ratio{monitor=\"old\",column=\"tailnum\"}"));
    drop(d);

    let again = Daemon::start(&config, &[]);
    let port = again.port();
    let status = wait_for(30, || monitors(port)).unwrap_or_else(|| panic!("{}", again.log()));
    let cached = &status[0]["calibration"];
    assert_eq!(cached["cached"], true, "read back from the cache: {cached}");
    assert_eq!(cached["seed"], c["seed"]);
    assert_eq!(cached["pages_per_30d"], c["pages_per_30d"]);
}

#[test]
fn contiguous_windows_show_the_structure_shuffled_windows_hide() {
    // A region that switches every 1 000 rows (a day shift and a night shift): stationary over
    // the whole reference, but every 200 consecutive rows come from one shift.
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    let mut rng = Rng::new(5);
    let region: Vec<&str> = (0..REFERENCE_ROWS)
        .map(|i| {
            let day = (i / 1_000) % 2 == 0;
            let u = rng.uniform();
            if (u < 0.8) == day { "east" } else { "west" }
        })
        .collect();
    let at: Vec<i64> = (0..REFERENCE_ROWS as i64).map(|i| 1_700_000_000_000 + i * 60_000).collect();
    write(
        root,
        "reference.parquet",
        vec![
            ("region", Arc::new(StringArray::from(region)) as ArrayRef),
            ("at", Arc::new(arrow_array::TimestampMillisecondArray::from(at)) as ArrayRef),
        ],
    );
    std::fs::create_dir_all(root.join("monitors")).unwrap();
    std::fs::create_dir_all(root.join("incoming")).unwrap();
    std::fs::write(root.join("drift.toml"), "state_dir = \"state\"\nmonitors_dir = \"monitors\"\n").unwrap();
    std::fs::write(
        root.join("monitors/shifts.toml"),
        "[source]\npath = \"../incoming\"\n\n[reference]\npath = \"../reference.parquet\"\n\n\
         [window]\ntype = \"rows\"\nrows = 200\nmin_rows = 50\ntimestamp_column = \"at\"\n",
    )
    .unwrap();
    let all = validate_json(root);
    let c = &all["shifts"]["calibration"];
    assert!(f(&column(c, "region")["false_drift_rate"]) <= 0.05, "shuffled windows look calm: {c}");
    let k = &c["contiguous"];
    assert_eq!((&k["timestamp_column"], k["windows"].as_u64()), (&Value::from("at"), Some(100)), "20 per fold: {k}");
    assert!(f(&column(k, "region")["false_drift_rate"]) >= 0.5, "contiguous windows see the shifts: {k}");
}
