//! Chi-square test of homogeneity on a 2 x K table (reference row, current row), with the
//! semantics of SciPy's `chi2_contingency`: expected counts from the margins, Pearson's
//! statistic, Yates' continuity correction when the table has one degree of freedom, and the
//! p-value from the chi-square distribution (statrs). Columns empty in both rows carry no
//! information and are dropped first (SciPy would reject the table); a table left with fewer
//! than two columns has no degrees of freedom: statistic 0, p-value 1.

use statrs::distribution::{ChiSquared, ContinuousCDF};

/// Result of a chi-square test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chi2Result {
    /// Pearson's statistic (Yates-corrected when `dof == 1`).
    pub statistic: f64,
    /// Upper-tail p-value.
    pub p_value: f64,
    /// Degrees of freedom: non-empty columns minus one.
    pub dof: u64,
}

/// Chi-square test of homogeneity for two aligned count vectors.
pub fn chi2_homogeneity(reference: &[u64], current: &[u64]) -> Chi2Result {
    assert_eq!(reference.len(), current.len(), "chi2 needs aligned counts");
    let cols: Vec<(f64, f64)> =
        reference.iter().zip(current).filter(|(r, c)| **r + **c > 0).map(|(&r, &c)| (r as f64, c as f64)).collect();
    let row_r: f64 = cols.iter().map(|c| c.0).sum();
    let row_c: f64 = cols.iter().map(|c| c.1).sum();
    if cols.len() < 2 || row_r == 0.0 || row_c == 0.0 {
        return Chi2Result { statistic: 0.0, p_value: 1.0, dof: 0 };
    }
    let total = row_r + row_c;
    let dof = (cols.len() - 1) as u64;
    let mut stat = 0.0;
    for &(r, c) in &cols {
        let col = r + c;
        for (obs, row) in [(r, row_r), (c, row_c)] {
            let exp = row * col / total;
            let mut obs = obs;
            if dof == 1 {
                let diff = exp - obs;
                obs += diff.signum() * diff.abs().min(0.5);
            }
            stat += (obs - exp) * (obs - exp) / exp;
        }
    }
    Chi2Result { statistic: stat, p_value: chi2_sf(stat, dof), dof }
}

/// Upper tail of the chi-square distribution with `dof` degrees of freedom.
pub fn chi2_sf(x: f64, dof: u64) -> f64 {
    match ChiSquared::new(dof as f64) {
        Ok(dist) => dist.sf(x).clamp(0.0, 1.0),
        Err(_) => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degenerate_tables() {
        assert_eq!(chi2_homogeneity(&[5, 0], &[7, 0]).p_value, 1.0);
        assert_eq!(chi2_homogeneity(&[0, 0], &[3, 4]).dof, 0);
    }
}
