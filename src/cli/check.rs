//! `drift check`: compare current data with reference data once.

use std::io::IsTerminal;

use anyhow::Result;

use super::{CheckArgs, exit, print, progress_bar};
use crate::alerts::route::Routing;
use crate::calibrate::{Calibration, Settings, WINDOWS};
use crate::check::{CheckOptions, run_check};
use crate::engine::Policy;
use crate::output::{render, render_calibrated};
use crate::source::Table;

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
    if args.calibrate {
        let c =
            calibrate(reference.as_ref(), &options, &args.policy(), report.current.rows).map_err(|e| format!("{e:#}"));
        print(&render_calibrated(&report, &c, args.format, color));
        return Ok(if report.drift { exit::DRIFT } else { exit::OK });
    }
    print(&render(&report, args.format, color));
    Ok(if report.drift { exit::DRIFT } else { exit::OK })
}

/// The calibration of the reference at the current side's size, one window an hour, paged
/// by the default lifecycle (every drifted window's alert reaches a sink).
fn calibrate(reference: &dyn Table, options: &CheckOptions, policy: &Policy, rows: u64) -> Result<Calibration> {
    let settings = Settings {
        monitor: String::new(),
        window_rows: rows,
        window_rows_from: "the current data's rows".to_owned(),
        cadence_ms: 3_600_000,
        cadence_from: "assumed: drift check knows no cadence".to_owned(),
        windows: WINDOWS,
        threads: options.threads,
        stop: None,
    };
    let page = vec!["page".to_owned()];
    let routing = Routing { warning: page.clone(), critical: page, ..Routing::default() };
    crate::calibrate::calibrate(reference, options, policy, &routing, &settings)
}
