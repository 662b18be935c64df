//! The decision policy as documented, on real Parquet files through the real binary (`drift
//! check`, `drift run --once`, `drift history`): the multiple-testing correction
//! (`--correction`, `[policy] correction`) sets the adjusted p-values and the decisions;
//! `--alpha` and the floors (flags and `[policy]` keys) reach the engine; swapped floors are
//! refused naming the flag or key; a window and its segments are one correction family;
//! event-time rows without a timestamp are counted as late and not evaluated. The 1 000 000
//! labels tracked per side (later unseen ones pooled) are tested through the library: through
//! a Parquet file and the binary it takes ~7 s in a debug build.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arrow_array::{ArrayRef, Float64Array, StringArray, TimestampMillisecondArray};
use drift::synth::Rng;
use serde_json::Value;
use tempfile::TempDir;

use crate::support::{check_json, column, drift, s, test, write};

// ---------------------------------------------------------------------------------------------
// Helpers

/// Named columns of one Parquet file.
pub(crate) type Columns = Vec<(&'static str, ArrayRef)>;

fn f64s(v: Vec<f64>) -> ArrayRef {
    Arc::new(Float64Array::from(v))
}

/// One test of a report's correction family: every test with status `ok` and a p-value.
#[derive(Debug, Clone)]
struct Member {
    /// (segment, "" for the whole data; column; test).
    key: (String, String, String),
    p: f64,
    adjusted: f64,
    effect: f64,
    floor: f64,
    drift: bool,
}

/// The family of a report, in (segment, column, test) order.
fn family(report: &Value) -> Vec<Member> {
    let mut out = Vec::new();
    for c in report["columns"].as_array().unwrap() {
        for t in c["tests"].as_array().unwrap() {
            if t["status"] != "ok" || !t["p_value"].is_number() {
                continue;
            }
            out.push(Member {
                key: (
                    c["segment"].as_str().unwrap_or("").to_owned(),
                    c["column"].as_str().unwrap().to_owned(),
                    t["test"].as_str().unwrap().to_owned(),
                ),
                p: t["p_value"].as_f64().unwrap(),
                adjusted: t["p_value_adjusted"].as_f64().unwrap(),
                effect: t["effect"].as_f64().unwrap(),
                floor: t["threshold"]["floor"].as_f64().unwrap(),
                drift: t["drift"].as_bool().unwrap(),
            });
        }
    }
    assert_eq!(out.len() as u64, report["summary"]["tests_in_family"].as_u64().unwrap(), "the family is every ok test");
    // Reports list drifted columns first; compare runs in one order.
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

/// Benjamini-Hochberg step-up adjusted p-values, written out here independently of the crate.
fn bh(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut out = vec![0.0; m];
    let mut running = 1.0f64;
    for k in (0..m).rev() {
        running = running.min(p[order[k]] * m as f64 / (k + 1) as f64);
        out[order[k]] = running;
    }
    out
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

/// The member of a family with this key.
fn find<'a>(members: &'a [Member], segment: &str, column: &str, test: &str) -> &'a Member {
    members
        .iter()
        .find(|m| m.key.0 == segment && m.key.1 == column && m.key.2 == test)
        .unwrap_or_else(|| panic!("no test {segment:?}/{column}/{test}"))
}

/// A daemon file and monitors over `incoming/`, against `reference.parquet`, in a tempdir.
pub(crate) struct Daemon {
    dir: TempDir,
    pub(crate) config: PathBuf,
}

impl Daemon {
    /// Each monitor is (id, extra TOML appended after its `[window]` table).
    pub(crate) fn new(reference: Columns, window: &str, monitors: &[(&str, &str)]) -> Daemon {
        let dir = TempDir::new().unwrap();
        let root = dir.path();
        write(root, "reference.parquet", reference);
        std::fs::create_dir_all(root.join("incoming")).unwrap();
        std::fs::create_dir_all(root.join("monitors")).unwrap();
        let config = root.join("drift.toml");
        std::fs::write(&config, "state_dir = \"state\"\nlisten = \"127.0.0.1:0\"\nmonitors_dir = \"monitors\"\n")
            .unwrap();
        for (id, extra) in monitors {
            std::fs::write(
                root.join(format!("monitors/{id}.toml")),
                format!(
                    "[source]\npath = \"../incoming\"\nsettle_secs = 0\n\n[reference]\npath = \"../reference.parquet\"\n\n[window]\n{window}min_rows = 50\n\n{extra}"
                ),
            )
            .unwrap();
        }
        Daemon { dir, config }
    }

    /// Lands a Parquet file in `incoming/`, settled (its mtime 5 s in the past).
    pub(crate) fn land(&self, name: &str, columns: Columns) {
        let p = write(&self.dir.path().join("incoming"), name, columns);
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(5)).unwrap();
    }

    /// `drift run --once`, which must succeed.
    pub(crate) fn once(&self) -> String {
        let out = drift(&["run", "--once", "--config", s(&self.config)]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{text}");
        text
    }

    /// `drift history --format json` of a monitor, newest window first.
    pub(crate) fn history(&self, monitor: &str) -> Value {
        let out = drift(&["history", "--config", s(&self.config), "--monitor", monitor, "--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The stored JSON report of a window.
    pub(crate) fn report(&self, window: &Value) -> Value {
        let state = drift::state::State::open_read_only(&self.dir.path().join("state")).unwrap();
        let text = state.report(window["window"].as_i64().unwrap()).unwrap().expect("evaluated");
        serde_json::from_str(&text).unwrap()
    }

    /// The only window of a monitor: its stored report's family, with every member's stored
    /// evaluation (`drift history`) checked to carry the same adjusted p-value and decision.
    fn stored_family(&self, monitor: &str) -> (Value, Vec<Member>) {
        let h = self.history(monitor);
        assert_eq!(h.as_array().unwrap().len(), 1, "{monitor}: one window: {h}");
        let report = self.report(&h[0]);
        let members = family(&report);
        for m in &members {
            let row = h[0]["tests"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| {
                    t["segment"] == m.key.0.as_str() && t["column"] == m.key.1.as_str() && t["test"] == m.key.2.as_str()
                })
                .unwrap_or_else(|| panic!("{monitor}: {:?} not stored", m.key));
            assert_eq!(row["p_value_adjusted"].as_f64(), Some(m.adjusted), "{monitor}: {:?}", m.key);
            assert_eq!(row["drift"].as_bool(), Some(m.drift), "{monitor}: {:?}", m.key);
        }
        (h[0].clone(), members)
    }
}

/// Asserts each member's adjusted p-value is what `correction` gives from the raw p-values of
/// the whole family, and that each decision is "adjusted p < alpha and effect >= floor".
fn assert_corrected(members: &[Member], correction: &str, alpha: f64, what: &str) {
    let raw: Vec<f64> = members.iter().map(|m| m.p).collect();
    let m = raw.len() as f64;
    let want: Vec<f64> = match correction {
        "bh" => bh(&raw),
        "bonferroni" => raw.iter().map(|p| (p * m).min(1.0)).collect(),
        "none" => raw.clone(),
        other => panic!("{other}"),
    };
    for (x, w) in members.iter().zip(want) {
        assert!(
            close(x.adjusted, w),
            "{what}, {correction}: {:?}: adjusted {} but {w} from p = {}",
            x.key,
            x.adjusted,
            x.p
        );
        assert_eq!(x.drift, x.adjusted < alpha && x.effect >= x.floor, "{what}, {correction}: decision of {:?}", x.key);
    }
}

// ---------------------------------------------------------------------------------------------
// 1. The correction: --correction on check, [policy] correction in a monitor.

/// Six normal columns, 300 rows per side, the current side shifted by 0 to 0.6 standard
/// deviations: 18 tests (ks, psi, null_rate each) with raw p-values from 1e-9 to 1. Seeded so
/// that `x3`'s KS test (p = 0.0031, D = 0.147) drifts unless Bonferroni multiplies it by 18, and
/// `x0`'s (p = 0.027, D = 0.12) drifts only without a correction.
fn graded() -> (Columns, Columns) {
    let names = ["x0", "x1", "x2", "x3", "x4", "x5"];
    let shifts = [0.0, 0.1, 0.2, 0.25, 0.3, 0.6];
    let mut r = Rng::new(3);
    let reference = names.iter().map(|n| (*n, f64s((0..300).map(|_| r.normal()).collect()))).collect();
    let current =
        names.iter().zip(shifts).map(|(n, d)| (*n, f64s((0..300).map(|_| r.normal() + d).collect()))).collect();
    (reference, current)
}

/// Which of `x0`'s and `x3`'s KS tests drift.
fn ks_decisions(members: &[Member]) -> (bool, bool) {
    (find(members, "", "x0", "ks").drift, find(members, "", "x3", "ks").drift)
}

#[test]
fn correction_flag_sets_the_adjusted_p_values_and_the_decisions_of_check() {
    let dir = TempDir::new().unwrap();
    let (reference, current) = graded();
    let r = write(dir.path(), "reference.parquet", reference);
    let c = write(dir.path(), "current.parquet", current);
    let (_, default) = check_json(&[s(&r)], &[s(&c)], &[]);
    assert_eq!(default["policy"]["correction"], "bh");
    let default = family(&default);
    assert_eq!(default.len(), 18);
    let raw: Vec<f64> = default.iter().map(|m| m.p).collect();
    // The data does what the test needs: p-values spread between alpha/18 and alpha.
    let (x0, x3) = (find(&default, "", "x0", "ks"), find(&default, "", "x3", "ks"));
    assert!(x3.p < 0.05 / 4.0 && x3.p > 0.05 / 18.0 && x3.effect >= 0.1, "{x3:?}");
    assert!(x0.p < 0.05 && x0.p > 0.05 / 3.0 && x0.effect >= 0.1, "{x0:?}");

    let mut decisions = Vec::new();
    for correction in ["bh", "bonferroni", "none"] {
        let (_, report) = check_json(&[s(&r)], &[s(&c)], &["--correction", correction]);
        assert_eq!(report["policy"]["correction"], correction, "the report echoes the correction");
        let members = family(&report);
        assert_eq!(members.iter().map(|m| m.p).collect::<Vec<_>>(), raw, "{correction}: raw p-values do not change");
        assert_corrected(&members, correction, 0.05, "check");
        if correction == "bh" {
            let same = members.iter().zip(&default).all(|(a, b)| a.adjusted == b.adjusted && a.drift == b.drift);
            assert!(same, "no --correction is --correction bh");
        }
        decisions.push((correction, ks_decisions(&members)));
    }
    // (x0 drifts, x3 drifts): the correction changes the decision.
    assert_eq!(decisions, [("bh", (false, true)), ("bonferroni", (false, false)), ("none", (true, true))]);
}

#[test]
fn monitor_correction_key_sets_the_stored_adjusted_p_values() {
    let (reference, current) = graded();
    let d = Daemon::new(
        reference,
        "",
        &[
            ("bh", ""),
            ("bonferroni", "[policy]\ncorrection = \"bonferroni\"\n"),
            ("none", "[policy]\ncorrection = \"none\"\n"),
        ],
    );
    d.land("current.parquet", current);
    d.once();
    let mut raw = None;
    let mut decisions = Vec::new();
    for correction in ["bh", "bonferroni", "none"] {
        let (window, members) = d.stored_family(correction);
        assert_eq!(window["rows"], 300);
        assert_eq!(members.len(), 18, "{correction}");
        let p: Vec<f64> = members.iter().map(|m| m.p).collect();
        assert_eq!(*raw.get_or_insert_with(|| p.clone()), p, "{correction}: the same raw p-values for every monitor");
        assert_corrected(&members, correction, 0.05, "monitor");
        decisions.push((correction, ks_decisions(&members)));
    }
    assert_eq!(decisions, [("bh", (false, true)), ("bonferroni", (false, false)), ("none", (true, true))]);
}

// ---------------------------------------------------------------------------------------------
// 2. Policy overrides reach the engine; swapped floors are refused.

/// 4 000 rows per side. `shift`: a 0.35 sd mean shift (KS D = 0.134, PSI 0.111: warnings);
/// `cat`: a, b, c from 50/30/20% to 35/30/35% (PSI 0.149: warning); `holes`: missing rate
/// from 1% to 3% (change 0.023: warning); `sparse`: 96% missing on both sides, the ~160 values
/// left shifted by 0.4 sd (D = 0.19, BH-adjusted p = 0.012: a warning at alpha 0.05, not at
/// 0.01). Every other p-value is below 1e-11 or above 0.1.
fn policy_data(current: bool, r: &mut Rng) -> Columns {
    let n = 4000;
    let shift = (0..n).map(|_| r.normal() + if current { 0.35 } else { 0.0 }).collect();
    let weights: &[f64] = if current { &[3.5, 3.0, 3.5] } else { &[5.0, 3.0, 2.0] };
    let cat: Vec<&str> = (0..n).map(|_| ["a", "b", "c"][r.choose(weights)]).collect();
    let rate = if current { 0.03 } else { 0.01 };
    let holes: Vec<Option<f64>> = (0..n)
        .map(|_| {
            let v = r.normal();
            (r.uniform() >= rate).then_some(v)
        })
        .collect();
    let sparse: Vec<Option<f64>> = (0..n)
        .map(|_| {
            let v = r.normal() + if current { 0.4 } else { 0.0 };
            (r.uniform() < 0.04).then_some(v)
        })
        .collect();
    vec![
        ("shift", f64s(shift)),
        ("cat", Arc::new(StringArray::from(cat))),
        ("holes", Arc::new(Float64Array::from(holes))),
        ("sparse", Arc::new(Float64Array::from(sparse))),
    ]
}

fn policy_pair() -> (Columns, Columns) {
    let mut r = Rng::new(2);
    let reference = policy_data(false, &mut r);
    (reference, policy_data(true, &mut r))
}

/// The five tests the overrides move, as (column, test).
const MOVED: [(&str, &str); 5] =
    [("shift", "ks"), ("sparse", "ks"), ("shift", "psi"), ("cat", "chi2"), ("holes", "null_rate")];

/// Severity of each of the five tests ("none" when it does not drift), and the threshold each
/// one was judged with: [alpha, floor, critical floor].
fn moved(report: &Value) -> Vec<(String, [f64; 3])> {
    MOVED
        .iter()
        .map(|(c, t)| {
            let t = test(column(report, c), t);
            assert_eq!(t["drift"], t["severity"] != "none", "{t}");
            let th = &t["threshold"];
            let th =
                [th["alpha"].as_f64().unwrap(), th["floor"].as_f64().unwrap(), th["critical_floor"].as_f64().unwrap()];
            (t["severity"].as_str().unwrap().to_owned(), th)
        })
        .collect()
}

fn severities(v: &[(String, [f64; 3])]) -> Vec<&str> {
    v.iter().map(|x| x.0.as_str()).collect()
}

fn thresholds(v: &[(String, [f64; 3])]) -> Vec<[f64; 3]> {
    v.iter().map(|x| x.1).collect()
}

const DEFAULT_THRESHOLDS: [[f64; 3]; 5] =
    [[0.05, 0.1, 0.2], [0.05, 0.1, 0.2], [0.05, 0.1, 0.25], [0.05, 0.1, 0.25], [0.05, 0.01, 0.05]];

/// One override: the `drift check` flags, the same as `[policy]` keys, then what the five
/// tests of [`MOVED`] become (severities; [alpha, floor, critical floor] used) and the report's
/// `policy` entry it sets. Each moves its own tests and nothing else.
struct Override {
    flags: &'static [&'static str],
    keys: &'static str,
    severities: [&'static str; 5],
    thresholds: [[f64; 3]; 5],
    policy: (&'static str, &'static str),
}

const OVERRIDES: [Override; 7] = [
    Override {
        flags: &["--alpha", "0.01"],
        keys: "alpha = 0.01",
        severities: ["warning", "none", "warning", "warning", "warning"],
        thresholds: [[0.01, 0.1, 0.2], [0.01, 0.1, 0.2], [0.01, 0.1, 0.25], [0.01, 0.1, 0.25], [0.01, 0.01, 0.05]],
        policy: ("alpha", "0.01"),
    },
    Override {
        flags: &["--ks-floors", "0.2,0.3"],
        keys: "ks_floors = [0.2, 0.3]",
        severities: ["none", "none", "warning", "warning", "warning"],
        thresholds: [[0.05, 0.2, 0.3], [0.05, 0.2, 0.3], [0.05, 0.1, 0.25], [0.05, 0.1, 0.25], [0.05, 0.01, 0.05]],
        policy: ("ks", r#"{"warning": 0.2, "critical": 0.3}"#),
    },
    Override {
        flags: &["--ks-floors", "0.05,0.12"],
        keys: "ks_floors = [0.05, 0.12]",
        severities: ["critical", "critical", "warning", "warning", "warning"],
        thresholds: [[0.05, 0.05, 0.12], [0.05, 0.05, 0.12], [0.05, 0.1, 0.25], [0.05, 0.1, 0.25], [0.05, 0.01, 0.05]],
        policy: ("ks", r#"{"warning": 0.05, "critical": 0.12}"#),
    },
    Override {
        flags: &["--psi-floors", "0.2,0.3"],
        keys: "psi_floors = [0.2, 0.3]",
        severities: ["warning", "warning", "none", "none", "warning"],
        thresholds: [[0.05, 0.1, 0.2], [0.05, 0.1, 0.2], [0.05, 0.2, 0.3], [0.05, 0.2, 0.3], [0.05, 0.01, 0.05]],
        policy: ("psi", r#"{"warning": 0.2, "critical": 0.3}"#),
    },
    Override {
        flags: &["--psi-floors", "0.05,0.1"],
        keys: "psi_floors = [0.05, 0.1]",
        severities: ["warning", "warning", "critical", "critical", "warning"],
        thresholds: [[0.05, 0.1, 0.2], [0.05, 0.1, 0.2], [0.05, 0.05, 0.1], [0.05, 0.05, 0.1], [0.05, 0.01, 0.05]],
        policy: ("psi", r#"{"warning": 0.05, "critical": 0.1}"#),
    },
    Override {
        flags: &["--null-floors", "0.03,0.06"],
        keys: "null_floors = [0.03, 0.06]",
        severities: ["warning", "warning", "warning", "warning", "none"],
        thresholds: [[0.05, 0.1, 0.2], [0.05, 0.1, 0.2], [0.05, 0.1, 0.25], [0.05, 0.1, 0.25], [0.05, 0.03, 0.06]],
        policy: ("null_rate", r#"{"warning": 0.03, "critical": 0.06}"#),
    },
    Override {
        flags: &["--null-floors", "0.005,0.02"],
        keys: "null_floors = [0.005, 0.02]",
        severities: ["warning", "warning", "warning", "warning", "critical"],
        thresholds: [[0.05, 0.1, 0.2], [0.05, 0.1, 0.2], [0.05, 0.1, 0.25], [0.05, 0.1, 0.25], [0.05, 0.005, 0.02]],
        policy: ("null_rate", r#"{"warning": 0.005, "critical": 0.02}"#),
    },
];

/// Checks a report judged with `o` (or with the defaults).
fn assert_override(report: &Value, o: Option<&Override>, what: &str) {
    let got = moved(report);
    match o {
        None => {
            assert_eq!(severities(&got), ["warning"; 5], "{what}: the defaults: every one a warning");
            assert_eq!(thresholds(&got), DEFAULT_THRESHOLDS, "{what}");
        }
        Some(o) => {
            assert_eq!(severities(&got), o.severities, "{what}");
            assert_eq!(thresholds(&got), o.thresholds, "{what}");
            let (key, value) = o.policy;
            assert_eq!(report["policy"][key], serde_json::from_str::<Value>(value).unwrap(), "{what}: echoed");
        }
    }
}

/// Everything stricter at once: nothing drifts.
const STRICT_FLAGS: [&str; 8] =
    ["--alpha", "0.01", "--ks-floors", "0.2,0.3", "--psi-floors", "0.2,0.3", "--null-floors", "0.03,0.06"];
const STRICT_KEYS: &str = "alpha = 0.01\nks_floors = [0.2, 0.3]\npsi_floors = [0.2, 0.3]\nnull_floors = [0.03, 0.06]\n";

#[test]
fn alpha_and_floor_flags_reach_the_engine() {
    let dir = TempDir::new().unwrap();
    let (reference, current) = policy_pair();
    let r = write(dir.path(), "reference.parquet", reference);
    let c = write(dir.path(), "current.parquet", current);
    let run = |extra: &[&str]| check_json(&[s(&r)], &[s(&c)], extra);

    let (code, report) = run(&[]);
    assert_eq!(code, 1);
    assert_override(&report, None, "no flags");
    let sparse = test(column(&report, "sparse"), "ks");
    let adjusted = sparse["p_value_adjusted"].as_f64().unwrap();
    assert!(adjusted > 0.01 && adjusted < 0.05, "{sparse}");

    for o in &OVERRIDES {
        let (_, report) = run(o.flags);
        assert_override(&report, Some(o), &format!("{:?}", o.flags));
    }
    let (code, report) = run(&STRICT_FLAGS);
    assert_eq!((code, &report["drift"]), (0, &Value::Bool(false)), "{}", report["columns"]);
}

#[test]
fn monitor_policy_table_reaches_the_engine() {
    let (reference, current) = policy_pair();
    let ids: Vec<String> = (0..OVERRIDES.len()).map(|i| format!("override-{i}")).collect();
    let mut monitors: Vec<(&str, String)> =
        vec![("plain", String::new()), ("strict", format!("[policy]\n{STRICT_KEYS}"))];
    for (id, o) in ids.iter().zip(&OVERRIDES) {
        monitors.push((id, format!("[policy]\n{}\n", o.keys)));
    }
    let monitors: Vec<(&str, &str)> = monitors.iter().map(|(id, text)| (*id, text.as_str())).collect();
    let d = Daemon::new(reference, "", &monitors);
    d.land("current.parquet", current);
    d.once();
    let stored = |monitor: &str| {
        let (window, _) = d.stored_family(monitor);
        (window["drift"].as_bool().unwrap(), d.report(&window))
    };
    let (drifted, report) = stored("plain");
    assert!(drifted);
    assert_override(&report, None, "plain");
    let (drifted, report) = stored("strict");
    assert!(!drifted, "{}", report["columns"]);
    assert_eq!(severities(&moved(&report)), ["none"; 5]);
    for (id, o) in ids.iter().zip(&OVERRIDES) {
        assert_override(&stored(id).1, Some(o), &format!("{id}: {}", o.keys));
    }
}

#[test]
fn swapped_floors_are_refused_naming_the_flag_or_the_key() {
    let dir = TempDir::new().unwrap();
    let (reference, current) = policy_pair();
    let r = write(dir.path(), "reference.parquet", reference);
    let c = write(dir.path(), "current.parquet", current);
    for (flag, value) in [("--ks-floors", "0.3,0.1"), ("--psi-floors", "0.5,0.2"), ("--null-floors", "0.1,0.05")] {
        let out = drift(&["check", "-r", s(&r), "-c", s(&c), flag, value]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {stderr}");
        assert!(out.stdout.is_empty(), "no report");
        let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).collect();
        assert_eq!(errors.len(), 1, "one line: {stderr}");
        assert!(errors[0].contains(flag) && errors[0].contains(value), "names the flag and value: {stderr}");
        assert!(errors[0].contains("warning") && errors[0].contains("critical"), "says what is wrong: {stderr}");
    }
    // Equal floors are allowed (a single threshold: every drift is critical).
    let (code, report) = check_json(&[s(&r)], &[s(&c)], &["--ks-floors", "0.1,0.1"]);
    assert_eq!(code, 1);
    assert_eq!(test(column(&report, "shift"), "ks")["severity"], "critical");

    // The same in a monitor: `drift validate` and `drift run` exit 64 with one line per key.
    let d = Daemon::new(
        policy_pair().0,
        "",
        &[("m", "[policy]\nks_floors = [0.3, 0.1]\npsi_floors = [0.5, 0.2]\nnull_floors = [0.1, 0.05]\n")],
    );
    for args in [vec!["validate", "--config", s(&d.config)], vec!["run", "--once", "--config", s(&d.config)]] {
        let out = drift(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {stderr}");
        for key in ["policy.ks_floors", "policy.psi_floors", "policy.null_floors"] {
            let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(key)).collect();
            assert_eq!(lines.len(), 1, "{args:?}: one line for {key}: {stderr}");
            assert!(lines[0].contains("m.toml") && lines[0].contains("warning <= critical"), "{stderr}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 3. A window and its segments are one correction family.

/// Rows with a `region` and two numeric columns: (region, rows, shift of `x`, shift of `y`).
fn regional(groups: &[(&'static str, usize, f64, f64)], seed: u64) -> Columns {
    let mut r = Rng::new(seed);
    let (mut region, mut x, mut y) = (Vec::new(), Vec::new(), Vec::new());
    for &(g, n, dx, dy) in groups {
        for _ in 0..n {
            region.push(g);
            x.push(r.normal() + dx);
            y.push(r.normal() + dy);
        }
    }
    vec![("region", Arc::new(StringArray::from(region)) as ArrayRef), ("x", f64s(x)), ("y", f64s(y))]
}

#[test]
fn a_window_and_its_segments_are_one_correction_family() {
    let segments = "[segments]\nby = [\"region\"]\nmin_rows = 50\n";
    let d = Daemon::new(
        regional(&[("north", 1500, 0.0, 0.0), ("south", 1500, 0.0, 0.0), ("east", 1500, 0.0, 0.0)], 60),
        "",
        &[("bh", segments), ("bonferroni", &format!("{segments}\n[policy]\ncorrection = \"bonferroni\"\n"))],
    );
    // North moved in x, south a little in y, east not at all: p-values across the range.
    d.land(
        "current.parquet",
        regional(&[("north", 300, 0.35, 0.0), ("south", 300, 0.0, 0.25), ("east", 300, 0.0, 0.0)], 61),
    );
    d.once();

    let (_, members) = d.stored_family("bh");
    let mut by_segment = std::collections::BTreeMap::<&str, usize>::new();
    for m in &members {
        *by_segment.entry(m.key.0.as_str()).or_default() += 1;
    }
    // The whole window: region (chi2, unseen, null_rate), x and y (ks, psi, null_rate); each
    // segment: x and y (the segmenting column is left out).
    assert_eq!(
        by_segment.into_iter().collect::<Vec<_>>(),
        [("", 9), ("region=east", 6), ("region=north", 6), ("region=south", 6)]
    );
    // Stored adjusted p-values are BH over all 27 tests at once...
    assert_corrected(&members, "bh", 0.05, "segments");
    // ...not BH within each segment (which is what the test would see if each segment were
    // its own family).
    let mut per_segment = vec![0.0; members.len()];
    for segment in ["", "region=east", "region=north", "region=south"] {
        let idx: Vec<usize> = (0..members.len()).filter(|&i| members[i].key.0 == segment).collect();
        let adj = bh(&idx.iter().map(|&i| members[i].p).collect::<Vec<_>>());
        for (&i, a) in idx.iter().zip(adj) {
            per_segment[i] = a;
        }
    }
    let differ = members.iter().zip(&per_segment).filter(|(m, a)| !close(m.adjusted, **a)).count();
    assert!(differ >= 10, "per-segment BH differs from the union in {differ} tests only");
    // Bonferroni over the same family: m = 27, and a decision depends on it. North's KS test
    // of x (p = 0.0021, D = 0.117) would drift in a family of its segment's 6 tests
    // (0.0125 < alpha) but not in the window's 27 (0.057).
    let (_, bonf) = d.stored_family("bonferroni");
    assert_eq!(bonf.iter().map(|m| m.p).collect::<Vec<_>>(), members.iter().map(|m| m.p).collect::<Vec<_>>());
    assert_corrected(&bonf, "bonferroni", 0.05, "segments");
    let north = find(&bonf, "region=north", "x", "ks");
    assert!(north.p * 6.0 < 0.05 && north.effect >= north.floor, "{north:?}");
    assert!(close(north.adjusted, north.p * 27.0) && !north.drift, "{north:?}");
    assert!(find(&members, "region=north", "x", "ks").drift, "BH over the union still finds it");
}

// ---------------------------------------------------------------------------------------------
// 4. At most 1 000 000 distinct labels are tracked per side; later unseen labels are pooled.

#[test]
fn labels_beyond_a_million_are_pooled_not_tracked() {
    use drift::engine::{self, ColumnData, Policy, SchemaReport, TableSummary, Values};
    use drift::stats::CategoryCounts;
    use drift::stats::binning::MAX_TRACKED_CATEGORIES;
    use std::fmt::Write;

    assert_eq!(MAX_TRACKED_CATEGORIES, 1_000_000, "the documented cap");
    // The counting the decoder feeds every label to, and the engine, without the Parquet file:
    // through the binary a million distinct strings take ~7 s in a debug build (written, then
    // hashed twice: by the reader's dictionary and by the count).
    let mut current = CategoryCounts::new();
    let mut label = String::new();
    let mut add = |counts: &mut CategoryCounts, i: usize, n: u64| {
        label.clear();
        write!(label, "u{i:07}").unwrap();
        counts.add(&label, n);
    };
    for i in 0..MAX_TRACKED_CATEGORIES {
        add(&mut current, i, 1);
    }
    // Full. A label already tracked is still counted; "a" (a reference category, but first seen
    // here after the cap) and 1 000 more unseen IDs are pooled.
    add(&mut current, 0, 4);
    current.add("a", 2000);
    for i in MAX_TRACKED_CATEGORIES..MAX_TRACKED_CATEGORIES + 1000 {
        add(&mut current, i, 1);
    }
    assert_eq!(current.total(), 1_000_000 + 4 + 2000 + 1000, "every value counts");
    assert_eq!(current.iter().count(), MAX_TRACKED_CATEGORIES, "no more labels kept");
    assert_eq!((current.get("u0000000"), current.get("u0999999"), current.get("u1000000")), (5, 1, 0));
    assert_eq!(current.get("a"), 0, "first seen after the cap: pooled");
    assert_eq!(current.pooled(), (3000, 1001), "(values, distinct labels) pooled");
    assert_eq!(current.distinct(), 1_001_001);

    let mut reference = CategoryCounts::new();
    for l in ["a", "b", "c"] {
        reference.add(l, 1000);
    }
    let side = |c: CategoryCounts| ColumnData {
        data_type: "Utf8".into(),
        rows: c.total(),
        nulls: 0,
        nan: 0,
        values: Values::Categorical(c),
    };
    let (r, c) = (side(reference), side(current));
    let policy = Policy::default();
    let col = engine::compare_column("id", &r, &c, &policy);
    let report = engine::judge(
        vec![col],
        SchemaReport::default(),
        Vec::new(),
        TableSummary { rows: r.rows, files: 1, ..Default::default() },
        TableSummary { rows: c.rows, files: 1, ..Default::default() },
        &policy,
    );
    let report = serde_json::to_value(&report).unwrap();
    let col = column(&report, "id");
    // Compared, not an error: the reference's categories plus __other__, where the pooled
    // values (the 2 000 "a" too) are counted. (__other__ would expect nothing, so the last of
    // the three tied reference categories, "c", joins it: 3 bins.) Every pooled value is also
    // unseen as far as the window can tell.
    let chi2 = test(col, "chi2");
    assert_eq!(
        (&chi2["pooled"], &chi2["categories"], &chi2["severity"]),
        (&Value::Bool(true), &serde_json::json!(3), &Value::from("critical"))
    );
    assert_eq!(test(col, "unseen")["severity"], "critical");
    assert_eq!(report["drift"], true);
    assert_eq!(col["current"]["distinct"], 1_001_001);
    assert_eq!(col["new_categories_total"], 1_000_000, "only tracked labels can be named as new");
    assert!(col["current"]["top"].as_array().unwrap().iter().all(|t| t["category"] != "a"));
}

// ---------------------------------------------------------------------------------------------
// 5. Event-time windows: rows without a timestamp are late, not evaluated.

#[test]
fn rows_without_an_event_time_are_counted_late_and_not_evaluated() {
    // Reference: hour 0.
    let mut r = Rng::new(70);
    let reference = vec![
        ("t", Arc::new(TimestampMillisecondArray::from((0..3000).map(|i| i * 1000).collect::<Vec<i64>>())) as ArrayRef),
        ("x", f64s((0..3000).map(|_| r.normal()).collect())),
    ];
    let d = Daemon::new(
        reference,
        // Idle timeout 0: every open window closes at the end of the cycle.
        "type = \"time\"\nsize_secs = 3600\nallowed_lateness_secs = 600\nidle_timeout_secs = 0\ntimestamp_column = \"t\"\n",
        &[("model", "[columns]\nexclude = [\"t\"]\n")],
    );
    // 700 rows: 300 in hour 10, 300 in hour 11, and every 7th row (100) without a timestamp,
    // with x = 50 so that they would show if they were evaluated.
    let (mut t, mut x) = (Vec::new(), Vec::new());
    let mut timed = 0i64;
    for i in 0..700 {
        if i % 7 == 3 {
            t.push(None);
            x.push(50.0);
        } else {
            let hour = 10 + timed % 2;
            t.push(Some((hour * 3600 + timed) * 1000));
            x.push(r.normal());
            timed += 1;
        }
    }
    d.land("a.parquet", vec![("t", Arc::new(TimestampMillisecondArray::from(t)) as ArrayRef), ("x", f64s(x))]);
    d.once();

    let state = drift::state::State::open_read_only(&d.dir.path().join("state")).unwrap();
    assert_eq!(state.clock("model").unwrap().late_rows, 100, "rows without a timestamp are late");
    drop(state);
    let h = d.history("model");
    let windows: Vec<(i64, i64, u64, bool)> = h
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|w| {
            (
                w["start_ms"].as_i64().unwrap(),
                w["end_ms"].as_i64().unwrap(),
                w["rows"].as_u64().unwrap(),
                w["drift"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(windows, [(36_000_000, 39_600_000, 300, false), (39_600_000, 43_200_000, 300, false)]);
    for w in h.as_array().unwrap() {
        let report = d.report(w);
        let x = column(&report, "x");
        assert_eq!((&x["current"]["rows"], &x["current"]["nulls"]), (&serde_json::json!(300), &serde_json::json!(0)));
        assert!(x["current"]["stats"]["max"].as_f64().unwrap() < 10.0, "no untimed row evaluated: {}", x["current"]);
    }
}
