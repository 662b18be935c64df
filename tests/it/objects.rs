//! Object storage against a real S3 server on loopback: moto's server mode (`moto_server`,
//! installed into the tool cache by `.ci/run`, found through `DRIFT_MOTO_SERVER`; without it a
//! test says why and skips, except under `CI`, where it fails). Each test starts its own server
//! on a free port and fills a bucket through object_store, as a writer in production would.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
use object_store::ObjectStore;
use object_store::ObjectStoreExt as _;

use crate::support::{s, unused_port, wait_for, write};

/// A moto server on 127.0.0.1, killed when dropped.
pub struct Moto {
    child: Child,
    /// Its endpoint, `http://127.0.0.1:PORT`.
    pub endpoint: String,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The moto_server executable: `DRIFT_MOTO_SERVER`, else one on the PATH; `None` (with the
/// reason printed) outside CI.
fn moto_server() -> Option<PathBuf> {
    let found = std::env::var_os("DRIFT_MOTO_SERVER").map(PathBuf::from).or_else(|| {
        let out = Command::new("sh").args(["-c", "command -v moto_server"]).output().ok()?;
        let p = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        (!p.is_empty()).then(|| PathBuf::from(p))
    });
    if found.is_none() {
        let why = "moto_server not found: set DRIFT_MOTO_SERVER (.ci/run installs it into the tool cache)";
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("skipped: {why}");
    }
    found
}

impl Moto {
    /// Starts a server and waits until it answers.
    pub fn start() -> Option<Moto> {
        let exe = moto_server()?;
        let port = unused_port();
        let child = Command::new(exe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}"), port };
        wait_for(30, || crate::support::http_get(port, "/").map(|_| ())).expect("moto_server answers");
        Some(moto)
    }

    /// Creates a bucket (moto takes an unsigned PUT).
    pub fn bucket(&self, name: &str) {
        use std::io::{Read, Write};
        let mut c = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(c, "PUT /{name} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\n\r\n", self.port).unwrap();
        let mut answer = String::new();
        c.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"), "{answer}");
    }

    /// A client of `bucket` with moto's test credentials.
    pub fn store(&self, bucket: &str) -> Arc<dyn ObjectStore> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Arc::new(
            object_store::aws::AmazonS3Builder::new()
                .with_endpoint(&self.endpoint)
                .with_allow_http(true)
                .with_region("us-east-1")
                .with_bucket_name(bucket)
                .with_access_key_id("test")
                .with_secret_access_key("test")
                .build()
                .unwrap(),
        )
    }

    /// Uploads every file below `dir` to `bucket` under `prefix` (same relative keys).
    pub fn upload_dir(&self, bucket: &str, dir: &Path, prefix: &str) {
        upload(&self.store(bucket), dir, prefix);
    }

    /// Puts one object.
    pub fn put(&self, store: &Arc<dyn ObjectStore>, key: &str, bytes: Vec<u8>) {
        let store = store.clone();
        let key = object_store::path::Path::from(key);
        runtime().block_on(async move { store.put(&key, bytes.into()).await }).unwrap();
    }

    /// The environment pointing the AWS clients at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }
}

/// Puts every file below `dir` into `store` under `prefix` (same relative keys).
fn upload(store: &Arc<dyn ObjectStore>, dir: &Path, prefix: &str) {
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let key =
                object_store::path::Path::from(format!("{prefix}{}", p.strip_prefix(dir).unwrap().to_str().unwrap()));
            let (store, bytes) = (store.clone(), std::fs::read(&p).unwrap());
            runtime().block_on(async move { store.put(&key, bytes.into()).await }).unwrap();
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// Runs drift with `env` and no other AWS settings from the caller's environment.
pub fn drift_env(args: &[&str], env: &[(&str, String)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_drift"));
    cmd.args(args).env_remove("RUST_LOG");
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k.starts_with("AZURE_") || k.starts_with("GOOGLE_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A reference and a drifted current side, each two files, with what a writer leaves beside
/// them (`_SUCCESS`, a hidden file, an `_`-prefixed directory) that the rules skip.
fn data(dir: &Path) -> (PathBuf, PathBuf) {
    let side = |name: &str, shift: f64, seed: i64| {
        let root = dir.join(name);
        for part in 0..2i64 {
            let n = 400;
            let x: Vec<f64> = (0..n).map(|i| ((i * 37 + part * 11 + seed) % 100) as f64 + shift).collect();
            let k: Vec<i64> = (0..n).map(|i| (i + part) % 7).collect();
            let c: Vec<&str> = (0..n).map(|i| ["a", "b", "c"][((i + seed) % 3) as usize]).collect();
            write(
                &root,
                &format!("dt=2026-12-0{}/part-{part}.parquet", part + 1),
                vec![
                    ("x", Arc::new(Float64Array::from(x)) as ArrayRef),
                    ("k", Arc::new(Int64Array::from(k)) as ArrayRef),
                    ("c", Arc::new(StringArray::from(c)) as ArrayRef),
                ],
            );
        }
        std::fs::write(root.join("_SUCCESS"), b"").unwrap();
        std::fs::write(root.join(".part-9.parquet"), b"not parquet").unwrap();
        std::fs::create_dir_all(root.join("_temporary")).unwrap();
        std::fs::write(root.join("_temporary/part-8.parquet"), b"half written").unwrap();
        root
    };
    (side("reference", 0.0, 1), side("current", 25.0, 2))
}

#[test]
fn a_check_and_a_reference_over_s3_equal_the_same_over_local_files() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("logs");
    let dir = tempfile::tempdir().unwrap();
    let (reference, current) = data(dir.path());
    moto.upload_dir("logs", &reference, "training/");
    moto.upload_dir("logs", &current, "predictions/");
    let env = moto.env();

    let local = drift_env(&["check", "--format", "json", "-r", s(&reference), "-c", s(&current)], &env);
    let remote =
        drift_env(&["check", "--format", "json", "-r", "s3://logs/training", "-c", "s3://logs/predictions/"], &env);
    let (l, r) = (text(&local), text(&remote));
    assert_eq!(local.status.code(), Some(1), "{l:?}");
    assert_eq!(remote.status.code(), Some(1), "{r:?}");
    assert_eq!(l.0, r.0, "the JSON reports differ");
    // A glob, segment by segment like a local one.
    let glob = drift_env(
        &["check", "--format", "json", "-r", "s3://logs/training/dt=*/part-*.parquet", "-c", "s3://logs/predictions"],
        &env,
    );
    assert_eq!(text(&glob).0, l.0, "{:?}", text(&glob).1);
    // A glob matching "directories" walks into them, as a local glob does.
    let local_dirs = format!("{}/dt=*", reference.display());
    let local_glob = drift_env(&["check", "--format", "json", "-r", &local_dirs, "-c", s(&current)], &env);
    assert_eq!(text(&local_glob).0, l.0, "{:?}", text(&local_glob).1);
    let dirs =
        drift_env(&["check", "--format", "json", "-r", "s3://logs/training/dt=*", "-c", "s3://logs/predictions"], &env);
    assert_eq!(text(&dirs).0, l.0, "{:?}", text(&dirs).1);

    // A snapshot built from objects, written to the bucket, shown and checked against.
    let created = ["--created-at", "2026-12-03T00:00:00Z", "--no-progress"];
    let snap = dir.path().join("ref.drift");
    let out = drift_env(&[&["reference", "build", "-i", s(&reference), "-o", s(&snap)][..], &created].concat(), &env);
    assert!(out.status.success(), "{:?}", text(&out));
    let out = drift_env(
        &[&["reference", "build", "-i", "s3://logs/training/", "-o", "s3://logs/snapshots/ref.drift"][..], &created]
            .concat(),
        &env,
    );
    assert!(out.status.success(), "{:?}", text(&out));
    let shown_local = drift_env(&["reference", "show", "-f", "json", s(&snap)], &env);
    let shown_remote = drift_env(&["reference", "show", "-f", "json", "s3://logs/snapshots/ref.drift"], &env);
    assert!(shown_remote.status.success(), "{:?}", text(&shown_remote));
    // The same snapshot apart from its sources' paths.
    let local_prefix = format!("{}/", reference.display());
    assert_eq!(text(&shown_local).0.replace(&local_prefix, "s3://logs/training/"), text(&shown_remote).0);
    let from_snap = drift_env(
        &["check", "--format", "json", "-r", "s3://logs/snapshots/ref.drift", "-c", "s3://logs/predictions/"],
        &env,
    );
    let local_snap = drift_env(&["check", "--format", "json", "-r", s(&snap), "-c", s(&current)], &env);
    // Equal but for the snapshot's id: its CRC covers the source paths it records, which differ.
    let without_id = |o: &std::process::Output| {
        let mut v: serde_json::Value =
            serde_json::from_str(&text(o).0).unwrap_or_else(|e| panic!("{e}: {:?}", text(o)));
        let id = v["reference_snapshot"].as_object_mut().and_then(|s| s.remove("id"));
        assert!(id.as_ref().and_then(|i| i.as_str()).is_some_and(|i| i.len() == 8), "{v}");
        v
    };
    assert_eq!(without_id(&from_snap), without_id(&local_snap));
}

/// `reference merge` reads its snapshots from object URLs and writes the whole to one: the
/// same statistics as merging local snapshots of the same parts (pure new coverage: it goes
/// through the shared snapshot reads and writes).
#[test]
fn reference_merge_reads_and_writes_object_urls() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("logs");
    let dir = tempfile::tempdir().unwrap();
    let (reference, _) = data(dir.path());
    moto.upload_dir("logs", &reference, "training/");
    let env = moto.env();
    let created = ["--created-at", "2026-12-03T00:00:00Z", "--no-progress"];
    let merged_at = ["--created-at", "2026-12-03T00:00:00Z"];
    let mut local_parts = Vec::new();
    for day in ["dt=2026-12-01", "dt=2026-12-02"] {
        let local = dir.path().join(format!("{day}.drift"));
        let input = reference.join(day);
        let out = drift_env(&[&["reference", "build", "-i", s(&input), "-o", s(&local)][..], &created].concat(), &env);
        assert!(out.status.success(), "{:?}", text(&out));
        local_parts.push(local);
        let (input, output) = (format!("s3://logs/training/{day}/"), format!("s3://logs/snapshots/{day}.drift"));
        let out = drift_env(&[&["reference", "build", "-i", &input, "-o", &output][..], &created].concat(), &env);
        assert!(out.status.success(), "{:?}", text(&out));
    }
    let local = dir.path().join("whole.drift");
    let out = drift_env(
        &[&["reference", "merge", "-o", s(&local), s(&local_parts[0]), s(&local_parts[1])][..], &merged_at].concat(),
        &env,
    );
    assert!(out.status.success(), "{:?}", text(&out));
    let parts = ["s3://logs/snapshots/dt=2026-12-01.drift", "s3://logs/snapshots/dt=2026-12-02.drift"];
    let out = drift_env(
        &[&["reference", "merge", "-o", "s3://logs/snapshots/whole.drift", parts[0], parts[1]][..], &merged_at]
            .concat(),
        &env,
    );
    assert!(out.status.success(), "{:?}", text(&out));
    let show = |what: &str| {
        let out = drift_env(&["reference", "show", "-f", "json", what], &env);
        assert!(out.status.success(), "{what}: {:?}", text(&out));
        let mut v: serde_json::Value = serde_json::from_str(&text(&out).0).unwrap();
        let rows = v["rows"].clone();
        v.as_object_mut().unwrap().retain(|k, _| k == "columns" || k == "rows");
        (v, rows)
    };
    let (remote, rows) = show("s3://logs/snapshots/whole.drift");
    assert_eq!(rows, serde_json::json!(800), "both parts: {remote}");
    assert_eq!(show(s(&local)).0, remote, "merged from the bucket = merged from local files");
    // A missing part is one line naming it.
    let out = drift_env(
        &["reference", "merge", "-o", s(&dir.path().join("x.drift")), parts[0], "s3://logs/snapshots/nope.drift"],
        &env,
    );
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("s3://logs/snapshots/nope.drift") && err.trim().lines().count() == 1, "{err}");
}

#[test]
fn stores_from_the_daemon_file_give_the_endpoint_and_credentials() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("lake");
    let dir = tempfile::tempdir().unwrap();
    let (reference, current) = data(dir.path());
    moto.upload_dir("lake", &reference, "ref/");
    moto.upload_dir("lake", &current, "cur/");
    let config = dir.path().join("drift.toml");
    std::fs::write(
        &config,
        format!(
            "state_dir = \"state\"\n\n[stores.lake]\nurl = \"s3://lake\"\nregion = \"us-east-1\"\nendpoint = \"{}\"\n\
             allow_http = true\ntimeout_secs = 5\nmax_retries = 1\naccess_key_id_env = \"LAKE_KEY\"\n\
             secret_access_key_file = \"lake.secret\"\n",
            moto.endpoint
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("lake.secret"), "test\n").unwrap();
    let env = vec![("LAKE_KEY", "test".to_owned())];
    let local = drift_env(&["check", "--format", "json", "-r", s(&reference), "-c", s(&current)], &[]);
    let remote = drift_env(
        &["check", "--format", "json", "--config", s(&config), "-r", "s3://lake/ref", "-c", "s3://lake/cur"],
        &env,
    );
    assert_eq!(text(&local).0, text(&remote).0, "{:?}", text(&remote).1);
    // A key named by a variable that is not set: the daemon file is refused, naming the key.
    let out = drift_env(&["check", "--config", s(&config), "-r", "s3://lake/ref", "-c", "s3://lake/cur"], &[]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("stores.lake.access_key_id_env: environment variable LAKE_KEY is not set"), "{err}");
}

/// No credentials anywhere (no AWS_* variables, the store names none, and the instance
/// metadata endpoint is a closed loopback port, so nothing leaves the machine): one line naming
/// the store and what to set, exit 2, and nothing asked of the bucket.
#[test]
fn a_store_without_credentials_is_one_line_naming_it_and_what_to_set() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("lake");
    let proxy = CountingProxy::start(moto.port);
    let dir = tempfile::tempdir().unwrap();
    let (reference, current) = data(dir.path());
    moto.upload_dir("lake", &reference, "ref/");
    moto.upload_dir("lake", &current, "cur/");
    let config = dir.path().join("drift.toml");
    std::fs::write(
        &config,
        format!(
            "state_dir = \"state\"\n\n[stores.lake]\nurl = \"s3://lake\"\nregion = \"us-east-1\"\n\
             endpoint = \"http://127.0.0.1:{}\"\nallow_http = true\ntimeout_secs = 5\nmax_retries = 1\n",
            proxy.port
        ),
    )
    .unwrap();
    let closed = format!("http://127.0.0.1:{}", unused_port());
    let env = vec![("AWS_METADATA_ENDPOINT", closed)];
    let started = std::time::Instant::now();
    let out = drift_env(&["check", "--config", s(&config), "-r", "s3://lake/ref", "-c", "s3://lake/cur"], &env);
    let (stdout, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    let line = lines[0];
    assert!(line.contains("s3://lake/ref") && line.contains("via [stores.lake]"), "{line}");
    assert!(line.contains("no usable credentials"), "{line}");
    assert!(line.contains("AWS_ACCESS_KEY_ID") && line.contains("access_key_id_env"), "{line}");
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "fails fast: {:?}", started.elapsed());
    assert_eq!(proxy.take(), 0, "nothing unsigned was sent to the bucket: {:?}", proxy.requests());
}

#[test]
fn a_missing_bucket_and_a_missing_prefix_are_one_line_each() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("logs");
    let env = moto.env();
    let out = drift_env(&["check", "-r", "s3://nobucket/training/", "-c", "s3://logs/x/"], &env);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("s3://nobucket/training/") && err.contains("no such bucket \"nobucket\""), "{err}");
    let out = drift_env(&["check", "-r", "s3://logs/training/", "-c", "s3://logs/x/"], &env);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("s3://logs/training/: no such object or prefix"), "{err}");
}

