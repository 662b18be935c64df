//! The model panel of a stored window (`drift report`, the daemon's `/monitors/ID`): the
//! window's realized performance once its labels came (pending labels, partial, final), each
//! thresholded metric against its fixed or learned bounds, every metric of the task, the
//! segments (breached first), the label distribution against the model reference's and the
//! join's counts; then the model's status in each window up to this one. An undefined metric
//! reads `undefined (reason)`, never NaN; a breach says so in words, not colour alone.

use std::fmt::Write as _;

use super::escape;
use super::model_json::{Check, Evaluation, Judged, ModelWindowView};

/// What the model panel draws: the windows up to the shown one that have a model row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelPanel {
    /// The shown window's id.
    pub window: i64,
    /// The windows with a model row up to the shown one, oldest first.
    pub windows: Vec<ModelWindowView>,
}

fn v4(v: f64) -> String {
    format!("{v:.4}")
}

fn pct(labelled: u64, rows: u64) -> String {
    if rows == 0 {
        "0 of 0".to_owned()
    } else {
        format!("{labelled} of {rows} ({:.1}%)", 100.0 * labelled as f64 / rows as f64)
    }
}

/// The words of a window's verdict: `DEGRADED`, `ok`, `not evaluable`; and its colour class.
fn verdict(status: &str) -> (&'static str, &'static str) {
    match status {
        "breached" => ("DEGRADED", "sev-critical"),
        "clean" => ("ok", "sev-none"),
        _ => ("not evaluable", "sev-warning"),
    }
}

/// `pending labels`, `partial: ok`, `final (early): DEGRADED`.
pub(super) fn badge(w: &ModelWindowView) -> (String, &'static str) {
    let early = if w.early { " (early)" } else { "" };
    match (w.status.as_str(), w.verdict.as_deref()) {
        ("pending", _) | (_, None) => ("pending labels".to_owned(), "muted"),
        (status, Some(v)) => {
            let (words, class) = verdict(v);
            (format!("{status}{early}: {words}"), class)
        }
    }
}

/// The section, after the drift over time.
pub(super) fn section(out: &mut String, p: &ModelPanel) {
    let shown = p.windows.iter().find(|w| w.window == p.window);
    let (words, class) = shown.map_or(("no model evaluation".to_owned(), "muted"), badge);
    let _ = writeln!(
        out,
        "<h2 id=\"model\">Model quality <span class=\"verdict {class}\" data-model=\"{}\">{}</span></h2>",
        escape(&words),
        escape(&words)
    );
    match shown {
        None => out.push_str("<p class=\"muted\">This window's predictions were not kept for the join (it closed before the monitor declared its <code>[model]</code>).</p>\n"),
        Some(w) => window(out, w),
    }
    per_window(out, p);
}

fn window(out: &mut String, w: &ModelWindowView) {
    let labelled = w.labelled.unwrap_or(0);
    let what = match w.status.as_str() {
        "pending" => format!(
            "<strong>pending labels</strong>: {} predictions labelled so far; evaluated once <code>[labels] min_coverage</code> of them are.",
            pct(labelled, w.rows)
        ),
        "partial" => format!(
            "<strong>partial</strong>: evaluated with {} predictions labelled; evaluated again when final (<code>[labels] max_delay_secs</code> after it closed).",
            pct(labelled, w.rows)
        ),
        _ if w.early => format!(
            "<strong>final, early</strong>: {} predictions labelled when <code>[labels] max_pending_predictions</code> finalized it before <code>max_delay_secs</code>; later labels are not counted.",
            pct(labelled, w.rows)
        ),
        _ => format!(
            "<strong>final</strong>: {} predictions labelled within <code>[labels] max_delay_secs</code>; later labels are not counted.",
            pct(labelled, w.rows)
        ),
    };
    let _ = writeln!(out, "<p data-model-status=\"{}\">Labels: {what}</p>", escape(&w.status));
    match &w.evaluation {
        None => {}
        Some(Err(e)) => {
            let _ = writeln!(out, "<p class=\"sev-warning\">The stored evaluation cannot be read: {}</p>", escape(e));
        }
        Some(Ok(e)) => evaluation(out, e),
    }
}

