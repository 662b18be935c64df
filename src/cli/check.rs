//! `drift check`: compare current data with reference data once.

use std::io::IsTerminal;

use anyhow::Result;

use super::{CheckArgs, exit, print, progress_bar};
use crate::check::{CheckOptions, run_check};
use crate::output::render;

/// Runs `drift check`; returns the exit code.
pub fn check(args: &CheckArgs) -> Result<i32> {
    let reference = crate::check::open_side("reference", &args.reference)?;
    let current = crate::check::open_side("current", &args.current)?;
    let options = CheckOptions {
        columns: args.select.columns.clone(),
        exclude: args.select.exclude.clone(),
        categorical: args.select.categorical.clone(),
        threads: args.threads,
        segment_exclude: Vec::new(),
    };
    let bar = progress_bar(args.no_progress, "comparing columns");
    let progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let report = run_check(reference.as_ref(), current.as_ref(), &options, &args.policy(), &progress)?;
    bar.finish_and_clear();
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    print(&render(&report, args.format, color));
    Ok(if report.drift { exit::DRIFT } else { exit::OK })
}