/// A loopback TCP proxy in front of a server that counts the bytes the server sends back.
pub struct CountingProxy {
    /// Its port on 127.0.0.1.
    pub port: u16,
    received: Arc<std::sync::atomic::AtomicU64>,
    /// Everything the clients sent (request lines and headers).
    sent: Arc<std::sync::Mutex<Vec<u8>>>,
}

impl CountingProxy {
    /// Listens on a free port, forwarding to `upstream`.
    pub fn start(upstream: u16) -> CountingProxy {
        use std::sync::atomic::{AtomicU64, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(AtomicU64::new(0));
        let counter = received.clone();
        let sent = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sent_log = sent.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", upstream)) else { continue };
                let (mut c_read, mut s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let log = sent_log.clone();
                std::thread::spawn(move || {
                    use std::io::{Read, Write};
                    let mut buf = [0u8; 64 * 1024];
                    while let Ok(n) = c_read.read(&mut buf) {
                        if n == 0 || s_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        log.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                    let _ = s_write.shutdown(std::net::Shutdown::Write);
                });
                let (mut s_read, mut c_write, counter) = (server, client, counter.clone());
                std::thread::spawn(move || {
                    use std::io::{Read, Write};
                    let mut buf = [0u8; 64 * 1024];
                    while let Ok(n) = s_read.read(&mut buf) {
                        if n == 0 || c_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        counter.fetch_add(n as u64, Ordering::Relaxed);
                    }
                    let _ = c_write.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        CountingProxy { port, received, sent }
    }

    /// The request lines sent so far.
    fn requests(&self) -> Vec<String> {
        let sent = String::from_utf8_lossy(&self.sent.lock().unwrap()).into_owned();
        sent.lines().filter(|l| l.starts_with("GET ") || l.starts_with("HEAD ")).map(str::to_owned).collect()
    }

    /// The bytes received since the last call.
    pub fn take(&self) -> u64 {
        self.received.swap(0, std::sync::atomic::Ordering::Relaxed)
    }
}

/// A 25-column file of `rows` rows of noise (one row group per 10 000 rows).
fn wide(dir: &Path, name: &str, rows: usize, shift: f64) -> PathBuf {
    let mut columns: Vec<(String, ArrayRef)> = Vec::new();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for c in 0..25 {
        let v: Vec<f64> = (0..rows)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 11) as f64 / (1u64 << 53) as f64 + if c < 5 { shift } else { 0.0 }
            })
            .collect();
        columns.push((format!("c{c:02}"), Arc::new(Float64Array::from(v)) as ArrayRef));
    }
    write(dir, name, columns.iter().map(|(n, a)| (n.as_str(), a.clone())).collect())
}

#[test]
fn a_check_of_five_columns_fetches_their_chunks_and_not_the_other_twenty() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("wide");
    let dir = tempfile::tempdir().unwrap();
    let reference = wide(dir.path(), "ref/part-0.parquet", 40_000, 0.0);
    let current = wide(dir.path(), "cur/part-0.parquet", 40_000, 0.2);
    let size = std::fs::metadata(&current).unwrap().len();
    moto.upload_dir("wide", &dir.path().join("cur"), "cur/");
    let proxy = CountingProxy::start(moto.endpoint.rsplit(':').next().unwrap().parse().unwrap());
    let mut env = moto.env();
    env.retain(|(k, _)| *k != "AWS_ENDPOINT");
    env.push(("AWS_ENDPOINT", format!("http://127.0.0.1:{}", proxy.port)));
    let five = ["--columns", "c00,c01,c02,c03,c04"];
    let args = |extra: &[&'static str]| {
        let mut a = vec!["check", "--format", "json", "-r", s(&reference), "-c", "s3://wide/cur/"];
        a.extend_from_slice(extra);
        a.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let run = |a: Vec<String>| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let out = drift_env(&a, &env);
        assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
        text(&out).0
    };
    proxy.take();
    let monitored = run(args(&five));
    let fetched_five = proxy.take();
    let all = run(args(&[]));
    let fetched_all = proxy.take();
    eprintln!("object {size} B: 5 of 25 columns fetched {fetched_five} B, all columns {fetched_all} B");
    // Five columns are a fifth of the file, plus the footer and the HTTP headers.
    assert!(fetched_five < size * 3 / 10, "{fetched_five} of {size} bytes fetched for 5 of 25 columns");
    assert!(fetched_five > size / 10, "{fetched_five}: the five columns must have been read");
    assert!(fetched_all >= size, "{fetched_all}: every column is the whole file");
    // The same answer as reading the file from the disk.
    let local =
        crate::support::drift(&["check", "--format", "json", "-r", s(&reference), "-c", s(&current), five[0], five[1]]);
    assert_eq!(String::from_utf8_lossy(&local.stdout), monitored);
    assert!(all.contains("c24"));
}

/// Installs, in this process, a store for `bucket` on `moto` (each test its own bucket name);
/// returns `url` parsed.
fn install(moto: &Moto, bucket: &str, url: &str) -> drift::source::object::ObjectUrl {
    let mut store = drift::source::object::StoreSettings::from_environment(
        &drift::source::object::parse(&format!("s3://{bucket}")).unwrap().unwrap(),
    );
    store.name = bucket.into();
    store.endpoint = Some(moto.endpoint.clone());
    store.allow_http = true;
    store.region = Some("us-east-1".into());
    for (k, v) in [("access_key_id", "test"), ("secret_access_key", "test")] {
        store.credentials.push((k.into(), drift::source::object::CredentialValue(v.into())));
    }
    drift::source::object::install(vec![store]);
    drift::source::object::parse(url).unwrap().unwrap()
}

#[test]
fn listings_page_past_a_thousand_objects_and_list_after_an_offset() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("many");
    let store = moto.store("many");
    let rt = runtime();
    rt.block_on(async {
        for i in 0..1105 {
            let key = object_store::path::Path::from(format!("p/dt={i:04}/part-0.parquet"));
            store.put(&key, b"x".to_vec().into()).await.unwrap();
        }
    });
    let url = install(&moto, "many", "s3://many/p/");
    let all = drift::source::object::client::list(&url, None).unwrap();
    assert_eq!(all.len(), 1105, "more than one page (S3 answers at most 1000 keys a request)");
    assert!(all.windows(2).all(|w| w[0].url.key < w[1].url.key), "in key order");
    let after = drift::source::object::client::list(&url, Some("p/dt=1099/part-0.parquet")).unwrap();
    let keys: Vec<&str> = after.iter().map(|o| o.url.key.as_str()).collect();
    assert_eq!(keys.len(), 5, "{keys:?}");
    assert_eq!(keys[0], "p/dt=1100/part-0.parquet");
    assert_eq!(drift::source::object::expand(&url).unwrap().len(), 1105);
}

