//! `drift check` behaviour on real Parquet files: types, nulls, NaN, infinities, new
//! categories, schema drift, insufficient data, file sets, column selection, formats and exit
//! codes.

use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BooleanArray, Decimal128Array, DictionaryArray, Float32Array, Float64Array, Int32Array, Int64Array,
    LargeStringArray, StringArray, StringViewArray, TimestampMillisecondArray, UInt8Array,
};
use drift::synth::Rng;
use tempfile::TempDir;

use crate::support::{check_json, column, drift, s, test, write};

fn normal(n: usize, seed: u64, shift: f64) -> Vec<f64> {
    let mut r = Rng::new(seed);
    (0..n).map(|_| r.normal() + shift).collect()
}

fn f64s(v: Vec<f64>) -> ArrayRef {
    Arc::new(Float64Array::from(v))
}

fn strings(n: usize, seed: u64, labels: &[&str], weights: &[f64]) -> Vec<String> {
    let mut r = Rng::new(seed);
    (0..n).map(|_| labels[r.choose(weights)].to_owned()).collect()
}

#[test]
fn no_drift_exits_zero_and_drift_exits_one() {
    let dir = TempDir::new().unwrap();
    let r = write(dir.path(), "r.parquet", vec![("x", f64s(normal(3000, 1, 0.0)))]);
    let same = write(dir.path(), "same.parquet", vec![("x", f64s(normal(3000, 2, 0.0)))]);
    let moved = write(dir.path(), "moved.parquet", vec![("x", f64s(normal(3000, 3, 0.6)))]);
    let (code, rep) = check_json(&[s(&r)], &[s(&same)], &[]);
    assert_eq!(code, 0);
    assert_eq!(rep["drift"], false);
    let (code, rep) = check_json(&[s(&r)], &[s(&moved)], &[]);
    assert_eq!(code, 1);
    let x = column(&rep, "x");
    assert_eq!(test(x, "ks")["severity"], "critical");
    assert_eq!(test(x, "ks")["drift"], true);
    assert!(test(x, "ks")["p_value_adjusted"].as_f64().unwrap() < 0.05);
}

#[test]
fn nulls_nan_and_infinities() {
    let dir = TempDir::new().unwrap();
    let mut rv: Vec<Option<f64>> = normal(2000, 4, 0.0).into_iter().map(Some).collect();
    rv[0] = Some(f64::INFINITY);
    rv[1] = Some(f64::NEG_INFINITY);
    rv[2] = Some(-0.0);
    let mut cv: Vec<Option<f64>> = normal(2000, 5, 0.0).into_iter().map(Some).collect();
    for v in cv.iter_mut().take(100) {
        *v = None; // 5% nulls: a broken join
    }
    for v in cv.iter_mut().skip(100).take(20) {
        *v = Some(f64::NAN);
    }
    let r = write(dir.path(), "r.parquet", vec![("x", Arc::new(Float64Array::from(rv)) as ArrayRef)]);
    let c = write(dir.path(), "c.parquet", vec![("x", Arc::new(Float64Array::from(cv)) as ArrayRef)]);
    let (code, rep) = check_json(&[s(&r)], &[s(&c)], &[]);
    let x = column(&rep, "x");
    assert_eq!(x["current"]["nulls"], 100);
    assert_eq!(x["current"]["nan"], 20);
    assert_eq!(x["current"]["count"], 1880);
    assert_eq!(x["reference"]["count"], 2000, "infinities are values");
    assert_eq!(x["reference"]["stats"]["max"], serde_json::Value::Null, "JSON has no infinity: null");
    let nr = test(x, "null_rate");
    assert!((nr["statistic"].as_f64().unwrap() - 0.06).abs() < 1e-12);
    assert_eq!(nr["severity"], "critical");
    assert_eq!(test(x, "ks")["drift"], false, "the values themselves did not move");
    assert_eq!(code, 1);
}

