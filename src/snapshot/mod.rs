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

mod categorical;
pub mod codec;

pub use categorical::CategoricalProfile;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::engine::{ColumnData, SketchedNumeric, SortedColumn, TableSummary, Values};
use crate::source::{Class, Dataset, DatasetColumn, Table};
use crate::stats::binning::edges_from;
use crate::stats::bucketed::ranked;
use crate::stats::sample::{lerp, quantile_ranks};
use crate::stats::sketch::{CdfSketch, DEFAULT_CELLS, Span};
use crate::stats::{CategoryCounts, Moments, Sample, SortedSample, bin_counts, quantile_edges};

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
    /// Rows.
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
    /// Mean.
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
    /// Name.
    pub name: String,
    /// Arrow type as text.
    #[serde(rename = "type")]
    pub data_type: String,
    /// numeric, categorical or empty (no value at all; takes the current data's kind).
    pub kind: String,
    /// Rows.
    pub rows: u64,
    /// Nulls.
    pub nulls: u64,
    /// NaN.
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
    /// Name.
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

/// The numeric profile and blob of a sample: sorted whole in exact mode; in sketch mode only
/// the buckets holding the anchors, edges and median are sorted (`stats::bucketed::ranked`).
fn profile_numeric(sample: &Sample, settings: &BuildSettings, blob: usize) -> (NumericProfile, Blob) {
    let n = sample.len();
    let infinities = |sign: f64| sample.values().iter().filter(|&&v| v == sign * f64::INFINITY).count() as u64;
    if n as u64 <= settings.exact_max_values {
        let sorted = sample.sorted();
        let v = sorted.values();
        let mean = sorted.mean();
        let m2: f64 = v.iter().map(|x| (x - mean) * (x - mean)).sum();
        let edges = quantile_edges(&sorted, settings.bins);
        let edge_counts = bin_counts(&sorted, &edges);
        let profile = NumericProfile {
            count: n as u64,
            pos_inf: infinities(1.0),
            neg_inf: infinities(-1.0),
            min: Num(sorted.min()),
            max: Num(sorted.max()),
            mean: Num(mean),
            m2: Num(m2),
            median: Num(sorted.median()),
            edges: edges.into_iter().map(Num).collect(),
            edge_counts,
            edges_exact: true,
            mode: Mode::Exact,
            rank_error: 0.0,
            blob,
        };
        return (profile, Blob::Exact(runs_of(v)));
    }
    let bins = settings.bins.max(1);
    let mut ranks = CdfSketch::anchor_ranks(n, settings.sketch_cells);
    let mut ranges = Vec::new();
    for k in (1..bins).map(|k| k as f64 / bins as f64).chain([0.5]) {
        let (lo, hi, _) = quantile_ranks(n, k);
        ranks.extend([lo, hi]);
        ranges.push((lo, hi));
    }
    let rk = ranked(sample, &ranks, &ranges);
    let edges = edges_from(|r| rk.value(r), n, bins);
    let mut edge_counts = Vec::with_capacity(edges.len() + 1);
    let mut prev = 0;
    for &e in &edges {
        let below = rk.count_below(e);
        edge_counts.push(below - prev);
        prev = below;
    }
    edge_counts.push(n as u64 - prev);
    let sketch = CdfSketch::from_order(
        n,
        settings.sketch_cells,
        |r| rk.value(r),
        |x| rk.count_below(x),
        |x| rk.count_at_or_below(x),
    );
    let (lo, hi, g) = quantile_ranks(n, 0.5);
    let profile = NumericProfile {
        count: n as u64,
        pos_inf: infinities(1.0),
        neg_inf: infinities(-1.0),
        min: Num(rk.value(0)),
        max: Num(rk.value(n - 1)),
        mean: Num(rk.mean()),
        m2: Num(rk.std() * rk.std() * n as f64),
        median: Num(lerp(rk.value(lo), rk.value(hi), g)),
        edges: edges.into_iter().map(Num).collect(),
        edge_counts,
        edges_exact: true,
        mode: Mode::Sketch,
        rank_error: sketch.max_uncertainty() as f64 / n as f64,
        blob,
    };
    (profile, Blob::Sketch(sketch))
}

