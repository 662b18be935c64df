//! Reading a latency column (numeric in a configured unit, or an Arrow duration) and the
//! event times of its rows, in milliseconds.

use anyhow::{Result, bail};
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrowPrimitiveType, RecordBatch};
use arrow_schema::{DataType, TimeUnit};

use super::config::Unit;

/// A column's latencies in ms (None for null or NaN).
pub fn latencies(batch: &RecordBatch, column: &str, unit: Unit) -> Result<Vec<Option<f64>>> {
    let Some(a) = batch.column_by_name(column) else {
        return Ok(vec![None; batch.num_rows()]);
    };
    let f = unit.to_ms();
    fn num<T: ArrowPrimitiveType>(a: &dyn Array, f: impl Fn(T::Native) -> f64) -> Vec<Option<f64>> {
        a.as_primitive::<T>().iter().map(|v| v.map(&f).filter(|x| !x.is_nan())).collect()
    }
    Ok(match a.data_type() {
        DataType::Int8 => num::<Int8Type>(a, |v| f64::from(v) * f),
        DataType::Int16 => num::<Int16Type>(a, |v| f64::from(v) * f),
        DataType::Int32 => num::<Int32Type>(a, |v| f64::from(v) * f),
        DataType::Int64 => num::<Int64Type>(a, |v| v as f64 * f),
        DataType::UInt8 => num::<UInt8Type>(a, |v| f64::from(v) * f),
        DataType::UInt16 => num::<UInt16Type>(a, |v| f64::from(v) * f),
        DataType::UInt32 => num::<UInt32Type>(a, |v| f64::from(v) * f),
        DataType::UInt64 => num::<UInt64Type>(a, |v| v as f64 * f),
        DataType::Float32 => num::<Float32Type>(a, |v| f64::from(v) * f),
        DataType::Float64 => num::<Float64Type>(a, |v| v * f),
        DataType::Duration(TimeUnit::Second) => num::<DurationSecondType>(a, |v| v as f64 * 1e3),
        DataType::Duration(TimeUnit::Millisecond) => num::<DurationMillisecondType>(a, |v| v as f64),
        DataType::Duration(TimeUnit::Microsecond) => num::<DurationMicrosecondType>(a, |v| v as f64 * 1e-3),
        DataType::Duration(TimeUnit::Nanosecond) => num::<DurationNanosecondType>(a, |v| v as f64 * 1e-6),
        other => bail!("latency column {column:?} is {other}; use a numeric or duration column"),
    })
}

/// The earliest and latest event time (ms) of a batch's timestamp column, if it has one.
pub fn event_span(batch: &RecordBatch, column: &str) -> Result<Option<(i64, i64)>> {
    Ok(event_times(batch, column)?
        .into_iter()
        .flatten()
        .fold(None, |s, t| Some(s.map_or((t, t), |(lo, hi): (i64, i64)| (lo.min(t), hi.max(t))))))
}

/// Each row's event time (ms; None for a null, or every row when the batch lacks the column),
/// saturating at the `i64` limits.
pub fn event_times(batch: &RecordBatch, column: &str) -> Result<Vec<Option<i64>>> {
    let Some(a) = batch.column_by_name(column) else {
        return Ok(vec![None; batch.num_rows()]);
    };
    fn ms<T: ArrowPrimitiveType<Native = i64>>(a: &dyn Array, f: impl Fn(i64) -> i64) -> Vec<Option<i64>> {
        a.as_primitive::<T>().iter().map(|v| v.map(&f)).collect()
    }
    Ok(match a.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => ms::<TimestampSecondType>(a, |v| v.saturating_mul(1000)),
        DataType::Timestamp(TimeUnit::Millisecond, _) => ms::<TimestampMillisecondType>(a, |v| v),
        DataType::Timestamp(TimeUnit::Microsecond, _) => ms::<TimestampMicrosecondType>(a, |v| v.div_euclid(1000)),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => ms::<TimestampNanosecondType>(a, |v| v.div_euclid(1_000_000)),
        DataType::Date64 => ms::<Date64Type>(a, |v| v),
        DataType::Date32 => {
            a.as_primitive::<Date32Type>().iter().map(|d| d.map(|d| i64::from(d) * 86_400_000)).collect()
        }
        other => bail!("timestamp column {column:?} is {other}; use a timestamp or date column"),
    })
}
