//! Reference snapshots: the training distribution profiled once into one file that `drift
//! check` (and later the daemon) compares against in milliseconds. This is the one persisted
//! format drift owns; [`codec`] defines its bytes and version.
//!
//! Per column a snapshot keeps counts (rows, nulls, NaN, ±inf), min, max, mean and the sum of
//! squared deviations, the PSI edges and reference counts for the build's bins, and either
//! **exact** sorted values (as runs of distinct values; results are identical to checking
//! against the raw Parquet) or, above `exact_max_values`, a [`CdfSketch`] whose rank error is
//! at most `1/sketch_cells`. Categorical columns keep every category up to the cap, then an
//! explicit pooled count, by the same rule `check` applies. Snapshots of disjoint parts merge
//! into the snapshot of the union: identical in exact mode, within the bound in sketch mode.
//!
//! This file holds the types and the file round trip; building is in `build`, merging in
//! `merge`, reading a snapshot as a [`Table`](crate::source::Table) in `table`.

mod build;
mod categorical;
pub mod codec;
mod merge;
mod table;

pub use categorical::CategoricalProfile;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::engine::SortedColumn;
use crate::source::object;
use crate::source::{Class, DatasetColumn};
use crate::stats::sketch::{CdfSketch, DEFAULT_CELLS};

/// Settings a snapshot was built with; merging needs them equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildSettings {
    /// PSI bins the stored edges are for.
    pub bins: usize,
    /// Categories kept per column before pooling.
    pub max_categories: usize,
    /// Columns with at most this many values keep them all (exact mode).
    pub exact_max_values: u64,
    /// Cells of the sketch above that (rank error at most `1/sketch_cells`).
    pub sketch_cells: usize,
}

impl Default for BuildSettings {
    fn default() -> BuildSettings {
        BuildSettings {
            bins: crate::stats::binning::DEFAULT_BINS,
            max_categories: crate::stats::binning::DEFAULT_MAX_CATEGORIES,
            exact_max_values: 200_000,
            sketch_cells: DEFAULT_CELLS,
        }
    }
}

/// A file the snapshot was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    /// Path as given at build time.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Rows the file held when the snapshot was built.
    pub rows: u64,
}

/// A float that survives JSON: finite values as numbers, others as "inf", "-inf", "nan".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Num(pub f64);

impl Serialize for Num {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let x = self.0;
        if x.is_finite() {
            s.serialize_f64(x)
        } else if x.is_nan() {
            s.serialize_str("nan")
        } else if x > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Num, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(f64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(x) => Ok(Num(x)),
            Raw::S(s) => match s.as_str() {
                "inf" => Ok(Num(f64::INFINITY)),
                "-inf" => Ok(Num(f64::NEG_INFINITY)),
                "nan" => Ok(Num(f64::NAN)),
                _ => Err(serde::de::Error::custom(format!("not a number: {s:?}"))),
            },
        }
    }
}

/// How a numeric column's values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every value (sorted runs).
    Exact,
    /// A CDF sketch with a rank-error bound.
    Sketch,
}

/// What a snapshot knows of one numeric column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericProfile {
    /// Non-missing values (±inf included).
    pub count: u64,
    /// +inf values.
    pub pos_inf: u64,
    /// -inf values.
    pub neg_inf: u64,
    /// Smallest value.
    pub min: Num,
    /// Largest value.
    pub max: Num,
    /// Arithmetic mean of the column's non-missing values.
    pub mean: Num,
    /// Sum of squared deviations from the mean (population variance = m2 / count).
    pub m2: Num,
    /// Median (exact in exact mode and when built from all values; within the rank error of
    /// the sketch after a merge).
    pub median: Num,
    /// PSI edges for `settings.bins`.
    pub edges: Vec<Num>,
    /// Reference counts in those bins.
    pub edge_counts: Vec<u64>,
    /// Whether edges and counts were computed from all values.
    pub edges_exact: bool,
    /// Exact values or a sketch.
    pub mode: Mode,
    /// Rank error bound of the sketch as a fraction of `count` (0 in exact mode).
    pub rank_error: f64,
    /// Index of the blob holding the values or the sketch.
    pub blob: usize,
}

