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

/// A binary model's labels without its positive class but with two or more classes are not
/// a window of negatives: the positive class is written differently (`"yes"` for labels `0`/`1`).
fn positive_among(side: &str, m: &ModelColumns, r: &Rows) -> Result<()> {
    let classes: std::collections::BTreeSet<&str> = r.label.iter().flatten().map(String::as_str).collect();
    if classes.len() >= 2 && !classes.contains(m.positive.as_str()) {
        let seen: Vec<String> = classes.iter().take(5).map(|c| format!("{c:?}")).collect();
        bail!(
            "{side}: no label is the positive class {:?}, yet the labels have {} classes ({}); set [model] positive \
             (drift check: --positive) to the positive class as the labels write it",
            m.positive,
            classes.len(),
            seen.join(", ")
        );
    }
    Ok(())
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
            positive_among(side, m, r)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::{Metric, Value};

    fn binary(labels: &[&str]) -> (ModelColumns, Rows) {
        let m = ModelColumns {
            task: Task::Binary,
            prediction: "p".into(),
            score: None,
            label: "l".into(),
            positive: "yes".into(),
        };
        let r = Rows {
            pred: labels.iter().map(|_| Some("yes".to_owned())).collect(),
            label: labels.iter().map(|l| Some((*l).to_owned())).collect(),
            ..Rows::default()
        };
        (m, r)
    }

    #[test]
    fn labels_with_two_classes_none_the_positive_one_name_the_key_to_fix() {
        let (m, r) = binary(&["0", "1", "0"]);
        let e = performance("window", &m, &r).unwrap_err().to_string();
        assert!(e.contains(r#"no label is the positive class "yes", yet the labels have 2 classes ("0", "1")"#), "{e}");
        assert!(e.contains("[model] positive"), "{e}");
        // The positive class on a labelled row without a prediction is still the labels' own.
        let (m, mut r) = binary(&["0", "1", "yes"]);
        r.pred[2] = None;
        assert!(performance("window", &m, &r).is_ok());
        // A window of negatives only is a window, not a misconfiguration: its recall is undefined.
        let (m, r) = binary(&["no", "no"]);
        let p = performance("window", &m, &r).unwrap();
        assert!(matches!(p.get(Metric::Recall), Some(Value::Undefined(_))), "{p:?}");
    }
}
