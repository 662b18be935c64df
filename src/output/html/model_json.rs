//! A window's model evaluation as the daemon stores it (`model_windows.report`, the payload's
//! `drift.model` object: `engine::model`'s types serialized), read back for the pages. Only
//! what the model panel draws; unknown fields are ignored so an older or newer state still
//! renders.

use serde::Deserialize;

/// A stored window's model state: its row in `model_windows` and, once evaluated, its evaluation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelWindowView {
    /// The window's id.
    pub window: i64,
    /// `pending`, `partial` or `final`.
    pub status: String,
    /// Finalized before `max_delay_secs` by `max_pending_predictions`.
    pub early: bool,
    /// Predictions kept for the join.
    pub rows: u64,
    /// Labelled predictions: at the last evaluation, or now for a window still pending.
    pub labelled: Option<u64>,
    /// The whole window's status when last evaluated: `breached`, `clean` or `insufficient`.
    pub verdict: Option<String>,
    /// The evaluation; `Err` with the parser's message when the stored JSON is unreadable.
    pub evaluation: Option<Result<Evaluation, String>>,
}

/// The stored evaluation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Evaluation {
    /// `binary`, `multiclass` or `regression`.
    pub task: String,
    /// The whole window.
    pub whole: Judged,
    /// Each segment.
    #[serde(default)]
    pub segments: Vec<Judged>,
    /// The label distribution against the model reference's.
    #[serde(default)]
    pub label_drift: LabelDrift,
    /// The monitor's join counts as of this evaluation.
    pub join: Option<Join>,
}

/// The whole window's or a segment's performance, judged.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Judged {
    /// Segment label ("" for the whole window).
    pub segment: String,
    /// Predictions kept for the join.
    pub rows: u64,
    /// Of them, labelled.
    pub labelled: u64,
    /// `labelled / rows`.
    pub coverage: Option<f64>,
    /// Every metric of the task.
    pub performance: Performance,
    /// The thresholded metrics.
    #[serde(default)]
    pub checks: Vec<Check>,
    /// `breached`, `clean` or `insufficient`.
    pub status: String,
    /// Why not evaluable.
    pub note: Option<String>,
}

/// Every metric of the task on the labelled rows.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Performance {
    /// Labelled rows with a prediction.
    pub rows: u64,
    /// The metrics, in the task's order.
    pub metrics: Vec<Measured>,
}

/// One metric: its value, or why it has none.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Measured {
    /// The metric's name.
    pub metric: String,
    /// Its value (null when undefined).
    pub value: Option<f64>,
    /// Why it is undefined.
    pub undefined: Option<String>,
}

/// One metric against its threshold.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Check {
    /// The metric's name.
    pub metric: String,
    /// Its value, if defined.
    pub value: Option<f64>,
    /// The bounds it is held to.
    pub bounds: Option<Bounds>,
    /// `fixed` or `learned`.
    pub threshold: String,
    /// A learned threshold's band.
    pub band: Option<Band>,
    /// The rows of each reference chunk of a learned band.
    pub chunk_rows: Option<u64>,
    /// Outside its bounds.
    pub breached: bool,
    /// Why it is not evaluable, or a warning about its band.
    pub note: Option<String>,
}

/// The bounds a value is held to.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Bounds {
    /// The lowest acceptable value.
    pub min: Option<f64>,
    /// The highest acceptable value.
    pub max: Option<f64>,
}

/// A band learned from reference chunks.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Band {
    /// The chunks' mean.
    pub mean: f64,
    /// Their standard deviation.
    pub std: f64,
    /// The chunks with a value.
    pub chunks: u64,
    /// The chunks where the metric was undefined.
    #[serde(default)]
    pub undefined_chunks: u64,
}

/// The label distribution: class shares (label, model reference, window) or means.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct LabelDrift {
    /// Classes: (label, reference share, window share).
    #[serde(default)]
    pub shares: Vec<(String, f64, f64)>,
    /// Regression: (reference mean, window mean).
    pub mean: Option<(f64, f64)>,
}

/// The monitor's join counts.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
#[serde(default)]
pub struct Join {
    /// Label rows read.
    pub label_rows: u64,
    /// Labels that found their prediction.
    pub matched: u64,
    /// Labels for an id already labelled.
    pub duplicates: u64,
    /// Labels whose prediction never came.
    pub unmatched: u64,
    /// Labels of ids outside `sample_rate`.
    pub sampled_out: u64,
    /// Windows finalized early.
    pub early_windows: u64,
    /// Labels waiting for their prediction.
    pub pending_labels: u64,
    /// Predictions held for the join.
    pub held_predictions: u64,
}

/// Parses a stored evaluation.
pub fn parse(json: &str) -> Result<Evaluation, String> {
    serde_json::from_str(json).map_err(|e| e.to_string())
}
