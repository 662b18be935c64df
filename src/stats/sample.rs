//! `SortedSample`: a numeric sample that is sorted, NaN-free and non-empty by construction.
//!
//! Every numeric test takes its inputs as `SortedSample`s, so the preconditions (no NaN, no
//! empty input, -0.0 folded into 0.0, ascending order) are checked once, here, and the tests
//! themselves cannot fail. Sorting is the dominant cost of a large `drift check`; it is an LSD
//! radix sort over the IEEE-754 total-order key, which skips byte positions where every key
//! agrees (the sign and exponent bytes of most real columns).

use std::fmt;

/// Why a vector of values could not become a [`SortedSample`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SampleError {
    /// The sample held no values.
    Empty,
    /// The value at this index (before sorting) was NaN.
    NaN(usize),
}

impl fmt::Display for SampleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SampleError::Empty => write!(f, "the sample is empty"),
            SampleError::NaN(i) => write!(f, "value {i} is NaN; drop NaN before building a sample"),
        }
    }
}

impl std::error::Error for SampleError {}

/// A non-empty, ascending, NaN-free sample; -0.0 is stored as 0.0. Infinities are values.
#[derive(Debug, Clone, PartialEq)]
pub struct SortedSample {
    values: Vec<f64>,
}

/// Below this length the comparison sort beats the radix sort's fixed costs.
const RADIX_MIN_LEN: usize = 1 << 12;

impl SortedSample {
    /// Sorts `values` (in place, reusing the allocation) after checking they are non-empty and
    /// NaN-free.
    pub fn new(values: Vec<f64>) -> Result<SortedSample, SampleError> {
        if values.is_empty() {
            return Err(SampleError::Empty);
        }
        if let Some(i) = values.iter().position(|v| v.is_nan()) {
            return Err(SampleError::NaN(i));
        }
        let mut keys: Vec<u64> = values.into_iter().map(key_of).collect();
        radix_sort(&mut keys);
        let values: Vec<f64> = keys.into_iter().map(value_of).collect();
        Ok(SortedSample { values })
    }

    /// The values, ascending.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Number of values (never 0).
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// The sorted values, giving up the sample.
    pub fn into_values(self) -> Vec<f64> {
        self.values
    }

    /// Always false: a `SortedSample` is never empty. Present for API symmetry with slices.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Number of values strictly below `x`.
    pub fn count_below(&self, x: f64) -> usize {
        self.values.partition_point(|&v| v < x)
    }

    /// Number of values at or below `x`.
    pub fn count_at_or_below(&self, x: f64) -> usize {
        self.values.partition_point(|&v| v <= x)
    }

    /// The `p`-quantile with NumPy's default `linear` method (Hyndman-Fan type 7), computed
    /// to the last bit as NumPy does (see `tests/data/README.md`).
    pub fn quantile(&self, p: f64) -> f64 {
        let (lo, hi, g) = quantile_ranks(self.len(), p);
        lerp(self.values[lo], self.values[hi], g)
    }

    /// Arithmetic mean.
    pub fn mean(&self) -> f64 {
        self.values.iter().sum::<f64>() / self.len() as f64
    }

    /// Population standard deviation (ddof = 0), two-pass.
    pub fn std_population(&self) -> f64 {
        let mean = self.mean();
        let ss: f64 = self.values.iter().map(|v| (v - mean) * (v - mean)).sum();
        (ss / self.len() as f64).sqrt()
    }

    /// The median (type-7 quantile at 0.5).
    pub fn median(&self) -> f64 {
        self.quantile(0.5)
    }

    /// Smallest value.
    pub fn min(&self) -> f64 {
        self.values[0]
    }

    /// Largest value.
    pub fn max(&self) -> f64 {
        self.values[self.len() - 1]
    }
}

/// Type-7 quantile position in a sorted sample of `n` values: the two ranks and the
/// interpolation weight, with NumPy's arithmetic (`h = (n-1)*p`).
pub fn quantile_ranks(n: usize, p: f64) -> (usize, usize, f64) {
    let h = (n - 1) as f64 * p;
    let lo = h.floor();
    let g = h - lo;
    let lo = lo as usize;
    (lo, (lo + 1).min(n - 1), g)
}

