//! Windows whose rows arrive over several files: by row count, and tumbling by event time.
//!
//! An open window lives in the state database as **parts**: one profile per consumed file
//! (a snapshot of that file's rows: exact values up to [`WINDOW_EXACT_VALUES`] per column, a
//! mergeable sketch beyond, reported as approximate), stored in the same transaction that marks
//! the file consumed. So memory stays bounded whatever the traffic, and a restart needs neither
//! the old files nor a replay. Closing a window merges its parts (exactly, in exact mode) and
//! evaluates the result as the current side.
//!
//! Event time: rows go to the tumbling window `[k*size, (k+1)*size)` of their timestamp. The
//! watermark is the latest event time seen minus `allowed_lateness`; a window closes when the
//! watermark passes its end, or when no data arrived for `idle_timeout`. Rows for a window that
//! has already closed, and rows without a timestamp, are counted as late and dropped.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};

use super::cycle::{CycleOutcome, Fetched};
use super::status::record_window_metrics;
use super::{MonitorRun, Shared, event_time, fault, isolate, pause};
use crate::check::{CheckOptions, run_check, run_check_segments};
use crate::checks::{Checks, PartRows, PartStates, WindowStates};
use crate::config::Window;
use crate::engine::{Report, SegmentsReport};
use crate::snapshot::{BuildSettings, Selection, Snapshot};
use crate::source::{Dataset, DatasetColumn, ParquetFile, Table, open_bytes};
use crate::state::{ClockUpdate, Closing, Consumed, ModelRow, Part};

/// Values kept exactly per column in an open window part before it switches to a sketch.
pub const WINDOW_EXACT_VALUES: u64 = 200_000;

fn settings(run: &MonitorRun) -> BuildSettings {
    BuildSettings {
        bins: run.monitor.policy.bins,
        max_categories: run.monitor.policy.max_categories,
        exact_max_values: WINDOW_EXACT_VALUES,
        sketch_cells: crate::stats::sketch::DEFAULT_CELLS,
    }
}

/// The profile of some rows (one file, or one window's share of it), as snapshot bytes: of the
/// columns the monitor needs, with the schema of the file they came from (`schema`).
fn profile(files: Vec<ParquetFile>, p: &Profiling, schema: &[DatasetColumn]) -> Result<Vec<u8>> {
    let ds = Dataset::from_files("current", files)?;
    // Read but not profiled: the columns only the model's join reads (its id above all, unique
    // per row), kept out of the part's snapshot.
    let exclude = match &p.columns {
        Some(keep) => ds
            .columns
            .iter()
            .filter(|c| !keep.contains(&c.name) || p.join_only.contains(&c.name))
            .map(|c| c.name.clone())
            .collect(),
        None => p.join_only.clone(),
    };
    let selection = Selection {
        categorical: p.forced.iter().filter(|c| ds.column(c).is_some()).cloned().collect(),
        exclude,
        ..Selection::default()
    };
    let snapshot = Snapshot::build(&ds, &selection, p.settings, String::new(), &|_, _| {})?;
    Ok(match p.columns {
        Some(_) => snapshot.with_schema(schema)?,
        None => snapshot,
    }
    .to_bytes())
}

/// The columns of one file, as its footer gives them.
fn columns_of(file: &ParquetFile) -> Result<Vec<DatasetColumn>> {
    Ok(Dataset::from_files("current", vec![file.clone()])?.columns)
}

/// Labels kept apart per file before the rest are pooled (several times the evaluated cap, so
/// the largest segments of a window are rarely cut by one file's tail).
const SEGMENT_LABELS_PER_FILE: usize = 200;

