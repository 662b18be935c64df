//! A reference snapshot: `drift reference show` (text or its metadata as JSON), and the lines
//! `drift reference build` and `merge` print when they wrote one.

use std::fmt::Write as _;
use std::path::Path;

use super::{align, json, num, plural};
use crate::snapshot::{CategoricalProfile, ColumnProfile, Meta, Mode, NumericProfile, Snapshot};

/// `drift reference show --format table`: provenance, then one line per column, then the
/// columns not profiled.
pub fn snapshot_table(snap: &Snapshot) -> String {
    let m = &snap.meta;
    let mut out = provenance(m, snap.id());
    out.push('\n');
    let rows: Vec<Vec<String>> = m.columns.iter().map(|c| column_cells(snap, c)).collect();
    let widths = align::widths(&HEADER, &rows);
    let _ = writeln!(out, "{}", align::line(&HEADER.map(String::from), &widths));
    for r in &rows {
        let _ = writeln!(out, "{}", align::line(r, &widths));
    }
    for f in m.schema.iter().filter(|f| f.skipped.is_some()) {
        let _ = writeln!(out, "not profiled: {} ({}): {}", f.name, f.data_type, f.skipped.as_deref().unwrap_or(""));
    }
    out
}

/// `drift reference show --format json`: the snapshot's metadata.
pub fn snapshot_json(snap: &Snapshot) -> String {
    json(&snap.meta)
}

/// What `drift reference build` says (on stderr) when it wrote `path`.
pub fn snapshot_written(path: &Path, snap: &Snapshot) -> String {
    let files = snap.meta.sources.len();
    format!(
        "wrote {} ({} columns from {} rows in {files} file{})",
        path.display(),
        snap.meta.columns.len(),
        snap.meta.rows,
        plural(files)
    )
}

/// What `drift reference merge` says (on stderr) when it wrote `path` from `parts` snapshots.
pub fn snapshot_merged(path: &Path, parts: usize, merged: &Snapshot) -> String {
    format!("wrote {} (merged {parts} snapshots, {} rows)", path.display(), merged.meta.rows)
}

const HEADER: [&str; 13] =
    ["COLUMN", "KIND", "COUNT", "NULL", "NAN", "MIN", "P01", "MEDIAN", "P99", "MAX", "MEAN", "STD", "MODE"];

/// The files listed by name before `... and N more files`.
const LISTED_SOURCES: usize = 10;

/// Who built the snapshot, when and how, from how many rows of which files.
fn provenance(m: &Meta, id: Option<crate::engine::SnapshotId>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "drift reference snapshot, format {}, built by drift {} at {}{}",
        m.format_version,
        m.drift_version,
        m.created_at,
        id.map_or_else(String::new, |id| format!(", id {}", id.id))
    );
    let s = &m.settings;
    let _ = writeln!(
        out,
        "{} rows from {} file{}; bins {}, categories kept {}, exact up to {} values, sketch cells {}",
        m.rows,
        m.sources.len(),
        plural(m.sources.len()),
        s.bins,
        s.max_categories,
        s.exact_max_values,
        s.sketch_cells
    );
    for f in m.sources.iter().take(LISTED_SOURCES) {
        let _ = writeln!(out, "  {} ({} rows, {} bytes)", f.path, f.rows, f.size);
    }
    if m.sources.len() > LISTED_SOURCES {
        let _ = writeln!(out, "  ... and {} more files", m.sources.len() - LISTED_SOURCES);
    }
    out
}

/// A count with its share of `rows`: `218 (1.1%)`, or `0`.
fn share(count: u64, rows: u64) -> String {
    if count == 0 { "0".to_owned() } else { format!("{count} ({:.1}%)", 100.0 * count as f64 / rows.max(1) as f64) }
}

/// One line of the table, a cell per [`HEADER`] entry.
fn column_cells(snap: &Snapshot, c: &ColumnProfile) -> Vec<String> {
    let mut row = vec![c.name.clone(), c.kind.clone()];
    match (&c.numeric, &c.categorical) {
        (Some(n), _) => row.extend(numeric_cells(snap, c, n)),
        (None, Some(k)) => row.extend(categorical_cells(c, k)),
        (None, None) => {
            row.extend(["0".into(), share(c.nulls, c.rows), share(c.nan, c.rows)]);
            row.extend(std::iter::repeat_n("-".to_owned(), 8));
        }
    }
    row
}

/// COUNT to MODE of a numeric column.
fn numeric_cells(snap: &Snapshot, c: &ColumnProfile, n: &NumericProfile) -> [String; 11] {
    let q = |p: f64| snap.quantile(&c.name, p).map_or("-".to_owned(), num);
    let mode = match n.mode {
        Mode::Exact => "exact".to_owned(),
        Mode::Sketch => format!("sketch ±{:.3}%", n.rank_error * 100.0),
    };
    [
        n.count.to_string(),
        share(c.nulls, c.rows),
        share(c.nan, c.rows),
        num(n.min.0),
        q(0.01),
        num(n.median.0),
        q(0.99),
        num(n.max.0),
        num(n.mean.0),
        num((n.m2.0 / n.count as f64).sqrt()),
        mode,
    ]
}

/// COUNT to MODE of a categorical column: no NaN and no quantiles; the mode says how many
/// categories (and how many pooled) and the top three.
fn categorical_cells(c: &ColumnProfile, k: &CategoricalProfile) -> Vec<String> {
    let top: Vec<String> = k
        .categories
        .iter()
        .take(3)
        .map(|(l, n)| format!("{l} {:.1}%", 100.0 * *n as f64 / k.count.max(1) as f64))
        .collect();
    let mut mode = format!("{} categories", k.categories.len() as u64 + k.pooled_distinct);
    if k.pooled_distinct > 0 {
        mode.push_str(&format!(" ({} pooled)", k.pooled_distinct));
    }
    let mut cells = vec![k.count.to_string(), share(c.nulls, c.rows), "-".into()];
    cells.extend(std::iter::repeat_n("-".to_owned(), 7));
    cells.push(format!("{mode}; top: {}", top.join(", ")));
    cells
}
