//! One column of the HTML report: its row's pieces in the overview and its own section
//! (numeric: PSI-bin histograms with each bin's contribution and the cumulative shares;
//! categorical: the top categories side by side; every column: missing rate and every test).

use std::fmt::Write as _;

use super::svg::{self, Bins};
use super::{escape, severity_class};
use crate::engine::text::{num, opt, pval};
use crate::engine::{ColumnKind, ColumnReport, Severity, TestKind, TestResult, TestStatus};

/// The column's name with its segment.
pub fn title(c: &ColumnReport) -> String {
    c.segment.as_ref().map_or_else(|| c.column.clone(), |s| format!("{} [{s}]", c.column))
}

/// CRITICAL, WARNING or ok.
pub fn verdict(c: &ColumnReport) -> &'static str {
    match c.severity {
        Severity::Critical => "CRITICAL",
        Severity::Warning => "WARNING",
        Severity::None => "ok",
    }
}

/// The test that decided the column: its most severe, else its first evaluated one.
pub fn main_test(c: &ColumnReport) -> Option<&TestResult> {
    c.tests
        .iter()
        .filter(|t| t.status == TestStatus::Ok)
        .rev() // max_by_key keeps the last of equals: the first in the column's order
        .max_by_key(|t| t.severity)
        .filter(|t| t.severity > Severity::None)
        .or_else(|| c.tests.iter().find(|t| t.status == TestStatus::Ok))
        .or_else(|| c.tests.first())
}

/// `warning / critical`, or `-`.
pub fn floors_of(t: &TestResult) -> String {
    match (t.threshold.floor, t.threshold.critical_floor) {
        (Some(w), Some(c)) => format!("{}/{}", num(w), num(c)),
        _ => "-".to_owned(),
    }
}

fn psi_test(c: &ColumnReport) -> Option<&TestResult> {
    c.tests.iter().find(|t| t.test == TestKind::Psi && t.reference_counts.is_some())
}

fn category_rows(c: &ColumnReport) -> Vec<(String, u64, u64, &'static str)> {
    let pairs = c.category_counts.as_deref().unwrap_or_default();
    pairs
        .iter()
        .map(|p| {
            let mark = match (p.category.as_str(), p.reference, p.current) {
                ("__rest__", _, _) => "rest, pooled",
                (_, 0, _) => "new",
                (_, _, 0) => "vanished",
                _ => "",
            };
            (p.category.clone(), p.reference, p.current, mark)
        })
        .collect()
}

/// The overview's small chart: PSI bins for a numeric column, category shares otherwise.
pub fn mini_chart(c: &ColumnReport) -> String {
    if let Some(t) = psi_test(c) {
        let bins = Bins {
            reference: t.reference_counts.as_deref().unwrap_or_default(),
            current: t.current_counts.as_deref().unwrap_or_default(),
            labels: Vec::new(),
        };
        return svg::histogram(&bins, 120.0, 28.0, false);
    }
    let rows = category_rows(c);
    if rows.is_empty() {
        return String::new();
    }
    let r: Vec<u64> = rows.iter().take(10).map(|x| x.1).collect();
    let k: Vec<u64> = rows.iter().take(10).map(|x| x.2).collect();
    svg::histogram(&Bins { reference: &r, current: &k, labels: Vec::new() }, 120.0, 28.0, false)
}

/// The column's own section.
pub fn section(out: &mut String, c: &ColumnReport, index: usize, eps: f64) {
    let _ = writeln!(
        out,
        "<section class=\"column\" id=\"col-{index}\">\n<h3>{} <span class=\"muted\">{}</span> <span class=\"tag {}\">{}</span></h3>",
        escape(&title(c)),
        c.kind.as_str(),
        severity_class(c.severity),
        verdict(c)
    );
    facts(out, c);
    match c.kind {
        ColumnKind::Numeric => numeric(out, c, eps),
        ColumnKind::Categorical => categorical(out, c),
    }
    tests(out, c);
    out.push_str("</section>\n");
}

fn facts(out: &mut String, c: &ColumnReport) {
    let (r, k) = (&c.reference, &c.current);
    out.push_str("<dl class=\"facts\">");
    let _ = write!(
        out,
        "<dt>type</dt><dd><code>{}</code> → <code>{}</code></dd><dt>values</dt><dd>{} → {}</dd><dt>missing rate</dt><dd>{:.2}% → {:.2}% ({} → {} null, {} → {} NaN)</dd>",
        escape(&r.data_type),
        escape(&k.data_type),
        r.count,
        k.count,
        r.missing_rate * 100.0,
        k.missing_rate * 100.0,
        r.nulls,
        k.nulls,
        r.nan,
        k.nan
    );
    if let (Some(a), Some(b)) = (&r.stats, &k.stats) {
        let _ = write!(
            out,
            "<dt>median</dt><dd>{} → {}</dd><dt>mean ± std</dt><dd>{} ± {} → {} ± {}</dd><dt>range</dt><dd>[{}, {}] → [{}, {}]</dd>",
            num(a.median),
            num(b.median),
            num(a.mean),
            num(a.std),
            num(b.mean),
            num(b.std),
            num(a.min),
            num(a.max),
            num(b.min),
            num(b.max)
        );
    }
    if let (Some(a), Some(b)) = (r.distinct, k.distinct) {
        let _ = write!(out, "<dt>distinct</dt><dd>{a} → {b}</dd>");
    }
    if let (Some(n), Some(share)) = (c.new_categories_total, c.new_categories_share) {
        let _ = write!(out, "<dt>new categories</dt><dd>{n} ({:.2}% of current values)</dd>", share * 100.0);
    }
    out.push_str("</dl>\n");
}

