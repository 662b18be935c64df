//! Drift over time, for a stored window (`drift report`, the daemon's `/monitors/ID`): each
//! test that drifted in the window or the ones before it, its effect over the monitor's last windows against its
//! warning and critical floors, with the windows where an alert fired or resolved marked.
//! Every point and line carries `data-` attributes (window, effect, floor) so a test can read
//! the drawing back; a fired alert is a solid line labelled "fired", a resolved one a dotted
//! line labelled "resolved", so colour is never the only cue.

use std::fmt::Write as _;

use super::super::num;
use super::{column, escape};
use crate::engine::{Report, TestKind};

/// One window on the time axis, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineWindow {
    /// The window id.
    pub id: i64,
    /// When it closed (ms since the epoch).
    pub closed_ms: i64,
    /// Alerts it fired or resolved.
    pub marks: Vec<Mark>,
}

/// An alert notification caused by a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// The alert (its name) fired.
    Fired(String),
    /// The alert resolved.
    Resolved(String),
}

/// One drifted test's effect per window of [`Timeline::windows`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Column (with its segment) and test, as the report names them.
    pub label: String,
    /// Warning floor of the shown window.
    pub floor: Option<f64>,
    /// Critical floor of the shown window.
    pub critical_floor: Option<f64>,
    /// The effect in each window (none: not evaluated, or no stored report).
    pub effects: Vec<Option<f64>>,
}

/// What the drift-over-time section draws.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Timeline {
    /// The windows, oldest first; the shown one is the last.
    pub windows: Vec<TimelineWindow>,
    /// One per test that drifted in these windows, at most 24 (`MAX_SERIES`).
    pub series: Vec<Series>,
    /// Tests that drifted too but are not drawn (beyond the first 24).
    pub more: usize,
}

/// Charts drawn at most: the section stays under 200 KB (5 to 8 KB a chart of 30 windows)
/// however many columns drift; the rest are counted, and `drift history` lists them.
pub const MAX_SERIES: usize = 24;

impl Timeline {
    /// The timeline from the reports of `windows` (aligned with them, the shown window last;
    /// `None`: not evaluated or not stored): one series per test that drifted in any of them,
    /// those of the newest windows first (the shown window's before all), each with the floors
    /// of its newest report.
    pub fn build(windows: Vec<TimelineWindow>, reports: &[Option<Report>]) -> Timeline {
        let mut keys: Vec<(&str, Option<&str>, TestKind)> = Vec::new();
        let mut series = Vec::new();
        for report in reports.iter().rev().flatten() {
            for c in &report.columns {
                for t in c.tests.iter().filter(|t| t.drift) {
                    let key = (c.column.as_str(), c.segment.as_deref(), t.test);
                    if keys.contains(&key) {
                        continue;
                    }
                    keys.push(key);
                    if series.len() == MAX_SERIES {
                        continue;
                    }
                    series.push(Series {
                        label: format!("{} · {}", column::title(c), t.test.as_str()),
                        floor: t.threshold.floor,
                        critical_floor: t.threshold.critical_floor,
                        effects: reports.iter().map(|r| effect(r.as_ref(), key)).collect(),
                    });
                }
            }
        }
        let more = keys.len() - series.len();
        Timeline { windows, series, more }
    }
}

/// A test's effect in one report (`None`: not in it, or not evaluated).
fn effect(report: Option<&Report>, (column, segment, test): (&str, Option<&str>, TestKind)) -> Option<f64> {
    let c = report?.columns.iter().find(|c| c.column == column && c.segment.as_deref() == segment)?;
    let t = c.tests.iter().find(|t| t.test == test)?;
    t.effect.or(t.statistic)
}

const WIDTH: f64 = 360.0;
const HEIGHT: f64 = 96.0;

/// The section: one small chart per series, on a shared window axis.
pub(super) fn section(out: &mut String, t: &Timeline) {
    let n = t.windows.len();
    let _ = writeln!(
        out,
        "<h2 id=\"over-time\">Drift over time</h2>\n<p class=\"legend\">The effect of each test that drifted in these windows over the last {n} window{} (oldest left), against its warning (dashed) and critical (solid) floors; <span class=\"fired\">│ fired</span> and <span class=\"resolved\">┆ resolved</span> mark the windows whose alerts fired or resolved.</p>",
        super::super::plural(n)
    );
    marks(out, &t.windows);
    if t.series.is_empty() {
        out.push_str("<p class=\"muted\">No test drifted in these windows.</p>\n");
    }
    out.push_str("<div class=\"timelines\">\n");
    for s in &t.series {
        let _ = writeln!(
            out,
            "<section class=\"column timeline\"><h3>{}</h3>{}</section>",
            escape(&s.label),
            chart(&t.windows, s)
        );
    }
    out.push_str("</div>\n");
    if t.more > 0 {
        let _ = writeln!(
            out,
            "<p class=\"muted\">{} more test{} drifted in these windows, not drawn: <code>drift history</code> lists every test.</p>",
            t.more,
            super::super::plural(t.more)
        );
    }
}

/// The alerts' changes in words: `DataDrift fired at window 1, resolved at window 3`.
fn marks(out: &mut String, windows: &[TimelineWindow]) {
    let said: Vec<String> = windows
        .iter()
        .flat_map(|w| {
            w.marks.iter().map(move |m| match m {
                Mark::Fired(a) => format!("<code>{}</code> fired at window {}", escape(a), w.id),
                Mark::Resolved(a) => format!("<code>{}</code> resolved at window {}", escape(a), w.id),
            })
        })
        .collect();
    if !said.is_empty() {
        let _ = writeln!(out, "<p class=\"legend\">Alerts: {}.</p>", said.join("; "));
    }
}

