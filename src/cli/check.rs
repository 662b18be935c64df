//! `drift check`: compare current data with reference data once.

use std::io::IsTerminal;

use anyhow::Result;

use super::{CheckArgs, exit, print, progress_bar};
use crate::alerts::route::Routing;
use crate::calibrate::{Calibration, Settings, WINDOWS};
use crate::check::{CheckOptions, run_check};
use crate::engine::Policy;
use crate::output::{render, render_calibrated};
use crate::source::{Dataset, Table};

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
    let mut report = run_check(reference.as_ref(), current.as_ref(), &options, &args.policy(), &progress)?;
    bar.finish_and_clear();
    report.latency = latency(args)?;
    let breached = report.latency.as_ref().is_some_and(|l| l.breached);
    let code = if report.drift || breached { exit::DRIFT } else { exit::OK };
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    if args.calibrate {
        let c =
            calibrate(reference.as_ref(), &options, &args.policy(), report.current.rows).map_err(|e| format!("{e:#}"));
        print(&render_calibrated(&report, &c, args.format, color));
        return Ok(code);
    }
    print(&render(&report, args.format, color));
    Ok(code)
}

/// `--latency`: the column's percentiles on both sides (Parquet data only: a snapshot keeps
/// no latency summary).
fn latency(args: &CheckArgs) -> Result<Option<crate::engine::latency::LatencyComparison>> {
    use crate::checks::latency::{Latency, LatencyConfig, Slo, compare, config::DEFAULT_PERCENTILES};
    let Some(column) = &args.latency else { return Ok(None) };
    for (side, paths) in [("reference", &args.reference), ("current", &args.current)] {
        if paths.iter().any(|p| crate::check::is_snapshot(std::path::Path::new(p))) {
            anyhow::bail!("--latency needs Parquet data on the {side} side: a snapshot keeps no latency values");
        }
    }
    let slo = args.latency_slo.iter().map(|&(q, t)| Slo { quantile: q, warning_ms: None, critical_ms: Some(t) });
    let check = Latency(LatencyConfig {
        column: column.clone(),
        unit: args.latency_unit,
        percentiles: DEFAULT_PERCENTILES.to_vec(),
        slo: slo.collect(),
        objective: None,
    });
    let (r, c) = (Dataset::open("reference", &args.reference)?, Dataset::open("current", &args.current)?);
    Ok(Some(compare::compare(&check, &r, &c)?))
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