#[test]
fn all_null_and_tiny_columns_are_insufficient_not_drift() {
    let dir = TempDir::new().unwrap();
    let r = write(dir.path(), "r.parquet", vec![("x", f64s(normal(500, 6, 0.0))), ("tiny", f64s(normal(500, 7, 0.0)))]);
    let c = write(
        dir.path(),
        "c.parquet",
        vec![
            ("x", Arc::new(Float64Array::from(vec![None::<f64>; 5])) as ArrayRef),
            ("tiny", f64s(vec![9.0, 9.5, 10.0, 11.0, 12.0])),
        ],
    );
    let (code, rep) = check_json(&[s(&r)], &[s(&c)], &["--min-count", "20"]);
    for name in ["x", "tiny"] {
        let col = column(&rep, name);
        assert_eq!(test(col, "ks")["status"], "insufficient", "{name}");
        assert_eq!(test(col, "ks")["drift"], false, "{name}");
        assert_eq!(test(col, "null_rate")["status"], "insufficient", "{name}: 5 rows");
    }
    assert_eq!(code, 0, "insufficient data is never drift");
}

#[test]
fn new_categories_are_reported_with_their_share() {
    let dir = TempDir::new().unwrap();
    let labels = ["a", "b", "c"];
    let r = strings(4000, 8, &labels, &[0.5, 0.3, 0.2]);
    let mut c = strings(2000, 9, &labels, &[0.5, 0.3, 0.2]);
    for v in c.iter_mut().take(300) {
        *v = "zz".into();
    }
    let rp = write(dir.path(), "r.parquet", vec![("k", Arc::new(StringArray::from(r)) as ArrayRef)]);
    let cp = write(dir.path(), "c.parquet", vec![("k", Arc::new(StringArray::from(c)) as ArrayRef)]);
    let (code, rep) = check_json(&[s(&rp)], &[s(&cp)], &[]);
    let k = column(&rep, "k");
    assert_eq!(k["new_categories_total"], 1);
    assert_eq!(k["new_categories"][0]["category"], "zz");
    assert_eq!(k["new_categories"][0]["count"], 300);
    assert!((k["new_categories_share"].as_f64().unwrap() - 0.15).abs() < 1e-12);
    // The new value shares __other__ with "c" (the bin __other__ needs to expect 5 values), so
    // chi2's PSI stays under its floor; the unseen-values test pages instead.
    let unseen = test(k, "unseen");
    assert_eq!(
        (&unseen["severity"], &unseen["current_rate"]),
        (&serde_json::json!("critical"), &serde_json::json!(0.15))
    );
    assert_eq!(code, 1);
    // Under the old rules "zz" has its own bin and chi2 drifts.
    let (code, rep) = check_json(&[s(&rp)], &[s(&cp)], &["--min-expected", "0", "--psi-effect", "classic"]);
    assert_eq!(test(column(&rep, "k"), "chi2")["drift"], true);
    assert_eq!(code, 1);
}

#[test]
fn schema_drift_missing_and_retyped_columns() {
    let dir = TempDir::new().unwrap();
    let n = 200;
    let r = write(
        dir.path(),
        "r.parquet",
        vec![
            ("keep", f64s(normal(n, 10, 0.0))),
            ("gone", f64s(normal(n, 11, 0.0))),
            ("retyped", f64s(normal(n, 12, 0.0))),
        ],
    );
    let c = write(
        dir.path(),
        "c.parquet",
        vec![
            ("keep", f64s(normal(n, 13, 0.0))),
            ("retyped", Arc::new(StringArray::from(vec!["x"; n])) as ArrayRef),
            ("added", f64s(normal(n, 14, 0.0))),
        ],
    );
    let (code, rep) = check_json(&[s(&r)], &[s(&c)], &[]);
    assert_eq!(rep["schema"]["only_in_reference"], serde_json::json!(["gone"]));
    assert_eq!(rep["schema"]["only_in_current"], serde_json::json!(["added"]));
    assert_eq!(rep["schema"]["type_changed"][0]["column"], "retyped");
    assert_eq!(rep["drift"], true);
    assert_eq!(code, 1);

    // A column only in the current data is reported, not drift.
    let (code, rep) = check_json(&[s(&r)], &[s(&c)], &["--columns", "keep,added"]);
    assert_eq!(rep["schema"]["only_in_current"], serde_json::json!(["added"]));
    assert_eq!(code, 0);
}

