//! Snapshots of what the `drift` binary prints, so that a change to the CLI or to a renderer
//! shows up as a diff of a committed file (`tests/data/snapshots/`):
//!
//! - `check.txt`, `check.json`, `check.md`: `drift check` on the shipped demo pair
//!   (`examples/data/`) as a table (stdout is a pipe: no colour), JSON and Markdown;
//! - `reference-show.txt`, `reference-show.json`: `drift reference show` of a snapshot of the
//!   demo reference built with a fixed `--created-at`, its `request_id` left out as the demo
//!   monitor leaves it out (an id is no feature: 20 000 categories); `reference-show-sketch.txt`: the same
//!   with every numeric column sketched and categories pooled;
//! - `run-once.txt`, `history.txt`, `history.json`, `alert-list.txt`, `webhook.jsonl`: a copy of
//!   the demo monitor (the shipped `monitors/demo.toml`'s settings) after one `drift run --once`:
//!   what it printed, `drift history` as text and JSON, `drift alert list`, and the line the
//!   `file` sink appended (the body a `webhook` sink would POST);
//! - `validate.txt`, `silence.txt`: `drift validate`, and `drift silence add`, `list`, `expire`,
//!   `list --all` on that monitor;
//! - `help.txt`: `--help` of `drift` and of every subcommand.
//!
//! To regenerate after an intended change: `DRIFT_BLESS=1 cargo test --test it snapshots::`, then
//! review `git diff tests/data/snapshots/`. As for the Slack snapshots, blessing panics when
//! `CI` is set (a blessed run compares each file with itself and proves nothing).
//!
//! Outputs that depend on the clock or the machine go through [`Normalizer`], which replaces
//! exactly four things and documents them: the temporary directory, the repository's path,
//! drift's version, and times read from the clock during the test.

use std::path::Path;
use std::process::Command;

use tempfile::TempDir;

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const REFERENCE: &str = "examples/data/reference.parquet";
const CURRENT: &str = "examples/data/current.parquet";

/// Whether to rewrite snapshots, from whether `DRIFT_BLESS` and `CI` are set: a mirror of
/// `drift::alerts::testing::blessing`, which is test-only inside the library and so out of
/// reach of this test binary. Blessing under CI is an error.
fn blessing(bless: bool, ci: bool) -> Result<bool, &'static str> {
    match (bless, ci) {
        (true, true) => Err("DRIFT_BLESS is set under CI: blessing rewrites the snapshots and then compares \
                             each with itself, so the snapshot tests would prove nothing; unset DRIFT_BLESS"),
        (bless, _) => Ok(bless),
    }
}

/// Compares `text` with `tests/data/snapshots/{name}`; with `DRIFT_BLESS` set (and `CI` not) it
/// rewrites the file first.
fn assert_snapshot(name: &str, text: &str) {
    let dir = Path::new(REPO).join("tests/data/snapshots");
    let path = dir.join(name);
    let bless = std::env::var_os("DRIFT_BLESS").is_some();
    let ci = std::env::var_os("CI").is_some();
    if blessing(bless, ci).unwrap_or_else(|e| panic!("{e}")) {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&path, text).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if text != want {
        let line = text.lines().zip(want.lines()).position(|(a, b)| a != b).map_or_else(
            || format!("lengths differ: {} lines now, {} committed", text.lines().count(), want.lines().count()),
            |i| format!("first difference at line {}", i + 1),
        );
        panic!(
            "{} differs ({line}; DRIFT_BLESS=1 cargo test --test it snapshots:: rewrites it, outside CI)\n\
             --- now:\n{text}\n--- committed:\n{want}",
            path.display()
        );
    }
}

#[test]
fn blessing_is_refused_under_ci() {
    assert!(blessing(true, true).is_err(), "CI must not rewrite the snapshots it checks");
    assert_eq!(blessing(true, false), Ok(true));
    assert_eq!(blessing(false, true), Ok(false));
    assert_eq!(blessing(false, false), Ok(false));
}

