//! Reading a side's prediction, score, label, id and label-time columns, row-aligned.

use anyhow::{Context, Result, bail};
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrowPrimitiveType};
use arrow_schema::DataType;

use crate::source::Dataset;

/// A column's values as text, for classes (None for null; a float as Rust prints it, so 1.0 is
/// "1"; a dictionary's values as its values').
pub fn texts(a: &dyn Array) -> Result<Vec<Option<String>>> {
    fn prim<T: ArrowPrimitiveType>(a: &dyn Array) -> Vec<Option<String>>
    where
        T::Native: std::fmt::Display,
    {
        a.as_primitive::<T>().iter().map(|v| v.map(|v| v.to_string())).collect()
    }
    Ok(match a.data_type() {
        DataType::Utf8 => a.as_string::<i32>().iter().map(|v| v.map(str::to_owned)).collect(),
        DataType::LargeUtf8 => a.as_string::<i64>().iter().map(|v| v.map(str::to_owned)).collect(),
        DataType::Utf8View => a.as_string_view().iter().map(|v| v.map(str::to_owned)).collect(),
        DataType::Boolean => a.as_boolean().iter().map(|v| v.map(|b| b.to_string())).collect(),
        DataType::Int8 => prim::<Int8Type>(a),
        DataType::Int16 => prim::<Int16Type>(a),
        DataType::Int32 => prim::<Int32Type>(a),
        DataType::Int64 => prim::<Int64Type>(a),
        DataType::UInt8 => prim::<UInt8Type>(a),
        DataType::UInt16 => prim::<UInt16Type>(a),
        DataType::UInt32 => prim::<UInt32Type>(a),
        DataType::UInt64 => prim::<UInt64Type>(a),
        DataType::Float32 | DataType::Float64 => numbers(a)?.into_iter().map(|v| v.map(|v| v.to_string())).collect(),
        DataType::Dictionary(_, _) => {
            let d = a.as_any_dictionary();
            let values = texts(d.values().as_ref())?;
            let keys = d.normalized_keys();
            (0..a.len()).map(|i| if a.is_null(i) { None } else { values.get(keys[i]).cloned().flatten() }).collect()
        }
        other => bail!("is {other}; a class column must be a string, boolean or number"),
    })
}

/// A numeric column's values as f64 (None for null or NaN).
pub fn numbers(a: &dyn Array) -> Result<Vec<Option<f64>>> {
    fn prim<T: ArrowPrimitiveType>(a: &dyn Array, f: impl Fn(T::Native) -> f64) -> Vec<Option<f64>> {
        a.as_primitive::<T>().iter().map(|v| v.map(&f).filter(|x| !x.is_nan())).collect()
    }
    Ok(match a.data_type() {
        DataType::Int8 => prim::<Int8Type>(a, f64::from),
        DataType::Int16 => prim::<Int16Type>(a, f64::from),
        DataType::Int32 => prim::<Int32Type>(a, f64::from),
        DataType::Int64 => prim::<Int64Type>(a, |v| v as f64),
        DataType::UInt8 => prim::<UInt8Type>(a, f64::from),
        DataType::UInt16 => prim::<UInt16Type>(a, f64::from),
        DataType::UInt32 => prim::<UInt32Type>(a, f64::from),
        DataType::UInt64 => prim::<UInt64Type>(a, |v| v as f64),
        DataType::Float32 => prim::<Float32Type>(a, f64::from),
        DataType::Float64 => prim::<Float64Type>(a, |v| v),
        other => bail!("is {other}; use a numeric column"),
    })
}

/// A time column's values in ms since the epoch (timestamps of any unit, dates, integers taken
/// as ms); None for null.
pub fn times(a: &dyn Array) -> Result<Vec<Option<i64>>> {
    use arrow_schema::TimeUnit;
    fn prim<T: ArrowPrimitiveType>(a: &dyn Array, f: impl Fn(T::Native) -> i64) -> Vec<Option<i64>> {
        a.as_primitive::<T>().iter().map(|v| v.map(&f)).collect()
    }
    Ok(match a.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => prim::<TimestampSecondType>(a, |v| v.saturating_mul(1000)),
        DataType::Timestamp(TimeUnit::Millisecond, _) => prim::<TimestampMillisecondType>(a, |v| v),
        DataType::Timestamp(TimeUnit::Microsecond, _) => prim::<TimestampMicrosecondType>(a, |v| v.div_euclid(1000)),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => prim::<TimestampNanosecondType>(a, |v| v.div_euclid(1_000_000)),
        DataType::Date32 => prim::<Date32Type>(a, |v| i64::from(v) * 86_400_000),
        DataType::Date64 => prim::<Date64Type>(a, |v| v),
        DataType::Int64 => prim::<Int64Type>(a, |v| v),
        other => bail!("is {other}; a label time must be a timestamp, a date or an integer (ms)"),
    })
}

/// Named columns of every file of `data`, row-aligned: each column's array per batch, or None
/// for a file without it. Every name must be a column of the data.
pub(super) fn read<T>(
    data: &Dataset,
    side: &str,
    names: &[&str],
    mut each: impl FnMut(&std::path::Path, usize, &dyn Fn(&str) -> Option<arrow_array::ArrayRef>) -> Result<T>,
) -> Result<Vec<T>> {
    for name in names {
        if data.column(name).is_none() {
            bail!("{side}: no column {name:?}");
        }
    }
    let mut out = Vec::new();
    for f in &data.files {
        for batch in f.read_columns(names)? {
            let col = |name: &str| batch.column_by_name(name).cloned();
            out.push(each(&f.path, batch.num_rows(), &col).with_context(|| f.path.display().to_string())?);
        }
    }
    Ok(out)
}
