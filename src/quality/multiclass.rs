//! Multiclass classification: accuracy, macro and weighted F1.

use std::collections::BTreeMap;

use super::{Metric, NO_ROWS, Performance, Value};

/// Accuracy, macro F1 and weighted F1 of `predicted` against `labels` (equal lengths; any
/// ordered class type). The classes are the union of both columns, as scikit-learn's: a class
/// only ever predicted counts in the macro mean with F1 0 and weighs nothing in the weighted one.
pub fn multiclass<T: Ord>(labels: &[T], predicted: &[T]) -> Performance {
    let n = labels.len().min(predicted.len());
    if n == 0 {
        let metrics = [Metric::MulticlassAccuracy, Metric::F1Macro, Metric::F1Weighted];
        return Performance::new(0, metrics.into_iter().map(|m| (m, Value::Undefined(NO_ROWS))).collect());
    }
    // Per class: (true positives, predicted count, label count).
    let mut classes: BTreeMap<&T, (u64, u64, u64)> = BTreeMap::new();
    let mut correct = 0u64;
    for (y, p) in labels.iter().zip(predicted) {
        classes.entry(y).or_default().2 += 1;
        let pred = classes.entry(p).or_default();
        pred.1 += 1;
        if y == p {
            pred.0 += 1;
            correct += 1;
        }
    }
    let (mut macro_sum, mut weighted_sum) = (0.0f64, 0.0f64);
    for &(tp, predicted, support) in classes.values() {
        // 2tp + fp + fn = predicted + support > 0 for every class in the union.
        let f1 = 2.0 * tp as f64 / (predicted + support) as f64;
        macro_sum += f1;
        weighted_sum += f1 * support as f64;
    }
    let metrics = vec![
        (Metric::MulticlassAccuracy, Value::Defined(correct as f64 / n as f64)),
        (Metric::F1Macro, Value::Defined(macro_sum / classes.len() as f64)),
        (Metric::F1Weighted, Value::Defined(weighted_sum / n as f64)),
    ];
    Performance::new(n, metrics)
}
