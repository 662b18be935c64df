//! `[model]` and `[labels]` (issue #13): the model a monitor watches the realized quality of,
//! compiled into [`ModelQuality`] with every problem reported at once.
//!
//! The tables are taken out of the monitor's unknown tables (as the registered checks are), so
//! this file owns their raw shape, keys and rules. The model's reference is its own path: a
//! held-out period with predictions and labels, not the drift reference (training data has no
//! predictions, a snapshot has no rows); `validate` reads its footers and names every missing
//! column.

// Fields are the files' keys, one to one; `monitors/README.md` documents each.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::problems::Problems;
use super::raw::Unknown;
use super::resolve;
pub use crate::quality::Threshold;
use crate::quality::{Metric, Task};

/// Documented defaults of `[labels]` and `[model]`.
pub mod defaults {
    /// The label column.
    pub const LABEL_COLUMN: &str = "label";
    /// The label-time column (used when a label file has it).
    pub const LABEL_TIME_COLUMN: &str = "label_time";
    /// After this long a window's performance is final: 14 days.
    pub const MAX_DELAY_SECS: u64 = 14 * 24 * 3600;
    /// Evaluate a window once half its rows have a label.
    pub const MIN_COVERAGE: f64 = 0.5;
    /// Keep every prediction.
    pub const SAMPLE_RATE: f64 = 1.0;
    /// Predictions kept waiting for labels, over every open window of a monitor.
    pub const MAX_PENDING_PREDICTIONS: u64 = 5_000_000;
}

/// `[model]` as written.
#[derive(Debug, Default, Deserialize)]
pub struct RawModel {
    pub task: Option<String>,
    pub id: Option<String>,
    pub prediction: Option<String>,
    pub score: Option<String>,
    pub positive: Option<toml::Value>,
    pub reference: Option<String>,
    pub thresholds: Option<BTreeMap<String, toml::Value>>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// Keys of [`RawModel`].
pub const MODEL_KEYS: &[&str] = &["task", "id", "prediction", "score", "positive", "reference", "thresholds"];

/// `[labels]` as written.
#[derive(Debug, Default, Deserialize)]
pub struct RawLabels {
    pub path: Option<String>,
    pub column: Option<String>,
    pub time_column: Option<String>,
    pub max_delay_secs: Option<u64>,
    pub min_coverage: Option<f64>,
    pub sample_rate: Option<f64>,
    pub max_pending_predictions: Option<u64>,
    pub settle_secs: Option<u64>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// Keys of [`RawLabels`].
pub const LABELS_KEYS: &[&str] = &[
    "path",
    "column",
    "time_column",
    "max_delay_secs",
    "min_coverage",
    "sample_rate",
    "max_pending_predictions",
    "settle_secs",
];

/// The monitor tables this file owns.
pub const TABLES: &[&str] = &["model", "labels"];

/// The validated model of a monitor.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelQuality {
    /// What the model predicts.
    pub task: Task,
    /// The column joining predictions and labels.
    pub id: String,
    /// The predicted class or value.
    pub prediction: String,
    /// Binary: the positive class's probability, if the model gives one.
    pub score: Option<String>,
    /// Binary: the positive label, as text (a label or prediction equal to it is positive).
    pub positive: Option<String>,
    /// The model's reference: Parquet paths of a scored and labelled period.
    pub reference: String,
    /// Per metric: a fixed threshold, or one learned from the reference.
    pub thresholds: BTreeMap<Metric, Threshold>,
    /// Where the labels come from and when a window's performance is final.
    pub labels: Labels,
}

/// `[labels]`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Labels {
    /// Label files (a directory or a glob), or `None`: the labels are a column of the
    /// prediction files.
    pub path: Option<String>,
    /// The label column.
    pub column: String,
    /// The label-time column: the last label by it wins among duplicates (else file order).
    pub time_column: String,
    /// After this long a window's performance is final; a label arriving before its prediction
    /// is kept this long.
    pub max_delay: Duration,
    /// Evaluate a window once this share of its rows has a label.
    pub min_coverage: f64,
    /// The share of predictions kept (a deterministic sample by id hash).
    pub sample_rate: f64,
    /// Predictions waiting for labels, at most; beyond, the oldest windows are finalized early.
    pub max_pending_predictions: u64,
    /// A label file is taken once stable this long.
    pub settle: Duration,
}

/// The headline metric learned from the reference when `[model.thresholds]` names none.
pub fn default_metric(task: Task, scored: bool) -> Metric {
    match task {
        Task::Binary if scored => Metric::RocAuc,
        Task::Binary => Metric::F1,
        Task::Multiclass => Metric::F1Macro,
        Task::Regression => Metric::Mae,
    }
}

