//! What `drift run --once` prints per monitor: each window it closed (the report table, or why
//! it was not evaluated), else what it did with the files it found; and each window whose model
//! performance it evaluated.

use super::report::{Format, render};
use crate::engine::Report;
use crate::engine::check::CheckStatus;
use crate::engine::model::Judged;
use crate::quality::LabelDrift;

/// One monitor's cycle, as `run --once` shows it.
pub struct OnceMonitor<'a> {
    /// Monitor id.
    pub id: &'a str,
    /// Its `min_rows`.
    pub min_rows: u64,
    /// Windows closed, oldest first: (id, report if evaluated).
    pub windows: &'a [(i64, Option<Report>)],
    /// Files consumed.
    pub consumed: usize,
    /// Files not settled yet.
    pub waiting: usize,
    /// Rows in open windows after the cycle.
    pub open_rows: u64,
    /// Files quarantined by this cycle.
    pub quarantined: usize,
    /// Rows whose event time was more than `max_future_secs` ahead of the clock.
    pub future_rows: u64,
    /// Windows whose model performance was evaluated, oldest first.
    pub model: &'a [ModelWindow<'a>],
}

/// One window's model evaluation, as `run --once` prints it.
pub struct ModelWindow<'a> {
    /// The window.
    pub window_id: i64,
    /// `partial` or `final`.
    pub status: &'a str,
    /// Finalized early by `max_pending_predictions`.
    pub early: bool,
    /// The whole window.
    pub whole: &'a Judged,
    /// Its segments.
    pub segments: &'a [Judged],
    /// Its labels against the model reference's.
    pub label_drift: &'a LabelDrift,
}

/// The lines for one monitor.
pub fn once_monitor(m: &OnceMonitor) -> String {
    let id = m.id;
    let mut out = String::new();
    for (wid, report) in m.windows {
        match report {
            Some(r) => {
                out.push_str(&format!("{id}: window {wid}: {} files, {} rows:\n", r.current.files, r.current.rows));
                out.push_str(&render(r, Format::Table, false));
            }
            None => out.push_str(&format!(
                "{id}: window {wid}: fewer rows than min_rows ({}): insufficient, not evaluated\n",
                m.min_rows
            )),
        }
    }
    for w in m.model {
        out.push_str(&model_lines(id, w));
    }
    if m.future_rows > 0 {
        out.push_str(&format!(
            "{id}: {} rows more than max_future_secs ahead of the clock: counted as future, not evaluated\n",
            m.future_rows
        ));
    }
    if m.windows.is_empty() && m.consumed > 0 {
        out.push_str(&format!("{id}: {} files added to open windows ({} rows so far)\n", m.consumed, m.open_rows));
    } else if m.windows.is_empty() {
        out.push_str(&format!("{id}: no new settled files ({} waiting to settle)\n", m.waiting));
    }
    if m.quarantined > 0 {
        out.push_str(&format!(
            "{id}: {} file(s) quarantined after failed reads (see `drift quarantine list`)\n",
            m.quarantined
        ));
    }
    out
}

/// A window's model lines: the whole window's verdict and thresholded metrics, each breached
/// segment, the label distribution.
fn model_lines(id: &str, w: &ModelWindow) -> String {
    let early = if w.early { ", finalized early by max_pending_predictions" } else { "" };
    let mut out =
        format!("{id}: window {} model performance ({}{early}): {}\n", w.window_id, w.status, judged(w.whole));
    for s in w.segments.iter().filter(|s| s.status == CheckStatus::Breached) {
        out.push_str(&format!("{id}:   segment {}: {}\n", s.segment, judged(s)));
    }
    for line in super::quality::label_drift_lines(w.label_drift, "model reference -> window") {
        out.push_str(&format!("{id}:   {line}\n"));
    }
    out
}

/// `5600 of 8000 predictions labelled (70%); roc_auc 0.6512 below 0.7931 (learned ...): DEGRADED`.
fn judged(j: &Judged) -> String {
    let coverage = j.coverage.map_or(String::new(), |c| format!(" ({:.0}%)", c * 100.0));
    let mut parts = vec![format!("{} of {} predictions labelled{coverage}", j.labelled, j.rows)];
    for c in &j.checks {
        let bounds = c.bounds.map(|b| match (b.min, b.max) {
            (Some(lo), Some(hi)) => format!("[{lo:.4}, {hi:.4}]"),
            (Some(lo), None) => format!(">= {lo:.4}"),
            (None, Some(hi)) => format!("<= {hi:.4}"),
            (None, None) => String::new(),
        });
        let how = match &c.band {
            Some(b) => format!(" learned over {} reference chunks of {} rows", b.chunks, c.chunk_rows.unwrap_or(0)),
            None => String::new(),
        };
        let value = c.value.map_or("undefined".to_owned(), |v| format!("{v:.4}"));
        let bounds = bounds.map_or(String::new(), |b| format!(" (expected {b}{how})"));
        let note = c.note.as_ref().map_or(String::new(), |n| format!(" [{n}]"));
        parts.push(format!("{} {value}{bounds}{note}", c.metric));
    }
    let verdict = match j.status {
        CheckStatus::Breached => "DEGRADED".to_owned(),
        CheckStatus::Clean => "ok".to_owned(),
        CheckStatus::Insufficient => {
            format!("not evaluable{}", j.note.as_ref().map_or(String::new(), |n| format!(": {n}")))
        }
    };
    parts.push(verdict);
    parts.join("; ")
}