#[test]
fn every_supported_type_is_read() {
    let dir = TempDir::new().unwrap();
    let n = 400;
    let make = |seed: u64, shift: f64| -> Vec<(&'static str, ArrayRef)> {
        let v = normal(n, seed, shift);
        let cats = strings(n, seed, &["x", "y", "z"], &[0.5, 0.3, 0.2]);
        let dict: DictionaryArray<Int32Type> = cats.iter().map(String::as_str).collect();
        vec![
            ("f32", Arc::new(Float32Array::from_iter_values(v.iter().map(|x| *x as f32))) as ArrayRef),
            ("i32", Arc::new(Int32Array::from_iter_values(v.iter().map(|x| (x * 10.0) as i32)))),
            ("i64", Arc::new(Int64Array::from_iter_values(v.iter().map(|x| (x * 10.0) as i64)))),
            ("u8", Arc::new(UInt8Array::from_iter_values(v.iter().map(|x| (x * 10.0 + 50.0).clamp(0.0, 255.0) as u8)))),
            (
                "dec",
                Arc::new(
                    Decimal128Array::from_iter_values(v.iter().map(|x| (x * 100.0) as i128))
                        .with_precision_and_scale(10, 2)
                        .unwrap(),
                ),
            ),
            ("large", Arc::new(LargeStringArray::from_iter_values(cats.iter()))),
            ("view", Arc::new(StringViewArray::from_iter_values(cats.iter()))),
            ("dict", Arc::new(dict)),
            ("flag", Arc::new(BooleanArray::from_iter(v.iter().map(|x| Some(*x > 0.0))))),
            ("ts", Arc::new(TimestampMillisecondArray::from_iter_values((0..n as i64).map(|i| i * 1000)))),
        ]
    };
    let r = write(dir.path(), "r.parquet", make(20, 0.0));
    let c = write(dir.path(), "c.parquet", make(21, 0.0));
    let (_, rep) = check_json(&[s(&r)], &[s(&c)], &[]);
    for name in ["f32", "i32", "i64", "u8", "dec"] {
        assert_eq!(column(&rep, name)["kind"], "numeric", "{name}");
        assert_eq!(column(&rep, name)["current"]["count"], n as u64, "{name}");
    }
    for name in ["large", "view", "dict", "flag"] {
        assert_eq!(column(&rep, name)["kind"], "categorical", "{name}");
        assert_eq!(column(&rep, name)["current"]["count"], n as u64, "{name}");
    }
    let dec = column(&rep, "dec");
    let mean = dec["reference"]["stats"]["mean"].as_f64().unwrap();
    let want: f64 = normal(n, 20, 0.0).iter().map(|x| ((x * 100.0) as i128) as f64 / 100.0).sum::<f64>() / n as f64;
    assert!((mean - want).abs() < 1e-9, "decimals are scaled: {mean} vs {want}");
    assert_eq!(rep["skipped"][0]["column"], "ts");
    assert_eq!(rep["skipped"][0]["reason"], "temporal column");
    // identical categorical mixes under one seed: the same labels, whatever the encoding
    assert_eq!(column(&rep, "dict")["reference"]["top"], column(&rep, "large")["reference"]["top"]);

    // --categorical forces integer codes to categories; --exclude drops columns
    let (_, rep) = check_json(&[s(&r)], &[s(&c)], &["--categorical", "u8", "--exclude", "f32,i32"]);
    assert_eq!(column(&rep, "u8")["kind"], "categorical");
    assert!(rep["columns"].as_array().unwrap().iter().all(|c| c["column"] != "f32" && c["column"] != "i32"));
}

