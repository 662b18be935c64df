//! The daemon's index page (`/`): every monitor with its status, its firing alerts, its latest
//! model window (a monitor with a `[model]`) and a sparkline of drifted columns per window, each linking to its `/monitors/ID` page. Same
//! stylesheet and rules as the report: no script, nothing fetched, every string escaped.

use std::fmt::Write as _;

use super::{escape, head};

/// One monitor's line on the index.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MonitorLine {
    /// The monitor's id.
    pub id: String,
    /// Its description.
    pub description: Option<String>,
    /// A few words: `ok`, `DRIFT (critical)`, `failing: …`, `stale`, `first scan running`.
    pub status: String,
    /// `none`, `warning` or `critical`: the status's colour class (with the words, never alone).
    pub severity: String,
    /// Firing alerts, as `ALERTNAME` or `ALERTNAME [segment]`.
    pub firing: Vec<String>,
    /// The last windows, oldest first: (window id, drifted columns; `None` when not evaluated).
    pub windows: Vec<(i64, Option<usize>)>,
    /// A monitor with a `[model]`: its latest model window (`window 2: partial: DEGRADED`).
    pub model: Option<super::ModelWindowView>,
}

/// Percent-encodes a monitor id for a URL path segment (ids are file stems: anything a file
/// name may hold).
pub fn path_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The whole index page.
pub fn index(monitors: &[MonitorLine], generated: &str) -> String {
    let mut out = String::with_capacity(2048 + monitors.len() * 1024);
    head(&mut out, "drift: monitors");
    let _ = writeln!(
        out,
        "<header>\n<h1>drift monitors</h1>\n<p class=\"muted\">{} monitor{}; as of {}. Each line links to the monitor's latest window.</p>\n</header>",
        monitors.len(),
        super::super::plural(monitors.len()),
        escape(generated)
    );
    let models = monitors.iter().any(|m| m.model.is_some());
    let _ = writeln!(
        out,
        "<table class=\"overview\">\n<thead><tr><th>monitor</th><th>status</th><th>firing</th>{}<th>drifted columns per window</th></tr></thead>\n<tbody>",
        if models { "<th>model</th>" } else { "" }
    );
    for m in monitors {
        let description = m
            .description
            .as_ref()
            .map_or_else(String::new, |d| format!("<br><span class=\"muted\">{}</span>", escape(d)));
        let firing = if m.firing.is_empty() {
            "-".to_owned()
        } else {
            m.firing.iter().map(|f| format!("<code>{}</code>", escape(f))).collect::<Vec<_>>().join(" ")
        };
        let model = match (&m.model, models) {
            (Some(w), _) => {
                let (words, class) = super::model::badge(w);
                format!(
                    "<td class=\"{class}\" data-model-window=\"{}\">window {}: {}</td>",
                    w.window,
                    w.window,
                    escape(&words)
                )
            }
            (None, true) => "<td>-</td>".to_owned(),
            (None, false) => String::new(),
        };
        let _ = writeln!(
            out,
            "<tr><td class=\"name\"><a href=\"/monitors/{}\">{}</a>{description}</td><td class=\"sev-{}\">{}</td><td>{firing}</td>{model}<td>{}</td></tr>",
            path_segment(&m.id),
            escape(&m.id),
            escape(&m.severity),
            escape(&m.status),
            sparkline(&m.windows)
        );
    }
    out.push_str("</tbody>\n</table>\n</body>\n</html>\n");
    out
}

/// Drifted columns per window as small bars (a window not evaluated is a short grey tick).
fn sparkline(windows: &[(i64, Option<usize>)]) -> String {
    if windows.is_empty() {
        return "<span class=\"muted\">no window yet</span>".to_owned();
    }
    let (width, height, slot) = (windows.len() as f64 * 6.0, 24.0, 6.0);
    let top = windows.iter().filter_map(|w| w.1).max().unwrap_or(0).max(1) as f64;
    let mut out = format!(
        r#"<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" class="spark"><title>drifted columns per window, oldest left</title>"#
    );
    for (i, (id, drifted)) in windows.iter().enumerate() {
        let x = i as f64 * slot + 1.0;
        match drifted {
            Some(n) => {
                let h = if *n == 0 { 1.0 } else { *n as f64 / top * (height - 2.0) };
                let class = if *n == 0 { "ref" } else { "cur" };
                let _ = write!(
                    out,
                    r#"<rect class="{class}" data-window="{id}" data-drifted="{n}" x="{x}" y="{:.2}" width="4" height="{h:.2}"><title>window {id}: {n} drifted</title></rect>"#,
                    height - h
                );
            }
            None => {
                let _ = write!(
                    out,
                    r#"<rect class="axis" data-window="{id}" x="{x}" y="{}" width="4" height="1"><title>window {id}: not evaluated</title></rect>"#,
                    height - 1.0
                );
            }
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitor_ids_are_percent_encoded_in_links_and_escaped_in_text() {
        assert_eq!(path_segment("a b/<c>"), "a%20b%2F%3Cc%3E");
        let line = MonitorLine { id: "<script>x</script>".into(), status: "ok".into(), ..MonitorLine::default() };
        let page = index(&[line], "now");
        assert!(!page.contains("<script>x"), "{page}");
        assert!(page.contains("href=\"/monitors/%3Cscript%3Ex%3C%2Fscript%3E\""));
    }
}
