//! Reading a side's prediction, score and label columns, row-aligned, into a [`Side`].

use anyhow::{Context, Result, bail};
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrowPrimitiveType};
use arrow_schema::DataType;

use crate::quality::{Binary, Regression, Side, Task, binary, multiclass, regression};
use crate::source::Dataset;

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

/// A column's values as text, for classes (None for null; a float as Rust prints it, so 1.0 is
/// "1"; a dictionary's values as its values').
fn texts(a: &dyn Array) -> Result<Vec<Option<String>>> {
    fn prim<T: ArrowPrimitiveType>(a: &dyn Array) -> Vec<Option<String>>
    where
        T::Native: std::fmt::Display,
    {
        a.as_primitive::<T>().iter().map(|v| v.map(|v| v.to_string())).collect()
    }
    Ok(match a.data_type() {
        DataType::Utf8 => a.as_string::<i32>().iter().map(|v| v.map(str::to_owned)).collect(),
        DataType::LargeUtf8 => a.as_string::<i64>().iter().map(|v| v.map(str::to_owned)).collect(),
        DataType::Utf8View => a.as_string_view().iter().map(|v| v.map(str::to_owned)).collect(),
        DataType::Boolean => a.as_boolean().iter().map(|v| v.map(|b| b.to_string())).collect(),
        DataType::Int8 => prim::<Int8Type>(a),
        DataType::Int16 => prim::<Int16Type>(a),
        DataType::Int32 => prim::<Int32Type>(a),
        DataType::Int64 => prim::<Int64Type>(a),
        DataType::UInt8 => prim::<UInt8Type>(a),
        DataType::UInt16 => prim::<UInt16Type>(a),
        DataType::UInt32 => prim::<UInt32Type>(a),
        DataType::UInt64 => prim::<UInt64Type>(a),
        DataType::Float32 | DataType::Float64 => numbers(a)?.into_iter().map(|v| v.map(|v| v.to_string())).collect(),
        DataType::Dictionary(_, _) => {
            let d = a.as_any_dictionary();
            let values = texts(d.values().as_ref())?;
            let keys = d.normalized_keys();
            (0..a.len()).map(|i| if a.is_null(i) { None } else { values.get(keys[i]).cloned().flatten() }).collect()
        }
        other => bail!("is {other}; a class column must be a string, boolean or number"),
    })
}

/// A numeric column's values as f64 (None for null or NaN).
fn numbers(a: &dyn Array) -> Result<Vec<Option<f64>>> {
    fn prim<T: ArrowPrimitiveType>(a: &dyn Array, f: impl Fn(T::Native) -> f64) -> Vec<Option<f64>> {
        a.as_primitive::<T>().iter().map(|v| v.map(&f).filter(|x| !x.is_nan())).collect()
    }
    Ok(match a.data_type() {
        DataType::Int8 => prim::<Int8Type>(a, f64::from),
        DataType::Int16 => prim::<Int16Type>(a, f64::from),
        DataType::Int32 => prim::<Int32Type>(a, f64::from),
        DataType::Int64 => prim::<Int64Type>(a, |v| v as f64),
        DataType::UInt8 => prim::<UInt8Type>(a, f64::from),
        DataType::UInt16 => prim::<UInt16Type>(a, f64::from),
        DataType::UInt32 => prim::<UInt32Type>(a, f64::from),
        DataType::UInt64 => prim::<UInt64Type>(a, |v| v as f64),
        DataType::Float32 => prim::<Float32Type>(a, f64::from),
        DataType::Float64 => prim::<Float64Type>(a, |v| v),
        other => bail!("is {other}; use a numeric column"),
    })
}

/// The rows of every file of `data`, as read: the predicted class (classification), a number
/// (binary: the score; regression: the predicted value) and the label.
type Rows = (Vec<Option<String>>, Vec<Option<f64>>, Vec<Option<String>>);

