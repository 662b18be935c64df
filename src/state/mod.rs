//! The daemon's durable state: one SQLite database in the state directory (WAL mode,
//! inspectable with `sqlite3`), guarded by a lock file so a second daemon on the same directory
//! refuses to start. It records which files each monitor has seen and consumed, quarantined
//! files, closed windows with their reports, and every test of every evaluation.
//!
//! The invariant that makes crashes harmless: marking a window's files consumed and storing
//! its evaluation happen in **one transaction** ([`State::commit_window`]). A kill -9 before
//! the commit leaves the files unconsumed (they are read again); after it, never read twice.
//! The state directory must be on local or block storage: SQLite's locking is unreliable on NFS.
//!
//! One file per concern, each an `impl State` block with its row types: `files` (listing
//! observations, failed reads, quarantine, consumed files), `windows` (committing and closing
//! windows, the parts of open ones), `clock` (the event clock of event-time windows), `alerts`
//! (alert state), `silences`, `outbox` (notifications waiting for delivery), `quarantine`
//! (quarantined files listed and released), `history` (stored windows, reports, pruning) and
//! `pictures` (what a window's HTML report draws, kept apart for a shorter retention) and
//! `timeline` (a window's neighbours and alerts, for its page);
//! `schema` holds the tables and their version.

mod alerts;
mod budget;
mod clock;
mod files;
mod history;
mod model;
mod outbox;
mod pictures;
mod quarantine;
mod schema;
mod silences;
#[cfg(test)]
mod testing;
mod timeline;
mod windows;

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rusqlite::Connection;

pub use clock::{Clock, ClockUpdate, Dropped};
pub use files::{Consumed, FileRecord};
pub use history::{TestRow, WindowRow};
pub use model::{JoinCounts, LabelCounts, LabelIn, ModelRow, ModelStep, ModelWindow, ModelWindowRow, labels_key};
pub use outbox::{OutboxRow, Pending, QueueStats};
pub use pictures::StoredReport;
pub use quarantine::QuarantinedFile;
pub use silences::SilenceRow;
pub use timeline::{PastWindow, WindowMark};
pub use windows::{Closing, Part};

/// The database file in a state directory.
const DB_FILE: &str = "drift.sqlite3";

/// How long a statement waits for another connection's write lock before failing.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// What the WAL is cut back to once it has been checkpointed: a large transaction (a label file
/// whose ids are scattered over a million held predictions rewrites most of their pages; 75 MiB
/// in BENCHMARKS.md) grows it, and without a limit SQLite keeps the file at that size for as
/// long as the daemon runs. Ordinary transactions stay well below it.
const WAL_SIZE_LIMIT: i64 = 16 << 20;

/// The open state database, holding the directory lock (or, read-only, not).
pub struct State {
    conn: Connection,
    _lock: Option<File>,
    dir: PathBuf,
    /// Test hook: the monitor whose window transactions panic before they commit.
    panic_in: Option<String>,
}

/// How a connection is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Read-write: WAL, full sync, foreign keys enforced, the schema created or brought up to date.
    Write,
    /// Read-only: nothing is created or changed.
    Read,
}

impl State {
    /// Opens (creating if needed) the state in `dir`, taking its lock.
    pub fn open(dir: &Path) -> Result<State> {
        create_dir(dir)?;
        let lock = lock(dir)?;
        let conn = connect(dir, Access::Write)?;
        Ok(State { conn, _lock: Some(lock), dir: dir.to_owned(), panic_in: None })
    }

    /// Opens the state for reading while a daemon may be running (`drift history`): no lock,
    /// a read-only connection (WAL lets readers and the writer work at once).
    pub fn open_read_only(dir: &Path) -> Result<State> {
        let db = dir.join(DB_FILE);
        if !db.exists() {
            bail!("{}: no state yet (has `drift run` run with this configuration?)", db.display());
        }
        let conn = connect(dir, Access::Read)?;
        Ok(State { conn, _lock: None, dir: dir.to_owned(), panic_in: None })
    }

