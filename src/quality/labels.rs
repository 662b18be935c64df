//! Label drift: the label distribution of one set of labelled rows against a reference's. The
//! daemon's window against the model reference (`daemon::model`), and
//! `drift check`'s current side against its reference side ([`super::Comparison`]).

use std::collections::BTreeMap;

use super::{ModelColumns, Rows, Task};

/// The label distribution of the window's labelled rows against the model reference's
/// (classification: each class's share; regression: the mean).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct LabelDrift {
    /// Classes: (label, reference share, window share), by label.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shares: Vec<(String, f64, f64)>,
    /// Regression: (reference mean, window mean).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<(f64, f64)>,
}

/// The label distribution against the reference's.
pub fn label_drift(m: &ModelColumns, reference: &Rows, window: &Rows) -> LabelDrift {
    if m.task == Task::Regression {
        let mean = |r: &Rows| {
            let v: Vec<f64> = r.label.iter().flatten().filter_map(|l| l.parse::<f64>().ok()).collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        return LabelDrift { shares: Vec::new(), mean: mean(reference).zip(mean(window)) };
    }
    let shares = |r: &Rows| {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for l in r.label.iter().flatten() {
            *counts.entry(l.clone()).or_default() += 1;
        }
        let n = counts.values().sum::<u64>().max(1) as f64;
        counts.into_iter().map(|(k, c)| (k, c as f64 / n)).collect::<BTreeMap<_, _>>()
    };
    let (r, w) = (shares(reference), shares(window));
    let mut labels: Vec<&String> = r.keys().chain(w.keys()).collect();
    labels.sort();
    labels.dedup();
    let shares = labels
        .into_iter()
        .map(|l| (l.clone(), r.get(l).copied().unwrap_or(0.0), w.get(l).copied().unwrap_or(0.0)))
        .collect();
    LabelDrift { shares, mean: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(labels: &[Option<&str>]) -> Rows {
        Rows { label: labels.iter().map(|l| l.map(str::to_owned)).collect(), ..Rows::default() }
    }

    fn columns(task: Task) -> ModelColumns {
        ModelColumns { task, prediction: "p".into(), score: None, label: "y".into(), positive: "1".into() }
    }

    /// Shares of the labelled rows by label, a class one side lacks at 0 there; regression's
    /// mean skips unlabelled rows; a side without labels has no mean.
    #[test]
    fn shares_and_means_by_hand() {
        let d = label_drift(
            &columns(Task::Multiclass),
            &rows(&[Some("b"), Some("a"), None, Some("b"), Some("b")]),
            &rows(&[Some("c"), Some("a"), None]),
        );
        assert_eq!(d.shares, [("a".into(), 0.25, 0.5), ("b".into(), 0.75, 0.0), ("c".into(), 0.0, 0.5)]);
        assert_eq!(d.mean, None);
        let regression = columns(Task::Regression);
        let d = label_drift(&regression, &rows(&[Some("1"), None, Some("2.5")]), &rows(&[Some("-4")]));
        assert_eq!((d.shares.len(), d.mean), (0, Some((1.75, -4.0))));
        assert_eq!(label_drift(&regression, &rows(&[Some("1")]), &rows(&[None])).mean, None);
    }
}
