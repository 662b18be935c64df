//! `drift check --model-task` (issue #13): the model's realized performance on both sides, from
//! the prediction, score and label columns of their files, in table, JSON and Markdown, with the
//! label drift between the sides and one-line errors for a model flag naming no column. Small
//! hand-checked sides: unlabelled rows, a positive label given as text against integer and
//! string labels, a labelled row without a score, and a current side with one class only.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray, TimestampMillisecondArray};
use serde_json::json;

use crate::support::{drift, s, write};

fn sides() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let reference = write(
        dir.path(),
        "reference.parquet",
        vec![
            ("label", Arc::new(Int64Array::from(vec![Some(1), Some(0), Some(1), Some(0), None, Some(1)])) as ArrayRef),
            ("prediction", Arc::new(Int64Array::from(vec![1, 0, 1, 1, 0, 1]))),
            ("p", Arc::new(Float64Array::from(vec![0.9, 0.2, 0.8, 0.6, 0.5, 0.7]))),
            ("x", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))),
        ],
    );
    let current = write(
        dir.path(),
        "current.parquet",
        vec![
            ("label", Arc::new(StringArray::from(vec![Some("1"), Some("1"), Some("1"), None, Some("1")])) as ArrayRef),
            ("prediction", Arc::new(StringArray::from(vec!["0", "1", "0", "1", "1"]))),
            ("p", Arc::new(Float64Array::from(vec![Some(0.4), Some(0.9), None, Some(0.3), Some(0.6)]))),
            ("x", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0, 4.0, 5.0]))),
        ],
    );
    let (r, c) = (s(&reference).to_owned(), s(&current).to_owned());
    (dir, r, c)
}

/// The model's flags; drift compares `x` only (so the exit code is the model-free 0: the model's
/// table does not change it).
const MODEL: &[&str] =
    &["--columns", "x", "--model-task", "binary", "--prediction", "prediction", "--score", "p", "--label", "label"];

