//! A file's read deadline (`[source] read_timeout_secs` in the daemon): the time spent reading
//! and decoding one file's bytes, summed over every read of it in a cycle (each column of a
//! files window, each split of a rows or time window), is bounded. Past it, the read fails with
//! [`ReadTimeout`], which the daemon counts as that file's failed attempt like any damaged page.
//!
//! The deadline is cooperative, because a decode cannot be cancelled from outside: it is checked
//! at every read the Parquet reader makes of the file (each page header byte run, each page:
//! [`Timed`] wraps the file's [`ChunkReader`]) and between record batches. The damaged pages
//! that make the reader slow (`fuzz/regressions/parquet_ingest/`) loop in the page-header
//! reader, skipping a field of a huge claimed length one short read at a time, so they hit the
//! check within microseconds of the deadline and the thread is free again at once: no thread
//! is abandoned, and nothing keeps burning CPU or holding the file's memory after its cycle.
//! What it cannot stop is one batch's decode of pages already read, which is bounded by the
//! batch size (64 Ki rows) and the page sizes the file's length allows.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, Length};

use crate::clock::Stopwatch;

/// How long reading one file may take, and how long its reads took so far.
#[derive(Debug)]
pub struct ReadBudget {
    limit: Duration,
    spent_ns: AtomicU64,
}

impl ReadBudget {
    /// A budget of `limit` for one file's reads.
    pub fn new(limit: Duration) -> Arc<ReadBudget> {
        Arc::new(ReadBudget { limit, spent_ns: AtomicU64::new(0) })
    }
}

/// One read of a file (a column, some batches) under its budget, if it has one: the deadline
/// is what is left of the budget from its start; its time is charged to the budget when it
/// ends.
pub(super) struct Section {
    budget: Option<Arc<ReadBudget>>,
    deadline: Option<Deadline>,
}

/// The time left to a section when it started, and its start.
#[derive(Debug, Clone, Copy)]
struct Deadline {
    start: Stopwatch,
    left: Duration,
}

impl Deadline {
    fn passed(self) -> bool {
        self.start.elapsed() >= self.left
    }
}

impl Section {
    pub(super) fn start(budget: Option<&Arc<ReadBudget>>) -> Section {
        let start = Stopwatch::start();
        let deadline = budget.map(|b| Deadline {
            start,
            left: b.limit.saturating_sub(Duration::from_nanos(b.spent_ns.load(Ordering::Relaxed))),
        });
        Section { budget: budget.cloned(), deadline }
    }

    /// Whether the file's budget is spent.
    pub(super) fn expired(&self) -> bool {
        self.deadline.is_some_and(Deadline::passed)
    }

    /// [`ReadTimeout`] if the budget is spent (between batches; and in place of the reader's
    /// error, which a read cut short by the deadline turns into).
    fn timeout(&self) -> Result<(), ReadTimeout> {
        match &self.budget {
            Some(b) if self.expired() => Err(ReadTimeout { limit: b.limit }),
            _ => Ok(()),
        }
    }

    /// [`ReadTimeout`] of the file at `path` if its budget is spent, in one line naming it.
    pub(super) fn check(&self, path: &std::path::Path) -> anyhow::Result<()> {
        self.timeout().map_err(|t| anyhow::Error::new(t).context(path.display().to_string()))
    }

    /// `reader`, failing its reads once the deadline has passed.
    pub(super) fn wrap<R>(&self, reader: R) -> Timed<R> {
        Timed { inner: reader, deadline: self.deadline }
    }
}

impl Drop for Section {
    fn drop(&mut self) {
        if let (Some(b), Some(d)) = (&self.budget, self.deadline) {
            let spent = u64::try_from(d.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
            b.spent_ns.fetch_add(spent, Ordering::Relaxed);
        }
    }
}

/// A file whose reads took longer than its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadTimeout {
    /// The budget (`read_timeout_secs`).
    pub limit: Duration,
}

impl std::fmt::Display for ReadTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "reading it took longer than [source] read_timeout_secs ({} s): the file is damaged (the Parquet reader \
             can spin on some damaged pages) or too large to read in time; rewrite or split it, or raise \
             read_timeout_secs",
            self.limit.as_secs()
        )
    }
}

impl std::error::Error for ReadTimeout {}

fn timed_out() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::TimedOut, "read deadline passed")
}

/// A file's bytes (a [`ChunkReader`]) whose reads fail once `deadline` has passed.
pub(super) struct Timed<R> {
    inner: R,
    deadline: Option<Deadline>,
}

impl<R> Timed<R> {
    fn passed(&self) -> bool {
        self.deadline.is_some_and(Deadline::passed)
    }
}

impl<R: Length> Length for Timed<R> {
    fn len(&self) -> u64 {
        self.inner.len()
    }
}

impl<R: ChunkReader> ChunkReader for Timed<R> {
    type T = Timed<R::T>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        if self.passed() {
            return Err(ParquetError::External(Box::new(timed_out())));
        }
        Ok(Timed { inner: self.inner.get_read(start)?, deadline: self.deadline })
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        if self.passed() {
            return Err(ParquetError::External(Box::new(timed_out())));
        }
        self.inner.get_bytes(start, length)
    }
}

impl<R: Read> Read for Timed<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.passed() {
            return Err(timed_out());
        }
        self.inner.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fail_past_the_deadline_and_every_section_is_charged_to_the_budget() {
        let budget = ReadBudget::new(Duration::from_millis(40));
        let data = Bytes::from_static(b"0123456789");
        {
            let s = Section::start(Some(&budget));
            let mut r = s.wrap(data.clone()).get_read(2).unwrap();
            let mut buf = [0u8; 3];
            r.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"234");
            assert!(s.timeout().is_ok());
            std::thread::sleep(Duration::from_millis(25));
        }
        // The second read has what the first left: about 15 ms.
        let s = Section::start(Some(&budget));
        let t = s.wrap(data.clone());
        assert!(t.get_bytes(0, 4).is_ok());
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(s.timeout(), Err(ReadTimeout { limit: Duration::from_millis(40) }));
        let e = s.check(std::path::Path::new("b.parquet")).unwrap_err();
        assert!(
            format!("{e:#}").starts_with("b.parquet: reading it took longer than [source] read_timeout_secs (0 s)")
        );
        assert!(t.get_bytes(0, 4).is_err() && t.get_read(0).is_err());
        let mut r = Timed { inner: &b"abc"[..], deadline: s.deadline };
        assert_eq!(r.read(&mut [0u8; 2]).unwrap_err().kind(), std::io::ErrorKind::TimedOut);
        // Without a budget (`drift check`) nothing is ever cut short.
        let free = Section::start(None);
        assert!(free.timeout().is_ok() && free.wrap(data).get_bytes(0, 10).is_ok());
    }
}
