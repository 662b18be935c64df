//! How the engine's numbers and findings read in words, shared by the CLI's output and the
//! alert messages so both print them alike. Pure.

use super::{ColumnReport, TestStatus};

/// Formats a number compactly: 4 significant digits, scientific when tiny.
pub fn num(x: f64) -> String {
    if x == 0.0 {
        "0".to_owned()
    } else if x.is_infinite() {
        if x > 0.0 { "inf".to_owned() } else { "-inf".to_owned() }
    } else if x.abs() < 1e-3 || x.abs() >= 1e6 {
        format!("{x:.2e}")
    } else {
        let s = format!("{x:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// An optional number; `-` when absent.
pub fn opt(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_owned(), num)
}

/// A p-value: `<1e-300` when it underflowed to zero.
pub fn pval(x: Option<f64>) -> String {
    match x {
        Some(0.0) => "<1e-300".to_owned(),
        other => opt(other),
    }
}

/// Reference versus current for a column in a few words (median, new categories, sketch
/// bound, missing rate).
pub fn column_note(c: &ColumnReport) -> String {
    let mut notes = Vec::new();
    if let (Some(r), Some(k)) = (&c.reference.stats, &c.current.stats) {
        notes.push(format!("median {} -> {}", num(r.median), num(k.median)));
    }
    if let (Some(n), Some(share)) = (c.new_categories_total, c.new_categories_share)
        && n > 0
    {
        let noun = if n == 1 { "category" } else { "categories" };
        notes.push(format!("{n} new {noun} ({:.1}% of rows)", share * 100.0));
    }
    if let Some(n) = c.tests.iter().find_map(|t| t.testable_from) {
        notes.push(format!("too few values for its categories: testable from {n} per window"));
    } else if c.tests.iter().any(|t| t.status == TestStatus::Insufficient && t.categories.is_some()) {
        notes.push("too few values for its categories at any window size".to_owned());
    }
    if let Some(eps) = c.tests.iter().find_map(|t| t.error_bound) {
        notes.push(format!("reference sketch: D ±{}", num(eps)));
    }
    if c.reference.missing_rate > 0.0 || c.current.missing_rate > 0.0 {
        notes.push(format!(
            "missing {:.1}% -> {:.1}%",
            c.reference.missing_rate * 100.0,
            c.current.missing_rate * 100.0
        ));
    }
    notes.join("; ")
}
