//! What a daemon monitor fetches from object storage: only the column chunks of the monitored,
//! timestamp and segment columns, of its reference and for every window type (files, rows,
//! time, with segments),
//! counted by a proxy in front of moto, and the windows' reports equal to the same monitors
//! over the same files on the local disk.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, StringArray, TimestampMillisecondArray};

use super::objects::{CountingProxy, Moto, drift_env};
use crate::support::{s, write};

/// Five noise columns `c00`..`c04` (shifted by `shift`), twenty wide text columns
/// `c05`..`c24` that no monitor compares (most of the bytes), an event time `t` over hours 10
/// and 11 of the epoch's first day, a `region`, and, when `extra`, a column the reference lacks.
fn wide_timed(dir: &Path, name: &str, rows: usize, shift: f64, extra: bool) -> std::path::PathBuf {
    let mut columns: Vec<(String, ArrayRef)> = Vec::new();
    let mut state = 0x2545_f491_4f6c_dd1d_u64 ^ shift.to_bits();
    let mut noise = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state >> 11
    };
    for c in 0..25 {
        let column: ArrayRef = if c < 5 {
            let v: Vec<f64> = (0..rows).map(|_| noise() as f64 / (1u64 << 53) as f64 + shift).collect();
            Arc::new(Float64Array::from(v))
        } else {
            let v: Vec<String> =
                (0..rows).map(|_| (0..8).map(|_| format!("{:012x}", noise() & 0xffff_ffff_ffff)).collect()).collect();
            Arc::new(StringArray::from(v))
        };
        columns.push((format!("c{c:02}"), column));
    }
    let step = 7_200_000 / rows as i64;
    let t: Vec<i64> = (0..rows as i64).map(|i| 36_000_000 + i * step).collect();
    columns.push(("t".into(), Arc::new(TimestampMillisecondArray::from(t))));
    let region: Vec<&str> = (0..rows).map(|i| ["north", "south", "east"][i % 3]).collect();
    columns.push(("region".into(), Arc::new(StringArray::from(region))));
    if extra {
        columns.push(("added".into(), Arc::new(Float64Array::from((0..rows).map(|i| i as f64).collect::<Vec<_>>()))));
    }
    write(dir, name, columns.iter().map(|(n, a)| (n.as_str(), a.clone())).collect())
}

/// The three window types, each with segments by region, comparing `c00`..`c04` and `region`
/// (the other noise columns excluded): (monitor id, its `[window]` keys).
const MONITORS: [(&str, &str); 3] = [
    ("batch", ""),
    ("rowwise", "type = \"rows\"\nrows = 1500\n"),
    (
        "hourly",
        "type = \"time\"\nsize_secs = 3600\nallowed_lateness_secs = 0\nidle_timeout_secs = 0\ntimestamp_column = \"t\"\n",
    ),
];

/// A daemon file in `dir` with the three monitors over `source`, against `reference`; `store`
/// is a `[stores.NAME]` table or nothing.
fn monitors(dir: &Path, source: &str, reference: &str, store: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let config = dir.join("drift.toml");
    std::fs::write(
        &config,
        format!("state_dir = \"state\"\nlisten = \"127.0.0.1:0\"\n\n[sinks.log]\ntype = \"log\"\n\n{store}"),
    )
    .unwrap();
    let excluded: Vec<String> = (5..25).map(|c| format!("\"c{c:02}\"")).chain(["\"t\"".into()]).collect();
    for (id, window) in MONITORS {
        std::fs::write(
            dir.join(format!("{id}.toml")),
            format!(
                "[source]\npath = \"{source}\"\nsettle_secs = 0\n\n[reference]\npath = \"{reference}\"\n\n\
                 [window]\n{window}min_rows = 50\n\n[columns]\nexclude = [{}]\n\n\
                 [segments]\nby = [\"region\"]\nmin_rows = 50\nmax_segments = 3\n\n\
                 [alerts]\nwarning = [\"log\"]\ncritical = [\"log\"]\n",
                excluded.join(", ")
            ),
        )
        .unwrap();
    }
    config
}

/// Every stored window's report of every monitor, in order.
fn reports(config: &Path) -> Vec<(String, serde_json::Value)> {
    let state = drift::state::State::open_read_only(&config.parent().unwrap().join("state")).unwrap();
    let mut out = Vec::new();
    for (id, _) in MONITORS {
        let mut windows = state.history(id, 100).unwrap();
        windows.reverse();
        for w in windows {
            let stored = state.stored_report(id, Some(w.id)).unwrap().expect("evaluated");
            out.push((id.to_owned(), serde_json::to_value(&stored.report).unwrap()));
        }
    }
    out
}

