//! A footer is untrusted input: what it claims (its own size, row counts, where each column's
//! bytes are) is checked against the file's length before anything is read or reserved from
//! it, so a damaged or hostile footer is one file's error, never a huge allocation that aborts
//! the process.

use anyhow::{Result, bail};
use parquet::file::metadata::ParquetMetaData;

/// The largest footer (Thrift file metadata) read: far beyond any real file's (a few MB for
/// thousands of columns and row groups), small enough that parsing it stays cheap.
pub const MAX_FOOTER_BYTES: u64 = 64 << 20;

/// The most values a column's buffer reserves up front (128 MiB of `f64`); more rows grow it as
/// they are really decoded.
pub const MAX_RESERVED_VALUES: u64 = 1 << 24;

/// Checks the footer length in a file's last 8 bytes (`len` bytes in all) before it is parsed.
pub fn check_footer_len(shown: &dyn std::fmt::Display, last8: [u8; 8], len: u64) -> Result<()> {
    let footer = u64::from(u32::from_le_bytes([last8[0], last8[1], last8[2], last8[3]]));
    if footer + 12 > len {
        bail!(
            "{shown}: damaged Parquet footer: it claims {footer} bytes but the file has {len}; the file is \
             damaged or was cut short"
        );
    }
    if footer > MAX_FOOTER_BYTES {
        bail!(
            "{shown}: Parquet footer of {footer} bytes is over the {MAX_FOOTER_BYTES}-byte limit; rewrite the file \
             with fewer row groups or columns"
        );
    }
    Ok(())
}

/// Checks the parsed metadata against the file's length: the row count is the sum of the row
/// groups' (none negative), and every column chunk lies inside the file.
pub fn check_metadata(shown: &dyn std::fmt::Display, meta: &ParquetMetaData, len: u64) -> Result<()> {
    let claimed = meta.file_metadata().num_rows();
    let mut sum: i64 = 0;
    for (g, rg) in meta.row_groups().iter().enumerate() {
        if rg.num_rows() < 0 {
            bail!("{shown}: damaged Parquet footer: row group {g} claims {} rows", rg.num_rows());
        }
        sum = sum.saturating_add(rg.num_rows());
        for c in rg.columns() {
            let start = c.dictionary_page_offset().unwrap_or(c.data_page_offset());
            let size = c.compressed_size();
            let inside = start >= 4 && size >= 0 && (start as u64).checked_add(size as u64).is_some_and(|e| e <= len);
            if !inside {
                bail!(
                    "{shown}: damaged Parquet footer: column {:?} of row group {g} claims bytes {start}..+{size} \
                     of a {len}-byte file",
                    c.column_path().string()
                );
            }
        }
    }
    if claimed != sum {
        bail!("{shown}: damaged Parquet footer: it claims {claimed} rows but its row groups hold {sum}");
    }
    Ok(())
}

/// Values to reserve for `rows` rows claimed by footers of files of `bytes` bytes in all: no
/// more than one per byte of file (values are rarely smaller), nor than [`MAX_RESERVED_VALUES`].
pub fn reservation(rows: u64, bytes: u64) -> usize {
    rows.min(bytes).min(MAX_RESERVED_VALUES) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footer_lengths_beyond_the_file_or_the_cap_are_refused() {
        let last8 = |n: u32| {
            let b = n.to_le_bytes();
            [b[0], b[1], b[2], b[3], b'P', b'A', b'R', b'1']
        };
        assert!(check_footer_len(&"f", last8(100), 112).is_ok());
        let e = check_footer_len(&"f", last8(101), 112).unwrap_err().to_string();
        assert_eq!(
            e,
            "f: damaged Parquet footer: it claims 101 bytes but the file has 112; the file is damaged or was cut short"
        );
        let big = (MAX_FOOTER_BYTES + 1) as u32;
        let e = check_footer_len(&"f", last8(big), 1 << 40).unwrap_err().to_string();
        assert!(e.contains("over the 67108864-byte limit"), "{e}");
    }

    #[test]
    fn reservations_never_exceed_the_bytes_or_the_cap() {
        assert_eq!(reservation(1 << 40, 1000), 1000);
        assert_eq!(reservation(10, 1000), 10);
        assert_eq!(reservation(1 << 40, 1 << 40), MAX_RESERVED_VALUES as usize);
    }
}