/// The parts one file's rows of one window make: one profile, or one per segment label, each
/// with the part states of the monitor's checks that keep one; and, with `[model]`, the rows'
/// predictions kept for the join. `schema` is the columns of the file the rows came from.
fn profile_parts(
    file: ParquetFile,
    key: i64,
    p: &Profiling,
    schema: &[DatasetColumn],
) -> Result<(Vec<Part>, Vec<ModelRow>)> {
    let groups = match &p.segments {
        None => vec![(String::new(), file)],
        Some(s) => crate::source::split_by_labels(
            &[file],
            &s.by,
            SEGMENT_LABELS_PER_FILE.max(s.max_segments),
            p.columns.as_deref(),
        )?,
    };
    let mut model = Vec::new();
    let parts = groups
        .into_iter()
        .map(|(segment, f)| {
            if let Some(m) = &p.model {
                model.extend(super::model::extract_or_warn(&f, key, &segment, m));
            }
            let rows = f.rows;
            let checks = p.check_states(std::slice::from_ref(&f))?;
            let profile = profile(vec![f], p, schema)?;
            Ok(Part { seq: 0, key, segment, file: String::new(), rows, profile, checks })
        })
        .collect::<Result<_>>()?;
    Ok((parts, model))
}

/// What profiling a file's rows into parts needs of its monitor (owned: it runs on a
/// blocking thread).
struct Profiling {
    segments: Option<crate::config::Segments>,
    forced: Vec<String>,
    settings: BuildSettings,
    checks: Checks,
    timestamp: Option<String>,
    /// The columns read of each file (`None`: every column), [`super::projection::needed`].
    columns: Option<Vec<String>>,
    /// The model whose predictions are kept for the join.
    model: Option<crate::config::ModelQuality>,
    /// The columns read only for the model's join (not compared, profiled or checked).
    join_only: Vec<String>,
}

impl Profiling {
    fn of(run: &MonitorRun) -> Profiling {
        let m = &run.monitor;
        Profiling {
            segments: m.segments.clone(),
            forced: m.columns.categorical.clone(),
            settings: settings(run),
            checks: m.checks.clone(),
            timestamp: m.timestamp_column.clone(),
            columns: run.reference.as_ref().and_then(|r| super::projection::needed(m, r.as_ref())),
            model: m.model.clone(),
            join_only: run.reference.as_ref().map_or_else(Vec::new, |r| super::projection::join_only(m, r.as_ref())),
        }
    }

    /// The part states of the checks that keep one, for some rows.
    fn check_states(&self, files: &[ParquetFile]) -> Result<PartStates> {
        if !self.checks.keep_parts() {
            return Ok(Vec::new());
        }
        self.checks.profile(&PartRows { files, timestamp_column: self.timestamp.as_deref() })
    }
}

/// A segment to evaluate: label, reference rows, current rows.
type Chosen = (String, Arc<dyn Table + Send>, Box<dyn Table + Send>);

/// Evaluates a window: the whole data and, when the monitor has segments, each segment large
/// enough (largest first, up to the cap) that the reference also has, as one family.
///
/// `states` are the checks' merged part states ([`Checks::merge`]); `span` the event-time
/// window's `[start, end)`.
pub fn evaluate(
    run: &MonitorRun,
    whole: &dyn Table,
    segments: Vec<(String, u64, Box<dyn Table + Send>)>,
    states: &WindowStates,
    span: Option<(i64, i64)>,
) -> Result<Report> {
    let (mut report, chosen) = evaluate_drift(run, whole, segments)?;
    if run.monitor.checks.0.is_empty() {
        return Ok(report);
    }
    let segments: Vec<(String, &dyn Table)> =
        chosen.iter().map(|(l, _, c)| (l.clone(), c.as_ref() as &dyn Table)).collect();
    run.monitor.checks.run(&mut report, whole, &segments, states, span)?;
    Ok(report)
}

