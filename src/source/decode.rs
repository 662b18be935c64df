//! Arrow arrays into the engine's column representation: numeric values (nulls and NaN
//! counted and dropped, everything widened to f64) or category counts (dictionary arrays
//! counted by key, booleans as `true`/`false`, numbers as their decimal text when forced).

use anyhow::{Result, bail};
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrowPrimitiveType, PrimitiveArray};
use arrow_schema::DataType;

use crate::engine::{ColumnData, Values};
use crate::stats::CategoryCounts;
use crate::stats::bucketed::SampleBuilder;

/// Accumulates one column over many arrays.
pub struct Accumulator {
    rows: u64,
    nulls: u64,
    nan: u64,
    numeric: Option<SampleBuilder>,
    categories: CategoryCounts,
}

impl Accumulator {
    /// `capacity` pre-sizes the numeric buffer (the total row count is known from footers);
    /// `buffer` is an allocation to reuse (its contents are discarded).
    pub fn new(categorical: bool, capacity: usize, buffer: Vec<f64>) -> Accumulator {
        let numeric = (!categorical).then(|| SampleBuilder::with_buffer(buffer, capacity));
        Accumulator { rows: 0, nulls: 0, nan: 0, numeric, categories: CategoryCounts::new() }
    }

    /// Rows of a file that lacks the column: all missing.
    pub fn add_missing_rows(&mut self, rows: u64) {
        self.rows += rows;
        self.nulls += rows;
    }

    /// Adds one decoded array.
    pub fn add(&mut self, array: &dyn Array) -> Result<()> {
        self.rows += array.len() as u64;
        if array.data_type() == &DataType::Null {
            self.nulls += array.len() as u64;
            return Ok(());
        }
        match self.numeric.take() {
            Some(mut values) => {
                let r = self.add_numeric(array, &mut values);
                self.numeric = Some(values);
                r
            }
            None => self.add_categorical(array),
        }
    }

    fn add_numeric(&mut self, array: &dyn Array, out: &mut SampleBuilder) -> Result<()> {
        use DataType::*;
        macro_rules! prim {
            ($t:ty) => {
                self.push_primitive::<$t>(array.as_primitive::<$t>(), out, |v| v as f64)
            };
        }
        match array.data_type() {
            Float64 => self.push_primitive::<Float64Type>(array.as_primitive(), out, |v| v),
            Float32 => self.push_primitive::<Float32Type>(array.as_primitive(), out, f64::from),
            Float16 => self.push_primitive::<Float16Type>(array.as_primitive(), out, |v| v.to_f64()),
            Int8 => prim!(Int8Type),
            Int16 => prim!(Int16Type),
            Int32 => prim!(Int32Type),
            Int64 => prim!(Int64Type),
            UInt8 => prim!(UInt8Type),
            UInt16 => prim!(UInt16Type),
            UInt32 => prim!(UInt32Type),
            UInt64 => prim!(UInt64Type),
            Decimal32(_, s) => {
                let scale = 10f64.powi(i32::from(*s));
                self.push_primitive::<Decimal32Type>(array.as_primitive(), out, |v| v as f64 / scale)
            }
            Decimal64(_, s) => {
                let scale = 10f64.powi(i32::from(*s));
                self.push_primitive::<Decimal64Type>(array.as_primitive(), out, |v| v as f64 / scale)
            }
            Decimal128(_, s) => {
                let scale = 10f64.powi(i32::from(*s));
                self.push_primitive::<Decimal128Type>(array.as_primitive(), out, |v| v as f64 / scale)
            }
            Decimal256(_, s) => {
                let scale = 10f64.powi(i32::from(*s));
                self.push_primitive::<Decimal256Type>(array.as_primitive(), out, |v| {
                    v.to_i128().map_or_else(|| v.to_string().parse::<f64>().unwrap_or(f64::NAN), |x| x as f64) / scale
                })
            }
            Dictionary(_, _) => {
                let dict = array.as_any_dictionary();
                let mut inner = Accumulator::new(false, dict.values().len(), Vec::new());
                let mut values = SampleBuilder::default();
                inner.add_numeric(dict.values().as_ref(), &mut values)?;
                if inner.nulls > 0 || values.nan() > 0 {
                    bail!(
                        "dictionary-encoded numeric column with null or NaN dictionary values; \
                         pass --categorical for this column to compare it as categories"
                    );
                }
                let keys = dict.normalized_keys();
                let nulls = dict.logical_nulls();
                for (i, k) in keys.into_iter().enumerate() {
                    if nulls.as_ref().is_some_and(|n| n.is_null(i)) {
                        self.nulls += 1;
                    } else {
                        out.push(values.values()[k]);
                    }
                }
                Ok(())
            }
            other => bail!("cannot read type {other} as numeric"),
        }
    }