impl Snapshot {
    /// Profiles `dataset` (`inputs` are recorded as given) on all cores.
    pub fn build(
        dataset: &Dataset,
        selection: &Selection,
        settings: BuildSettings,
        created_at: String,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Snapshot> {
        if settings.bins < 2 || settings.sketch_cells < 1 || settings.max_categories < 1 {
            bail!("invalid settings: bins >= 2, sketch cells >= 1 and max categories >= 1 are needed");
        }
        for name in selection.columns.iter().chain(&selection.exclude).chain(&selection.categorical) {
            if dataset.column(name).is_none() {
                bail!("column {name:?} named on the command line is not in the input");
            }
        }
        let wanted = |n: &str| {
            (selection.columns.is_empty() || selection.columns.iter().any(|c| c == n))
                && !selection.exclude.iter().any(|c| c == n)
        };
        let mut schema = Vec::new();
        let mut todo = Vec::new();
        for c in &dataset.columns {
            let forced = selection.categorical.iter().any(|x| x == &c.name);
            let skipped = match &c.class {
                _ if !wanted(&c.name) => Some("excluded".to_owned()),
                Class::Skipped(why) => Some((*why).to_owned()),
                _ => None,
            };
            if skipped.is_none() {
                todo.push((c.clone(), forced));
            }
            schema.push(SchemaField { name: c.name.clone(), data_type: c.data_type.clone(), skipped });
        }
        let results = crate::parallel::on_all_cores(
            &todo,
            0,
            || (),
            |_, (col, forced)| profile_column(dataset, col, *forced, &settings),
            progress,
        );
        let mut columns = Vec::new();
        let mut blobs = Vec::new();
        for r in results {
            let (mut profile, blob) = r?;
            if let (Some(n), Some(b)) = (profile.numeric.as_mut(), blob) {
                n.blob = blobs.len();
                blobs.push(b);
            }
            columns.push(profile);
        }
        let sources = dataset
            .files
            .iter()
            .map(|f| SourceFile {
                path: f.path.display().to_string(),
                size: std::fs::metadata(&f.path).map_or(0, |m| m.len()),
                rows: f.rows,
            })
            .collect();
        let meta = Meta {
            format_version: codec::FORMAT_VERSION,
            drift_version: env!("CARGO_PKG_VERSION").to_owned(),
            created_at,
            rows: dataset.rows,
            sources,
            schema,
            settings,
            columns,
        };
        Snapshot::from_parts(meta, blobs)
    }

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
        Ok(Snapshot { meta, blobs, columns, sorted: Arc::default() })
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let meta = serde_json::to_vec(&self.meta).expect("snapshot metadata serialises");
        let blobs: Vec<Vec<u8>> = self.blobs.iter().map(encode_blob).collect();
        codec::encode(&meta, &blobs)
    }

    /// Parses a snapshot; errors say what is wrong (the caller names the file).
    pub fn from_bytes(bytes: &[u8]) -> Result<Snapshot> {
        let (meta, blobs) = codec::decode(bytes)?;
        let meta: Meta =
            serde_json::from_slice(&meta).map_err(|e| anyhow::anyhow!("corrupted snapshot metadata: {e}"))?;
        let blobs = blobs.iter().map(|b| decode_blob(b)).collect::<Result<Vec<_>>>()?;
        Snapshot::from_parts(meta, blobs)
    }

