//! Model quality: realized performance from predictions joined to their labels (issue #13).
//!
//! **Invariant: no I/O, no clock, no async, no logging** (as [`crate::stats`]);
//! `tests/it/purity.rs` greps this directory to keep it so. The daemon's join, `drift check`
//! and the reference's learned thresholds all call these functions, and every number is checked
//! against scikit-learn's golden vectors (`tests/data/golden/quality.json`, made by
//! `make_quality_goldens.py` beside it).
//!
//! Conventions, in one place:
//! - A metric that has no value on a window (one class only, no positive predictions, a zero
//!   target for MAPE, constant targets for R², no rows) is [`Value::Undefined`] **with the
//!   reason**: never NaN, never 0. In JSON it is `"value": null` with `"undefined": reason`.
//! - Where scikit-learn substitutes a number for an undefined one (`zero_division`, average
//!   precision with no positive label, MAPE's epsilon) drift says undefined instead; where it
//!   returns a number, drift returns the same number (F1 is `2tp / (2tp + fp + fn)`, so 0 when
//!   precision is undefined but there are positive labels, as scikit-learn).
//! - ROC AUC and average precision are taken over distinct scores (ties as scikit-learn: one
//!   step per distinct threshold, the ROC area by the trapezoid).
//! - Log loss clips scores to `[eps, 1 - eps]` (f64 `EPSILON`) as scikit-learn; the expected
//!   calibration error uses `calibration_curve(n_bins=10, strategy="uniform")`'s bins.
//! - Inputs are checked once, when built ([`Binary::new`], [`Regression::new`]): equal lengths,
//!   scores in `[0, 1]`, finite targets and predictions. The metrics themselves cannot fail.

mod band;
mod binary;
mod compare;
mod join;
mod labels;
mod metric;
mod multiclass;
mod probability;
mod ranking;
mod regression;
mod rows;
mod threshold;

use std::fmt;

pub use band::{Band, FEW_CHUNKS, SIGMAS, chunk_ranges, chunk_values, learned_band};
pub use binary::{Binary, binary};
pub use compare::{Comparison, Side};
pub use join::{Joined, LabelRow, id_hash, join, sampled};
pub use labels::{LabelDrift, label_drift};
pub use metric::{Metric, Task};
pub use multiclass::multiclass;
pub use probability::{brier, expected_calibration_error, log_loss};
pub use ranking::{average_precision, roc_auc};
pub use regression::{Regression, regression};
pub use rows::{ModelColumns, Rows, performance};
pub use threshold::{Bounds, Threshold};

/// A metric's value on a window: a number, or undefined with the reason.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// The metric's value (finite).
    Defined(f64),
    /// The metric has no value on these rows; the reason, for people.
    Undefined(&'static str),
}

impl Value {
    /// The number, if defined.
    pub fn get(self) -> Option<f64> {
        match self {
            Value::Defined(v) => Some(v),
            Value::Undefined(_) => None,
        }
    }

    /// A ratio `num / den`, undefined with `reason` when `den` is 0.
    pub(crate) fn ratio(num: f64, den: f64, reason: &'static str) -> Value {
        if den == 0.0 { Value::Undefined(reason) } else { Value::Defined(num / den) }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Defined(v) => write!(f, "{v:.4}"),
            Value::Undefined(why) => write!(f, "undefined ({why})"),
        }
    }
}

/// The reason every metric gives on a window without labelled rows.
pub const NO_ROWS: &str = "no labelled rows";

/// One metric measured on one set of rows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measured {
    /// Which metric.
    pub metric: Metric,
    /// Its value, or why it has none.
    pub value: Value,
}

impl serde::Serialize for Measured {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("metric", self.metric.name())?;
        map.serialize_entry("value", &self.value.get())?;
        if let Value::Undefined(why) = self.value {
            map.serialize_entry("undefined", why)?;
        }
        map.end()
    }
}

/// The realized performance of a model on a set of labelled rows.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Performance {
    /// The rows the metrics were computed on (predictions with a label).
    pub rows: u64,
    /// Every metric of the task, in [`Metric`] order; undefined ones included.
    pub metrics: Vec<Measured>,
}

impl Performance {
    /// The value of `metric`, if it was measured.
    pub fn get(&self, metric: Metric) -> Option<Value> {
        self.metrics.iter().find(|m| m.metric == metric).map(|m| m.value)
    }

    fn new(rows: usize, metrics: Vec<(Metric, Value)>) -> Performance {
        let metrics = metrics.into_iter().map(|(metric, value)| Measured { metric, value }).collect();
        Performance { rows: rows as u64, metrics }
    }
}

/// Why rows could not become a [`Binary`] or [`Regression`] input.
#[derive(Clone, Debug, PartialEq)]
pub enum InputError {
    /// The columns have different lengths.
    Lengths {
        /// The labels' (or targets') length.
        labels: usize,
        /// The other column's length.
        other: usize,
    },
    /// A score is NaN or outside `[0, 1]`: row and value.
    Score(usize, f64),
    /// A target or prediction is NaN or infinite: row and value.
    NotFinite(usize, f64),
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Lengths { labels, other } => write!(f, "{labels} labels but {other} predictions"),
            InputError::Score(i, v) => write!(f, "row {i}: score {v} is not a probability in [0, 1]"),
            InputError::NotFinite(i, v) => write!(f, "row {i}: {v} is not a finite number"),
        }
    }
}

impl std::error::Error for InputError {}
