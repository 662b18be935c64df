//! The fault suite's kill -9 loop: the real binary over real files and a scripted receiver,
//! killed with SIGKILL at random moments, with two monitors on the same files: `model` (a
//! window per batch of files) and `rows` (windows of 1000 rows, kept open as parts in the
//! state). After every kill the state is consistent (each file `model` consumed belongs to
//! exactly one window whose rows and files add up; the rows `rows` consumed are its closed
//! windows' plus its open parts'); at the end every landed file was consumed exactly once by
//! each, the windows' rows add up to the rows landed, and every notification was delivered at
//! least once, always with its one idempotency key.
//!
//! `DRIFT_KILL_LOOP_SEED` replays a run (the seed is printed); `DRIFT_KILL_LOOP_KILLS` sets the
//! number of kills (20 in CI; the 200-kill run is in BENCHMARKS.md).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use drift::synth::Rng;
use rusqlite::Connection;

use crate::faults::land;
use crate::receiver::{Receiver, Reply};
use crate::support::{Daemon, wait_for, write};

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| v.parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a number")))
}

fn config(root: &Path, url: &str) -> std::path::PathBuf {
    write(root, "reference.parquet", crate::faults::rows(2000, 1, 0.0));
    std::fs::create_dir_all(root.join("monitors")).unwrap();
    std::fs::create_dir_all(root.join("incoming")).unwrap();
    std::fs::write(root.join("hook.url"), url).unwrap();
    let config = root.join("drift.toml");
    std::fs::write(
        &config,
        "state_dir = \"state\"\nlisten = \"127.0.0.1:0\"\nmonitors_dir = \"monitors\"\ndrain_timeout_secs = 2\n\n\
         [sinks.hook]\ntype = \"webhook\"\nurl_file = \"hook.url\"\ntimeout_secs = 2\n",
    )
    .unwrap();
    std::fs::write(
        root.join("monitors/model.toml"),
        "[source]\npath = \"../incoming\"\nsettle_secs = 0\npoll_secs = 1\n\n[reference]\npath = \
         \"../reference.parquet\"\n\n[window]\nmin_rows = 50\n\n[alerts]\nwarning = [\"hook\"]\ncritical = [\"hook\"]\n\
         resolve_after = 1\n",
    )
    .unwrap();
    let model = std::fs::read_to_string(root.join("monitors/model.toml")).unwrap();
    let rows = model.replace("[window]\n", "[window]\ntype = \"rows\"\nrows = 1000\n");
    std::fs::write(root.join("monitors/rows.toml"), rows).unwrap();
    config
}

fn read_only(db: &Path) -> Connection {
    Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}

/// The rows `monitor` consumed (path → rows).
fn consumed(conn: &Connection, monitor: &str) -> BTreeMap<String, i64> {
    let mut stmt = conn.prepare("SELECT path, rows FROM files WHERE monitor = ?1 AND status = 'consumed'").unwrap();
    stmt.query_map([monitor], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

/// The files `rows` consumed, after checking that their rows are its closed windows' plus its
/// open parts'.
fn consistent_rows(db: &Path, what: &str) -> BTreeMap<String, i64> {
    let conn = read_only(db);
    let files = consumed(&conn, "rows");
    let sum = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let windows = sum("SELECT COALESCE(SUM(rows), 0) FROM windows WHERE monitor = 'rows'");
    let open = sum("SELECT COALESCE(SUM(rows), 0) FROM window_parts WHERE monitor = 'rows'");
    assert_eq!(files.values().sum::<i64>(), windows + open, "{what}: rows consumed = closed windows' + open parts'");
    files
}

/// The files `model` consumed (path → rows) after checking that every one belongs to exactly one
/// window whose files and rows are its files'.
fn consistent(db: &Path, what: &str) -> BTreeMap<String, i64> {
    let conn = read_only(db);
    let mut consumed = BTreeMap::new();
    let mut by_window: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    let mut stmt = conn
        .prepare("SELECT path, rows, window_id FROM files WHERE monitor = 'model' AND status = 'consumed'")
        .unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))).unwrap();
    for row in rows {
        let (path, rows, window) = row.unwrap();
        let w = by_window.entry(window).or_default();
        w.0 += 1;
        w.1 += rows;
        assert!(consumed.insert(path.clone(), rows).is_none(), "{what}: {path} consumed twice");
    }
    let mut stmt = conn.prepare("SELECT id, files, rows FROM windows WHERE monitor = 'model'").unwrap();
    let windows: BTreeMap<i64, (i64, i64)> =
        stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?)))).unwrap().map(Result::unwrap).collect();
    assert_eq!(windows, by_window, "{what}: windows (files, rows) against their consumed files");
    consumed
}

/// (outbox idempotency keys, how many are still pending).
fn outbox(db: &Path) -> (BTreeMap<String, String>, usize) {
    let conn = read_only(db);
    let mut stmt = conn.prepare("SELECT id, idempotency_key, status FROM outbox").unwrap();
    let rows: Vec<(i64, String, String)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
    let pending = rows.iter().filter(|r| r.2 == "pending").count();
    let mut keys = BTreeMap::new();
    for (id, key, status) in rows {
        assert!(keys.insert(key.clone(), status).is_none(), "outbox row {id}: key {key} used twice");
    }
    (keys, pending)
}

