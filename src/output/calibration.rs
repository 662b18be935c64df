//! The false-alarm calibration (`drift validate --calibrate`, `drift check --calibrate`): the
//! window and page figures, per column, and the advice above the page budget, as text,
//! Markdown or JSON (`docs/json.md`).

use std::fmt::Write as _;

use super::align::{line, widths};
use super::{Format, json};
use crate::calibrate::{Calibration, PAGE_BUDGET};
use crate::engine::Report;

/// A rate as a percentage with one decimal.
fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

/// "a–b%" for an interval.
fn interval(ci: [f64; 2]) -> String {
    format!("{:.1}–{:.1}%", 100.0 * ci[0], 100.0 * ci[1])
}

/// Windows per test, most first: "chi2 11, unseen 2".
fn tests(t: &std::collections::BTreeMap<String, usize>) -> String {
    let mut v: Vec<(&String, &usize)> = t.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let s: Vec<String> = v.iter().map(|(k, n)| format!("{k} {n}")).collect();
    if s.is_empty() { "-".to_owned() } else { s.join(", ") }
}

/// The lines above the column table: what was simulated, the window rate, the pages (and the
/// contiguous windows' figures).
pub(super) fn head(c: &Calibration) -> Vec<String> {
    let mut lines = vec![
        format!(
            "{} {} windows of {} rows ({}) from {} folds of the reference, seed {}",
            c.windows, c.method, c.window_rows, c.window_rows_from, c.folds, c.seed
        ),
        format!(
            "false drift: {} of {} windows ({}, 95% CI {}), a lower bound: shuffled windows hide within-day structure",
            c.drifted_windows,
            c.windows,
            pct(c.false_drift_rate),
            interval(c.ci)
        ),
        format!(
            "false pages: {} over the {} windows at one per {} s ({}): {:.1} per 30 days, a lower bound",
            c.pages, c.windows, c.cadence_secs, c.cadence_from, c.pages_per_30d
        ),
    ];
    if let Some(k) = &c.contiguous {
        let noisy: Vec<String> = k
            .columns
            .iter()
            .filter(|x| x.drifted_windows > 0)
            .take(3)
            .map(|x| format!("{} {}", x.column, pct(x.false_drift_rate)))
            .collect();
        lines.push(format!(
            "contiguous windows by {} in time order: {} of {} drifted ({}, 95% CI {}), {} pages: {:.1} per 30 days{}",
            k.timestamp_column,
            k.drifted_windows,
            k.windows,
            pct(k.false_drift_rate),
            interval(k.ci),
            k.pages,
            k.pages_per_30d,
            if noisy.is_empty() { String::new() } else { format!("; most: {}", noisy.join(", ")) }
        ));
    }
    lines
}

/// The verdict line and the advice.
pub(super) fn tail(c: &Calibration) -> Vec<String> {
    let mut out = Vec::new();
    for n in &c.notes {
        out.push(format!("note: {n}"));
    }
    if c.pages_per_30d > PAGE_BUDGET {
        out.push(format!(
            "warning: {:.1} false pages per 30 days is above {PAGE_BUDGET}; what would bring it down:",
            c.pages_per_30d
        ));
        out.extend(c.advice.iter().map(|a| format!("  - {a}")));
    } else {
        out.push(format!("ok: at most {PAGE_BUDGET} false page per 30 days"));
    }
    if let Some(k) =
        // Only beyond the noise: the two rates' 95% intervals apart.
        c.contiguous.as_ref().filter(|k| k.pages_per_30d > PAGE_BUDGET && k.ci[0] > c.ci[1])
    {
        out.push(format!(
            "warning: contiguous windows page {:.1} times per 30 days, more than shuffled ones: the data has structure within a day that windows of {} rows see; bigger windows or fire_after help",
            k.pages_per_30d, c.window_rows
        ));
    }
    out
}

