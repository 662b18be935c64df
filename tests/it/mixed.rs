//! End to end: `drift check --format json` on the golden Parquet pair gives SciPy's numbers
//! (`tests/data/golden/mixed/expected.json`). Tolerances as in `golden.rs`.

use crate::support::{check_json, column, test};

fn close(what: &str, got: &serde_json::Value, want: &serde_json::Value, abs: f64, rel: f64) {
    let (g, w) = (got.as_f64().unwrap_or_else(|| panic!("{what}: {got}")), want.as_f64().unwrap());
    assert!((g - w).abs() <= abs + rel * w.abs(), "{what}: {g:e} vs SciPy {w:e}");
}

#[test]
fn mixed_pair_matches_scipy_through_the_cli() {
    let dir = format!("{}/tests/data/golden/mixed", env!("CARGO_MANIFEST_DIR"));
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/expected.json")).unwrap()).unwrap();
    let (code, report) = check_json(&[&format!("{dir}/reference.parquet")], &[&format!("{dir}/current.parquet")], &[]);
    assert_eq!(code, 1, "the pair has drift");
    for (name, want) in expected.as_object().unwrap() {
        if name == "_schema" {
            assert_eq!(report["schema"]["only_in_reference"], want["only_in_reference"]);
            assert_eq!(report["schema"]["only_in_current"], want["only_in_current"]);
            continue;
        }
        let col = column(&report, name);
        match want["kind"].as_str().unwrap() {
            "numeric" => {
                assert_eq!(col["kind"], "numeric", "{name}");
                let ks = test(col, "ks");
                close(&format!("{name} D"), &ks["statistic"], &want["ks_statistic"], 1e-12, 0.0);
                close(&format!("{name} ks p"), &ks["p_value"], &want["ks_pvalue"], 1e-9, 1e-6);
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
            _ => {
                assert_eq!(col["kind"], "categorical", "{name}");
                let chi = test(col, "chi2");
                close(&format!("{name} psi"), &chi["psi"], &want["psi"], 1e-9, 0.0);
                close(&format!("{name} chi2"), &chi["statistic"], &want["chi2_statistic"], 1e-9, 1e-9);
                close(&format!("{name} chi2 p"), &chi["p_value"], &want["chi2_pvalue"], 1e-9, 1e-6);
                let cats = want["categories"].as_array().unwrap().len();
                assert_eq!(chi["categories"].as_u64().unwrap() as usize, cats, "{name}");
            }
        }
    }
}
