//! Inline SVG charts drawn from the report's aggregates (bin counts, category counts): no
//! script, no external reference. Every bar carries its side, bin and count as `data-`
//! attributes, so a test can read the drawing back against the report's numbers. Heights are
//! shares of each side's total on one common scale: within a side, a bar's height is
//! proportional to its count.

use std::fmt::Write as _;

use super::escape;

/// Two sides' counts per bin (or category), with a label per bin.
pub struct Bins<'a> {
    /// Reference counts.
    pub reference: &'a [u64],
    /// Current counts.
    pub current: &'a [u64],
    /// A short label under each bin (empty strings for none).
    pub labels: Vec<String>,
}

fn shares(counts: &[u64]) -> Vec<f64> {
    let total: u64 = counts.iter().sum();
    counts.iter().map(|&c| if total == 0 { 0.0 } else { c as f64 / total as f64 }).collect()
}

/// Side-by-side vertical bars, reference (outlined) left of current (solid) in each bin.
pub fn histogram(bins: &Bins, width: f64, height: f64, axis: bool) -> String {
    let (rs, cs) = (shares(bins.reference), shares(bins.current));
    let top = rs.iter().chain(&cs).copied().fold(0.0f64, f64::max).max(f64::MIN_POSITIVE);
    let n = rs.len().max(1);
    let slot = width / n as f64;
    let bar = (slot * 0.42).max(0.5);
    let below = if axis { 16.0 } else { 0.0 };
    let mut out = format!(
        r#"<svg width="{width}" height="{}" viewBox="0 0 {width} {}" role="img" class="hist">"#,
        height + below,
        height + below
    );
    out.push_str("<title>reference (outlined) and current (solid) share per bin</title>");
    for (side, values, counts, dx) in [("reference", &rs, bins.reference, 0.0), ("current", &cs, bins.current, bar)] {
        let class = if side == "reference" { "ref" } else { "cur" };
        for (i, (&s, &count)) in values.iter().zip(counts).enumerate() {
            let h = s / top * height;
            let x = i as f64 * slot + (slot - 2.0 * bar) / 2.0 + dx;
            if axis {
                let _ = write!(
                    out,
                    r#"<rect class="{class}" data-side="{side}" data-bin="{i}" data-count="{count}" x="{x:.1}" y="{:.2}" width="{bar:.1}" height="{h:.2}"><title>{count} ({:.2}%)</title></rect>"#,
                    height - h,
                    s * 100.0
                );
            } else {
                // The overview's thumbnails: no tooltips, to keep the page small.
                let _ = write!(
                    out,
                    r#"<rect class="{class}" x="{x:.1}" y="{:.1}" width="{bar:.1}" height="{h:.1}"/>"#,
                    height - h
                );
            }
        }
    }
    let _ = write!(out, r#"<line class="axis" x1="0" y1="{height}" x2="{width}" y2="{height}"/>"#);
    if axis {
        for (i, label) in bins.labels.iter().enumerate() {
            let x = (i as f64 + 0.5) * slot;
            let _ = write!(
                out,
                r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                height + 12.0,
                escape(label)
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// The two sides' cumulative shares at each bin boundary, on the bins' axis (one step per
/// bin): reference dashed, current solid; the largest gap between them marked.
pub fn ecdf(bins: &Bins, width: f64, height: f64) -> String {
    let cumulative = |s: Vec<f64>| {
        let mut acc = 0.0;
        let mut out = vec![0.0];
        out.extend(s.into_iter().map(|x| {
            acc += x;
            acc
        }));
        out
    };
    let (rc, cc) = (cumulative(shares(bins.reference)), cumulative(shares(bins.current)));
    let n = (rc.len() - 1).max(1) as f64;
    let x = |i: usize| i as f64 / n * width;
    let y = |f: f64| height - f * height;
    let mut out = format!(
        r#"<svg width="{width}" height="{}" viewBox="0 0 {width} {}" role="img" class="ecdf">"#,
        height + 16.0,
        height + 16.0
    );
    out.push_str("<title>cumulative share at the bin boundaries: reference dashed, current solid</title>");
    for (class, side, f) in [("ref-line", "reference", &rc), ("cur-line", "current", &cc)] {
        let points: Vec<String> = f.iter().enumerate().map(|(i, &v)| format!("{:.2},{:.2}", x(i), y(v))).collect();
        let _ = write!(out, r#"<polyline class="{class}" data-side="{side}" points="{}"/>"#, points.join(" "));
    }
    let gap = rc.iter().zip(&cc).enumerate().max_by(|a, b| (a.1.0 - a.1.1).abs().total_cmp(&(b.1.0 - b.1.1).abs()));
    if let Some((i, (&r, &c))) = gap
        && (r - c).abs() > 0.0
    {
        let _ = write!(
            out,
            r#"<line class="ks" x1="{0:.2}" y1="{1:.2}" x2="{0:.2}" y2="{2:.2}"><title>largest gap at a bin boundary: {3:.4}</title></line>"#,
            x(i),
            y(r),
            y(c),
            (r - c).abs()
        );
    }
    let _ = write!(
        out,
        r#"<line class="axis" x1="0" y1="{height}" x2="{width}" y2="{height}"/><text x="0" y="{0:.1}">bin 1</text><text x="{width}" y="{0:.1}" text-anchor="end">bin {1}</text></svg>"#,
        height + 12.0,
        n
    );
    out
}

/// Horizontal bars per category: reference (outlined) above current (solid), a label on the
/// left and a mark for new or vanished categories.
pub fn categories(rows: &[(String, u64, u64, &'static str)], width: f64) -> String {
    let rt: u64 = rows.iter().map(|r| r.1).sum();
    let ct: u64 = rows.iter().map(|r| r.2).sum();
    let share = |c: u64, t: u64| if t == 0 { 0.0 } else { c as f64 / t as f64 };
    let top = rows.iter().map(|r| share(r.1, rt).max(share(r.2, ct))).fold(f64::MIN_POSITIVE, f64::max);
    let (label_w, row_h) = (190.0, 22.0);
    let bar_w = width - label_w - 60.0;
    let height = rows.len() as f64 * row_h;
    let mut out =
        format!(r#"<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" class="cats">"#);
    out.push_str("<title>share per category: reference (outlined) above current (solid)</title>");
    for (i, (name, r, c, mark)) in rows.iter().enumerate() {
        let y0 = i as f64 * row_h;
        let shown: String =
            if name.chars().count() > 28 { name.chars().take(27).chain(['…']).collect() } else { name.clone() };
        let label = if mark.is_empty() { escape(&shown) } else { format!("{} ({mark})", escape(&shown)) };
        // The whole name as a tooltip only where the label was cut.
        let full = if shown == *name { String::new() } else { format!("<title>{}</title>", escape(name)) };
        let _ = write!(
            out,
            r#"<text x="{:.0}" y="{:.0}" text-anchor="end">{label}{full}</text>"#,
            label_w - 6.0,
            y0 + 14.0
        );
        for (side, class, count, total, dy) in [("reference", "ref", *r, rt, 2.0), ("current", "cur", *c, ct, 11.0)] {
            let s = share(count, total);
            let _ = write!(
                out,
                r#"<rect class="{class}" data-side="{side}" data-bin="{i}" data-count="{count}" x="{label_w}" y="{:.1}" width="{:.2}" height="8"/>"#,
                y0 + dy,
                s / top * bar_w
            );
        }
        let _ = write!(
            out,
            r#"<text x="{:.0}" y="{:.0}">{:.1}% → {:.1}%</text>"#,
            label_w + bar_w + 4.0,
            y0 + 14.0,
            share(*r, rt) * 100.0,
            share(*c, ct) * 100.0
        );
    }
    out.push_str("</svg>");
    out
}

/// Both sides' ECDFs from their percentiles 0..100 on one value axis (from the smallest to
/// the largest finite percentile), reference dashed, current solid; the KS statistic drawn as
/// a vertical line at `location` (where the ECDFs are D apart).
pub fn ecdf_quantiles(rq: &[f64], cq: &[f64], ks: Option<(f64, f64)>, width: f64, height: f64) -> String {
    let finite = || rq.iter().chain(cq).copied().filter(|v| v.is_finite());
    let lo = finite().fold(f64::INFINITY, f64::min);
    let hi = finite().fold(f64::NEG_INFINITY, f64::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let x = |v: f64| ((v - lo) / span).clamp(0.0, 1.0) * width;
    let y = |f: f64| height - f * height;
    let mut out = format!(
        r#"<svg width="{width}" height="{0}" viewBox="0 0 {width} {0}" role="img" class="ecdf" data-x-min="{lo}" data-x-max="{hi}">"#,
        height + 16.0
    );
    out.push_str("<title>ECDF from the percentiles: reference dashed, current solid</title>");
    let mut at = Vec::new();
    for (class, side, q) in [("ref-line", "reference", rq), ("cur-line", "current", cq)] {
        let n = (q.len().max(2) - 1) as f64;
        let points: Vec<(f64, f64)> =
            q.iter().enumerate().filter(|(_, v)| v.is_finite()).map(|(k, &v)| (v, k as f64 / n)).collect();
        let text: Vec<String> = points.iter().map(|&(v, f)| format!("{:.1},{:.1}", x(v), y(f))).collect();
        let _ = write!(out, r#"<polyline class="{class}" data-side="{side}" points="{}"/>"#, text.join(" "));
        at.push(points);
    }
    if let Some((location, d)) = ks {
        // Each side's share at the location, read off its percentile curve (for the drawing).
        let share = |pts: &[(f64, f64)]| pts.iter().rev().find(|p| p.0 <= location).map_or(0.0, |p| p.1);
        let (fr, fc) = (share(&at[0]), share(&at[1]));
        let (top, bottom) = (y(fr.max(fc)).min(y(fr.min(fc)) - 4.0), y(fr.min(fc)));
        let _ = write!(
            out,
            r#"<line class="ks" data-location="{location}" x1="{0:.2}" y1="{top:.1}" x2="{0:.2}" y2="{bottom:.1}"><title>KS D = {1} at {2}</title></line>"#,
            x(location),
            super::num(d),
            escape(&super::num(location))
        );
    }
    let _ = write!(
        out,
        r#"<line class="axis" x1="0" y1="{height}" x2="{width}" y2="{height}"/><text x="0" y="{0:.0}">{1}</text><text x="{width}" y="{0:.0}" text-anchor="end">{2}</text></svg>"#,
        height + 12.0,
        escape(&super::num(lo)),
        escape(&super::num(hi))
    );
    out
}