fn bin_label(edges: &[f64], i: usize) -> String {
    match (i.checked_sub(1).and_then(|j| edges.get(j)), edges.get(i)) {
        (None, Some(hi)) => format!("< {}", num(*hi)),
        (Some(lo), Some(hi)) => format!("[{}, {})", num(*lo), num(*hi)),
        (Some(lo), None) => format!("≥ {}", num(*lo)),
        (None, None) => "all".to_owned(),
    }
}

fn numeric(out: &mut String, c: &ColumnReport, eps: f64) {
    let Some(t) = psi_test(c) else {
        out.push_str("<p class=\"muted\">Too few values on a side to draw.</p>\n");
        return;
    };
    let (rc, cc) = (t.reference_counts.as_deref().unwrap_or_default(), t.current_counts.as_deref().unwrap_or_default());
    let edges = t.edges.as_deref().unwrap_or_default();
    let labels = (1..=rc.len()).map(|i| i.to_string()).collect();
    let bins = Bins { reference: rc, current: cc, labels };
    out.push_str("<div class=\"plots\"><figure><figcaption>share per PSI bin (the reference's quantiles)</figcaption>");
    out.push_str(&svg::histogram(&bins, 460.0, 150.0, true));
    let ks = c.tests.iter().find(|t| t.test == TestKind::Ks);
    match ks.and_then(|t| Some((t.reference_quantiles.as_deref()?, t.current_quantiles.as_deref()?, t))) {
        Some((rq, cq, t)) => {
            out.push_str("</figure><figure><figcaption>ECDFs (percentiles), KS D where it occurs</figcaption>");
            let marker = t.location.zip(t.statistic);
            out.push_str(&svg::ecdf_quantiles(rq, cq, marker, 360.0, 150.0));
        }
        None => {
            // A sketched reference has no percentiles: the cumulative shares at the bins.
            out.push_str("</figure><figure><figcaption>cumulative share at the bin boundaries</figcaption>");
            out.push_str(&svg::ecdf(&bins, 300.0, 150.0));
        }
    }
    out.push_str("</figure></div>\n");
    let (rt, ct) = (rc.iter().sum::<u64>().max(1) as f64, cc.iter().sum::<u64>().max(1) as f64);
    out.push_str("<table class=\"bins\"><thead><tr><th>bin</th><th>range</th><th class=\"num\">reference</th><th class=\"num\">current</th><th class=\"num\">PSI contribution</th></tr></thead><tbody>");
    for (i, (&r, &k)) in rc.iter().zip(cc).enumerate() {
        let (p, q) = ((r as f64 / rt).max(eps), (k as f64 / ct).max(eps));
        let _ = write!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td><td>{r} ({:.2}%)</td><td>{k} ({:.2}%)</td><td>{}</td></tr>",
            i + 1,
            escape(&bin_label(edges, i)),
            r as f64 / rt * 100.0,
            k as f64 / ct * 100.0,
            num((q - p) * (q / p).ln())
        );
    }
    out.push_str("</tbody></table>\n");
}

fn categorical(out: &mut String, c: &ColumnReport) {
    let rows = category_rows(c);
    if rows.is_empty() {
        out.push_str("<p class=\"muted\">No values on either side.</p>\n");
        return;
    }
    out.push_str("<figure><figcaption>share per category: the 20 most frequent over both sides, then the rest pooled</figcaption>");
    out.push_str(&svg::categories(&rows, 720.0));
    out.push_str("</figure>\n");
}

fn tests(out: &mut String, c: &ColumnReport) {
    out.push_str("<table class=\"tests\"><thead><tr><th>test</th><th>status</th><th class=\"num\">statistic</th><th class=\"num\">effect</th><th class=\"num\">floors</th><th class=\"num\">p</th><th class=\"num\">p (adj)</th><th>result</th></tr></thead><tbody>");
    for t in &c.tests {
        let status = match t.status {
            TestStatus::Ok => "evaluated",
            TestStatus::Insufficient => "insufficient",
            TestStatus::Informational => "informational",
        };
        let result = match t.severity {
            Severity::Critical => "CRITICAL",
            Severity::Warning => "WARNING",
            Severity::None => "ok",
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{status}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{result}</td></tr>",
            t.test.as_str(),
            opt(t.statistic),
            opt(t.effect),
            floors_of(t),
            escape(&pval(t.p_value)),
            escape(&pval(t.p_value_adjusted)),
            severity_class(t.severity)
        );
    }
    out.push_str("</tbody></table>\n");
}
