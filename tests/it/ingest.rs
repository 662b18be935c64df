//! The input side of the fault suite (issue #10): no file, file name or reader panic stalls, blinds
//! or kills a monitor. A file whose pages are damaged behind a valid footer is counted against
//! itself and quarantined while its neighbours are evaluated; a name that is not UTF-8, a
//! symlink loop or an unreadable directory is one warning, not a failed listing; quarantined
//! files are visible (log, metric, `DriftFilesQuarantined`) and `drift quarantine release`
//! makes them read again.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arrow_array::{ArrayRef, Float64Array, StringArray};
use drift::synth::Rng;
use tempfile::TempDir;

use crate::support::{drift, s, write};

/// A reference, an `incoming` directory and a daemon file with one monitor `model`.
pub struct Setup {
    pub dir: TempDir,
    pub incoming: PathBuf,
    pub config: PathBuf,
}

pub fn batch(n: usize, seed: u64, shift: f64) -> Vec<(&'static str, ArrayRef)> {
    let mut r = Rng::new(seed);
    let x: Vec<f64> = (0..n).map(|_| r.normal() + shift).collect();
    let k: Vec<&str> = (0..n).map(|_| ["a", "b", "c"][r.choose(&[5.0, 3.0, 2.0])]).collect();
    vec![("x", Arc::new(Float64Array::from(x)) as ArrayRef), ("k", Arc::new(StringArray::from(k)))]
}

/// `source` is extra `[source]` lines, `window` extra `[window]` lines.
pub fn setup(source: &str, window: &str) -> Setup {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    write(root, "reference.parquet", batch(3000, 1, 0.0));
    let incoming = root.join("incoming");
    std::fs::create_dir(&incoming).unwrap();
    let config = root.join("drift.toml");
    std::fs::write(
        &config,
        "state_dir = \"state\"\nlisten = \"127.0.0.1:0\"\npoll_secs = 1\nmonitors_dir = \"monitors\"\n\n\
         [sinks.audit]\ntype = \"file\"\npath = \"alerts.jsonl\"\n",
    )
    .unwrap();
    std::fs::create_dir(root.join("monitors")).unwrap();
    std::fs::write(
        root.join("monitors/model.toml"),
        format!(
            "[source]\npath = \"../incoming\"\nsettle_secs = 0\n{source}\n[reference]\npath = \"../reference.parquet\"\n\n\
             [window]\nmin_rows = 50\n{window}\n[alerts]\nwarning = [\"audit\"]\ncritical = [\"audit\"]\noperational = [\"audit\"]\n"
        ),
    )
    .unwrap();
    Setup { dir, incoming, config }
}

/// A good file in `incoming`, settled (its mtime a minute ago).
pub fn land(st: &Setup, name: &str, seed: u64) -> PathBuf {
    let p = write(&st.incoming, name, batch(300, seed, 0.0));
    age(&p);
    p
}

pub fn age(p: &Path) {
    let f = std::fs::File::options().write(true).open(p).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(60)).unwrap();
}

/// A snappy file whose footer is valid but whose first data page is damaged: bytes 4..40 flipped.
pub fn damaged_page(st: &Setup, name: &str) -> PathBuf {
    let p = land(st, name, 99);
    let mut bytes = std::fs::read(&p).unwrap();
    for b in &mut bytes[4..40] {
        *b = !*b;
    }
    std::fs::write(&p, bytes).unwrap();
    age(&p);
    p
}

