//! The shipped demo: the committed files are exactly what the committed generator writes,
//! and `drift check` finds the drift the generator planted, and only that.

use std::fs::File;

use arrow_array::RecordBatch;
use drift::synth::demo_files;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::support::{check_json, column};

fn data(name: &str) -> String {
    format!("{}/examples/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The committed file `examples/data/NAME` as one batch.
fn read(name: &str, rows: usize) -> RecordBatch {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(data(name)).unwrap())
        .unwrap()
        .with_batch_size(rows.max(1))
        .build()
        .unwrap();
    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    assert_eq!(batches.len(), 1, "{name}");
    batches.into_iter().next().unwrap()
}

#[test]
fn committed_demo_files_match_the_generator() {
    let files = demo_files();
    for (name, want) in &files {
        assert_eq!(&read(name, want.num_rows()), want, "{name} differs from `cargo run --example demo_data`");
    }
    let mut labels: Vec<String> = std::fs::read_dir(data("labels"))
        .unwrap()
        .map(|e| format!("labels/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    labels.sort();
    let generated: Vec<&String> = files.iter().map(|(n, _)| n).filter(|n| n.starts_with("labels/")).collect();
    assert_eq!(labels.iter().collect::<Vec<_>>(), generated, "examples/data/labels/ holds only the generated files");
}

#[test]
fn demo_finds_the_planted_drift() {
    let (code, rep) = check_json(&[&data("reference.parquet")], &[&data("current.parquet")], &[]);
    assert_eq!(code, 1);
    let drifted: Vec<&str> = rep["columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["drift"] == true)
        .map(|c| c["column"].as_str().unwrap())
        .collect();
    let mut sorted = drifted.clone();
    sorted.sort();
    assert_eq!(sorted, vec!["age", "basket_value", "country", "score"]);
    assert_eq!(column(&rep, "country")["new_categories"][0]["category"], "BR");
    assert_eq!(rep["schema"]["only_in_reference"], serde_json::json!(["legacy_flag"]));
    assert_eq!(rep["schema"]["only_in_current"], serde_json::json!(["promo_code"]));
    assert_eq!(rep["skipped"][0]["column"], "event_time");
    // The model's predicted class is compared as its own column, beside its score.
    assert_eq!(column(&rep, "prediction")["kind"], "categorical");
}
