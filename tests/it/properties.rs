//! Invariants over random inputs: KS in [0, 1], KS(a, a) = 0, symmetry, binary-search and
//! merge agree; the bucketed comparison equals the fully sorted one; PSI >= 0 and PSI(a, a) = 0;
//! BH adjusted p-values keep the order of the raw
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

/// A random mixture: normal bulk, optional heavy tail, ties, zeros and infinities.
fn mixture(n: usize, seed: u64, shift: f64, tie_grid: f64, zero_share: f64) -> Vec<f64> {
    let mut r = drift::synth::Rng::new(seed);
    (0..n)
        .map(|_| {
            let u = r.uniform();
            if u < zero_share {
                0.0
            } else if u < zero_share + 0.0005 {
                if r.uniform() < 0.5 { f64::INFINITY } else { f64::NEG_INFINITY }
            } else if u < zero_share + 0.05 {
                (r.normal() * 2.0).exp() * 100.0
            } else {
                let x = r.normal() + shift;
                if tie_grid > 0.0 { (x / tie_grid).round() * tie_grid } else { x }
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Sorting only what must be sorted gives exactly what sorting everything gives.
    #[test]
    fn bucketed_comparison_equals_sorted(
        seed in 0u64..1_000_000,
        n in 33_000usize..60_000,
        m in 1_000usize..60_000,
        shift in 0.0f64..0.5,
        tie_grid in prop_oneof![Just(0.0), Just(0.01), Just(0.5)],
        zero_share in prop_oneof![Just(0.0), Just(0.3), Just(0.97)],
        bins in 2usize..20,
    ) {
        let r = Sample::new(mixture(n, seed, 0.0, tie_grid, zero_share)).unwrap();
        let c = Sample::new(mixture(m, seed + 1, shift, tie_grid, zero_share)).unwrap();
        let got = drift::stats::bucketed::compare(&r, &c, bins, KsMode::Auto);
        let want = drift::stats::bucketed::compare_sorted(&r.sorted(), &c.sorted(), bins, KsMode::Auto);
        prop_assert_eq!(got.ks, want.ks);
        prop_assert_eq!(got.edges.iter().map(|e| e.to_bits()).collect::<Vec<_>>(), want.edges.iter().map(|e| e.to_bits()).collect::<Vec<_>>());
        prop_assert_eq!(&got.reference_counts, &want.reference_counts);
        prop_assert_eq!(&got.current_counts, &want.current_counts);
        prop_assert_eq!(got.reference.median, want.reference.median);
        prop_assert_eq!(got.current.median, want.current.median);
    }
}
