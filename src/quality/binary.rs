//! Binary classification: the confusion-matrix metrics, and the score's when there is one.

use super::{
    InputError, Metric, NO_ROWS, Performance, Task, Value, average_precision, brier, expected_calibration_error,
    log_loss, roc_auc,
};

/// Labelled binary rows: the label and the predicted class (`true` = the positive class), and
/// optionally the positive class's probability. Checked when built.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Binary {
    labels: Vec<bool>,
    predicted: Vec<bool>,
    scores: Option<Vec<f64>>,
}

impl Binary {
    /// Rows from equal-length columns; every score a probability in `[0, 1]` (-0.0 read as 0).
    pub fn new(labels: Vec<bool>, predicted: Vec<bool>, scores: Option<Vec<f64>>) -> Result<Binary, InputError> {
        let other =
            [Some(predicted.len()), scores.as_ref().map(Vec::len)].into_iter().flatten().find(|&n| n != labels.len());
        if let Some(other) = other {
            return Err(InputError::Lengths { labels: labels.len(), other });
        }
        let mut scores = scores;
        for (i, s) in scores.iter_mut().flatten().enumerate() {
            if !(0.0..=1.0).contains(s) {
                return Err(InputError::Score(i, *s));
            }
            *s += 0.0; // -0.0 + 0.0 = 0.0
        }
        Ok(Binary { labels, predicted, scores })
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Every binary metric of `rows`: accuracy, precision, recall, F1 and specificity from the
/// predicted class; with scores, ROC AUC, average precision, log loss, Brier and ECE.
pub fn binary(rows: &Binary) -> Performance {
    let n = rows.len();
    let (mut tp, mut fp, mut fn_, mut tn) = (0u64, 0u64, 0u64, 0u64);
    for (&y, &p) in rows.labels.iter().zip(&rows.predicted) {
        match (y, p) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (true, false) => fn_ += 1,
            (false, false) => tn += 1,
        }
    }
    let [tp, fp, fn_, tn] = [tp, fp, fn_, tn].map(|c| c as f64);
    let mut out = Vec::new();
    for metric in Task::Binary.metrics(rows.scores.is_some()) {
        let value = if n == 0 {
            Value::Undefined(NO_ROWS)
        } else {
            let scores = rows.scores.as_deref().unwrap_or_default();
            match metric {
                Metric::Accuracy => Value::Defined((tp + tn) / n as f64),
                Metric::Precision => Value::ratio(tp, tp + fp, "no positive predictions"),
                Metric::Recall => Value::ratio(tp, tp + fn_, "no positive labels"),
                Metric::F1 => Value::ratio(2.0 * tp, 2.0 * tp + fp + fn_, "no positive labels or predictions"),
                Metric::Specificity => Value::ratio(tn, tn + fp, "no negative labels"),
                Metric::RocAuc => roc_auc(&rows.labels, scores),
                Metric::AveragePrecision => average_precision(&rows.labels, scores),
                Metric::LogLoss => log_loss(&rows.labels, scores),
                Metric::Brier => brier(&rows.labels, scores),
                Metric::Ece => expected_calibration_error(&rows.labels, scores),
                _ => unreachable!("{metric:?} is not a binary metric"),
            }
        };
        out.push((metric, value));
    }
    Performance::new(n, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_checked_once() {
        assert_eq!(Binary::new(vec![true], vec![], None), Err(InputError::Lengths { labels: 1, other: 0 }));
        assert_eq!(Binary::new(vec![true], vec![true], Some(vec![1.5])), Err(InputError::Score(0, 1.5)));
        assert!(matches!(Binary::new(vec![true], vec![true], Some(vec![f64::NAN])), Err(InputError::Score(0, _))));
        let rows = Binary::new(vec![true, false], vec![true, true], Some(vec![-0.0, 1.0])).unwrap();
        assert_eq!(rows.scores.as_deref().unwrap()[0].to_bits(), 0.0f64.to_bits());
    }

    #[test]
    fn no_positive_prediction_leaves_precision_undefined_not_zero() {
        let rows = Binary::new(vec![true, false], vec![false, false], None).unwrap();
        let perf = binary(&rows);
        assert_eq!(perf.get(Metric::Precision), Some(Value::Undefined("no positive predictions")));
        assert_eq!(perf.get(Metric::Recall), Some(Value::Defined(0.0)));
        assert_eq!(perf.get(Metric::RocAuc), None);
    }
}
