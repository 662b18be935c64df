//! The daemon's durable state: one SQLite database in the state directory (WAL mode,
//! inspectable with `sqlite3`), guarded by a lock file so a second daemon on the same directory
//! refuses to start. It records which files each monitor has seen and consumed, quarantined
//! files, closed windows with their reports, and every test of every evaluation.
//!
//! The invariant that makes crashes harmless: marking a window's files consumed and storing
//! its evaluation happen in **one transaction** ([`State::commit_window`]). A kill -9 before
//! the commit leaves the files unconsumed (they are read again); after it, never read twice.
//! The state directory must be on local or block storage: SQLite's locking is unreliable on NFS.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OptionalExtension, params};

use crate::alerts::lifecycle::{AlertState, Silence};
use crate::alerts::payload::Notification;
use crate::alerts::route::{self, Decision, Operational, Outgoing, Routing};
use crate::engine::Report;

const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    monitor TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ms INTEGER NOT NULL,
    first_seen_ms INTEGER NOT NULL,
    status TEXT NOT NULL,            -- seen | consumed | quarantined
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    window_id INTEGER,
    rows INTEGER,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (monitor, path)
);
CREATE TABLE IF NOT EXISTS windows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor TEXT NOT NULL,
    kind TEXT NOT NULL,
    closed_ms INTEGER NOT NULL,
    files INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    status TEXT NOT NULL,            -- evaluated | insufficient
    start_ms INTEGER,                -- event-time windows: [start, end)
    end_ms INTEGER,
    drift INTEGER NOT NULL,
    severity TEXT NOT NULL,
    report TEXT                      -- the JSON report
);
CREATE INDEX IF NOT EXISTS windows_by_monitor ON windows (monitor, id);
CREATE TABLE IF NOT EXISTS evaluations (
    window_id INTEGER NOT NULL REFERENCES windows(id) ON DELETE CASCADE,
    monitor TEXT NOT NULL,
    segment TEXT NOT NULL,           -- '' for the whole window
    column_name TEXT NOT NULL,
    test TEXT NOT NULL,
    statistic REAL,
    p_value REAL,
    p_value_adjusted REAL,
    alpha REAL,
    floor REAL,
    critical_floor REAL,
    drift INTEGER NOT NULL,
    severity TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS evaluations_by_window ON evaluations (window_id);
CREATE TABLE IF NOT EXISTS window_parts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor TEXT NOT NULL,
    window_key INTEGER NOT NULL,     -- 0 for row windows; the window's index for event time
    segment TEXT NOT NULL,           -- '' without segments; else the rows' segment label
    file TEXT NOT NULL,              -- the consumed file the rows came from
    rows INTEGER NOT NULL,
    profile BLOB NOT NULL,           -- a snapshot of the file's rows (exact up to a cap, else a sketch)
    created_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS window_parts_by_monitor ON window_parts (monitor, window_key, seq);
CREATE TABLE IF NOT EXISTS event_clock (
    monitor TEXT PRIMARY KEY,
    max_event_ms INTEGER,            -- the latest event time seen (watermark = this - lateness)
    closed_until_ms INTEGER,         -- rows before this are late: their window is closed
    last_data_ms INTEGER NOT NULL,   -- wall clock of the last rows, for the idle timeout
    late_rows INTEGER NOT NULL DEFAULT 0
);
-- Schema 2: alerting.
CREATE TABLE IF NOT EXISTS alert_state (
    monitor TEXT NOT NULL,
    key TEXT NOT NULL,               -- segment label ('' = whole window), op:ALERTNAME, op:ALERTNAME:SINK
    state TEXT NOT NULL,             -- JSON: streaks and what is firing
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (monitor, key)
);
CREATE TABLE IF NOT EXISTS silences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor TEXT NOT NULL,
    column_name TEXT,                -- NULL: every column
    segment TEXT,                    -- NULL: every segment
    until_ms INTEGER NOT NULL,
    reason TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expired_ms INTEGER               -- set by `drift silence expire`
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sink TEXT NOT NULL,
    monitor TEXT NOT NULL,
    alertname TEXT NOT NULL,
    window_id INTEGER,               -- the window that caused it (drift)
    resolved INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    notification TEXT NOT NULL,      -- JSON; never the sink's URL
    status TEXT NOT NULL,            -- pending | delivered | dead | silenced
    attempts INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    last_error TEXT                  -- redacted: status and body, never a URL
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (status, sink, id);
";

/// Inserts a window row and, if evaluated, every test of its report; returns the window id.
fn insert_window(
    tx: &rusqlite::Transaction,
    monitor: &str,
    kind: &str,
    files: u64,
    rows: u64,
    report: Option<&Report>,
    now_ms: i64,
) -> Result<i64> {
    let (status, drift, severity, json) = match report {
        Some(r) => (
            "evaluated",
            r.drift,
            r.severity.as_str(),
            Some(serde_json::to_string(r).map_err(|e| anyhow::anyhow!("cannot store the report: {e}"))?),
        ),
        None => ("insufficient", false, "none", None),
    };
    tx.execute(
        "INSERT INTO windows (monitor, kind, closed_ms, files, rows, status, drift, severity, report)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![monitor, kind, now_ms, files as i64, rows as i64, status, drift, severity, json],
    )?;
    let id = tx.last_insert_rowid();
    if let Some(r) = report {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO evaluations (window_id, monitor, segment, column_name, test, statistic, p_value,
                 p_value_adjusted, alpha, floor, critical_floor, drift, severity)
             VALUES (?1, ?2, ?13, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?;
        for c in &r.columns {
            for t in &c.tests {
                stmt.execute(params![
                    id,
                    monitor,
                    c.column,
                    t.test.as_str(),
                    t.statistic,
                    t.p_value,
                    t.p_value_adjusted,
                    t.threshold.alpha,
                    t.threshold.floor,
                    t.threshold.critical_floor,
                    t.drift,
                    t.severity.as_str(),
                    c.segment.as_deref().unwrap_or("")
                ])?;
            }
        }
        // Schema findings have no statistic; a drifting one makes the window critical.
        let mut schema = tx.prepare_cached(
            "INSERT INTO evaluations (window_id, monitor, segment, column_name, test, drift, severity)
             VALUES (?1, ?2, '', ?3, ?4, ?5, ?6)",
        )?;
        for (column, finding, drift) in r.schema.findings() {
            let severity = if drift { "critical" } else { "none" };
            schema.execute(params![id, monitor, column, finding, drift, severity])?;
        }
    }
    Ok(id)
}

/// The monitor's stored alert states, by key. An unreadable one is logged and left out (the
/// alert starts over, and the next change overwrites it) rather than stopping evaluations.
fn alert_states(tx: &rusqlite::Transaction, monitor: &str) -> Result<std::collections::BTreeMap<String, AlertState>> {
    let mut stmt = tx.prepare_cached("SELECT key, state FROM alert_state WHERE monitor = ?1")?;
    let rows = stmt.query_map([monitor], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = std::collections::BTreeMap::new();
    for row in rows {
        let (key, json) = row?;
        match serde_json::from_str(&json) {
            Ok(state) => {
                out.insert(key, state);
            }
            Err(e) => tracing::error!(monitor, key, error = %e, "alert state unreadable; the alert starts over"),
        }
    }
    Ok(out)
}

/// Silences of a monitor that have not ended or been expired by `now_ms`.
fn active_silences(conn: &Connection, monitor: &str, now_ms: i64) -> Result<Vec<Silence>> {
    let mut stmt = conn.prepare_cached(
        "SELECT column_name, segment, until_ms FROM silences
         WHERE monitor = ?1 AND until_ms > ?2 AND expired_ms IS NULL",
    )?;
    let rows = stmt.query_map(params![monitor, now_ms], |r| {
        Ok(Silence { monitor: monitor.to_owned(), column: r.get(0)?, segment: r.get(1)?, until_ms: r.get(2)? })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Stores a routing decision: the alert states and the outbox rows.
fn apply(tx: &rusqlite::Transaction, monitor: &str, d: &Decision, now_ms: i64) -> Result<()> {
    for (key, state) in &d.states {
        tx.execute(
            "INSERT INTO alert_state (monitor, key, state, updated_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (monitor, key) DO UPDATE SET state = ?3, updated_ms = ?4",
            params![monitor, key, serde_json::to_string(state)?, now_ms],
        )?;
    }
    enqueue(tx, &d.outgoing, now_ms)
}

/// Queues notifications in the outbox (silenced ones are recorded as such).
fn enqueue(tx: &rusqlite::Transaction, outgoing: &[Outgoing], now_ms: i64) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO outbox (sink, monitor, alertname, window_id, resolved, idempotency_key, notification, status,
             created_ms, next_attempt_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?9)",
    )?;
    for o in outgoing {
        let n = &o.notification;
        stmt.execute(params![
            o.sink,
            n.monitor,
            n.alertname,
            (n.window > 0).then_some(n.window),
            n.resolved,
            n.idempotency_key(),
            serde_json::to_string(n)?,
            if o.silenced { "silenced" } else { "pending" },
            now_ms
        ])?;
    }
    Ok(())
}

/// Steps a monitor's drift alerts for a closed window, in the window's transaction.
fn alert_window(
    tx: &rusqlite::Transaction,
    routing: &Routing,
    window_id: i64,
    report: Option<&Report>,
    now_ms: i64,
) -> Result<()> {
    let prior = alert_states(tx, &routing.monitor)?;
    let silences = active_silences(tx, &routing.monitor, now_ms)?;
    let d = route::window(routing, window_id, report, &prior, &silences, now_ms);
    apply(tx, &routing.monitor, &d, now_ms)
}

/// Steps an operational alert in a transaction and queues what it sends; with `only_if_known`,
/// nothing happens for an alert that has no state yet (a delivery that succeeds does not create
/// a row per sink and monitor). Returns how many notifications were queued (not silenced).
fn observe(
    tx: &rusqlite::Transaction,
    routing: &Routing,
    op: &Operational,
    only_if_known: bool,
    now_ms: i64,
) -> Result<usize> {
    let prior = alert_states(tx, &routing.monitor)?.remove(&op.key);
    if only_if_known && prior.is_none() {
        return Ok(0);
    }
    let silences = active_silences(tx, &routing.monitor, now_ms)?;
    let d = route::operational(routing, op, prior.as_ref(), &silences, now_ms);
    apply(tx, &routing.monitor, &d, now_ms)?;
    Ok(d.outgoing.iter().filter(|o| !o.silenced).count())
}

/// A notification waiting in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// Outbox row id (delivery order within a sink).
    pub id: i64,
    /// Sink name.
    pub sink: String,
    /// What to send.
    pub notification: Notification,
    /// Attempts so far.
    pub attempts: u32,
    /// When it was queued.
    pub created_ms: i64,
    /// Not before this.
    pub next_attempt_ms: i64,
}

/// One sink's queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStats {
    /// Sink name.
    pub sink: String,
    /// Pending notifications.
    pub depth: u64,
    /// When the oldest was queued.
    pub oldest_ms: i64,
}

/// A silence as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SilenceRow {
    /// Id (for `drift silence expire`).
    pub id: i64,
    /// The silence.
    pub silence: Silence,
    /// Why.
    pub reason: String,
    /// When it was added.
    pub created_ms: i64,
    /// When it was expired by hand.
    pub expired_ms: Option<i64>,
}

/// A notification as `drift alert list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// Outbox id.
    pub id: i64,
    /// Sink.
    pub sink: String,
    /// Monitor.
    pub monitor: String,
    /// Alert name.
    pub alertname: String,
    /// Causing window.
    pub window_id: Option<i64>,
    /// Resolved message.
    pub resolved: bool,
    /// The key sent as `Idempotency-Key`.
    pub idempotency_key: String,
    /// pending, delivered, dead or silenced.
    pub status: String,
    /// Attempts.
    pub attempts: u32,
    /// Queued at.
    pub created_ms: i64,
    /// Last change.
    pub updated_ms: i64,
    /// Last error (redacted).
    pub last_error: Option<String>,
}

