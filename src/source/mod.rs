//! The only module that touches storage: finds Parquet files, reads their footers, unifies
//! their schemas and decodes one column at a time into [`ColumnData`] for the engine.
//!
//! Files are read column by column (a projection per column), so peak memory is one or two
//! columns' values, never the whole table. String columns are read with a dictionary hint, so
//! dictionary-encoded pages (the writer default) are counted by key instead of materialising
//! every string. Every error is one line that names the file (and the column) and what to do.

mod deadline;
pub(crate) mod decode;
mod footer;
mod guard;
pub mod object;
mod paths;
mod project;
mod ranged;

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder};

pub use deadline::{ReadBudget, ReadTimeout};
pub use footer::{MAX_FOOTER_BYTES, MAX_RESERVED_VALUES};
pub use guard::{DENY_VARIABLE, FileError, file_of, guarded, test_denied};
pub use paths::expand_inputs;

use crate::engine::ColumnData;

/// How a column can be compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    /// Integers, floats, decimals.
    Numeric,
    /// Strings (plain, large, view, dictionary-encoded), binary read as UTF-8, and booleans.
    Categorical,
    /// Arrow's `Null` type: a column written with no value at all. It takes the kind of the
    /// same column elsewhere (another file, the other side) and counts as missing values.
    Empty,
    /// Not compared; the reason says why.
    Skipped(&'static str),
}

/// Classifies an Arrow type.
pub fn classify(t: &DataType) -> Class {
    use DataType::*;
    match t {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Float16 | Float32 | Float64
        | Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..) => Class::Numeric,
        Utf8 | LargeUtf8 | Utf8View | Binary | LargeBinary | BinaryView | Boolean => Class::Categorical,
        Dictionary(_, v) if matches!(**v, Utf8 | LargeUtf8 | Utf8View | Binary | LargeBinary) => Class::Categorical,
        Dictionary(_, v) if classify(v) == Class::Numeric => Class::Numeric,
        Timestamp(..) | Date32 | Date64 | Time32(_) | Time64(_) | Duration(_) | Interval(_) => {
            Class::Skipped("temporal column")
        }
        Null => Class::Empty,
        List(_) | LargeList(_) | ListView(_) | LargeListView(_) | FixedSizeList(..) | Struct(_) | Map(..)
        | Union(..) | RunEndEncoded(..) => Class::Skipped("nested type"),
        FixedSizeBinary(_) => Class::Skipped("fixed-size binary (e.g. UUIDs): pass a string column to compare it"),
        _ => Class::Skipped("unsupported type"),
    }
}

/// Something `drift check` reads one column at a time: Parquet files ([`Dataset`]) or a
/// reference snapshot (`crate::snapshot::Snapshot`).
pub trait Table: Sync {
    /// Top-level columns, in order.
    fn columns(&self) -> &[DatasetColumn];
    /// Rows and files, for the report.
    fn summary(&self) -> crate::engine::TableSummary;
    /// Decodes one column; `buffer`'s allocation may be reused for numeric values.
    fn read_column_into(&self, name: &str, as_categorical: bool, buffer: Vec<f64>) -> Result<ColumnData>;
    /// A snapshot file: which one (`None` for Parquet data and snapshots built in memory).
    fn snapshot_id(&self) -> Option<crate::engine::SnapshotId> {
        None
    }
    /// The column named `name`, if any.
    fn column(&self, name: &str) -> Option<&DatasetColumn> {
        self.columns().iter().find(|c| c.name == name)
    }
}

impl Table for Dataset {
    fn columns(&self) -> &[DatasetColumn] {
        &self.columns
    }
    fn summary(&self) -> crate::engine::TableSummary {
        crate::engine::TableSummary { rows: self.rows, files: self.files.len(), ..Default::default() }
    }
    fn read_column_into(&self, name: &str, as_categorical: bool, buffer: Vec<f64>) -> Result<ColumnData> {
        Dataset::read_column_into(self, name, as_categorical, buffer)
    }
}

/// One Parquet file whose footer has been read.
#[derive(Debug, Clone)]
pub struct ParquetFile {
    /// Path as given or found (for messages and provenance).
    pub path: PathBuf,
    /// Row count from the footer (checked against its row groups; the decoded rows are checked
    /// against it).
    pub rows: u64,
    /// The file's length in bytes.
    len: u64,
    meta: ArrowReaderMetadata,
    body: Body,
    /// The daemon's read deadline for this file ([`ParquetFile::with_read_timeout`]).
    budget: Option<Arc<ReadBudget>>,
}

