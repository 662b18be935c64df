//! Quarantined files, for operators: listed newest first (`drift quarantine list`, the
//! `DriftFilesQuarantined` alert) and released (`drift quarantine release`) so that a fixed or
//! replaced file is read again. The rows are those of the `files` table (status `quarantined`);
//! releasing one puts it back to `seen` with no failed attempts, as if it had just been listed.

use anyhow::Result;
use rusqlite::params;

use super::State;

/// A file set aside after its failed reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedFile {
    /// Its monitor.
    pub monitor: String,
    /// Its path as listed (relative to the source's root).
    pub path: String,
    /// The last failure, one line.
    pub error: String,
    /// Failed attempts.
    pub attempts: u32,
    /// When it was quarantined (ms since the epoch).
    pub since_ms: i64,
}

impl State {
    /// Quarantined files (of one monitor, or all), newest first.
    pub fn quarantine_list(&self, monitor: Option<&str>) -> Result<Vec<QuarantinedFile>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT monitor, path, COALESCE(error, ''), attempts, updated_ms FROM files
             WHERE status = 'quarantined' AND (?1 IS NULL OR monitor = ?1 OR monitor = ?1 || ':labels')
             ORDER BY updated_ms DESC, monitor, path",
        )?;
        let rows = stmt.query_map([monitor], |r| {
            Ok(QuarantinedFile {
                monitor: r.get(0)?,
                path: r.get(1)?,
                error: r.get(2)?,
                attempts: r.get(3)?,
                since_ms: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Releases quarantined files of `monitor` and of its label files (those at `paths`, or
    /// all when empty): they are read again at the next cycle. Returns the paths released.
    pub fn quarantine_release(&mut self, monitor: &str, paths: &[String], now_ms: i64) -> Result<Vec<String>> {
        let tx = self.conn.transaction()?;
        let chosen: Vec<(String, String)> = {
            let mut stmt = tx.prepare_cached(
                "SELECT monitor, path FROM files WHERE (monitor = ?1 OR monitor = ?1 || ':labels')
                 AND status = 'quarantined' ORDER BY path",
            )?;
            let all =
                stmt.query_map([monitor], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
            all.into_iter().filter(|(_, p)| paths.is_empty() || paths.contains(p)).collect()
        };
        for (key, p) in &chosen {
            tx.execute(
                "UPDATE files SET status = 'seen', attempts = 0, error = NULL, updated_ms = ?3
                 WHERE monitor = ?1 AND path = ?2 AND status = 'quarantined'",
                params![key, p, now_ms],
            )?;
        }
        tx.commit()?;
        Ok(chosen.into_iter().map(|(_, p)| p).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::temp;

    #[test]
    fn quarantined_files_list_newest_first_and_release_to_be_read_again() {
        let (_dir, mut st) = temp();
        for (m, p, t) in [("m", "a", 100), ("m", "b", 300), ("n", "c", 200), ("m", "ok", 100)] {
            st.observe(m, p, 10, 1, 50).unwrap();
            if p != "ok" {
                st.failed_attempt(m, p, &format!("{p} is damaged"), t).unwrap();
                st.quarantine(m, p, &format!("{p} is damaged"), t).unwrap();
            }
        }
        let all: Vec<(String, String)> =
            st.quarantine_list(None).unwrap().into_iter().map(|q| (q.monitor, q.path)).collect();
        let pairs = [("m", "b"), ("n", "c"), ("m", "a")].map(|(m, p)| (m.to_owned(), p.to_owned()));
        assert_eq!(all, pairs);
        let m = st.quarantine_list(Some("m")).unwrap();
        assert_eq!(
            (m[0].path.as_str(), m[0].error.as_str(), m[0].attempts, m[0].since_ms),
            ("b", "b is damaged", 1, 300)
        );

        assert_eq!(st.quarantine_release("m", &["a".to_owned(), "zz".to_owned()], 400).unwrap(), ["a"]);
        let a = &st.files("m").unwrap()["a"];
        assert_eq!((a.status.as_str(), a.attempts), ("seen", 0), "read again, with its attempts reset");
        assert_eq!(st.quarantine_release("m", &[], 500).unwrap(), ["b"], "all of the monitor's");
        assert!(st.quarantine_list(Some("m")).unwrap().is_empty());
        assert_eq!(st.quarantine_list(Some("n")).unwrap().len(), 1, "another monitor's stay");
        assert!(st.quarantine_release("m", &[], 600).unwrap().is_empty());

        // A monitor's label files (kept under `m:labels`) are listed and released with it.
        st.observe("m:labels", "l", 10, 1, 700).unwrap();
        st.quarantine("m:labels", "l", "l is damaged", 700).unwrap();
        let m = st.quarantine_list(Some("m")).unwrap();
        assert_eq!((m[0].monitor.as_str(), m[0].path.as_str()), ("m:labels", "l"));
        assert_eq!(st.quarantined("m").unwrap().len(), 1, "counted for the monitor's alert");
        assert_eq!(st.quarantine_release("m", &[], 800).unwrap(), ["l"]);
        assert_eq!(st.files("m:labels").unwrap()["l"].status, "seen");
    }
}
