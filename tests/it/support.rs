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

/// A loopback port nobody listens on right now, for a test of a refused connection that
/// later starts a server on it (bound and released, so another process could take it in
/// between; daemons and receivers bind port 0 instead and report the port they got).
pub fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running `drift run` whose JSON log lines (stderr) are collected as they come, so a test
/// can wait for a line instead of sleeping; killed when dropped.
pub struct Daemon {
    pub child: std::process::Child,
    log: std::sync::Arc<std::sync::Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Daemon {
    /// Starts `drift run --config CONFIG` at log level info with `env` added.
    pub fn start(config: &Path, env: &[(&str, &str)]) -> Daemon {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_drift"))
            .args(["run", "--config", s(config)])
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (stderr, sink) = (child.stderr.take().unwrap(), log.clone());
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        Daemon { child, log, reader: Some(reader) }
    }

    /// The log so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits up to `secs` for a log line containing every one of `needles`; the line, if seen.
    pub fn wait_log(&self, secs: u64, needles: &[&str]) -> Option<String> {
        wait_for(secs, || self.log().lines().find(|l| needles.iter().all(|n| l.contains(n))).map(str::to_owned))
    }

    /// The HTTP port the daemon bound (its start line names it), waiting up to 30 s.
    pub fn port(&self) -> u16 {
        let line =
            self.wait_log(30, &["drift daemon started"]).unwrap_or_else(|| panic!("never started: {}", self.log()));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let listen = v["fields"]["listen"].as_str().unwrap_or_else(|| panic!("no listen field: {line}"));
        listen.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// Sends a signal (`-KILL`, `-TERM`, `-HUP`).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill").args([sig, &self.child.id().to_string()]).status().unwrap().success();
        assert!(ok, "kill {sig}");
    }

    /// SIGKILL, reaps the process, and returns its whole log (read to the end of the pipe).
    pub fn kill_9(mut self) -> String {
        self.signal("-KILL");
        self.child.wait().unwrap();
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        self.log()
    }

    /// Waits up to `secs` for the exit; the exit code.
    pub fn wait_exit(&mut self, secs: u64) -> Option<i32> {
        wait_for(secs, || self.child.try_wait().unwrap()).map(|s| s.code().unwrap_or(-1))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