fn evaluation(out: &mut String, e: &Evaluation) {
    let whole = &e.whole;
    if let Some(n) = &whole.note {
        let _ = writeln!(out, "<p class=\"sev-warning\">Not evaluable: {}</p>", escape(n));
    }
    out.push_str("<section class=\"column panel\">");
    let _ = write!(out, "<h3>Thresholds <span class=\"muted\">({} task)</span></h3>", escape(&e.task));
    checks(out, &whole.checks, "model-checks");
    out.push_str("<h3>Every metric</h3><table class=\"model\" id=\"model-metrics\"><thead><tr><th>metric</th><th>value</th></tr></thead><tbody>");
    for m in &whole.performance.metrics {
        let value = match (m.value, &m.undefined) {
            (Some(v), _) => v4(v),
            (None, why) => format!("undefined ({})", why.as_deref().unwrap_or("no value")),
        };
        let _ = write!(
            out,
            "<tr data-metric=\"{0}\"><td>{0}</td><td class=\"num\">{1}</td></tr>",
            escape(&m.metric),
            escape(&value)
        );
    }
    let _ = writeln!(
        out,
        "</tbody></table><p class=\"legend\">On the {} labelled predictions with a prediction.</p></section>",
        whole.performance.rows
    );
    segments(out, &e.segments);
    labels(out, e);
}

/// How a check's note starts when its metric is undefined (`engine::model`).
const UNDEFINED: &str = "undefined: ";

/// A checked metric's value, or `undefined (reason)`.
fn check_value(c: &Check) -> String {
    match (c.value, c.note.as_deref().and_then(|n| n.strip_prefix(UNDEFINED))) {
        (Some(v), _) => v4(v),
        (None, Some(why)) => format!("undefined ({why})"),
        (None, None) => "undefined".to_owned(),
    }
}

/// A thresholds table: metric, value, expected range, how it was set, and the result.
fn checks(out: &mut String, checks: &[Check], id: &str) {
    if checks.is_empty() {
        out.push_str("<p class=\"muted\">No thresholds (<code>[model.thresholds]</code>).</p>");
        return;
    }
    let _ = write!(
        out,
        "<table class=\"model\" id=\"{id}\"><thead><tr><th>metric</th><th>value</th><th>expected</th><th>threshold</th><th>result</th></tr></thead><tbody>"
    );
    for c in checks {
        let value = check_value(c);
        let expected = match c.bounds.map(|b| (b.min, b.max)) {
            Some((Some(lo), Some(hi))) => format!("{} to {}", v4(lo), v4(hi)),
            Some((Some(lo), None)) => format!("at least {}", v4(lo)),
            Some((None, Some(hi))) => format!("at most {}", v4(hi)),
            _ => "-".to_owned(),
        };
        let how = match &c.band {
            Some(b) => format!(
                "learned: mean {} ± 3σ ({}) over {} reference chunks of {} rows{}",
                v4(b.mean),
                v4(b.std),
                b.chunks,
                c.chunk_rows.unwrap_or(0),
                if b.undefined_chunks > 0 { format!(", {} undefined", b.undefined_chunks) } else { String::new() }
            ),
            None => c.threshold.clone(),
        };
        let (result, class) = match (c.breached, c.value.is_some() && c.bounds.is_some()) {
            (true, _) => ("BREACHED", "sev-critical"),
            (false, true) => ("ok", "sev-none"),
            (false, false) => ("not evaluable", "sev-warning"),
        };
        let note =
            c.note.as_ref().map_or_else(String::new, |n| format!("<br><span class=\"muted\">{}</span>", escape(n)));
        let _ = write!(
            out,
            "<tr data-metric=\"{m}\" data-breached=\"{b}\"><td>{m}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"{class}\">{result}{note}</td></tr>",
            escape(&value),
            escape(&expected),
            escape(&how),
            m = escape(&c.metric),
            b = c.breached
        );
    }
    out.push_str("</tbody></table>");
}

