//! Merging snapshots of disjoint parts into the snapshot of the union: identical to a build
//! over the union in exact mode, within the sketch's rank-error bound in sketch mode.

use anyhow::{Result, bail};

use super::build::profile_numeric;
use super::{
    Blob, BuildSettings, ColumnProfile, Meta, Mode, Num, NumericProfile, Snapshot, categorical, codec, expand,
};
use crate::stats::sketch::CdfSketch;
use crate::stats::{Sample, SortedSample};

impl Snapshot {
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
