//! Two-proportion z-test (pooled), used for the change in a column's missing-value rate.

use statrs::function::erf::erfc;

/// Two-sided p-value that `x1/n1` and `x2/n2` come from the same rate. 1 when either side is
/// empty or the pooled rate is 0 or 1 (no variation to test).
pub fn two_proportion_p(x1: u64, n1: u64, x2: u64, n2: u64) -> f64 {
    if n1 == 0 || n2 == 0 {
        return 1.0;
    }
    let (x1, n1, x2, n2) = (x1 as f64, n1 as f64, x2 as f64, n2 as f64);
    let pooled = (x1 + x2) / (n1 + n2);
    if pooled <= 0.0 || pooled >= 1.0 {
        return 1.0;
    }
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    let z = (x1 / n1 - x2 / n2).abs() / se;
    erfc(z / std::f64::consts::SQRT_2).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_rates_and_known_value() {
        assert_eq!(two_proportion_p(0, 100, 0, 100), 1.0);
        assert!((two_proportion_p(10, 100, 10, 100) - 1.0).abs() < 1e-12);
        // z = 1.959963984540054 gives p = 0.05
        let p = two_proportion_p(0, 1000, 40, 1000);
        assert!(p < 1e-8);
    }
}