#[test]
fn every_window_type_with_segments_fetches_only_the_monitored_timestamp_and_segment_columns() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("wide");
    let dir = tempfile::tempdir().unwrap();
    let reference = wide_timed(dir.path(), "ref/reference.parquet", 2_000, 0.0, false);
    let current = wide_timed(dir.path(), "cur/part-0.parquet", 3_000, 0.2, true);
    let size = std::fs::metadata(&current).unwrap().len() + std::fs::metadata(&reference).unwrap().len();
    moto.upload_dir("wide", &dir.path().join("cur"), "cur/");
    moto.upload_dir("wide", &dir.path().join("ref"), "ref/");
    let proxy = CountingProxy::start(moto.endpoint.rsplit(':').next().unwrap().parse().unwrap());
    let store = format!(
        "[stores.wide]\nurl = \"s3://wide\"\nendpoint = \"http://127.0.0.1:{}\"\nallow_http = true\n\
         region = \"us-east-1\"\naccess_key_id_env = \"KEY\"\nsecret_access_key_env = \"SECRET\"\n",
        proxy.port
    );
    let remote = monitors(&dir.path().join("remote"), "s3://wide/cur/", "s3://wide/ref/reference.parquet", &store);
    let local = monitors(&dir.path().join("local"), s(&dir.path().join("cur")), s(&reference), "");
    let env = vec![("KEY", "test".to_owned()), ("SECRET", "test".to_owned())];
    proxy.take();
    let started = std::time::Instant::now();
    let out = drift_env(&["run", "--once", "--config", s(&remote)], &env);
    let (fetched, secs) = (proxy.take(), started.elapsed().as_secs_f64());
    let log = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.code().is_some_and(|c| c <= 1), "{log}");
    let out = drift_env(&["run", "--once", "--config", s(&local)], &[]);
    assert!(out.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&out.stderr));
    eprintln!(
        "objects {size} B: three monitors (files, rows, time windows, segmented) fetched {fetched} B in {secs:.1} s"
    );
    // c00..c04, t and region of the current object and the reference, for each of three
    // monitors: together a small part of one download of both (reading every column took one
    // download of the reference per monitor, and of the current object per row or time window
    // and per segmented batch).
    assert!(fetched < size / 5, "{fetched} B fetched by three monitors of {size} B of objects: {log}");
    let floats = 3 * 5 * (3_000 + 2_000) * 8;
    assert!(fetched > floats * 9 / 10, "{fetched}: the monitored columns must have been read");
    let (remote, local) = (reports(&remote), reports(&local));
    let ids: Vec<&str> = remote.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["batch", "rowwise", "hourly", "hourly"], "{log}");
    assert_eq!(remote, local, "the same windows as over the local file");
    for (id, r) in &remote {
        assert_eq!(r["schema"]["only_in_current"], serde_json::json!(["added"]), "{id}: {r}");
        let tested: std::collections::BTreeSet<&str> =
            r["columns"].as_array().unwrap().iter().map(|c| c["column"].as_str().unwrap()).collect();
        assert_eq!(tested.into_iter().collect::<Vec<_>>(), ["c00", "c01", "c02", "c03", "c04", "region"], "{id}");
    }
}

#[test]
fn an_object_whose_footer_is_larger_than_the_first_ranged_read_is_read_by_ranges() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("tall");
    let dir = tempfile::tempdir().unwrap();
    // 1 500 columns: the footer alone is far more than the 64 KiB first read of the tail.
    let side = |name: &str, shift: f64| {
        let columns: Vec<(String, ArrayRef)> = (0..1500)
            .map(|c| {
                let v: Vec<f64> = (0..40).map(|i| f64::from((i * 7 + c) % 40) + shift).collect();
                (format!("feature_with_a_long_name_{c:04}"), Arc::new(Float64Array::from(v)) as ArrayRef)
            })
            .collect();
        write(dir.path(), name, columns.iter().map(|(n, a)| (n.as_str(), a.clone())).collect())
    };
    let reference = side("ref/part-0.parquet", 0.0);
    let current = side("cur/part-0.parquet", 20.0);
    let bytes = std::fs::read(&current).unwrap();
    let footer = u32::from_le_bytes(bytes[bytes.len() - 8..bytes.len() - 4].try_into().unwrap());
    assert!(footer > 64 * 1024, "a footer of {footer} B");
    moto.upload_dir("tall", &dir.path().join("cur"), "cur/");
    let columns = ["--columns", "feature_with_a_long_name_0000,feature_with_a_long_name_1499"];
    let args = |current: &str| -> Vec<String> {
        ["check", "--format", "json", "-r", s(&reference), "-c", current, columns[0], columns[1]]
            .map(str::to_owned)
            .to_vec()
    };
    let run = |a: Vec<String>, env: &[(&str, String)]| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let out = drift_env(&a, env);
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let remote = run(args("s3://tall/cur/"), &moto.env());
    let local = run(args(s(&current)), &[]);
    assert_eq!(remote, local);
    assert!(remote.contains("feature_with_a_long_name_1499"), "{remote}");
}
