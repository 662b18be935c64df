//! The snapshot file's bytes: a fixed header, JSON metadata, binary blobs, a checksum.
//!
//! ```text
//! offset  size  field
//! 0       8     magic "DRIFTREF"
//! 8       4     format version (u32 LE)
//! 12      8     metadata length M (u64 LE)
//! 20      M     metadata, JSON (UTF-8)
//! 20+M    4     blob count B (u32 LE)
//!         ...   B times: length L (u64 LE), then L bytes
//! end-4   4     CRC-32 (IEEE) of every byte from offset 8 to end-4
//! ```
//!
//! Blobs hold what would be large as JSON: exact sorted values (runs of distinct values,
//! varint deltas of their order-preserving keys, varint counts) and sketches. Reading checks
//! the magic, the version (a newer one is refused with a message saying so), the length and
//! the checksum before anything else, so a truncated or corrupted file is one clear error.

use anyhow::{Result, bail};

use super::Blob;
use crate::stats::sketch::{CdfSketch, Span};

/// First bytes of every snapshot.
pub const MAGIC: &[u8; 8] = b"DRIFTREF";

/// The format this build writes and the newest it reads. Version 2 adds, per categorical
/// column, `singletons` and `pooled_max` to the metadata; version 1 files still read (see
/// `CategoricalProfile`).
pub const FORMAT_VERSION: u32 = 2;

/// Whether `head` (the first bytes of a file) starts like a snapshot.
pub fn looks_like_snapshot(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

/// Whether `path` is a file that starts like a snapshot.
pub fn is_snapshot_file(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 8];
    path.is_file()
        && std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok()
        && looks_like_snapshot(&head)
}

/// Assembles a file from its metadata and blobs.
pub fn encode(meta_json: &[u8], blobs: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + meta_json.len() + blobs.iter().map(|b| b.len() + 8).sum::<usize>());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(meta_json.len() as u64).to_le_bytes());
    out.extend_from_slice(meta_json);
    out.extend_from_slice(&(blobs.len() as u32).to_le_bytes());
    for b in blobs {
        out.extend_from_slice(&(b.len() as u64).to_le_bytes());
        out.extend_from_slice(b);
    }
    let crc = crc32(&out[8..]);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Splits a file into metadata and blobs, checking everything. Errors say what is wrong with
/// the file; the caller adds its path.
pub fn decode(bytes: &[u8]) -> Result<(Vec<u8>, Vec<Vec<u8>>)> {
    if !looks_like_snapshot(bytes) {
        bail!("not a drift reference snapshot (it does not start with {:?})", std::str::from_utf8(MAGIC).unwrap_or(""));
    }
    if bytes.len() < 12 {
        bail!("truncated snapshot ({} bytes)", bytes.len());
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version > FORMAT_VERSION {
        bail!(
            "snapshot format version {version} is newer than this drift reads (up to {FORMAT_VERSION}): upgrade drift, \
             or rebuild the snapshot with this version"
        );
    }
    if version == 0 {
        bail!("corrupted snapshot (format version 0)");
    }
    let mut r = Reader { bytes, at: 12 };
    let meta_len = r.u64()? as usize;
    let meta = r.take(meta_len)?.to_vec();
    let count = r.u32()? as usize;
    let mut blobs = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        let len = r.u64()? as usize;
        blobs.push(r.take(len)?.to_vec());
    }
    let body_end = r.at;
    let stored = r.u32()?;
    if r.at != bytes.len() {
        bail!("corrupted snapshot ({} unexpected bytes at the end)", bytes.len() - r.at);
    }
    if crc32(&bytes[8..body_end]) != stored {
        bail!("corrupted snapshot (checksum mismatch): rebuild it or restore it from a backup");
    }
    Ok((meta, blobs))
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        match self.at.checked_add(n) {
            Some(end) if end <= self.bytes.len() => {
                let s = &self.bytes[self.at..end];
                self.at = end;
                Ok(s)
            }
            _ => bail!("truncated snapshot (ends at byte {} while reading {} more)", self.bytes.len(), n),
        }
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
}

/// CRC-32 (IEEE 802.3, the one zip and PNG use).
pub fn crc32(data: &[u8]) -> u32 {
    const fn table() -> [u32; 256] {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    }
    const TABLE: [u32; 256] = table();
    let mut c = !0u32;
    for &b in data {
        c = TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

/// Appends `v` as an unsigned LEB128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads varints from a blob.
pub struct Varints<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Varints<'a> {
    /// Reads from the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Varints<'a> {
        Varints { bytes, at: 0 }
    }

    /// The next varint.
    pub fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let Some(&b) = self.bytes.get(self.at) else { bail!("corrupted snapshot (a value list ends early)") };
            self.at += 1;
            if shift >= 64 {
                bail!("corrupted snapshot (a varint is too long)");
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
            shift += 7;
        }
    }

    /// Eight raw bytes, little-endian.
    pub fn u64_le(&mut self) -> Result<u64> {
        let Some(b) = self.bytes.get(self.at..self.at + 8) else {
            bail!("corrupted snapshot (a value list ends early)")
        };
        self.at += 8;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    /// Whether everything was read.
    pub fn done(&self) -> bool {
        self.at == self.bytes.len()
    }
}