fn check(r: &str, c: &str, format: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec!["check", "--reference", r, "--current", c, "--format", format, "--no-progress"];
    args.extend(extra);
    let out = drift(&args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn metric<'a>(side: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    side["performance"]["metrics"].as_array().unwrap().iter().find(|m| m["metric"] == name).unwrap()
}

#[test]
fn both_sides_metrics_in_json_with_coverage_and_undefined_reasons() {
    let (_dir, r, c) = sides();
    let (code, out, err) = check(&r, &c, "json", MODEL);
    assert_eq!(code, Some(0), "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let m = &report["model"];
    assert_eq!((m["task"].as_str(), m["score"].as_str()), (Some("binary"), Some("p")));
    let reference = &m["reference"];
    assert_eq!(
        (reference["rows"].as_u64(), reference["labelled"].as_u64()),
        (Some(6), Some(5)),
        "a null label is unlabelled"
    );
    assert_eq!(metric(reference, "accuracy")["value"], json!(0.8), "4 of 5 labelled rows right");
    assert_eq!(metric(reference, "precision")["value"], json!(0.75), "the positive label 1 against integer labels");
    assert_eq!(metric(reference, "roc_auc")["value"], json!(1.0));
    let current = &m["current"];
    assert_eq!((current["labelled"].as_u64(), current["missing_prediction"].as_u64()), (Some(4), Some(1)));
    assert_eq!(current["performance"]["rows"], json!(3), "the row without a score is left out");
    let accuracy = metric(current, "accuracy")["value"].as_f64().unwrap();
    assert!((accuracy - 2.0 / 3.0).abs() < 1e-15, "the positive label \"1\" against string labels: {accuracy}");
    assert_eq!(
        metric(current, "roc_auc"),
        &json!({"metric": "roc_auc", "value": null, "undefined": "only one class in the labels"}),
    );
    assert!(!out.contains("NaN"), "{out}");
}

#[test]
fn table_and_markdown_show_the_metric_table_side_by_side() {
    let (_dir, r, c) = sides();
    let (code, table, err) = check(&r, &c, "table", MODEL);
    assert_eq!(code, Some(0), "{err}");
    for needle in [
        "MODEL binary prediction",
        "5 of 6 (83.3%)",
        "4 of 5 (80.0%)",
        "model: prediction prediction, score p, label label",
        "current: roc_auc undefined: only one class in the labels",
        "current: 1 labelled rows without a prediction or score, not evaluated",
    ] {
        assert!(table.contains(needle), "missing {needle:?} in:\n{table}");
    }
    let accuracy = table.lines().find(|l| l.starts_with("accuracy")).unwrap();
    assert_eq!(accuracy.split_whitespace().collect::<Vec<_>>(), ["accuracy", "0.8000", "0.6667", "-0.1333"]);
    let (_, md, _) = check(&r, &c, "markdown", MODEL);
    assert!(md.contains("| model binary `prediction` | reference | current | change |"), "{md}");
    assert!(md.contains("| roc_auc | 1.0000 | undefined | - |"), "{md}");
}

/// The HTML report (issue #14) has a model panel with the same rows and notes, escaped, and
/// stays one well-formed page (html5lib).
#[test]
fn the_html_report_has_a_model_quality_panel() {
    let (dir, r, c) = sides();
    let (code, html, err) = check(&r, &c, "html", MODEL);
    assert_eq!(code, Some(0), "{err}");
    for needle in [
        "<h3 class=\"\">Model quality</h3>",
        "<th>model binary <code>prediction</code></th>",
        "<tr><td>accuracy</td><td>0.8000</td><td>0.6667</td><td>-0.1333</td></tr>",
        "<tr><td>roc_auc</td><td>1.0000</td><td>undefined</td><td>-</td></tr>",
        "<p>current: roc_auc undefined: only one class in the labels</p>",
    ] {
        assert!(html.contains(needle), "missing {needle:?} in the page");
    }
    let panel = &html[html.find("Model quality").unwrap()..];
    let panel = &panel[..panel.find("</section>").unwrap()];
    assert!(!panel.contains("NaN") && !panel.contains("<td>0</td>"), "{panel}");
    let page = dir.path().join("model.html");
    std::fs::write(&page, &html).unwrap();
    crate::html::parse(&page);
}

#[test]
fn a_missing_model_column_is_one_line_naming_it() {
    let (_dir, r, c) = sides();
    let args = ["--model-task", "binary", "--prediction", "pred", "--label", "label"];
    let (code, _, err) = check(&r, &c, "table", &args);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(&format!("--prediction: the reference side ({r}) has no column \"pred\"")), "{err}");
    let (code, _, err) = check(&r, &c, "table", &["--model-task", "binary", "--label", "label"]);
    assert_eq!(code, Some(2), "--prediction is required: {err}");
}

/// `--labels PATH --id COL`: labels in separate files joined to the current side by id; a
/// duplicate id's last label by `label_time` wins (a timed label beats an untimed one from a
/// later file), a label whose id has no prediction is counted, rows without a label stay
/// unlabelled.
#[test]
fn labels_from_separate_files_join_the_current_side_by_id() {
    let (dir, r, _) = sides();
    let d = dir.path();
    let current = write(
        d,
        "current-unlabelled.parquet",
        vec![
            ("request_id", Arc::new(StringArray::from(vec!["a", "b", "c", "d", "e"])) as ArrayRef),
            ("prediction", Arc::new(Int64Array::from(vec![1, 1, 1, 0, 1]))),
            ("p", Arc::new(Float64Array::from(vec![0.9, 0.8, 0.3, 0.2, 0.6]))),
            ("x", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0, 4.0, 5.0]))),
        ],
    );
    write(
        d,
        "labels/day-1.parquet",
        vec![
            ("request_id", Arc::new(StringArray::from(vec!["a", "b", "b", "z", "c"])) as ArrayRef),
            ("label", Arc::new(Int64Array::from(vec![1, 0, 1, 0, 0]))),
            ("label_time", Arc::new(TimestampMillisecondArray::from(vec![10, 20, 5, 1, 7]))),
        ],
    );
    write(
        d,
        "labels/day-2.parquet",
        vec![
            ("request_id", Arc::new(StringArray::from(vec!["c"])) as ArrayRef),
            ("label", Arc::new(Int64Array::from(vec![1]))),
        ],
    );
    let labels = s(&d.join("labels")).to_owned();
    let mut args = MODEL.to_vec();
    args.extend(["--labels", &labels, "--id", "request_id"]);
    let (code, out, err) = check(&r, s(&current), "json", &args);
    assert_eq!(code, Some(0), "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let current = &report["model"]["current"];
    assert_eq!(
        current["joined"],
        json!({"label_rows": 6, "matched": 3, "duplicates": 2, "unmatched": 1}),
        "b's later label_time wins; c keeps its timed label over day 2's untimed one; z has no prediction"
    );
    assert_eq!((current["rows"].as_u64(), current["labelled"].as_u64()), (Some(5), Some(3)));
    let accuracy = metric(current, "accuracy")["value"].as_f64().unwrap();
    // All three predicted positive: a=1 right, b=0 wrong (by file order alone it would be 1),
    // c=0 wrong (were an untimed label later than a timed one it would be 1).
    assert!((accuracy - 1.0 / 3.0).abs() < 1e-15, "{accuracy}");
    assert_eq!(metric(current, "roc_auc")["value"], json!(1.0));
    assert_eq!(report["model"]["reference"]["joined"], json!(null), "the reference keeps its own labels");
    // The label drift counts the joined labels (a 1, b 0, c 0; d and e unlabelled) against the
    // reference's own (1, 0, 1, 0, null, 1).
    let (rs, cs) = (
        shares_of(&[Some("1"), Some("0"), Some("1"), Some("0"), None, Some("1")]),
        shares_of(&[Some("1"), Some("0"), Some("0"), None, None]),
    );
    let got = report["model"]["label_drift"]["shares"].as_array().unwrap_or_else(|| panic!("{out}"));
    assert_eq!(got.len(), 2, "{got:?}");
    for (g, label) in got.iter().zip(["0", "1"]) {
        assert_eq!(g[0].as_str(), Some(label), "{got:?}");
        assert!((g[1].as_f64().unwrap() - rs[label]).abs() < 1e-12, "{got:?}");
        assert!((g[2].as_f64().unwrap() - cs[label]).abs() < 1e-12, "{got:?}");
    }
    let (_, table, _) = check(&r, s(&current_path(d)), "table", &args);
    assert!(
        table.contains("current: labels joined by id from 6 label rows: 3 rows matched, 2 duplicate labels"),
        "{table}"
    );
}