/// What a command printed.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the `drift` binary in `cwd` (no `RUST_LOG`, no `NO_COLOR` needed: stdout is a pipe).
fn drift_in(cwd: &Path, args: &[&str]) -> Run {
    let out =
        Command::new(env!("CARGO_BIN_EXE_drift")).args(args).current_dir(cwd).env_remove("RUST_LOG").output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// [`drift_in`] that expects exit code `code`.
fn expect(cwd: &Path, code: i32, args: &[&str]) -> Run {
    let r = drift_in(cwd, args);
    assert_eq!(r.code, code, "drift {}: stdout {}\nstderr {}", args.join(" "), r.stdout, r.stderr);
    r
}

/// Makes text that depends on the machine or the clock comparable. It replaces exactly:
///
/// 1. the test's temporary directory with `<dir>` and the repository's path with `<repo>`;
/// 2. drift's version, where drift prints it (`drift 0.1.0`, `"drift_version": "0.1.0"`),
///    with `<version>`, so a release does not rewrite the snapshots;
/// 3. a UTC time read from the clock while the test ran: an RFC 3339 time
///    (`2026-12-02T17:28:14Z`, with or without a fraction) becomes `<now>`, and a 13-digit
///    number of milliseconds since the epoch (also inside a word, as in `test-1796232535983`)
///    becomes `<now_ms>`, but only when it falls between the normalizer's creation and the
///    call (less a second, since printed times are truncated). Fixed times (an `endsAt` of
///    `0001-01-01T00:00:00Z`, a silence until 2099) stay as printed;
/// 4. a snapshot's id (`, id 0f53d617` ending `reference show`'s first line) with `<id>`: it
///    is the file's CRC-32, which covers the version that built it (`html.rs` checks its value).
struct Normalizer {
    dir: Option<String>,
    started_ms: i64,
}

impl Normalizer {
    fn new(dir: Option<&Path>) -> Normalizer {
        Normalizer { dir: dir.map(|d| d.to_str().unwrap().to_owned()), started_ms: now_ms() }
    }

    fn apply(&self, text: &str) -> String {
        let mut t = text.to_owned();
        if let Some(dir) = &self.dir {
            t = t.replace(dir.as_str(), "<dir>");
        }
        t = t.replace(REPO, "<repo>");
        let v = env!("CARGO_PKG_VERSION");
        t = t.replace(&format!("drift {v}"), "drift <version>");
        t = t.replace(&format!("\"drift_version\": \"{v}\""), "\"drift_version\": \"<version>\"");
        let t: Vec<String> = t
            .split('\n')
            .map(|line| match line.rsplit_once(", id ") {
                Some((head, id)) if line.starts_with("drift reference snapshot,") && id.len() == 8 => {
                    format!("{head}, id <id>")
                }
                _ => line.to_owned(),
            })
            .collect();
        let t = t.join("\n");
        let range = self.started_ms - 1000..=now_ms();
        let t = replace_times(&t, |ms| range.contains(&ms));
        replace_epoch_ms(&t, |ms| range.contains(&ms))
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Replaces each RFC 3339 UTC time (`YYYY-MM-DDTHH:MM:SS[.fff]Z`) whose instant `is_now`
/// accepts with `<now>`.
fn replace_times(text: &str, is_now: impl Fn(i64) -> bool) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut i, mut copied) = (0, 0);
    while i + 20 <= b.len() {
        if let Some((ms, len)) = rfc3339_at(&b[i..])
            && is_now(ms)
        {
            out.push_str(&text[copied..i]);
            out.push_str("<now>");
            i += len;
            copied = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// The instant (ms) and length of an RFC 3339 UTC time at the start of `b`.
fn rfc3339_at(b: &[u8]) -> Option<(i64, usize)> {
    const SHAPE: &[u8; 19] = b"dddd-dd-ddTdd:dd:dd";
    for (c, s) in b.iter().zip(SHAPE) {
        let ok = if *s == b'd' { c.is_ascii_digit() } else { c == s };
        if !ok {
            return None;
        }
    }
    let num = |r: std::ops::Range<usize>| std::str::from_utf8(&b[r]).unwrap().parse::<i64>().unwrap();
    let mut len = 19;
    if b.get(len) == Some(&b'.') {
        len += 1;
        while b.get(len).is_some_and(u8::is_ascii_digit) {
            len += 1;
        }
    }
    if b.get(len) != Some(&b'Z') {
        return None;
    }
    let days = days_from_civil(num(0..4), num(5..7), num(8..10));
    let secs = days * 86_400 + num(11..13) * 3600 + num(14..16) * 60 + num(17..19);
    Some((secs * 1000, len + 1))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Replaces each run of exactly 13 digits (not part of a decimal fraction) whose value `is_now`
/// accepts with `<now_ms>`.
fn replace_epoch_ms(text: &str, is_now: impl Fn(i64) -> bool) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut i, mut copied) = (0, 0);
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let fraction = start > 0 && b[start - 1] == b'.' || b.get(i) == Some(&b'.');
        if i - start == 13 && !fraction && is_now(text[start..i].parse().unwrap()) {
            out.push_str(&text[copied..start]);
            out.push_str("<now_ms>");
            copied = i;
        }
    }
    out.push_str(&text[copied..]);
    out
}

#[test]
fn the_normalizer_replaces_only_times_of_the_test_run() {
    // Python: datetime(2026, 12, 2, 17, 28, 14, tzinfo=timezone.utc).timestamp() == 1796232494
    assert_eq!(days_from_civil(2026, 12, 2) * 86_400 + 17 * 3600 + 28 * 60 + 14, 1_796_232_494);
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    let now = |ms: i64| (1_796_232_494_000..=1_796_232_495_000).contains(&ms);
    assert_eq!(
        replace_times(
            "at 2026-12-02T17:28:14Z, 2026-12-02T17:28:14.123Z; 0001-01-01T00:00:00Z 2099-01-01T00:00:00Z",
            now
        ),
        "at <now>, <now>; 0001-01-01T00:00:00Z 2099-01-01T00:00:00Z"
    );
    assert_eq!(
        replace_epoch_ms(
            "\"closed_ms\": 1796232494069, \"key\": \"test-1796232494500\", 0.1796232494069 17962324940690",
            now
        ),
        "\"closed_ms\": <now_ms>, \"key\": \"test-<now_ms>\", 0.1796232494069 17962324940690"
    );
    assert_eq!(replace_epoch_ms("1796232499999", now), "1796232499999", "outside the run: kept");
}

#[test]
fn check_on_the_demo_pair_as_table_json_and_markdown() {
    let repo = Path::new(REPO);
    for (format, name) in [("table", "check.txt"), ("json", "check.json"), ("markdown", "check.md")] {
        let r = expect(repo, 1, &["check", "--reference", REFERENCE, "--current", CURRENT, "--format", format]);
        assert!(!r.stdout.contains('\x1b'), "no colour when stdout is not a terminal");
        assert_snapshot(name, &r.stdout);
    }
}

/// `--latency` on the demo pair: the percentile table after the drift table, in each format.
#[test]
fn check_latency_on_the_demo_pair_as_table_json_and_markdown() {
    let repo = Path::new(REPO);
    let latency = ["--latency", "latency_ms", "--latency-slo", "p99=250"];
    for (format, name) in
        [("table", "check-latency.txt"), ("json", "check-latency.json"), ("markdown", "check-latency.md")]
    {
        let mut args = vec!["check", "--reference", REFERENCE, "--current", CURRENT, "--format", format];
        args.extend(latency);
        let r = expect(repo, 1, &args);
        assert_snapshot(name, &r.stdout);
    }
}

#[test]
fn reference_show_as_text_and_json() {
    let dir = TempDir::new().unwrap();
    let snap = dir.path().join("reference.drift");
    let repo = Path::new(REPO);
    let snap_arg = snap.to_str().unwrap();
    let at = "2026-11-01T00:00:00Z";
    let build = ["reference", "build", "--input", REFERENCE, "--output", snap_arg, "--created-at", at];
    expect(repo, 0, &[&build[..], &["--exclude", "request_id"]].concat());
    let n = Normalizer::new(Some(dir.path()));
    let text = expect(repo, 0, &["reference", "show", snap_arg]);
    assert_snapshot("reference-show.txt", &n.apply(&text.stdout));
    let json = expect(repo, 0, &["reference", "show", snap_arg, "--format", "json"]);
    assert_snapshot("reference-show.json", &n.apply(&json.stdout));
}

#[test]
fn reference_show_of_sketches_and_pooled_categories() {
    let dir = TempDir::new().unwrap();
    let snap = dir.path().join("sketch.drift");
    let snap_arg = snap.to_str().unwrap();
    let repo = Path::new(REPO);
    let build =
        ["reference", "build", "--input", REFERENCE, "--output", snap_arg, "--created-at", "2026-11-01T00:00:00Z"];
    let small = ["--exclude", "request_id", "--exact-max-values", "0", "--sketch-cells", "64", "--max-categories", "2"];
    expect(repo, 0, &[&build[..], &small[..]].concat());
    let text = expect(repo, 0, &["reference", "show", snap_arg]);
    assert_snapshot("reference-show-sketch.txt", &Normalizer::new(Some(dir.path())).apply(&text.stdout));
}

/// A daemon directory with the demo monitor: the demo reference, the demo current file landed in
/// `incoming/`, the shipped demo's `log` and `file` (`audit`) sinks and routing.
fn demo_daemon() -> TempDir {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("incoming")).unwrap();
    std::fs::create_dir_all(root.join("monitors")).unwrap();
    std::fs::copy(Path::new(REPO).join(REFERENCE), root.join("reference.parquet")).unwrap();
    std::fs::copy(Path::new(REPO).join(CURRENT), root.join("incoming/current.parquet")).unwrap();
    // The model: its scored, labelled holdout and the current rows' late labels.
    std::fs::copy(Path::new(REPO).join("examples/data/holdout.parquet"), root.join("holdout.parquet")).unwrap();
    std::fs::create_dir_all(root.join("labels")).unwrap();
    for f in std::fs::read_dir(Path::new(REPO).join("examples/data/labels")).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), root.join("labels").join(f.file_name())).unwrap();
    }
    std::fs::write(
        root.join("drift.toml"),
        "state_dir = \"state\"\nlisten = \"127.0.0.1:0\"\nmonitors_dir = \"monitors\"\n\n\
         [sinks.log]\ntype = \"log\"\n\n[sinks.audit]\ntype = \"file\"\npath = \"alerts.jsonl\"\n",
    )
    .unwrap();
    std::fs::write(
        root.join("monitors/demo.toml"),
        "[source]\npath = \"../incoming\"\nsettle_secs = 0\n\n[reference]\npath = \"../reference.parquet\"\n\n\
         [window]\ntype = \"files\"\nmin_rows = 100\ntimestamp_column = \"event_time\"\n\n\
         [columns]\nexclude = [\"event_time\", \"request_id\"]\n\n\
         [latency]\ncolumn = \"latency_ms\"\n\n[[latency.slo]]\nquantile = 0.99\nwarning_ms = 250\ncritical_ms = 400\n\n\
         [alerts]\nwarning = [\"log\"]\ncritical = [\"log\", \"audit\"]\n\n\
         [model]\ntask = \"binary\"\nid = \"request_id\"\nprediction = \"prediction\"\nscore = \"score\"\n\
         positive = \"1\"\nreference = \"../holdout.parquet\"\n\n\
         [labels]\npath = \"../labels\"\ncolumn = \"label\"\nsettle_secs = 0\nmin_coverage = 0.5\n",
    )
    .unwrap();
    dir
}