/// What the state knows of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    /// Size at the last observation.
    pub size: u64,
    /// Modification time at the last observation (ms since the epoch).
    pub mtime_ms: i64,
    /// `seen`, `consumed` or `quarantined`.
    pub status: String,
    /// Failed attempts to read it.
    pub attempts: u32,
}

/// One stored window, for `drift history`.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowRow {
    /// Window id.
    pub id: i64,
    /// When it closed (ms since the epoch).
    pub closed_ms: i64,
    /// Files and rows in it.
    pub files: u64,
    /// Rows.
    pub rows: u64,
    /// `evaluated` or `insufficient`.
    pub status: String,
    /// Whether it drifted.
    pub drift: bool,
    /// Highest severity.
    pub severity: String,
    /// Event-time windows: `[start, end)` in ms.
    pub span: Option<(i64, i64)>,
    /// Every test of the window.
    pub tests: Vec<TestRow>,
}

/// One stored test result.
#[derive(Debug, Clone, PartialEq)]
pub struct TestRow {
    /// Segment ('' for the whole window).
    pub segment: String,
    /// Column.
    pub column: String,
    /// Test name.
    pub test: String,
    /// Statistic.
    pub statistic: Option<f64>,
    /// Adjusted p-value.
    pub p_value_adjusted: Option<f64>,
    /// Whether it drifted.
    pub drift: bool,
    /// none, warning or critical.
    pub severity: String,
}