/// Compiles `[model]` and `[labels]` out of a monitor's unknown `tables` (removing them); the
/// source's settle time is the labels' default. `None` when the monitor has no `[model]` (or a
/// problem was pushed).
pub(super) fn compile(
    e: &mut Problems,
    tables: &mut BTreeMap<String, toml::Value>,
    base: &Path,
    settle_default: u64,
) -> Option<ModelQuality> {
    let model = tables.remove("model");
    let labels_table = tables.remove("labels");
    let Some(model) = model else {
        if labels_table.is_some() {
            e.push("labels", "[labels] needs a [model] table: the model whose predictions the labels join");
        }
        return None;
    };
    let before = e.errors.len();
    let raw: RawModel = table(e, "model", model)?;
    let raw_labels: RawLabels = match labels_table {
        Some(v) => table(e, "labels", v)?,
        None => RawLabels::default(),
    };
    e.unknown("model", &raw.unknown, MODEL_KEYS);
    let task = match raw.task.as_deref() {
        None => {
            e.push("model.task", "required: binary, multiclass or regression");
            Task::Binary
        }
        Some(t) => Task::from_name(t).unwrap_or_else(|| {
            e.push("model.task", format!("unknown task {t:?}; use binary, multiclass or regression"));
            Task::Binary
        }),
    };
    let id = required(e, "model.id", raw.id, "the column joining predictions and labels");
    let prediction = required(e, "model.prediction", raw.prediction, "the predicted class or value column");
    let positive = raw.positive.as_ref().and_then(|v| positive_text(e, v));
    if task == Task::Binary && positive.is_none() && raw.positive.is_none() {
        e.push("model.positive", "required for task = \"binary\": the positive label, e.g. positive = \"1\"");
    }
    if task != Task::Binary {
        for (key, given) in [("model.score", raw.score.is_some()), ("model.positive", raw.positive.is_some())] {
            if given {
                e.push(key, format!("only for task = \"binary\"; this model's task is {:?}", task.name()));
            }
        }
    }
    let thresholds = thresholds(e, task, raw.score.is_some(), raw.thresholds.unwrap_or_default());
    let labels = labels(e, raw_labels, base, settle_default);
    let reference = match &raw.reference {
        None => {
            e.push("model.reference", "required: a scored and labelled period (Parquet), not the training data");
            String::new()
        }
        Some(p) => resolve(base, p).display().to_string(),
    };
    if !reference.is_empty() {
        let mut needed = vec![("model.prediction", prediction.as_str()), ("labels.column", labels.column.as_str())];
        needed.extend(raw.score.as_deref().map(|s| ("model.score", s)));
        check_reference(e, &reference, &needed);
    }
    (e.errors.len() == before).then_some(ModelQuality {
        task,
        id,
        prediction,
        score: raw.score,
        positive,
        reference,
        thresholds,
        labels,
    })
}

/// A table deserialized, or its type error pushed.
fn table<T: serde::de::DeserializeOwned>(e: &mut Problems, name: &str, value: toml::Value) -> Option<T> {
    match T::deserialize(value) {
        Ok(v) => Some(v),
        Err(err) => {
            e.push(name, err.message().lines().next().unwrap_or("invalid table").to_owned());
            None
        }
    }
}

fn required(e: &mut Problems, key: &str, v: Option<String>, what: &str) -> String {
    match v {
        Some(s) if !s.is_empty() => s,
        _ => {
            e.push(key, format!("required: {what}"));
            String::new()
        }
    }
}

/// The positive label as text: a string, an integer or a boolean as written.
fn positive_text(e: &mut Problems, v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => {
            e.push("model.positive", "give the positive label as a string, an integer or a boolean");
            None
        }
    }
}

/// `[model.thresholds]`: `metric = { min = .., max = .. }` or `metric = "learned"`; none given:
/// the task's headline metric, learned.
fn thresholds(
    e: &mut Problems,
    task: Task,
    scored: bool,
    raw: BTreeMap<String, toml::Value>,
) -> BTreeMap<Metric, Threshold> {
    let mut out = BTreeMap::new();
    let names: Vec<&str> = task.metrics(true).iter().map(|m| m.name()).collect();
    for (name, v) in &raw {
        let key = format!("model.thresholds.{name}");
        let Some(metric) = Metric::from_name(task, name) else {
            e.push(&key, format!("not a {} metric; use one of: {}", task.name(), names.join(", ")));
            continue;
        };
        if metric.needs_score() && !scored {
            e.push(&key, format!("{name} needs the model's score: set model.score"));
        }
        match threshold(v) {
            Ok(t) => {
                out.insert(metric, t);
            }
            Err(msg) => e.push(&key, msg),
        }
    }
    if raw.is_empty() {
        out.insert(default_metric(task, scored), Threshold::Learned);
    }
    out
}