    /// Opens the state for a command that writes beside a running daemon (`drift silence`):
    /// no lock (SQLite serialises the writes), the schema created if this is the first use.
    pub fn open_shared(dir: &Path) -> Result<State> {
        create_dir(dir)?;
        let conn = connect(dir, Access::Write)?;
        Ok(State { conn, _lock: None, dir: dir.to_owned(), panic_in: None })
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Test hook (the daemon's `DRIFT_TEST_PANIC_AT=state:MONITOR`): every transaction that
    /// commits or closes a window of `monitor` panics after writing its rows, before it
    /// commits. None (the default) turns it off.
    pub fn set_test_panic(&mut self, monitor: Option<String>) {
        self.panic_in = monitor;
    }
}

/// Panics when the test hook names `monitor` (inside a transaction, to prove it rolls back).
fn test_panic(hook: &Option<String>, monitor: &str) {
    if hook.as_deref() == Some(monitor) {
        panic!("test panic point state reached by monitor {monitor}, inside a window's transaction");
    }
}

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create the state directory", dir.display()))
}

/// Takes the state directory's lock: one daemon per directory.
fn lock(dir: &Path) -> Result<File> {
    let lock_path = dir.join("drift.lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("{}: cannot open", lock_path.display()))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "{}: another drift daemon is using this state directory; stop it, or give this one its own state_dir",
            dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            bail!(
                "{}: cannot lock: {e} (is the state directory on NFS? use local or block storage)",
                lock_path.display()
            )
        }
    }
}

