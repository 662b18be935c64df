//! Columns of a file as record batches: a few named ones (for checks that read their own
//! columns, such as a latency column with its event time, in the column's own Arrow type; for
//! splitting a file by event time or segment, the columns its monitor needs), or all of them.

use std::fs::File;

use anyhow::{Context, Result};
use arrow_array::RecordBatch;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::deadline::Section;
use super::{Body, ParquetFile, guarded};

impl ParquetFile {
    /// Whether the file has a top-level column `name`.
    pub fn has_column(&self, name: &str) -> bool {
        self.meta.schema().index_of(name).is_ok()
    }

    /// The named top-level columns the file has (those it lacks are left out: look them up by
    /// name in each batch), every row, in batches.
    pub fn read_columns(&self, names: &[&str]) -> Result<Vec<RecordBatch>> {
        let schema = self.meta.schema();
        let roots: Vec<usize> = names.iter().filter_map(|n| schema.index_of(n).ok()).collect();
        self.read_batches(ProjectionMask::roots(self.meta.parquet_schema(), roots))
    }

    /// Every row of the named columns the file has (`None`: of every column), in batches of
    /// the file's column order. When the file has none of them its first column is read, so
    /// the batches still carry the rows.
    pub fn read_some(&self, names: Option<&[String]>) -> Result<Vec<RecordBatch>> {
        let Some(names) = names else { return self.read_batches(ProjectionMask::all()) };
        let schema = self.meta.schema();
        let mut roots: Vec<usize> = names.iter().filter_map(|n| schema.index_of(n).ok()).collect();
        if roots.is_empty() && !schema.fields().is_empty() {
            roots.push(0);
        }
        self.read_batches(ProjectionMask::roots(self.meta.parquet_schema(), roots))
    }

    /// The columns in `mask`, every row, in batches; a reader's error or panic is this file's.
    pub(super) fn read_batches(&self, mask: ProjectionMask) -> Result<Vec<RecordBatch>> {
        fn read<R: parquet::file::reader::ChunkReader + 'static>(
            reader: R,
            f: &ParquetFile,
            mask: ProjectionMask,
        ) -> Result<Vec<RecordBatch>> {
            let section = Section::start(f.budget.as_ref());
            let batches = ParquetRecordBatchReaderBuilder::new_with_metadata(section.wrap(reader), f.meta.clone())
                .with_projection(mask)
                .with_batch_size(64 * 1024)
                .build()
                .with_context(|| format!("{}: cannot read", f.path.display()))?;
            let mut out = Vec::new();
            for b in batches {
                // A read cut short by the deadline fails as this file's timeout.
                section.check(&f.path)?;
                out.push(b.with_context(|| {
                    format!("{}: corrupt data; the file may be truncated or damaged", f.path.display())
                })?);
            }
            Ok(out)
        }
        guarded(&self.path, || match &self.body {
            Body::Path => read(
                File::open(&self.path).with_context(|| format!("{}: cannot open", self.path.display()))?,
                self,
                mask,
            ),
            Body::Bytes(b) => read(b.clone(), self, mask),
            Body::Object(o) => read(super::ranged::fetch(o, self.meta.metadata(), &mask)?, self, mask),
        })
    }
}
