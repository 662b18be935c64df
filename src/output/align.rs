//! Aligned text tables: every column as wide as its widest cell, two spaces between columns,
//! the last column not padded.

use std::fmt::Write as _;

/// The width (in characters) of each column: its widest cell, header included.
pub(super) fn widths(header: &[&str], rows: &[Vec<String>]) -> Vec<usize> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    widths
}

/// One line of the table, without its newline: each cell but the last padded to its column's
/// width and followed by two spaces, the last as it is; trailing spaces trimmed.
pub(super) fn line(cells: &[String], widths: &[usize]) -> String {
    let mut s = String::new();
    for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
        if i + 1 == cells.len() {
            s.push_str(cell);
        } else {
            let _ = write!(s, "{cell:<w$}  ");
        }
    }
    s.trim_end().to_owned()
}

/// A whole table after a blank line: the header, the rows, then each note on its own line.
pub(super) fn table(header: &[String], rows: &[Vec<String>], notes: &[String]) -> String {
    let header_ref: Vec<&str> = header.iter().map(String::as_str).collect();
    let widths = widths(&header_ref, rows);
    let mut out = String::from("\n");
    for r in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        let _ = writeln!(out, "{}", line(r, &widths));
    }
    for n in notes {
        let _ = writeln!(out, "{n}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        let rows = vec![vec!["ab".to_owned(), "±1".to_owned(), "last".to_owned()], vec![String::new(); 3]];
        let w = widths(&["A", "B", "C"], &rows);
        assert_eq!(w, [2, 2, 4], "in characters, not bytes");
        assert_eq!(line(&rows[0], &w), "ab  ±1  last");
        assert_eq!(line(&rows[1], &w), "", "trailing spaces are trimmed");
        assert_eq!(
            line(&["x".to_owned(), "y".to_owned(), "a long last cell".to_owned()], &w),
            "x   y   a long last cell"
        );
    }
}