#[test]
fn run_once_history_alert_list_and_the_webhook_body() {
    let dir = demo_daemon();
    let root = dir.path();
    let n = Normalizer::new(Some(root));
    let run = expect(root, 0, &["run", "--once", "--config", "drift.toml"]);
    assert_snapshot("run-once.txt", &n.apply(&run.stdout));
    let history = expect(root, 0, &["history", "--config", "drift.toml", "--monitor", "demo"]);
    assert_snapshot("history.txt", &n.apply(&history.stdout));
    let history = expect(root, 0, &["history", "--config", "drift.toml", "--monitor", "demo", "--format", "json"]);
    assert_snapshot("history.json", &n.apply(&history.stdout));
    let alerts = expect(root, 0, &["alert", "list", "--config", "drift.toml"]);
    assert_snapshot("alert-list.txt", &n.apply(&alerts.stdout));
    let body = std::fs::read_to_string(root.join("alerts.jsonl")).unwrap();
    assert_eq!(body.lines().count(), 1, "one notification on the file sink: {body}");
    assert_snapshot("webhook.jsonl", &n.apply(&body));
}

/// `$ drift ARGS` (an empty argument or one with a space quoted), its exit code unless 0, then
/// what it printed: stdout as is, each stderr line marked `[stderr]`.
fn transcript(out: &mut String, cwd: &Path, args: &[&str]) {
    let r = drift_in(cwd, args);
    let shown: Vec<String> =
        args.iter().map(|a| if a.is_empty() || a.contains(' ') { format!("{a:?}") } else { (*a).to_owned() }).collect();
    out.push_str(&format!("$ drift {}\n", shown.join(" ")));
    if r.code != 0 {
        out.push_str(&format!("[exit {}]\n", r.code));
    }
    out.push_str(&r.stdout);
    for line in r.stderr.lines() {
        out.push_str(&format!("[stderr] {line}\n"));
    }
}

