//! The demo's checkout-conversion model, scored and labelled: a request id and the predicted
//! class beside each row's `score` (the model's probability of a conversion), a labelled
//! holdout period where the model ranks buyers well, and the labels of the current rows
//! arriving late in a few files, where it no longer does. Every random draw here comes from
//! streams of their own, so the demo's other columns keep the values they had before.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMillisecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};

use super::{DemoSide, Rng};

/// Rows of the holdout: 7 chunks of the demo window's 8 000 rows, so a band learned over
/// chunks of a window's size has more than the 6 chunks below which it warns.
pub const HOLDOUT_ROWS: usize = 56_000;

/// The share of current rows whose label has arrived.
const LABELLED: f64 = 0.7;

/// The share of labelled rows whose first label was wrong and was corrected by a later one.
const CORRECTED: f64 = 0.01;

/// Labels for requests not in the current file (their predictions have not landed).
const UNMATCHED: usize = 30;

/// The label files: each takes the labels whose `label_time` is before its end (ms since the
/// epoch; the last takes the rest), named after the day it landed (the labels known by then).
const LABEL_FILES: [(&str, i64); 3] = [
    ("labels-2026-01-04.parquet", 1_767_484_800_000),
    ("labels-2026-01-06.parquet", 1_767_657_600_000),
    ("labels-2026-01-10.parquet", i64::MAX),
];

/// The logistic function.
fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The positive class when the score is at least 0.5.
fn predicted(score: f64) -> &'static str {
    if score >= 0.5 { "1" } else { "0" }
}

/// A class as text.
fn class(positive: bool) -> &'static str {
    if positive { "1" } else { "0" }
}

/// `req-PREFIX-000001`, ... for row `i` (from 0).
fn request_id(prefix: &str, i: usize) -> String {
    format!("req-{prefix}-{:06}", i + 1)
}

/// The ids' prefix of a side of the demo pair.
fn prefix(side: DemoSide) -> &'static str {
    match side {
        DemoSide::Reference => "ref",
        DemoSide::Current => "cur",
    }
}

/// The label of a row the model scored `score`: the truth follows the score's logit with
/// slope `slope` and intercept `intercept`.
fn label(rng: &mut Rng, score: f64, intercept: f64, slope: f64) -> bool {
    let logit = (score / (1.0 - score)).ln();
    rng.uniform() < sigmoid(intercept + slope * logit)
}

/// The demo table's model columns, after the others: `request_id` and `prediction` (`"1"`
/// when `score` is at least 0.5).
pub(super) fn model_columns(side: DemoSide, score: &Float64Array) -> Vec<(Field, ArrayRef)> {
    let ids: StringArray = (0..score.len()).map(|i| Some(request_id(prefix(side), i))).collect();
    let prediction: StringArray = score.values().iter().map(|s| Some(predicted(*s))).collect();
    vec![
        (Field::new("request_id", DataType::Utf8, false), Arc::new(ids)),
        (Field::new("prediction", DataType::Utf8, false), Arc::new(prediction)),
    ]
}

