//! End to end: `drift check --format json` on the golden Parquet pair gives SciPy's numbers
//! (`tests/data/golden/mixed/expected.json`). Tolerances as in `golden.rs`. The categorical
//! numbers there are the classic table (one bin per category of the union), which
//! `--min-expected 0 --psi-effect classic` restores; under the defaults the bins fit the
//! window instead, and the golden numbers still hold wherever the two tables coincide.

use serde_json::Value;

use crate::support::{check_json, column, test};

fn close(what: &str, got: &Value, want: &Value, abs: f64, rel: f64) {
    let (g, w) = (got.as_f64().unwrap_or_else(|| panic!("{what}: {got}")), want.as_f64().unwrap());
    assert!((g - w).abs() <= abs + rel * w.abs(), "{what}: {g:e} vs SciPy {w:e}");
}

fn dir() -> String {
    format!("{}/tests/data/golden/mixed", env!("CARGO_MANIFEST_DIR"))
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{}/expected.json", dir())).unwrap()).unwrap()
}

fn check(extra: &[&str]) -> Value {
    let d = dir();
    let (code, report) = check_json(&[&format!("{d}/reference.parquet")], &[&format!("{d}/current.parquet")], extra);
    assert_eq!(code, 1, "the pair has drift");
    report
}

fn assert_numeric(name: &str, col: &Value, want: &Value) {
    assert_eq!(col["kind"], "numeric", "{name}");
    let ks = test(col, "ks");
    close(&format!("{name} D"), &ks["statistic"], &want["ks_statistic"], 1e-12, 0.0);
    close(&format!("{name} ks p"), &ks["p_value"], &want["ks_pvalue"], 1e-300, 1e-6);
    let psi = test(col, "psi");
    close(&format!("{name} psi"), &psi["statistic"], &want["psi"], 1e-9, 0.0);
    let edges = psi["edges"].as_array().unwrap();
    let want_edges = want["edges"].as_array().unwrap();
    assert_eq!(edges.len(), want_edges.len(), "{name} edges");
    for (g, w) in edges.iter().zip(want_edges) {
        assert_eq!(g.as_f64(), w.as_f64(), "{name} edge");
    }
    assert_eq!(col["reference"]["count"], want["ref_non_null"], "{name}");
    assert_eq!(col["current"]["count"], want["cur_non_null"], "{name}");
    let missing = col["current"]["nulls"].as_u64().unwrap() + col["current"]["nan"].as_u64().unwrap();
    assert_eq!(missing, want["cur_null_or_nan"].as_u64().unwrap(), "{name}");
}

fn assert_chi2(name: &str, col: &Value, want: &Value) {
    assert_eq!(col["kind"], "categorical", "{name}");
    let chi = test(col, "chi2");
    close(&format!("{name} psi"), &chi["psi"], &want["psi"], 1e-9, 0.0);
    close(&format!("{name} chi2"), &chi["statistic"], &want["chi2_statistic"], 1e-9, 1e-9);
    close(&format!("{name} chi2 p"), &chi["p_value"], &want["chi2_pvalue"], 1e-300, 1e-6);
    let cats = want["categories"].as_array().unwrap().len();
    assert_eq!(chi["categories"].as_u64().unwrap() as usize, cats, "{name}");
}

#[test]
fn mixed_pair_matches_scipy_through_the_cli() {
    let report = check(&["--min-expected", "0", "--psi-effect", "classic"]);
    for (name, want) in expected().as_object().unwrap() {
        if name == "_schema" {
            assert_eq!(report["schema"]["only_in_reference"], want["only_in_reference"]);
            assert_eq!(report["schema"]["only_in_current"], want["only_in_current"]);
            continue;
        }
        let col = column(&report, name);
        match want["kind"].as_str().unwrap() {
            "numeric" => assert_numeric(name, col, want),
            _ => {
                assert_chi2(name, col, want);
                assert!(col["tests"].as_array().unwrap().iter().all(|t| t["test"] != "unseen"), "{name}: old rules");
            }
        }
    }
}

#[test]
fn default_rules_keep_the_golden_numbers_where_the_tables_coincide() {
    let report = check(&[]);
    let expected = expected();
    for (name, want) in expected.as_object().unwrap() {
        if want["kind"] == "numeric" {
            // `statistic` stays the classic PSI; only the effect the floors see is corrected.
            assert_numeric(name, column(&report, name), want);
        }
    }
    // device and is_member: every category expects 5 values or more and nothing is new, so
    // the fitted table is the classic one with its smallest category named __other__.
    for name in ["device", "is_member"] {
        assert_chi2(name, column(&report, name), &expected[name]);
    }
    // country: JP is new, and shares __other__ with the smallest reference country; the
    // unseen-values test reports it (4.975% of rows against none expected: a warning).
    let country = column(&report, "country");
    let unseen = test(country, "unseen");
    assert_eq!((&unseen["drift"], &unseen["severity"]), (&Value::Bool(true), &Value::from("warning")), "{unseen}");
    assert_eq!(unseen["reference_rate"], 0.0, "no reference singletons");
    assert_eq!(country["new_categories"][0]["category"], "JP");
    assert_eq!(unseen["current_rate"], country["new_categories_share"]);
}
