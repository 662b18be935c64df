//! `drift reference build|show|merge`: reference snapshots.

use std::io::Write;

use anyhow::Result;

use super::{ReferenceCommand, ShowFormat, exit, progress_bar};
use crate::snapshot::{BuildSettings, Selection, Snapshot};
use crate::source::Dataset;

/// Runs `drift reference build|show|merge`; returns the exit code.
pub fn reference(cmd: &ReferenceCommand) -> Result<i32> {
    match cmd {
        ReferenceCommand::Build(a) => {
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
            let files = snap.meta.sources.len();
            eprintln!(
                "wrote {} ({} columns from {} rows in {files} file{})",
                a.output.display(),
                snap.meta.columns.len(),
                snap.meta.rows,
                if files == 1 { "" } else { "s" }
            );
            Ok(exit::OK)
        }
        ReferenceCommand::Show(a) => {
            let snap = Snapshot::read(&a.file)?;
            let text = match a.format {
                ShowFormat::Json => {
                    serde_json::to_string_pretty(&snap.meta).map_err(|e| anyhow::anyhow!("{e}"))? + "\n"
                }
                ShowFormat::Table => crate::output::snapshot_table(&snap),
            };
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
            Ok(exit::OK)
        }
        ReferenceCommand::Merge(a) => {
            let mut parts = Vec::new();
            for p in &a.snapshots {
                parts.push((p.display().to_string(), Snapshot::read(p)?));
            }
            let created = a.created_at.clone().unwrap_or_else(crate::clock::now_rfc3339);
            let merged = Snapshot::merge(&parts, created)?;
            merged.write(&a.output)?;
            eprintln!("wrote {} (merged {} snapshots, {} rows)", a.output.display(), parts.len(), merged.meta.rows);
            Ok(exit::OK)
        }
    }
}
