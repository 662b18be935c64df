//! Multiple-testing corrections over the p-values of one evaluation: Benjamini-Hochberg
//! (false discovery rate, the default; as SciPy's `false_discovery_control(method="bh")`),
//! Bonferroni (family-wise error) or none.

/// A multiple-testing correction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Correction {
    /// Benjamini-Hochberg step-up adjusted p-values.
    Bh,
    /// p * m, capped at 1.
    Bonferroni,
    /// Raw p-values.
    None,
}

impl Correction {
    /// Adjusted p-values, in the order of `p`.
    pub fn adjust(self, p: &[f64]) -> Vec<f64> {
        match self {
            Correction::Bh => benjamini_hochberg(p),
            Correction::Bonferroni => {
                let m = p.len() as f64;
                p.iter().map(|&x| (x * m).min(1.0)).collect()
            }
            Correction::None => p.to_vec(),
        }
    }
}

/// Benjamini-Hochberg adjusted p-values.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adjusted = vec![0.0; m];
    let mut running = f64::INFINITY;
    for (rank, &idx) in order.iter().enumerate().rev() {
        let scaled = p[idx] * (m as f64 / (rank + 1) as f64);
        running = running.min(scaled);
        adjusted[idx] = running.clamp(0.0, 1.0);
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bh_small_example() {
        let adj = benjamini_hochberg(&[0.01, 0.04, 0.03]);
        assert_eq!(adj, vec![0.03, 0.04, 0.04]);
        assert!(benjamini_hochberg(&[]).is_empty());
    }
}