/// The segments, breached first, then by label.
fn segments(out: &mut String, segments: &[Judged]) {
    if segments.is_empty() {
        return;
    }
    let mut order: Vec<&Judged> = segments.iter().collect();
    order.sort_by_key(|s| (s.status != "breached", s.segment.clone()));
    out.push_str("<section class=\"column panel\"><h3>Segments <span class=\"muted\">(breached first)</span></h3>");
    out.push_str("<table class=\"model\" id=\"model-segments\"><thead><tr><th>segment</th><th>labelled</th><th>thresholded metrics</th><th>result</th></tr></thead><tbody>");
    for s in order {
        let metrics: Vec<String> = s
            .checks
            .iter()
            .map(|c| {
                let value = check_value(c);
                format!("{} {value}{}", c.metric, if c.breached { " BREACHED" } else { "" })
            })
            .collect();
        let (words, class) = verdict(&s.status);
        let note = s.note.as_ref().map_or_else(String::new, |n| format!(": {}", escape(n)));
        let _ = write!(
            out,
            "<tr data-segment=\"{0}\" data-status=\"{1}\"><td class=\"name\">{0}</td><td>{2}</td><td>{3}</td><td class=\"{class}\">{words}{note}</td></tr>",
            escape(&s.segment),
            escape(&s.status),
            pct(s.labelled, s.rows),
            escape(&metrics.join(", "))
        );
    }
    out.push_str("</tbody></table></section>\n");
}

/// The label distribution against the model reference's, and the join's counts.
fn labels(out: &mut String, e: &Evaluation) {
    out.push_str("<section class=\"column panel\"><h3>Labels</h3>");
    let d = &e.label_drift;
    if !d.shares.is_empty() {
        out.push_str("<table class=\"model\" id=\"model-labels\"><thead><tr><th>label</th><th>model reference</th><th>window</th><th>change</th></tr></thead><tbody>");
        for (label, r, w) in &d.shares {
            let _ = write!(
                out,
                "<tr data-label=\"{0}\"><td>{0}</td><td class=\"num\">{1:.1}%</td><td class=\"num\">{2:.1}%</td><td class=\"num\">{3:+.1} pp</td></tr>",
                escape(label),
                100.0 * r,
                100.0 * w,
                100.0 * (w - r)
            );
        }
        out.push_str("</tbody></table>");
    }
    if let Some((r, w)) = d.mean {
        let _ = write!(out, "<p>Label mean: model reference {}, window {}.</p>", v4(r), v4(w));
    }
    if let Some(j) = &e.join {
        let _ = write!(
            out,
            "<p id=\"model-join\">The join by id, as of this evaluation: {} label rows read, {} matched a prediction, {} duplicates (the last by label time, then file order), {} never matched within <code>max_delay_secs</code>, {} outside <code>sample_rate</code>; {} labels waiting for their prediction and {} predictions held for labels; {} windows finalized early.</p>",
            j.label_rows,
            j.matched,
            j.duplicates,
            j.unmatched,
            j.sampled_out,
            j.pending_labels,
            j.held_predictions,
            j.early_windows
        );
    }
    out.push_str("</section>\n");
}

