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
//! (alert state), `silences`, `outbox` (notifications waiting for delivery) and `history`
//! (stored windows, reports, pruning); `schema` holds the tables and their version.

mod alerts;
mod clock;
mod files;
mod history;
mod outbox;
mod schema;
mod silences;
mod windows;

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OptionalExtension};

pub use clock::{Clock, ClockUpdate};
pub use files::{Consumed, FileRecord};
pub use history::{TestRow, WindowRow};
pub use outbox::{OutboxRow, Pending, QueueStats};
pub use silences::SilenceRow;
pub use windows::{Closing, Part};

use schema::{SCHEMA, SCHEMA_VERSION};

/// The open state database, holding the directory lock (or, read-only, not).
pub struct State {
    conn: Connection,
    _lock: Option<File>,
    dir: PathBuf,
}

impl State {
    /// Opens (creating if needed) the state in `dir`, taking its lock.
    pub fn open(dir: &Path) -> Result<State> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the state directory", dir.display()))?;
        let lock_path = dir.join("drift.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("{}: cannot open", lock_path.display()))?;
        match lock.try_lock() {
            Ok(()) => {}
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
        let db = dir.join("drift.sqlite3");
        let conn =
            Connection::open(&db).with_context(|| format!("{}: cannot open the state database", db.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA).with_context(|| format!("{}: cannot create the schema", db.display()))?;
        let version: Option<String> =
            conn.query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |r| r.get(0)).optional()?;
        match version.as_deref().map(str::parse::<i64>) {
            None => {
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                    [SCHEMA_VERSION.to_string()],
                )?;
            }
            Some(Ok(v)) if v < SCHEMA_VERSION => {
                // Older schemas only lack tables, which SCHEMA has just created.
                conn.execute("UPDATE meta SET value = ?1 WHERE key = 'schema_version'", [SCHEMA_VERSION.to_string()])?;
            }
            Some(Ok(SCHEMA_VERSION)) => {}
            Some(_) => {
                bail!("{}: the state was written by a newer drift (schema {version:?}); upgrade drift", db.display())
            }
        }
        Ok(State { conn, _lock: Some(lock), dir: dir.to_owned() })
    }

    /// Opens the state for reading while a daemon may be running (`drift history`): no lock,
    /// a read-only connection (WAL lets readers and the writer work at once).
    pub fn open_read_only(dir: &Path) -> Result<State> {
        let db = dir.join("drift.sqlite3");
        if !db.exists() {
            bail!("{}: no state yet (has `drift run` run with this configuration?)", db.display());
        }
        let conn = Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .with_context(|| format!("{}: cannot open the state database", db.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(State { conn, _lock: None, dir: dir.to_owned() })
    }

    /// Opens the state for a command that writes beside a running daemon (`drift silence`):
    /// no lock (SQLite serialises the writes), the schema created if this is the first use.
    pub fn open_shared(dir: &Path) -> Result<State> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the state directory", dir.display()))?;
        let db = dir.join("drift.sqlite3");
        let conn =
            Connection::open(&db).with_context(|| format!("{}: cannot open the state database", db.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.execute_batch(SCHEMA).with_context(|| format!("{}: cannot create the schema", db.display()))?;
        Ok(State { conn, _lock: None, dir: dir.to_owned() })
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
