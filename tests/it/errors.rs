//! Bad input gets one clear line naming the file (and column) and exit code 2; never a panic.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
use tempfile::TempDir;

use crate::support::{drift, s, write};

fn f64s(v: &[f64]) -> ArrayRef {
    Arc::new(Float64Array::from(v.to_vec()))
}

/// Runs `check`, expects exit 2 and a single stderr line containing every `needles`.
fn expect_error(args: &[&str], needles: &[&str]) {
    let out = drift(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "stderr lacks {n:?}: {stderr}");
    }
    assert!(out.stdout.is_empty(), "nothing on stdout on error");
}

fn good(dir: &TempDir) -> String {
    s(&write(dir.path(), "good.parquet", vec![("x", f64s(&[1.0, 2.0, 3.0]))])).to_owned()
}

#[test]
fn missing_path() {
    let dir = TempDir::new().unwrap();
    let g = good(&dir);
    let missing = dir.path().join("nope.parquet");
    expect_error(&["check", "-r", &g, "-c", s(&missing)], &[s(&missing), "no such file"]);
}

#[test]
fn directory_without_parquet() {
    let dir = TempDir::new().unwrap();
    let g = good(&dir);
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("notes.txt"), "hi").unwrap();
    expect_error(&["check", "-r", &g, "-c", s(&empty)], &[s(&empty), "no Parquet files"]);
}

#[test]
fn glob_matching_nothing() {
    let dir = TempDir::new().unwrap();
    let g = good(&dir);
    let pattern = format!("{}/*.nothing", dir.path().display());
    expect_error(&["check", "-r", &g, "-c", &pattern], &[&pattern, "matched no files"]);
}

#[test]
fn not_a_parquet_file() {
    let dir = TempDir::new().unwrap();
    let g = good(&dir);
    let csv = dir.path().join("data.csv");
    std::fs::write(&csv, "a,b\n1,2\n3,4\n5,6\n").unwrap();
    expect_error(&["check", "-r", &g, "-c", s(&csv)], &[s(&csv), "not a Parquet file"]);
}

#[test]
fn truncated_file() {
    let dir = TempDir::new().unwrap();
    let g = good(&dir);
    let bytes = std::fs::read(&g).unwrap();
    let cut = dir.path().join("cut.parquet");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    expect_error(&["check", "-r", &g, "-c", s(&cut)], &[s(&cut), "truncated"]);
}

#[test]
fn corrupt_footer() {
    let dir = TempDir::new().unwrap();
    let g = good(&dir);
    let mut bytes = std::fs::read(&g).unwrap();
    let n = bytes.len();
    // keep both magic numbers, scramble the footer's metadata
    for b in &mut bytes[n - 60..n - 8] {
        *b = 0xff;
    }
    let bad = dir.path().join("bad.parquet");
    std::fs::write(&bad, &bytes).unwrap();
    expect_error(&["check", "-r", &g, "-c", s(&bad)], &[s(&bad)]);
}

#[test]
fn conflicting_types_across_files() {
    let dir = TempDir::new().unwrap();
    let g = good(&dir);
    let a = write(dir.path(), "cur/a.parquet", vec![("x", f64s(&[1.0]))]);
    let b = write(dir.path(), "cur/b.parquet", vec![("x", Arc::new(StringArray::from(vec!["one"])) as ArrayRef)]);
    let cur = dir.path().join("cur");
    expect_error(&["check", "-r", &g, "-c", s(&cur)], &["\"x\"", "conflicting types", s(&a), s(&b)]);
}

#[test]
fn unknown_column_flag() {
    let dir = TempDir::new().unwrap();
    let g = good(&dir);
    expect_error(&["check", "-r", &g, "-c", &g, "--columns", "y"], &["\"y\"", "neither"]);
}

#[test]
fn usage_errors_exit_2() {
    expect_error(&["check", "--reference", "x.parquet"], &["--current"]);
    expect_error(&["check", "-r", "a", "-c", "b", "--correction", "holm"], &["holm"]);
    expect_error(&["nonsense"], &["nonsense"]);
}

#[test]
fn width_changes_across_files_are_not_conflicts() {
    // The reference mixes int64 and float64 files, the current side is int32: all one numeric
    // column, compared, with no schema finding.
    let dir = TempDir::new().unwrap();
    write(dir.path(), "ref/a.parquet", vec![("x", Arc::new(Int64Array::from_iter_values(0..50)) as ArrayRef)]);
    write(dir.path(), "ref/b.parquet", vec![("x", f64s(&(50..100).map(|i| i as f64 + 0.5).collect::<Vec<_>>()))]);
    let cur = write(
        dir.path(),
        "cur.parquet",
        vec![("x", Arc::new(arrow_array::Int32Array::from_iter_values(0..100)) as ArrayRef)],
    );
    let (code, report) = crate::support::check_json(&[s(&dir.path().join("ref"))], &[s(&cur)], &[]);
    assert_eq!(code, 0, "{report}");
    let x = crate::support::column(&report, "x");
    assert_eq!(x["kind"], "numeric", "{x}");
    assert_eq!((report["reference"]["rows"].as_u64(), report["current"]["rows"].as_u64()), (Some(100), Some(100)));
    // At 50: 50 of 100 reference values are <= 50, 51 of 100 current ones.
    let d = crate::support::test(x, "ks")["statistic"].as_f64().unwrap();
    assert!((d - 0.01).abs() < 1e-12, "{x}");
    assert_eq!(report["schema"]["type_changed"], serde_json::json!([]), "{report}");
}
