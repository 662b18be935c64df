//! Windows: committing a closed window (its files, evaluation and alerts in one transaction),
//! and the parts of open windows, kept until they close.

use anyhow::Result;
use rusqlite::params;

use super::State;
use super::alerts::alert_window;
use super::clock::{self, ClockUpdate};
use super::files::Consumed;
use crate::alerts::route::Routing;
use crate::engine::Report;

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
    /// Rows of the file that fell into this part (this window, and this segment if any).
    pub rows: u64,
    /// The rows' snapshot, as bytes.
    pub profile: Vec<u8>,
    /// The part states of the monitor's checks that keep one: (kind, bytes).
    pub checks: Vec<(String, Vec<u8>)>,
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
    let (status, drift, severity, json, pictures) = match report {
        Some(r) => {
            let (json, pictures) = super::pictures::split(r)?;
            ("evaluated", r.drift, r.severity.as_str(), Some(json), pictures)
        }
        None => ("insufficient", false, "none", None, None),
    };
    tx.execute(
        "INSERT INTO windows (monitor, kind, closed_ms, files, rows, status, drift, severity, report)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![monitor, kind, now_ms, files as i64, rows as i64, status, drift, severity, json],
    )?;
    let id = tx.last_insert_rowid();
    if let Some(bytes) = &pictures {
        super::pictures::insert(tx, id, monitor, now_ms, bytes)?;
    }
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

