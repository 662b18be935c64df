//! The shipped demo pair: the committed files are exactly what the committed generator writes,
//! and `drift check` finds the drift the generator planted, and only that.

use std::fs::File;

use drift::synth::{DemoSide, demo_batch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::support::{check_json, column};

fn data(name: &str) -> String {
    format!("{}/examples/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn committed_demo_files_match_the_generator() {
    for (side, name) in [(DemoSide::Reference, "reference.parquet"), (DemoSide::Current, "current.parquet")] {
        let want = demo_batch(side);
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(data(name)).unwrap())
            .unwrap()
            .with_batch_size(want.num_rows())
            .build()
            .unwrap();
        let batches: Vec<_> = reader.map(Result::unwrap).collect();
        assert_eq!(batches.len(), 1, "{name}");
        assert_eq!(batches[0], want, "{name} differs from `cargo run --example demo_data`");
    }
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
}
