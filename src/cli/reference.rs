//! `drift reference build|show|merge`: reference snapshots.

use anyhow::Result;

use super::{BuildArgs, MergeArgs, ReferenceCommand, ShowArgs, ShowFormat, exit, print, progress_bar};
use crate::output::{snapshot_json, snapshot_merged, snapshot_table, snapshot_written};
use crate::snapshot::{BuildSettings, Selection, Snapshot};
use crate::source::Dataset;

/// Runs `drift reference build|show|merge`; returns the exit code.
pub fn reference(cmd: &ReferenceCommand) -> Result<i32> {
    match cmd {
        ReferenceCommand::Build(a) => super::use_stores(&a.stores).and_then(|()| build(a)),
        ReferenceCommand::Show(a) => super::use_stores(&a.stores).and_then(|()| show(a)),
        ReferenceCommand::Merge(a) => super::use_stores(&a.stores).and_then(|()| merge(a)),
    }
}

fn build(a: &BuildArgs) -> Result<i32> {
    let dataset = Dataset::open("input", &a.input)?;
    let settings = BuildSettings {
        bins: a.bins,
        max_categories: a.max_categories,
        exact_max_values: a.exact_max_values,
        sketch_cells: a.sketch_cells,
    };
    let selection = Selection {
        columns: a.select.columns.clone(),
        exclude: a.select.exclude.clone(),
        categorical: a.select.categorical.clone(),
    };
    let bar = progress_bar(a.no_progress, "profiling columns");
    let progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let created = a.created_at.clone().unwrap_or_else(crate::clock::now_rfc3339);
    let snap = Snapshot::build(&dataset, &selection, settings, created, &progress)?;
    bar.finish_and_clear();
    snap.write(&a.output)?;
    eprintln!("{}", snapshot_written(&a.output, &snap));
    Ok(exit::OK)
}

fn show(a: &ShowArgs) -> Result<i32> {
    let snap = Snapshot::read(&a.file)?;
    print(&match a.format {
        ShowFormat::Json => snapshot_json(&snap),
        ShowFormat::Table => snapshot_table(&snap),
    });
    Ok(exit::OK)
}

fn merge(a: &MergeArgs) -> Result<i32> {
    let mut parts = Vec::new();
    for p in &a.snapshots {
        parts.push((p.display().to_string(), Snapshot::read(p)?));
    }
    let created = a.created_at.clone().unwrap_or_else(crate::clock::now_rfc3339);
    let merged = Snapshot::merge(&parts, created)?;
    merged.write(&a.output)?;
    eprintln!("{}", snapshot_merged(&a.output, parts.len(), &merged));
    Ok(exit::OK)
}
