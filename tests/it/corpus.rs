//! The bad-input corpus (`tests/data/bad/`, written by its `make.py`, plus the cases made at
//! run time) through `drift check` and through the daemon. What each must give is pinned in
//! [`CASES`], so that a regression shows as a changed expectation: `drift check` exits 0, 1 or
//! 2 with exactly one line naming the file (never a panic, exit 101 or an abort); the daemon,
//! with the case next to a good file, evaluates the good file and consumes or quarantines the
//! case, and no cycle fails.

use std::path::{Path, PathBuf};

use crate::ingest::{age, history, once, running_as_root, setup};
use crate::support::{Daemon, drift, s};

/// What the daemon does with a case next to a good file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Read and evaluated with the good file.
    Consumed,
    /// Set aside (after one failed read: the monitor's `quarantine_after_attempts = 1`).
    Quarantined,
}
use Outcome::{Consumed, Quarantined};

/// (file in tests/data/bad, `drift check --reference good.parquet` exit code, what its one
/// stderr line says when it exits 2, what the daemon does).
const CASES: &[(&str, i32, &str, Outcome)] = &[
    ("zero_bytes.parquet", 2, "zero_bytes.parquet: not a Parquet file (no PAR1 header)", Quarantined),
    ("magic_only.parquet", 2, "magic_only.parquet: not a Parquet file (no PAR1 header)", Quarantined),
    ("magic_twice.parquet", 2, "magic_twice.parquet: unreadable Parquet footer: EOF", Quarantined),
    ("text.parquet", 2, "text.parquet: not a Parquet file (no PAR1 header)", Quarantined),
    ("truncated.parquet", 2, "truncated.parquet: truncated Parquet file (no footer)", Quarantined),
    ("damaged_page.parquet", 2, "damaged_page.parquet: column \"x\": corrupt data", Quarantined),
    ("damaged_footer.parquet", 2, "damaged_footer.parquet: unreadable Parquet footer", Quarantined),
    (
        "footer_length_beyond_file.parquet",
        2,
        "footer_length_beyond_file.parquet: damaged Parquet footer: it claims 2147483632 bytes but the file has",
        Quarantined,
    ),
    (
        "lying_num_rows.parquet",
        2,
        "lying_num_rows.parquet: damaged Parquet footer: it claims 1099511627776 rows but its row groups hold 12345",
        Quarantined,
    ),
    (
        "lying_row_group_rows.parquet",
        2,
        "lying_row_group_rows.parquet: column \"x\": the footer claims 1099511627776 rows but the pages hold 12345",
        Quarantined,
    ),
    (
        "dictionary_index_out_of_range.parquet",
        2,
        "dictionary_index_out_of_range.parquet: column \"k\": corrupt data",
        Quarantined,
    ),
    (
        "byte_stream_split_damaged.parquet",
        2,
        "byte_stream_split_damaged.parquet: column \"x\": corrupt data",
        Quarantined,
    ),
    (
        "dictionary_floats_with_nan.parquet",
        2,
        "dictionary_floats_with_nan.parquet: column \"x\": dictionary-encoded numeric column with null or NaN",
        Quarantined,
    ),
    ("byte_stream_split.parquet", 1, "", Consumed),
    ("zero_rows.parquet", 0, "", Consumed),
    ("one_row.parquet", 0, "", Consumed),
    ("no_columns.parquet", 1, "", Consumed),
    ("nan_inf_everywhere.parquet", 1, "", Consumed),
    ("all_null_float_column_x.parquet", 1, "", Consumed),
    ("all_null_null.parquet", 1, "", Consumed),
    ("all_null_bool.parquet", 1, "", Consumed),
    ("all_null_int8.parquet", 1, "", Consumed),
    ("all_null_int16.parquet", 1, "", Consumed),
    ("all_null_int32.parquet", 1, "", Consumed),
    ("all_null_int64.parquet", 1, "", Consumed),
    ("all_null_uint8.parquet", 1, "", Consumed),
    ("all_null_uint16.parquet", 1, "", Consumed),
    ("all_null_uint32.parquet", 1, "", Consumed),
    ("all_null_uint64.parquet", 1, "", Consumed),
    ("all_null_float16.parquet", 1, "", Consumed),
    ("all_null_float32.parquet", 1, "", Consumed),
    ("all_null_float64.parquet", 1, "", Consumed),
    ("all_null_string.parquet", 1, "", Consumed),
    ("all_null_large_string.parquet", 1, "", Consumed),
    ("all_null_binary.parquet", 1, "", Consumed),
    ("all_null_fixed_binary.parquet", 1, "", Consumed),
    ("all_null_date32.parquet", 1, "", Consumed),
    ("all_null_timestamp_us.parquet", 1, "", Consumed),
    ("all_null_decimal128.parquet", 1, "", Consumed),
    ("all_null_decimal256.parquet", 1, "", Consumed),
    ("all_null_list.parquet", 1, "", Consumed),
    ("nested.parquet", 1, "", Consumed),
    ("decimal256.parquet", 1, "", Consumed),
    ("timestamps_every_unit_and_zone.parquet", 1, "", Consumed),
    ("timestamp_in_2200.parquet", 1, "", Consumed),
    ("dictionary_floats.parquet", 1, "", Consumed),
    ("extreme_integers.parquet", 1, "", Consumed),
    ("huge_string_values.parquet", 1, "", Consumed),
    ("invalid_utf8_binary.parquet", 1, "", Consumed),
    ("many_tiny_row_groups.parquet", 0, "", Consumed),
    ("wide_1000_columns.parquet", 1, "", Consumed),
    ("data_page_v2.parquet", 0, "", Consumed),
];

