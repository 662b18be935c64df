//! Thresholds learned from the model's reference: NannyML's rule.
//!
//! The metric is computed on consecutive chunks of the reference, each the size of a window
//! (an incomplete last chunk dropped, as a window that small would not be compared either); a
//! window's value outside mean ± 3 standard deviations of the chunks' values (population
//! standard deviation, NumPy's `np.std`) is a breach. Few chunks make a poor band: below
//! [`FEW_CHUNKS`] the band says so.

use std::ops::Range;

use super::Value;

/// Below this many chunks with a value, a learned band comes with a warning.
pub const FEW_CHUNKS: usize = 6;

/// The standard deviations either side of the mean.
pub const SIGMAS: f64 = 3.0;

/// A band learned from reference chunks.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Band {
    /// The mean of the chunks' values.
    pub mean: f64,
    /// Their population standard deviation.
    pub std: f64,
    /// mean - 3 std.
    pub lower: f64,
    /// mean + 3 std.
    pub upper: f64,
    /// The chunks with a value.
    pub chunks: usize,
    /// The chunks where the metric was undefined (left out of the band).
    pub undefined_chunks: usize,
}

impl Band {
    /// Whether fewer than [`FEW_CHUNKS`] chunks made the band.
    pub fn few_chunks(&self) -> bool {
        self.chunks < FEW_CHUNKS
    }

    /// Whether `value` lies outside the band.
    pub fn outside(&self, value: f64) -> bool {
        value < self.lower || value > self.upper
    }
}

/// The row ranges of consecutive chunks of `rows` rows over `n` rows, the incomplete last one
/// dropped (none when `rows` is 0).
pub fn chunk_ranges(n: usize, rows: usize) -> impl Iterator<Item = Range<usize>> {
    let count = n.checked_div(rows).unwrap_or(0);
    (0..count).map(move |k| k * rows..(k + 1) * rows)
}

/// The metric on each chunk of `rows` rows over `n` rows: `metric(range)` per chunk.
pub fn chunk_values(n: usize, rows: usize, metric: impl Fn(Range<usize>) -> Value) -> Vec<Value> {
    chunk_ranges(n, rows).map(metric).collect()
}

/// The band over the chunks' values, or `None` when no chunk has a value.
pub fn learned_band(values: &[Value]) -> Option<Band> {
    let defined: Vec<f64> = values.iter().filter_map(|v| v.get()).collect();
    if defined.is_empty() {
        return None;
    }
    let n = defined.len() as f64;
    let mean = defined.iter().sum::<f64>() / n;
    let std = (defined.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    Some(Band {
        mean,
        std,
        lower: mean - SIGMAS * std,
        upper: mean + SIGMAS * std,
        chunks: defined.len(),
        undefined_chunks: values.len() - defined.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_incomplete_chunk_is_dropped_and_undefined_chunks_counted() {
        assert_eq!(chunk_ranges(10, 4).collect::<Vec<_>>(), vec![0..4, 4..8]);
        assert_eq!(chunk_ranges(10, 0).count(), 0);
        let band = learned_band(&[Value::Defined(1.0), Value::Undefined("x"), Value::Defined(3.0)]).unwrap();
        assert_eq!((band.mean, band.std, band.chunks, band.undefined_chunks), (2.0, 1.0, 2, 1));
        assert!(band.few_chunks() && band.outside(5.1) && !band.outside(-1.0));
        assert_eq!(learned_band(&[Value::Undefined("x")]), None);
    }
}