/// The drift report of a window (and its segments), and the segments evaluated.
fn evaluate_drift(
    run: &MonitorRun,
    whole: &dyn Table,
    segments: Vec<(String, u64, Box<dyn Table + Send>)>,
) -> Result<(Report, Vec<Chosen>)> {
    let m = &run.monitor;
    let reference = run.reference.clone().context("the reference is loaded before any window")?;
    let options = CheckOptions {
        columns: m.columns.include.clone(),
        exclude: m.columns.exclude.clone(),
        categorical: m.columns.categorical.clone(),
        threads: 1,
        segment_exclude: m.segments.as_ref().map(|s| s.by.clone()).unwrap_or_default(),
    };
    let Some(cfg) = &m.segments else {
        return Ok((run_check(reference.as_ref(), whole, &options, &m.policy, &|_, _| {})?, Vec::new()));
    };
    let by_ref = run.reference_segments.clone().unwrap_or_default();
    let mut sorted = segments;
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut report = SegmentsReport::default();
    let mut chosen: Vec<Chosen> = Vec::new();
    for (label, rows, table) in sorted {
        if label == crate::source::OTHER_SEGMENT || chosen.len() >= cfg.max_segments {
            report.over_cap.0 += 1;
            report.over_cap.1 += rows;
        } else if rows < cfg.min_rows {
            report.too_small.push((label, rows));
        } else if let Some(r) = by_ref.get(&label) {
            report.evaluated.push((label.clone(), rows));
            chosen.push((label, r.clone(), table));
        } else {
            report.not_in_reference.push(label);
        }
    }
    let pairs: Vec<(String, &dyn Table, &dyn Table)> =
        chosen.iter().map(|(l, r, c)| (l.clone(), r.as_ref() as &dyn Table, c.as_ref() as &dyn Table)).collect();
    let mut out = run_check_segments(reference.as_ref(), whole, &pairs, &options, &m.policy, &|_, _| {})?;
    out.segments = Some(report);
    drop(pairs);
    Ok((out, chosen))
}

/// A files window: the batch of files this cycle took, evaluated at once and committed with
/// their consumption.
///
/// A column whose type changes between files cannot be pooled: the files before the change
/// are evaluated now and the rest stay ready for the next cycle, rather than retrying a batch
/// that can never open.
pub async fn files_window(
    shared: &Arc<Shared>,
    run: &MonitorRun,
    Fetched { mut files, mut consumed }: Fetched,
    now: i64,
    mut outcome: CycleOutcome,
) -> Result<CycleOutcome> {
    let id = &run.monitor.id;
    let mut conflict = None;
    let dataset = loop {
        match Dataset::from_files("current", files.clone()) {
            Ok(dataset) => break dataset,
            Err(e) if files.len() > 1 => {
                files.pop();
                consumed.pop();
                conflict = Some(e);
            }
            Err(e) => return Err(e).with_context(|| format!("monitor {id}")),
        }
    };
    if let Some(e) = conflict {
        tracing::warn!(monitor = %id, error = %format!("{e:#}"), "column types change within the batch; evaluating the first {} file(s) now, the rest next cycle", files.len());
    }
    // A file the evaluation fails on is set aside and the rest evaluated without it.
    let evaluated = isolate::evaluate_files(shared, run, &mut files, &mut consumed, dataset, now, &mut outcome);
    let Some((report, rows)) = evaluated.await? else { return Ok(outcome) };
    if let Some(m) = &run.monitor.model {
        let (p, segments) = (Profiling::of(run), run.monitor.segments.as_ref());
        let max = segments.map_or(0, |s| SEGMENT_LABELS_PER_FILE.max(s.max_segments));
        tokio::task::block_in_place(|| -> Result<()> {
            for (f, c) in files.iter().zip(consumed.iter_mut()) {
                c.model = super::model::file_rows(f, segments.map(|s| (&s.by[..], max)), p.columns.as_deref(), m)?;
            }
            Ok(())
        })?;
    }
    pause::point(pause::COMMIT).await;
    let window_id = shared.state()?.commit_window(&run.routing, "files", &consumed, rows, report.as_ref(), now)?;
    pause::point(pause::COMMITTED).await;
    shared.outbox.notify_one();
    outcome.consumed = consumed.len();
    for c in &consumed {
        count_consumed(shared, id, c.rows);
    }
    record_window_metrics(shared, id, report.as_ref());
    tracing::info!(monitor = %id, window = window_id, files = consumed.len(), rows, "files window closed");
    outcome.windows.push((window_id, report));
    Ok(outcome)
}

