//! The state database's schema: every table, created if missing, and its version, stored in
//! `meta` so that a database written by a newer drift is refused rather than misread.

use std::path::Path;

use anyhow::{Result, bail};
use rusqlite::{Connection, OptionalExtension};

/// The schema version this drift writes (and the newest it reads).
pub(super) const SCHEMA_VERSION: i64 = 7;

/// The schema that took the reports' pictures out into `window_pictures`: an older state is
/// migrated by [`super::pictures::migrate`] (renumber with the table's comment if another
/// change takes this number first).
const PICTURES_SINCE: i64 = 5;

/// Every table and index, created if missing (`CREATE ... IF NOT EXISTS`): an older schema only
/// lacks tables, so running this upgrades it.
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
-- Schema 3: the part states of kinds of check that keep one (latency), per window part,
-- written with the part and deleted with it when its window closes.
CREATE TABLE IF NOT EXISTS window_part_checks (
    part_seq INTEGER NOT NULL,       -- window_parts.seq
    monitor TEXT NOT NULL,
    window_key INTEGER NOT NULL,
    kind TEXT NOT NULL,              -- the kind's part-state name (latency)
    state BLOB NOT NULL,             -- the kind's own bytes (a latency summary)
    PRIMARY KEY (part_seq, kind)
);
CREATE INDEX IF NOT EXISTS window_part_checks_by_window ON window_part_checks (monitor, window_key, part_seq);
-- Schema 4: error budgets (the latency objective's burn-rate alert): good and total events per
-- minute of event time, added in the transaction that consumes the file they came from, pruned
-- past the budget's period or longest window.
CREATE TABLE IF NOT EXISTS budget_minutes (
    monitor TEXT NOT NULL,
    kind TEXT NOT NULL,              -- the kind's budget name (latency)
    minute_ms INTEGER NOT NULL,      -- the minute's start (event time, ms since the epoch)
    good INTEGER NOT NULL,
    total INTEGER NOT NULL,
    PRIMARY KEY (monitor, kind, minute_ms)
);
-- Schema 5: what a window's HTML report draws (percentiles, PSI bins, top categories), taken
-- out of its JSON report, kept for [retention] report_days (each monitor's latest always).
CREATE TABLE IF NOT EXISTS window_pictures (
    window_id INTEGER PRIMARY KEY REFERENCES windows(id) ON DELETE CASCADE,
    monitor TEXT NOT NULL,
    closed_ms INTEGER NOT NULL,
    pictures BLOB NOT NULL           -- zstd-compressed JSON (state::pictures)
);
CREATE INDEX IF NOT EXISTS window_pictures_by_monitor ON window_pictures (monitor, closed_ms);
-- Schema 6: rows of an event-time monitor's files that no window evaluates (late, future), one
-- row per such file, written with the file's parts and taken into the report of the window it
-- is charged to when that window closes.
CREATE TABLE IF NOT EXISTS window_dropped (
    monitor TEXT NOT NULL,
    window_key INTEGER,              -- the window the file gave its latest rows to; NULL when it
                                     -- gave rows to none: charged to the monitor's next window
    file TEXT NOT NULL,
    late_rows INTEGER NOT NULL,
    future_rows INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS window_dropped_by_monitor ON window_dropped (monitor, window_key);
-- Schema 7: model quality's late-label join (state::model). Per prediction only what the join
-- needs, written with its file's consumption; labels matched by id hash, those ahead of their
-- prediction kept apart until it lands or the delay expires; per closed window its status.
CREATE TABLE IF NOT EXISTS model_rows (
    monitor TEXT NOT NULL,
    window_key INTEGER NOT NULL,     -- the open window it joined (0 for row windows)
    window_id INTEGER,               -- the closed window (NULL while open)
    file_id INTEGER NOT NULL,        -- files.rowid of the file it came from
    id_hash INTEGER NOT NULL,        -- 64-bit hash of the id (quality::id_hash)
    segment TEXT NOT NULL,           -- '' without segments
    prediction TEXT,                 -- the predicted class (classification)
    value REAL,                      -- binary: the score; regression: the predicted value
    label TEXT,                      -- NULL until labelled
    label_time INTEGER,
    label_order INTEGER              -- the label's place in consumption order (ties of time)
);
CREATE INDEX IF NOT EXISTS model_rows_by_id ON model_rows (monitor, id_hash);
CREATE INDEX IF NOT EXISTS model_rows_by_window ON model_rows (monitor, window_id, window_key);
CREATE TABLE IF NOT EXISTS model_pending_labels (
    monitor TEXT NOT NULL,
    id_hash INTEGER NOT NULL,
    label TEXT NOT NULL,
    label_time INTEGER,
    label_order INTEGER NOT NULL,
    arrived_ms INTEGER NOT NULL,     -- kept until its prediction lands or max_delay_secs passes
    PRIMARY KEY (monitor, id_hash)
);
CREATE TABLE IF NOT EXISTS model_windows (
    monitor TEXT NOT NULL,
    window_id INTEGER NOT NULL,
    closed_ms INTEGER NOT NULL,
    rows INTEGER NOT NULL,           -- predictions kept for the join
    labelled_now INTEGER NOT NULL,   -- of them labelled, kept up to date by each label applied
    status TEXT NOT NULL,            -- pending | partial | final
    early INTEGER NOT NULL DEFAULT 0, -- finalized before max_delay_secs by max_pending_predictions
    evaluated_ms INTEGER,
    labelled INTEGER,
    verdict TEXT,                    -- the whole window's status when last stepped
    report TEXT,                     -- JSON: the evaluation (drift.model)
    PRIMARY KEY (monitor, window_id)
);
CREATE TABLE IF NOT EXISTS model_join (
    monitor TEXT PRIMARY KEY,
    next_order INTEGER NOT NULL DEFAULT 1,
    label_rows INTEGER NOT NULL DEFAULT 0,  -- label rows read from label files
    matched INTEGER NOT NULL DEFAULT 0,     -- labels that found their prediction
    duplicates INTEGER NOT NULL DEFAULT 0,  -- labels for an id already labelled
    unmatched INTEGER NOT NULL DEFAULT 0,   -- labels whose prediction never came (expired)
    sampled_out INTEGER NOT NULL DEFAULT 0, -- labels of ids outside [labels] sample_rate
    early_windows INTEGER NOT NULL DEFAULT 0
);
";

/// The schema version stored in the database, `None` for a new one (no `meta` table or no
/// version yet); a version newer than [`SCHEMA_VERSION`], or unreadable, is refused.
pub(super) fn stored_version(conn: &Connection, db: &Path) -> Result<Option<i64>> {
    let has_meta: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta')",
        [],
        |r| r.get(0),
    )?;
    if !has_meta {
        return Ok(None);
    }
    let version: Option<String> =
        conn.query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |r| r.get(0)).optional()?;
    match version.as_deref().map(str::parse::<i64>) {
        None => Ok(None),
        Some(Ok(v)) if v <= SCHEMA_VERSION => Ok(Some(v)),
        Some(Ok(v)) => bail!(
            "{}: the state was written by a newer drift (schema {v}; this drift knows up to {SCHEMA_VERSION}): \
             upgrade drift",
            db.display()
        ),
        Some(Err(_)) => bail!(
            "{}: unknown state schema version {:?} (this drift knows up to {SCHEMA_VERSION}): upgrade drift",
            db.display(),
            version.unwrap_or_default()
        ),
    }
}

/// Creates the tables that are missing and records [`SCHEMA_VERSION`]; `stored` is what
/// [`stored_version`] found.
pub(super) fn create(conn: &Connection, stored: Option<i64>) -> Result<()> {
    // One transaction: the schema is created (or upgraded) whole or not at all, in one commit
    // rather than one per statement.
    conn.execute_batch(&format!("BEGIN IMMEDIATE;\n{SCHEMA}\nCOMMIT;"))?;
    match stored {
        None => {
            // DO NOTHING: another process opening a new state at the same time has written it.
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?1) ON CONFLICT (key) DO NOTHING",
                [SCHEMA_VERSION.to_string()],
            )?;
        }
        Some(v) if v < SCHEMA_VERSION => {
            // Older schemas only lack tables, which SCHEMA has just created; before 4 the
            // reports carried their pictures inline.
            if v < PICTURES_SINCE {
                super::pictures::migrate(conn)?;
            }
            conn.execute("UPDATE meta SET value = ?1 WHERE key = 'schema_version'", [SCHEMA_VERSION.to_string()])?;
        }
        Some(_) => {}
    }
    Ok(())
}
