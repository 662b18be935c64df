//! A quantile sketch with a **relative** error guarantee (DDSketch, Masson et al., VLDB 2019),
//! for latencies: long tails over many orders of magnitude, where an absolute or rank error
//! would say nothing about p99.9.
//!
//! A positive value `x` is counted in bucket `i = ceil(log_γ x)`, `γ = (1 + α) / (1 - α)`, that
//! is `(γ^(i-1), γ^i]`; values `<= 0` are counted in a zero bucket. A quantile walks the buckets
//! to the one holding the rank ([`super::quantile::rank`], NumPy's `inverted_cdf`) and returns
//! `2 γ^i / (γ + 1)`, within `α` (relative) of every value in that bucket, so of the true value
//! at that rank; clamped to the exact minimum and maximum, which only brings it closer. The
//! zero bucket answers 0 (clamped the same way).
//!
//! Buckets are never collapsed, so the guarantee holds at every rank; their number is bounded
//! by the range of the values (`ln(max / min) / ln γ`: about 700 buckets per factor of 10^6
//! at α = 1%). Counts are integers, so merging is exact, commutative and associative: the
//! sketch of a window is the same whatever the order or grouping of its parts.

use std::collections::BTreeMap;

use super::quantile::rank;

/// The relative error of latency sketches: every quantile within 1% of a true value of its rank.
pub const DEFAULT_ALPHA: f64 = 0.01;

/// A mergeable quantile sketch with relative error `alpha`.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantileSketch {
    alpha: f64,
    ln_gamma: f64,
    count: u64,
    zero: u64,
    min: f64,
    max: f64,
    bins: BTreeMap<i32, u64>,
}

/// Bytes of the encoding's header: version, alpha, count, zero, min, max, bucket count.
const HEADER: usize = 1 + 8 + 8 + 8 + 8 + 8 + 4;
const VERSION: u8 = 1;

impl QuantileSketch {
    /// An empty sketch; `alpha` in (0, 1).
    pub fn new(alpha: f64) -> QuantileSketch {
        assert!(alpha > 0.0 && alpha < 1.0, "alpha {alpha} outside (0, 1)");
        let gamma = (1.0 + alpha) / (1.0 - alpha);
        QuantileSketch {
            alpha,
            ln_gamma: gamma.ln(),
            count: 0,
            zero: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            bins: BTreeMap::new(),
        }
    }

    /// Values counted.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The relative error.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// The exact maximum (`None` when empty).
    pub fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
    }

    /// Counts one value; NaN is the caller's to drop (ignored here).
    pub fn add(&mut self, x: f64) {
        if x.is_nan() {
            return;
        }
        self.count += 1;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        if x <= 0.0 {
            self.zero += 1;
        } else {
            *self.bins.entry(self.index(x)).or_default() += 1;
        }
    }

    fn index(&self, x: f64) -> i32 {
        let i = (x.ln() / self.ln_gamma).ceil();
        i.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
    }

    /// Adds another sketch's counts; both must have the same `alpha`.
    pub fn merge(&mut self, other: &QuantileSketch) -> Result<(), String> {
        if self.alpha.to_bits() != other.alpha.to_bits() {
            return Err(format!("sketches of different accuracy ({} and {}) do not merge", self.alpha, other.alpha));
        }
        self.count += other.count;
        self.zero += other.zero;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        for (&i, &c) in &other.bins {
            *self.bins.entry(i).or_default() += c;
        }
        Ok(())
    }

    /// The `q`-quantile (`None` when empty): within `alpha` of the true value at NumPy's
    /// `inverted_cdf` rank.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let r = rank(self.count, q);
        let gamma = self.ln_gamma.exp();
        let estimate = if r < self.zero {
            0.0
        } else {
            let mut seen = self.zero;
            let mut at = self.max;
            for (&i, &c) in &self.bins {
                seen += c;
                if seen > r {
                    at = 2.0 * (f64::from(i) * self.ln_gamma).exp() / (gamma + 1.0);
                    break;
                }
            }
            at
        };
        Some(estimate.clamp(self.min, self.max))
    }

    /// The sketch as bytes (little-endian, versioned).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + self.bins.len() * 12);
        out.push(VERSION);
        for x in [self.alpha.to_bits(), self.count, self.zero, self.min.to_bits(), self.max.to_bits()] {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out.extend_from_slice(&(self.bins.len() as u32).to_le_bytes());
        for (&i, &c) in &self.bins {
            out.extend_from_slice(&i.to_le_bytes());
            out.extend_from_slice(&c.to_le_bytes());
        }
        out
    }

    /// Reads [`QuantileSketch::to_bytes`]; returns the sketch and the bytes after it.
    pub fn from_bytes(b: &[u8]) -> Result<(QuantileSketch, &[u8]), String> {
        let bad = || "damaged quantile sketch".to_owned();
        if b.len() < HEADER || b[0] != VERSION {
            return Err(bad());
        }
        let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"));
        let alpha = f64::from_bits(u64_at(1));
        if !(alpha > 0.0 && alpha < 1.0) {
            return Err(bad());
        }
        let mut s = QuantileSketch::new(alpha);
        (s.count, s.zero, s.min, s.max) =
            (u64_at(9), u64_at(17), f64::from_bits(u64_at(25)), f64::from_bits(u64_at(33)));
        let n = u32::from_le_bytes(b[41..45].try_into().expect("4 bytes")) as usize;
        let body = &b[HEADER..];
        if body.len() < n * 12 {
            return Err(bad());
        }
        for k in 0..n {
            let o = k * 12;
            let i = i32::from_le_bytes(body[o..o + 4].try_into().expect("4 bytes"));
            let c = u64::from_le_bytes(body[o + 4..o + 12].try_into().expect("8 bytes"));
            s.bins.insert(i, c);
        }
        if s.zero + s.bins.values().sum::<u64>() != s.count {
            return Err(bad());
        }
        Ok((s, &body[n * 12..]))
    }
}