#[test]
fn an_object_replaced_after_its_listing_is_never_read_as_a_mix_of_versions() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("swap");
    let dir = tempfile::tempdir().unwrap();
    let (reference, _) = data(dir.path());
    moto.upload_dir("swap", &reference, "in/");
    let url = install(&moto, "swap", "s3://swap/in/");
    let listed = drift::source::object::expand(&url).unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    let first = drift::source::open_object(&listed[0]).unwrap();
    // Replaced between the footer and the columns, and between the listing and the footer.
    let other = std::fs::read(reference.join("dt=2026-12-02/part-1.parquet")).unwrap();
    let first_bytes = std::fs::read(reference.join("dt=2026-12-01/part-0.parquet")).unwrap();
    moto.put(&moto.store("swap"), &listed[0].url.key, other);
    moto.put(&moto.store("swap"), &listed[1].url.key, first_bytes);
    let ds = drift::source::Dataset::from_files("current", vec![first]).unwrap();
    let e = format!("{:#}", ds.read_column("x", false).unwrap_err());
    assert!(
        e.contains("s3://swap/in/dt=2026-12-01/part-0.parquet: the object was replaced since it was listed"),
        "{e}"
    );
    let e = format!("{:#}", drift::source::open_object(&listed[1]).unwrap_err());
    assert!(
        e.contains("s3://swap/in/dt=2026-12-02/part-1.parquet: the object was replaced since it was listed"),
        "{e}"
    );
}

