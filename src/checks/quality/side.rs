//! A side's labelled rows and the model's performance on them: labels in the side's own
//! files, or joined from label files by id.

use anyhow::{Context, Result};

use super::read::{numbers, read, texts, times};
use crate::quality::{LabelRow, ModelColumns, Rows, Side, Task, id_hash, join, performance};
use crate::source::Dataset;

/// Where a side's labels are.
pub enum LabelSource<'a> {
    /// The label column of the side's own files.
    Own,
    /// Label files `(id, label[, time])` joined to the side's rows by the id column.
    Files {
        /// The label files.
        data: &'a Dataset,
        /// The id column (in the side's files and the label files).
        id: &'a str,
        /// The label-time column, used when the label files have it.
        time: &'a str,
    },
}

/// `r` with the column's name in its error.
fn named<T>(name: &str, r: Result<T>) -> Result<T> {
    r.with_context(|| format!("column {name:?}"))
}

/// A side's rows: its own label column, or its ids for a join.
pub fn read_rows(data: &Dataset, side: &str, m: &ModelColumns, labels: &LabelSource<'_>) -> Result<Rows> {
    let mut names = vec![m.prediction.as_str()];
    names.extend(m.score.as_deref());
    match labels {
        LabelSource::Own => names.push(&m.label),
        LabelSource::Files { id, .. } => names.push(id),
    }
    let parts = read(data, side, &names, |_, n, col| {
        let text = |name: &str| col(name).map_or(Ok(vec![None; n]), |a| named(name, texts(a.as_ref())));
        let number = |name: &str| col(name).map_or(Ok(vec![None; n]), |a| named(name, numbers(a.as_ref())));
        let mut r = Rows::default();
        match labels {
            LabelSource::Own => r.label = text(&m.label)?,
            LabelSource::Files { id, .. } => r.id = text(id)?,
        }
        if m.task == Task::Regression {
            r.number = number(&m.prediction)?;
        } else {
            r.pred = text(&m.prediction)?;
            r.number = m.score.as_deref().map_or(Ok(vec![None; n]), number)?;
        }
        Ok(r)
    })?;
    let mut rows = Rows::default();
    for p in parts {
        rows.pred.extend(p.pred);
        rows.number.extend(p.number);
        rows.label.extend(p.label);
        rows.id.extend(p.id);
    }
    Ok(rows)
}

/// Label files read in file order: a row without an id or a label is skipped.
pub fn read_labels(data: &Dataset, m: &ModelColumns, id: &str, time: &str) -> Result<Vec<LabelRow>> {
    let timed = data.column(time).is_some();
    let mut names = vec![id, m.label.as_str()];
    if timed {
        names.push(time);
    }
    let parts = read(data, "labels", &names, |_, n, col| {
        let ids = col(id).map_or(Ok(vec![None; n]), |a| named(id, texts(a.as_ref())))?;
        let labels = col(&m.label).map_or(Ok(vec![None; n]), |a| named(&m.label, texts(a.as_ref())))?;
        let at = match col(time).filter(|_| timed) {
            Some(a) => named(time, times(a.as_ref()))?,
            None => vec![None; n],
        };
        let rows = ids.into_iter().zip(labels).zip(at);
        Ok(rows.filter_map(|((i, l), t)| Some(LabelRow { id: id_hash(&i?), label: l?, time: t })).collect::<Vec<_>>())
    })?;
    Ok(parts.into_iter().flatten().collect())
}

/// A side's labelled rows and the model's performance on them, with its rows (labels joined:
/// what its label drift is counted on): rows without a label are not labelled; labelled rows
/// without a prediction (or score) are counted and left out. A score outside [0, 1] is an error
/// naming the column.
pub fn side(data: &Dataset, side: &str, m: &ModelColumns, labels: &LabelSource<'_>) -> Result<(Side, Rows)> {
    let mut rows = read_rows(data, side, m, labels)?;
    let joined = match labels {
        LabelSource::Own => None,
        LabelSource::Files { data: label_data, id, time } => {
            let label_rows = read_labels(label_data, m, id, time)?;
            let ids: Vec<u64> = rows.id.iter().map(|i| i.as_deref().map_or(0, id_hash)).collect();
            let mut j = join(&ids, &label_rows);
            // A row without an id gets no label, whatever hashes to 0.
            for (label, id) in j.labels.iter_mut().zip(&rows.id) {
                if id.is_none() {
                    *label = None;
                }
            }
            rows.label = std::mem::take(&mut j.labels);
            Some(j)
        }
    };
    let labelled = rows.label.iter().filter(|l| l.is_some()).count() as u64;
    let performance = performance(side, m, &rows)?;
    let missing_prediction = labelled - performance.rows;
    let side = Side { rows: rows.label.len() as u64, labelled, missing_prediction, performance, joined };
    Ok((side, rows))
}