/// `drift run --once`: exit code, stdout and stderr together.
pub fn once(st: &Setup) -> (i32, String) {
    let out = drift(&["run", "--once", "--config", s(&st.config)]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// `drift history --format json` of `model`.
pub fn history(st: &Setup) -> serde_json::Value {
    let out =
        drift(&["history", "--config", s(&st.config), "--monitor", "model", "--format", "json", "--limit", "100"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Rows of every window, oldest first.
fn window_rows(st: &Setup) -> Vec<u64> {
    let mut rows: Vec<u64> = history(st).as_array().unwrap().iter().map(|w| w["rows"].as_u64().unwrap()).collect();
    rows.reverse();
    rows
}

/// Scenario 1 of the issue, for each kind of window: a damaged page between two good files.
/// The good files are evaluated at once; the damaged one is retried, then quarantined with a
/// log line naming it and why, and the monitor never fails a cycle.
#[test]
fn a_file_with_a_damaged_page_is_quarantined_while_its_neighbours_are_evaluated() {
    for (window, first) in [("", vec![600]), ("type = \"rows\"\nrows = 600\n", vec![600])] {
        let st = setup("", window);
        land(&st, "a.parquet", 2);
        damaged_page(&st, "b.parquet");
        land(&st, "c.parquet", 3);
        let (code, out) = once(&st);
        assert_eq!(code, 0, "{window:?}: {out}");
        assert!(!out.contains("monitor cycle failed"), "{window:?}: {out}");
        assert!(out.contains("cannot read file yet; will retry") && out.contains("b.parquet"), "{out}");
        assert_eq!(window_rows(&st), first, "{window:?}: a and c evaluated without b: {out}");
        once(&st);
        let (code, out) = once(&st);
        assert_eq!(code, 0, "{out}");
        let line = out
            .lines()
            .find(|l| l.contains("file quarantined after 3 failed reads"))
            .unwrap_or_else(|| panic!("{out}"));
        assert!(line.contains("b.parquet") && line.contains("corrupt data"), "names the file and why: {line}");
        assert!(
            out.contains("model: 1 file(s) quarantined after failed reads (see `drift quarantine list`)\n"),
            "{out}"
        );
        let (_, out) = once(&st);
        assert!(!out.contains("b.parquet"), "quarantined: not read again: {out}");
        let state = drift::state::State::open(&st.dir.path().join("state")).unwrap();
        let q = state.quarantined("model").unwrap();
        assert_eq!(q.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(), ["b.parquet"], "{window:?}");
    }
}

/// Whether this process runs as root (whom no file permission stops): the owner of a new file.
pub fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    let f = tempfile::NamedTempFile::new().unwrap();
    f.as_file().metadata().unwrap().uid() == 0
}

/// A directory that cannot be read: `chmod 000` as a user; as root (CI), the listing's test
/// hook denies it instead. The variables to start the daemon with.
pub fn unreadable_dir(dir: &Path) -> Vec<(&'static str, String)> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    write(dir, "hidden-by-permissions.parquet", batch(300, 7, 0.0));
    if running_as_root() {
        vec![("DRIFT_TEST_DENY", dir.file_name().unwrap().to_str().unwrap().to_owned())]
    } else {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o000)).unwrap();
        Vec::new()
    }
}

/// Scenario 2 of the issue: a name that is not UTF-8, a symlink to an ancestor directory and a
/// directory that cannot be read sit next to good files. The good files are evaluated; each bad
/// entry is one warning (once per process, not once per cycle) and one count in
/// `drift_source_entries_skipped_total`; with `follow_symlinks` the loop is skipped as a loop.
#[test]
fn entries_that_cannot_be_listed_are_skipped_with_one_warning_each() {
    use std::os::unix::ffi::OsStrExt;
    for (follow, link_reason) in [(false, "symlink"), (true, "loop")] {
        let st = setup(&format!("follow_symlinks = {follow}\n"), "");
        land(&st, "a.parquet", 2);
        land(&st, "c.parquet", 3);
        let bad = st.incoming.join(std::ffi::OsStr::from_bytes(b"bad\xff.parquet"));
        std::fs::copy(st.incoming.join("a.parquet"), &bad).unwrap();
        std::fs::create_dir(st.incoming.join("deep")).unwrap();
        std::os::unix::fs::symlink("..", st.incoming.join("deep/loop")).unwrap();
        let env = unreadable_dir(&st.incoming.join("locked"));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let d = crate::support::Daemon::start(&st.config, &env);
        let port = d.port();
        let closed = d.wait_log(30, &["files window closed", "\"rows\":600"]);
        assert!(closed.is_some(), "follow {follow}: a and c evaluated: {}", d.log());
        // Two more cycles: the warnings are not repeated.
        let cycles = |log: &str| log.matches("\"target\":\"drift::daemon::cycle\"").count();
        let metrics = crate::support::wait_for(30, || {
            let m = crate::support::http_get(port, "/metrics")?.1;
            (m.contains("drift_runs_total{monitor=\"model\"} 3")).then_some(m)
        })
        .unwrap_or_else(|| panic!("three cycles: {}", d.log()));
        let log = d.log();
        let warnings: Vec<&str> = log.lines().filter(|l| l.contains("source entry skipped")).collect();
        assert_eq!(warnings.len(), 3, "follow {follow}: one per entry: {warnings:#?} ({})", cycles(&log));
        for (entry, reason) in
            [("bad\u{fffd}.parquet", "invalid_name"), ("deep/loop", link_reason), ("locked", "unreadable")]
        {
            assert!(
                warnings.iter().any(|w| w.contains(entry) && w.contains(&format!("\"reason\":\"{reason}\""))),
                "follow {follow}: {entry} {reason}: {warnings:#?}"
            );
            let series = format!("drift_source_entries_skipped_total{{monitor=\"model\",reason=\"{reason}\"}} 1");
            assert!(metrics.contains(&series), "{series}: {metrics}");
        }
        assert!(!log.contains("monitor cycle failed"), "{log}");
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(st.incoming.join("locked"), std::fs::Permissions::from_mode(0o755));
    }
}

/// The source directory itself unreadable: the cycle fails with one line that says so once
/// (the listing error used to repeat itself: `A: A: A`).
#[test]
fn an_unreadable_source_directory_fails_the_cycle_with_one_plain_line() {
    use std::os::unix::fs::PermissionsExt;
    let st = setup("", "");
    let env = unreadable_dir(&st.incoming);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_drift"))
        .args(["run", "--once", "--config", s(&st.config)])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let _ = std::fs::set_permissions(&st.incoming, std::fs::Permissions::from_mode(0o755));
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let line = text.lines().find(|l| l.starts_with("drift: ")).unwrap_or_else(|| panic!("{text}"));
    assert_eq!(line.matches("cannot list").count(), 1, "{line}");
    assert!(line.contains("incoming: cannot list: ") && line.to_lowercase().contains("permission denied"), "{line}");
}

/// The notifications the file sink received: (alertname, status, detail).
fn audit(st: &Setup) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(st.dir.path().join("alerts.jsonl")).unwrap_or_default();
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let detail = v["drift"]["detail"].as_str().unwrap_or_default().to_owned();
            (
                v["commonLabels"]["alertname"].as_str().unwrap().to_owned(),
                v["status"].as_str().unwrap().to_owned(),
                detail,
            )
        })
        .collect()
}

