//! The calibration's contiguous windows: the reference's rows ordered by the monitor's
//! timestamp column, cut into contiguous time folds; windows of consecutive rows from one fold
//! compared with the other folds, in time order, so hour-of-day mixes and bursts that shuffled
//! windows average away show. Needs the reference as Parquet (a snapshot keeps no rows) and
//! reads its compared columns and timestamp whole, so it is skipped above [`MAX_ROWS`] rows (with a note).

use anyhow::{Result, bail};
use arrow_array::{RecordBatch, UInt32Array};

use crate::alerts::route::Routing;
use crate::calibrate::{self, Contiguous, Planned, Settings};
use crate::config::Monitor;
use crate::engine::ColumnData;
use crate::source::Dataset;
use crate::source::decode::Accumulator;

/// Larger Parquet references are not read whole for contiguous windows.
pub const MAX_ROWS: u64 = 2_000_000;

/// A row: (event time ms, batch, row in batch).
type Row = (i64, u32, u32);

/// The contiguous figures of the monitor's reference, or why there are none (`Err` is a note
/// for the output, not a failure of the calibration).
pub fn contiguous(m: &Monitor, routing: &Routing, settings: &Settings) -> Result<Option<Contiguous>> {
    let Some(ts) = &m.timestamp_column else { return Ok(None) };
    if crate::check::is_snapshot(std::path::Path::new(&m.reference)) {
        bail!("the reference is a snapshot, which keeps no rows to order by {ts:?}");
    }
    let dataset = Dataset::open("reference", std::slice::from_ref(&m.reference))?;
    if dataset.rows > MAX_ROWS {
        bail!("the reference has {} rows, more than the {MAX_ROWS} read whole for them", dataset.rows);
    }
    let options = super::calibration::options(m, 1);
    let planned = calibrate::plan(&dataset, &options);
    // Only the compared columns and the timestamp are read.
    let read: Vec<String> = planned.iter().map(|p| p.name.clone()).chain([ts.clone()]).collect();
    let mut batches = Vec::new();
    for f in &dataset.files {
        batches.extend(f.read_some(Some(&read))?);
    }
    let mut rows: Vec<Row> = Vec::with_capacity(dataset.rows as usize);
    for (b, batch) in batches.iter().enumerate() {
        let times = super::windows::event_ms(batch, ts)?;
        rows.extend(times.into_iter().enumerate().filter_map(|(i, t)| t.map(|t| (t, b as u32, i as u32))));
    }
    rows.sort_by_key(|r| r.0);
    let window = settings.window_rows as usize;
    let folds = calibrate::folds_for(rows.len() as u64, settings.window_rows)?;
    let fold_rows = rows.len() / folds;
    // Consecutive windows at the start of each fold, as many as the shuffled figure uses.
    let per_fold = (fold_rows / window).min(settings.windows.div_ceil(folds));
    let mut by_column = Vec::with_capacity(planned.len());
    for p in &planned {
        settings.check_stop()?;
        by_column.push(column_windows(p, &dataset, &batches, &rows, folds, per_fold, window, &m.policy)?);
    }
    let reference_rows = (rows.len() - fold_rows) as u64;
    Ok(Some(calibrate::contiguous_figure(by_column, reference_rows, ts, &m.policy, routing, settings)))
}

/// One column's results over every fold's windows, in time order.
#[allow(clippy::too_many_arguments)]
fn column_windows(
    p: &Planned,
    dataset: &Dataset,
    batches: &[RecordBatch],
    rows: &[Row],
    folds: usize,
    per_fold: usize,
    window: usize,
    policy: &crate::engine::Policy,
) -> Result<Vec<crate::engine::ColumnReport>> {
    let data_type = dataset.column(&p.name).map_or_else(String::new, |c| c.data_type.clone());
    let fold_rows = rows.len() / folds;
    let mut out = Vec::with_capacity(folds * per_fold);
    for k in 0..folds {
        let (start, end) = (k * fold_rows, (k + 1) * fold_rows);
        let others: Vec<Row> = rows[..start].iter().chain(&rows[end..]).copied().collect();
        let reference = gather(batches, &others, p, &data_type)?;
        for w in 0..per_fold {
            let at = start + w * window;
            let current = gather(batches, &rows[at..at + window], p, &data_type)?;
            out.push(crate::engine::compare_column(&p.name, &reference, &current, policy));
        }
    }
    Ok(out)
}

/// One column's values at these rows.
fn gather(batches: &[RecordBatch], rows: &[Row], p: &Planned, data_type: &str) -> Result<ColumnData> {
    let mut by_batch: Vec<Vec<u32>> = vec![Vec::new(); batches.len()];
    for &(_, b, i) in rows {
        by_batch[b as usize].push(i);
    }
    let mut acc = Accumulator::new(p.categorical, rows.len(), Vec::new());
    for (batch, idx) in batches.iter().zip(by_batch).filter(|(_, idx)| !idx.is_empty()) {
        match batch.column_by_name(&p.name) {
            Some(a) => acc.add(arrow_select::take::take(a.as_ref(), &UInt32Array::from(idx), None)?.as_ref())?,
            None => acc.add_missing_rows(idx.len() as u64),
        }
    }
    Ok(acc.finish(data_type.to_owned()))
}
