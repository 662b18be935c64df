//! The small-count rules through the real binary (issue 17): category bins that fit the
//! window (insufficient, naming the window that would do, when fewer than two fit), the
//! unseen-values test, PSI's effect beyond its noise, Fisher's exact missing-rate test; and
//! the keys that restore the old rules (`--psi-effect`, `--min-expected`, `--unseen-floors`
//! and the same `[policy]` keys) reach the engine.
//!
//! One pair of files, 20 000 reference rows and a 200-row window:
//! - `code`: 5 000 Zipf levels (exponent 0.6), stationary: no category expects 5 values in 200
//!   rows, so chi2 is insufficient under the defaults (and pages under the old rules);
//! - `level`: ten equal categories, the window's counts 40, 28, 22, 20, 18, 17, 16, 14, 13, 12:
//!   PSI 0.1379 (SciPy: chi2 p = 2.15e-4) but 0.0924 beyond its noise (9 (1/200 + 1/20 000)):
//!   a warning only under `psi_effect = classic`;
//! - `label`: a, b, c (50/30/20%) and, in the window, a new value in 3% of rows: unseen warns;
//! - `holes`: 10 of 20 000 missing, then 3 of 200: a window expecting 0.13 missing values, so
//!   Fisher's exact test (SciPy's p in `tests/data/golden/fisher.json`, `small_counts_holes`);
//! - `amount`: stationary normal values (numeric PSI's effect is corrected too).

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, StringArray};
use drift::synth::Rng;
use serde_json::Value;
use tempfile::TempDir;

use crate::policy::{Columns, Daemon};
use crate::support::{check_json, column, drift, s, test, write};

const N: usize = 20_000;
const WINDOW: usize = 200;

fn zipf_codes(n: usize, rng: &mut Rng) -> Vec<String> {
    let w: Vec<f64> = (1..=5_000).map(|k| (k as f64).powf(-0.6)).collect();
    let total: f64 = w.iter().sum();
    let mut acc = 0.0;
    let cdf: Vec<f64> = w
        .iter()
        .map(|x| {
            acc += x / total;
            acc
        })
        .collect();
    (0..n).map(|_| format!("c{:04}", cdf.partition_point(|&c| c <= rng.uniform()).min(4_999))).collect()
}

/// `counts[i]` copies of `labels[i]`, in order.
fn repeated(labels: &[&str], counts: &[usize]) -> Vec<String> {
    labels.iter().zip(counts).flat_map(|(l, &n)| std::iter::repeat_n(l.to_string(), n)).collect()
}

fn side(rows: usize, rng: &mut Rng) -> Columns {
    let window = rows == WINDOW;
    let levels = ["l0", "l1", "l2", "l3", "l4", "l5", "l6", "l7", "l8", "l9"];
    let level = if window {
        repeated(&levels, &[40, 28, 22, 20, 18, 17, 16, 14, 13, 12])
    } else {
        repeated(&levels, &[2_000; 10])
    };
    let label = if window {
        repeated(&["a", "b", "c", "new"], &[97, 58, 39, 6])
    } else {
        repeated(&["a", "b", "c"], &[10_000, 6_000, 4_000])
    };
    let missing = if window { 3 } else { 10 };
    let holes: Vec<Option<f64>> = (0..rows).map(|i| (i >= missing).then(|| rng.normal())).collect();
    let amount: Vec<f64> = (0..rows).map(|_| rng.normal()).collect();
    let strings = |v: Vec<String>| Arc::new(StringArray::from(v)) as ArrayRef;
    vec![
        ("code", strings(zipf_codes(rows, rng))),
        ("level", strings(level)),
        ("label", strings(label)),
        ("holes", Arc::new(Float64Array::from(holes)) as ArrayRef),
        ("amount", Arc::new(Float64Array::from(amount)) as ArrayRef),
    ]
}

fn pair() -> (Columns, Columns) {
    let mut rng = Rng::new(2026);
    let reference = side(N, &mut rng);
    (reference, side(WINDOW, &mut rng))
}

/// The window `code` would need: its most frequent category must expect 5 values.
fn code_testable_from(reference: &Columns) -> u64 {
    let codes = reference[0].1.as_any().downcast_ref::<StringArray>().unwrap();
    let mut counts = std::collections::HashMap::<&str, u64>::new();
    for c in codes.iter().flatten() {
        *counts.entry(c).or_default() += 1;
    }
    let top = *counts.values().max().unwrap();
    (5 * N as u64).div_ceil(top.min(N as u64 - top))
}