/// A daemon file with one monitor over `source` (an object URL), its reference local.
fn daemon_setup(dir: &Path, moto: &Moto, source: &str) -> PathBuf {
    let (reference, _) = data(dir);
    let config = dir.join("drift.toml");
    std::fs::write(
        &config,
        format!(
            "state_dir = \"state\"\nlisten = \"127.0.0.1:0\"\npoll_secs = 1\n\n[sinks.log]\ntype = \"log\"\n\n\
             [stores.logs]\nurl = \"s3://logs\"\nendpoint = \"{}\"\nallow_http = true\nregion = \"us-east-1\"\n\
             max_retries = 1\naccess_key_id_env = \"LOGS_KEY\"\nsecret_access_key_env = \"LOGS_SECRET\"\n",
            moto.endpoint
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("model.toml"),
        format!(
            "[source]\npath = \"{source}\"\nquarantine_after_attempts = 2\n\n[reference]\npath = \"{}\"\n\n\
             [window]\nmin_rows = 50\n\n[alerts]\nwarning = [\"log\"]\ncritical = [\"log\"]\n",
            reference.display()
        ),
    )
    .unwrap();
    config
}

fn once_env(config: &Path) -> (i32, String) {
    let env = vec![("LOGS_KEY", "test".to_owned()), ("LOGS_SECRET", "test".to_owned())];
    let out = drift_env(&["run", "--once", "--config", s(config)], &env);
    let (o, e) = text(&out);
    (out.status.code().unwrap(), o + &e)
}

#[test]
fn a_monitor_over_an_s3_prefix_evaluates_each_object_once_across_restarts_and_quarantines_a_damaged_one() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("logs");
    let dir = tempfile::tempdir().unwrap();
    let config = daemon_setup(dir.path(), &moto, "s3://logs/predictions/");
    let out =
        drift_env(&["validate", "--config", s(&config)], &[("LOGS_KEY", "k".into()), ("LOGS_SECRET", "s".into())]);
    assert!(out.status.success(), "{:?}", text(&out));
    let store = moto.store("logs");
    let part = |name: &str, shift: f64| {
        let p = write(
            dir.path(),
            &format!("landing/{name}"),
            vec![(
                "x",
                Arc::new(Float64Array::from((0..300).map(|i| (i % 100) as f64 + shift).collect::<Vec<_>>()))
                    as ArrayRef,
            )],
        );
        std::fs::read(p).unwrap()
    };
    // Nothing yet, then objects land one at a time (settle is 0 for object sources).
    let (code, out) = once_env(&config);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("no new settled files"), "{out}");
    moto.put(&store, "predictions/dt=2026-12-01/part-0.parquet", part("a.parquet", 0.0));
    moto.put(&store, "predictions/_SUCCESS", Vec::new());
    moto.put(&store, "predictions/_temporary/part-9.parquet", b"partial".to_vec());
    let (code, out) = once_env(&config);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("window 1: 1 files, 300 rows"), "{out}");
    let (_, out) = once_env(&config);
    assert!(out.contains("no new settled files (0 waiting"), "evaluated once: {out}");
    moto.put(&store, "predictions/dt=2026-12-02/part-0.parquet", part("b.parquet", 30.0));
    moto.put(&store, "predictions/dt=2026-12-02/part-1.parquet", b"PAR1 damaged, not parquet".to_vec());
    let (_, out) = once_env(&config);
    assert!(out.contains("window 2: 1 files, 300 rows"), "{out}");
    assert!(out.contains("s3://logs/predictions/dt=2026-12-02/part-1.parquet"), "the damaged object is named: {out}");
    let (_, out) = once_env(&config);
    assert!(out.contains("quarantined"), "second failed read quarantines it: {out}");
    let (_, out) = once_env(&config);
    assert!(out.contains("no new settled files (0 waiting"), "{out}");
    // An object rewritten after it was consumed (a new ETag, size and time) is warned about and
    // not read again, like a rewritten file.
    let bigger = write(
        dir.path(),
        "landing/c.parquet",
        vec![("x", Arc::new(Float64Array::from((0..500).map(f64::from).collect::<Vec<_>>())) as ArrayRef)],
    );
    moto.put(&store, "predictions/dt=2026-12-01/part-0.parquet", std::fs::read(bigger).unwrap());
    let (_, out) = once_env(&config);
    assert!(out.contains("replaced after it was consumed"), "{out}");
    assert!(out.contains("no new settled files"), "{out}");
    let h = drift_env(&["history", "--config", s(&config), "--monitor", "model", "--format", "json"], &[]);
    let h: serde_json::Value = serde_json::from_slice(&h.stdout).unwrap();
    assert_eq!(h.as_array().unwrap().len(), 2, "two windows, nothing read twice: {h}");
}