impl State {
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
            super::budget::add_counts(&tx, monitor, &f.counts)?;
            super::model::add_rows(&tx, monitor, f, Some(id))?;
        }
        super::model::window(&tx, monitor, id, now_ms)?;
        super::test_panic(&self.panic_in, monitor);
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
            let seq = tx.last_insert_rowid();
            for (kind, state) in &p.checks {
                tx.execute(
                    "INSERT INTO window_part_checks (part_seq, monitor, window_key, kind, state) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![seq, monitor, p.key, kind, state],
                )?;
            }
        }
        tx.execute(
            "INSERT INTO files (monitor, path, size, mtime_ms, first_seen_ms, status, rows, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, 'consumed', ?6, ?5)
             ON CONFLICT (monitor, path) DO UPDATE SET size = ?3, mtime_ms = ?4, status = 'consumed',
                 rows = ?6, updated_ms = ?5",
            params![monitor, file.path, file.size as i64, file.mtime_ms, now_ms, file.rows as i64],
        )?;
        super::budget::add_counts(&tx, monitor, &file.counts)?;
        super::model::add_rows(&tx, monitor, file, None)?;
        if let Some(c) = clock {
            clock::advance(&tx, monitor, c, now_ms)?;
            clock::charge(&tx, monitor, &file.path, parts.iter().map(|p| p.key).max(), c)?;
        }
        tx.commit()?;
        Ok(())
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
                checks: Vec::new(),
            })
        })?;
        let mut parts = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT part_seq, kind, state FROM window_part_checks WHERE monitor = ?1 AND window_key = ?2 ORDER BY part_seq, kind",
        )?;
        let states = stmt.query_map(params![monitor, key], |r| Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?)))?;
        for s in states {
            let (seq, kind, state): (i64, String, Vec<u8>) = s?;
            if let Some(p) = parts.iter_mut().find(|p| p.seq == seq) {
                p.checks.push((kind, state));
            }
        }
        Ok(parts)
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
            clock::close_until(&tx, monitor, end, now_ms)?;
            clock::reported(&tx, monitor, closing.key)?;
        }
        super::model::close(&tx, monitor, closing.key, closing.last_seq, id, now_ms)?;
        tx.execute(
            "DELETE FROM window_part_checks WHERE monitor = ?1 AND window_key = ?2 AND part_seq <= ?3",
            params![monitor, closing.key, closing.last_seq],
        )?;
        tx.execute(
            "DELETE FROM window_parts WHERE monitor = ?1 AND window_key = ?2 AND seq <= ?3",
            params![monitor, closing.key, closing.last_seq],
        )?;
        super::test_panic(&self.panic_in, monitor);
        tx.commit()?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Dropped;
    use super::super::testing::{consumed, count, drifting, routing, temp};
    use super::*;

    /// Everything a window's commit writes, as row counts.
    fn written(st: &State) -> [i64; 5] {
        ["windows", "evaluations", "files WHERE status = 'consumed'", "outbox", "alert_state"].map(|t| count(st, t))
    }

    #[test]
    fn a_committed_window_stores_its_files_tests_alerts_and_notifications_together() {
        let (_dir, mut st) = temp();
        let id = st
            .commit_window(&routing(), "files", &[consumed("a", 10), consumed("b", 20)], 30, Some(drifting()), 5)
            .unwrap();
        let [windows, evaluations, files, outbox, alerts] = written(&st);
        assert_eq!((windows, files, outbox, alerts), (1, 2, 2, 1), "critical drift pages slack and pager");
        assert!(evaluations >= 2, "KS and PSI of x at least: {evaluations}");
        let by_window = count(&st, &format!("files WHERE window_id = {id} AND rows IS NOT NULL"));
        assert_eq!(by_window, 2, "each consumed file names its window");
    }

    /// A step of `commit_window` made to fail by a temporary trigger (on this connection
    /// only): nothing of the window may remain.
    fn fails_at(step: &str, table: &str) {
        let (_dir, mut st) = temp();
        st.observe("m", "a", 10, 1, 1).unwrap();
        st.conn
            .execute_batch(&format!(
                "CREATE TEMP TRIGGER fail BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
            ))
            .unwrap();
        let e = st.commit_window(&routing(), "files", &[consumed("a", 10)], 10, Some(drifting()), 5).unwrap_err();
        assert!(format!("{e:#}").contains("disk on fire"), "{step}: {e:#}");
        st.conn.execute_batch("DROP TRIGGER fail").unwrap();
        assert_eq!(written(&st), [0; 5], "{step}: a failed commit left rows behind");
        assert_eq!(st.files("m").unwrap()["a"].status, "seen", "{step}: the file is read again");
    }

    #[test]
    fn a_commit_that_fails_at_any_step_leaves_nothing() {
        fails_at("storing a test", "evaluations");
        fails_at("stepping the alert", "alert_state");
        fails_at("queueing a notification", "outbox");
        fails_at("marking the files consumed (last)", "files");
    }

    fn part(key: i64, segment: &str, rows: u64, profile: &[u8]) -> Part {
        Part {
            seq: 0,
            key,
            segment: segment.into(),
            file: String::new(),
            rows,
            profile: profile.to_vec(),
            checks: Vec::new(),
        }
    }

    fn closing(key: i64, last_seq: i64, files: u64, rows: u64) -> Closing {
        Closing { kind: "rows", key, last_seq, files, rows, span: None }
    }

    #[test]
    fn parts_accumulate_and_a_close_deletes_what_it_merged_leaving_the_next_window_empty() {
        let (_dir, mut st) = temp();
        let r = routing();
        st.add_parts("m", &consumed("a", 5), &[part(0, "", 5, b"a-whole"), part(0, "eu", 2, b"a-eu")], None, 1)
            .unwrap();
        st.add_parts("m", &consumed("b", 7), &[part(0, "", 7, b"b-whole")], None, 2).unwrap();
        assert_eq!(st.files("m").unwrap()["a"].status, "consumed", "a part's file is consumed at once");
        assert_eq!(st.open_rows("m", 0).unwrap(), 14, "every part's rows, segments included");
        assert_eq!(st.open_windows("m").unwrap(), [(0, 14)]);
        assert_eq!(st.open_rows("other", 0).unwrap(), 0);
        let parts = st.parts("m", 0).unwrap();
        let seen: Vec<(&str, &str, &[u8])> =
            parts.iter().map(|p| (p.file.as_str(), p.segment.as_str(), p.profile.as_slice())).collect();
        assert_eq!(seen, [("a", "", &b"a-whole"[..]), ("a", "eu", b"a-eu"), ("b", "", b"b-whole")]);
        assert!(parts.windows(2).all(|w| w[0].seq < w[1].seq), "oldest first, by sequence");

        // A close over a's parts only (b's did not merge): b stays open for the next close.
        let first = st.close_window(&r, &closing(0, parts[1].seq, 1, 5), None, 3).unwrap();
        let rest = st.parts("m", 0).unwrap();
        assert_eq!(rest.iter().map(|p| p.file.as_str()).collect::<Vec<_>>(), ["b"]);
        assert_eq!(st.open_rows("m", 0).unwrap(), 7);

        let second = st.close_window(&r, &closing(0, rest[0].seq, 1, 7), Some(drifting()), 4).unwrap();
        assert!(second > first);
        assert_eq!(st.parts("m", 0).unwrap(), []);
        assert_eq!(st.open_windows("m").unwrap(), []);
        assert_eq!(st.open_rows("m", 0).unwrap(), 0, "the next window starts empty");
        let stored: Vec<(u64, u64, String)> =
            st.history("m", 10).unwrap().into_iter().map(|w| (w.files, w.rows, w.status)).collect();
        assert_eq!(stored, [(1, 7, "evaluated".into()), (1, 5, "insufficient".into())]);
        assert_eq!(count(&st, "outbox"), 2, "the closed window's drift is queued with it");

        st.add_parts("m", &consumed("c", 3), &[part(0, "", 3, b"c")], None, 5).unwrap();
        assert_eq!(st.parts("m", 0).unwrap().iter().map(|p| p.file.as_str()).collect::<Vec<_>>(), ["c"]);
    }

    /// A kind's part state rides with its part: stored with it, read back with it, deleted
    /// with it when the window closes (the next window's parts never see it).
    #[test]
    fn part_states_of_checks_are_stored_read_and_deleted_with_their_parts() {
        let (_dir, mut st) = temp();
        let mut a = part(0, "eu", 5, b"a");
        a.checks = vec![("latency".into(), b"summary-a".to_vec())];
        st.add_parts("m", &consumed("a", 5), &[a, part(0, "", 2, b"plain")], None, 1).unwrap();
        let parts = st.parts("m", 0).unwrap();
        let states: Vec<&[(String, Vec<u8>)]> = parts.iter().map(|p| p.checks.as_slice()).collect();
        assert_eq!(states, [&[("latency".to_owned(), b"summary-a".to_vec())][..], &[]]);
        st.close_window(&routing(), &closing(0, parts[0].seq, 1, 5), None, 2).unwrap();
        assert_eq!(count(&st, "window_part_checks"), 0, "deleted with the closed window's parts");
        st.add_parts("m", &consumed("b", 3), &[part(0, "", 3, b"b")], None, 3).unwrap();
        assert_eq!(st.parts("m", 0).unwrap()[0].checks, []);
    }

    #[test]
    fn a_failed_close_keeps_the_parts_and_stores_no_window() {
        let (_dir, mut st) = temp();
        st.add_parts("m", &consumed("a", 5), &[part(0, "", 5, b"a")], None, 1).unwrap();
        let last = st.parts("m", 0).unwrap()[0].seq;
        st.conn
            .execute_batch(
                "CREATE TEMP TRIGGER fail BEFORE DELETE ON window_parts BEGIN SELECT RAISE(ABORT, 'no'); END",
            )
            .unwrap();
        assert!(st.close_window(&routing(), &closing(0, last, 1, 5), Some(drifting()), 2).is_err());
        st.conn.execute_batch("DROP TRIGGER fail").unwrap();
        assert_eq!((count(&st, "windows"), count(&st, "outbox")), (0, 0));
        assert_eq!(st.open_rows("m", 0).unwrap(), 5, "the window is still open");
    }

    #[test]
    fn a_failed_part_leaves_the_file_unconsumed() {
        let (_dir, mut st) = temp();
        st.observe("m", "a", 10, 1, 1).unwrap();
        st.conn
            .execute_batch("CREATE TEMP TRIGGER fail BEFORE INSERT ON event_clock BEGIN SELECT RAISE(ABORT, 'no'); END")
            .unwrap();
        let clock = ClockUpdate { max_event_ms: Some(100), late_rows: 0, future_rows: 0 };
        assert!(st.add_parts("m", &consumed("a", 5), &[part(3, "", 5, b"a")], Some(clock), 2).is_err());
        st.conn.execute_batch("DROP TRIGGER fail").unwrap();
        assert_eq!(st.open_windows("m").unwrap(), []);
        assert_eq!(st.files("m").unwrap()["a"].status, "seen");
    }

    #[test]
    fn late_and_future_rows_go_to_the_files_latest_window_or_else_the_next_to_close_once() {
        let (_dir, mut st) = temp();
        let clock = |late_rows, future_rows| Some(ClockUpdate { max_event_ms: Some(100), late_rows, future_rows });
        let dropped = |late_rows, future_rows| Dropped { late_rows, future_rows };
        let (three, five) = (part(3, "", 5, b"3"), part(5, "", 5, b"5"));
        st.add_parts("m", &consumed("a", 10), &[three.clone(), five.clone()], clock(2, 1), 1).unwrap();
        st.add_parts("m", &consumed("b", 5), &[three], clock(0, 4), 2).unwrap();
        st.add_parts("m", &consumed("c", 0), &[], clock(7, 0), 3).unwrap();
        st.add_parts("m", &consumed("d", 5), &[five], clock(0, 0), 4).unwrap();
        st.add_parts("n", &consumed("a", 0), &[], clock(100, 100), 4).unwrap();
        assert_eq!(st.dropped("m", 3).unwrap(), dropped(7, 4), "b's, and c's (no window)");
        assert_eq!(st.dropped("m", 5).unwrap(), dropped(9, 1), "a's (its latest window), and c's");
        let time =
            |key, last_seq| Closing { kind: "time", key, last_seq, files: 2, rows: 10, span: Some((key, key + 1)) };
        st.close_window(&routing(), &time(3, 3), None, 5).unwrap();
        assert_eq!(st.dropped("m", 5).unwrap(), dropped(2, 1), "c's rows went with window 3");
        st.close_window(&routing(), &time(5, 4), None, 6).unwrap();
        assert_eq!(st.dropped("m", 7).unwrap(), Dropped::default(), "each row reported once");
        assert_eq!(st.dropped("n", 0).unwrap(), dropped(100, 100), "per monitor");
        assert_eq!(st.clock("m").unwrap().late_rows, 9, "the clock counts late rows as before");
    }
}