/// Where a file's bytes are read from: the local file system, or bytes already fetched
/// (by the daemon).
#[derive(Debug, Clone)]
enum Body {
    Path,
    Bytes(bytes::Bytes),
    /// An object, read by ranges pinned to the version listed.
    Object(object::Listed),
}

/// A column of a dataset: its name, the type it was read as, and its class.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetColumn {
    /// The column's name as the files spell it.
    pub name: String,
    /// Arrow type of the first file holding it, as text.
    pub data_type: String,
    /// How it is compared.
    pub class: Class,
}

/// Several Parquet files read as one table.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The files, sorted by path.
    pub files: Vec<ParquetFile>,
    /// Total rows.
    pub rows: u64,
    /// Top-level columns in first-seen order.
    pub columns: Vec<DatasetColumn>,
}

impl Dataset {
    /// Expands `inputs` (files, directories searched recursively for `*.parquet`, globs) and
    /// reads every footer. `side` ("reference" or "current") goes into error messages.
    pub fn open(side: &str, inputs: &[String]) -> Result<Dataset> {
        let (remote, local): (Vec<&String>, Vec<&String>) = inputs.iter().partition(|i| object::is_object_url(i));
        let mut files = Vec::new();
        if !local.is_empty() || remote.is_empty() {
            let local: Vec<String> = local.into_iter().cloned().collect();
            for p in expand_inputs(&local).with_context(|| side.to_owned())? {
                files.push(open_file(&p)?);
            }
        }
        let mut objects = Vec::new();
        for text in remote {
            let url = object::parse(text).expect("an object URL").with_context(|| side.to_owned())?;
            objects.extend(object::expand(&url).with_context(|| side.to_owned())?);
        }
        objects.sort_by_key(|o| o.url.to_string());
        objects.dedup_by(|a, b| a.url == b.url);
        for o in &objects {
            files.push(open_object(o)?);
        }
        Dataset::from_files(side, files)
    }

    /// Several opened files as one table; fails on a column whose kind differs across them.
    pub fn from_files(side: &str, files: Vec<ParquetFile>) -> Result<Dataset> {
        let mut columns: Vec<DatasetColumn> = Vec::new();
        let mut seen: HashMap<String, (usize, PathBuf)> = HashMap::new();
        for f in &files {
            for field in f.meta.schema().fields() {
                let t = field.data_type().to_string();
                let class = if is_pandas_index(field.name()) {
                    Class::Skipped(PANDAS_INDEX)
                } else {
                    classify(field.data_type())
                };
                match seen.get(field.name()) {
                    None => {
                        seen.insert(field.name().clone(), (columns.len(), f.path.clone()));
                        columns.push(DatasetColumn { name: field.name().clone(), data_type: t, class });
                    }
                    Some((i, first)) => {
                        let c = &mut columns[*i];
                        if c.class == Class::Empty && class != Class::Empty {
                            (c.data_type, c.class) = (t, class);
                        } else if c.class != class && class != Class::Empty {
                            bail!(
                                "{side}: column {:?} has conflicting types across files: {} in {} but {} in {}; \
                                 rewrite the files with one type or pass only compatible files",
                                field.name(),
                                c.data_type,
                                first.display(),
                                t,
                                f.path.display()
                            );
                        }
                    }
                }
            }
        }
        let rows = files.iter().map(|f| f.rows).sum();
        Ok(Dataset { files, rows, columns })
    }

    /// The column named `name`, if any file has it.
    pub fn column(&self, name: &str) -> Option<&DatasetColumn> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Decodes one column over every file. Files without the column count their rows as nulls.
    /// `as_categorical` reads a numeric column as category labels.
    pub fn read_column(&self, name: &str, as_categorical: bool) -> Result<ColumnData> {
        self.read_column_into(name, as_categorical, Vec::new())
    }

