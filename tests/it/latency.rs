//! Latency percentiles: exact ones equal NumPy's `inverted_cdf` on heavy-tailed samples
//! (`tests/data/golden/latency.json`, made by `make_latency_goldens.py`), sketched ones stay
//! within the sketch's relative error of them, whole and merged from parts in any grouping.

use drift::stats::ddsketch::{DEFAULT_ALPHA, QuantileSketch};
use drift::stats::quantile::{exceeds, inverted_cdf};
use drift::synth::Rng;
use proptest::prelude::*;
use serde_json::Value;

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn sketch(values: &[f64]) -> QuantileSketch {
    let mut s = QuantileSketch::new(DEFAULT_ALPHA);
    values.iter().for_each(|&x| s.add(x));
    s
}

/// Within the relative error of the true value (a hair of float slack at bucket edges).
fn within(got: f64, want: f64) -> bool {
    (got - want).abs() <= DEFAULT_ALPHA * want.abs() * (1.0 + 1e-9)
}

#[test]
fn percentiles_equal_numpys_inverted_cdf_exactly_and_within_alpha_sketched_and_merged() {
    let path = format!("{}/tests/data/golden/latency.json", env!("CARGO_MANIFEST_DIR"));
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for case in file["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let values = floats(&case["values"]);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        // Parts cut at the splits, merged in reverse order.
        let mut cuts: Vec<usize> =
            case["splits"].as_array().unwrap().iter().map(|s| s.as_u64().unwrap() as usize).collect();
        cuts.insert(0, 0);
        cuts.push(values.len());
        let mut merged = QuantileSketch::new(DEFAULT_ALPHA);
        for w in cuts.windows(2).rev() {
            merged.merge(&sketch(&values[w[0]..w[1]])).unwrap();
        }
        let whole = sketch(&values);
        assert_eq!(merged, whole, "{name}: merged parts are the sketch of all the values");
        for (q, want) in floats(&case["quantiles"]).into_iter().zip(floats(&case["want"])) {
            assert_eq!(inverted_cdf(&sorted, q), Some(want), "{name}: exact q {q}");
            let got = merged.quantile(q).unwrap();
            assert!(within(got, want), "{name}: sketched q {q}: {got} vs NumPy {want}");
        }
        let n = values.len() as u64;
        for (t, above) in floats(&case["thresholds"]).into_iter().zip(case["above"].as_array().unwrap()) {
            let above = above.as_u64().unwrap();
            assert_eq!(values.iter().filter(|&&x| x > t).count() as u64, above, "{name}: above {t}");
            for q in [0.5, 0.9, 0.99, 0.999] {
                let p = inverted_cdf(&sorted, q).unwrap();
                assert_eq!(exceeds(n, n - above, q), p > t, "{name}: p{q} {p} > {t} from counts");
            }
        }
    }
}

/// Heavy-tailed samples: lognormal, Pareto (shape 1.1..3), bimodal with a 0.5% tail at 100x.
fn heavy(kind: u8, n: usize, seed: u64) -> Vec<f64> {
    let mut r = Rng::new(seed);
    (0..n)
        .map(|_| match kind {
            0 => (3.0 + 1.2 * r.normal()).exp(),
            1 => 10.0 / (1.0 - r.uniform()).powf(1.0 / (1.1 + 1.9 * (seed % 7) as f64 / 7.0)),
            _ if r.uniform() < 0.005 => 3000.0 * (0.2 * r.normal()).exp(),
            _ => (30.0 + 5.0 * r.normal()).max(0.5),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every percentile of a sketch merged from random parts is within alpha of the exact one.
    #[test]
    fn a_merged_sketch_stays_within_alpha_on_heavy_tails(kind in 0u8..3, n in 1usize..20_000, seed in any::<u64>(), cuts in prop::collection::vec(0usize..20_000, 0..6)) {
        let values = heavy(kind, n, seed);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (n + 1)).collect();
        cuts.extend([0, n]);
        cuts.sort_unstable();
        let mut merged = QuantileSketch::new(DEFAULT_ALPHA);
        for w in cuts.windows(2) {
            merged.merge(&sketch(&values[w[0]..w[1]])).unwrap();
        }
        for q in [0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            let (got, want) = (merged.quantile(q).unwrap(), inverted_cdf(&sorted, q).unwrap());
            prop_assert!(within(got, want), "kind {} q {}: {} vs {}", kind, q, got, want);
        }
    }
}
