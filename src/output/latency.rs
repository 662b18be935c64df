//! `drift check --latency`: the percentile table, after the drift table.

use std::fmt::Write as _;

use super::align;
use crate::engine::latency::{LatencyComparison, LatencyDetail};

const HEADER: [&str; 4] = ["LATENCY", "REFERENCE", "CURRENT", "RATIO"];

fn ms(x: Option<f64>) -> String {
    x.map_or("-".to_owned(), |x| {
        let digits = if x.abs() >= 100.0 {
            0
        } else if x.abs() >= 1.0 {
            2
        } else {
            3
        };
        format!("{x:.digits$} ms")
    })
}

pub(super) fn rows(l: &LatencyComparison) -> Vec<Vec<String>> {
    let mut rows =
        vec![vec!["requests".to_owned(), l.reference.count.to_string(), l.current.count.to_string(), String::new()]];
    for p in &l.percentiles {
        let ratio = p.ratio.map_or("-".to_owned(), |r| format!("{r:.2}×"));
        rows.push(vec![p.label.clone(), ms(p.reference_ms), ms(p.current_ms), ratio]);
    }
    let ratio = match (l.reference.max_ms, l.current.max_ms) {
        (Some(a), Some(b)) if a > 0.0 => format!("{:.2}×", b / a),
        _ => "-".to_owned(),
    };
    rows.push(vec!["max".to_owned(), ms(l.reference.max_ms), ms(l.current.max_ms), ratio]);
    rows
}

/// Lines under the table: how exact the values are, missing values, each SLO.
pub(super) fn notes(l: &LatencyComparison) -> Vec<String> {
    let mut out = Vec::new();
    for (side, s) in [("reference", &l.reference), ("current", &l.current)] {
        if !s.exact {
            out.push(format!("{side}: percentiles from a sketch, within 1% of the true values"));
        }
        if s.missing > 0 {
            out.push(format!("{side}: {} rows without a latency (null or NaN), not counted", s.missing));
        }
    }
    for s in &l.slo {
        let verdict = if s.breached { "BREACHED" } else { "met" };
        let share = if l.current.count == 0 { 0.0 } else { 100.0 * s.above as f64 / l.current.count as f64 };
        out.push(format!(
            "SLO {} <= {}: {verdict} (current {} {}; {} of {} requests above, {share:.2}%)",
            s.label,
            ms(Some(s.threshold_ms)),
            s.label,
            ms(s.current_ms),
            s.above,
            l.current.count
        ));
    }
    out
}

/// The aligned table, for `--format table`.
pub fn latency_table(l: &LatencyComparison) -> String {
    let mut header = HEADER.map(String::from);
    header[0] = format!("LATENCY {}", l.column);
    align::table(&header, &rows(l), &notes(l))
}

/// The Markdown table, for `--format markdown`.
pub fn latency_markdown(l: &LatencyComparison) -> String {
    let mut out = format!("\n| latency `{}` | reference | current | ratio |\n|---|---|---|---|\n", l.column);
    for r in rows(l) {
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
    for n in notes(l) {
        let _ = writeln!(out, "\n{n}");
    }
    out
}

/// A window's latency (the latency check's detail), one row for the window and one per
/// segment: requests, percentiles, maximum, requests per second, SLO state.
pub fn window_latency_table(d: &LatencyDetail) -> String {
    let Some((header, body)) = window_rows(d) else { return String::new() };
    let sketched = d.summaries.iter().any(|s| !s.exact);
    let notes: Vec<String> = sketched.then(|| SKETCHED.to_owned()).into_iter().collect();
    align::table(&header, &body, &notes)
}

/// Said under a window's latency table when a percentile came from a sketch.
pub(super) const SKETCHED: &str =
    "percentiles from a sketch where a window has more than 100000 values: within 1% of the true values";

/// A window's latency table: the header and one row per summary (the window, each segment);
/// `None` without summaries.
pub(super) fn window_rows(d: &LatencyDetail) -> Option<(Vec<String>, Vec<Vec<String>>)> {
    let first = d.summaries.first()?;
    let mut header: Vec<String> = vec![format!("LATENCY {}", d.column), "REQUESTS".into()];
    header.extend(first.percentiles.iter().map(|p| p.label.to_uppercase()));
    header.extend(["MAX".into(), "RPS".into(), "SLO".into()]);
    let body: Vec<Vec<String>> = d
        .summaries
        .iter()
        .map(|s| {
            let mut row =
                vec![if s.segment.is_empty() { "(window)".to_owned() } else { s.segment.clone() }, s.count.to_string()];
            row.extend(s.percentiles.iter().map(|p| ms(p.ms)));
            row.push(ms(s.max_ms));
            row.push(s.rps.map_or("-".to_owned(), |r| format!("{}/s", super::num(r))));
            let slo: Vec<String> = s.slo.iter().map(|o| format!("{} {}", o.label, o.state)).collect();
            row.push(if slo.is_empty() { "-".to_owned() } else { slo.join(", ") });
            row
        })
        .collect();
    Some((header, body))
}