/// The column table's header.
pub(super) const HEADER: [&str; 4] = ["column", "false drift", "95% CI", "drifted by"];

/// One row per column: name, false-drift rate, its interval, the tests that drifted.
pub(super) fn column_rows(c: &Calibration) -> Vec<Vec<String>> {
    c.columns.iter().map(|x| vec![x.column.clone(), pct(x.false_drift_rate), interval(x.ci), tests(&x.tests)]).collect()
}

/// The calibration as an aligned table under its summary lines; `title` names what was
/// calibrated (a monitor, or the reference of a check).
pub fn calibration_table(title: &str, c: &Calibration) -> String {
    let mut s = format!("calibration of {title}\n");
    for l in head(c) {
        let _ = writeln!(s, "  {l}");
    }
    let (header, rows) = (HEADER, column_rows(c));
    let w = widths(&header, &rows);
    let _ = writeln!(s, "  {}", line(&header.map(str::to_owned), &w));
    for r in &rows {
        let _ = writeln!(s, "  {}", line(r, &w));
    }
    for l in tail(c) {
        let _ = writeln!(s, "  {l}");
    }
    s
}

/// The calibration in Markdown.
pub fn calibration_markdown(title: &str, c: &Calibration) -> String {
    let mut s = format!("### Calibration of {title}\n\n");
    for l in head(c) {
        let _ = writeln!(s, "- {l}");
    }
    s.push_str("\n| column | false drift | 95% CI | drifted by |\n|---|---:|---:|---|\n");
    for x in &c.columns {
        let _ =
            writeln!(s, "| `{}` | {} | {} | {} |", x.column, pct(x.false_drift_rate), interval(x.ci), tests(&x.tests));
    }
    s.push('\n');
    for l in tail(c) {
        let _ = writeln!(s, "{l}");
    }
    s
}

/// `drift check --calibrate`: the report as `format` renders it, then the calibration of its
/// reference (or why there is none); in JSON the report's object with a `calibration` field
/// (`{"status": "failed", "error": ...}` when it could not be made).
pub fn render_calibrated(report: &Report, c: &Result<Calibration, String>, format: Format, color: bool) -> String {
    let title = "the reference";
    let text = match (c, format) {
        (_, Format::Json) => {
            let mut v = serde_json::to_value(report).unwrap_or_default();
            let c = match c {
                Ok(c) => serde_json::to_value(c).unwrap_or_default(),
                Err(e) => serde_json::json!({"status": "failed", "error": e}),
            };
            if let Some(o) = v.as_object_mut() {
                o.insert("calibration".to_owned(), c);
            }
            return json(&v);
        }
        (Ok(c), Format::Markdown) => calibration_markdown(title, c),
        (Ok(c), _) => calibration_table(title, c),
        (Err(e), _) => format!("calibration of {title} failed: {e}\n"),
    };
    format!("{}\n{text}", super::render(report, format, color))
}

/// `drift validate --calibrate`, one monitor: its calibration, or why it could not be made.
pub fn monitor_calibration(id: &str, c: &Result<Calibration, String>, format: Format) -> String {
    let title = format!("monitor {id}");
    match (c, format) {
        (Ok(c), Format::Markdown) => calibration_markdown(&title, c),
        (Ok(c), _) => calibration_table(&title, c),
        (Err(e), _) => format!("calibration of {title} failed: {e}\n"),
    }
}

/// `drift validate --calibrate --format json`: every monitor's calibration (or error) by id.
pub fn calibrations_json(all: &[(String, Result<Calibration, String>)]) -> String {
    let v: serde_json::Map<String, serde_json::Value> = all
        .iter()
        .map(|(id, c)| {
            let v = match c {
                Ok(c) => serde_json::json!({"status": "done", "calibration": c}),
                Err(e) => serde_json::json!({"status": "failed", "error": e}),
            };
            (id.clone(), v)
        })
        .collect();
    json(&v)
}
