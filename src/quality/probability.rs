//! The probability metrics of a score: log loss, Brier score, expected calibration error.

use super::{NO_ROWS, Value};

/// Log loss (scikit-learn's `log_loss(labels=[0, 1])`): the mean of `-ln p` for positives and
/// `-ln (1 - p)` for negatives, each probability clipped to `[eps, 1 - eps]`, eps = f64's
/// machine epsilon, so a confident mistake costs about 36, not infinity.
pub fn log_loss(labels: &[bool], scores: &[f64]) -> Value {
    if labels.is_empty() {
        return Value::Undefined(NO_ROWS);
    }
    let eps = f64::EPSILON;
    let total: f64 = labels
        .iter()
        .zip(scores)
        .map(|(&y, &p)| {
            let q = if y { p } else { 1.0 - p };
            -q.clamp(eps, 1.0 - eps).ln()
        })
        .sum();
    Value::Defined(total / labels.len() as f64)
}

/// Brier score (scikit-learn's `brier_score_loss`): the mean squared difference between the
/// score and the label (1 for positive).
pub fn brier(labels: &[bool], scores: &[f64]) -> Value {
    if labels.is_empty() {
        return Value::Undefined(NO_ROWS);
    }
    let total: f64 = labels.iter().zip(scores).map(|(&y, &p)| (f64::from(u8::from(y)) - p).powi(2)).sum();
    Value::Defined(total / labels.len() as f64)
}

/// The number of uniform calibration bins.
pub const ECE_BINS: usize = 10;

/// Expected calibration error on 10 uniform bins: over the bins, the share of rows in the bin
/// times |observed positive rate - mean score|, i.e. the sum of |positives - score sum| / n. The
/// bins are scikit-learn's `calibration_curve(n_bins=10, strategy="uniform")`: a score goes to
/// the number of inner edges `k * 0.1` (k = 1..9, as `np.linspace` computes them) strictly below
/// it, so a score on an edge falls in the lower bin and 0 in the first.
pub fn expected_calibration_error(labels: &[bool], scores: &[f64]) -> Value {
    if labels.is_empty() {
        return Value::Undefined(NO_ROWS);
    }
    let edges: Vec<f64> = (1..ECE_BINS).map(|k| k as f64 * (1.0 / ECE_BINS as f64)).collect();
    let mut positives = [0.0f64; ECE_BINS];
    let mut sums = [0.0f64; ECE_BINS];
    for (&y, &p) in labels.iter().zip(scores) {
        let bin = edges.partition_point(|&e| e < p);
        sums[bin] += p;
        positives[bin] += f64::from(u8::from(y));
    }
    let gap: f64 = positives.iter().zip(&sums).map(|(t, s)| (t - s).abs()).sum();
    Value::Defined(gap / labels.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edge_score_falls_in_the_lower_bin() {
        // 0.1 is bin 0's upper edge: one bin holding both rows, |1 - 0.15| / 2 (in two bins it
        // would be (|1 - 0.05| + |0 - 0.1|) / 2 = 0.525).
        let v = expected_calibration_error(&[true, false], &[0.05, 0.1]).get().unwrap();
        assert!((v - 0.425).abs() < 1e-15, "{v}");
        assert_eq!(log_loss(&[], &[]), Value::Undefined(NO_ROWS));
        let sure_and_wrong = log_loss(&[true], &[0.0]).get().unwrap();
        assert!((sure_and_wrong + f64::EPSILON.ln()).abs() < 1e-12);
    }
}
