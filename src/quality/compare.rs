//! A model's realized performance on two sides (reference and current), for `drift check`.

use super::{Joined, LabelDrift, Performance, Task};

/// One side's labelled rows and their performance.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Side {
    /// Every row of the side.
    pub rows: u64,
    /// Rows with a label (the metrics' rows, plus `missing_prediction`).
    pub labelled: u64,
    /// Labelled rows without a prediction (or, with a score, without a score): not evaluated.
    pub missing_prediction: u64,
    /// The metrics on the labelled rows with a prediction.
    pub performance: Performance,
    /// Labels joined from label files by id: what the join counted (absent when the labels are
    /// the side's own column).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joined: Option<Joined>,
}

impl Side {
    /// The share of rows with a label, or `None` on an empty side.
    pub fn coverage(&self) -> Option<f64> {
        (self.rows > 0).then(|| self.labelled as f64 / self.rows as f64)
    }
}

/// The model's performance on the reference side and the current side.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Comparison {
    /// The task's name.
    pub task: &'static str,
    /// The prediction column.
    pub prediction: String,
    /// The score column, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<String>,
    /// The label column.
    pub label: String,
    /// The reference side.
    pub reference: Side,
    /// The current side.
    pub current: Side,
    /// The current side's labels against the reference side's (classes: shares; regression:
    /// means), over each side's labelled rows.
    pub label_drift: LabelDrift,
}

impl Comparison {
    /// Pairs two sides of a task, with the label drift between them.
    pub fn new(
        task: Task,
        columns: (String, Option<String>, String),
        (reference, current): (Side, Side),
        label_drift: LabelDrift,
    ) -> Comparison {
        let (prediction, score, label) = columns;
        Comparison { task: task.name(), prediction, score, label, reference, current, label_drift }
    }
}