/// A part of an open window: the profile of one file's rows of one window and segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Sequence number (0 before it is stored).
    pub seq: i64,
    /// Which window (0 for row windows).
    pub key: i64,
    /// Segment label ('' without segments).
    pub segment: String,
    /// The consumed file the rows came from (set when stored).
    pub file: String,
    /// Rows.
    pub rows: u64,
    /// The rows' snapshot, as bytes.
    pub profile: Vec<u8>,
}

/// An open window being closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closing {
    /// Window kind (`rows`, `time`).
    pub kind: &'static str,
    /// Which open window (0 for row windows).
    pub key: i64,
    /// Parts up to this sequence number belong to it.
    pub last_seq: i64,
    /// Files in it.
    pub files: u64,
    /// Rows in it.
    pub rows: u64,
    /// Event-time windows: `[start, end)` in ms.
    pub span: Option<(i64, i64)>,
}

/// The event clock of a monitor with event-time windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clock {
    /// The latest event time seen.
    pub max_event_ms: Option<i64>,
    /// Rows before this are late (their window closed).
    pub closed_until_ms: Option<i64>,
    /// Wall clock of the last rows seen.
    pub last_data_ms: Option<i64>,
    /// Late rows counted so far.
    pub late_rows: u64,
}

/// How a consumed file moves the event clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockUpdate {
    /// The latest event time in the file (`None`: no timestamped row).
    pub max_event_ms: Option<i64>,
    /// Rows that arrived after their window closed, or without a timestamp.
    pub late_rows: u64,
}