    /// [`Dataset::read_column`], reusing `buffer`'s allocation for numeric values (a worker
    /// that reads column after column then touches fresh memory only once).
    pub fn read_column_into(&self, name: &str, as_categorical: bool, buffer: Vec<f64>) -> Result<ColumnData> {
        let col = self.column(name).with_context(|| format!("no column {name:?}"))?;
        let categorical = as_categorical || col.class == Class::Categorical;
        // The footers' row counts are untrusted: the reservation is capped by the bytes.
        let bytes = self.files.iter().map(|f| f.len).sum();
        let mut acc = decode::Accumulator::new(categorical, footer::reservation(self.rows, bytes), buffer);
        for f in &self.files {
            let Some(idx) = f.meta.schema().index_of(name).ok() else {
                acc.add_missing_rows(f.rows);
                continue;
            };
            guarded(&f.path, || match &f.body {
                Body::Path => {
                    let file = File::open(&f.path).with_context(|| {
                        format!("{}: cannot open: check the file exists and is readable", f.path.display())
                    })?;
                    decode_column(file, f, idx, name, &mut acc)
                }
                Body::Bytes(b) => decode_column(b.clone(), f, idx, name, &mut acc),
                Body::Object(o) => {
                    let mask = ProjectionMask::roots(f.meta.parquet_schema(), [idx]);
                    decode_column(ranged::fetch(o, f.meta.metadata(), &mask)?, f, idx, name, &mut acc)
                }
            })?;
        }
        Ok(acc.finish(col.data_type.clone()))
    }
}

/// Streams one column of one file into the accumulator.
fn decode_column<R: parquet::file::reader::ChunkReader + 'static>(
    reader: R,
    f: &ParquetFile,
    idx: usize,
    name: &str,
    acc: &mut decode::Accumulator,
) -> Result<()> {
    let mask = ProjectionMask::roots(f.meta.parquet_schema(), [idx]);
    let section = deadline::Section::start(f.budget.as_ref());
    let batches = ParquetRecordBatchReaderBuilder::new_with_metadata(section.wrap(reader), f.meta.clone())
        .with_projection(mask)
        .with_batch_size(64 * 1024)
        .build()
        .with_context(|| format!("{}: column {name:?}: cannot read", f.path.display()))?;
    let mut rows = 0u64;
    for batch in batches {
        // A read cut short by the deadline fails as this file's timeout, not as corrupt data.
        section.check(&f.path)?;
        let batch = batch.with_context(|| {
            format!("{}: column {name:?}: corrupt data; the file may be truncated or damaged", f.path.display())
        })?;
        rows += batch.num_rows() as u64;
        acc.add(batch.column(0).as_ref()).with_context(|| format!("{}: column {name:?}", f.path.display()))?;
    }
    if rows != f.rows {
        bail!(
            "{}: column {name:?}: the footer claims {} rows but the pages hold {rows}; the file is damaged",
            f.path.display(),
            f.rows
        );
    }
    Ok(())
}

/// Why pandas index columns are skipped; such a column is no feature, so it is not schema
/// drift either when only one side has it.
pub const PANDAS_INDEX: &str = "pandas index column";