/// The model's status in each window up to the shown one.
fn per_window(out: &mut String, p: &ModelPanel) {
    if p.windows.len() < 2 {
        return;
    }
    out.push_str("<h3>Model per window</h3><table class=\"model\" id=\"model-windows\"><thead><tr><th>window</th><th>labelled</th><th>model</th></tr></thead><tbody>");
    for w in &p.windows {
        let (words, class) = badge(w);
        let id = if w.window == p.window {
            format!("<strong>{} (this one)</strong>", w.window)
        } else {
            w.window.to_string()
        };
        let _ = write!(
            out,
            "<tr data-window=\"{}\"><td>{id}</td><td>{}</td><td class=\"{class}\">{}</td></tr>",
            w.window,
            pct(w.labelled.unwrap_or(0), w.rows),
            escape(&words)
        );
    }
    out.push_str("</tbody></table>\n");
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::model_json::parse;
    use super::*;
    use crate::engine::model::{Judging, judge};
    use crate::quality::label_drift;
    use crate::quality::{Metric, ModelColumns, Rows, Task, Threshold};

    fn rows(labels: &[&str], scores: &[f64]) -> Rows {
        Rows {
            pred: scores.iter().map(|s| Some(if *s >= 0.5 { "1" } else { "0" }.to_owned())).collect(),
            number: scores.iter().map(|s| Some(*s)).collect(),
            label: labels.iter().map(|l| Some((*l).to_owned())).collect(),
            id: Vec::new(),
        }
    }

    /// The engine's own evaluation of a window whose labels are all positive (ROC AUC and
    /// specificity undefined), serialized as the daemon stores it and read back.
    fn stored() -> String {
        let columns = ModelColumns {
            task: Task::Binary,
            prediction: "p".into(),
            score: Some("s".into()),
            label: "y".into(),
            positive: "1".into(),
        };
        let reference = rows(
            &(0..200).map(|i| if i % 3 == 0 { "0" } else { "1" }).collect::<Vec<_>>(),
            &(0..200).map(|i| f64::from(i % 10) / 10.0).collect::<Vec<_>>(),
        );
        let thresholds = BTreeMap::from([
            (Metric::RocAuc, Threshold::Learned),
            (Metric::Accuracy, Threshold::Fixed { min: Some(0.9), max: None }),
        ]);
        let j = Judging {
            columns: &columns,
            thresholds: &thresholds,
            reference: &reference,
            min_coverage: 0.5,
            segment_min_rows: 30,
            pooled: "__other__",
        };
        let window = rows(&["1"; 40], &(0..40).map(|i| f64::from(i % 10) / 10.0).collect::<Vec<_>>());
        let segments: Vec<String> = (0..40).map(|i| if i < 10 { "region=<b>".into() } else { String::new() }).collect();
        let (whole, segs) = judge(&j, &window, &segments).unwrap();
        let drift = label_drift(&columns, &reference, &window);
        serde_json::json!({
            "window": 3, "status": "final", "early": true, "task": "binary", "whole": whole,
            "segments": segs, "label_drift": drift, "join": { "label_rows": 40, "matched": 40 },
        })
        .to_string()
    }

    fn panel(evaluation: Option<Result<Evaluation, String>>) -> String {
        let w = ModelWindowView {
            window: 3,
            status: "final".into(),
            early: true,
            rows: 40,
            labelled: Some(40),
            verdict: Some("breached".into()),
            evaluation,
        };
        let mut out = String::new();
        section(&mut out, &ModelPanel { window: 3, windows: vec![w] });
        out
    }

    #[test]
    fn an_undefined_metric_reads_undefined_with_its_reason_never_nan() {
        let page = panel(Some(parse(&stored())));
        assert!(page.contains("data-model=\"final (early): DEGRADED\""), "{page}");
        assert!(page.contains("<strong>final, early</strong>: 40 of 40 (100.0%)"), "{page}");
        let roc = &page[page.find("<tr data-metric=\"roc_auc\"><td>").unwrap()..];
        assert!(roc[..roc.find("</tr>").unwrap()].contains("undefined ("), "{roc}");
        let check = &page[page.find("data-metric=\"roc_auc\" data-breached=\"false\"").unwrap()..];
        let check = &check[..check.find("</tr>").unwrap()];
        assert!(
            check.contains("undefined (only one class in the labels)") && check.contains("not evaluable"),
            "{check}"
        );
        assert!(page.contains("<tr data-segment=\"region=&lt;b&gt;\" data-status=\"insufficient\">"), "{page}");
        assert!(page.contains("roc_auc undefined (only one class in the labels)</td>"), "the segment's: {page}");
        let zero = "<tr data-label=\"0\"><td>0</td><td class=\"num\">33.5%</td><td class=\"num\">0.0%</td>";
        assert!(page.contains(zero), "label 0: {page}");
        assert!(!page.contains("NaN") && !page.contains("inf") && !page.contains("<b>"), "{page}");
    }

    #[test]
    fn an_unreadable_evaluation_is_said_not_dropped() {
        let page = panel(Some(parse("{\"whole\": 1}")));
        assert!(page.contains("The stored evaluation cannot be read: "), "{page}");
    }
}