fn bad(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad").join(name)
}

/// `drift check` of `current` against the good file: (exit code, stderr).
fn check(current: &Path, env: &[(&str, &str)]) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_drift"))
        .args(["check", "--reference", s(&bad("good.parquet")), "--current", s(current)])
        .envs(env.iter().copied())
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    // A signal (an abort) has no code.
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Asserts `drift check`'s answer: the code, and for 2 one line with `want` in it.
fn assert_check(case: &str, (code, stderr): (i32, String), want_code: i32, want: &str) {
    assert_eq!(code, want_code, "{case}: {stderr}");
    if want_code == 2 {
        assert_eq!(stderr.lines().count(), 1, "{case}: one line: {stderr}");
        assert!(stderr.starts_with("drift: error: ") && stderr.contains(want), "{case}: want {want:?}: {stderr}");
    } else {
        assert!(stderr.is_empty(), "{case}: {stderr}");
    }
}

#[test]
fn every_committed_case_has_an_expectation() {
    let mut files: Vec<String> = std::fs::read_dir(bad(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".parquet") && n != "good.parquet")
        .collect();
    files.sort();
    let mut listed: Vec<String> = CASES.iter().map(|c| c.0.to_owned()).collect();
    listed.sort();
    assert_eq!(files, listed, "tests/data/bad/ and CASES differ: run make.py, pin the new case");
    assert!(CASES.len() + 5 >= 30, "the issue asks for 30 cases at least");
}

#[test]
fn drift_check_answers_every_case_with_its_exit_code_and_one_line() {
    for (case, code, want, _) in CASES {
        assert_check(case, check(&bad(case), &[]), *code, want);
    }
}

/// Each case next to a good file through `drift run --once`: the good file is evaluated in the
/// window, the case consumed with it or quarantined, and no cycle fails.
#[test]
fn the_daemon_evaluates_the_good_file_next_to_every_case() {
    for (case, _, _, outcome) in CASES {
        let st = setup("quarantine_after_attempts = 1\n", "");
        for (from, to) in [("good.parquet", "a-good.parquet"), (*case, "b-case.parquet")] {
            std::fs::copy(bad(from), st.incoming.join(to)).unwrap();
            age(&st.incoming.join(to));
        }
        let (code, out) = once(&st);
        assert_eq!(code, 0, "{case}: {out}");
        assert!(!out.contains("monitor cycle failed"), "{case}: {out}");
        let h = history(&st);
        assert_eq!(h.as_array().unwrap().len(), 1, "{case}: one window: {out}");
        let files = if *outcome == Consumed { 2 } else { 1 };
        assert_eq!(h[0]["files"], files, "{case}: {outcome:?}: {out}");
        let state = drift::state::State::open_read_only(&st.dir.path().join("state")).unwrap();
        let quarantined = state.quarantined("model").unwrap();
        assert_eq!(quarantined.len(), usize::from(*outcome == Quarantined), "{case}: {quarantined:?}");
        if let Some((path, why)) = quarantined.first() {
            assert_eq!(path, "b-case.parquet");
            assert!(out.contains("file quarantined after 1 failed reads") && !why.is_empty(), "{case}: {out}");
        }
    }
}

