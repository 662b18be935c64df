//! The ranking metrics of a score: ROC AUC and average precision, ties as scikit-learn.
//!
//! Both walk the rows by descending score, one step per *distinct* score (tied rows move
//! together), counting true and false positives above each threshold: the points of
//! scikit-learn's `roc_curve` and `precision_recall_curve`.

use super::{NO_ROWS, Value};

/// The reason ROC AUC gives on one class.
const ONE_CLASS: &str = "only one class in the labels";
/// The reason average precision gives without positives.
const NO_POSITIVES: &str = "no positive labels";

/// Cumulative (true positives, false positives) at each distinct score, highest score first.
fn steps(labels: &[bool], scores: &[f64]) -> Vec<(u64, u64)> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut out = Vec::new();
    let (mut tp, mut fp) = (0u64, 0u64);
    for (k, &i) in order.iter().enumerate() {
        if labels[i] {
            tp += 1
        } else {
            fp += 1
        }
        let last_of_tie = order.get(k + 1).is_none_or(|&j| scores[j] != scores[i]);
        if last_of_tie {
            out.push((tp, fp));
        }
    }
    out
}

/// Area under the ROC curve (scikit-learn's `roc_auc_score`): the trapezoid over the distinct
/// thresholds, so a tie between a positive and a negative counts one half. Undefined on one
/// class. `scores` are the positive class's; the slices have equal lengths.
pub fn roc_auc(labels: &[bool], scores: &[f64]) -> Value {
    if labels.is_empty() {
        return Value::Undefined(NO_ROWS);
    }
    let points = steps(labels, scores);
    let (p, n) = points.last().copied().unwrap_or((0, 0));
    if p == 0 || n == 0 {
        return Value::Undefined(ONE_CLASS);
    }
    let (mut area, mut prev_tp, mut prev_fp) = (0.0f64, 0u64, 0u64);
    for (tp, fp) in points {
        area += (fp - prev_fp) as f64 * (tp + prev_tp) as f64 / 2.0;
        (prev_tp, prev_fp) = (tp, fp);
    }
    Value::Defined(area / (p as f64 * n as f64))
}

/// Average precision (scikit-learn's `average_precision_score`): the sum over distinct
/// thresholds of the recall gained times the precision there. Undefined without a positive label
/// (scikit-learn warns and says 0).
pub fn average_precision(labels: &[bool], scores: &[f64]) -> Value {
    if labels.is_empty() {
        return Value::Undefined(NO_ROWS);
    }
    let points = steps(labels, scores);
    let p = points.last().map_or(0, |s| s.0);
    if p == 0 {
        return Value::Undefined(NO_POSITIVES);
    }
    let (mut ap, mut prev_recall) = (0.0f64, 0.0f64);
    for (tp, fp) in points {
        let recall = tp as f64 / p as f64;
        ap += (recall - prev_recall) * (tp as f64 / (tp + fp) as f64);
        prev_recall = recall;
    }
    Value::Defined(ap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tie_between_classes_counts_one_half() {
        assert_eq!(roc_auc(&[false, true], &[0.5, 0.5]), Value::Defined(0.5));
        assert_eq!(roc_auc(&[false, true], &[0.4, 0.5]), Value::Defined(1.0));
        assert_eq!(roc_auc(&[true, true], &[0.4, 0.5]), Value::Undefined(ONE_CLASS));
        assert_eq!(average_precision(&[false, false], &[0.4, 0.5]), Value::Undefined(NO_POSITIVES));
    }
}