/// `run --once` held at the `listed` pause point for three seconds: `during` runs once the
/// source is listed, before any object is read. Its exit code and log.
fn once_replacing_after_listing(config: &Path, during: impl FnOnce()) -> (i32, String) {
    once_replacing_at(config, "listed", during)
}

/// `run --once` held at pause point `point` for three seconds while `during` runs.
fn once_replacing_at(config: &Path, point: &str, during: impl FnOnce()) -> (i32, String) {
    use std::io::BufRead;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_drift"));
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .args(["run", "--once", "--config", s(config)])
        .envs([
            ("LOGS_KEY", "test"),
            ("LOGS_SECRET", "test"),
            ("RUST_LOG", "info"),
            ("DRIFT_TEST_PAUSE_AT", &format!("{point}:3000")),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = String::new();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines().map_while(Result::ok);
    for line in lines.by_ref() {
        log.push_str(&line);
        log.push('\n');
        if line.contains("test pause point reached") {
            break;
        }
    }
    during();
    for line in lines {
        log.push_str(&line);
        log.push('\n');
    }
    (child.wait().unwrap().code().unwrap(), log)
}

/// One version of the object the replacement tests swap: `rows` rows of `x` (as the
/// reference's) and, when `timed`, an event time `t` within the epoch's hour 10; its bytes.
fn object_version(dir: &Path, rows: usize, timed: bool) -> Vec<u8> {
    let x = Float64Array::from((0..rows).map(|i| (i % 100) as f64).collect::<Vec<_>>());
    let mut columns = vec![("x", Arc::new(x) as ArrayRef)];
    if timed {
        let t: Vec<i64> = (0..rows as i64).map(|i| 36_000_000 + i * 1_000).collect();
        columns.push(("t", Arc::new(arrow_array::TimestampMillisecondArray::from(t)) as ArrayRef));
    }
    std::fs::read(write(dir, &format!("landing/{rows}.parquet"), columns)).unwrap()
}

/// `drift quarantine list` runs and does not list the replaced object (`what` names the case).
fn assert_not_quarantined(config: &Path, what: &str) {
    let q = drift_env(&["quarantine", "list", "--config", s(config)], &[]);
    let (listed, err) = text(&q);
    assert!(q.status.success(), "{err}");
    assert!(!listed.contains("part-0"), "{what}: {listed}");
}

/// An object replaced between its listing and its read (the read, pinned to the listed ETag,
/// answers 412) is not a failed read: nothing is counted against it, and the next listing
/// sees its new version, which is evaluated once. Replaced in two cycles in a row, with
/// `quarantine_after_attempts = 2`, it is still not quarantined.
#[test]
fn an_object_replaced_between_listing_and_reading_is_read_at_its_new_version_not_counted() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("logs");
    let dir = tempfile::tempdir().unwrap();
    let config = daemon_setup(dir.path(), &moto, "s3://logs/predictions/");
    let store = moto.store("logs");
    let version = |rows: usize| object_version(dir.path(), rows, false);
    let key = "predictions/dt=2026-12-01/part-0.parquet";
    let (code, out) = once_env(&config);
    assert!(code == 0 && out.contains("no new settled files"), "{out}");
    moto.put(&store, key, version(300));
    for rows in [400, 450] {
        let (code, log) = once_replacing_after_listing(&config, || moto.put(&store, key, version(rows)));
        assert_eq!(code, 0, "{rows}: {log}");
        assert!(log.contains("object replaced between its listing and its read"), "{log}");
        assert!(!log.contains("cannot read file yet") && !log.contains("quarantined"), "not a failed read: {log}");
        assert!(!log.contains("window 1:"), "nothing evaluated yet: {log}");
        // Listed at its new size, it settles like a rewritten file not consumed yet.
        let (code, out) = once_env(&config);
        assert!(code == 0 && out.contains("no new settled files (1 waiting to settle)"), "{out}");
    }
    let (code, out) = once_env(&config);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("window 1: 1 files, 450 rows"), "the last version, whole: {out}");
    let (_, out) = once_env(&config);
    assert!(out.contains("no new settled files (0 waiting"), "evaluated once: {out}");
    assert_not_quarantined(&config, "");
}