    fn push_primitive<T: ArrowPrimitiveType>(
        &mut self,
        a: &PrimitiveArray<T>,
        out: &mut SampleBuilder,
        f: impl Fn(T::Native) -> f64,
    ) -> Result<()> {
        let values = a.values();
        match a.nulls().filter(|n| n.null_count() > 0) {
            None => values.iter().for_each(|&v| out.push(f(v))),
            Some(n) => {
                self.nulls += n.null_count() as u64;
                for (i, &v) in values.iter().enumerate() {
                    if n.is_valid(i) {
                        out.push(f(v));
                    }
                }
            }
        }
        Ok(())
    }

    fn add_categorical(&mut self, array: &dyn Array) -> Result<()> {
        use DataType::*;
        match array.data_type() {
            Dictionary(_, _) => {
                let dict = array.as_any_dictionary();
                let values = dict.values();
                let mut counts = vec![0u64; values.len()];
                let nulls = dict.logical_nulls();
                for (i, k) in dict.normalized_keys().into_iter().enumerate() {
                    if nulls.as_ref().is_some_and(|n| n.is_null(i)) {
                        self.nulls += 1;
                    } else {
                        counts[k] += 1;
                    }
                }
                for (k, &c) in counts.iter().enumerate() {
                    if c > 0 {
                        let label = label_at(values.as_ref(), k)?;
                        self.categories.add(&label, c);
                    }
                }
                Ok(())
            }
            Boolean => {
                let a = array.as_boolean();
                let nulls = a.null_count() as u64;
                let trues = a.true_count() as u64;
                self.nulls += nulls;
                self.categories.add("true", trues);
                self.categories.add("false", a.len() as u64 - nulls - trues);
                Ok(())
            }
            _ => {
                for i in 0..array.len() {
                    if array.is_null(i) {
                        self.nulls += 1;
                        continue;
                    }
                    let label = label_at(array, i)?;
                    if label == "NaN" && matches!(array.data_type(), Float16 | Float32 | Float64) {
                        self.nan += 1;
                    } else {
                        self.categories.add(&label, 1);
                    }
                }
                Ok(())
            }
        }
    }

    /// The column as the engine wants it.
    pub fn finish(self, data_type: String) -> ColumnData {
        let (values, nan) = match self.numeric {
            Some(b) => {
                let (sample, nan) = b.finish();
                (Values::Numeric(sample), nan)
            }
            None => (Values::Categorical(self.categories), self.nan),
        };
        ColumnData { data_type, rows: self.rows, nulls: self.nulls, nan, values }
    }
}

/// The text label of element `i` of a string, boolean, numeric or dictionary array ("null"
/// for a null).
pub fn label_at(array: &dyn Array, i: usize) -> Result<String> {
    use DataType::*;
    if array.is_null(i) {
        return Ok("null".to_owned());
    }
    if let Some(dict) = array.as_any_dictionary_opt() {
        let key = dict.normalized_keys()[i];
        return label_at(dict.values().as_ref(), key);
    }
    macro_rules! num {
        ($t:ty) => {
            array.as_primitive::<$t>().value(i).to_string()
        };
    }
    Ok(match array.data_type() {
        Utf8 => array.as_string::<i32>().value(i).to_owned(),
        LargeUtf8 => array.as_string::<i64>().value(i).to_owned(),
        Utf8View => array.as_string_view().value(i).to_owned(),
        Binary => String::from_utf8_lossy(array.as_binary::<i32>().value(i)).into_owned(),
        LargeBinary => String::from_utf8_lossy(array.as_binary::<i64>().value(i)).into_owned(),
        BinaryView => String::from_utf8_lossy(array.as_binary_view().value(i)).into_owned(),
        Boolean => array.as_boolean().value(i).to_string(),
        Int8 => num!(Int8Type),
        Int16 => num!(Int16Type),
        Int32 => num!(Int32Type),
        Int64 => num!(Int64Type),
        UInt8 => num!(UInt8Type),
        UInt16 => num!(UInt16Type),
        UInt32 => num!(UInt32Type),
        UInt64 => num!(UInt64Type),
        Float16 => num!(Float16Type),
        Float32 => num!(Float32Type),
        Float64 => num!(Float64Type),
        other => bail!("cannot read type {other} as categorical"),
    })
}
