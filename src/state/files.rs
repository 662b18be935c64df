//! Files: what each listing showed, failed reads, quarantine and consumed files.

use std::collections::HashMap;

use anyhow::Result;
use rusqlite::params;

use super::State;

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

/// A file consumed by a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Consumed {
    /// Path (as listed).
    pub path: String,
    /// Size in bytes when it was read (a later change of size shows it was rewritten).
    pub size: u64,
    /// Modification time (ms).
    pub mtime_ms: i64,
    /// Rows read.
    pub rows: u64,
    /// Its events per minute for the monitor's error budgets, stored with its consumption.
    pub counts: Vec<crate::engine::budget::MinuteCount>,
    /// Its predictions kept for the model's late-label join, stored with its consumption.
    pub model: Vec<super::model::ModelRow>,
}

impl State {
    /// Consumed files of a monitor: (path, mtime, when consumed), ms since the epoch.
    pub fn consumed_files(&self, monitor: &str) -> Result<Vec<(String, i64, i64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT path, mtime_ms, updated_ms FROM files WHERE monitor = ?1 AND status = 'consumed' ORDER BY mtime_ms",
        )?;
        let rows = stmt.query_map([monitor], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
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

    /// One file's record, if the monitor has seen it (a point lookup: polling over a large
    /// history asks only about the paths it cannot settle from memory).
    pub fn file(&self, monitor: &str, path: &str) -> Result<Option<FileRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT size, mtime_ms, status, attempts FROM files WHERE monitor = ?1 AND path = ?2")?;
        let row = stmt.query_row(params![monitor, path], |r| {
            Ok(FileRecord {
                size: r.get::<_, i64>(0)? as u64,
                mtime_ms: r.get(1)?,
                status: r.get(2)?,
                attempts: r.get(3)?,
            })
        });
        match row {
            Ok(r) => Ok(Some(r)),
            Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Consumed files of a monitor: path to (size, mtime) as last recorded. Consumed records
    /// never change status, so a daemon keeps this in memory and asks the database only
    /// about the other paths.
    pub fn consumed_index(&self, monitor: &str) -> Result<HashMap<String, (u64, i64)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT path, size, mtime_ms FROM files WHERE monitor = ?1 AND status = 'consumed'")?;
        let rows = stmt.query_map([monitor], |r| Ok((r.get(0)?, (r.get::<_, i64>(1)? as u64, r.get(2)?))))?;
        Ok(rows.collect::<rusqlite::Result<HashMap<_, _>>>()?)
    }

    /// What one listing changed, in one transaction: new and changed files not consumed yet
    /// (`observe`: path, size, mtime) and consumed files rewritten since (`replaced`: their new
    /// size and mtime, so each change is reported once). Nothing is written when both are
    /// empty.
    pub fn record_listing(
        &mut self,
        monitor: &str,
        observe: &[(&str, u64, i64)],
        replaced: &[(&str, u64, i64)],
        now_ms: i64,
    ) -> Result<()> {
        if observe.is_empty() && replaced.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        {
            let mut seen = tx.prepare_cached(
                "INSERT INTO files (monitor, path, size, mtime_ms, first_seen_ms, status, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'seen', ?5)
                 ON CONFLICT (monitor, path) DO UPDATE SET size = ?3, mtime_ms = ?4, updated_ms = ?5
                 WHERE status = 'seen'",
            )?;
            for (path, size, mtime_ms) in observe {
                seen.execute(params![monitor, path, *size as i64, mtime_ms, now_ms])?;
            }
            let mut rewritten = tx.prepare_cached(
                "UPDATE files SET size = ?3, mtime_ms = ?4, updated_ms = ?5
                 WHERE monitor = ?1 AND path = ?2 AND status = 'consumed'",
            )?;
            for (path, size, mtime_ms) in replaced {
                rewritten.execute(params![monitor, path, *size as i64, mtime_ms, now_ms])?;
            }
        }
        tx.commit()?;
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

    /// Quarantined files of a monitor, its label files' included: (path, error).
    pub fn quarantined(&self, monitor: &str) -> Result<Vec<(String, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT path, COALESCE(error, '') FROM files
             WHERE (monitor = ?1 OR monitor = ?1 || ':labels') AND status = 'quarantined' ORDER BY path",
        )?;
        let rows = stmt.query_map([monitor], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// When a new file was last seen for the monitor (ms since the epoch).
    pub fn last_file_seen(&self, monitor: &str) -> Result<Option<i64>> {
        Ok(self.conn.query_row("SELECT MAX(first_seen_ms) FROM files WHERE monitor = ?1", [monitor], |r| r.get(0))?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{consumed, routing, temp};

    #[test]
    fn a_listed_file_is_tracked_until_consumed_and_then_left_alone() {
        let (_dir, mut st) = temp();
        assert_eq!(st.last_file_seen("m").unwrap(), None);
        st.observe("m", "a", 10, 1, 100).unwrap();
        st.observe("m", "a", 20, 2, 200).unwrap();
        let a = &st.files("m").unwrap()["a"];
        assert_eq!((a.size, a.mtime_ms, a.status.as_str(), a.attempts), (20, 2, "seen", 0), "the last listing");
        assert_eq!(st.last_file_seen("m").unwrap(), Some(100), "first seen, not last listed");
        st.observe("m", "b", 1, 1, 300).unwrap();
        assert_eq!(st.last_file_seen("m").unwrap(), Some(300));

        st.commit_window(&routing(), "files", &[consumed("a", 10)], 10, None, 400).unwrap();
        st.observe("m", "a", 99, 9, 500).unwrap();
        let a = &st.files("m").unwrap()["a"];
        assert_eq!((a.size, a.mtime_ms, a.status.as_str()), (100, 1, "consumed"), "a consumed file is not re-listed");
        assert_eq!(st.consumed_files("m").unwrap(), [("a".to_owned(), 1, 400)]);
        assert!(st.files("other").unwrap().is_empty() && st.consumed_files("other").unwrap().is_empty());
    }

    #[test]
    fn one_listing_is_recorded_in_one_transaction_and_a_replaced_file_keeps_its_status() {
        let (_dir, mut st) = temp();
        st.record_listing("m", &[("a", 10, 1), ("b", 20, 2)], &[], 100).unwrap();
        let (a, b) = (st.file("m", "a").unwrap().unwrap(), st.file("m", "b").unwrap().unwrap());
        assert_eq!((a.size, a.status.as_str(), b.mtime_ms), (10, "seen", 2));
        assert_eq!(st.file("m", "c").unwrap(), None);
        st.commit_window(&routing(), "files", &[consumed("a", 10)], 10, None, 200).unwrap();
        assert_eq!(st.consumed_index("m").unwrap(), [("a".to_owned(), (100, 1))].into_iter().collect());
        st.record_listing("m", &[("a", 1, 1)], &[("a", 55, 9)], 300).unwrap();
        let a = st.file("m", "a").unwrap().unwrap();
        assert_eq!((a.size, a.mtime_ms, a.status.as_str()), (55, 9, "consumed"), "the new size, still consumed");
        st.record_listing("m", &[], &[("b", 1, 1)], 400).unwrap();
        assert_eq!(st.file("m", "b").unwrap().unwrap().size, 20, "only consumed files are replaced");
        assert_eq!(st.last_file_seen("m").unwrap(), Some(100));
    }

    #[test]
    fn failed_reads_count_up_and_quarantine_sets_the_file_aside_with_its_reason() {
        let (_dir, mut st) = temp();
        st.observe("m", "a", 10, 1, 100).unwrap();
        st.observe("m", "b", 10, 1, 100).unwrap();
        assert_eq!(st.failed_attempt("m", "a", "truncated", 110).unwrap(), 1);
        assert_eq!(st.failed_attempt("m", "a", "bad footer", 120).unwrap(), 2);
        assert_eq!(st.files("m").unwrap()["a"].attempts, 2);
        assert_eq!(st.files("m").unwrap()["b"].attempts, 0);
        st.quarantine("m", "a", "bad footer", 130).unwrap();
        assert_eq!(st.quarantined("m").unwrap(), [("a".to_owned(), "bad footer".to_owned())]);
        st.observe("m", "a", 11, 2, 140).unwrap();
        let a = &st.files("m").unwrap()["a"];
        assert_eq!((a.size, a.status.as_str()), (10, "quarantined"), "listed again, still set aside");
    }
}
