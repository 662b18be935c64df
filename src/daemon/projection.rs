//! The columns a monitor reads of each file: those its windows compare (the ones its
//! `[columns]` keep that the reference can compare), its timestamp and segment columns, and
//! those its checks read. The rest is never fetched from an object store nor decoded from a
//! local file: the footer says such a column exists, which is all a schema difference needs.

use crate::config::{Columns, Monitor};
use crate::source::{Class, DatasetColumn, Table};

/// The columns to read of each file for `monitor` against `reference` (sorted); `None` when
/// every column is needed (a check that may read any column).
pub fn needed(monitor: &Monitor, reference: &dyn Table) -> Option<Vec<String>> {
    let mut out = profiled(monitor, reference)?;
    if let Some(m) = &monitor.model {
        out.extend(super::model::needed(m));
    }
    out.sort();
    out.dedup();
    Some(out)
}

/// The columns only the model's join reads: neither compared, nor the timestamp or a segment
/// column, nor read by a check (profiling them would only cost bytes: the id is unique per row).
pub fn join_only(monitor: &Monitor, reference: &dyn Table) -> Vec<String> {
    let (Some(m), Some(other)) = (&monitor.model, profiled(monitor, reference)) else { return Vec::new() };
    super::model::needed(m).into_iter().filter(|c| !other.contains(c)).collect()
}

/// The columns a window's profile and checks need (sorted; `None`: every column).
fn profiled(monitor: &Monitor, reference: &dyn Table) -> Option<Vec<String>> {
    let mut out = monitor.checks.columns()?;
    out.extend(compared(&monitor.columns, reference.columns()));
    out.extend(monitor.timestamp_column.iter().cloned());
    if let Some(s) = &monitor.segments {
        out.extend(s.by.iter().cloned());
    }
    out.sort();
    out.dedup();
    Some(out)
}

/// The reference columns `keep` compares: kept, and of a kind the reference can compare.
pub fn compared(keep: &Columns, reference: &[DatasetColumn]) -> Vec<String> {
    reference
        .iter()
        .filter(|c| keep.wants(&c.name) && !matches!(c.class, Class::Skipped(_)))
        .map(|c| c.name.clone())
        .collect()
}
