//! `drift check --format html`: the report as one self-contained page: inline CSS and inline
//! SVG, no script, nothing fetched (no `src`, no stylesheet link, no `url()` or `@import`),
//! so it opens from a chat attachment or a CI artifact on an air-gapped machine.
//!
//! Only the report's aggregates are drawn (bin counts, category counts, summaries), never
//! rows, so the page's size depends on the number of columns, not of rows (about 6 KB per
//! column; BENCHMARKS.md). Every string that comes from the data or the command line (column
//! and category names, paths, types, schema findings) goes through [`escape`].
//!
//! Layout: the header (verdict, counts, policy, both sides, schema changes), the overview
//! table (drifted first, the text table's order, a small histogram per row), one section per
//! column, then the panels of other kinds of check (latency, model quality) in
//! [`panels`]. A stored window of a monitor with a `[model]` shows its model quality after
//! its drift over time ([`model`]).

mod column;
mod index;
mod model;
mod model_json;
mod panels;
mod style;
mod svg;
mod timeline;

pub use index::{MonitorLine, index};
pub use model::ModelPanel;
pub use model_json::{Evaluation, ModelWindowView, parse as parse_evaluation};
pub use timeline::{Mark, Series, Timeline, TimelineWindow};

use std::fmt::Write as _;

use super::num;
use crate::engine::text::column_note;
use crate::engine::{Floors, Report, Severity};

/// Where the two sides came from, as the user named them (paths, globs or snapshots).
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The reference as given.
    pub reference: Vec<String>,
    /// The current data as given.
    pub current: Vec<String>,
}

/// Text made safe for HTML content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and newline are not allowed in HTML text.
            c if c.is_control() && c != '\t' && c != '\n' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// What a page shows besides the report: its title, where the sides came from, and for a
/// stored window its place in the monitor's history.
#[derive(Debug, Clone, Default)]
pub struct Page<'a> {
    /// The heading before the verdict (`drift check`; `drift report: checkout, window 12`).
    pub title: String,
    /// Where the two sides came from.
    pub sources: Sources,
    /// Facts added to the header, as (term, plain text) pairs (escaped when drawn).
    pub facts: Vec<(String, String)>,
    /// Links above the header (plain text label, URL path), e.g. back to the daemon's index.
    pub nav: Vec<(String, String)>,
    /// A stored window's drift over time.
    pub timeline: Option<&'a Timeline>,
    /// A stored window whose pictures were dropped by retention: said once, the charts omitted.
    pub no_pictures: bool,
    /// `drift check --calibrate`: the reference's false-alarm calibration, or why it failed.
    pub calibration: Option<&'a Result<crate::calibrate::Calibration, String>>,
    /// A stored window of a monitor with a `[model]`: its model quality and the windows' before.
    pub model: Option<&'a ModelPanel>,
}

/// The whole page of `drift check`.
pub fn html(report: &Report, sources: &Sources) -> String {
    page(report, &Page { title: "drift check".to_owned(), sources: sources.clone(), ..Page::default() })
}

/// The head of every page: charset, viewport, colour schemes, title and the stylesheet.
pub(crate) fn head(out: &mut String, title: &str) {
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta name=\"color-scheme\" content=\"light dark\">\n");
    let _ = writeln!(out, "<title>{}</title>", escape(title));
    let _ = writeln!(out, "<style>{}</style>\n</head>\n<body>", style::CSS);
}

/// A report page: `drift check --format html`, `drift report`, the daemon's `/monitors/ID`.
pub fn page(report: &Report, p: &Page) -> String {
    let mut out = String::with_capacity(4096 + report.columns.len() * 6144);
    head(&mut out, &format!("drift: {}", super::summary_line(report)));
    nav(&mut out, &p.nav);
    header(&mut out, report, p);
    if let Some(t) = p.timeline {
        timeline::section(&mut out, t);
    }
    if p.no_pictures {
        out.push_str("<p class=\"muted\">This window's charts are past <code>[retention] report_days</code>: its numbers are shown without them.</p>\n");
    }
    if let Some(m) = p.model {
        model::section(&mut out, m);
    }
    overview(&mut out, report);
    out.push_str("<h2 id=\"columns\">Columns</h2>\n");
    for (i, c) in report.columns.iter().enumerate() {
        column::section(&mut out, c, i, report.policy.psi_eps);
    }
    panels::panels(&mut out, report, p.calibration);
    let _ = writeln!(
        out,
        "<footer class=\"muted\"><p>drift report version {}; aggregates only (bin and category counts), no rows.</p></footer>",
        report.report_version
    );
    out.push_str("</body>\n</html>\n");
    out
}

fn severity_class(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "sev-critical",
        Severity::Warning => "sev-warning",
        Severity::None => "sev-none",
    }
}

fn floors(f: Floors) -> String {
    format!("{} / {}", num(f.warning), num(f.critical))
}

