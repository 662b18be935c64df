//! A [`Report`] as an aligned table, Markdown or JSON.

use std::fmt::Write as _;

use super::align;
use super::{json, num, opt, plural, pval};
use crate::engine::text::column_note;
use crate::engine::{Report, Severity, TestResult, TestStatus};

/// Output formats of `drift check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned plain-text table.
    Table,
    /// The JSON report.
    Json,
    /// A Markdown table.
    Markdown,
    /// One self-contained HTML page (inline CSS and SVG, no script, nothing fetched).
    Html,
}

/// Renders the report.
pub fn render(report: &Report, format: Format, color: bool) -> String {
    match format {
        Format::Json => json(report),
        Format::Table => table(report, color),
        Format::Markdown => markdown(report),
        Format::Html => super::html(report, &super::Sources::default()),
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
        plural(r.reference.files),
        r.current.rows,
        r.current.files,
        plural(r.current.files)
    );
    if let Some(l) = r.latency.as_ref().filter(|l| l.breached) {
        let breached: Vec<&str> = l.slo.iter().filter(|s| s.breached).map(|s| s.label.as_str()).collect();
        let _ = write!(line, "; LATENCY SLO BREACHED: {}", breached.join(", "));
    }
    line
}

/// One row per test; the column's name, kind and note on its first test only.
fn rows(report: &Report) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for c in &report.columns {
        for (i, t) in c.tests.iter().enumerate() {
            let first = i == 0;
            out.push(vec![
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

/// The RESULT column, whose word sets a row's colour.
const RESULT: usize = 6;

/// `line` in the ANSI colour `code` when `color`, then a newline.
fn paint_line(out: &mut String, line: &str, code: Option<&str>, color: bool) {
    match code {
        Some(code) if color => {
            let _ = writeln!(out, "\x1b[{code}m{line}\x1b[0m");
        }
        _ => {
            let _ = writeln!(out, "{line}");
        }
    }
}

fn table(report: &Report, color: bool) -> String {
    let body = rows(report);
    let widths = align::widths(&HEADER, &body);
    let mut out = String::new();
    paint_line(&mut out, &align::line(&HEADER.map(String::from), &widths), Some("1"), color);
    for r in &body {
        let code = match r[RESULT].as_str() {
            "CRITICAL" => Some("31"),
            "WARNING" => Some("33"),
            _ => None,
        };
        paint_line(&mut out, &align::line(r, &widths), code, color);
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
    if let Some(l) = psi_legend(report) {
        let _ = writeln!(out, "{l}");
    }
    if let Some(l) = &report.latency {
        out.push_str(&super::latency::latency_table(l));
    }
    if let Some(m) = &report.model {
        out.push_str(&super::quality::model_table(m));
    }
    for c in report.checks.iter().filter(|c| c.kind == "latency") {
        if let Ok(d) = serde_json::from_value(c.detail.clone()) {
            out.push_str(&super::latency::window_latency_table(&d));
        }
    }
    out.push('\n');
    let code = if report.drift { "1;31" } else { "1;32" };
    paint_line(&mut out, &summary_line(report), Some(code), color);
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
    if let Some(l) = psi_legend(report) {
        let _ = writeln!(out, "\n{l}");
    }
    if let Some(l) = &report.latency {
        out.push_str(&super::latency::latency_markdown(l));
    }
    if let Some(m) = &report.model {
        out.push_str(&super::quality::model_markdown(m));
    }
    out
}

/// Which PSI the EFFECT of `psi` and `chi2` rows is, when the report has such a row.
fn psi_legend(report: &Report) -> Option<&'static str> {
    let any = report.columns.iter().flat_map(|c| &c.tests).any(|t| {
        matches!(t.test, crate::engine::TestKind::Psi | crate::engine::TestKind::Chi2) && t.status == TestStatus::Ok
    });
    any.then_some(match report.policy.psi_effect {
        crate::engine::PsiEffect::Corrected => {
            "EFFECT of psi and chi2: PSI (corrected), the PSI less its noise dof (1/n + 1/N); --psi-effect classic shows the plain PSI"
        }
        crate::engine::PsiEffect::Classic => "EFFECT of psi and chi2: the plain PSI (--psi-effect classic)",
    })
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