#[test]
fn validate_and_the_silence_commands() {
    let dir = demo_daemon();
    let root = dir.path();
    let n = Normalizer::new(Some(root));
    let mut out = String::new();
    transcript(&mut out, root, &["validate", "--config", "drift.toml"]);
    transcript(&mut out, root, &["validate", "--config", &format!("{}/drift.toml", root.display())]);
    assert_snapshot("validate.txt", &n.apply(&out));

    let c = ["--config", "drift.toml"];
    let mut out = String::new();
    transcript(&mut out, root, &["silence", "list", c[0], c[1]]);
    let add = ["silence", "add", c[0], c[1], "--monitor", "demo", "--column", "country"];
    // Fixed times: a duration (`--until 2h`) would print a time the normalizer cannot know.
    let until = ["--until", "2099-01-01T00:00:00Z", "--reason", "new market BR"];
    transcript(&mut out, root, &[&add[..], &until[..]].concat());
    let until = ["--segment", "", "--until", "2098-06-01T12:00:00+02:00", "--reason", "deploy"];
    transcript(&mut out, root, &[&add[..], &until[..]].concat());
    transcript(&mut out, root, &["silence", "list", c[0], c[1]]);
    transcript(&mut out, root, &["silence", "expire", c[0], c[1], "1"]);
    transcript(&mut out, root, &["silence", "list", c[0], c[1]]);
    transcript(&mut out, root, &["silence", "list", c[0], c[1], "--all"]);
    transcript(&mut out, root, &["silence", "expire", c[0], c[1], "1"]);
    transcript(&mut out, root, &["silence", "add", c[0], c[1], "--monitor", "nope", "--until", "1h", "--reason", "x"]);
    assert_snapshot("silence.txt", &n.apply(&out));
}