/// Order-preserving key of a non-NaN f64 (as `SortedSample` uses).
pub fn key_of(v: f64) -> u64 {
    let bits = v.to_bits();
    if bits >> 63 == 1 { !bits } else { bits | (1 << 63) }
}

/// Inverse of [`key_of`].
pub fn value_of(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// The bytes of one blob: a kind tag, then runs (and for a sketch, its spans).
pub(super) fn encode_blob(b: &Blob) -> Vec<u8> {
    let mut out = Vec::new();
    let put_runs = |out: &mut Vec<u8>, runs: &[(f64, u64)]| {
        put_varint(out, runs.len() as u64);
        let mut prev = 0u64;
        for &(v, c) in runs {
            let k = key_of(v);
            put_varint(out, k - prev);
            put_varint(out, c);
            prev = k;
        }
    };
    match b {
        Blob::Exact(runs) => {
            out.push(0);
            put_runs(&mut out, runs);
        }
        Blob::Sketch(s) => {
            out.push(1);
            put_runs(&mut out, s.anchors());
            put_varint(&mut out, s.spans().len() as u64);
            for sp in s.spans() {
                out.extend_from_slice(&sp.lo.to_bits().to_le_bytes());
                out.extend_from_slice(&sp.hi.to_bits().to_le_bytes());
                put_varint(&mut out, sp.count);
            }
        }
    }
    out
}

/// A blob from its bytes.
pub(super) fn decode_blob(bytes: &[u8]) -> Result<Blob> {
    let Some((&tag, rest)) = bytes.split_first() else { bail!("corrupted snapshot (empty value list)") };
    let mut r = Varints::new(rest);
    let runs = |r: &mut Varints| -> Result<Vec<(f64, u64)>> {
        let n = r.varint()?;
        let mut out = Vec::with_capacity(n.min(1 << 24) as usize);
        let mut k = 0u64;
        for _ in 0..n {
            k = k
                .checked_add(r.varint()?)
                .ok_or_else(|| anyhow::anyhow!("corrupted snapshot (values out of order)"))?;
            let v = value_of(k);
            if v.is_nan() {
                bail!("corrupted snapshot (NaN in a value list)");
            }
            out.push((v, r.varint()?));
        }
        Ok(out)
    };
    let blob = match tag {
        0 => Blob::Exact(runs(&mut r)?),
        1 => {
            let anchors = runs(&mut r)?;
            let n = r.varint()?;
            let mut spans = Vec::with_capacity(n.min(1 << 24) as usize);
            for _ in 0..n {
                let lo = f64::from_bits(r.u64_le()?);
                let hi = f64::from_bits(r.u64_le()?);
                spans.push(Span { lo, hi, count: r.varint()? });
            }
            Blob::Sketch(
                CdfSketch::from_parts(anchors, spans).map_err(|e| anyhow::anyhow!("corrupted snapshot ({e})"))?,
            )
        }
        t => bail!("corrupted snapshot (unknown value list kind {t})"),
    };
    if !r.done() {
        bail!("corrupted snapshot (trailing bytes in a value list)");
    }
    Ok(blob)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_of_a_known_string() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn round_trip_and_damage() {
        let file = encode(b"{\"a\":1}", &[vec![1, 2, 3], vec![]]);
        let (meta, blobs) = decode(&file).unwrap();
        assert_eq!(meta, b"{\"a\":1}");
        assert_eq!(blobs, vec![vec![1, 2, 3], vec![]]);
        let mut bad = file.clone();
        bad[22] ^= 1;
        assert!(decode(&bad).unwrap_err().to_string().contains("checksum"));
        assert!(decode(&file[..file.len() - 7]).unwrap_err().to_string().contains("truncated"));
        let mut newer = file.clone();
        newer[8] = 9;
        assert!(decode(&newer).unwrap_err().to_string().contains("newer"));
        assert!(decode(b"PAR1....").unwrap_err().to_string().contains("not a drift reference snapshot"));
    }

    #[test]
    fn varints() {
        let mut b = Vec::new();
        for v in [0u64, 1, 127, 128, 300, u64::MAX] {
            put_varint(&mut b, v);
        }
        let mut r = Varints::new(&b);
        for v in [0u64, 1, 127, 128, 300, u64::MAX] {
            assert_eq!(r.varint().unwrap(), v);
        }
        assert!(r.done());
        for v in [-1.5, -0.0, 0.0, 3.25, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(value_of(key_of(v)).to_bits(), v.to_bits());
        }
    }
}
