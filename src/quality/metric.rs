//! The metrics by name, and which task each belongs to.

/// What the model predicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Task {
    /// Two classes; the prediction is a class, the optional score the positive class's probability.
    Binary,
    /// More than two classes; the prediction is a class.
    Multiclass,
    /// A number.
    Regression,
}

impl Task {
    /// The task's name in configuration and output.
    pub fn name(self) -> &'static str {
        match self {
            Task::Binary => "binary",
            Task::Multiclass => "multiclass",
            Task::Regression => "regression",
        }
    }

    /// The task named `name`, if any.
    pub fn from_name(name: &str) -> Option<Task> {
        [Task::Binary, Task::Multiclass, Task::Regression].into_iter().find(|t| t.name() == name)
    }

    /// The metrics of the task, in report order (`scored`: binary metrics that need a score).
    pub fn metrics(self, scored: bool) -> Vec<Metric> {
        Metric::ALL.iter().copied().filter(|m| m.task() == self && (scored || !m.needs_score())).collect()
    }
}

/// A realized-performance metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// Share of correct predictions (binary and multiclass: see [`Metric::task`]).
    Accuracy,
    /// tp / (tp + fp).
    Precision,
    /// tp / (tp + fn).
    Recall,
    /// 2tp / (2tp + fp + fn).
    F1,
    /// tn / (tn + fp).
    Specificity,
    /// Area under the ROC curve of the score.
    RocAuc,
    /// Average precision of the score.
    AveragePrecision,
    /// Mean negative log-likelihood of the score.
    LogLoss,
    /// Mean squared error of the score.
    Brier,
    /// Expected calibration error of the score, 10 uniform bins.
    Ece,
    /// Multiclass accuracy.
    MulticlassAccuracy,
    /// Unweighted mean of the per-class F1.
    F1Macro,
    /// Per-class F1 weighted by the labels' class counts.
    F1Weighted,
    /// Mean absolute error.
    Mae,
    /// Root mean squared error.
    Rmse,
    /// Mean absolute percentage error (a fraction, as scikit-learn).
    Mape,
    /// Coefficient of determination.
    R2,
}

impl Metric {
    /// Every metric, in report order.
    pub const ALL: [Metric; 17] = [
        Metric::Accuracy,
        Metric::Precision,
        Metric::Recall,
        Metric::F1,
        Metric::Specificity,
        Metric::RocAuc,
        Metric::AveragePrecision,
        Metric::LogLoss,
        Metric::Brier,
        Metric::Ece,
        Metric::MulticlassAccuracy,
        Metric::F1Macro,
        Metric::F1Weighted,
        Metric::Mae,
        Metric::Rmse,
        Metric::Mape,
        Metric::R2,
    ];

    /// The metric's name in configuration, output and metrics (`roc_auc`). Multiclass accuracy
    /// is `accuracy` too: a monitor has one task, so the name is unambiguous within it.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Accuracy | Metric::MulticlassAccuracy => "accuracy",
            Metric::Precision => "precision",
            Metric::Recall => "recall",
            Metric::F1 => "f1",
            Metric::Specificity => "specificity",
            Metric::RocAuc => "roc_auc",
            Metric::AveragePrecision => "average_precision",
            Metric::LogLoss => "log_loss",
            Metric::Brier => "brier",
            Metric::Ece => "ece",
            Metric::F1Macro => "f1_macro",
            Metric::F1Weighted => "f1_weighted",
            Metric::Mae => "mae",
            Metric::Rmse => "rmse",
            Metric::Mape => "mape",
            Metric::R2 => "r2",
        }
    }

    /// The metric of `task` named `name`, if any.
    pub fn from_name(task: Task, name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.task() == task && m.name() == name)
    }

    /// The task the metric belongs to.
    pub fn task(self) -> Task {
        match self {
            Metric::MulticlassAccuracy | Metric::F1Macro | Metric::F1Weighted => Task::Multiclass,
            Metric::Mae | Metric::Rmse | Metric::Mape | Metric::R2 => Task::Regression,
            _ => Task::Binary,
        }
    }

    /// Whether the metric needs the score (binary).
    pub fn needs_score(self) -> bool {
        matches!(self, Metric::RocAuc | Metric::AveragePrecision | Metric::LogLoss | Metric::Brier | Metric::Ece)
    }

    /// Whether a larger value is better (accuracy) or worse (a loss, an error).
    pub fn higher_is_better(self) -> bool {
        !matches!(self, Metric::LogLoss | Metric::Brier | Metric::Ece | Metric::Mae | Metric::Rmse | Metric::Mape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_within_a_task() {
        for m in Metric::ALL {
            assert_eq!(Metric::from_name(m.task(), m.name()), Some(m));
        }
        assert_eq!(Metric::from_name(Task::Regression, "roc_auc"), None);
        assert_eq!(Task::Binary.metrics(false).len(), 5);
        assert_eq!(Task::Binary.metrics(true).len(), 10);
    }
}