/// A batch's rows evaluated, with its segments when the monitor has them (and the part
/// states of its checks, profiled from the batch as one part per segment).
pub(super) fn evaluate_batch(run: &MonitorRun, dataset: &Dataset) -> Result<Report> {
    let p = Profiling::of(run);
    let mut parts: Vec<(String, PartStates)> = Vec::new();
    let segments = match &run.monitor.segments {
        None => {
            parts.push((String::new(), p.check_states(&dataset.files)?));
            Vec::new()
        }
        Some(s) => crate::source::split_by_labels(&dataset.files, &s.by, 1000, p.columns.as_deref())?
            .into_iter()
            .map(|(label, f)| {
                let rows = f.rows;
                parts.push((label.clone(), p.check_states(std::slice::from_ref(&f))?));
                let table: Box<dyn Table + Send> = Box::new(Dataset::from_files("current", vec![f])?);
                Ok((label, rows, table))
            })
            .collect::<Result<_>>()?,
    };
    let states = merge_states(run, parts.iter().map(|(l, s)| (l.as_str(), s)))?;
    evaluate(run, dataset, segments, &states, None)
}

/// The checks' part states of a window's parts, merged (nothing when no check keeps one).
fn merge_states<'a>(run: &MonitorRun, parts: impl Iterator<Item = (&'a str, &'a PartStates)>) -> Result<WindowStates> {
    if !run.monitor.checks.keep_parts() {
        return Ok(Vec::new());
    }
    let parts: Vec<(&str, &PartStates)> = parts.collect();
    run.monitor.checks.merge(&parts)
}

/// Row-count windows: each file becomes a part; the window closes at the first file that
/// brings it to `target` rows.
pub async fn rows_windows(
    shared: &Arc<Shared>,
    run: &mut MonitorRun,
    Fetched { files, consumed }: Fetched,
    target: u64,
    now: i64,
    mut outcome: CycleOutcome,
) -> Result<CycleOutcome> {
    let id = run.monitor.id.clone();
    // A window that reached its rows just before a crash (its last part committed, its close
    // not) closes now, before any new file joins it.
    while shared.state()?.open_rows(&id, 0)? >= target {
        outcome.windows.push(close(shared, run, 0, None, now).await?);
    }
    for (file, c) in files.into_iter().zip(consumed) {
        let p = Profiling::of(run);
        let shown = file.path.clone();
        let monitor = id.clone();
        let work = move || {
            fault::point(fault::PROFILE, &monitor);
            let schema = columns_of(&file)?;
            profile_parts(file, 0, &p, &schema)
        };
        let permit = shared.permits.acquire().await.map_err(|_| anyhow::anyhow!("shutting down"))?;
        let parts = isolate::per_file(shared, run, &c, shown, now, &mut outcome, work).await?;
        drop(permit);
        let Some((parts, model)) = parts else { continue };
        let c = Consumed { model, ..c };
        pause::point(pause::COMMIT).await;
        shared.state()?.add_parts(&id, &c, &parts, None, now)?;
        pause::point(pause::COMMITTED).await;
        count_consumed(shared, &id, c.rows);
        outcome.consumed += 1;
        // Usually once; again when a type change closed the window before its newest files.
        while shared.state()?.open_rows(&id, 0)? >= target {
            outcome.windows.push(close(shared, run, 0, None, now).await?);
        }
    }
    Ok(outcome)
}

fn count_consumed(shared: &Shared, id: &str, rows: u64) {
    use super::metrics::{FileOutcome, MonitorLabel};
    shared.metrics.file(id, FileOutcome::Consumed, 1);
    shared.metrics.rows.get_or_create(&MonitorLabel { monitor: id.to_owned() }).inc_by(rows);
}

