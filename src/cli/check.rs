//! `drift check`: compare current data with reference data once.

use std::io::{IsTerminal, Write as _};
use std::path::Path;

use anyhow::Result;

use super::{CheckArgs, exit, print, progress_bar};
use crate::alerts::route::Routing;
use crate::calibrate::{Calibration, Settings, WINDOWS};
use crate::check::{CheckOptions, run_check};
use crate::engine::Policy;
use crate::output::{Format, Page, Sources, render, render_calibrated};
use crate::source::{Dataset, Table};

/// Runs `drift check`; returns the exit code.
pub fn check(args: &CheckArgs) -> Result<i32> {
    super::use_stores(&args.stores)?;
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
    report.model = model(args)?;
    let breached = report.latency.as_ref().is_some_and(|l| l.breached);
    let code = if report.drift || breached { exit::DRIFT } else { exit::OK };
    let color = args.output.is_none() && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let calibration = args.calibrate.then(|| {
        calibrate(reference.as_ref(), &options, &args.policy(), report.current.rows).map_err(|e| format!("{e:#}"))
    });
    let text = match (args.format, &calibration) {
        (Format::Html, c) => {
            let sources = Sources { reference: args.reference.clone(), current: args.current.clone() };
            let page = Page { title: "drift check".to_owned(), sources, calibration: c.as_ref(), ..Page::default() };
            crate::output::page(&report, &page)
        }
        (format, Some(c)) => render_calibrated(&report, c, format, color),
        (format, None) => render(&report, format, color),
    };
    match &args.output {
        Some(path) => write_output(path, &text)?,
        None => print(&text),
    }
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

/// `--model-task`: the model's realized performance on both sides (Parquet data with the
/// prediction and label columns; a snapshot keeps no rows).
fn model(args: &CheckArgs) -> Result<Option<crate::quality::Comparison>> {
    use crate::checks::quality::{LabelSource, side};
    use crate::quality::ModelColumns;
    let Some(task) = args.model_task else { return Ok(None) };
    if task != crate::quality::Task::Binary && args.score.is_some() {
        anyhow::bail!("--score is for --model-task binary (the positive class's probability)");
    }
    for (name, paths) in [("reference", &args.reference), ("current", &args.current)] {
        if paths.iter().any(|p| crate::check::is_snapshot(std::path::Path::new(p))) {
            anyhow::bail!("--model-task needs Parquet data on the {name} side: a snapshot keeps no rows");
        }
    }
    let columns = ModelColumns {
        task,
        prediction: args.prediction.clone().unwrap_or_default(),
        score: args.score.clone(),
        label: args.label.clone().unwrap_or_default(),
        positive: args.positive.clone(),
    };
    let (r, c) = (Dataset::open("reference", &args.reference)?, Dataset::open("current", &args.current)?);
    let label_files = (!args.labels.is_empty()).then(|| Dataset::open("labels", &args.labels)).transpose()?;
    let current_labels = match (&label_files, &args.id) {
        (Some(data), Some(id)) => LabelSource::Files { data, id, time: &args.label_time },
        _ => LabelSource::Own,
    };
    let files = |paths: &[String]| paths.join(", ");
    let (on_r, on_c) = (
        format!("the reference side ({}) has", files(&args.reference)),
        format!("the current side ({}) has", files(&args.current)),
    );
    model_columns(&r, &on_r, &columns, Some(&columns.label))?;
    match (&label_files, &args.id) {
        (Some(data), Some(id)) => {
            model_columns(&c, &on_c, &columns, None)?;
            let shared = "name the id column the current side and the label files share";
            need(&c, "--id", id, &on_c, shared)?;
            let on_l = format!("the label files ({}) have", files(&args.labels));
            need(data, "--id", id, &on_l, shared)?;
            need(data, "--label", &columns.label, &on_l, "name the label column of the label files")?;
        }
        _ => model_columns(&c, &on_c, &columns, Some(&columns.label))?,
    }
    let (reference, reference_rows) = side(&r, "reference", &columns, &LabelSource::Own)?;
    let (current, current_rows) = side(&c, "current", &columns, &current_labels)?;
    let drift = crate::quality::label_drift(&columns, &reference_rows, &current_rows);
    let names = (columns.prediction, columns.score, columns.label);
    Ok(Some(crate::quality::Comparison::new(task, names, (reference, current), drift)))
}

/// A side's prediction, score and (`label`: its own) label columns, each there or one line
/// naming the flag, the side's files and what to give.
fn model_columns(data: &Dataset, on: &str, m: &crate::quality::ModelColumns, label: Option<&str>) -> Result<()> {
    need(data, "--prediction", &m.prediction, on, "name the prediction column")?;
    if let Some(score) = &m.score {
        need(data, "--score", score, on, "name the score column (the positive class's probability)")?;
    }
    if let Some(label) = label {
        need(data, "--label", label, on, "name the label column")?;
    }
    Ok(())
}

/// How many of a side's columns a missing column's error lists.
const LISTED_COLUMNS: usize = 12;

/// `column` is one of `data`'s, or one line: `--prediction: the reference side (ref.parquet)
/// has no column "predicton"; name the prediction column (columns: a, b, c)`.
fn need(data: &Dataset, flag: &str, column: &str, on: &str, what: &str) -> Result<()> {
    if data.column(column).is_some() {
        return Ok(());
    }
    let mut names: Vec<&str> = data.columns.iter().take(LISTED_COLUMNS).map(|c| c.name.as_str()).collect();
    let more = data.columns.len().saturating_sub(LISTED_COLUMNS);
    let more = if more > 0 { format!(" and {more} more") } else { String::new() };
    if names.is_empty() {
        names.push("none");
    }
    anyhow::bail!("{flag}: {on} no column {column:?}; {what} (columns: {}{more})", names.join(", "))
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

/// Writes the whole output to `path` through a temporary file beside it and a rename, so a
/// reader never sees half a report and a failed write leaves the old file as it was.
pub(super) fn write_output(path: &Path, text: &str) -> Result<()> {
    let fail = |e: std::io::Error| anyhow::anyhow!("{}: cannot write: {e}", path.display());
    let name = path.file_name().ok_or_else(|| fail(std::io::ErrorKind::InvalidInput.into()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    Ok(())
}