/// A file consumed by a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumed {
    /// Path (as listed).
    pub path: String,
    /// Size.
    pub size: u64,
    /// Modification time (ms).
    pub mtime_ms: i64,
    /// Rows read.
    pub rows: u64,
}

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

    /// Consumed files of a monitor: (path, mtime, when consumed), ms since the epoch.
    pub fn consumed_files(&self, monitor: &str) -> Result<Vec<(String, i64, i64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT path, mtime_ms, updated_ms FROM files WHERE monitor = ?1 AND status = 'consumed' ORDER BY mtime_ms",
        )?;
        let rows = stmt.query_map([monitor], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every file the monitor has seen, by path.
    pub fn files(&self, monitor: &str) -> Result<HashMap<String, FileRecord>> {
        let mut stmt =
            self.conn.prepare_cached("SELECT path, size, mtime_ms, status, attempts FROM files WHERE monitor = ?1")?;
        let rows = stmt.query_map([monitor], |r| {
            Ok((
                r.get::<_, String>(0)?,
                FileRecord {
                    size: r.get::<_, i64>(1)? as u64,
                    mtime_ms: r.get(2)?,
                    status: r.get(3)?,
                    attempts: r.get(4)?,
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<HashMap<_, _>>>()?)
    }

    /// Records the size and mtime a listing showed for a file not consumed yet.
    pub fn observe(&mut self, monitor: &str, path: &str, size: u64, mtime_ms: i64, now_ms: i64) -> Result<()> {
        self.conn.execute(
            "INSERT INTO files (monitor, path, size, mtime_ms, first_seen_ms, status, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, 'seen', ?5)
             ON CONFLICT (monitor, path) DO UPDATE SET size = ?3, mtime_ms = ?4, updated_ms = ?5
             WHERE status = 'seen'",
            params![monitor, path, size as i64, mtime_ms, now_ms],
        )?;
        Ok(())
    }

    /// Counts a failed read; returns the attempts so far.
    pub fn failed_attempt(&mut self, monitor: &str, path: &str, error: &str, now_ms: i64) -> Result<u32> {
        self.conn.execute(
            "UPDATE files SET attempts = attempts + 1, error = ?3, updated_ms = ?4 WHERE monitor = ?1 AND path = ?2",
            params![monitor, path, error, now_ms],
        )?;
        Ok(self.conn.query_row(
            "SELECT attempts FROM files WHERE monitor = ?1 AND path = ?2",
            params![monitor, path],
            |r| r.get(0),
        )?)
    }

    /// Sets a file aside for good, with the reason.
    pub fn quarantine(&mut self, monitor: &str, path: &str, error: &str, now_ms: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE files SET status = 'quarantined', error = ?3, updated_ms = ?4 WHERE monitor = ?1 AND path = ?2",
            params![monitor, path, error, now_ms],
        )?;
        Ok(())
    }

    /// Quarantined files of a monitor: (path, error).
    pub fn quarantined(&self, monitor: &str) -> Result<Vec<(String, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT path, COALESCE(error, '') FROM files WHERE monitor = ?1 AND status = 'quarantined' ORDER BY path",
        )?;
        let rows = stmt.query_map([monitor], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// In one transaction: marks `files` consumed, stores the window and, if evaluated, every
    /// test of its report, and steps the monitor's alerts, queueing the notifications the
    /// window causes in the outbox. Returns the window id.
    pub fn commit_window(
        &mut self,
        routing: &Routing,
        kind: &str,
        files: &[Consumed],
        rows: u64,
        report: Option<&Report>,
        now_ms: i64,
    ) -> Result<i64> {
        let monitor = routing.monitor.as_str();
        let tx = self.conn.transaction()?;
        let id = insert_window(&tx, monitor, kind, files.len() as u64, rows, report, now_ms)?;
        alert_window(&tx, routing, id, report, now_ms)?;
        for f in files {
            tx.execute(
                "INSERT INTO files (monitor, path, size, mtime_ms, first_seen_ms, status, window_id, rows, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'consumed', ?6, ?7, ?5)
                 ON CONFLICT (monitor, path) DO UPDATE SET size = ?3, mtime_ms = ?4, status = 'consumed',
                     window_id = ?6, rows = ?7, updated_ms = ?5",
                params![monitor, f.path, f.size as i64, f.mtime_ms, now_ms, id, f.rows as i64],
            )?;
        }
        tx.commit()?;
        Ok(id)
    }

    /// In one transaction: marks a file consumed and stores its profiles as parts of the
    /// monitor's open windows (key 0 for row windows), with the
    /// event clock's progress for event-time windows. Open windows then survive restarts
    /// without their files.
    pub fn add_parts(
        &mut self,
        monitor: &str,
        file: &Consumed,
        parts: &[Part],
        clock: Option<ClockUpdate>,
        now_ms: i64,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        for p in parts {
            tx.execute(
                "INSERT INTO window_parts (monitor, window_key, segment, file, rows, profile, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![monitor, p.key, p.segment, file.path, p.rows as i64, p.profile, now_ms],
            )?;
        }
        tx.execute(
            "INSERT INTO files (monitor, path, size, mtime_ms, first_seen_ms, status, rows, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, 'consumed', ?6, ?5)
             ON CONFLICT (monitor, path) DO UPDATE SET size = ?3, mtime_ms = ?4, status = 'consumed',
                 rows = ?6, updated_ms = ?5",
            params![monitor, file.path, file.size as i64, file.mtime_ms, now_ms, file.rows as i64],
        )?;
        if let Some(c) = clock {
            tx.execute(
                "INSERT INTO event_clock (monitor, max_event_ms, last_data_ms, late_rows) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (monitor) DO UPDATE SET
                     max_event_ms = MAX(COALESCE(max_event_ms, ?2), COALESCE(?2, max_event_ms)),
                     last_data_ms = CASE WHEN ?2 IS NULL THEN last_data_ms ELSE ?3 END,
                     late_rows = late_rows + ?4",
                params![monitor, c.max_event_ms, now_ms, c.late_rows as i64],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The event clock of a monitor with event-time windows.
    pub fn clock(&self, monitor: &str) -> Result<Clock> {
        Ok(self
            .conn
            .query_row(
                "SELECT max_event_ms, closed_until_ms, last_data_ms, late_rows FROM event_clock WHERE monitor = ?1",
                [monitor],
                |r| {
                    Ok(Clock {
                        max_event_ms: r.get(0)?,
                        closed_until_ms: r.get(1)?,
                        last_data_ms: Some(r.get(2)?),
                        late_rows: r.get::<_, i64>(3)? as u64,
                    })
                },
            )
            .optional()?
            .unwrap_or_default())
    }

    /// Open windows: (window_key, rows), by key.
    pub fn open_windows(&self, monitor: &str) -> Result<Vec<(i64, u64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT window_key, SUM(rows) FROM window_parts WHERE monitor = ?1 GROUP BY window_key ORDER BY window_key",
        )?;
        let rows = stmt.query_map([monitor], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The parts of one open window, oldest first (`seq` set).
    pub fn parts(&self, monitor: &str, key: i64) -> Result<Vec<Part>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, segment, file, rows, profile FROM window_parts WHERE monitor = ?1 AND window_key = ?2 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![monitor, key], |r| {
            Ok(Part {
                seq: r.get(0)?,
                key,
                segment: r.get(1)?,
                file: r.get(2)?,
                rows: r.get::<_, i64>(3)? as u64,
                profile: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Rows in an open window so far.
    pub fn open_rows(&self, monitor: &str, key: i64) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT COALESCE(SUM(rows), 0) FROM window_parts WHERE monitor = ?1 AND window_key = ?2",
            params![monitor, key],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// In one transaction: stores the closed window (as [`State::commit_window`] does, with no
    /// files of its own), deletes its parts and, for an event-time window, moves the point
    /// before which rows are late to its end.
    pub fn close_window(
        &mut self,
        routing: &Routing,
        closing: &Closing,
        report: Option<&Report>,
        now_ms: i64,
    ) -> Result<i64> {
        let monitor = routing.monitor.as_str();
        let tx = self.conn.transaction()?;
        let id = insert_window(&tx, monitor, closing.kind, closing.files, closing.rows, report, now_ms)?;
        alert_window(&tx, routing, id, report, now_ms)?;
        if let Some((start, end)) = closing.span {
            tx.execute("UPDATE windows SET start_ms = ?2, end_ms = ?3 WHERE id = ?1", params![id, start, end])?;
            tx.execute(
                "INSERT INTO event_clock (monitor, closed_until_ms, last_data_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (monitor) DO UPDATE SET closed_until_ms = MAX(COALESCE(closed_until_ms, ?2), ?2)",
                params![monitor, end, now_ms],
            )?;
        }
        tx.execute(
            "DELETE FROM window_parts WHERE monitor = ?1 AND window_key = ?2 AND seq <= ?3",
            params![monitor, closing.key, closing.last_seq],
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// When a new file was last seen for the monitor (ms since the epoch).
    pub fn last_file_seen(&self, monitor: &str) -> Result<Option<i64>> {
        Ok(self.conn.query_row("SELECT MAX(first_seen_ms) FROM files WHERE monitor = ?1", [monitor], |r| r.get(0))?)
    }

    /// The JSON report of a window, if it was evaluated.
    pub fn report(&self, window_id: i64) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT report FROM windows WHERE id = ?1", [window_id], |r| r.get(0))
            .optional()?
            .flatten())
    }

    /// The latest `limit` windows of a monitor, newest first, with their tests.
    pub fn history(&self, monitor: &str, limit: usize) -> Result<Vec<WindowRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, closed_ms, files, rows, status, drift, severity, start_ms, end_ms FROM windows
             WHERE monitor = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let windows = stmt
            .query_map(params![monitor, limit as i64], |r| {
                Ok(WindowRow {
                    id: r.get(0)?,
                    closed_ms: r.get(1)?,
                    files: r.get::<_, i64>(2)? as u64,
                    rows: r.get::<_, i64>(3)? as u64,
                    status: r.get(4)?,
                    drift: r.get(5)?,
                    severity: r.get(6)?,
                    span: match (r.get::<_, Option<i64>>(7)?, r.get::<_, Option<i64>>(8)?) {
                        (Some(a), Some(b)) => Some((a, b)),
                        _ => None,
                    },
                    tests: Vec::new(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(windows.len());
        let mut tests = self.conn.prepare_cached(
            "SELECT segment, column_name, test, statistic, p_value_adjusted, drift, severity FROM evaluations
             WHERE window_id = ?1 ORDER BY rowid",
        )?;
        for mut w in windows {
            w.tests = tests
                .query_map([w.id], |r| {
                    Ok(TestRow {
                        segment: r.get(0)?,
                        column: r.get(1)?,
                        test: r.get(2)?,
                        statistic: r.get(3)?,
                        p_value_adjusted: r.get(4)?,
                        drift: r.get(5)?,
                        severity: r.get(6)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            out.push(w);
        }
        Ok(out)
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

    /// Steps an operational alert and queues what it sends, in one transaction. Returns how
    /// many notifications were queued (silenced ones not counted).
    pub fn observe_operational(&mut self, routing: &Routing, op: &Operational, now_ms: i64) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let queued = observe(&tx, routing, op, false, now_ms)?;
        tx.commit()?;
        Ok(queued)
    }

    /// The alerts of a monitor that are firing now, by key (segment label, or `op:NAME`).
    pub fn firing(&mut self, monitor: &str) -> Result<Vec<(String, crate::alerts::lifecycle::Firing)>> {
        let tx = self.conn.transaction()?;
        let states = alert_states(&tx, monitor)?;
        Ok(states.into_iter().filter_map(|(k, s)| s.firing.map(|f| (k, f))).collect())
    }

    /// The oldest pending notification of every sink: each sink delivers in order.
    pub fn outbox_heads(&self) -> Result<Vec<Pending>> {
        loop {
            let mut stmt = self.conn.prepare_cached(
                "SELECT id, sink, notification, attempts, created_ms, next_attempt_ms FROM outbox
                 WHERE id IN (SELECT MIN(id) FROM outbox WHERE status = 'pending' GROUP BY sink) ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })?;
            let mut out = Vec::new();
            let mut unreadable = Vec::new();
            for row in rows {
                let (id, sink, json, attempts, created_ms, next_attempt_ms) = row?;
                match serde_json::from_str(&json) {
                    Ok(notification) => out.push(Pending {
                        id,
                        sink,
                        notification,
                        attempts: attempts as u32,
                        created_ms,
                        next_attempt_ms,
                    }),
                    Err(e) => unreadable.push((id, format!("the stored notification is unreadable: {e}"))),
                }
            }
            if unreadable.is_empty() {
                return Ok(out);
            }
            // One damaged row must not stop a sink's queue: it is dead-lettered and the sink's
            // next notification becomes its head.
            for (id, error) in unreadable {
                tracing::error!(id, error = %error, "notification dead-lettered");
                self.conn
                    .execute("UPDATE outbox SET status = 'dead', last_error = ?2 WHERE id = ?1", params![id, error])?;
            }
        }
    }

    /// Marks a notification delivered; with `recovered` (the monitor's routing and the sink),
    /// resolves, in the same transaction, a firing lost-notification alert of that sink.
    pub fn outbox_delivered(&mut self, id: i64, recovered: Option<(&Routing, &str)>, now_ms: i64) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE outbox SET status = 'delivered', attempts = attempts + 1, updated_ms = ?2, last_error = NULL
             WHERE id = ?1",
            params![id, now_ms],
        )?;
        if let Some((routing, sink)) = recovered {
            observe(&tx, routing, &Operational::delivery(sink, None), true, now_ms)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records a failed attempt and when to try again.
    pub fn outbox_retry(&mut self, id: i64, next_ms: i64, error: &str, now_ms: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?2, updated_ms = ?3, last_error = ?4
             WHERE id = ?1",
            params![id, next_ms, now_ms, error],
        )?;
        Ok(())
    }

    /// Dead-letters a notification and, in the same transaction, steps the lost-notification
    /// alert of its monitor and sink (`lost`: the routing and what to say), queueing what that
    /// sends to the monitor's other operational sinks.
    pub fn outbox_dead(
        &mut self,
        id: i64,
        error: &str,
        lost: Option<(&Routing, &str, &str)>,
        now_ms: i64,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE outbox SET status = 'dead', attempts = attempts + 1, updated_ms = ?2, last_error = ?3
             WHERE id = ?1",
            params![id, now_ms, error],
        )?;
        if let Some((routing, sink, what)) = lost {
            observe(&tx, routing, &Operational::delivery(sink, Some(what)), false, now_ms)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Pending notifications per sink.
    pub fn outbox_stats(&self) -> Result<Vec<QueueStats>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT sink, COUNT(*), MIN(created_ms) FROM outbox WHERE status = 'pending' GROUP BY sink ORDER BY sink",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(QueueStats { sink: r.get(0)?, depth: r.get::<_, i64>(1)? as u64, oldest_ms: r.get(2)? })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The latest `limit` notifications, newest first (optionally of one monitor, in one
    /// status).
    pub fn notifications(&self, monitor: Option<&str>, status: Option<&str>, limit: usize) -> Result<Vec<OutboxRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, sink, monitor, alertname, window_id, resolved, status, attempts, created_ms, updated_ms,
                 last_error, idempotency_key
             FROM outbox WHERE (?1 IS NULL OR monitor = ?1) AND (?3 IS NULL OR status = ?3) ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![monitor, limit as i64, status], |r| {
            Ok(OutboxRow {
                id: r.get(0)?,
                sink: r.get(1)?,
                monitor: r.get(2)?,
                alertname: r.get(3)?,
                window_id: r.get(4)?,
                resolved: r.get(5)?,
                status: r.get(6)?,
                attempts: r.get::<_, i64>(7)? as u32,
                created_ms: r.get(8)?,
                updated_ms: r.get(9)?,
                last_error: r.get(10)?,
                idempotency_key: r.get(11)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Queues dead-lettered notifications again (by id, or every one of `sink`): pending, due
    /// now, attempts and age counted afresh. They keep their ids, so each sink still receives
    /// in the original order. Returns how many.
    pub fn outbox_requeue(&mut self, ids: &[i64], sink: Option<&str>, now_ms: i64) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let mut n = 0;
        let requeue = "UPDATE outbox SET status = 'pending', attempts = 0, created_ms = ?2, next_attempt_ms = ?2,
                 updated_ms = ?2";
        if let Some(sink) = sink {
            n += tx.execute(&format!("{requeue} WHERE status = 'dead' AND sink = ?1"), params![sink, now_ms])?;
        }
        for id in ids {
            n += tx.execute(&format!("{requeue} WHERE status = 'dead' AND id = ?1"), params![id, now_ms])?;
        }
        tx.commit()?;
        Ok(n)
    }

    /// Adds a silence; returns its id.
    pub fn silence_add(&mut self, silence: &Silence, reason: &str, now_ms: i64) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO silences (monitor, column_name, segment, until_ms, reason, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![silence.monitor, silence.column, silence.segment, silence.until_ms, reason, now_ms],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Every silence, newest first.
    pub fn silences(&self) -> Result<Vec<SilenceRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, monitor, column_name, segment, until_ms, reason, created_ms, expired_ms FROM silences
             ORDER BY id DESC",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SilenceRow {
                id: r.get(0)?,
                silence: Silence { monitor: r.get(1)?, column: r.get(2)?, segment: r.get(3)?, until_ms: r.get(4)? },
                reason: r.get(5)?,
                created_ms: r.get(6)?,
                expired_ms: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Ends a silence now; false if there is no such active silence.
    pub fn silence_expire(&mut self, id: i64, now_ms: i64) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE silences SET expired_ms = ?2 WHERE id = ?1 AND expired_ms IS NULL AND until_ms > ?2",
            params![id, now_ms],
        )?;
        Ok(n == 1)
    }

    /// Deletes windows (and their evaluations) closed before `before_ms`, quarantine records
    /// older than `quarantine_before_ms` and finished notifications (delivered, dead-lettered,
    /// silenced) older than `notifications_before_ms`. Consumed-file records stay: they are
    /// what keeps a file from being read twice; pending notifications stay until delivered.
    pub fn prune(&mut self, before_ms: i64, quarantine_before_ms: i64, notifications_before_ms: i64) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let n = tx.execute("DELETE FROM windows WHERE closed_ms < ?1", [before_ms])?;
        tx.execute("DELETE FROM files WHERE status = 'quarantined' AND updated_ms < ?1", [quarantine_before_ms])?;
        tx.execute("DELETE FROM outbox WHERE status <> 'pending' AND updated_ms < ?1", [notifications_before_ms])?;
        tx.commit()?;
        Ok(n)
    }
}