/// A vertical line at each window whose alert fired (solid) or resolved (dotted); named once,
/// in words, above the charts ([`marks`]), not by a title repeated in every chart.
fn mark_lines(out: &mut String, windows: &[TimelineWindow], x: impl Fn(usize) -> f64) {
    for (i, w) in windows.iter().enumerate() {
        for m in &w.marks {
            let what = match m {
                Mark::Fired(_) => "fired",
                Mark::Resolved(_) => "resolved",
            };
            let _ = write!(
                out,
                r#"<line class="{what}" data-mark="{what}" data-window="{}" x1="{:.1}" y1="0" x2="{:.1}" y2="{HEIGHT}"/>"#,
                w.id,
                x(i),
                x(i)
            );
        }
    }
}

/// One series' chart.
fn chart(windows: &[TimelineWindow], s: &Series) -> String {
    let top = s
        .effects
        .iter()
        .flatten()
        .chain(s.floor.iter())
        .chain(s.critical_floor.iter())
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
        .max(f64::MIN_POSITIVE)
        * 1.1;
    let slot = WIDTH / windows.len().max(1) as f64;
    let x = |i: usize| (i as f64 + 0.5) * slot;
    let y = |v: f64| HEIGHT - (v.clamp(0.0, top) / top) * HEIGHT;
    let mut out = format!(
        r#"<svg width="{WIDTH}" height="{}" viewBox="0 0 {WIDTH} {}" role="img" class="timeline" data-top="{top}"><title>{} per window</title>"#,
        HEIGHT + 16.0,
        HEIGHT + 16.0,
        escape(&s.label)
    );
    mark_lines(&mut out, windows, x);
    for (class, value) in [("floor", s.floor), ("critical-floor", s.critical_floor)] {
        if let Some(v) = value.filter(|v| v.is_finite()) {
            let _ = write!(
                out,
                r#"<line class="{class}" data-floor="{v}" x1="0" y1="{:.2}" x2="{WIDTH}" y2="{:.2}"><title>{class} {}</title></line>"#,
                y(v),
                y(v),
                num(v)
            );
        }
    }
    let points: Vec<String> = s
        .effects
        .iter()
        .enumerate()
        .filter_map(|(i, e)| e.filter(|v| v.is_finite()).map(|v| format!("{:.1},{:.2}", x(i), y(v))))
        .collect();
    if points.len() > 1 {
        let _ = write!(out, r#"<polyline class="cur-line" points="{}"/>"#, points.join(" "));
    }
    for (i, (w, e)) in windows.iter().zip(&s.effects).enumerate() {
        if let Some(v) = e.filter(|v| v.is_finite()) {
            let _ = write!(
                out,
                r#"<circle class="cur-fill" data-window="{}" data-effect="{v}" cx="{:.1}" cy="{:.2}" r="3"><title>window {}: {}</title></circle>"#,
                w.id,
                x(i),
                y(v),
                w.id,
                num(v)
            );
        }
    }
    let _ = write!(out, r#"<line class="axis" x1="0" y1="{HEIGHT}" x2="{WIDTH}" y2="{HEIGHT}"/>"#);
    if let (Some(first), Some(last)) = (windows.first(), windows.last()) {
        let _ = write!(
            out,
            r#"<text x="0" y="{}">window {}</text><text x="{WIDTH}" y="{}" text-anchor="end">window {}</text>"#,
            HEIGHT + 12.0,
            first.id,
            HEIGHT + 12.0,
            last.id
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report whose `columns` columns all drift (copies of one drifted column).
    fn drifting(columns: usize) -> Report {
        let mut r = crate::alerts::testing::shifted_report(0.5);
        let one = r.columns.iter().find(|c| c.drift).expect("a drifted column").clone();
        r.columns = (0..columns).map(|i| ColumnReportNamed::named(&one, &format!("column_{i:03}"))).collect();
        r
    }

    /// A column report under another name.
    struct ColumnReportNamed;
    impl ColumnReportNamed {
        fn named(c: &crate::engine::ColumnReport, name: &str) -> crate::engine::ColumnReport {
            crate::engine::ColumnReport { column: name.to_owned(), ..c.clone() }
        }
    }

    #[test]
    fn the_section_stays_small_however_many_tests_drift() {
        let report = drifting(100);
        let windows: Vec<TimelineWindow> = (1..=30)
            .map(|id| TimelineWindow { id, closed_ms: id * 3_600_000, marks: vec![Mark::Fired("DataDrift".into())] })
            .collect();
        let reports: Vec<Option<Report>> = (0..30).map(|_| Some(report.clone())).collect();
        let t = Timeline::build(windows, &reports);
        let drifted = report.columns.iter().map(|c| c.tests.iter().filter(|t| t.drift).count()).sum::<usize>();
        assert_eq!(t.series.len(), MAX_SERIES);
        assert_eq!(t.more, drifted - MAX_SERIES, "the others are counted");
        assert!(t.series.iter().all(|s| s.effects.len() == 30 && s.effects.iter().all(Option::is_some)));
        let mut out = String::new();
        section(&mut out, &t);
        // Worst case: every window fired (a mark per window in every chart).
        assert!(out.len() < 200 * 1024, "{} bytes for {} charts of 30 windows", out.len(), MAX_SERIES);
        assert!(out.contains(&format!("{} more tests drifted", drifted - MAX_SERIES)));
    }
}