/// Event times of a batch's timestamp column in ms (None for nulls).
pub(crate) fn event_ms(batch: &RecordBatch, column: &str) -> Result<Vec<Option<i64>>> {
    let Some(a) = batch.column_by_name(column) else {
        bail!("no timestamp column {column:?} in the file");
    };
    fn conv<T: arrow_array::ArrowPrimitiveType<Native = i64>>(
        a: &dyn Array,
        f: impl Fn(i64) -> i64,
    ) -> Vec<Option<i64>> {
        a.as_primitive::<T>().iter().map(|v| v.map(&f)).collect()
    }
    Ok(match a.data_type() {
        DataType::Timestamp(u @ TimeUnit::Second, _) => conv::<TimestampSecondType>(a, |v| event_time::to_ms(*u, v)),
        DataType::Timestamp(TimeUnit::Millisecond, _) => conv::<TimestampMillisecondType>(a, |v| v),
        DataType::Timestamp(u @ TimeUnit::Microsecond, _) => {
            conv::<TimestampMicrosecondType>(a, |v| event_time::to_ms(*u, v))
        }
        DataType::Timestamp(u @ TimeUnit::Nanosecond, _) => {
            conv::<TimestampNanosecondType>(a, |v| event_time::to_ms(*u, v))
        }
        DataType::Date64 => conv::<Date64Type>(a, |v| v),
        DataType::Date32 => a.as_primitive::<Date32Type>().iter().map(|v| v.map(event_time::days_to_ms)).collect(),
        other => bail!("timestamp column {column:?} is {other}; use a timestamp or date column"),
    })
}

/// A file's rows split by event-time window.
struct Split {
    /// (window key, that window's rows as an in-memory Parquet file).
    parts: Vec<(i64, ParquetFile)>,
    /// The latest event time in the file.
    max_event: Option<i64>,
    /// Rows for closed windows or without a timestamp.
    late: u64,
    /// Rows after `future_after`: counted, not evaluated, not moving the watermark.
    future: u64,
}

/// Splits a file's rows by event-time window; rows after `future_after` are only counted.
/// Reads `columns` of the file (`None`: every column).
fn split_by_window(
    file: &ParquetFile,
    (column, size_ms): (&str, i64),
    closed_until: Option<i64>,
    future_after: i64,
    columns: Option<&[String]>,
) -> Result<Split> {
    let batches = file.read_some(columns)?;
    let mut max_event: Option<i64> = None;
    let (mut late, mut future) = (0u64, 0u64);
    let mut by_key: std::collections::BTreeMap<i64, Vec<RecordBatch>> = std::collections::BTreeMap::new();
    for batch in &batches {
        let times = event_ms(batch, column).with_context(|| format!("{}", file.path.display()))?;
        let mut keys: Vec<Option<i64>> = Vec::with_capacity(times.len());
        for t in &times {
            match t {
                Some(t) if *t > future_after => {
                    future += 1;
                    keys.push(None);
                }
                Some(t) if closed_until.is_none_or(|c| *t >= c) => {
                    max_event = Some(max_event.map_or(*t, |m| m.max(*t)));
                    keys.push(Some(event_time::key(*t, size_ms)));
                }
                Some(t) => {
                    max_event = Some(max_event.map_or(*t, |m| m.max(*t)));
                    late += 1;
                    keys.push(None);
                }
                None => {
                    late += 1;
                    keys.push(None);
                }
            }
        }
        let mut distinct: Vec<i64> = keys.iter().flatten().copied().collect();
        distinct.sort_unstable();
        distinct.dedup();
        for k in distinct {
            let mask = arrow_array::BooleanArray::from_iter(keys.iter().map(|x| Some(*x == Some(k))));
            let part = arrow_select::filter::filter_record_batch(batch, &mask)?;
            by_key.entry(k).or_default().push(part);
        }
    }
    let mut out = Vec::new();
    for (k, parts) in by_key {
        let schema = parts[0].schema();
        let mut buf = Vec::new();
        let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, schema, None)?;
        for p in &parts {
            w.write(p)?;
        }
        w.close()?;
        let name = file.path.with_extension(format!("window-{k}.parquet"));
        out.push((k, open_bytes(&name, bytes::Bytes::from(buf))?));
    }
    Ok(Split { parts: out, max_event, late, future })
}

/// What splitting a file by event time counted besides its parts.
struct Counts {
    max_event: Option<i64>,
    late: u64,
    future: u64,
}