fn current_path(d: &std::path::Path) -> std::path::PathBuf {
    d.join("current-unlabelled.parquet")
}

/// Multiclass and regression through the same flags: classes as strings, a regression side
/// with a zero target (MAPE undefined with its reason, R² still defined), a class column that
/// is not a class type refused with one line naming the file and column.
#[test]
fn multiclass_and_regression_sides() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let r = write(
        d,
        "r.parquet",
        vec![
            ("label", Arc::new(StringArray::from(vec!["cat", "dog", "fox", "cat"])) as ArrayRef),
            ("prediction", Arc::new(StringArray::from(vec!["cat", "dog", "cat", "cat"]))),
            ("y", Arc::new(Float64Array::from(vec![2.0, 4.0, 1.0, 3.0]))),
            ("yhat", Arc::new(Float64Array::from(vec![2.5, 3.5, 1.0, 3.0]))),
        ],
    );
    let c = write(
        d,
        "c.parquet",
        vec![
            ("label", Arc::new(StringArray::from(vec!["cat", "dog", "fox", "fox"])) as ArrayRef),
            ("prediction", Arc::new(StringArray::from(vec!["dog", "dog", "fox", "cat"]))),
            ("y", Arc::new(Float64Array::from(vec![0.0, 4.0, 1.0, 3.0]))),
            ("yhat", Arc::new(Float64Array::from(vec![1.0, 4.0, 1.0, 3.0]))),
        ],
    );
    let (r, c) = (s(&r).to_owned(), s(&c).to_owned());
    let multiclass = ["--columns", "y", "--model-task", "multiclass", "--prediction", "prediction", "--label", "label"];
    let (_, out, err) = check(&r, &c, "json", &multiclass);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {err}"));
    assert_eq!(metric(&report["model"]["reference"], "accuracy")["value"], json!(0.75));
    assert_eq!(metric(&report["model"]["current"], "accuracy")["value"], json!(0.5));
    // Current per class F1: cat 0 (0 of 1 predicted right), dog 2/3, fox 2/3: macro 4/9.
    let macro_f1 = metric(&report["model"]["current"], "f1_macro")["value"].as_f64().unwrap();
    assert!((macro_f1 - 4.0 / 9.0).abs() < 1e-15, "{macro_f1}");

    let regression = ["--columns", "y", "--model-task", "regression", "--prediction", "yhat", "--label", "y"];
    let (_, out, err) = check(&r, &c, "json", &regression);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {err}"));
    let current = &report["model"]["current"];
    assert_eq!(metric(current, "mae")["value"], json!(0.25));
    assert_eq!(
        metric(current, "mape"),
        &json!({"metric": "mape", "value": null, "undefined": "a target is zero (MAPE divides by it)"})
    );
    assert!(metric(current, "r2")["value"].is_number());

    let bad = ["--columns", "y", "--model-task", "regression", "--prediction", "prediction", "--label", "y"];
    let (code, _, err) = check(&r, &c, "json", &bad);
    assert_eq!(code, Some(2));
    assert!(err.contains("r.parquet") && err.contains("column \"prediction\""), "{err}");
}

