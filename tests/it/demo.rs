//! The shipped demo: the committed files are exactly what the committed generator writes,
//! `drift check` finds the drift the generator planted, and only that, and the demo model's
//! holdout and late labels show the model degraded.

use std::fs::File;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use drift::quality::{FEW_CHUNKS, Value, chunk_values, learned_band, roc_auc};
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

/// A metric's value on a side of `drift check --model-task`'s JSON.
fn metric(side: &serde_json::Value, name: &str) -> f64 {
    let metrics = side["performance"]["metrics"].as_array().unwrap();
    let m = metrics.iter().find(|m| m["metric"] == name).unwrap_or_else(|| panic!("no {name}: {side}"));
    m["value"].as_f64().unwrap_or_else(|| panic!("{name} undefined: {m}"))
}

/// ROC AUC over the holdout's chunks of `rows` rows: the band the daemon learns for a window
/// of that size (mean ± 3σ).
fn holdout_band(rows: usize) -> drift::quality::Band {
    let holdout = read("holdout.parquet", usize::MAX >> 1);
    let scores = holdout.column_by_name("score").unwrap().as_primitive::<Float64Type>().values().to_vec();
    let labels: Vec<bool> =
        holdout.column_by_name("label").unwrap().as_string::<i32>().iter().map(|l| l == Some("1")).collect();
    let values: Vec<Value> = chunk_values(labels.len(), rows, |r| roc_auc(&labels[r.clone()], &scores[r]));
    learned_band(&values).expect("the holdout's chunks have a ROC AUC")
}

/// The shipped monitor's `[model]` and `[labels]`, run through `drift check --model-task` on
/// the demo's files: the holdout is a good model (ROC AUC about 0.84), the current rows' late
/// labels cover a partial share of them (with corrected and unmatched labels), and on them the
/// model is clearly worse, below the band the daemon learns from the holdout. The README
/// quotes these numbers.
#[test]
fn demo_model_degrades_once_its_late_labels_arrive() {
    let config =
        drift::config::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("monitors/drift.toml")).unwrap();
    let model = config.monitors[0].model.as_ref().expect("the demo monitor declares its [model]");
    let labels = model.labels.path.as_deref().expect("the demo's labels are files");
    let score = model.score.as_deref().expect("the demo model has a score");
    let positive = model.positive.as_deref().unwrap();
    let pairs = [
        ("--model-task", "binary"),
        ("--prediction", &model.prediction),
        ("--score", score),
        ("--label", &model.labels.column),
        ("--positive", positive),
        ("--labels", labels),
        ("--id", &model.id),
    ];
    let flags: Vec<&str> = pairs.iter().flat_map(|(k, v)| [*k, *v]).collect();
    let (_, rep) = check_json(&[&model.reference], &[&data("current.parquet")], &flags);
    let (reference, current) = (&rep["model"]["reference"], &rep["model"]["current"]);

    let good = metric(reference, "roc_auc");
    assert!((0.80..0.87).contains(&good), "the holdout's ROC AUC {good}");
    assert_eq!(reference["labelled"], reference["rows"], "the holdout is labelled");
    let coverage = current["labelled"].as_f64().unwrap() / current["rows"].as_f64().unwrap();
    assert!((model.labels.min_coverage..0.9).contains(&coverage), "a partial window: coverage {coverage}");
    let joined = &current["joined"];
    assert!(joined["duplicates"].as_u64().unwrap() > 0, "some labels were corrected: {joined}");
    assert!(joined["unmatched"].as_u64().unwrap() > 0, "some labels match no prediction: {joined}");

    let bad = metric(current, "roc_auc");
    assert!(bad < 0.70, "the current ROC AUC {bad}");
    let band = holdout_band(current["rows"].as_u64().unwrap() as usize);
    assert!(band.chunks >= FEW_CHUNKS, "the holdout makes a band without the few-chunks warning: {band:?}");
    assert!(bad < band.lower && band.lower > 0.80, "{bad} is below the learned band {band:?}");

    // The README quotes what this prints.
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let readme = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let accuracy = (metric(reference, "accuracy"), metric(current, "accuracy"));
    for quoted in [
        format!("ROC AUC {good:.4} against {bad:.4}"),
        format!("accuracy {:.4} against {:.4}", accuracy.0, accuracy.1),
        format!("{} duplicate labels, {} labels without a prediction", joined["duplicates"], joined["unmatched"]),
        format!("ROC AUC drops from {good:.2} on the holdout to {bad:.2}"),
    ] {
        assert!(readme.contains(&quoted), "README.md should say {quoted:?}");
    }
}

/// The README's quick start and `monitors/README.md` quote the demo daemon's model lines as
/// `drift run --once` and `drift history` print them (their snapshots, which
/// `snapshots::run_once_history_alert_list_and_the_webhook_body` holds to the binary).
#[test]
fn the_docs_quote_the_demo_daemons_model_lines_as_printed() {
    let root = env!("CARGO_MANIFEST_DIR");
    let read = |rel: &str| std::fs::read_to_string(format!("{root}/{rel}")).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    let run_once = read("tests/data/snapshots/run-once.txt");
    let mut quoted: Vec<String> = run_once
        .lines()
        .filter(|l| l.contains("model performance") || l.contains("labels (model reference"))
        .map(words)
        .collect();
    assert_eq!(quoted.len(), 2, "the demo's window prints a model line and its labels' line: {run_once}");
    let history = read("tests/data/snapshots/history.txt");
    let cell =
        history.split("; ").find(|c| c.starts_with("model ")).unwrap_or_else(|| panic!("no model cell: {history}"));
    quoted.push(words(cell));
    for doc in ["README.md", "monitors/README.md"] {
        let text = words(&read(doc));
        for q in &quoted {
            assert!(text.contains(q.as_str()), "{doc} should quote {q:?}");
        }
    }
}
