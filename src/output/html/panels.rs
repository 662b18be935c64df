//! The panels after the columns: the latency of `drift check --latency`, the model's realized
//! performance of `drift check --model-task` (`output::quality`'s rows), each other kind of
//! check configured on a window (`report.checks`: latency's table per window and segment;
//! any kind's findings), and the false-alarm calibration of `drift check --calibrate`. Tables
//! of the text output's own rows (`output::latency`, `output::calibration`), every cell escaped.

use std::fmt::Write as _;

use super::super::{calibration, latency, opt, plural, quality};
use super::escape;
use crate::calibrate::Calibration;
use crate::engine::Report;
use crate::engine::latency::LatencyDetail;

/// Every panel, in a `panels` slot (hidden by the stylesheet when empty).
pub(super) fn panels(out: &mut String, r: &Report, calibrated: Option<&Result<Calibration, String>>) {
    out.push_str("<div class=\"panel-slot\" id=\"panels\">");
    if let Some(l) = &r.latency {
        let header = [
            format!("latency <code>{}</code>", escape(&l.column)),
            "reference".into(),
            "current".into(),
            "ratio".into(),
        ];
        let title = if l.breached { "Latency: SLO breached" } else { "Latency" };
        section(out, title, &header, &latency::rows(l), &latency::notes(l), l.breached);
    }
    if let Some(m) = &r.model {
        let header = [
            format!("model {} <code>{}</code>", escape(m.task), escape(&m.prediction)),
            "reference".into(),
            "current".into(),
            "change".into(),
        ];
        section(out, "Model quality", &header, &quality::rows(m), &quality::notes(m), false);
    }
    for check in &r.checks {
        let latency = (check.kind == "latency")
            .then(|| serde_json::from_value::<LatencyDetail>(check.detail.clone()).ok())
            .flatten();
        let breached = check.alerts.iter().any(|a| a.status == crate::engine::check::CheckStatus::Breached);
        let title = format!("{} ({})", escape(&check.kind), escape(&check.alertname));
        let findings: Vec<String> = check
            .alerts
            .iter()
            .flat_map(|a| &a.findings)
            .map(|f| {
                let summary = f.summary.as_deref().map_or_else(String::new, |s| format!(": {s}"));
                format!("{} {} {} ({}){summary}", f.subject, f.test, opt(f.value), f.severity.as_str())
            })
            .collect();
        match latency.as_ref().and_then(latency::window_rows) {
            Some((header, rows)) => {
                let mut notes = findings;
                if latency.as_ref().is_some_and(|d| d.summaries.iter().any(|s| !s.exact)) {
                    notes.push(latency::SKETCHED.to_owned());
                }
                let header: Vec<String> = header.iter().map(|h| escape(h)).collect();
                section(out, &title, &header, &rows, &notes, breached);
            }
            None => {
                let what = format!("{} alert{}", check.alerts.len(), plural(check.alerts.len()));
                let notes = if findings.is_empty() { vec!["no findings".to_owned()] } else { findings };
                section(out, &title, &[escape(&what)], &[], &notes, breached);
            }
        }
    }
    match calibrated {
        Some(Ok(c)) => {
            let mut notes = calibration::head(c);
            notes.extend(calibration::tail(c));
            let header: Vec<String> = calibration::HEADER.iter().map(|h| (*h).to_owned()).collect();
            let warn = c.pages_per_30d > crate::calibrate::PAGE_BUDGET;
            section(out, "Calibration of the reference", &header, &calibration::column_rows(c), &notes, warn);
        }
        Some(Err(e)) => {
            section(out, "Calibration of the reference", &[], &[], &[format!("failed: {e}")], true);
        }
        None => {}
    }
    out.push_str("</div>\n");
}

/// One panel: a title (already HTML), a table (header cells already HTML, body cells text) and
/// lines of text under it; `alarm` colours the title (with words in it, never colour alone).
fn section(out: &mut String, title: &str, header: &[String], rows: &[Vec<String>], notes: &[String], alarm: bool) {
    let class = if alarm { "sev-critical" } else { "" };
    let _ = write!(out, "<section class=\"column panel\"><h3 class=\"{class}\">{title}</h3>");
    if !rows.is_empty() {
        out.push_str("<table class=\"tests\"><thead><tr>");
        for h in header {
            let _ = write!(out, "<th>{h}</th>");
        }
        out.push_str("</tr></thead><tbody>");
        for r in rows {
            out.push_str("<tr>");
            for cell in r {
                let _ = write!(out, "<td>{}</td>", escape(cell));
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table>");
    } else if let Some(h) = header.first() {
        let _ = write!(out, "<p>{h}</p>");
    }
    for n in notes {
        let class = if n.starts_with("warning") || n.starts_with("failed") || n.contains("BREACHED") {
            " class=\"sev-warning\""
        } else {
            ""
        };
        let _ = write!(out, "<p{class}>{}</p>", escape(n));
    }
    out.push_str("</section>\n");
}