/// Each label's share of the labelled (non-null) rows, counted here from the written labels:
/// (label, share), by label.
fn shares_of(labels: &[Option<&str>]) -> std::collections::BTreeMap<String, f64> {
    let mut counts = std::collections::BTreeMap::<String, u64>::new();
    for l in labels.iter().flatten() {
        *counts.entry((*l).to_owned()).or_default() += 1;
    }
    let n = counts.values().sum::<u64>() as f64;
    counts.into_iter().map(|(l, c)| (l, c as f64 / n)).collect()
}

/// Label drift (issue #13: "label distribution against the model reference's"): each class's
/// share of the current side's labelled rows against the reference side's, in JSON, the table and
/// Markdown, as the daemon's labels line says it. A class one side lacks is 0% there; unlabelled
/// rows and a labelled row without a prediction count as they are (labelled or not).
#[test]
fn label_drift_is_the_class_shares_of_both_sides() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ref_labels = [Some("cat"), Some("dog"), Some("cat"), None, Some("fox"), Some("cat"), Some("dog"), Some("cat")];
    let cur_labels = [Some("dog"), Some("bird"), None, Some("dog"), Some("cat"), Some("dog"), Some("dog")];
    let predictions = |n: usize| Arc::new(StringArray::from(vec!["cat"; n])) as ArrayRef;
    let r = write(
        d,
        "ref.parquet",
        vec![
            ("label", Arc::new(StringArray::from(ref_labels.to_vec())) as ArrayRef),
            ("prediction", predictions(ref_labels.len())),
            ("x", Arc::new(Float64Array::from(vec![1.0; ref_labels.len()]))),
        ],
    );
    let mut cur_predictions: Vec<Option<&str>> = vec![Some("cat"); cur_labels.len()];
    cur_predictions[0] = None;
    let c = write(
        d,
        "cur.parquet",
        vec![
            ("label", Arc::new(StringArray::from(cur_labels.to_vec())) as ArrayRef),
            ("prediction", Arc::new(StringArray::from(cur_predictions)) as ArrayRef),
            ("x", Arc::new(Float64Array::from(vec![1.0; cur_labels.len()]))),
        ],
    );
    let (rs, cs) = (shares_of(&ref_labels), shares_of(&cur_labels));
    let mut labels: Vec<&String> = rs.keys().chain(cs.keys()).collect();
    labels.sort();
    labels.dedup();
    assert_eq!(labels, ["bird", "cat", "dog", "fox"], "the test's own data");
    let expected: Vec<(&str, f64, f64)> = labels
        .iter()
        .map(|l| (l.as_str(), rs.get(*l).copied().unwrap_or(0.0), cs.get(*l).copied().unwrap_or(0.0)))
        .collect();

    let args = ["--columns", "x", "--model-task", "multiclass", "--prediction", "prediction", "--label", "label"];
    let (code, out, err) = check(s(&r), s(&c), "json", &args);
    assert_eq!(code, Some(0), "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let got = report["model"]["label_drift"]["shares"].as_array().unwrap_or_else(|| panic!("{out}"));
    assert_eq!(got.len(), expected.len(), "{got:?}");
    for (g, (label, r, c)) in got.iter().zip(&expected) {
        assert_eq!(g[0].as_str(), Some(*label), "{got:?}");
        assert!((g[1].as_f64().unwrap() - r).abs() < 1e-12, "{label} reference: {g} against {r}");
        assert!((g[2].as_f64().unwrap() - c).abs() < 1e-12, "{label} current: {g} against {c}");
    }
    assert_eq!(report["model"]["label_drift"]["mean"], json!(null), "classes have no mean");

    let line: Vec<String> =
        expected.iter().map(|(l, r, c)| format!("{l} {:.1}% -> {:.1}%", r * 100.0, c * 100.0)).collect();
    let line = format!("labels (reference -> current): {}", line.join(", "));
    // By hand: bird 0/7 -> 1/6, cat 4/7 -> 1/6, dog 2/7 -> 4/6, fox 1/7 -> 0/6.
    let (code, table, err) = check(s(&r), s(&c), "table", &args);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(table.lines().filter(|l| l.trim() == line).count(), 1, "missing {line:?} in:\n{table}");
    let (_, md, _) = check(s(&r), s(&c), "markdown", &args);
    assert!(md.lines().any(|l| l.trim() == line), "missing {line:?} in:\n{md}");
}