fn read_rows(data: &Dataset, side: &str, m: &ModelColumns) -> Result<Rows> {
    let mut names = vec![m.prediction.as_str(), m.label.as_str()];
    names.extend(m.score.as_deref());
    for name in &names {
        if data.column(name).is_none() {
            bail!("{side}: no column {name:?}; the model's columns must be in the files of both sides");
        }
    }
    let (mut pred, mut number, mut label) = (Vec::new(), Vec::new(), Vec::new());
    for f in &data.files {
        let file = f.path.display();
        for batch in f.read_columns(&names)? {
            let col = |name: &str| batch.column_by_name(name).map(|a| a.as_ref());
            let read_text = |name: &str| match col(name) {
                Some(a) => texts(a).with_context(|| format!("{file}: column {name:?}")),
                None => Ok(vec![None; batch.num_rows()]),
            };
            label.extend(read_text(&m.label)?);
            if m.task == Task::Regression {
                let values = col(&m.prediction).map(numbers).transpose();
                let values = values.with_context(|| format!("{file}: column {:?}", m.prediction))?;
                number.extend(values.unwrap_or_else(|| vec![None; batch.num_rows()]));
                pred.extend(vec![None; batch.num_rows()]);
            } else {
                pred.extend(read_text(&m.prediction)?);
                match m.score.as_deref() {
                    Some(s) => {
                        let values =
                            col(s).map(numbers).transpose().with_context(|| format!("{file}: column {s:?}"))?;
                        number.extend(values.unwrap_or_else(|| vec![None; batch.num_rows()]));
                    }
                    None => number.extend(vec![None; batch.num_rows()]),
                }
            }
        }
    }
    Ok((pred, number, label))
}

/// A side's labelled rows and the model's performance on them: rows without a label are not
/// labelled; labelled rows without a prediction (or score) are counted and left out. A score
/// outside [0, 1] is an error naming the column.
pub fn side(data: &Dataset, side: &str, m: &ModelColumns) -> Result<Side> {
    let (pred, number, label) = read_rows(data, side, m)?;
    let rows = label.len() as u64;
    let labelled = label.iter().filter(|l| l.is_some()).count() as u64;
    let performance = match m.task {
        Task::Regression => {
            let (mut y, mut p) = (Vec::new(), Vec::new());
            for (l, v) in label.iter().zip(&number) {
                let target = l.as_deref().and_then(|t| t.parse::<f64>().ok()).filter(|t| t.is_finite());
                if l.is_some() && target.is_none() {
                    bail!(
                        "{side}: label {:?} is not a number; a regression label must be numeric",
                        l.as_deref().unwrap_or("")
                    );
                }
                if let (Some(t), Some(v)) = (target, v) {
                    y.push(t);
                    p.push(*v);
                }
            }
            regression(&Regression::new(y, p).map_err(|e| anyhow::anyhow!("{side}: {e}"))?)
        }
        Task::Binary => {
            let (mut y, mut p, mut s) = (Vec::new(), Vec::new(), Vec::new());
            for ((l, v), sc) in label.iter().zip(&pred).zip(&number) {
                let (Some(l), Some(v)) = (l, v) else { continue };
                if m.score.is_some() && sc.is_none() {
                    continue;
                }
                y.push(*l == m.positive);
                p.push(*v == m.positive);
                s.extend(*sc);
            }
            let scores = m.score.is_some().then_some(s);
            let rows = Binary::new(y, p, scores)
                .map_err(|e| anyhow::anyhow!("{side}: column {:?}: {e}", m.score.as_deref().unwrap_or_default()))?;
            binary(&rows)
        }
        Task::Multiclass => {
            let pairs: Vec<(&String, &String)> =
                label.iter().zip(&pred).filter_map(|(l, v)| Some((l.as_ref()?, v.as_ref()?))).collect();
            let (y, p): (Vec<&String>, Vec<&String>) = pairs.into_iter().unzip();
            multiclass(&y, &p)
        }
    };
    let missing_prediction = labelled - performance.rows;
    Ok(Side { rows, labelled, missing_prediction, performance })
}