fn side_line(given: &[String], side: &crate::engine::TableSummary) -> String {
    let names: Vec<String> = given.iter().map(|g| format!("<code>{}</code>", escape(g))).collect();
    let what = if names.is_empty() { String::new() } else { format!("{} — ", names.join(", ")) };
    let (rows, files) = (side.rows, side.files);
    let mut line = format!("{what}{rows} rows in {files} file{}", super::plural(files));
    // An event-time window's rows of its files it did not evaluate (docs/json.md).
    let dropped: Vec<String> = [
        (side.rows_late, "late (their window had closed, or no timestamp)"),
        (side.rows_future, "future (past max_future_secs)"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if !dropped.is_empty() {
        let _ = write!(line, "; not evaluated: {}", dropped.join(", "));
    }
    line
}

/// Links above the header (labels and paths escaped).
fn nav(out: &mut String, links: &[(String, String)]) {
    if links.is_empty() {
        return;
    }
    out.push_str("<nav class=\"muted\">");
    for (i, (label, path)) in links.iter().enumerate() {
        let sep = if i == 0 { "" } else { " · " };
        let _ = write!(out, "{sep}<a href=\"{}\">{}</a>", escape(path), escape(label));
    }
    out.push_str("</nav>\n");
}

fn header(out: &mut String, r: &Report, page: &Page) {
    let sources = &page.sources;
    let s = &r.summary;
    let verdict = if r.drift { "DRIFT" } else { "NO DRIFT" };
    let _ = writeln!(
        out,
        "<header>\n<h1>{} <span class=\"verdict {}\">{verdict}</span></h1>",
        escape(&page.title),
        severity_class(r.severity)
    );
    let _ = writeln!(
        out,
        "<p><strong>{} of {} columns drifted</strong>, {} critical; {} p-values in the correction's family, {} tests insufficient.</p>",
        s.drifted, s.columns, s.critical, s.tests_in_family, s.insufficient
    );
    let p = &r.policy;
    out.push_str("<dl class=\"facts\">\n");
    for (term, text) in &page.facts {
        let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", escape(term), escape(text));
    }
    let snapshot = r.reference_snapshot.as_ref().map_or_else(String::new, |id| {
        format!(
            "; snapshot id <code>{}</code>, built by drift {} at {}",
            escape(&id.id),
            escape(&id.drift_version),
            escape(&id.created_at)
        )
    });
    let _ = writeln!(out, "<dt>reference</dt><dd>{}{snapshot}</dd>", side_line(&sources.reference, &r.reference));
    let _ = writeln!(out, "<dt>current</dt><dd>{}</dd>", side_line(&sources.current, &r.current));
    let _ = writeln!(
        out,
        "<dt>policy</dt><dd>alpha {} after {} correction; floors (warning / critical): KS D {}, PSI {}, missing rate {}, unseen {}</dd>",
        num(p.alpha),
        escape(&format!("{:?}", p.correction).to_lowercase()),
        floors(p.ks),
        floors(p.psi),
        floors(p.null_rate),
        floors(p.unseen)
    );
    let findings: Vec<String> = r
        .schema
        .findings()
        .map(|(col, what, drift)| {
            format!("<code>{}</code> {}{}", escape(col), what.replace('_', " "), if drift { " (drift)" } else { "" })
        })
        .chain(r.skipped.iter().map(|k| {
            format!("<code>{}</code> skipped ({}): {}", escape(&k.column), escape(&k.data_type), escape(&k.reason))
        }))
        .collect();
    let schema = if findings.is_empty() { "no changes".to_owned() } else { findings.join("; ") };
    let _ = writeln!(out, "<dt>schema</dt><dd>{schema}</dd>\n</dl>\n</header>");
}

fn overview(out: &mut String, r: &Report) {
    out.push_str("<h2 id=\"overview\">Overview</h2>\n<p class=\"legend\"><span class=\"swatch ref\"></span>reference (outlined)<span class=\"swatch cur\"></span>current (solid)</p>\n");
    out.push_str("<table class=\"overview\">\n<thead><tr><th>column</th><th>kind</th><th>result</th><th>distribution</th><th>test</th><th class=\"num\">effect</th><th class=\"num\">floors</th><th class=\"num\">p (adj)</th><th>note</th></tr></thead>\n<tbody>\n");
    for (i, c) in r.columns.iter().enumerate() {
        let main = column::main_test(c);
        let _ = writeln!(
            out,
            "<tr><td class=\"name\"><a href=\"#col-{i}\">{}</a></td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(&column::title(c)),
            c.kind.as_str(),
            severity_class(c.severity),
            column::verdict(c),
            column::mini_chart(c),
            main.map_or("-", |t| t.test.as_str()),
            main.map_or_else(|| "-".to_owned(), |t| super::opt(t.effect.or(t.statistic))),
            main.map_or_else(|| "-".to_owned(), column::floors_of),
            escape(&main.map_or_else(|| "-".to_owned(), |t| super::pval(t.p_value_adjusted.or(t.p_value)))),
            escape(&column_note(c))
        );
    }
    out.push_str("</tbody>\n</table>\n");
}