/// Regression's label drift is the mean label of each side's labelled rows.
#[test]
fn label_drift_is_the_mean_label_for_regression() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ref_y = [Some(2.0), Some(4.5), None, Some(1.25), Some(3.0)];
    let cur_y = [Some(10.0), None, Some(7.5), Some(8.0)];
    let yhat = |n: usize| Arc::new(Float64Array::from(vec![3.0; n])) as ArrayRef;
    let r =
        write(d, "r.parquet", vec![("y", Arc::new(Float64Array::from(ref_y.to_vec())) as ArrayRef), ("yhat", yhat(5))]);
    let c =
        write(d, "c.parquet", vec![("y", Arc::new(Float64Array::from(cur_y.to_vec())) as ArrayRef), ("yhat", yhat(4))]);
    let mean = |v: &[Option<f64>]| {
        let v: Vec<f64> = v.iter().flatten().copied().collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let (rm, cm) = (mean(&ref_y), mean(&cur_y));
    let args = ["--columns", "y", "--model-task", "regression", "--prediction", "yhat", "--label", "y"];
    let (code, out, err) = check(s(&r), s(&c), "json", &args);
    assert!(code == Some(0) || code == Some(1), "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let drift = &report["model"]["label_drift"];
    assert_eq!(drift["shares"], json!(null), "a regression has no classes: {drift}");
    let got = drift["mean"].as_array().unwrap_or_else(|| panic!("{out}"));
    assert!((got[0].as_f64().unwrap() - rm).abs() < 1e-12 && (got[1].as_f64().unwrap() - cm).abs() < 1e-12, "{got:?}");
    let (_, table, _) = check(s(&r), s(&c), "table", &args);
    let line = format!("label mean (reference -> current): {rm:.4} -> {cm:.4}");
    assert!(table.lines().any(|l| l.trim() == line), "missing {line:?} in:\n{table}");
}

/// A model flag naming a column its side lacks is one line naming the flag, the side and its
/// files, the column, and what to give, with the side's columns; `--id` is checked on both the
/// current side and the label files, and `--label` on the label files.
#[test]
fn a_wrong_model_flag_names_the_flag_the_side_and_the_column() {
    let (dir, r, c) = sides();
    let d = dir.path();
    let fails = |r: &str, c: &str, args: &[&str]| {
        let (code, out, err) = check(r, c, "json", args);
        assert_eq!(code, Some(2), "{args:?}: {out}{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        err
    };
    let columns = "(columns: label, prediction, p, x)";
    let with = |flag: &str, value: &'static str| {
        let mut args = MODEL.to_vec();
        let at = args.iter().position(|a| *a == flag).unwrap();
        args[at + 1] = value;
        args
    };

    let err = fails(&r, &c, &with("--prediction", "predicton"));
    let want = format!(
        "--prediction: the reference side ({r}) has no column \"predicton\"; name the prediction column {columns}"
    );
    assert!(err.contains(&want), "{err}");
    let err = fails(&r, &c, &with("--score", "proba"));
    assert!(
        err.contains(&format!("--score: the reference side ({r}) has no column \"proba\"; name the score column")),
        "{err}"
    );
    let err = fails(&r, &c, &with("--label", "target"));
    assert!(
        err.contains(&format!(
            "--label: the reference side ({r}) has no column \"target\"; name the label column {columns}"
        )),
        "{err}"
    );

    // Only the current side lacks the column.
    let c2 = write(
        d,
        "current-renamed.parquet",
        vec![
            ("label", Arc::new(Int64Array::from(vec![1, 0])) as ArrayRef),
            ("pred", Arc::new(Int64Array::from(vec![1, 1]))),
            ("p", Arc::new(Float64Array::from(vec![0.9, 0.2]))),
            ("x", Arc::new(Float64Array::from(vec![1.0, 2.0]))),
        ],
    );
    let err = fails(&r, s(&c2), MODEL);
    let want = format!(
        "--prediction: the current side ({}) has no column \"prediction\"; name the prediction column (columns: label, pred, p, x)",
        s(&c2)
    );
    assert!(err.contains(&want), "{err}");

    // --id: the current side without it, then label files without it, then without the label.
    write(
        d,
        "labels/a.parquet",
        vec![
            ("req_id", Arc::new(StringArray::from(vec!["a"])) as ArrayRef),
            ("label", Arc::new(Int64Array::from(vec![1]))),
        ],
    );
    let labels = s(&d.join("labels")).to_owned();
    let mut args = MODEL.to_vec();
    args.extend(["--labels", &labels, "--id", "request_id"]);
    let err = fails(&r, &c, &args);
    let want = format!(
        "--id: the current side ({c}) has no column \"request_id\"; name the id column the current side and the label files share {columns}"
    );
    assert!(err.contains(&want), "{err}");
    let with_id = write(
        d,
        "current-ids.parquet",
        vec![
            ("request_id", Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef),
            ("prediction", Arc::new(Int64Array::from(vec![1, 1]))),
            ("p", Arc::new(Float64Array::from(vec![0.9, 0.2]))),
            ("x", Arc::new(Float64Array::from(vec![1.0, 2.0]))),
        ],
    );
    let err = fails(&r, s(&with_id), &args);
    let want = format!(
        "--id: the label files ({labels}) have no column \"request_id\"; name the id column the current side and the label files share (columns: req_id, label)"
    );
    assert!(err.contains(&want), "{err}");
    let mut args = with("--label", "truth");
    args.extend(["--labels", &labels, "--id", "req_id"]);
    let renamed = write(
        d,
        "current-req.parquet",
        vec![
            ("req_id", Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef),
            ("prediction", Arc::new(Int64Array::from(vec![1, 1]))),
            ("p", Arc::new(Float64Array::from(vec![0.9, 0.2]))),
            ("x", Arc::new(Float64Array::from(vec![1.0, 2.0]))),
        ],
    );
    let ref_truth = write(
        d,
        "reference-truth.parquet",
        vec![
            ("truth", Arc::new(Int64Array::from(vec![1, 0])) as ArrayRef),
            ("prediction", Arc::new(Int64Array::from(vec![1, 0]))),
            ("p", Arc::new(Float64Array::from(vec![0.9, 0.2]))),
            ("x", Arc::new(Float64Array::from(vec![1.0, 2.0]))),
        ],
    );
    let err = fails(s(&ref_truth), s(&renamed), &args);
    let want = format!(
        "--label: the label files ({labels}) have no column \"truth\"; name the label column of the label files (columns: req_id, label)"
    );
    assert!(err.contains(&want), "{err}");
}
