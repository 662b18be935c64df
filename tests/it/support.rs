//! Helpers: write real Parquet files with arrow into temporary directories, run the real
//! `drift` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema};

/// Writes one batch made of named columns to `dir/name`.
pub fn write(dir: &Path, name: &str, columns: Vec<(&str, ArrayRef)>) -> PathBuf {
    let fields: Vec<Field> = columns.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), true)).collect();
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), columns.into_iter().map(|c| c.1).collect()).unwrap();
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    drift::synth::write_parquet(&path, schema, [batch]).unwrap();
    path
}

/// Runs the `drift` binary with `args`.
pub fn drift(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_drift")).args(args).env_remove("RUST_LOG").output().unwrap()
}

/// Runs `drift check --format json` and parses the report.
pub fn check_json(reference: &[&str], current: &[&str], extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["check", "--format", "json", "--reference"];
    args.extend_from_slice(reference);
    args.push("--current");
    args.extend_from_slice(current);
    args.extend_from_slice(extra);
    let out = drift(&args);
    let code = out.status.code().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("exit {code}: not JSON ({e}): {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr))
    });
    (code, json)
}

/// The column entry of a report.
pub fn column<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["column"] == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

/// The test entry of a column.
pub fn test<'a>(column: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    column["tests"].as_array().unwrap().iter().find(|t| t["test"] == name).unwrap_or_else(|| panic!("no test {name}"))
}

/// A path as &str.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