/// NumPy's linear interpolation, to the last bit: from below when `g < 0.5`, from above
/// otherwise.
pub fn lerp(a: f64, b: f64, g: f64) -> f64 {
    if g < 0.5 { a + (b - a) * g } else { b - (b - a) * (1.0 - g) }
}

/// Maps a non-NaN f64 to a u64 whose unsigned order is the numeric order; -0.0 maps as 0.0.
fn key_of(v: f64) -> u64 {
    let bits = (v + 0.0).to_bits();
    if bits >> 63 == 1 { !bits } else { bits | (1 << 63) }
}

fn value_of(k: u64) -> f64 {
    let bits = if k >> 63 == 1 { k & !(1 << 63) } else { !k };
    f64::from_bits(bits)
}

/// LSD radix sort with 8-bit digits; digit positions where all keys agree are skipped.
fn radix_sort(keys: &mut Vec<u64>) {
    if keys.len() < RADIX_MIN_LEN {
        keys.sort_unstable();
        return;
    }
    let mut hist = vec![[0usize; 256]; 8];
    for &k in keys.iter() {
        for (d, h) in hist.iter_mut().enumerate() {
            h[((k >> (d * 8)) & 0xff) as usize] += 1;
        }
    }
    let n = keys.len();
    let mut scratch = vec![0u64; n];
    for (d, h) in hist.iter().enumerate() {
        if h.contains(&n) {
            continue; // every key has the same digit here
        }
        let mut offsets = [0usize; 256];
        let mut sum = 0;
        for (o, &c) in offsets.iter_mut().zip(h.iter()) {
            *o = sum;
            sum += c;
        }
        let shift = d * 8;
        for &k in keys.iter() {
            let b = ((k >> shift) & 0xff) as usize;
            scratch[offsets[b]] = k;
            offsets[b] += 1;
        }
        std::mem::swap(keys, &mut scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_empty_and_nan() {
        assert_eq!(SortedSample::new(vec![]), Err(SampleError::Empty));
        assert_eq!(SortedSample::new(vec![1.0, f64::NAN]), Err(SampleError::NaN(1)));
    }

    #[test]
    fn folds_negative_zero_and_keeps_infinities() {
        let s = SortedSample::new(vec![0.0, -0.0, f64::INFINITY, -1.0, f64::NEG_INFINITY]).unwrap();
        assert_eq!(s.values(), &[f64::NEG_INFINITY, -1.0, 0.0, 0.0, f64::INFINITY]);
        assert!(s.values()[2].is_sign_positive() && s.values()[3].is_sign_positive());
    }

    #[test]
    fn radix_sort_matches_comparison_sort() {
        let mut state = 0x9e3779b97f4a7c15u64;
        let mut v = Vec::new();
        for i in 0..50_000 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let x = match i % 5 {
                0 => (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5,
                1 => -((state >> 40) as f64),
                2 => f64::from_bits(state & !(0x7ff << 52)) * if i % 2 == 0 { 1.0 } else { -1.0 },
                3 => (i % 7) as f64,
                _ => -0.0,
            };
            v.push(x);
        }
        let mut expected: Vec<f64> = v.iter().map(|x| x + 0.0).collect();
        expected.sort_by(f64::total_cmp);
        let s = SortedSample::new(v).unwrap();
        assert_eq!(s.values().len(), expected.len());
        for (a, b) in s.values().iter().zip(&expected) {
            assert_eq!(a.to_bits(), b.to_bits());
        }
    }

    #[test]
    fn quantile_type7() {
        let s = SortedSample::new(vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(s.quantile(0.0), 1.0);
        assert_eq!(s.quantile(1.0), 4.0);
        assert_eq!(s.quantile(0.5), 2.5);
        assert!((s.quantile(0.1) - 1.3).abs() < 1e-15);
    }
}