/// One file's rows split by event-time window (`column`, window length in ms) and profiled
/// into parts, on the blocking pool under one of the daemon's CPU permits.
async fn time_parts(
    shared: &Shared,
    run: &MonitorRun,
    file: ParquetFile,
    (column, size_ms): (&str, i64),
    closed_until: Option<i64>,
    future_after: i64,
) -> Result<(Vec<Part>, Vec<ModelRow>, Counts)> {
    let (p, col) = (Profiling::of(run), column.to_owned());
    let _permit = shared.permits.acquire().await.map_err(|_| anyhow::anyhow!("shutting down"))?;
    let path = file.path.clone();
    let monitor = run.monitor.id.clone();
    // Guarded: an error or a reader panic here is this file's (isolate).
    tokio::task::spawn_blocking(move || -> Result<_> {
        crate::source::guarded(&path, || {
            fault::point(fault::PROFILE, &monitor);
            let schema = columns_of(&file)?;
            let Split { parts: split, max_event, late, future } =
                split_by_window(&file, (&col, size_ms), closed_until, future_after, p.columns.as_deref())?;
            let (mut parts, mut model) = (Vec::with_capacity(split.len()), Vec::new());
            for (k, f) in split {
                let (more, rows) = profile_parts(f, k, &p, &schema)?;
                parts.extend(more);
                model.extend(rows);
            }
            Ok((parts, model, Counts { max_event, late, future }))
        })
    })
    .await?
}

/// Tumbling event-time windows.
pub async fn time_windows(
    shared: &Arc<Shared>,
    run: &mut MonitorRun,
    Fetched { files, consumed }: Fetched,
    now: i64,
    mut outcome: CycleOutcome,
) -> Result<CycleOutcome> {
    let id = run.monitor.id.clone();
    let Window::Time { size, allowed_lateness, idle_timeout, max_future } = run.monitor.window else {
        bail!("monitor {id}: not an event-time window");
    };
    let column = run.monitor.timestamp_column.clone().context("time windows need a timestamp column")?;
    let size_ms = size.as_millis() as i64;
    let future_after = event_time::future_after(now, max_future.as_millis() as i64);
    for (file, c) in files.into_iter().zip(consumed) {
        let closed_until = shared.state()?.clock(&id)?.closed_until_ms;
        // A file that cannot be split or profiled counts against itself; the others go on.
        let shown = file.path.clone();
        let profiled = time_parts(shared, run, file, (&column, size_ms), closed_until, future_after).await;
        let (parts, model, Counts { max_event, late, future }) = match profiled {
            Ok(p) => p,
            Err(e) if super::cycle::replaced_since_listing(run, &shown, &e) => continue,
            Err(e) => {
                super::cycle::failed_read(shared, run, &c.path, &shown, &format!("{e:#}"), now, &mut outcome)?;
                continue;
            }
        };
        if late > 0 {
            tracing::warn!(monitor = %id, file = %c.path, late, "rows after their window closed (or without a timestamp): counted, not evaluated");
        }
        if future > 0 {
            tracing::warn!(monitor = %id, file = %c.path, future, max_future_secs = max_future.as_secs(), "rows with an event time more than max_future_secs ahead of the clock: counted as future, not evaluated, the watermark not moved (check the producer's clock or the timestamp unit)");
            let label = super::metrics::MonitorLabel { monitor: id.clone() };
            shared.metrics.future_rows.get_or_create(&label).inc_by(future);
            outcome.future_rows += future;
        }
        let c = Consumed { model, ..c };
        pause::point(pause::COMMIT).await;
        shared.state()?.add_parts(
            &id,
            &c,
            &parts,
            Some(ClockUpdate { max_event_ms: max_event, late_rows: late, future_rows: future }),
            now,
        )?;
        pause::point(pause::COMMITTED).await;
        count_consumed(shared, &id, c.rows);
        outcome.consumed += 1;
    }
    // Close every window the watermark has passed, or all of them after the idle timeout.
    let clock = shared.state()?.clock(&id)?;
    let watermark = clock.max_event_ms.map(|m| event_time::watermark(m, allowed_lateness.as_millis() as i64));
    let idle = clock.last_data_ms.is_some_and(|t| now - t >= idle_timeout.as_millis() as i64);
    let open = shared.state()?.open_windows(&id)?;
    for (key, _) in open {
        let (start, end) = event_time::span(key, size_ms);
        if idle || watermark.is_some_and(|w| w >= end) {
            outcome.windows.push(close(shared, run, key, Some((start, end)), now).await?);
        }
    }
    Ok(outcome)
}

