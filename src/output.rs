//! Rendering a [`Report`] for people and programs: an aligned table (colour only on a
//! terminal, drifted columns first, one summary line), Markdown (for CI comments and notebooks)
//! and JSON (the documented contract in `docs/json.md`). Rendering is pure: it returns a
//! string and the CLI decides where it goes.

use std::fmt::Write as _;

use crate::engine::text::{column_note, num, opt, pval};
use crate::engine::{Report, Severity, TestResult, TestStatus};
use crate::snapshot::{Mode, Snapshot};

/// Output formats of `drift check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned plain-text table.
    Table,
    /// The JSON report.
    Json,
    /// A Markdown table.
    Markdown,
}

/// Renders the report.
pub fn render(report: &Report, format: Format, color: bool) -> String {
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
            s.push('\n');
            s
        }
        Format::Table => table(report, color),
        Format::Markdown => markdown(report),
    }
}

fn threshold(t: &TestResult) -> String {
    match (t.threshold.floor, t.threshold.critical_floor) {
        (Some(w), Some(c)) => format!("{}/{}", num(w), num(c)),
        _ => "-".to_owned(),
    }
}

fn result_word(t: &TestResult) -> &'static str {
    match (t.status, t.severity) {
        (TestStatus::Insufficient, _) => "insufficient",
        (TestStatus::Informational, _) => "info",
        (_, Severity::Critical) => "CRITICAL",
        (_, Severity::Warning) => "WARNING",
        (_, Severity::None) => "ok",
    }
}

/// The one-line summary that closes the table and Markdown outputs.
pub fn summary_line(r: &Report) -> String {
    let s = &r.summary;
    let mut line = if r.drift {
        format!("DRIFT: {} of {} columns drifted ({} critical)", s.drifted, s.columns, s.critical)
    } else {
        format!("no drift: {} columns compared", s.columns)
    };
    let sch = &r.schema;
    if !sch.only_in_reference.is_empty() {
        let _ = write!(line, "; missing from current: {}", sch.only_in_reference.join(", "));
    }
    if !sch.type_changed.is_empty() {
        let names: Vec<&str> = sch.type_changed.iter().map(|t| t.column.as_str()).collect();
        let _ = write!(line, "; type changed: {}", names.join(", "));
    }
    if !sch.only_in_current.is_empty() {
        let _ = write!(line, "; new in current: {}", sch.only_in_current.join(", "));
    }
    if !r.skipped.is_empty() {
        let _ =
            write!(line, "; skipped: {}", r.skipped.iter().map(|k| k.column.as_str()).collect::<Vec<_>>().join(", "));
    }
    let _ = write!(
        line,
        " (reference {} rows in {} file{}, current {} rows in {} file{})",
        r.reference.rows,
        r.reference.files,
        if r.reference.files == 1 { "" } else { "s" },
        r.current.rows,
        r.current.files,
        if r.current.files == 1 { "" } else { "s" }
    );
    line
}

fn rows(report: &Report) -> Vec<[String; 8]> {
    let mut out = Vec::new();
    for c in &report.columns {
        for (i, t) in c.tests.iter().enumerate() {
            let first = i == 0;
            out.push([
                if first {
                    c.segment.as_ref().map_or_else(|| c.column.clone(), |s| format!("{} [{s}]", c.column))
                } else {
                    String::new()
                },
                if first { c.kind.as_str().to_owned() } else { String::new() },
                t.test.as_str().to_owned(),
                opt(t.effect.or(t.statistic)),
                threshold(t),
                pval(t.p_value_adjusted.or(t.p_value)),
                result_word(t).to_owned(),
                if first { column_note(c) } else { String::new() },
            ]);
        }
    }
    out
}

const HEADER: [&str; 8] = ["COLUMN", "KIND", "TEST", "EFFECT", "FLOORS", "P(ADJ)", "RESULT", "NOTE"];

fn table(report: &Report, color: bool) -> String {
    let body = rows(report);
    let mut widths = HEADER.map(str::len);
    for r in &body {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &[String], out: &mut String, paint: Option<&str>| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                let _ = write!(s, "{cell:<w$}  ");
            }
        }
        let s = s.trim_end().to_owned();
        match paint {
            Some(code) if color => {
                let _ = writeln!(out, "\x1b[{code}m{s}\x1b[0m");
            }
            _ => {
                let _ = writeln!(out, "{s}");
            }
        }
    };
    line(&HEADER.map(String::from), &mut out, Some("1"));
    for r in &body {
        let paint = match r[6].as_str() {
            "CRITICAL" => Some("31"),
            "WARNING" => Some("33"),
            _ => None,
        };
        line(r, &mut out, paint);
    }
    if !report.schema.type_changed.is_empty() {
        out.push('\n');
        for t in &report.schema.type_changed {
            let _ = writeln!(out, "type changed: {} ({} -> {})", t.column, t.reference, t.current);
        }
    }
    for s in &report.skipped {
        let _ = writeln!(out, "skipped: {} ({}): {}", s.column, s.data_type, s.reason);
    }
    out.push('\n');
    let summary = summary_line(report);
    if color {
        let code = if report.drift { "1;31" } else { "1;32" };
        let _ = writeln!(out, "\x1b[{code}m{summary}\x1b[0m");
    } else {
        let _ = writeln!(out, "{summary}");
    }
    out
}

fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "**{}**\n", summary_line(report));
    let _ = writeln!(out, "| {} |", HEADER.join(" | "));
    let _ = writeln!(out, "|{}|", HEADER.map(|_| "---").join("|"));
    for r in rows(report) {
        let cells: Vec<String> = r.iter().map(|c| c.replace('|', "\\|")).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    for t in &report.schema.type_changed {
        let _ = writeln!(out, "\nType changed: `{}` ({} -> {})", t.column, t.reference, t.current);
    }
    out
}

/// A count with its share of `rows`: `218 (1.1%)`, or `0`.
fn share(count: u64, rows: u64) -> String {
    if count == 0 { "0".to_owned() } else { format!("{count} ({:.1}%)", 100.0 * count as f64 / rows.max(1) as f64) }
}

/// `drift reference show --format table`: provenance, then one line per column.
pub fn snapshot_table(snap: &Snapshot) -> String {
    let m = &snap.meta;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "drift reference snapshot, format {}, built by drift {} at {}",
        m.format_version, m.drift_version, m.created_at
    );
    let _ = writeln!(
        out,
        "{} rows from {} file{}; bins {}, categories kept {}, exact up to {} values, sketch cells {}",
        m.rows,
        m.sources.len(),
        if m.sources.len() == 1 { "" } else { "s" },
        m.settings.bins,
        m.settings.max_categories,
        m.settings.exact_max_values,
        m.settings.sketch_cells
    );
    for f in m.sources.iter().take(10) {
        let _ = writeln!(out, "  {} ({} rows, {} bytes)", f.path, f.rows, f.size);
    }
    if m.sources.len() > 10 {
        let _ = writeln!(out, "  ... and {} more files", m.sources.len() - 10);
    }
    out.push('\n');
    let header =
        ["COLUMN", "KIND", "COUNT", "NULL", "NAN", "MIN", "P01", "MEDIAN", "P99", "MAX", "MEAN", "STD", "MODE"];
    let mut rows: Vec<Vec<String>> = Vec::new();
    for c in &m.columns {
        let mut row = vec![c.name.clone(), c.kind.clone()];
        match (&c.numeric, &c.categorical) {
            (Some(n), _) => {
                let q = |p: f64| snap.quantile(&c.name, p).map_or("-".to_owned(), num);
                let mode = match n.mode {
                    Mode::Exact => "exact".to_owned(),
                    Mode::Sketch => format!("sketch ±{:.3}%", n.rank_error * 100.0),
                };
                row.extend([
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
                ]);
            }
            (None, Some(k)) => {
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
                row.extend([k.count.to_string(), share(c.nulls, c.rows), "-".into()]);
                row.extend(["-".into(), "-".into(), "-".into(), "-".into(), "-".into(), "-".into(), "-".into()]);
                row.push(format!("{mode}; top: {}", top.join(", ")));
            }
            (None, None) => {
                row.extend(["0".into(), share(c.nulls, c.rows), share(c.nan, c.rows)]);
                row.extend(std::iter::repeat_n("-".to_owned(), 8));
            }
        }
        rows.push(row);
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                let _ = write!(s, "{cell:<w$}  ");
            }
        }
        s.trim_end().to_owned()
    };
    let _ = writeln!(out, "{}", line(&header.map(String::from)));
    for r in &rows {
        let _ = writeln!(out, "{}", line(r));
    }
    for f in m.schema.iter().filter(|f| f.skipped.is_some()) {
        let _ = writeln!(out, "not profiled: {} ({}): {}", f.name, f.data_type, f.skipped.as_deref().unwrap_or(""));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text without its ANSI colour codes.
    fn strip(text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(i) = rest.find("\x1b[") {
            out.push_str(&rest[..i]);
            let after = &rest[i..];
            rest = &after[after.find('m').unwrap() + 1..];
        }
        out + rest
    }

    #[test]
    fn colour_paints_the_header_the_findings_and_the_summary_and_changes_nothing_else() {
        let report = crate::alerts::testing::shifted_report(0.15);
        let plain = render(&report, Format::Table, false);
        let painted = render(&report, Format::Table, true);
        assert!(!plain.contains('\x1b'));
        assert_eq!(strip(&painted), plain);
        let lines: Vec<&str> = painted.lines().collect();
        assert!(lines[0].starts_with("\x1b[1mCOLUMN") && lines[0].ends_with("\x1b[0m"), "{painted}");
        assert!(lines.iter().any(|l| l.starts_with("\x1b[33m") && l.contains("WARNING")), "{painted}");
        assert!(lines.iter().all(|l| !l.contains(" ok ") || !l.starts_with('\x1b')), "ok rows are not painted");
        assert!(lines.last().unwrap().starts_with("\x1b[1;31mDRIFT"), "{painted}");
    }
}