/// A quarantined file is visible (its log line, `drift_files_total{outcome="quarantined"}`,
/// the `drift_files_quarantined` gauge, `DriftFilesQuarantined` with the file in its detail,
/// `drift quarantine list`), and `drift quarantine release` has it read again once fixed, which
/// resolves the alert.
#[test]
fn a_quarantined_file_alerts_is_listed_and_released_to_be_read_again() {
    let st = setup("quarantine_after_attempts = 1\n", "");
    land(&st, "a.parquet", 2);
    let b = damaged_page(&st, "b.parquet");
    let d = crate::support::Daemon::start(&st.config, &[]);
    let port = d.port();
    let line = d.wait_log(30, &["file quarantined after 1 failed reads", "b.parquet"]);
    assert!(line.is_some_and(|l| l.contains("corrupt data")), "{}", d.log());
    let metrics = crate::support::wait_for(30, || {
        let m = crate::support::http_get(port, "/metrics")?.1;
        m.contains("drift_files_quarantined{monitor=\"model\"} 1").then_some(m)
    })
    .unwrap_or_else(|| panic!("{}", d.log()));
    assert!(metrics.contains("drift_files_total{monitor=\"model\",outcome=\"quarantined\"} 1"), "{metrics}");
    let firing = crate::support::wait_for(30, || {
        audit(&st).into_iter().find(|(name, status, _)| name == "DriftFilesQuarantined" && status == "firing")
    })
    .unwrap_or_else(|| panic!("no DriftFilesQuarantined: {:?}", audit(&st)));
    assert!(firing.2.starts_with("1 quarantined file(s) not evaluated, newest first: b.parquet; "), "{}", firing.2);
    assert!(
        firing.2.contains("corrupt data") && firing.2.contains("drift quarantine release --monitor model"),
        "{}",
        firing.2
    );

    let out = drift(&["quarantine", "list", "--config", s(&st.config)]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(text.starts_with("model  b.parquet  since ") && text.contains("after 1 failed read(s): "), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
    let out = drift(&["quarantine", "release", "--config", s(&st.config), "--monitor", "model", "nope.parquet"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("[\"nope.parquet\"]: not quarantined in monitor model"), "{err}");

    // Fixed: a good file in its place, released; the next cycle evaluates it.
    std::fs::remove_file(&b).unwrap();
    land(&st, "b.parquet", 4);
    let out = drift(&["quarantine", "release", "--config", s(&st.config), "--monitor", "model", "b.parquet"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "released 1 file(s) of monitor model; its next cycle reads them again: b.parquet\n"
    );
    let read = d.wait_log(30, &["files window closed", "\"files\":1", "\"rows\":300", "\"window\":2"]);
    assert!(read.is_some(), "b read again: {}", d.log());
    let resolved = crate::support::wait_for(30, || {
        audit(&st).into_iter().find(|(name, status, _)| name == "DriftFilesQuarantined" && status == "resolved")
    });
    assert!(resolved.is_some(), "{:?}", audit(&st));
    let gauge = crate::support::wait_for(30, || {
        let m = crate::support::http_get(port, "/metrics")?.1;
        m.contains("drift_files_quarantined{monitor=\"model\"} 0").then_some(())
    });
    assert!(gauge.is_some());
    let out = drift(&["quarantine", "list", "--config", s(&st.config), "--monitor", "model"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no quarantined files\n");
}

/// `DriftFilesQuarantined` names at most the newest ten quarantined files, in the order of
/// `drift quarantine list` (newest first; files quarantined in the same cycle by name), and
/// says how many more there are.
#[test]
fn the_quarantine_alert_names_the_newest_ten_files_and_counts_the_rest() {
    let st = setup("quarantine_after_attempts = 1\n", "");
    let names: Vec<String> = (0..12).map(|i| format!("bad{i:02}.parquet")).collect();
    for name in &names {
        damaged_page(&st, name);
    }
    let (code, out) = once(&st);
    assert_eq!(code, 0, "{out}");
    let firing: Vec<String> = audit(&st)
        .into_iter()
        .filter(|(name, status, _)| name == "DriftFilesQuarantined" && status == "firing")
        .map(|(_, _, detail)| detail)
        .collect();
    assert_eq!(firing.len(), 1, "one alert for the monitor: {:?}", audit(&st));
    let listed = drift(&["quarantine", "list", "--config", s(&st.config), "--monitor", "model"]);
    let listed: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(|l| l.split("  ").nth(1).unwrap_or_default().to_owned())
        .collect();
    assert_eq!(listed, names, "newest first, then by name");
    let want = format!(
        "12 quarantined file(s) not evaluated, newest first: {} and 2 more; the newest failed with: ",
        listed[..10].join(", ")
    );
    assert!(firing[0].starts_with(&want), "{}\nwant: {want}", firing[0]);
    assert!(!firing[0].contains("bad10") && !firing[0].contains("bad11"), "{}", firing[0]);
}

/// A damaged file the Parquet reader spends a long time on before it fails (a fuzz finding,
/// `fuzz/regressions/parquet_ingest/slow-text-column.parquet`: its `text` column takes 40 to
/// 50 s in a debug build) between two good files. Under `[source] read_timeout_secs = 1` each
/// attempt at it ends at the deadline: the good files are evaluated in the first cycle, the slow
/// one is that file's failed attempt (named, with the key to raise) and is quarantined after
/// `quarantine_after_attempts`, and no cycle takes long. (A files window: it reads every
/// column, so the reader reaches `text` after the other columns' quick errors; a rows window's
/// profile stops at the first column's error before it.)
#[test]
fn a_file_the_reader_is_slow_on_is_cut_at_the_read_deadline_and_quarantined() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let good = repo.join("tests/data/foreign/reference_snappy.parquet");
    let slow = repo.join("fuzz/regressions/parquet_ingest/slow-text-column.parquet");
    {
        let window = "";
        let st = setup("read_timeout_secs = 1\nquarantine_after_attempts = 2\n", window);
        std::fs::copy(&good, st.dir.path().join("reference.parquet")).unwrap();
        for (name, from) in [("a.parquet", &good), ("b.parquet", &slow), ("c.parquet", &good)] {
            std::fs::copy(from, st.incoming.join(name)).unwrap();
            age(&st.incoming.join(name));
        }
        let started = std::time::Instant::now();
        let (code, out) = once(&st);
        let first = started.elapsed();
        assert_eq!(code, 0, "{window:?}: {out}");
        assert!(!out.contains("monitor cycle failed"), "{window:?}: {out}");
        assert_eq!(window_rows(&st), [10_000], "{window:?}: a and c evaluated without b: {out}");
        let line =
            out.lines().find(|l| l.contains("cannot read file yet; will retry")).unwrap_or_else(|| panic!("{out}"));
        assert!(line.contains("b.parquet") && line.contains("read_timeout_secs (1 s)"), "{window:?}: {line}");
        let (code, out) = once(&st);
        let both = started.elapsed();
        assert_eq!(code, 0, "{window:?}: {out}");
        let line = out
            .lines()
            .find(|l| l.contains("file quarantined after 2 failed reads"))
            .unwrap_or_else(|| panic!("{out}"));
        assert!(line.contains("b.parquet") && line.contains("read_timeout_secs"), "{window:?}: {line}");
        // Without the deadline the first run alone takes the reader's 40 s and more.
        assert!(first < Duration::from_secs(15) && both < Duration::from_secs(25), "{window:?}: {first:?}, {both:?}");
    }
}