/// pandas writes a non-default index as `__index_level_0__`, ...: not a feature.
fn is_pandas_index(name: &str) -> bool {
    name.strip_prefix("__index_level_")
        .and_then(|r| r.strip_suffix("__"))
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

/// Reads the footer of one file, after checking both magic numbers so that a file that is not
/// Parquet and one that is cut short (or still being written) get different messages.
pub fn open_file(path: &Path) -> Result<ParquetFile> {
    guarded(path, || open_file_unguarded(path))
}

fn open_file_unguarded(path: &Path) -> Result<ParquetFile> {
    let shown = path.display();
    let mut file = test_denied(path)
        .and_then(|_| File::open(path))
        .with_context(|| format!("{shown}: cannot open: check the path and permissions"))?;
    let len = file.metadata().with_context(|| format!("{shown}: cannot stat"))?.len();
    let mut head = [0u8; 4];
    if len < 12 || file.read_exact(&mut head).is_err() || &head != b"PAR1" {
        bail!("{shown}: not a Parquet file (no PAR1 header); pass only Parquet files or a directory of them");
    }
    let mut tail = [0u8; 8];
    file.seek(SeekFrom::End(-8))
        .and_then(|_| file.read_exact(&mut tail))
        .with_context(|| format!("{shown}: cannot read"))?;
    if &tail[4..] != b"PAR1" {
        bail!("{shown}: truncated Parquet file (no footer): it may still be being written, or was cut short");
    }
    footer::check_footer_len(&shown, tail, len)?;
    finish_open(path, &file, len, Body::Path)
}

/// The footer of a file whose magic numbers and footer length were checked: parsed, checked
/// against the file's length, and given the dictionary hint.
fn finish_open<R: parquet::file::reader::ChunkReader>(
    path: &Path,
    reader: &R,
    len: u64,
    body: Body,
) -> Result<ParquetFile> {
    let shown = path.display();
    let plain = ArrowReaderMetadata::load(reader, ArrowReaderOptions::new())
        .map_err(|e| anyhow::anyhow!("{shown}: unreadable Parquet footer: {e}"))?;
    footer::check_metadata(&shown, plain.metadata(), len)?;
    let meta = with_dictionary_hint(&plain).unwrap_or(plain);
    let rows = meta.metadata().file_metadata().num_rows().max(0) as u64;
    Ok(ParquetFile { path: path.to_owned(), rows, len, meta, body, budget: None })
}

impl ParquetFile {
    /// The file's length in bytes.
    pub fn byte_len(&self) -> u64 {
        self.len
    }

    /// The file with a read deadline: every later read of its bytes (this clone's and its
    /// clones') counts against `limit` in all, and fails with [`ReadTimeout`] past it.
    pub fn with_read_timeout(mut self, limit: std::time::Duration) -> ParquetFile {
        self.budget = Some(ReadBudget::new(limit));
        self
    }
}

/// Label of the pooled segments beyond the cap.
pub const OTHER_SEGMENT: &str = "__other__";

/// Splits the rows of `files` by the values of the `by` columns into one in-memory Parquet
/// file per label (`col=value,col2=value2`; a missing column or null reads `null`), largest
/// first. Beyond `max_labels` distinct labels the rest are pooled as [`OTHER_SEGMENT`].
/// `columns` are the columns read besides `by` (`None`: every column).
pub fn split_by_labels(
    files: &[ParquetFile],
    by: &[String],
    max_labels: usize,
    columns: Option<&[String]>,
) -> Result<Vec<(String, ParquetFile)>> {
    let mut groups: std::collections::BTreeMap<String, Vec<arrow_array::RecordBatch>> = Default::default();
    let mut schema: Option<arrow_schema::SchemaRef> = None;
    let wanted: Option<Vec<String>> = columns.map(|c| c.iter().chain(by).cloned().collect());
    for f in files {
        for batch in f.read_some(wanted.as_deref())? {
            // Files of one table may differ in columns: keep the first file's schema and skip
            // the others' extra columns (missing ones are nulls after reading).
            let sc = schema.get_or_insert_with(|| {
                let fields: Vec<Field> =
                    batch.schema().fields().iter().map(|f| f.as_ref().clone().with_nullable(true)).collect();
                Arc::new(Schema::new(fields))
            });
            let batch = conform(&batch, sc)?;
            let mut labels: Vec<String> = Vec::with_capacity(batch.num_rows());
            for row in 0..batch.num_rows() {
                let mut parts = Vec::with_capacity(by.len());
                for col in by {
                    let v = match batch.column_by_name(col) {
                        Some(a) => decode::label_at(a.as_ref(), row)?,
                        None => "null".to_owned(),
                    };
                    parts.push(format!("{col}={v}"));
                }
                labels.push(parts.join(","));
            }
            let mut distinct: Vec<&String> = labels.iter().collect();
            distinct.sort();
            distinct.dedup();
            for label in distinct {
                let mask = arrow_array::BooleanArray::from_iter(labels.iter().map(|l| Some(l == label)));
                let part = arrow_select::filter::filter_record_batch(&batch, &mask)?;
                groups.entry(label.clone()).or_default().push(part);
            }
        }
    }
    let mut sized: Vec<(String, usize, Vec<arrow_array::RecordBatch>)> =
        groups.into_iter().map(|(k, v)| (k, v.iter().map(|b| b.num_rows()).sum(), v)).collect();
    sized.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if sized.len() > max_labels {
        let rest: Vec<arrow_array::RecordBatch> = sized.drain(max_labels..).flat_map(|g| g.2).collect();
        let n = rest.iter().map(|b| b.num_rows()).sum();
        sized.push((OTHER_SEGMENT.to_owned(), n, rest));
    }
    let mut out = Vec::with_capacity(sized.len());
    for (label, _, batches) in sized {
        let Some(first) = batches.first() else { continue };
        let mut buf = Vec::new();
        let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, first.schema(), None)?;
        for b in &batches {
            w.write(b)?;
        }
        w.close()?;
        let name = PathBuf::from(format!("segment {label}"));
        out.push((label, open_bytes(&name, bytes::Bytes::from(buf))?));
    }
    Ok(out)
}

