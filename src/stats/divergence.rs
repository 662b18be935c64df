//! Distances between two histograms or two samples: PSI, Jensen-Shannon and Wasserstein-1.
//!
//! PSI = sum_i (c_i - r_i) ln(c_i / r_i) over bin proportions, each clipped from below to
//! `eps` (default 1e-4) so empty bins do not make it infinite. Jensen-Shannon distance is base 2
//! on the unclipped proportions, in [0, 1]. Wasserstein-1 is the area between the two ECDFs
//! (SciPy's `wasserstein_distance`).

use super::sample::SortedSample;

/// Default lower clip for PSI proportions.
pub const DEFAULT_PSI_EPS: f64 = 1e-4;

fn proportions(counts: &[u64]) -> Vec<f64> {
    let total: u64 = counts.iter().sum();
    counts.iter().map(|&c| if total == 0 { 0.0 } else { c as f64 / total as f64 }).collect()
}

/// Population Stability Index of `current` against `reference` bin counts.
pub fn psi(reference: &[u64], current: &[u64], eps: f64) -> f64 {
    assert_eq!(reference.len(), current.len(), "psi needs aligned bins");
    let r = proportions(reference);
    let c = proportions(current);
    r.iter()
        .zip(&c)
        .map(|(&r, &c)| {
            let (r, c) = (r.max(eps), c.max(eps));
            (c - r) * (c / r).ln()
        })
        .sum()
}

/// PSI less what sampling noise alone gives it: `max(0, psi - dof * (1/n + 1/N))`, with `dof`
/// the chi-square degrees of freedom of the same bins and `n`, `N` the two sides' counts.
/// Between two samples of one distribution PSI is about `(1/n + 1/N) * chi2(dof)`, whose mean
/// this removes, so a floor on it means "this large beyond noise" at any window size (with 10
/// bins the two differ by 0.045 at 200 rows and by under 0.001 from 10 000 rows).
pub fn psi_corrected(psi: f64, dof: u64, n: u64, big_n: u64) -> f64 {
    if n == 0 || big_n == 0 {
        return psi;
    }
    (psi - dof as f64 * (1.0 / n as f64 + 1.0 / big_n as f64)).max(0.0)
}

/// Jensen-Shannon distance (base 2) between two count vectors.
pub fn js_distance(reference: &[u64], current: &[u64]) -> f64 {
    assert_eq!(reference.len(), current.len(), "js_distance needs aligned bins");
    let p = proportions(reference);
    let q = proportions(current);
    let rel = |a: f64, b: f64| if a > 0.0 { a * (a / b).ln() } else { 0.0 };
    let mut left = 0.0;
    let mut right = 0.0;
    for (&a, &b) in p.iter().zip(&q) {
        let m = (a + b) / 2.0;
        left += rel(a, m);
        right += rel(b, m);
    }
    ((left + right) / 2.0 / std::f64::consts::LN_2).max(0.0).sqrt()
}

/// First Wasserstein distance between two samples.
pub fn wasserstein(a: &SortedSample, b: &SortedSample) -> f64 {
    let (u, v) = (a.values(), b.values());
    let (n, m) = (u.len() as f64, v.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut x = u[0].min(v[0]);
    let mut total = 0.0;
    loop {
        while i < u.len() && u[i] <= x {
            i += 1;
        }
        while j < v.len() && v[j] <= x {
            j += 1;
        }
        let next = match (u.get(i), v.get(j)) {
            (Some(&p), Some(&q)) => p.min(q),
            (Some(&p), None) => p,
            (None, Some(&q)) => q,
            (None, None) => break,
        };
        total += (i as f64 / n - j as f64 / m).abs() * (next - x);
        x = next;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_histograms_are_zero() {
        assert_eq!(psi(&[5, 0, 7], &[5, 0, 7], DEFAULT_PSI_EPS), 0.0);
        assert_eq!(js_distance(&[5, 0, 7], &[10, 0, 14]), 0.0);
    }

    #[test]
    fn wasserstein_of_a_shift() {
        let a = SortedSample::new(vec![0.0, 1.0, 2.0]).unwrap();
        let b = SortedSample::new(vec![1.0, 2.0, 3.0]).unwrap();
        assert!((wasserstein(&a, &b) - 1.0).abs() < 1e-15);
    }
}
