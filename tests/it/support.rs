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

/// Starts `drift run --config CONFIG` at log level info, stdout discarded, stderr piped (to
/// read with `wait_with_output`) or discarded.
pub fn spawn_run(config: &Path, capture_stderr: bool) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_drift"))
        .args(["run", "--config", s(config)])
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(if capture_stderr { std::process::Stdio::piped() } else { std::process::Stdio::null() })
        .spawn()
        .unwrap()
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

/// A plain HTTP/1.0 GET on loopback: (status, body).
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map_or(String::new(), |b| b.1.to_owned());
    Some((status, body))
}

/// A free loopback port (bound and released; good enough for a test).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls `f` every 50 ms until it returns `Some`, for at most `secs` seconds.
pub fn wait_for<T>(secs: u64, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if let Some(v) = f() {
            return Some(v);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    None
}