/// `batch` with the columns of `schema` (all nullable; missing ones null, extra ones dropped).
fn conform(batch: &arrow_array::RecordBatch, schema: &arrow_schema::SchemaRef) -> Result<arrow_array::RecordBatch> {
    if batch.schema() == *schema {
        return Ok(batch.clone());
    }
    let cols: Vec<arrow_array::ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| match batch.column_by_name(f.name()) {
            Some(c) if c.data_type() == f.data_type() => c.clone(),
            _ => arrow_array::new_null_array(f.data_type(), batch.num_rows()),
        })
        .collect();
    Ok(arrow_array::RecordBatch::try_new(schema.clone(), cols)?)
}

/// Reads the footer of a file already fetched into memory; `name` is shown in messages. The
/// same checks as [`open_file`]: not Parquet, truncated (no footer yet) and corrupt differ.
pub fn open_bytes(name: &Path, bytes: bytes::Bytes) -> Result<ParquetFile> {
    guarded(name, || open_bytes_unguarded(name, bytes))
}

fn open_bytes_unguarded(name: &Path, bytes: bytes::Bytes) -> Result<ParquetFile> {
    let shown = name.display();
    if bytes.len() < 12 || &bytes[..4] != b"PAR1" {
        bail!("{shown}: not a Parquet file (no PAR1 header)");
    }
    if &bytes[bytes.len() - 4..] != b"PAR1" {
        bail!("{shown}: truncated Parquet file (no footer): it may still be being written, or was cut short");
    }
    let len = bytes.len() as u64;
    let mut last8 = [0u8; 8];
    last8.copy_from_slice(&bytes[bytes.len() - 8..]);
    footer::check_footer_len(&shown, last8, len)?;
    finish_open(name, &bytes, len, Body::Bytes(bytes.clone()))
}

/// Reads one listed object's header and footer (by ranges pinned to its listed version; the
/// columns are fetched when read), with the same checks as [`open_file`].
pub fn open_object(object: &object::Listed) -> Result<ParquetFile> {
    let name = PathBuf::from(object.url.to_string());
    guarded(&name, || open_object_unguarded(&name, object))
}

fn open_object_unguarded(name: &Path, object: &object::Listed) -> Result<ParquetFile> {
    let shown = name.display();
    let len = object.size;
    if len < 12 {
        bail!("{shown}: not a Parquet file (no PAR1 header); pass only Parquet objects or a prefix of them");
    }
    let (head, last8, sparse) = ranged::head_and_footer(object)?;
    if &head[..] != b"PAR1" {
        bail!("{shown}: not a Parquet file (no PAR1 header); pass only Parquet objects or a prefix of them");
    }
    if &last8[4..] != b"PAR1" {
        bail!("{shown}: truncated Parquet file (no footer): it may still be being written, or was cut short");
    }
    footer::check_footer_len(&shown, last8, len)?;
    finish_open(name, &sparse, len, Body::Object(object.clone()))
}

/// Re-derives the reader metadata asking for string columns as dictionaries, so dictionary-
/// encoded pages are decoded as keys. `None` if the reader refuses the hint.
fn with_dictionary_hint(plain: &ArrowReaderMetadata) -> Option<ArrowReaderMetadata> {
    let schema = plain.schema();
    let mut changed = false;
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 => {
                changed = true;
                f.as_ref()
                    .clone()
                    .with_data_type(DataType::Dictionary(Box::new(DataType::Int32), Box::new(f.data_type().clone())))
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    if !changed {
        return None;
    }
    let hinted = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    ArrowReaderMetadata::try_new(plain.metadata().clone(), ArrowReaderOptions::new().with_schema(hinted)).ok()
}
