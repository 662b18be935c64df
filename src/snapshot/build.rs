//! Building a snapshot: reading each selected column of a dataset on all cores and profiling
//! it (counts, moments, PSI edges, and every value or a sketch of them).

use anyhow::{Result, bail};

use super::{
    Blob, BuildSettings, ColumnProfile, Meta, Mode, Num, NumericProfile, SchemaField, Selection, Snapshot, SourceFile,
    categorical, codec, runs_of,
};
use crate::engine::Values;
use crate::source::{Class, Dataset, DatasetColumn};
use crate::stats::binning::edges_from;
use crate::stats::ranks::ranked;
use crate::stats::sample::{lerp, quantile_ranks};
use crate::stats::sketch::CdfSketch;
use crate::stats::{Sample, bin_counts, quantile_edges};

/// The numeric profile and blob of a sample: sorted whole in exact mode; in sketch mode only
/// the buckets holding the anchors, edges and median are sorted (`stats::bucketed::ranked`).
pub(super) fn profile_numeric(sample: &Sample, settings: &BuildSettings, blob: usize) -> (NumericProfile, Blob) {
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
            .map(|f| SourceFile { path: f.path.display().to_string(), size: f.byte_len(), rows: f.rows })
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
}

impl Snapshot {
    /// The snapshot with the schema of the file its rows came from (`columns`, in order), for a
    /// profile of some of the file's columns: a column without a profile keeps the reason the
    /// file gave it (temporal, nested, pandas index) or else [`super::NOT_READ`], so the
    /// comparison still sees the columns that were not read (new, missing, skipped).
    pub fn with_schema(mut self, columns: &[DatasetColumn]) -> Result<Snapshot> {
        let mut schema: Vec<SchemaField> = columns
            .iter()
            .map(|c| {
                let profiled = self.meta.columns.iter().any(|p| p.name == c.name);
                let skipped = match &c.class {
                    _ if profiled => None,
                    Class::Skipped(why) => Some((*why).to_owned()),
                    _ => Some(super::NOT_READ.to_owned()),
                };
                let built = self.meta.schema.iter().find(|f| f.name == c.name);
                let data_type = built.map_or_else(|| c.data_type.clone(), |f| f.data_type.clone());
                SchemaField { name: c.name.clone(), data_type, skipped }
            })
            .collect();
        for f in &self.meta.schema {
            if !schema.iter().any(|g| g.name == f.name) {
                schema.push(f.clone());
            }
        }
        self.meta.schema = schema;
        Snapshot::from_parts(self.meta, self.blobs)
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

    #[test]
    fn a_profile_of_some_columns_keeps_the_schema_of_its_file() {
        use std::sync::Arc;
        let a: arrow_array::ArrayRef = Arc::new(arrow_array::Float64Array::from(vec![1.0, 2.0, 3.0]));
        let t: arrow_array::ArrayRef = Arc::new(arrow_array::TimestampMillisecondArray::from(vec![1, 2, 3]));
        let batch = arrow_array::RecordBatch::try_from_iter([
            ("t", t),
            ("a", a.clone()),
            ("b", a.clone()),
            ("__index_level_0__", a.clone()),
            ("c", a),
        ])
        .unwrap();
        let mut buf = Vec::new();
        let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let file = crate::source::open_bytes(std::path::Path::new("part"), buf.into()).unwrap();
        let ds = Dataset::from_files("current", vec![file]).unwrap();
        let selection = Selection { exclude: vec!["b".into(), "c".into()], ..Selection::default() };
        let built = Snapshot::build(&ds, &selection, BuildSettings::default(), String::new(), &|_, _| {}).unwrap();
        let kept = built.with_schema(&ds.columns).unwrap();
        let classes: Vec<(&str, &Class)> = kept.columns.iter().map(|c| (c.name.as_str(), &c.class)).collect();
        assert_eq!(
            classes,
            [
                ("t", &Class::Skipped("temporal column")),
                ("a", &Class::Numeric),
                ("b", &Class::Skipped(super::super::NOT_READ)),
                ("__index_level_0__", &Class::Skipped(crate::source::PANDAS_INDEX)),
                ("c", &Class::Skipped(super::super::NOT_READ)),
            ]
        );
        // Read back as a window part is: the same view.
        let back = Snapshot::from_bytes(&kept.to_bytes()).unwrap();
        assert_eq!(back.columns, kept.columns);
    }
}