/// The cases made at run time, through `drift check`: a directory named `x.parquet`, a file
/// that cannot be read (permission denied; injected under root), a name that is not UTF-8 and
/// a symlink loop inside a directory given to it (each file read once, not once per lap).
#[test]
fn drift_check_answers_the_run_time_cases() {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::TempDir::new().unwrap();
    let d = dir.path().join("x.parquet");
    std::fs::create_dir(&d).unwrap();
    assert_check("dir", check(&d, &[]), 2, "x.parquet: directory holds no Parquet files");

    let locked = dir.path().join("locked.parquet");
    std::fs::copy(bad("good.parquet"), &locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let env: &[(&str, &str)] = if running_as_root() { &[("DRIFT_TEST_DENY", "locked.parquet")] } else { &[] };
    assert_check("unreadable", check(&locked, env), 2, "locked.parquet: cannot open: check the path and permissions");

    let names = dir.path().join("names");
    std::fs::create_dir(&names).unwrap();
    std::fs::copy(bad("good.parquet"), names.join(std::ffi::OsStr::from_bytes(b"bad\xff.parquet"))).unwrap();
    assert_check("non-UTF-8 name", check(&names, &[]), 0, "");

    let looped = dir.path().join("looped");
    std::fs::create_dir_all(looped.join("sub")).unwrap();
    std::fs::copy(bad("good.parquet"), looped.join("good.parquet")).unwrap();
    std::os::unix::fs::symlink("..", looped.join("sub/loop")).unwrap();
    let out = drift(&["check", "--reference", s(&bad("good.parquet")), "--current", s(&looped), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["current"]["files"], 1, "the file once, not once per lap of the loop");
}

/// The cases made at run time, through the daemon next to a good file: a directory named
/// `x.parquet` (not a file: never listed), a file that cannot be read (quarantined), and a file
/// deleted between listing and reading (one warning, no failed read counted against a file
/// that is gone; the good file evaluated).
#[test]
fn the_daemon_evaluates_the_good_file_next_to_the_run_time_cases() {
    use std::os::unix::fs::PermissionsExt;
    let st = setup("quarantine_after_attempts = 1\n", "");
    std::fs::copy(bad("good.parquet"), st.incoming.join("a-good.parquet")).unwrap();
    age(&st.incoming.join("a-good.parquet"));
    std::fs::create_dir(st.incoming.join("dir.parquet")).unwrap();
    let locked = st.incoming.join("locked.parquet");
    std::fs::copy(bad("good.parquet"), &locked).unwrap();
    age(&locked);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let env = [("DRIFT_TEST_DENY", "locked.parquet")];
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_drift"))
        .args(["run", "--once", "--config", s(&st.config)])
        .envs(if running_as_root() { &env[..] } else { &[] }.iter().copied())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("file quarantined after 1 failed reads") && text.contains("locked.parquet"), "{text}");
    assert_eq!(history(&st)[0]["files"], 1, "{text}");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o644)).unwrap();

    // Deleted while the daemon holds between listing and reading.
    std::fs::copy(bad("good.parquet"), st.incoming.join("c-good.parquet")).unwrap();
    let gone = st.incoming.join("d-gone.parquet");
    std::fs::copy(bad("good.parquet"), &gone).unwrap();
    age(&st.incoming.join("c-good.parquet"));
    age(&gone);
    let d = Daemon::start(&st.config, &[("DRIFT_TEST_PAUSE_AT", "listed:1500")]);
    let held = d.wait_log(30, &["test pause point reached", "\"point\":\"listed\""]);
    assert!(held.is_some(), "{}", d.log());
    std::fs::remove_file(&gone).unwrap();
    let line = d.wait_log(30, &["file vanished between listing and reading", "d-gone.parquet"]);
    assert!(line.is_some(), "{}", d.log());
    let closed = d.wait_log(30, &["files window closed", "\"window\":2", "\"files\":1"]);
    assert!(closed.is_some(), "c-good evaluated without the vanished file: {}", d.log());
    let log = d.log();
    assert!(!log.contains("monitor cycle failed") && !log.contains("file quarantined"), "{log}");
}

/// Oversized metadata, made at run time (a sparse file, so nothing is written to disk): a
/// 70 MiB file whose footer claims 68 MiB of metadata is refused by the footer's size cap
/// before anything is parsed or reserved, as one line naming the file and what to do.
#[test]
fn a_footer_over_the_metadata_cap_is_one_line_before_it_is_parsed() {
    use std::io::{Seek, SeekFrom, Write};
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("huge_footer.parquet");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(b"PAR1").unwrap();
    let len: u64 = 70 << 20;
    f.set_len(len).unwrap();
    f.seek(SeekFrom::Start(len - 8)).unwrap();
    f.write_all(&(68u32 << 20).to_le_bytes()).unwrap();
    f.write_all(b"PAR1").unwrap();
    drop(f);
    assert_check(
        "oversized metadata",
        check(&path, &[]),
        2,
        "huge_footer.parquet: Parquet footer of 71303168 bytes is over the 67108864-byte limit",
    );
}