/// One column of a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnProfile {
    /// The column's name as the input spells it.
    pub name: String,
    /// Arrow type as text.
    #[serde(rename = "type")]
    pub data_type: String,
    /// numeric, categorical or empty (no value at all; takes the current data's kind).
    pub kind: String,
    /// Values plus missing ones.
    pub rows: u64,
    /// Null values.
    pub nulls: u64,
    /// NaN values (floats only; missing like nulls).
    pub nan: u64,
    /// Numeric details.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub numeric: Option<NumericProfile>,
    /// Categorical details.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub categorical: Option<CategoricalProfile>,
}

/// A column of the source schema and why it is not profiled, if it is not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaField {
    /// The column's name as the input spells it.
    pub name: String,
    /// Arrow type as text.
    #[serde(rename = "type")]
    pub data_type: String,
    /// Why the column has no profile (temporal, nested, excluded...).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub skipped: Option<String>,
}

/// The snapshot's metadata: everything but the value blobs. This is what `reference show
/// --format json` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// The file format version.
    pub format_version: u32,
    /// The drift version that built it.
    pub drift_version: String,
    /// When it was built (RFC 3339, UTC), or what `--created-at` pinned.
    pub created_at: String,
    /// Total rows.
    pub rows: u64,
    /// Source files.
    pub sources: Vec<SourceFile>,
    /// The source schema.
    pub schema: Vec<SchemaField>,
    /// Build settings.
    pub settings: BuildSettings,
    /// Column profiles.
    pub columns: Vec<ColumnProfile>,
}

/// Values of a numeric column: every value as sorted runs, or a sketch.
#[derive(Debug, Clone, PartialEq)]
pub enum Blob {
    /// (value, count) runs, ascending.
    Exact(Vec<(f64, u64)>),
    /// The sketch.
    Sketch(CdfSketch),
}

/// A loaded (or freshly built) snapshot.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Metadata.
    pub meta: Meta,
    /// Value blobs, indexed by `NumericProfile::blob`.
    pub blobs: Vec<Blob>,
    /// Column view for `check`.
    columns: Vec<DatasetColumn>,
    /// Exact columns expanded and sorted once, shared by every comparison (the daemon compares
    /// window after window against the same snapshot).
    sorted: Arc<Mutex<HashMap<usize, Arc<SortedColumn>>>>,
    /// Read from a file: the file's CRC-32 (none when built or merged in memory).
    crc: Option<u32>,
}

impl PartialEq for Snapshot {
    fn eq(&self, other: &Snapshot) -> bool {
        self.meta == other.meta && self.blobs == other.blobs
    }
}

/// Which columns to profile (the same flags as `check`).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only these (empty: all).
    pub columns: Vec<String>,
    /// Not these.
    pub exclude: Vec<String>,
    /// These as categories whatever their type.
    pub categorical: Vec<String>,
}

fn runs_of(sorted: &[f64]) -> Vec<(f64, u64)> {
    let mut runs: Vec<(f64, u64)> = Vec::new();
    for &x in sorted {
        match runs.last_mut() {
            Some((v, c)) if *v == x => *c += 1,
            _ => runs.push((x, 1)),
        }
    }
    runs
}

fn expand(runs: &[(f64, u64)]) -> Vec<f64> {
    let mut out = Vec::with_capacity(runs.iter().map(|r| r.1 as usize).sum());
    for &(v, c) in runs {
        out.extend(std::iter::repeat_n(v, c as usize));
    }
    out
}

impl Snapshot {
    fn from_parts(meta: Meta, blobs: Vec<Blob>) -> Result<Snapshot> {
        let mut columns = Vec::new();
        for c in &meta.columns {
            if let Some(n) = &c.numeric
                && n.blob >= blobs.len()
            {
                bail!("corrupted snapshot (column {:?} points at a missing value list)", c.name);
            }
            if !matches!(c.kind.as_str(), "numeric" | "categorical" | "empty") {
                bail!("corrupted snapshot (column {:?} has unknown kind {:?})", c.name, c.kind);
            }
        }
        // The column view `check` sees, in the source schema's order.
        for f in &meta.schema {
            let class = match (meta.columns.iter().find(|c| c.name == f.name), &f.skipped) {
                (Some(c), _) => match c.kind.as_str() {
                    "numeric" => Class::Numeric,
                    "categorical" => Class::Categorical,
                    _ => Class::Empty,
                },
                (None, Some(why)) => Class::Skipped(skip_reason(why)),
                (None, None) => bail!("corrupted snapshot (column {:?} has neither a profile nor a reason)", f.name),
            };
            columns.push(DatasetColumn { name: f.name.clone(), data_type: f.data_type.clone(), class });
        }
        Ok(Snapshot { meta, blobs, columns, sorted: Arc::default(), crc: None })
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let meta = serde_json::to_vec(&self.meta).expect("snapshot metadata serialises");
        let blobs: Vec<Vec<u8>> = self.blobs.iter().map(codec::encode_blob).collect();
        codec::encode(&meta, &blobs)
    }