#[test]
fn kill_9_at_random_moments_loses_and_duplicates_nothing() {
    let seed = env_u64("DRIFT_KILL_LOOP_SEED").unwrap_or_else(|| drift::clock::now_ms() as u64);
    let kills = env_u64("DRIFT_KILL_LOOP_KILLS").unwrap_or(20);
    eprintln!("kill loop: seed {seed}, {kills} kills (DRIFT_KILL_LOOP_SEED={seed} replays it)");
    let started = std::time::Instant::now();
    let mut rng = Rng::new(seed);
    // A receiver that is sometimes busy, so kills land during retries too.
    let script: Vec<Reply> = (0..4 * kills)
        .map(|_| if rng.uniform() < 0.25 { Reply::Status(503, "busy", None) } else { Reply::Ok })
        .collect();
    let rx = Receiver::start(0, script);
    let dir = tempfile::TempDir::new().unwrap();
    let root = dir.path();
    let config = config(root, &rx.url("/hook"));
    let db = root.join("state/drift.sqlite3");
    let mut landed: BTreeMap<String, i64> = BTreeMap::new();
    for k in 0..kills {
        for _ in 0..rng.choose(&[1.0, 2.0, 1.0]) {
            let (name, n) = (format!("f{:04}.parquet", landed.len()), 100 + (rng.uniform() * 300.0) as usize);
            let shift = if rng.uniform() < 0.4 { 1.5 } else { 0.0 };
            let path = land(&root.join("incoming"), &name, n, seed ^ landed.len() as u64, shift);
            landed.insert(path.canonicalize().unwrap().display().to_string(), n as i64);
        }
        let d = Daemon::start(&config, &[]);
        d.port();
        std::thread::sleep(std::time::Duration::from_millis((rng.uniform() * 800.0) as u64));
        let log = d.kill_9();
        assert!(!log.contains("panicked"), "seed {seed}, kill {k}: {log}");
        if db.exists() {
            let mut consumed = consistent(&db, &format!("seed {seed}, after kill {k}"));
            consumed.extend(consistent_rows(&db, &format!("seed {seed}, after kill {k}")));
            for path in consumed.keys() {
                assert!(landed.keys().any(|l| l.ends_with(path.as_str()) || path.ends_with(l.as_str())), "{path}");
            }
        }
    }
    // The last start runs until everything is consumed and delivered.
    let mut d = Daemon::start(&config, &[]);
    d.port();
    let done = wait_for(60, || {
        let consumed = consistent(&db, &format!("seed {seed}, final run"));
        let by_rows = consistent_rows(&db, &format!("seed {seed}, final run"));
        (consumed.len() == landed.len() && by_rows.len() == landed.len() && outbox(&db).1 == 0)
            .then_some((consumed, by_rows))
    });
    let (consumed, by_rows) =
        done.unwrap_or_else(|| panic!("seed {seed}: not everything consumed and delivered: {}", d.log()));
    d.signal("-TERM");
    assert_eq!(d.wait_exit(20), Some(0), "{}", d.log());
    let rows_landed: i64 = landed.values().sum();
    assert_eq!(consumed.values().sum::<i64>(), rows_landed, "seed {seed}: the windows' rows are the rows landed");
    let mut names: Vec<&str> = consumed.keys().map(|p| p.rsplit('/').next().unwrap()).collect();
    names.sort_unstable();
    let want: Vec<&str> = landed.keys().map(|p| p.rsplit('/').next().unwrap()).collect();
    assert_eq!(names, want, "seed {seed}: every landed file consumed exactly once");
    assert_eq!(by_rows.values().sum::<i64>(), rows_landed, "seed {seed}: the rows monitor consumed every row once");
    assert_eq!(by_rows.keys().collect::<Vec<_>>(), consumed.keys().collect::<Vec<_>>(), "seed {seed}");

    // Every notification delivered at least once, each always under its one key.
    let (keys, _) = outbox(&db);
    assert!(!keys.is_empty(), "seed {seed}: the drifted files fired alerts");
    assert!(keys.values().all(|s| s == "delivered"), "seed {seed}: {keys:?}");
    let mut sent: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in rx.received() {
        let key = r.idempotency_key.clone().expect("every request has an Idempotency-Key");
        let what = format!("{} {} window {}", r.body["groupKey"], r.body["status"], r.body["drift"]["window"]);
        sent.entry(key).or_default().insert(what);
    }
    for key in keys.keys() {
        assert!(sent.contains_key(key), "seed {seed}: notification {key} never reached the receiver");
    }
    for (key, what) in &sent {
        assert!(keys.contains_key(key), "seed {seed}: {key} was sent but is in no outbox row");
        assert_eq!(what.len(), 1, "seed {seed}: key {key} carried different notifications: {what:?}");
    }
    eprintln!(
        "kill loop: seed {seed}: {kills} kills, {} files, {rows_landed} rows, {} notifications ({} requests) in {:.1} s",
        landed.len(),
        keys.len(),
        rx.received().len(),
        started.elapsed().as_secs_f64()
    );
}