#[cfg(test)]
mod tests {
    use super::super::quantile::inverted_cdf;
    use super::*;

    fn sketch(values: &[f64]) -> QuantileSketch {
        let mut s = QuantileSketch::new(DEFAULT_ALPHA);
        values.iter().for_each(|&x| s.add(x));
        s
    }

    #[test]
    fn every_quantile_is_within_alpha_of_the_value_at_its_rank() {
        let values: Vec<f64> = (1..=10_000).map(|i| (f64::from(i * 7919 % 10_007) / 1000.0).exp() - 0.5).collect();
        let s = sketch(&values);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        for q in [0.0, 0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            let (got, want) = (s.quantile(q).unwrap(), inverted_cdf(&sorted, q).unwrap());
            assert!((got - want).abs() <= DEFAULT_ALPHA * want * (1.0 + 1e-9), "q {q}: {got} vs {want}");
        }
        assert_eq!(s.quantile(1.0), Some(*sorted.last().unwrap()), "the maximum is exact");
    }

    #[test]
    fn values_at_or_below_zero_are_one_bucket_answering_zero() {
        let s = sketch(&[-3.0, 0.0, 0.0, 5.0]);
        assert_eq!((s.quantile(0.5), s.quantile(0.0)), (Some(0.0), Some(0.0)));
        assert!((s.quantile(1.0).unwrap() - 5.0).abs() < 1e-12);
        assert_eq!(sketch(&[]).quantile(0.5), None);
    }

    #[test]
    fn merging_is_the_sketch_of_all_values_and_the_bytes_round_trip() {
        let a: Vec<f64> = (1..500).map(|i| f64::from(i).powf(1.7)).collect();
        let b: Vec<f64> = (1..300).map(|i| 1e5 / f64::from(i)).collect();
        let mut ab = sketch(&a);
        ab.merge(&sketch(&b)).unwrap();
        let mut ba = sketch(&b);
        ba.merge(&sketch(&a)).unwrap();
        let all = sketch(&[a, b].concat());
        assert_eq!((&ab, &ba), (&all, &all));
        let bytes = all.to_bytes();
        let (back, rest) = QuantileSketch::from_bytes(&bytes).unwrap();
        assert_eq!((back, rest.len()), (all, 0));
        assert!(QuantileSketch::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        assert!(ab.merge(&QuantileSketch::new(0.02)).is_err());
    }
}