fn threshold(v: &toml::Value) -> Result<Threshold, String> {
    const HOW: &str = "give { min = 0.8 }, { max = 0.2 }, both, or \"learned\" (mean ± 3σ over reference chunks)";
    if v.as_str() == Some("learned") {
        return Ok(Threshold::Learned);
    }
    let table = v.as_table().ok_or(HOW)?;
    let bound = |k: &str| match table.get(k) {
        None => Ok(None),
        Some(x) => x.as_float().or(x.as_integer().map(|i| i as f64)).filter(|f| f.is_finite()).map(Some).ok_or(HOW),
    };
    let (min, max) = (bound("min")?, bound("max")?);
    if table.keys().any(|k| k != "min" && k != "max") || (min.is_none() && max.is_none()) {
        return Err(HOW.to_owned());
    }
    if let (Some(lo), Some(hi)) = (min, max)
        && lo > hi
    {
        return Err(format!("min {lo} is above max {hi}"));
    }
    Ok(Threshold::Fixed { min, max })
}

/// `[labels]`.
fn labels(e: &mut Problems, l: RawLabels, base: &Path, settle_default: u64) -> Labels {
    e.unknown("labels", &l.unknown, LABELS_KEYS);
    let path = l.path.as_ref().map(|p| {
        if crate::source::object::is_object_url(p) {
            // As `[source] path`: the URL's form is checked here, the daemon lists it.
            if let Err(err) = crate::source::object::parse(p).expect("an object URL") {
                e.push("labels.path", format!("{err:#}"));
            }
            return p.clone();
        }
        let full = resolve(base, p);
        let text = full.display().to_string();
        let glob = p.contains(['*', '?', '[']);
        if !glob && !full.is_dir() {
            e.push("labels.path", format!("{text}: no such directory; create it or give a glob"));
        } else if glob && let Err(err) = glob::Pattern::new(&text) {
            e.push("labels.path", format!("bad glob: {err}"));
        }
        text
    });
    let share = |e: &mut Problems, key: &str, v: Option<f64>, default: f64| match v {
        None => default,
        Some(x) if x > 0.0 && x <= 1.0 => x,
        Some(x) => {
            e.push(key, format!("{x} is not a share: give a number in (0, 1], e.g. {default}"));
            default
        }
    };
    let min_coverage = share(e, "labels.min_coverage", l.min_coverage, defaults::MIN_COVERAGE);
    let sample_rate = share(e, "labels.sample_rate", l.sample_rate, defaults::SAMPLE_RATE);
    for (key, v) in
        [("labels.max_delay_secs", l.max_delay_secs), ("labels.max_pending_predictions", l.max_pending_predictions)]
    {
        if v == Some(0) {
            e.push(key, "must be at least 1");
        }
    }
    Labels {
        path,
        column: l.column.unwrap_or_else(|| defaults::LABEL_COLUMN.to_owned()),
        time_column: l.time_column.unwrap_or_else(|| defaults::LABEL_TIME_COLUMN.to_owned()),
        max_delay: Duration::from_secs(l.max_delay_secs.unwrap_or(defaults::MAX_DELAY_SECS)),
        min_coverage,
        sample_rate,
        max_pending_predictions: l.max_pending_predictions.unwrap_or(defaults::MAX_PENDING_PREDICTIONS),
        settle: Duration::from_secs(l.settle_secs.unwrap_or(settle_default)),
    }
}

/// The model reference must be rows (not a snapshot) holding every needed column.
fn check_reference(e: &mut Problems, reference: &str, needed: &[(&str, &str)]) {
    let paths = match crate::source::expand_inputs(&[reference.to_owned()]) {
        Ok(p) => p,
        Err(err) => return e.push("model.reference", format!("{err:#}")),
    };
    if let Some(snap) = paths.iter().find(|p| crate::snapshot::codec::is_snapshot_file(p)) {
        return e.push(
            "model.reference",
            format!(
                "{} is a reference snapshot: it has no rows; give a scored and labelled period (Parquet files \
                 with the prediction, score and label columns)",
                snap.display()
            ),
        );
    }
    let dataset = match crate::source::Dataset::open("model reference", &[reference.to_owned()]) {
        Ok(d) => d,
        Err(err) => return e.push("model.reference", format!("{err:#}")),
    };
    for (key, column) in needed.iter().filter(|(_, c)| !c.is_empty()) {
        if dataset.column(column).is_none() {
            e.push(
                "model.reference",
                format!("{reference}: no column {column:?} ({key}); the model reference needs predictions and labels"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key a keys list names is a field (not caught as unknown), and an extra key is
    /// caught: the lists used for suggestions stay the structs' keys.
    #[test]
    fn the_keys_lists_are_the_tables_fields() {
        let model: String =
            MODEL_KEYS.iter().map(|k| format!("{k} = {}\n", if *k == "thresholds" { "{}" } else { "\"x\"" })).collect();
        let raw: RawModel = toml::from_str(&model).unwrap();
        assert!(raw.unknown.is_empty(), "{:?}", raw.unknown);
        let labels: String = LABELS_KEYS
            .iter()
            .map(|k| format!("{k} = {}\n", if ["path", "column", "time_column"].contains(k) { "\"x\"" } else { "1" }))
            .collect();
        let raw: RawLabels = toml::from_str(&format!("{labels}nope = 1\n")).unwrap();
        assert_eq!(raw.unknown.keys().collect::<Vec<_>>(), ["nope"]);
    }
}
