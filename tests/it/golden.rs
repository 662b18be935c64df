//! Golden vectors computed with SciPy/NumPy (`tests/data/golden/`, copied from the shared
//! golden set; `meta.json` names the versions). Tolerances, as the golden README states them:
//! KS D 1e-12 absolute; every p-value and `kstwo.sf` (KS auto/exact/asymptotic, chi-square, BH,
//! the null-rate test) **relative**, |got - want| <= 1e-6 * want + 1e-300, so a tail value is
//! held to its own digits (an expected 0 means got <= 1e-300); PSI, JS and Wasserstein 1e-9
//! absolute.

use drift::stats::*;
use serde_json::Value;

fn read(name: &str) -> Value {
    let path = format!("{}/tests/data/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn load(name: &str) -> Vec<Value> {
    let cases = read(name).as_array().unwrap_or_else(|| panic!("{name}: not a list of cases")).clone();
    assert!(!cases.is_empty(), "{name}: no cases");
    cases
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn counts(v: &Value) -> Vec<u64> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect()
}

/// Every p-value and `sf`: |got - want| <= 1e-6 * want + 1e-300, relative. An absolute floor
/// (the old 1e-9) would let any tail value below it pass, and drift decisions live in the tails.
fn assert_p(case: &str, got: f64, want: f64) {
    let tol = 1e-6 * want + 1e-300;
    assert!((got - want).abs() <= tol, "{case}: p {got:e} vs SciPy {want:e} (tol {tol:e})");
}

fn assert_abs(case: &str, what: &str, got: f64, want: f64, tol: f64) {
    assert!((got - want).abs() <= tol, "{case}: {what} {got:e} vs SciPy {want:e} (tol {tol:e})");
}

#[test]
fn ks_two_sample_matches_scipy() {
    for case in load("ks.json") {
        let name = case["name"].as_str().unwrap();
        let x = SortedSample::new(floats(&case["x"])).unwrap();
        let y = SortedSample::new(floats(&case["y"])).unwrap();
        let auto = ks_2samp(&x, &y, KsMode::Auto);
        assert_abs(name, "D", auto.statistic, case["statistic"].as_f64().unwrap(), 1e-12);
        assert_p(name, auto.p_value, case["pvalue_auto"].as_f64().unwrap());
        let uses = case["auto_uses"].as_str().unwrap();
        let method = if uses == "exact" { KsMethod::Exact } else { KsMethod::Asymptotic };
        assert_eq!(auto.method, method, "{name}");
        if let Some(p) = case["pvalue_exact"].as_f64() {
            assert_p(name, ks_2samp(&x, &y, KsMode::Exact).p_value, p);
        }
        if let Some(p) = case["pvalue_asymp"].as_f64() {
            assert_p(name, ks_2samp(&x, &y, KsMode::Asymptotic).p_value, p);
        }
        // symmetry
        let swapped = ks_2samp(&y, &x, KsMode::Auto);
        assert_eq!(swapped.statistic, auto.statistic, "{name}");
        assert_eq!(swapped.p_value, auto.p_value, "{name}");
    }
}

#[test]
fn kstwo_sf_matches_scipy_up_to_ten_million() {
    for case in load("kstwo_sf.json") {
        let n = case["n"].as_u64().unwrap();
        let d = case["d"].as_f64().unwrap();
        let want = case["sf"].as_f64().unwrap();
        assert_p(&format!("kstwo.sf(d={d}, n={n})"), kstwo_sf(d, n), want);
    }
}

#[test]
fn numeric_psi_js_wasserstein_match_scipy() {
    for case in load("psi_numeric.json") {
        let name = case["name"].as_str().unwrap();
        let r = SortedSample::new(floats(&case["ref"])).unwrap();
        let c = SortedSample::new(floats(&case["cur"])).unwrap();
        let edges = quantile_edges(&r, case["bins"].as_u64().unwrap() as usize);
        let want_edges = floats(&case["edges"]);
        assert_eq!(edges.len(), want_edges.len(), "{name}: edges {edges:?}");
        for (g, w) in edges.iter().zip(&want_edges) {
            assert_eq!(g.to_bits(), w.to_bits(), "{name}: edge {g} vs NumPy {w}");
        }
        let rc = bin_counts(&r, &edges);
        let cc = bin_counts(&c, &edges);
        assert_eq!(rc, counts(&case["ref_counts"]), "{name}");
        assert_eq!(cc, counts(&case["cur_counts"]), "{name}");
        let eps = 1e-4;
        assert_abs(name, "psi", psi(&rc, &cc, eps), case["psi"].as_f64().unwrap(), 1e-9);
        let js = case["js_distance_base2"].as_f64().unwrap();
        assert_abs(name, "js", js_distance(&rc, &cc), js, 1e-9);
        let w = case["wasserstein"].as_f64().unwrap();
        assert_abs(name, "wasserstein", wasserstein(&r, &c), w, 1e-9);
        let sd = case["ref_std_ddof0"].as_f64().unwrap();
        assert_abs(name, "std", r.std_population(), sd, 1e-9);
    }
}

#[test]
fn categorical_psi_chi2_match_scipy() {
    for case in load("categorical.json") {
        let name = case["name"].as_str().unwrap();
        let mut r = CategoryCounts::new();
        let mut c = CategoryCounts::new();
        for v in case["ref"].as_array().unwrap() {
            r.add(v.as_str().unwrap(), 1);
        }
        for v in case["cur"].as_array().unwrap() {
            c.add(v.as_str().unwrap(), 1);
        }
        let t = align_categories(&r, &c, 10_000);
        let want: Vec<String> =
            case["categories"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
        assert_eq!(t.labels, want, "{name}");
        assert_eq!(t.reference, counts(&case["ref_counts"]), "{name}");
        assert_eq!(t.current, counts(&case["cur_counts"]), "{name}");
        assert_abs(name, "psi", psi(&t.reference, &t.current, 1e-4), case["psi"].as_f64().unwrap(), 1e-9);
        let js = case["js_distance_base2"].as_f64().unwrap();
        assert_abs(name, "js", js_distance(&t.reference, &t.current), js, 1e-9);
        let chi = chi2_homogeneity(&t.reference, &t.current);
        assert_eq!(chi.dof, case["chi2_dof"].as_u64().unwrap(), "{name}");
        let want_stat = case["chi2_statistic"].as_f64().unwrap();
        assert_abs(name, "chi2", chi.statistic, want_stat, 1e-9 * want_stat.max(1.0));
        assert_p(name, chi.p_value, case["chi2_pvalue"].as_f64().unwrap());
    }
}

#[test]
fn benjamini_hochberg_matches_scipy() {
    for case in load("bh.json") {
        let name = case["name"].as_str().unwrap();
        let p = floats(&case["pvalues"]);
        let want = floats(&case["adjusted_bh"]);
        assert_eq!(p.len(), want.len(), "{name}: the golden case itself");
        let got = benjamini_hochberg(&p);
        assert_eq!(got.len(), want.len(), "{name}: one adjusted p-value per input");
        for (g, w) in got.iter().zip(want) {
            assert_p(name, *g, w);
        }
    }
}

#[test]
fn null_rate_two_proportion_matches_scipy() {
    let file = read("null_rate.json");
    let cases = file["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 12, "null_rate.json: every case is checked");
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let n = |k: &str| case[k].as_u64().unwrap();
        let (x1, n1, x2, n2) = (n("x1"), n("n1"), n("x2"), n("n2"));
        let want = case["p_value"].as_f64().unwrap();
        assert_p(name, two_proportion_p(x1, n1, x2, n2), want);
        // The same test read the other way round gives the same p.
        assert_p(name, two_proportion_p(x2, n2, x1, n1), want);
        // null_rate.json holds |z| (non-negative in every case); z is null when nothing varies.
        match case["z"].as_f64() {
            Some(want_z) => {
                let z = two_proportion_z(x1, n1, x2, n2).unwrap_or_else(|| panic!("{name}: no z"));
                assert_abs(name, "|z|", z.abs(), want_z, 1e-12 * want_z.max(1.0));
            }
            None => {
                assert_eq!(two_proportion_z(x1, n1, x2, n2), None, "{name}");
                assert_eq!(want, 1.0, "{name}");
            }
        }
    }
}

/// The `cases` of a generated file (`make_false_alarm_goldens.py`).
fn cases(name: &str) -> Vec<Value> {
    let file = read(name);
    let cases = file["cases"].as_array().unwrap_or_else(|| panic!("{name}: no cases")).clone();
    assert!(cases.len() >= 10, "{name}: every case is checked");
    cases
}

#[test]
fn fisher_exact_matches_scipy() {
    for case in cases("fisher.json") {
        let name = case["name"].as_str().unwrap();
        let t: Vec<Vec<u64>> = case["table"].as_array().unwrap().iter().map(counts).collect();
        let table = [[t[0][0], t[0][1]], [t[1][0], t[1][1]]];
        let want = case["p_value"].as_f64().unwrap();
        assert_p(name, fisher_exact(table), want);
        // Rows or columns swapped, or the table transposed: the same two-sided p.
        assert_p(name, fisher_exact([table[1], table[0]]), want);
        assert_p(name, fisher_exact([[t[0][1], t[0][0]], [t[1][1], t[1][0]]]), want);
        assert_p(name, fisher_exact([[t[0][0], t[1][0]], [t[0][1], t[1][1]]]), want);
    }
}

#[test]
fn unseen_binomial_tail_matches_scipy() {
    for case in cases("unseen.json") {
        let name = case["name"].as_str().unwrap();
        let (k, n) = (case["k"].as_u64().unwrap(), case["n"].as_u64().unwrap());
        let p = case["p"].as_f64().unwrap();
        assert_p(name, binom_sf(k, n, p), case["p_value"].as_f64().unwrap());
    }
}

#[test]
fn pooled_tables_match_scipy() {
    for case in cases("pooled.json") {
        let name = case["name"].as_str().unwrap();
        let side = |v: &Value| {
            let mut c = CategoryCounts::new();
            for (k, n) in v.as_object().unwrap() {
                c.add(k, n.as_u64().unwrap());
            }
            c
        };
        let (r, c) = (side(&case["ref"]), side(&case["cur"]));
        let min_expected = case["min_expected"].as_f64().unwrap();
        match fit_categories(&r, &c, min_expected) {
            Fitted::Insufficient { testable_from } => {
                assert_eq!(case["insufficient"], true, "{name}");
                assert_eq!(testable_from, case["testable_from"].as_u64(), "{name}");
            }
            Fitted::Table(t) => {
                assert_eq!(case["insufficient"], false, "{name}");
                let labels: Vec<&str> =
                    case["labels"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
                assert_eq!(t.labels, labels, "{name}");
                assert_eq!(t.reference, counts(&case["ref_counts"]), "{name}");
                assert_eq!(t.current, counts(&case["cur_counts"]), "{name}");
                let chi = chi2_homogeneity(&t.reference, &t.current);
                assert_eq!(chi.dof, case["chi2_dof"].as_u64().unwrap(), "{name}");
                let want_stat = case["chi2_statistic"].as_f64().unwrap();
                assert_abs(name, "chi2", chi.statistic, want_stat, 1e-9 * want_stat.max(1.0));
                assert_p(name, chi.p_value, case["chi2_pvalue"].as_f64().unwrap());
                let p = psi(&t.reference, &t.current, 1e-4);
                assert_abs(name, "psi", p, case["psi"].as_f64().unwrap(), 1e-9);
                let (n, big_n) = (c.total(), r.total());
                let corrected = psi_corrected(p, chi.dof, n, big_n);
                assert_abs(name, "psi_corrected", corrected, case["psi_corrected"].as_f64().unwrap(), 1e-9);
            }
        }
        let u = unseen(&r, &c);
        let want = &case["unseen"];
        assert_eq!(u.count, want["unseen"].as_u64().unwrap(), "{name}");
        assert_eq!(r.singletons(), want["singletons"].as_u64().unwrap(), "{name}");
        assert_abs(name, "expected unseen rate", u.expected, want["expected_rate"].as_f64().unwrap(), 1e-15);
        assert_p(name, u.p_value(), want["p_value"].as_f64().unwrap());
    }
}