    /// Parses a snapshot; errors say what is wrong (the caller names the file).
    pub fn from_bytes(bytes: &[u8]) -> Result<Snapshot> {
        let (meta, blobs) = codec::decode(bytes)?;
        let meta: Meta =
            serde_json::from_slice(&meta).map_err(|e| anyhow::anyhow!("corrupted snapshot metadata: {e}"))?;
        let blobs = blobs.iter().map(|b| codec::decode_blob(b)).collect::<Result<Vec<_>>>()?;
        let mut snapshot = Snapshot::from_parts(meta, blobs)?;
        // decode checked it: the last four bytes are the CRC-32 of the rest.
        snapshot.crc = bytes.last_chunk::<4>().map(|c| u32::from_le_bytes(*c));
        Ok(snapshot)
    }

    /// Read from a file: which one (its CRC-32, when and by what it was built).
    pub fn id(&self) -> Option<crate::engine::SnapshotId> {
        Some(crate::engine::SnapshotId {
            id: format!("{:08x}", self.crc?),
            created_at: self.meta.created_at.clone(),
            drift_version: self.meta.drift_version.clone(),
        })
    }

    /// Reads a snapshot file.
    pub fn read(path: &Path) -> Result<Snapshot> {
        if let Some(url) = path.to_str().and_then(object::parse) {
            let bytes = object::read_whole(&url?)?;
            return Snapshot::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{}: {e:#}", path.display()));
        }
        let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
        Snapshot::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{}: {e:#}", path.display()))
    }

    /// Writes the snapshot atomically (a temporary file renamed into place; an object URL in one
    /// put, which object stores publish whole).
    pub fn write(&self, path: &Path) -> Result<()> {
        if let Some(url) = path.to_str().and_then(object::parse) {
            return object::client::put(&url?, self.to_bytes());
        }
        let tmp: PathBuf = path.with_extension("tmp-drift");
        std::fs::write(&tmp, self.to_bytes()).with_context(|| format!("{}: cannot write", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display()))?;
        Ok(())
    }

    /// The profile of a column.
    pub fn profile(&self, name: &str) -> Option<&ColumnProfile> {
        self.meta.columns.iter().find(|c| c.name == name)
    }

    /// The `p`-quantile of a numeric column: exact in exact mode, within the rank error of the
    /// sketch otherwise.
    pub fn quantile(&self, column: &str, p: f64) -> Option<f64> {
        let n = self.profile(column)?.numeric.as_ref()?;
        Some(match &self.blobs[n.blob] {
            Blob::Exact(runs) => {
                let (lo, hi, g) = crate::stats::sample::quantile_ranks(n.count as usize, p);
                let at = |rank: usize| {
                    let mut seen = 0usize;
                    for &(v, c) in runs {
                        seen += c as usize;
                        if rank < seen {
                            return v;
                        }
                    }
                    f64::NAN
                };
                crate::stats::sample::lerp(at(lo), at(hi), g)
            }
            Blob::Sketch(s) => s.quantile(p),
        })
    }
}

/// Why a column of a window's profile has no values: the monitor compares it with nothing, so
/// its chunks were not fetched ([`Snapshot::with_schema`]).
pub const NOT_READ: &str = "not monitored, not read";

fn skip_reason(why: &str) -> &'static str {
    match why {
        "temporal column" => "temporal column",
        "nested type" => "nested type",
        "excluded" => "excluded when the snapshot was built",
        NOT_READ => NOT_READ,
        crate::source::PANDAS_INDEX => crate::source::PANDAS_INDEX,
        _ => "unsupported type",
    }
}
