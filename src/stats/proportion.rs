//! Two-proportion z-test (pooled), used for the change in a column's missing-value rate.

use statrs::function::erf::erfc;

/// The pooled z statistic `(x1/n1 - x2/n2) / sqrt(q(1-q)(1/n1 + 1/n2))` with
/// `q = (x1+x2)/(n1+n2)`, signed like `x1/n1 - x2/n2`. `None` when either side is empty or the
/// pooled rate is 0 or 1 (no variation to test).
pub fn two_proportion_z(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<f64> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let (x1, n1, x2, n2) = (x1 as f64, n1 as f64, x2 as f64, n2 as f64);
    let pooled = (x1 + x2) / (n1 + n2);
    if pooled <= 0.0 || pooled >= 1.0 {
        return None;
    }
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    Some((x1 / n1 - x2 / n2) / se)
}

/// Two-sided p-value that `x1/n1` and `x2/n2` come from the same rate: `2 * Phi(-|z|)` with `z`
/// from [`two_proportion_z`]. 1 when either side is empty or the pooled rate is 0 or 1 (no
/// variation to test).
pub fn two_proportion_p(x1: u64, n1: u64, x2: u64, n2: u64) -> f64 {
    match two_proportion_z(x1, n1, x2, n2) {
        Some(z) => erfc(z.abs() / std::f64::consts::SQRT_2).clamp(0.0, 1.0),
        None => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::testing::assert_p;

    #[test]
    fn equal_rates_and_known_value() {
        // No variation (pooled rate 0 or 1) or an empty side: p = 1 by convention, no z.
        assert_eq!(two_proportion_p(0, 100, 0, 100), 1.0);
        assert_eq!(two_proportion_p(50, 50, 70, 70), 1.0);
        assert_eq!(two_proportion_p(3, 0, 4, 10), 1.0);
        assert_eq!(two_proportion_z(0, 100, 0, 100), None);
        assert_eq!(two_proportion_z(50, 50, 70, 70), None);
        // Equal rates: z = 0, p = 1.
        assert_eq!(two_proportion_z(10, 100, 10, 100), Some(0.0));
        assert_p(two_proportion_p(10, 100, 10, 100), 1.0);
        // SciPy values (tests/data/golden/null_rate.json): 2 * norm.sf(|z|).
        let z = two_proportion_z(0, 1000, 40, 1000).unwrap();
        assert!((z + 6.388765649999399).abs() <= 1e-12, "z {z}");
        assert_p(two_proportion_p(0, 1000, 40, 1000), 1.6723011081609642e-10);
        assert_p(two_proportion_p(40, 1000, 0, 1000), 1.6723011081609642e-10);
        assert_p(two_proportion_p(30, 200, 18, 200), 0.06483815699206645);
        assert_p(two_proportion_p(1000, 100_000, 2940, 100_000), 6.508935574676555e-214);
    }
}
