//! A model's rows as the metrics take them, and the model's performance on their labelled
//! ones: shared by `drift check --model-task` (rows read from files) and the daemon's join
//! (rows from the state).

use anyhow::{Result, anyhow, bail};

use super::{Binary, Performance, Regression, Task, binary, multiclass, regression};

/// Which columns hold the model's output and the truth, and the positive class (binary).
#[derive(Clone, Debug, PartialEq)]
pub struct ModelColumns {
    /// What the model predicts.
    pub task: Task,
    /// The predicted class or value.
    pub prediction: String,
    /// Binary: the positive class's probability.
    pub score: Option<String>,
    /// The label.
    pub label: String,
    /// Binary: the positive label as text (`"1"`, `"true"`, `"fraud"`).
    pub positive: String,
}

/// Rows as the metrics take them, row-aligned: the predicted class (classification), a number
/// (binary: the score; regression: the predicted value), the label, and the id (joined
/// labels; empty otherwise).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rows {
    /// The predicted class (classification; empty for regression).
    pub pred: Vec<Option<String>>,
    /// Binary: the score; regression: the predicted value.
    pub number: Vec<Option<f64>>,
    /// The label, None when not (yet) labelled.
    pub label: Vec<Option<String>>,
    /// The id, when labels are joined from label files.
    pub id: Vec<Option<String>>,
}

impl Rows {
    /// The rows at `index`, in that order.
    pub fn subset(&self, index: impl Iterator<Item = usize>) -> Rows {
        let mut out = Rows::default();
        for i in index {
            out.pred.extend(self.pred.get(i).cloned());
            out.number.extend(self.number.get(i).copied());
            out.label.extend(self.label.get(i).cloned());
            out.id.extend(self.id.get(i).cloned());
        }
        out
    }

    /// Rows with a label.
    pub fn labelled(&self) -> u64 {
        self.label.iter().filter(|l| l.is_some()).count() as u64
    }
}

/// The model's performance on the labelled rows of `r` (rows without a label, a prediction or,
/// with a score, a score are left out); `side` names them in errors.
pub fn performance(side: &str, m: &ModelColumns, r: &Rows) -> Result<Performance> {
    Ok(match m.task {
        Task::Regression => {
            let (mut y, mut p) = (Vec::new(), Vec::new());
            for (l, v) in r.label.iter().zip(&r.number) {
                let Some(l) = l else { continue };
                let Some(t) = l.parse::<f64>().ok().filter(|t| t.is_finite()) else {
                    bail!("{side}: label {l:?} is not a number; a regression label must be numeric");
                };
                if let Some(v) = v {
                    y.push(t);
                    p.push(*v);
                }
            }
            regression(&Regression::new(y, p).map_err(|e| anyhow!("{side}: {e}"))?)
        }
        Task::Binary => {
            let (mut y, mut p, mut s) = (Vec::new(), Vec::new(), Vec::new());
            for ((l, v), sc) in r.label.iter().zip(&r.pred).zip(&r.number) {
                let (Some(l), Some(v)) = (l, v) else { continue };
                if m.score.is_some() && sc.is_none() {
                    continue;
                }
                y.push(*l == m.positive);
                p.push(*v == m.positive);
                s.extend(*sc);
            }
            let scores = m.score.is_some().then_some(s);
            let score = m.score.as_deref().unwrap_or_default();
            binary(&Binary::new(y, p, scores).map_err(|e| anyhow!("{side}: column {score:?}: {e}"))?)
        }
        Task::Multiclass => {
            let pairs: Vec<(&String, &String)> =
                r.label.iter().zip(&r.pred).filter_map(|(l, v)| Some((l.as_ref()?, v.as_ref()?))).collect();
            let (y, p): (Vec<&String>, Vec<&String>) = pairs.into_iter().unzip();
            multiclass(&y, &p)
        }
    })
}