#[test]
fn help_of_every_command() {
    let repo = Path::new(REPO);
    let mut out = String::new();
    let commands: &[&[&str]] = &[
        &[],
        &["check"],
        &["reference"],
        &["reference", "build"],
        &["reference", "show"],
        &["reference", "merge"],
        &["validate"],
        &["run"],
        &["history"],
        &["silence"],
        &["silence", "add"],
        &["silence", "list"],
        &["silence", "expire"],
        &["alert"],
        &["alert", "test"],
        &["alert", "list"],
        &["alert", "retry"],
        &["quarantine"],
        &["quarantine", "list"],
        &["quarantine", "release"],
    ];
    for cmd in commands {
        transcript(&mut out, repo, &[*cmd, &["--help"][..]].concat());
        out.push('\n');
    }
    assert_snapshot("help.txt", &Normalizer::new(None).apply(&out));
}

#[test]
fn validate_calibrate_on_the_demo_monitor_as_text_and_markdown() {
    let dir = demo_daemon();
    let n = Normalizer::new(Some(dir.path()));
    for (format, name) in [("table", "validate-calibrate.txt"), ("markdown", "validate-calibrate.md")] {
        let r = expect(dir.path(), 0, &["validate", "--config", "drift.toml", "--calibrate", "--format", format]);
        assert_snapshot(name, &n.apply(&r.stdout));
    }
}
