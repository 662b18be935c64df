//! The `file` sink: one JSON line per notification, appended **whole** (one `write` of the
//! record and its newline, so a reader never sees half a record from us) and **on disk**
//! (`fsync`, and the directory's too when the file is new) before the outbox row is marked
//! delivered under `synchronous=FULL`. A write that fails or comes up short is cut back off the
//! file, so a retry appends the record again after whole records only.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// What appending needs of a file (a real [`File`]; the tests watch the calls).
pub trait Durable: Write {
    /// The current length.
    fn size(&self) -> io::Result<u64>;
    /// Flushes the data to the disk.
    fn sync(&mut self) -> io::Result<()>;
    /// Cuts the file back to `len` bytes.
    fn truncate(&mut self, len: u64) -> io::Result<()>;
}

impl Durable for File {
    fn size(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.sync_data()
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.set_len(len)
    }
}

/// Appends `line` and a newline to the file at `path`, creating it; on disk when Ok.
pub fn append(path: &Path, line: &str) -> io::Result<()> {
    let new = !path.exists();
    let mut f = OpenOptions::new().create(true).append(true).open(path)?;
    append_to(&mut f, line)?;
    if new {
        // The new file's name must survive a power cut too.
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Appends one record with one write and syncs it; a failed or short write is cut back off.
pub fn append_to(f: &mut impl Durable, line: &str) -> io::Result<()> {
    let mut record = Vec::with_capacity(line.len() + 1);
    record.extend_from_slice(line.as_bytes());
    record.push(b'\n');
    let before = f.size()?;
    let written = match f.write(&record) {
        Ok(n) if n == record.len() => f.sync(),
        Ok(n) => Err(io::Error::other(format!("short write ({n} of {} bytes; is the disk full?)", record.len()))),
        Err(e) => Err(e),
    };
    if written.is_err() {
        let _ = f.truncate(before).and_then(|()| f.sync());
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file in memory that records each call, and can be told to write only part of a buffer.
    #[derive(Default)]
    struct Watched {
        data: Vec<u8>,
        calls: Vec<String>,
        short: bool,
    }

    impl Write for Watched {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = if self.short { buf.len() / 2 } else { buf.len() };
            self.calls.push(format!("write {n}"));
            self.data.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Durable for Watched {
        fn size(&self) -> io::Result<u64> {
            Ok(self.data.len() as u64)
        }

        fn sync(&mut self) -> io::Result<()> {
            self.calls.push("sync".into());
            Ok(())
        }

        fn truncate(&mut self, len: u64) -> io::Result<()> {
            self.calls.push(format!("truncate {len}"));
            self.data.truncate(len as usize);
            Ok(())
        }
    }

    #[test]
    fn a_record_is_one_write_then_a_sync() {
        let mut f = Watched::default();
        append_to(&mut f, "{\"a\":1}").unwrap();
        append_to(&mut f, "{\"b\":2}").unwrap();
        assert_eq!(f.calls, ["write 8", "sync", "write 8", "sync"]);
        assert_eq!(f.data, b"{\"a\":1}\n{\"b\":2}\n");
    }

    #[test]
    fn a_short_write_is_cut_back_and_reported() {
        let mut f = Watched::default();
        append_to(&mut f, "{\"a\":1}").unwrap();
        f.short = true;
        let e = append_to(&mut f, "{\"b\":2}").unwrap_err().to_string();
        assert!(e.contains("short write (4 of 8 bytes"), "{e}");
        assert_eq!(f.data, b"{\"a\":1}\n", "only whole records stay");
        assert_eq!(f.calls[2..], ["write 4", "truncate 8", "sync"]);
    }

    #[test]
    fn a_real_file_gets_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.jsonl");
        append(&path, "one").unwrap();
        append(&path, "two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\ntwo\n");
    }
}
