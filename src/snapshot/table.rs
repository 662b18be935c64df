//! A snapshot read as one side of a comparison: the [`Table`] that `check` and the daemon
//! compare current data against, with exact columns expanded and sorted once and shared.

use std::sync::Arc;

use anyhow::{Context, Result, bail};

use super::{Blob, Snapshot, expand};
use crate::engine::{ColumnData, SketchedNumeric, SortedColumn, TableSummary, Values};
use crate::source::{DatasetColumn, Table};
use crate::stats::{CategoryCounts, Moments, SortedSample};

impl Table for Snapshot {
    fn columns(&self) -> &[DatasetColumn] {
        &self.columns
    }

    fn summary(&self) -> TableSummary {
        TableSummary { rows: self.meta.rows, files: self.meta.sources.len(), ..Default::default() }
    }

    fn snapshot_id(&self) -> Option<crate::engine::SnapshotId> {
        self.id()
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
