//! An object read by ranges: its header and footer first (one round of requests), then, for
//! each read, only the column chunks the projection needs, fetched by ranged GETs (coalesced,
//! pinned to the listed ETag) into a [`Sparse`] reader that serves the Parquet reader from them.
//! A read never touches bytes it did not fetch: asking for them is this file's error.

use std::io::Cursor;
use std::ops::Range;

use anyhow::Result;
use bytes::Bytes;
use parquet::arrow::ProjectionMask;
use parquet::errors::ParquetError;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::{ChunkReader, Length};

use super::object::{Listed, client};

/// How much of an object's end is fetched at first: the footer of most files fits, so opening
/// one costs one round of requests.
const TAIL_GUESS: u64 = 64 * 1024;

/// Some ranges of an object of `len` bytes.
pub(super) struct Sparse {
    len: u64,
    parts: Vec<(u64, Bytes)>,
}

impl Sparse {
    fn part(&self, start: u64, length: u64) -> parquet::errors::Result<Bytes> {
        for (at, bytes) in &self.parts {
            let end = at + bytes.len() as u64;
            if *at <= start && start.saturating_add(length) <= end {
                let from = (start - at) as usize;
                return Ok(bytes.slice(from..from + length as usize));
            }
        }
        Err(ParquetError::General(format!("bytes {start}..+{length} were not fetched")))
    }
}

impl Length for Sparse {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for Sparse {
    type T = Cursor<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        // To the end of the fetched part that holds `start`.
        let (at, bytes) = self
            .parts
            .iter()
            .find(|(at, b)| *at <= start && start < at + b.len() as u64)
            .ok_or_else(|| ParquetError::General(format!("byte {start} was not fetched")))?;
        Ok(Cursor::new(bytes.slice((start - at) as usize..)))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        self.part(start, length as u64)
    }
}

/// The first four bytes and the end of `object` (its footer whole), for [`super::open_object`]:
/// (header, last 8 bytes, a reader holding the footer).
pub(super) fn head_and_footer(object: &Listed) -> Result<(Bytes, [u8; 8], Sparse)> {
    let len = object.size;
    let tail = len.min(TAIL_GUESS);
    let got = client::get_ranges(object, vec![0..4.min(len), len - tail..len])?;
    let (head, mut end) = (got[0].clone(), got[1].clone());
    let mut last8 = [0u8; 8];
    if end.len() >= 8 {
        last8.copy_from_slice(&end[end.len() - 8..]);
        let footer = u64::from(u32::from_le_bytes([last8[0], last8[1], last8[2], last8[3]]));
        // A footer longer than the guess (checked against the cap by the caller first).
        if footer + 8 > tail && footer + 12 <= len && footer <= super::MAX_FOOTER_BYTES {
            let whole = (len - footer - 8)..len;
            end = client::get_ranges(object, std::iter::once(whole).collect())?.remove(0);
        }
    }
    let at = len - end.len() as u64;
    Ok((head, last8, Sparse { len, parts: vec![(at, end)] }))
}

/// The byte ranges of the column chunks `mask` selects, in every row group.
fn chunk_ranges(meta: &ParquetMetaData, mask: &ProjectionMask) -> Vec<Range<u64>> {
    let mut ranges = Vec::new();
    for rg in meta.row_groups() {
        for (leaf, c) in rg.columns().iter().enumerate() {
            if mask.leaf_included(leaf) {
                // Checked against the object's length when the footer was read.
                let start = c.dictionary_page_offset().unwrap_or(c.data_page_offset()) as u64;
                ranges.push(start..start + c.compressed_size() as u64);
            }
        }
    }
    ranges
}

/// A reader over the column chunks `mask` selects, fetched pinned to the listed version.
pub(super) fn fetch(object: &Listed, meta: &ParquetMetaData, mask: &ProjectionMask) -> Result<Sparse> {
    let ranges = chunk_ranges(meta, mask);
    let bytes = if ranges.is_empty() { Vec::new() } else { client::get_ranges(object, ranges.clone())? };
    let parts = ranges.iter().zip(bytes).map(|(r, b)| (r.start, b)).collect();
    Ok(Sparse { len: object.size, parts })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sparse_reader_serves_fetched_ranges_and_refuses_the_rest() {
        let s = Sparse {
            len: 100,
            parts: vec![(10, Bytes::from_static(b"abcdef")), (90, Bytes::from_static(b"0123456789"))],
        };
        assert_eq!(s.get_bytes(12, 3).unwrap(), Bytes::from_static(b"cde"));
        assert_eq!(s.get_bytes(90, 10).unwrap(), Bytes::from_static(b"0123456789"));
        let mut r = String::new();
        std::io::Read::read_to_string(&mut s.get_read(13).unwrap(), &mut r).unwrap();
        assert_eq!(r, "def");
        assert!(s.get_bytes(14, 4).is_err(), "past a fetched part");
        assert!(s.get_bytes(0, 1).is_err());
        assert!(s.get_read(50).is_err());
        assert_eq!(s.len(), 100);
    }
}