/// Replaced after its footer was read (the `fetched` pause point), before its columns are:
/// the column reads answer 412, which is not a failed read either.
#[test]
fn an_object_replaced_between_its_footer_and_its_columns_is_not_counted() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("logs");
    let dir = tempfile::tempdir().unwrap();
    let config = daemon_setup(dir.path(), &moto, "s3://logs/predictions/");
    let store = moto.store("logs");
    let version = |rows: usize| object_version(dir.path(), rows, false);
    let key = "predictions/dt=2026-12-01/part-0.parquet";
    let (code, out) = once_env(&config);
    assert!(code == 0 && out.contains("no new settled files"), "{out}");
    moto.put(&store, key, version(300));
    let (code, log) = once_replacing_at(&config, "fetched", || moto.put(&store, key, version(400)));
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("object replaced between its listing and its read"), "{log}");
    assert!(!log.contains("cannot read file yet") && !log.contains("quarantined"), "not a failed read: {log}");
    let (_, out) = once_env(&config);
    assert!(out.contains("no new settled files (1 waiting to settle)"), "{out}");
    let (_, out) = once_env(&config);
    assert!(out.contains("window 1: 1 files, 400 rows"), "the new version, whole: {out}");
}

/// Rows and time windows profile each object on its own after its footer was read (the
/// `fetched` pause point): an object replaced there answers 412 to its column reads, which is
/// not a failed read either. With `quarantine_after_attempts = 1` a counted attempt would
/// quarantine it; its new version's rows are evaluated once.
#[test]
fn an_object_replaced_before_a_rows_or_time_window_profiles_it_is_not_counted() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("logs");
    let store = moto.store("logs");
    let windows = [
        ("rows", "type = \"rows\"\nrows = 400\n"),
        (
            "time",
            "type = \"time\"\nsize_secs = 3600\nallowed_lateness_secs = 0\nidle_timeout_secs = 0\n\
             timestamp_column = \"t\"\n",
        ),
    ];
    for (kind, window) in windows {
        let dir = tempfile::tempdir().unwrap();
        let config = daemon_setup(dir.path(), &moto, &format!("s3://logs/{kind}/"));
        let model = dir.path().join("model.toml");
        let toml = std::fs::read_to_string(&model)
            .unwrap()
            .replace("quarantine_after_attempts = 2", "quarantine_after_attempts = 1")
            .replace("[window]\n", &format!("[window]\n{window}"));
        std::fs::write(&model, toml).unwrap();
        let version = |rows: usize| object_version(dir.path(), rows, true);
        let key = format!("{kind}/dt=2026-12-01/part-0.parquet");
        moto.put(&store, &key, version(300));
        let (code, log) = once_replacing_at(&config, "fetched", || moto.put(&store, &key, version(400)));
        assert_eq!(code, 0, "{kind}: {log}");
        assert!(
            !log.contains("cannot read file yet") && !log.contains("quarantined"),
            "{kind}: not a failed read: {log}"
        );
        assert!(log.contains("object replaced between its listing and its read"), "{kind}: {log}");
        assert!(!log.contains("window 1:"), "{kind}: nothing evaluated yet: {log}");
        let (_, out) = once_env(&config);
        assert!(out.contains("no new settled files (1 waiting to settle)"), "{kind}: {out}");
        let (code, out) = once_env(&config);
        assert_eq!(code, 0, "{kind}: {out}");
        assert!(out.contains("window 1: 1 files, 400 rows"), "{kind}: the new version, whole: {out}");
        let (_, out) = once_env(&config);
        assert!(out.contains("no new settled files (0 waiting"), "{kind}: evaluated once: {out}");
        let h = drift_env(&["history", "--config", s(&config), "--monitor", "model", "--format", "json"], &[]);
        let h: serde_json::Value = serde_json::from_slice(&h.stdout).unwrap();
        let rows: Vec<&serde_json::Value> = h.as_array().unwrap().iter().map(|w| &w["rows"]).collect();
        assert_eq!(rows, [&serde_json::json!(400)], "{kind}: one window of the new version's rows: {h}");
        assert_not_quarantined(&config, kind);
    }
}