#[test]
fn directories_globs_and_several_files_read_as_one_table() {
    let dir = TempDir::new().unwrap();
    let all = normal(3000, 30, 0.0);
    write(dir.path(), "ref/part-0.parquet", vec![("x", f64s(all[..1000].to_vec()))]);
    write(dir.path(), "ref/nested/part-1.parquet", vec![("x", f64s(all[1000..].to_vec()))]);
    std::fs::write(dir.path().join("ref/_SUCCESS"), "").unwrap();
    let one = write(dir.path(), "one.parquet", vec![("x", f64s(all.clone()))]);
    let cur = write(dir.path(), "cur/c.parquet", vec![("x", f64s(normal(500, 31, 0.0)))]);
    let (_, from_dir) = check_json(&[s(&dir.path().join("ref"))], &[s(&cur)], &[]);
    let (_, from_file) = check_json(&[s(&one)], &[s(&cur)], &[]);
    let glob = format!("{}/ref/**/*.parquet", dir.path().display());
    let (_, from_glob) = check_json(&[&glob], &[s(&cur)], &[]);
    assert_eq!(from_dir["reference"]["files"], 2);
    assert_eq!(from_dir["reference"]["rows"], 3000);
    assert_eq!(from_glob["reference"]["files"], 2);
    for rep in [&from_dir, &from_glob] {
        assert_eq!(
            column(rep, "x")["tests"],
            column(&from_file, "x")["tests"],
            "same results however the files are split"
        );
    }
}

#[test]
fn table_and_markdown_formats() {
    let dir = TempDir::new().unwrap();
    let r =
        write(dir.path(), "r.parquet", vec![("x", f64s(normal(1000, 40, 0.0))), ("y", f64s(normal(1000, 41, 0.0)))]);
    let c =
        write(dir.path(), "c.parquet", vec![("x", f64s(normal(1000, 42, 0.0))), ("y", f64s(normal(1000, 43, 1.0)))]);
    let out = drift(&["check", "-r", s(&r), "-c", s(&c)]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\x1b'), "no colour when stdout is not a terminal");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("COLUMN"));
    assert!(lines[1].starts_with("y "), "drifted columns first: {text}");
    assert!(lines.last().unwrap().starts_with("DRIFT: 1 of 2 columns drifted"), "{text}");
    let md = drift(&["check", "-r", s(&r), "-c", s(&c), "--format", "markdown"]);
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(md.contains("| COLUMN | KIND |"), "{md}");
    assert!(md.starts_with("**DRIFT"), "{md}");
}

#[test]
fn null_typed_columns_binary_and_pandas_index() {
    use arrow_array::{BinaryArray, NullArray};
    let dir = TempDir::new().unwrap();
    let n = 300;
    let bin: Vec<&[u8]> = (0..n).map(|i| if i % 3 == 0 { &b"red"[..] } else { &b"blue"[..] }).collect();
    write(
        dir.path(),
        "ref/a.parquet",
        vec![
            ("x", f64s(normal(n, 50, 0.0))),
            ("raw", Arc::new(BinaryArray::from(bin.clone())) as ArrayRef),
            ("__index_level_0__", Arc::new(Int64Array::from_iter_values(0..n as i64))),
        ],
    );
    // A second reference file where `x` was written with no values at all (Arrow's Null type).
    write(dir.path(), "ref/b.parquet", vec![("x", Arc::new(NullArray::new(n)) as ArrayRef)]);
    let cur = write(
        dir.path(),
        "cur.parquet",
        vec![("x", Arc::new(NullArray::new(n)) as ArrayRef), ("raw", Arc::new(BinaryArray::from(bin)) as ArrayRef)],
    );
    let (code, rep) = check_json(&[s(&dir.path().join("ref"))], &[s(&cur)], &[]);
    let x = column(&rep, "x");
    assert_eq!(x["kind"], "numeric", "the Null-typed side takes the other side's kind");
    assert_eq!(x["reference"]["nulls"], n as u64, "the Null-typed file's rows are missing values");
    assert_eq!(x["current"]["count"], 0);
    assert_eq!(test(x, "ks")["status"], "insufficient");
    assert_eq!(test(x, "null_rate")["severity"], "critical", "50% -> 100% missing");
    let raw = column(&rep, "raw");
    assert_eq!(raw["kind"], "categorical");
    assert_eq!(raw["reference"]["top"][0]["category"], "blue");
    let index = rep["skipped"].as_array().unwrap().iter().find(|k| k["column"] == "__index_level_0__").unwrap();
    assert_eq!(index["reason"], "pandas index column");
    assert_eq!(code, 1);
}
