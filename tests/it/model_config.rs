//! `[model]` and `[labels]` (issue #13): the issue's example compiles into the validated model
//! with the documented defaults; what cannot be right is in `tests/data/invalid-config/`
//! (`bad-model`, `model-reference-columns`, `labels-without-model`).

use std::sync::Arc;
use std::time::Duration;

use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
use drift::config::{Threshold, load};
use drift::quality::{Metric, Task};

use crate::support::{drift, s, write};

/// A scored and labelled model reference, an empty source and labels directory, and a monitor.
fn setup(model: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "holdout/part-0.parquet",
        vec![
            ("request_id", Arc::new(StringArray::from(vec!["a", "b", "c"])) as ArrayRef),
            ("prediction", Arc::new(Int64Array::from(vec![1, 0, 1]))),
            ("predicted_probability", Arc::new(Float64Array::from(vec![0.9, 0.2, 0.6]))),
            ("label", Arc::new(Int64Array::from(vec![1, 0, 0]))),
        ],
    );
    std::fs::create_dir_all(d.join("incoming")).unwrap();
    std::fs::create_dir_all(d.join("labels")).unwrap();
    std::fs::write(d.join("drift.toml"), "state_dir = \"state\"\n").unwrap();
    let monitor = format!("[source]\npath = \"incoming/\"\nsettle_secs = 7\n[reference]\npath = \"holdout/\"\n{model}");
    std::fs::write(d.join("m.toml"), monitor).unwrap();
    let config = d.join("drift.toml");
    (dir, config)
}

#[test]
fn the_issues_example_validates_with_its_defaults() {
    let (dir, config) = setup(
        r#"
[model]
task = "binary"
id = "request_id"
prediction = "prediction"
score = "predicted_probability"
positive = "1"
reference = "holdout/"

[labels]
path = "labels/"
column = "label"
max_delay_secs = 1209600
min_coverage = 0.5
"#,
    );
    let out = drift(&["validate", "--config", s(&config)]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let cfg = load(&config).unwrap();
    let m = cfg.monitors[0].model.as_ref().expect("a [model]");
    assert_eq!((m.task, m.id.as_str(), m.positive.as_deref()), (Task::Binary, "request_id", Some("1")));
    assert_eq!(m.score.as_deref(), Some("predicted_probability"));
    assert!(m.reference.ends_with("holdout/"), "{}", m.reference);
    assert_eq!(m.thresholds.iter().collect::<Vec<_>>(), [(&Metric::RocAuc, &Threshold::Learned)], "learned ROC AUC");
    let l = &m.labels;
    assert_eq!(l.path.as_deref(), Some(s(&dir.path().join("labels/"))));
    assert_eq!((l.column.as_str(), l.time_column.as_str()), ("label", "label_time"));
    assert_eq!((l.max_delay, l.min_coverage, l.sample_rate), (Duration::from_secs(1_209_600), 0.5, 1.0));
    assert_eq!(l.settle, Duration::from_secs(7), "the source's settle time by default");
    assert_eq!(l.max_pending_predictions, 5_000_000);
}

#[test]
fn fixed_thresholds_and_labels_in_the_prediction_files() {
    let (_dir, config) = setup(
        r#"
[model]
task = "binary"
id = "request_id"
prediction = "prediction"
positive = 1
reference = "holdout/"

[model.thresholds]
f1 = { min = 0.80 }
specificity = { min = 0.5, max = 1 }
accuracy = "learned"
"#,
    );
    let cfg = load(&config).unwrap_or_else(|e| panic!("{e}"));
    let m = cfg.monitors[0].model.as_ref().unwrap();
    assert_eq!(m.positive.as_deref(), Some("1"), "an integer label, as text");
    assert_eq!(m.labels.path, None, "no [labels]: the label column of the prediction files");
    assert_eq!(m.thresholds[&Metric::F1], Threshold::Fixed { min: Some(0.8), max: None });
    assert_eq!(m.thresholds[&Metric::Specificity], Threshold::Fixed { min: Some(0.5), max: Some(1.0) });
    assert_eq!(m.thresholds[&Metric::Accuracy], Threshold::Learned);
    assert!(cfg.monitors.iter().all(|m| m.model.is_some()));
    let (_dir, config) = setup("");
    assert_eq!(load(&config).unwrap().monitors[0].model, None, "no [model]: no model quality");
}

/// Label files may land in object storage like predictions: the URL's form is checked, a bad
/// one named with its key.
#[test]
fn labels_in_object_storage_validate_by_their_url() {
    let model = "[model]\ntask = \"regression\"\nid = \"request_id\"\nprediction = \"predicted_probability\"\nreference = \"holdout/\"\n";
    let (_dir, config) = setup(&format!("{model}[labels]\npath = \"s3://bucket/labels/\"\n"));
    let cfg = load(&config).unwrap();
    let m = cfg.monitors[0].model.as_ref().unwrap();
    assert_eq!(m.labels.path.as_deref(), Some("s3://bucket/labels/"));
    let (_dir, config) = setup(&format!("{model}[labels]\npath = \"s3://\"\n"));
    let err = format!("{:#}", load(&config).unwrap_err());
    assert!(err.contains("labels.path"), "{err}");
}