/// Azurite's well-known development account and key (public, in Azure's docs).
const AZ_ACCOUNT: &str = "devstoreaccount1";
const AZ_KEY: &str = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// An Azurite blob server on 127.0.0.1 (telemetry off, data in a temporary directory), killed
/// when dropped.
struct Azurite {
    child: Child,
    port: u16,
    _data: tempfile::TempDir,
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Azurite {
    fn start() -> Option<Azurite> {
        let exe = std::env::var_os("DRIFT_AZURITE_BLOB").map(PathBuf::from);
        let Some(exe) = exe.filter(|p| p.exists()) else {
            let why = "azurite-blob not found: set DRIFT_AZURITE_BLOB (.ci/run installs it into the tool cache)";
            assert!(std::env::var_os("CI").is_none(), "{why}");
            eprintln!("skipped: {why}");
            return None;
        };
        let data = tempfile::tempdir().unwrap();
        let port = unused_port();
        let child = Command::new(exe)
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string(), "--location", s(data.path())])
            .args(["--skipApiVersionCheck", "--disableTelemetry", "--silent"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("azurite-blob starts");
        let a = Azurite { child, port, _data: data };
        wait_for(30, || std::net::TcpStream::connect(("127.0.0.1", port)).ok().map(|_| ())).expect("azurite answers");
        Some(a)
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/{AZ_ACCOUNT}", self.port)
    }

    /// Creates a container: a SharedKey-signed PUT, signed by node's crypto (Azurite runs on
    /// node, so node is there).
    fn container(&self, name: &str) {
        let script = r#"
const crypto = require('crypto'); const http = require('http');
const [port, account, key, container] = process.argv.slice(1);
const date = new Date().toUTCString(); const version = '2021-08-06';
const resource = `/${account}/${account}/${container}\nrestype:container`;
const toSign = `PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:${date}\nx-ms-version:${version}\n${resource}`;
const sig = crypto.createHmac('sha256', Buffer.from(key, 'base64')).update(toSign, 'utf8').digest('base64');
const req = http.request({host: '127.0.0.1', port, method: 'PUT', path: `/${account}/${container}?restype=container`,
  headers: {'x-ms-date': date, 'x-ms-version': version, 'Content-Length': 0, Authorization: `SharedKey ${account}:${sig}`}},
  res => { process.exitCode = res.statusCode === 201 ? 0 : 1; res.on('data', d => process.stderr.write(d)); });
req.end();
"#;
        let out = Command::new("node")
            .args(["-e", script, &self.port.to_string(), AZ_ACCOUNT, AZ_KEY, name])
            .output()
            .expect("node runs");
        assert!(out.status.success(), "create container: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn store(&self, container: &str) -> Arc<dyn ObjectStore> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Arc::new(
            object_store::azure::MicrosoftAzureBuilder::new()
                .with_account(AZ_ACCOUNT)
                .with_access_key(AZ_KEY)
                .with_container_name(container)
                .with_endpoint(self.endpoint())
                .with_allow_http(true)
                .build()
                .unwrap(),
        )
    }

    fn upload_dir(&self, container: &str, dir: &Path, prefix: &str) {
        upload(&self.store(container), dir, prefix);
    }
}

#[test]
fn azure_a_check_and_a_monitor_cycle_against_azurite() {
    let Some(az) = Azurite::start() else { return };
    az.container("models");
    let dir = tempfile::tempdir().unwrap();
    let (reference, current) = data(dir.path());
    az.upload_dir("models", &reference, "training/");
    az.upload_dir("models", &current, "predictions/");
    let config = dir.path().join("drift.toml");
    std::fs::write(
        &config,
        format!(
            "state_dir = \"state\"\nlisten = \"127.0.0.1:0\"\n\n[sinks.log]\ntype = \"log\"\n\n[stores.models]\n\
             url = \"az://models\"\naccount = \"{AZ_ACCOUNT}\"\nendpoint = \"{}\"\nallow_http = true\nmax_retries = 1\n\
             access_key_env = \"MODELS_KEY\"\n",
            az.endpoint()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("model.toml"),
        "[source]\npath = \"az://models/predictions/\"\n\n[reference]\npath = \"az://models/training/\"\n\n\
         [window]\nmin_rows = 50\n\n[alerts]\nwarning = [\"log\"]\ncritical = [\"log\"]\n",
    )
    .unwrap();
    let env = vec![("MODELS_KEY", AZ_KEY.to_owned())];
    let local = drift_env(&["check", "--format", "json", "-r", s(&reference), "-c", s(&current)], &[]);
    let remote = drift_env(
        &[
            "check",
            "--format",
            "json",
            "--config",
            s(&config),
            "-r",
            "az://models/training",
            "-c",
            "az://models/predictions/",
        ],
        &env,
    );
    assert_eq!(text(&local).0, text(&remote).0, "{:?}", text(&remote).1);
    let once = |env: &[(&str, String)]| {
        let out = drift_env(&["run", "--once", "--config", s(&config)], env);
        let (o, e) = text(&out);
        (out.status.code(), o + &e)
    };
    let (code, out) = once(&env);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("window 1: 2 files, 800 rows"), "{out}");
    let (_, out) = once(&env);
    assert!(out.contains("no new settled files (0 waiting"), "each blob once: {out}");
    // A wrong key: one line naming the store, the key never printed.
    let wrong = vec![("MODELS_KEY", "d3Jvbmcga2V5IGZvciB0aGUgdGVzdA==".to_owned())];
    let out = drift_env(
        &["check", "--config", s(&config), "-r", "az://models/training", "-c", "az://models/predictions/"],
        &wrong,
    );
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("az://models/training") && err.contains("[stores.models]"), "{err}");
    assert!(!err.contains("d3Jvbmcga2V5") && !err.contains(AZ_KEY), "{err}");
    assert!(err.contains("access denied (403): the credentials were refused or lack"), "{err}");
}

