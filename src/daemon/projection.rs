//! The columns a monitor reads of each file: those its windows compare (the ones its
//! `[columns]` keep that the reference can compare), its timestamp and segment columns, and
//! those its checks read. The rest is never fetched from an object store nor decoded from a
//! local file: the footer says such a column exists, which is all a schema difference needs.

use crate::config::Monitor;
use crate::source::{Class, Table};

/// The columns to read of each file for `monitor` against `reference` (sorted); `None` when
/// every column is needed (a check that may read any column).
pub fn needed(monitor: &Monitor, reference: &dyn Table) -> Option<Vec<String>> {
    let mut out = monitor.checks.columns()?;
    let keep = &monitor.columns;
    // As `check` decides which columns are compared.
    let wanted = |n: &str| {
        (keep.include.is_empty() || keep.include.iter().any(|x| x == n)) && !keep.exclude.iter().any(|x| x == n)
    };
    out.extend(
        reference
            .columns()
            .iter()
            .filter(|c| wanted(&c.name) && !matches!(c.class, Class::Skipped(_)))
            .map(|c| c.name.clone()),
    );
    out.extend(monitor.timestamp_column.iter().cloned());
    if let Some(s) = &monitor.segments {
        out.extend(s.by.iter().cloned());
    }
    out.sort();
    out.dedup();
    Some(out)
}
