//! Regression: MAE, RMSE, MAPE and R².

use super::{InputError, Metric, NO_ROWS, Performance, Value};

/// Labelled regression rows: targets and predictions, finite and of equal length.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Regression {
    targets: Vec<f64>,
    predictions: Vec<f64>,
}

impl Regression {
    /// Rows from equal-length columns of finite numbers.
    pub fn new(targets: Vec<f64>, predictions: Vec<f64>) -> Result<Regression, InputError> {
        if targets.len() != predictions.len() {
            return Err(InputError::Lengths { labels: targets.len(), other: predictions.len() });
        }
        for column in [&targets, &predictions] {
            if let Some((i, &v)) = column.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(InputError::NotFinite(i, v));
            }
        }
        Ok(Regression { targets, predictions })
    }
}

/// MAE, RMSE, MAPE (a fraction, undefined when a target is 0: scikit-learn divides by a tiny
/// epsilon there instead) and R² (undefined on fewer than two rows or constant targets:
/// scikit-learn's `force_finite=False` gives NaN or -inf).
pub fn regression(rows: &Regression) -> Performance {
    let (y, p) = (&rows.targets, &rows.predictions);
    let n = y.len();
    let metrics = [Metric::Mae, Metric::Rmse, Metric::Mape, Metric::R2];
    if n == 0 {
        return Performance::new(0, metrics.into_iter().map(|m| (m, Value::Undefined(NO_ROWS))).collect());
    }
    let nf = n as f64;
    let mae = y.iter().zip(p).map(|(a, b)| (a - b).abs()).sum::<f64>() / nf;
    let sse = y.iter().zip(p).map(|(a, b)| (a - b).powi(2)).sum::<f64>();
    let mape = if y.contains(&0.0) {
        Value::Undefined("a target is zero (MAPE divides by it)")
    } else {
        Value::Defined(y.iter().zip(p).map(|(a, b)| ((a - b) / a).abs()).sum::<f64>() / nf)
    };
    let mean = y.iter().sum::<f64>() / nf;
    let sst = y.iter().map(|a| (a - mean).powi(2)).sum::<f64>();
    let r2 = if n < 2 {
        Value::Undefined("fewer than two labelled rows")
    } else if y.iter().all(|&v| v == y[0]) {
        Value::Undefined("the targets are constant")
    } else {
        Value::Defined(1.0 - sse / sst)
    };
    let values = [Value::Defined(mae), Value::Defined((sse / nf).sqrt()), mape, r2];
    Performance::new(n, metrics.into_iter().zip(values).collect())
}