#[test]
fn an_offset_listing_starts_after_the_consumed_keys_and_a_full_one_finds_an_object_landed_out_of_order() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("logs");
    let dir = tempfile::tempdir().unwrap();
    let config = daemon_setup(dir.path(), &moto, "s3://logs/predictions/");
    let proxy = CountingProxy::start(moto.endpoint.rsplit(':').next().unwrap().parse().unwrap());
    let text =
        std::fs::read_to_string(&config).unwrap().replace(&moto.endpoint, &format!("http://127.0.0.1:{}", proxy.port));
    std::fs::write(&config, text).unwrap();
    let monitor = dir.path().join("model.toml");
    let text = std::fs::read_to_string(&monitor).unwrap().replace(
        "quarantine_after_attempts = 2\n",
        "quarantine_after_attempts = 2\nlisting = \"after_offset\"\nfull_listing_secs = 6\n",
    );
    std::fs::write(&monitor, text).unwrap();
    let store = moto.store("logs");
    let part = |name: &str| {
        let p = write(
            dir.path(),
            &format!("landing/{name}"),
            vec![(
                "x",
                Arc::new(Float64Array::from((0..300).map(|i| f64::from(i % 100)).collect::<Vec<_>>())) as ArrayRef,
            )],
        );
        std::fs::read(p).unwrap()
    };
    moto.put(&store, "predictions/dt=01/part-0.parquet", part("a.parquet"));
    moto.put(&store, "predictions/dt=03/part-0.parquet", part("c.parquet"));
    let env = [("LOGS_KEY", "test"), ("LOGS_SECRET", "test")];
    let d = crate::support::Daemon::start(&config, &env);
    d.wait_log(30, &["files window closed", "\"files\":2"]).unwrap_or_else(|| panic!("{}", d.log()));
    // The next listings start after dt=03 (the last key consumed in order).
    let offset = "start-after=predictions%2Fdt%3D03%2Fpart-0.parquet";
    wait_for(15, || proxy.requests().iter().any(|r| r.contains(offset)).then_some(()))
        .unwrap_or_else(|| panic!("no offset listing: {:?}", proxy.requests()));
    // dt=02 lands out of order (before the offset), dt=04 after it: the offset listing finds
    // dt=04 at once, the full listing (every 6 s) finds dt=02.
    moto.put(&store, "predictions/dt=02/part-0.parquet", part("b.parquet"));
    moto.put(&store, "predictions/dt=04/part-0.parquet", part("d.parquet"));
    let files = || {
        let h = drift_env(&["history", "--config", s(&config), "--monitor", "model", "--format", "json"], &[]);
        let h: serde_json::Value = serde_json::from_slice(&h.stdout).ok()?;
        Some(h.as_array()?.iter().map(|w| w["files"].as_u64().unwrap_or(0)).sum::<u64>())
    };
    wait_for(40, || (files() == Some(4)).then_some(()))
        .unwrap_or_else(|| panic!("every object once, none skipped: {:?} files\n{}", files(), d.log()));
    std::thread::sleep(std::time::Duration::from_secs(2));
    drop(d);
    assert_eq!(files(), Some(4), "nothing read twice");
    let lists = proxy.requests().into_iter().filter(|r| r.contains("list-type=2")).collect::<Vec<_>>();
    assert!(lists.iter().filter(|r| r.contains("start-after=")).count() >= 2, "{lists:?}");
    assert!(
        lists.iter().filter(|r| !r.contains("start-after=")).count() >= 2,
        "first and periodic full listings: {lists:?}"
    );
}

#[test]
fn a_store_that_stops_answering_is_retried_then_the_failing_alert_never_a_crash() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("logs");
    let dir = tempfile::tempdir().unwrap();
    let config = daemon_setup(dir.path(), &moto, "s3://logs/predictions/");
    moto.put(
        &moto.store("logs"),
        "predictions/dt=01/part-0.parquet",
        std::fs::read(data(dir.path()).1.join("dt=2026-12-01/part-0.parquet")).unwrap(),
    );
    let (code, out) = once_env(&config);
    assert_eq!(code, 0, "{out}");
    drop(moto);
    let mut last = String::new();
    for _ in 0..3 {
        let (code, out) = once_env(&config);
        assert!(code == 0 || code == 1, "a failed cycle is an exit code, never a crash: {code}: {out}");
        assert!(out.contains("s3://logs/predictions/") && out.contains("LIST via [stores.logs]"), "{out}");
        last = out;
    }
    assert!(last.contains("DriftMonitorFailing"), "{last}");
}

/// A store that answers every request with 503 is asked again (`max_retries = 1` in the
/// store: two requests) before the cycle fails with one line naming the listing.
#[test]
fn a_store_answering_503_is_asked_again_before_the_cycle_fails() {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let Some(moto) = Moto::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = daemon_setup(dir.path(), &moto, "s3://logs/predictions/");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut buf = [0u8; 8192];
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            counted.fetch_add(1, Ordering::SeqCst);
            let body = "<Error><Code>SlowDown</Code><Message>busy</Message></Error>";
            let _ = write!(
                conn,
                "HTTP/1.1 503 Service Unavailable\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace(&moto.endpoint, &format!("http://127.0.0.1:{port}"))).unwrap();
    let (code, out) = once_env(&config);
    assert_eq!(code, 1, "a failed cycle: {out}");
    assert!(out.contains("s3://logs/predictions/") && out.contains("LIST via [stores.logs]"), "{out}");
    assert_eq!(requests.load(Ordering::SeqCst), 2, "one request and one retry: {out}");
}