/// The model's reference: a scored and labelled holdout period of [`HOLDOUT_ROWS`] rows
/// (`request_id`, `score`, `prediction`, `label`), scores drawn as the training data's and
/// labels that follow them closely (ROC AUC about 0.83).
pub fn demo_holdout() -> RecordBatch {
    let mut rng = Rng::new(3);
    let mut scores = Vec::with_capacity(HOLDOUT_ROWS);
    let mut labels = Vec::with_capacity(HOLDOUT_ROWS);
    for _ in 0..HOLDOUT_ROWS {
        let score = sigmoid(-1.2 + 0.9 * rng.normal());
        labels.push(class(label(&mut rng, score, 0.2, 1.8)));
        scores.push(score);
    }
    let ids: StringArray = (0..HOLDOUT_ROWS).map(|i| Some(request_id("hold", i))).collect();
    let prediction: StringArray = scores.iter().map(|s| Some(predicted(*s))).collect();
    let schema = Schema::new(vec![
        Field::new("request_id", DataType::Utf8, false),
        Field::new("score", DataType::Float64, false),
        Field::new("prediction", DataType::Utf8, false),
        Field::new("label", DataType::Utf8, false),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(ids),
        Arc::new(Float64Array::from(scores)),
        Arc::new(prediction),
        Arc::new(StringArray::from(labels)),
    ];
    RecordBatch::try_new(Arc::new(schema), columns).expect("holdout schema matches its columns")
}

/// One label as it lands: the request, the class, when it was known (ms since the epoch).
struct Label {
    id: String,
    label: &'static str,
    time: i64,
}

/// The labels of the current rows, arriving late: three files (file name, batch of
/// `request_id`, `label`, `label_time`, sorted by time), each with the labels known by the
/// day it is named after. About 70% of the rows have a label,
/// 6 to 72 hours after the request; the truth follows the score loosely now (ROC AUC about
/// 0.66); 1% of the labels were first sent wrong and corrected a day or two later; 30 labels
/// are for requests not in the current file.
pub fn demo_labels(current: &RecordBatch) -> Vec<(&'static str, RecordBatch)> {
    let column = |name: &str| {
        current.column_by_name(name).unwrap_or_else(|| panic!("the demo's current side has no {name}")).clone()
    };
    let scores = column("score").as_any().downcast_ref::<Float64Array>().expect("score is Float64").clone();
    let times = column("event_time").as_any().downcast_ref::<TimestampMillisecondArray>().expect("event_time").clone();
    let mut rng = Rng::new(2 + 2000);
    let mut out = Vec::new();
    for (i, (score, at)) in scores.values().iter().zip(times.values().iter()).enumerate() {
        let labelled = rng.uniform() < LABELLED;
        let truth = label(&mut rng, *score, -0.5, 0.7);
        let delay = ((6.0 + 66.0 * rng.uniform()) * 3_600_000.0) as i64;
        let corrected = rng.uniform() < CORRECTED;
        let correction = ((24.0 + 24.0 * rng.uniform()) * 3_600_000.0) as i64;
        if !labelled {
            continue;
        }
        let id = request_id(prefix(DemoSide::Current), i);
        let time = at + delay;
        if corrected {
            out.push(Label { id: id.clone(), label: class(!truth), time });
            out.push(Label { id, label: class(truth), time: time + correction });
        } else {
            out.push(Label { id, label: class(truth), time });
        }
    }
    let last = times.values().last().copied().unwrap_or_default();
    for k in 0..UNMATCHED {
        let time = last + ((12.0 + 36.0 * rng.uniform()) * 3_600_000.0) as i64;
        out.push(Label {
            id: request_id(prefix(DemoSide::Current), scores.len() + k),
            label: class(rng.uniform() < 0.3),
            time,
        });
    }
    out.sort_by(|a, b| (a.time, &a.id).cmp(&(b.time, &b.id)));
    let mut start = 0;
    LABEL_FILES
        .iter()
        .map(|(name, end)| {
            let n = out[start..].iter().take_while(|l| l.time < *end).count();
            let batch = label_batch(&out[start..start + n]);
            start += n;
            (*name, batch)
        })
        .collect()
}

/// A label file's batch.
fn label_batch(labels: &[Label]) -> RecordBatch {
    let schema = Schema::new(vec![
        Field::new("request_id", DataType::Utf8, false),
        Field::new("label", DataType::Utf8, false),
        Field::new("label_time", DataType::Timestamp(TimeUnit::Millisecond, None), false),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(labels.iter().map(|l| Some(l.id.as_str())).collect::<StringArray>()),
        Arc::new(labels.iter().map(|l| Some(l.label)).collect::<StringArray>()),
        Arc::new(TimestampMillisecondArray::from(labels.iter().map(|l| l.time).collect::<Vec<_>>())),
    ];
    RecordBatch::try_new(Arc::new(schema), columns).expect("label schema matches its columns")
}