/// The one connection setup of every open: a database written by a newer drift is refused
/// before anything is changed; a writable connection then gets WAL (cut back to
/// [`WAL_SIZE_LIMIT`] after a checkpoint), full sync and enforced foreign keys (evaluations go
/// with their window), and the schema is created or brought up
/// to date.
fn connect(dir: &Path, access: Access) -> Result<Connection> {
    let db = dir.join(DB_FILE);
    let conn = match access {
        Access::Write => Connection::open(&db),
        Access::Read => Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY),
    }
    .with_context(|| format!("{}: cannot open the state database", db.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let stored = schema::stored_version(&conn, &db)?;
    if access == Access::Write {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
        schema::create(&conn, stored).with_context(|| format!("{}: cannot create the schema", db.display()))?;
    }
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::schema::SCHEMA_VERSION;
    use super::*;

    /// A database as a newer drift would leave it: only `meta`, at schema version `version`.
    fn written_by(dir: &Path, version: &str) {
        let conn = Connection::open(dir.join(DB_FILE)).unwrap();
        conn.execute_batch("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)").unwrap();
        conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?1)", [version]).unwrap();
    }

    /// Makes the stored version unreadable.
    fn written_by_garbage(dir: &Path) {
        let conn = Connection::open(dir.join(DB_FILE)).unwrap();
        conn.execute("UPDATE meta SET value = 'three' WHERE key = 'schema_version'", []).unwrap();
    }

    fn tables(dir: &Path) -> Vec<String> {
        let conn = Connection::open(dir.join(DB_FILE)).unwrap();
        let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap()
    }

    fn version(st: &State) -> String {
        st.conn.query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |r| r.get(0)).unwrap()
    }

    type Open = fn(&Path) -> Result<State>;

    #[test]
    fn a_newer_schema_is_refused_by_every_open_in_one_line_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let newer = format!("{}", SCHEMA_VERSION + 1);
        written_by(dir.path(), &newer);
        let opens: [(&str, Open); 3] =
            [("open", State::open), ("open_shared", State::open_shared), ("open_read_only", State::open_read_only)];
        for (name, open) in opens {
            let e = format!("{:#}", open(dir.path()).err().unwrap_or_else(|| panic!("{name} opened schema {newer}")));
            let says =
                e.contains("newer drift") && e.contains(&format!("schema {newer}")) && e.contains("upgrade drift");
            assert!(says, "{name}: {e}");
            assert!(e.contains("drift.sqlite3"), "{name} names the file: {e}");
            assert!(!e.contains('\n'), "{name}: one line: {e}");
        }
        assert_eq!(tables(dir.path()), ["meta"], "nothing created in a newer drift's database");

        written_by_garbage(dir.path());
        let e = format!("{:#}", State::open_shared(dir.path()).err().unwrap());
        assert!(e.contains("unknown state schema version \"three\""), "{e}");
    }

    #[test]
    fn every_writable_open_enforces_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        for shared in [false, true] {
            let st = if shared { State::open_shared(dir.path()) } else { State::open(dir.path()) }.unwrap();
            let on: bool = st.conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
            assert!(on, "foreign_keys off (shared: {shared})");
            let orphan = st.conn.execute(
                "INSERT INTO evaluations (window_id, monitor, segment, column_name, test, drift, severity)
                 VALUES (12345, 'm', '', 'x', 'ks', 0, 'none')",
                [],
            );
            assert!(orphan.is_err(), "an evaluation of no window was stored (shared: {shared})");
        }
    }

    #[test]
    fn the_wal_shrinks_back_after_a_large_transaction_is_checkpointed() {
        let dir = tempfile::tempdir().unwrap();
        let st = State::open(dir.path()).unwrap();
        let wal = || std::fs::metadata(dir.path().join(format!("{DB_FILE}-wal"))).map_or(0, |m| m.len());
        st.conn.execute_batch("CREATE TABLE big (b BLOB)").unwrap();
        let big = WAL_SIZE_LIMIT * 2;
        st.conn.execute("INSERT INTO big (b) VALUES (zeroblob(?1))", [big]).unwrap();
        assert!(wal() > big as u64, "the transaction went through the WAL: {} bytes", wal());
        st.conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())).unwrap();
        // The next write starts the WAL over and cuts the file back to the limit.
        st.conn.execute("DELETE FROM big", []).unwrap();
        assert!(wal() <= WAL_SIZE_LIMIT as u64, "the WAL stayed at {} bytes", wal());
    }

    #[test]
    fn writable_opens_record_the_version_and_bring_an_older_schema_up_to_date() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(version(&State::open_shared(dir.path()).unwrap()), SCHEMA_VERSION.to_string());
        assert_eq!(version(&State::open(dir.path()).unwrap()), SCHEMA_VERSION.to_string());

        let old = tempfile::tempdir().unwrap();
        written_by(old.path(), "1");
        let st = State::open_shared(old.path()).unwrap();
        assert_eq!(version(&st), SCHEMA_VERSION.to_string());
        assert!(tables(old.path()).contains(&"outbox".to_owned()), "schema 2's tables created");
        assert!(tables(old.path()).contains(&"budget_minutes".to_owned()), "schema 4's table created");
        drop(st);
        let st = State::open_read_only(old.path()).unwrap();
        assert_eq!(st.history("m", 10).unwrap(), []);
    }

    /// What lets the daemon clear a poisoned state lock (`daemon::lock_state`): a panic in the
    /// middle of a transaction rolls it back when the unwinding drops it, and the connection
    /// goes on working.
    #[test]
    fn a_panic_inside_a_transaction_rolls_it_back_and_leaves_the_connection_usable() {
        let dir = tempfile::tempdir().unwrap();
        let mut st = State::open(dir.path()).unwrap();
        let count = |st: &State| -> i64 { st.conn.query_row("SELECT COUNT(*) FROM files", [], |r| r.get(0)).unwrap() };
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let tx = st.conn.transaction().unwrap();
            tx.execute(
                "INSERT INTO files (monitor, path, size, mtime_ms, first_seen_ms, status, updated_ms)
                 VALUES ('m', 'a.parquet', 1, 1, 1, 'consumed', 1)",
                [],
            )
            .unwrap();
            panic!("in the middle of the transaction");
        }));
        assert!(panicked.is_err());
        assert_eq!(count(&st), 0, "rolled back");
        st.observe("m", "b.parquet", 1, 1, 1).unwrap();
        assert_eq!(count(&st), 1, "the connection works after the panic");
    }

    #[test]
    fn the_lock_keeps_a_second_daemon_out_but_not_shared_and_read_only_opens() {
        let dir = tempfile::tempdir().unwrap();
        assert!(State::open_read_only(dir.path()).err().unwrap().to_string().contains("no state yet"));
        let _daemon = State::open(dir.path()).unwrap();
        let e = State::open(dir.path()).err().unwrap().to_string();
        assert!(e.contains("another drift daemon"), "{e}");
        State::open_shared(dir.path()).unwrap();
        let ro = State::open_read_only(dir.path()).unwrap();
        assert!(ro.conn.execute("DELETE FROM files", []).is_err(), "read-only");
    }
}
