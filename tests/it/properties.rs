//! Invariants over random inputs: KS in [0, 1], KS(a, a) = 0, symmetry, binary-search and
//! merge agree; PSI >= 0 and PSI(a, a) = 0; BH adjusted p-values keep the order of the raw
//! ones and never fall below them.

use drift::stats::*;
use proptest::prelude::*;

fn sample() -> impl Strategy<Value = Vec<f64>> {
    // small integers make ties common; a few specials make the edges matter
    prop::collection::vec(
        prop_oneof![
            8 => (-20i32..20).prop_map(f64::from),
            4 => -1e3f64..1e3,
            1 => Just(-0.0),
            1 => Just(f64::INFINITY),
            1 => Just(f64::NEG_INFINITY),
        ],
        1..300,
    )
}

fn brute_d(a: &SortedSample, b: &SortedSample) -> f64 {
    let mut best: f64 = 0.0;
    for &x in a.values().iter().chain(b.values()) {
        let fa = a.count_at_or_below(x) as f64 / a.len() as f64;
        let fb = b.count_at_or_below(x) as f64 / b.len() as f64;
        best = best.max((fa - fb).abs());
    }
    best
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn ks_bounds_symmetry_identity(a in sample(), b in sample()) {
        let sa = SortedSample::new(a).unwrap();
        let sb = SortedSample::new(b).unwrap();
        let ab = ks_2samp(&sa, &sb, KsMode::Auto);
        let ba = ks_2samp(&sb, &sa, KsMode::Auto);
        prop_assert!((0.0..=1.0).contains(&ab.statistic));
        prop_assert!((0.0..=1.0).contains(&ab.p_value));
        prop_assert_eq!(ab.statistic, ba.statistic);
        prop_assert_eq!(ab.p_value, ba.p_value);
        prop_assert!((ab.statistic - brute_d(&sa, &sb)).abs() < 1e-12);
        let aa = ks_2samp(&sa, &sa, KsMode::Auto);
        prop_assert_eq!(aa.statistic, 0.0);
        prop_assert_eq!(aa.p_value, 1.0);
    }

    #[test]
    fn ks_small_window_against_large_reference(a in prop::collection::vec(-50i32..50, 2000..3000), b in prop::collection::vec(-60i32..60, 1..40)) {
        // sizes chosen so the binary-search path is taken
        let sa = SortedSample::new(a.into_iter().map(f64::from).collect()).unwrap();
        let sb = SortedSample::new(b.into_iter().map(f64::from).collect()).unwrap();
        prop_assert!((ks_statistic(&sa, &sb) - brute_d(&sa, &sb)).abs() < 1e-12);
    }

    #[test]
    fn psi_non_negative_and_zero_on_itself(a in sample(), b in sample(), bins in 2usize..20) {
        let sa = SortedSample::new(a).unwrap();
        let sb = SortedSample::new(b).unwrap();
        let edges = quantile_edges(&sa, bins);
        let ra = bin_counts(&sa, &edges);
        let rb = bin_counts(&sb, &edges);
        prop_assert!(psi(&ra, &rb, 1e-4) >= 0.0);
        prop_assert_eq!(psi(&ra, &ra, 1e-4), 0.0);
        prop_assert_eq!(ra.iter().sum::<u64>() as usize, sa.len());
        let js = js_distance(&ra, &rb);
        prop_assert!((0.0..=1.0 + 1e-12).contains(&js));
    }

    #[test]
    fn bh_monotone(p in prop::collection::vec(0.0f64..=1.0, 1..60)) {
        let adj = benjamini_hochberg(&p);
        for i in 0..p.len() {
            prop_assert!(adj[i] >= p[i]);
            prop_assert!(adj[i] <= 1.0);
            for j in 0..p.len() {
                if p[i] <= p[j] {
                    prop_assert!(adj[i] <= adj[j], "order kept: p {} <= {} but adj {} > {}", p[i], p[j], adj[i], adj[j]);
                }
            }
        }
    }
}