    /// Reads a snapshot file.
    pub fn read(path: &Path) -> Result<Snapshot> {
        let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
        Snapshot::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{}: {e:#}", path.display()))
    }

    /// Writes the snapshot atomically (a temporary file renamed into place).
    pub fn write(&self, path: &Path) -> Result<()> {
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

    /// Snapshots of disjoint parts merged into the snapshot of the union.
    pub fn merge(parts: &[(String, Snapshot)], created_at: String) -> Result<Snapshot> {
        let Some(((first_name, first), rest)) = parts.split_first() else { bail!("nothing to merge") };
        let settings = first.meta.settings;
        let mut acc: Vec<(ColumnProfile, Option<Blob>)> = first
            .meta
            .columns
            .iter()
            .map(|c| (c.clone(), c.numeric.as_ref().map(|n| first.blobs[n.blob].clone())))
            .collect();
        let mut schema = first.meta.schema.clone();
        let mut sources = first.meta.sources.clone();
        let mut rows = first.meta.rows;
        for (name, s) in rest {
            if s.meta.settings != settings {
                bail!(
                    "{name}: built with other settings than {first_name} ({:?} vs {:?}): rebuild both alike",
                    s.meta.settings,
                    settings
                );
            }
            rows += s.meta.rows;
            sources.extend(s.meta.sources.iter().cloned());
            for f in &s.meta.schema {
                if !schema.iter().any(|g| g.name == f.name) {
                    schema.push(f.clone());
                }
            }
            for c in &s.meta.columns {
                let blob = c.numeric.as_ref().map(|n| s.blobs[n.blob].clone());
                match acc.iter_mut().find(|(a, _)| a.name == c.name) {
                    None => {
                        // Missing from earlier parts: their rows are missing values.
                        let mut c = c.clone();
                        let earlier = rows - s.meta.rows;
                        c.rows += earlier;
                        c.nulls += earlier;
                        acc.push((c, blob));
                    }
                    Some(a) => merge_column(a, (c, blob), &settings)
                        .map_err(|e| anyhow::anyhow!("{name}: column {:?}: {e}", c.name))?,
                }
            }
            for a in acc.iter_mut() {
                if !s.meta.columns.iter().any(|c| c.name == a.0.name) {
                    a.0.rows += s.meta.rows;
                    a.0.nulls += s.meta.rows;
                }
            }
        }
        let mut columns = Vec::new();
        let mut blobs = Vec::new();
        for (mut c, blob) in acc {
            if let (Some(n), Some(b)) = (c.numeric.as_mut(), blob) {
                n.blob = blobs.len();
                blobs.push(b);
            }
            columns.push(c);
        }
        let meta = Meta {
            format_version: codec::FORMAT_VERSION,
            drift_version: env!("CARGO_PKG_VERSION").to_owned(),
            created_at,
            rows,
            sources,
            schema,
            settings,
            columns,
        };
        Snapshot::from_parts(meta, blobs)
    }
}

fn skip_reason(why: &str) -> &'static str {
    match why {
        "temporal column" => "temporal column",
        "nested type" => "nested type",
        "excluded" => "excluded when the snapshot was built",
        crate::source::PANDAS_INDEX => crate::source::PANDAS_INDEX,
        _ => "unsupported type",
    }
}

fn profile_column(
    dataset: &Dataset,
    col: &DatasetColumn,
    forced: bool,
    settings: &BuildSettings,
) -> Result<(ColumnProfile, Option<Blob>)> {
    let data = dataset.read_column_into(&col.name, forced, Vec::new())?;
    let mut profile = ColumnProfile {
        name: col.name.clone(),
        data_type: col.data_type.clone(),
        kind: String::new(),
        rows: data.rows,
        nulls: data.nulls,
        nan: data.nan,
        numeric: None,
        categorical: None,
    };
    let mut blob = None;
    match (&col.class, data.values) {
        (Class::Empty, _) => profile.kind = "empty".into(),
        (_, Values::Categorical(counts)) => {
            profile.kind = "categorical".into();
            profile.categorical = Some(categorical::cap(&counts, settings.max_categories));
        }
        (_, Values::Numeric(sample)) => {
            profile.kind = "numeric".into();
            if let Some(sample) = sample {
                let (n, b) = profile_numeric(&sample, settings, 0);
                profile.numeric = Some(n);
                blob = Some(b);
            }
        }
        (_, Values::Sketched(_) | Values::Sorted(_)) => bail!("a Parquet column decodes to plain values"),
    }
    Ok((profile, blob))
}

/// Folds `other` into `acc` (same column, disjoint rows).
fn merge_column(
    acc: &mut (ColumnProfile, Option<Blob>),
    other: (&ColumnProfile, Option<Blob>),
    settings: &BuildSettings,
) -> Result<()> {
    let (a, ablob) = acc;
    let (b, bblob) = other;
    if a.kind == "empty" && b.kind != "empty" {
        let (rows, nulls) = (a.rows, a.nulls);
        *a = b.clone();
        a.rows += rows;
        a.nulls += nulls;
        *ablob = bblob;
        return Ok(());
    }
    a.rows += b.rows;
    a.nulls += b.nulls;
    a.nan += b.nan;
    if b.kind == "empty" {
        return Ok(());
    }
    if a.kind != b.kind {
        bail!("kinds differ ({} and {})", a.kind, b.kind);
    }
    if let (Some(ac), Some(bc)) = (&a.categorical, &b.categorical) {
        a.categorical = Some(categorical::merge(ac, bc, settings.max_categories));
        return Ok(());
    }
    match (a.numeric.take(), &b.numeric, ablob.take(), bblob) {
        (None, Some(bn), None, Some(bb)) => {
            a.numeric = Some(bn.clone());
            *ablob = Some(bb);
        }
        (Some(an), None, Some(ab), None) => {
            a.numeric = Some(an);
            *ablob = Some(ab);
        }
        (Some(an), Some(bn), Some(ab), Some(bb)) => {
            let (n, blob) = merge_numeric(&an, bn, ab, bb, settings);
            a.numeric = Some(n);
            *ablob = Some(blob);
        }
        _ => {}
    }
    Ok(())
}

fn merge_numeric(
    a: &NumericProfile,
    b: &NumericProfile,
    ab: Blob,
    bb: Blob,
    settings: &BuildSettings,
) -> (NumericProfile, Blob) {
    match (ab, bb) {
        (Blob::Exact(x), Blob::Exact(y)) if a.count + b.count <= settings.exact_max_values => {
            // Exact: rebuild from all values, so the result equals a build over the union.
            let mut v = expand(&x);
            v.extend(expand(&y));
            profile_numeric(&Sample::new(v).expect("profiles hold values"), settings, 0)
        }
        (ab, bb) => {
            let sketch = |blob: Blob| match blob {
                Blob::Sketch(s) => s,
                Blob::Exact(runs) => {
                    CdfSketch::from_sorted(&SortedSample::new(expand(&runs)).expect("values"), settings.sketch_cells)
                }
            };
            let merged = sketch(ab).merge(&sketch(bb));
            let n = a.count + b.count;
            let (na, nb) = (a.count as f64, b.count as f64);
            let delta = b.mean.0 - a.mean.0;
            let mean = a.mean.0 + delta * nb / (na + nb);
            let m2 = a.m2.0 + b.m2.0 + delta * delta * na * nb / (na + nb);
            let (edges, edge_counts) = merged.approximate_bins(settings.bins);
            let profile = NumericProfile {
                count: n,
                pos_inf: a.pos_inf + b.pos_inf,
                neg_inf: a.neg_inf + b.neg_inf,
                min: Num(a.min.0.min(b.min.0)),
                max: Num(a.max.0.max(b.max.0)),
                mean: Num(mean),
                m2: Num(m2),
                median: Num(merged.quantile(0.5)),
                edges: edges.into_iter().map(Num).collect(),
                edge_counts,
                edges_exact: false,
                mode: Mode::Sketch,
                rank_error: merged.max_uncertainty() as f64 / n as f64,
                blob: 0,
            };
            (profile, Blob::Sketch(merged))
        }
    }
}

fn encode_blob(b: &Blob) -> Vec<u8> {
    let mut out = Vec::new();
    let put_runs = |out: &mut Vec<u8>, runs: &[(f64, u64)]| {
        codec::put_varint(out, runs.len() as u64);
        let mut prev = 0u64;
        for &(v, c) in runs {
            let k = codec::key_of(v);
            codec::put_varint(out, k - prev);
            codec::put_varint(out, c);
            prev = k;
        }
    };
    match b {
        Blob::Exact(runs) => {
            out.push(0);
            put_runs(&mut out, runs);
        }
        Blob::Sketch(s) => {
            out.push(1);
            put_runs(&mut out, s.anchors());
            codec::put_varint(&mut out, s.spans().len() as u64);
            for sp in s.spans() {
                out.extend_from_slice(&sp.lo.to_bits().to_le_bytes());
                out.extend_from_slice(&sp.hi.to_bits().to_le_bytes());
                codec::put_varint(&mut out, sp.count);
            }
        }
    }
    out
}

fn decode_blob(bytes: &[u8]) -> Result<Blob> {
    let Some((&tag, rest)) = bytes.split_first() else { bail!("corrupted snapshot (empty value list)") };
    let mut r = codec::Varints::new(rest);
    let runs = |r: &mut codec::Varints| -> Result<Vec<(f64, u64)>> {
        let n = r.varint()?;
        let mut out = Vec::with_capacity(n.min(1 << 24) as usize);
        let mut k = 0u64;
        for _ in 0..n {
            k = k
                .checked_add(r.varint()?)
                .ok_or_else(|| anyhow::anyhow!("corrupted snapshot (values out of order)"))?;
            let v = codec::value_of(k);
            if v.is_nan() {
                bail!("corrupted snapshot (NaN in a value list)");
            }
            out.push((v, r.varint()?));
        }
        Ok(out)
    };
    let blob = match tag {
        0 => Blob::Exact(runs(&mut r)?),
        1 => {
            let anchors = runs(&mut r)?;
            let n = r.varint()?;
            let mut spans = Vec::with_capacity(n.min(1 << 24) as usize);
            for _ in 0..n {
                let lo = f64::from_bits(r.u64_le()?);
                let hi = f64::from_bits(r.u64_le()?);
                spans.push(Span { lo, hi, count: r.varint()? });
            }
            Blob::Sketch(
                CdfSketch::from_parts(anchors, spans).map_err(|e| anyhow::anyhow!("corrupted snapshot ({e})"))?,
            )
        }
        t => bail!("corrupted snapshot (unknown value list kind {t})"),
    };
    if !r.done() {
        bail!("corrupted snapshot (trailing bytes in a value list)");
    }
    Ok(blob)
}

impl Table for Snapshot {
    fn columns(&self) -> &[DatasetColumn] {
        &self.columns
    }