fn fisher_golden() -> f64 {
    let path = format!("{}/tests/data/golden/fisher.json", env!("CARGO_MANIFEST_DIR"));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let case = v["cases"].as_array().unwrap().iter().find(|c| c["name"] == "small_counts_holes").unwrap();
    assert_eq!(case["table"], serde_json::json!([[10, 19990], [3, 197]]));
    case["p_value"].as_f64().unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// What the defaults say (a report from `drift check` or from the daemon's state).
fn assert_defaults(report: &Value, testable_from: u64) {
    let code = test(column(report, "code"), "chi2");
    assert_eq!((&code["status"], &code["testable_from"]), (&Value::from("insufficient"), &Value::from(testable_from)));
    let level = test(column(report, "level"), "chi2");
    assert!((f(&level["psi"]) - 0.137_891_644_776_252_9).abs() < 1e-9, "{level}");
    assert!((f(&level["psi_corrected"]) - 0.092_441_644_776_252_9).abs() < 1e-9, "{level}");
    assert_eq!((f(&level["effect"]), &level["severity"]), (f(&level["psi_corrected"]), &Value::from("none")));
    let unseen = test(column(report, "label"), "unseen");
    assert_eq!((f(&unseen["effect"]), &unseen["severity"]), (0.03, &Value::from("warning")), "{unseen}");
    let holes = test(column(report, "holes"), "null_rate");
    assert_eq!(holes["method"], "exact");
    let want = fisher_golden();
    assert!((f(&holes["p_value"]) - want).abs() <= 1e-6 * want, "{holes} vs SciPy {want}");
    assert_eq!(holes["severity"], "warning");
    let amount = test(column(report, "amount"), "psi");
    assert_eq!(amount["effect"], amount["psi_corrected"]);
    assert!(f(&amount["statistic"]) > f(&amount["psi_corrected"]), "{amount}");
}

#[test]
fn small_count_rules_and_the_flags_that_restore_the_old_ones() {
    let dir = TempDir::new().unwrap();
    let (reference, current) = pair();
    let testable_from = code_testable_from(&reference);
    let r = write(dir.path(), "reference.parquet", reference);
    let c = write(dir.path(), "current.parquet", current);
    let run = |extra: &[&str]| check_json(&[s(&r)], &[s(&c)], extra).1;

    let report = run(&[]);
    assert_defaults(&report, testable_from);
    assert_eq!(
        (&report["policy"]["psi_effect"], &report["policy"]["min_expected"]),
        (&Value::from("corrected"), &Value::from(5.0))
    );

    // Classic PSI: level's effect is the PSI, and it warns.
    let classic = run(&["--psi-effect", "classic"]);
    let level = test(column(&classic, "level"), "chi2");
    assert_eq!((&level["effect"], &level["severity"]), (&level["psi"], &Value::from("warning")));
    let amount = test(column(&classic, "amount"), "psi");
    assert_eq!(amount["effect"], amount["statistic"]);

    // min_expected 0: one bin per category (code is compared, and its classic PSI, all noise,
    // is far above the critical floor: only the p-value keeps it quiet), the z-test, no unseen.
    let old = run(&["--min-expected", "0", "--psi-effect", "classic"]);
    let code = test(column(&old, "code"), "chi2");
    assert_eq!(code["status"], "ok", "{code}");
    assert!(f(&code["categories"]) > 1_000.0 && f(&code["effect"]) > 1.0, "{code}");
    assert_eq!(test(column(&old, "holes"), "null_rate")["method"], "asymptotic");
    for c in old["columns"].as_array().unwrap() {
        assert!(c["tests"].as_array().unwrap().iter().all(|t| t["test"] != "unseen"), "{}", c["column"]);
    }

    // Unseen floors.
    let quiet = run(&["--unseen-floors", "0.05,0.1"]);
    let unseen = test(column(&quiet, "label"), "unseen");
    assert_eq!((&unseen["severity"], &unseen["threshold"]["floor"]), (&Value::from("none"), &Value::from(0.05)));

    // The table names the window that would make code testable.
    let out = drift(&["check", "-r", s(&r), "-c", s(&c), "--no-progress"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("testable from {testable_from} per window")), "{text}");

    // Bad values are refused naming the flag.
    for (flag, value) in [("--psi-effect", "loud"), ("--min-expected", "-1")] {
        let out = drift(&["check", "-r", s(&r), "-c", s(&c), &format!("{flag}={value}")]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(flag) && err.contains(value), "{err}");
    }
}

#[test]
fn monitor_policy_keys_restore_the_old_rules() {
    let (reference, current) = pair();
    let testable_from = code_testable_from(&reference);
    let d = Daemon::new(
        reference,
        "",
        &[
            ("plain", ""),
            ("old", "[policy]\npsi_effect = \"classic\"\nmin_expected = 0\nunseen_floors = [0.05, 0.1]\n"),
        ],
    );
    d.land("current.parquet", current);
    d.once();
    let stored = |monitor: &str| {
        let h = d.history(monitor);
        d.report(&h[0])
    };
    assert_defaults(&stored("plain"), testable_from);
    let old = stored("old");
    assert_eq!(
        (&old["policy"]["psi_effect"], &old["policy"]["min_expected"], &old["policy"]["unseen"]),
        (&Value::from("classic"), &Value::from(0.0), &serde_json::json!({"warning": 0.05, "critical": 0.1}))
    );
    let code = test(column(&old, "code"), "chi2");
    assert!(code["status"] == "ok" && f(&code["categories"]) > 1_000.0, "{code}");
    assert_eq!(test(column(&old, "level"), "chi2")["severity"], "warning");
    assert_eq!(test(column(&old, "holes"), "null_rate")["method"], "asymptotic");

    // Bad values: `drift validate` exits 64 naming the key.
    let bad = Daemon::new(pair().0, "", &[("m", "[policy]\npsi_effect = \"loud\"\nmin_expected = -1\n")]);
    let out = drift(&["validate", "--config", s(&bad.config)]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(err.contains("policy.psi_effect") && err.contains("loud"), "{err}");
    assert!(err.contains("min_expected"), "{err}");
}
