//! `drift check --model-task`: the model's realized performance, reference side vs current
//! side, after the drift table, and the label drift between them. An undefined metric prints
//! as `undefined` with its reason under the table (and as `null` with `undefined` in JSON), never as NaN or 0. The HTML
//! report's model panel (`output::html::panels`) draws the same rows and notes.

use std::fmt::Write as _;

use super::align;
use crate::quality::{Comparison, LabelDrift, Side, Value};

fn value(v: Value) -> String {
    match v {
        Value::Defined(x) => format!("{x:.4}"),
        Value::Undefined(_) => "undefined".to_owned(),
    }
}

fn labelled(s: &Side) -> String {
    match s.coverage() {
        Some(c) => format!("{} of {} ({:.1}%)", s.labelled, s.rows, 100.0 * c),
        None => "0 of 0".to_owned(),
    }
}

fn header(m: &Comparison) -> [String; 4] {
    [format!("MODEL {} {}", m.task, m.prediction), "REFERENCE".into(), "CURRENT".into(), "CHANGE".into()]
}

pub(super) fn rows(m: &Comparison) -> Vec<Vec<String>> {
    let mut out = vec![vec!["labelled".to_owned(), labelled(&m.reference), labelled(&m.current), String::new()]];
    for (r, c) in m.reference.performance.metrics.iter().zip(&m.current.performance.metrics) {
        let change = match (r.value.get(), c.value.get()) {
            (Some(a), Some(b)) => format!("{:+.4}", b - a),
            _ => "-".to_owned(),
        };
        out.push(vec![r.metric.name().to_owned(), value(r.value), value(c.value), change]);
    }
    out
}

/// The label drift's line: `labels (SIDES): 0 79.7% -> 73.3%, 1 20.3% -> 26.7%`, or for a
/// regression `label mean (SIDES): 1.2000 -> 1.4000`; none without labels. `sides` names the two,
/// e.g. `reference -> current`.
pub(super) fn label_drift_lines(d: &LabelDrift, sides: &str) -> Vec<String> {
    let mut out = Vec::new();
    let shares: Vec<String> =
        d.shares.iter().map(|(l, r, c)| format!("{l} {:.1}% -> {:.1}%", r * 100.0, c * 100.0)).collect();
    if !shares.is_empty() {
        out.push(format!("labels ({sides}): {}", shares.join(", ")));
    }
    if let Some((r, c)) = d.mean {
        out.push(format!("label mean ({sides}): {r:.4} -> {c:.4}"));
    }
    out
}

/// Lines under the table: the columns, the label drift (as the daemon's model lines say it),
/// each undefined metric's reason, rows left out.
pub(super) fn notes(m: &Comparison) -> Vec<String> {
    let score = m.score.as_ref().map_or(String::new(), |s| format!(", score {s}"));
    let mut out = vec![format!("model: prediction {}{score}, label {}", m.prediction, m.label)];
    out.extend(label_drift_lines(&m.label_drift, "reference -> current"));
    for (name, s) in [("reference", &m.reference), ("current", &m.current)] {
        for x in &s.performance.metrics {
            if let Value::Undefined(why) = x.value {
                out.push(format!("{name}: {} undefined: {why}", x.metric.name()));
            }
        }
        if let Some(j) = &s.joined {
            out.push(format!(
                "{name}: labels joined by id from {} label rows: {} rows matched, {} duplicate labels (the last by label time, then file order), {} label ids without a prediction",
                j.label_rows, j.matched, j.duplicates, j.unmatched
            ));
        }
        if s.missing_prediction > 0 {
            let what = if m.score.is_some() { "a prediction or score" } else { "a prediction" };
            out.push(format!("{name}: {} labelled rows without {what}, not evaluated", s.missing_prediction));
        }
    }
    out
}

/// The aligned table, for `--format table`.
pub fn model_table(m: &Comparison) -> String {
    align::table(&header(m), &rows(m), &notes(m))
}

/// The Markdown table, for `--format markdown`.
pub fn model_markdown(m: &Comparison) -> String {
    let mut out =
        format!("\n| model {} `{}` | reference | current | change |\n|---|---|---|---|\n", m.task, m.prediction);
    for r in rows(m) {
        let cells: Vec<String> = r.iter().map(|c| c.replace('|', "\\|")).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    for n in notes(m) {
        let _ = writeln!(out, "\n{}", n.replace('|', "\\|"));
    }
    out
}