    fn summary(&self) -> TableSummary {
        TableSummary { rows: self.meta.rows, files: self.meta.sources.len() }
    }

    fn read_column_into(&self, name: &str, as_categorical: bool, _buffer: Vec<f64>) -> Result<ColumnData> {
        let p = self.profile(name).with_context(|| format!("the snapshot has no profile for column {name:?}"))?;
        let values = match (p.kind.as_str(), &p.numeric, &p.categorical) {
            ("empty", _, _) if as_categorical => Values::Categorical(CategoryCounts::new()),
            ("empty", _, _) => Values::Numeric(None),
            ("categorical", _, Some(c)) => Values::Categorical(c.counts()),
            ("numeric", _, _) if as_categorical => bail!(
                "column {name:?} was profiled as numeric: rebuild the snapshot with --categorical {name} to compare it as categories"
            ),
            ("numeric", None, _) => Values::Numeric(None),
            ("numeric", Some(n), _) => match &self.blobs[n.blob] {
                Blob::Exact(runs) => {
                    let mut cache = self.sorted.lock().unwrap_or_else(|e| e.into_inner());
                    let column = match cache.get(&n.blob) {
                        Some(c) => c.clone(),
                        None => {
                            // Runs are stored ascending: expanding them gives sorted values.
                            let sorted = SortedSample::new(expand(runs)).map_err(|e| anyhow::anyhow!("{e}"))?;
                            let c = Arc::new(SortedColumn::new(sorted));
                            cache.insert(n.blob, c.clone());
                            c
                        }
                    };
                    Values::Sorted(column)
                }
                Blob::Sketch(sk) => Values::Sketched(Box::new(SketchedNumeric {
                    sketch: sk.clone(),
                    edges: n.edges.iter().map(|e| e.0).collect(),
                    edge_counts: n.edge_counts.clone(),
                    bins: self.meta.settings.bins,
                    edges_exact: n.edges_exact,
                    moments: Moments {
                        mean: n.mean.0,
                        std: (n.m2.0 / n.count as f64).sqrt(),
                        min: n.min.0,
                        median: n.median.0,
                        max: n.max.0,
                    },
                })),
            },
            (kind, _, _) => bail!("corrupted snapshot (column {name:?} of kind {kind} lacks its profile)"),
        };
        Ok(ColumnData { data_type: p.data_type.clone(), rows: p.rows, nulls: p.nulls, nan: p.nan, values })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::Rng;

    #[test]
    fn sketch_mode_sorts_only_what_it_needs_and_matches_the_sorted_build() {
        let mut r = Rng::new(3);
        let v: Vec<f64> = (0..150_000)
            .map(|i| match i % 4 {
                0 => (r.normal() * 4.0).round(),
                1 => r.normal(),
                2 => (r.normal() * 2.0).exp(),
                _ => 0.0,
            })
            .collect();
        let sample = Sample::new(v).unwrap();
        let sorted = sample.sorted();
        let settings = BuildSettings { exact_max_values: 1000, sketch_cells: 512, ..BuildSettings::default() };
        let (p, blob) = profile_numeric(&sample, &settings, 0);
        assert_eq!(blob, Blob::Sketch(CdfSketch::from_sorted(&sorted, 512)));
        let edges = quantile_edges(&sorted, settings.bins);
        assert_eq!(
            p.edges.iter().map(|e| e.0.to_bits()).collect::<Vec<_>>(),
            edges.iter().map(|e| e.to_bits()).collect::<Vec<_>>()
        );
        assert_eq!(p.edge_counts, bin_counts(&sorted, &edges));
        assert_eq!((p.min.0, p.median.0, p.max.0), (sorted.min(), sorted.median(), sorted.max()));
        assert!((p.mean.0 - sorted.mean()).abs() < 1e-9 * sorted.std_population());
    }
}