/// Merges an open window's parts, evaluates them and stores the window, deleting its parts.
///
/// When a column's type changes between the window's files its parts cannot be merged: the
/// window then closes over the files before the change and the rest stay open for the next
/// close, so a type change never stalls the monitor and no file is dropped.
pub async fn close(
    shared: &Arc<Shared>,
    run: &MonitorRun,
    key: i64,
    span: Option<(i64, i64)>,
    now: i64,
) -> Result<(i64, Option<Report>)> {
    let id = run.monitor.id.clone();
    let mut parts = shared.state()?.parts(&id, key)?;
    // The rows of its files it will not evaluate (event time: late, future), for its report;
    // `close_window` forgets them in its transaction.
    let dropped = shared.state()?.dropped(&id, key)?;
    // Named by their file, so that a merge error says which file's rows did not fit.
    let mut profiles: Vec<(String, Snapshot)> =
        parts.iter().map(|p| Ok((p.file.clone(), Snapshot::from_bytes(&p.profile)?))).collect::<Result<_>>()?;
    let _permit = shared.permits.acquire().await.map_err(|_| anyhow::anyhow!("shutting down"))?;
    let min_rows = run.monitor.min_rows;
    let (report, rows, files) = tokio::task::block_in_place(|| -> Result<(Option<Report>, u64, u64)> {
        fault::point(fault::EVALUATE, &id);
        let whole = match Snapshot::merge(&profiles, String::new()) {
            Ok(whole) => whole,
            Err(e) => {
                let cut = mergeable_prefix(&parts, &profiles).ok_or(e)?;
                tracing::warn!(monitor = %id, window = key, file = %parts[cut].file, "column types change within the window; closing it before this file, which opens the next");
                parts.truncate(cut);
                profiles.truncate(cut);
                Snapshot::merge(&profiles, String::new())?
            }
        };
        let rows: u64 = parts.iter().map(|p| p.rows).sum();
        let files = {
            let mut names: Vec<&str> = parts.iter().map(|p| p.file.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            names.len() as u64
        };
        if rows < min_rows {
            return Ok((None, rows, files));
        }
        let states = merge_states(run, parts.iter().map(|p| (p.segment.as_str(), &p.checks)))?;
        let mut by_segment: std::collections::BTreeMap<String, Vec<(String, Snapshot)>> = Default::default();
        for (part, (file, snap)) in parts.iter().zip(std::mem::take(&mut profiles)) {
            if !part.segment.is_empty() {
                by_segment.entry(part.segment.clone()).or_default().push((file, snap));
            }
        }
        let mut segments: Vec<(String, u64, Box<dyn Table + Send>)> = Vec::new();
        for (label, snaps) in by_segment {
            let merged = Snapshot::merge(&snaps, String::new())?;
            segments.push((label, merged.meta.rows, Box::new(merged)));
        }
        let mut report = evaluate(run, &whole, segments, &states, span)?;
        report.current.files = files as usize;
        (report.current.rows_late, report.current.rows_future) = (dropped.late_rows, dropped.future_rows);
        Ok((Some(report), rows, files))
    })?;
    let last_seq = parts.last().map_or(0, |p| p.seq);
    let kind = if span.is_some() { "time" } else { "rows" };
    let closing = Closing { kind, key, last_seq, files, rows, span };
    pause::point(pause::COMMIT).await;
    let wid = shared.state()?.close_window(&run.routing, &closing, report.as_ref(), now)?;
    pause::point(pause::COMMITTED).await;
    shared.outbox.notify_one();
    record_window_metrics(shared, &id, report.as_ref());
    tracing::info!(monitor = %id, window = wid, kind, files, rows, "window closed");
    Ok((wid, report))
}

/// The longest run of whole files, from the window's first, whose parts merge (None when not
/// even the first file's do).
fn mergeable_prefix(parts: &[Part], profiles: &[(String, Snapshot)]) -> Option<usize> {
    let cuts = (1..parts.len()).filter(|&i| parts[i].file != parts[i - 1].file);
    cuts.rev().find(|&cut| Snapshot::merge(&profiles[..cut], String::new()).is_ok())
}
