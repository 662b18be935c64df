//! `drift check` as a library call: opens both datasets, decides which columns to compare,
//! decodes and compares them on all cores (one column per worker at a time, so memory stays at
//! a few columns), and judges the evaluation. The CLI prints the [`Report`]; tests call this.

use std::collections::HashSet;

use anyhow::{Result, bail};

use crate::engine::{self, Policy, Report, SchemaReport, Skipped, TypeChange};
use crate::source::{Class, PANDAS_INDEX, Table};

/// What to compare and how.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Compare only these columns (empty: all).
    pub columns: Vec<String>,
    /// Leave these columns out.
    pub exclude: Vec<String>,
    /// Compare these columns as categories whatever their type.
    pub categorical: Vec<String>,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Columns left out of segment-level comparisons (the segmenting columns themselves).
    pub segment_exclude: Vec<String>,
}

/// One column of one comparison: (segment, reference, current, column).
type Work<'a> = (Option<&'a str>, &'a dyn Table, &'a dyn Table, &'a Planned);

/// A column to compare, decided before any data is decoded.
#[derive(Debug, Clone)]
struct Planned {
    name: String,
    categorical: bool,
}

/// Runs the whole check. `progress` is called after each column with (done, total).
pub fn run_check(
    reference: &dyn Table,
    current: &dyn Table,
    options: &CheckOptions,
    policy: &Policy,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Report> {
    run_check_segments(reference, current, &[], options, policy, progress)
}

/// [`run_check`] over the whole data and some of its segments (label, reference rows of the
/// segment, current rows of the segment). Every test of the whole and of each segment is one
/// family for the multiple-testing correction; segment results carry their label.
pub fn run_check_segments(
    reference: &dyn Table,
    current: &dyn Table,
    segments: &[(String, &dyn Table, &dyn Table)],
    options: &CheckOptions,
    policy: &Policy,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Report> {
    if let Err(errors) = policy.validate() {
        bail!("invalid thresholds: {}", errors.join("; "));
    }
    let (whole, schema, skipped) = plan(reference, current, options)?;
    // (segment, reference, current, column) for the whole data, then every segment.
    let mut work: Vec<Work> = whole.iter().map(|p| (None, reference, current, p)).collect();
    // The names were checked against the whole data: a segment's tables may hold only the
    // columns compared.
    let segment_plans: Vec<Vec<Planned>> = segments.iter().map(|(_, r, c)| plan_columns(*r, *c, options).0).collect();
    for ((label, r, c), plans) in segments.iter().zip(&segment_plans) {
        // Only the columns compared for the whole data.
        let wanted =
            |p: &&Planned| whole.iter().any(|q| q.name == p.name) && !options.segment_exclude.contains(&p.name);
        for p in plans.iter().filter(wanted) {
            work.push((Some(label.as_str()), *r, *c, p));
        }
    }
    let results = crate::parallel::on_all_cores(
        &work,
        options.threads,
        // Numeric buffers reused from column to column.
        || (Vec::new(), Vec::new()),
        |buffers, (segment, reference, current, p)| {
            let _span = tracing::debug_span!("column", name = %p.name).entered();
            let (rbuf, cbuf) = std::mem::take(buffers);
            reference.read_column_into(&p.name, p.categorical, rbuf).and_then(|r| {
                let c = current.read_column_into(&p.name, p.categorical, cbuf)?;
                let mut report = engine::compare_column(&p.name, &r, &c, policy);
                report.segment = segment.map(str::to_owned);
                *buffers = (r.into_buffer(), c.into_buffer());
                Ok(report)
            })
        },
        progress,
    );
    let mut columns = Vec::with_capacity(work.len());
    let mut errors = Vec::new();
    let mut damaged = None;
    for r in results {
        match r {
            Ok(c) => columns.push(c),
            Err(e) => {
                let replaced = crate::source::object::errors::is_replaced(&e);
                damaged = damaged.or_else(|| crate::source::file_of(&e).map(|p| (p.to_owned(), replaced)));
                errors.push(format!("{e:#}"));
            }
        }
    }
    if !errors.is_empty() {
        let text = errors.join("\n");
        // Still the error of the first damaged file, so that the daemon sets it aside.
        return Err(match damaged {
            Some((path, replaced)) => crate::source::FileError::new(&path, text).replaced(replaced).into(),
            None => anyhow::anyhow!(text),
        });
    }
    let mut report = engine::judge(columns, schema, skipped, reference.summary(), current.summary(), policy);
    report.reference_snapshot = reference.snapshot_id();
    Ok(report)
}

/// Decides which columns are compared, which are schema differences and which are skipped,
/// after checking that every column named is on one side at least.
fn plan(
    reference: &dyn Table,
    current: &dyn Table,
    options: &CheckOptions,
) -> Result<(Vec<Planned>, SchemaReport, Vec<Skipped>)> {
    let mut unknown: Vec<&str> = options
        .columns
        .iter()
        .chain(&options.exclude)
        .chain(&options.categorical)
        .map(String::as_str)
        .filter(|n| reference.column(n).is_none() && current.column(n).is_none())
        .collect();
    unknown.dedup();
    if !unknown.is_empty() {
        bail!(
            "column(s) {} named on the command line are in neither the reference nor the current data",
            unknown.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")
        );
    }
    Ok(plan_columns(reference, current, options))
}

/// [`plan`] without checking the names.
fn plan_columns(
    reference: &dyn Table,
    current: &dyn Table,
    options: &CheckOptions,
) -> (Vec<Planned>, SchemaReport, Vec<Skipped>) {
    let only: HashSet<&str> = options.columns.iter().map(String::as_str).collect();
    let exclude: HashSet<&str> = options.exclude.iter().map(String::as_str).collect();
    let forced: HashSet<&str> = options.categorical.iter().map(String::as_str).collect();
    let wanted = |n: &str| (only.is_empty() || only.contains(n)) && !exclude.contains(n);

    let mut planned = Vec::new();
    let mut schema = SchemaReport::default();
    let mut skipped = Vec::new();
    let is_index = |c: &&crate::source::DatasetColumn| c.class == Class::Skipped(PANDAS_INDEX);
    for c in reference.columns().iter().chain(current.columns().iter().filter(|c| reference.column(&c.name).is_none()))
    {
        if wanted(&c.name) && is_index(&c) {
            skipped.push(Skipped {
                column: c.name.clone(),
                data_type: c.data_type.clone(),
                reason: PANDAS_INDEX.into(),
            });
        }
    }
    for rc in reference.columns().iter().filter(|c| wanted(&c.name) && !is_index(c)) {
        let Some(cc) = current.column(&rc.name) else {
            schema.only_in_reference.push(rc.name.clone());
            continue;
        };
        let force = forced.contains(rc.name.as_str());
        let class = |c: &Class| {
            if force && *c == Class::Numeric { Class::Categorical } else { c.clone() }
        };
        let skip =
            |why: &str| Skipped { column: rc.name.clone(), data_type: rc.data_type.clone(), reason: why.to_owned() };
        match (class(&rc.class), class(&cc.class)) {
            (Class::Skipped(why), _) | (_, Class::Skipped(why)) => skipped.push(skip(why)),
            (Class::Empty, Class::Empty) => skipped.push(skip("no values on either side")),
            // A side with no values at all takes the other side's kind: all its rows are missing.
            (Class::Empty, k) | (k, Class::Empty) => {
                planned.push(Planned { name: rc.name.clone(), categorical: k == Class::Categorical })
            }
            (a, b) if a != b => schema.type_changed.push(TypeChange {
                column: rc.name.clone(),
                reference: rc.data_type.clone(),
                current: cc.data_type.clone(),
            }),
            (a, _) => planned.push(Planned { name: rc.name.clone(), categorical: force || a == Class::Categorical }),
        }
    }
    for cc in current.columns().iter().filter(|c| wanted(&c.name) && !is_index(c)) {
        if reference.column(&cc.name).is_none() {
            schema.only_in_current.push(cc.name.clone());
        }
    }
    (planned, schema, skipped)
}

/// Whether `path` is a file that starts like a reference snapshot.
pub fn is_snapshot(path: &std::path::Path) -> bool {
    if let Some(url) = path.to_str().and_then(crate::source::object::parse) {
        // An object URL is a snapshot when its exact key is an object that starts like one.
        let head = url.ok().and_then(|u| crate::source::object::client::get_head_bytes(&u, 8).ok().flatten());
        return head.is_some_and(|h| crate::snapshot::codec::looks_like_snapshot(&h));
    }
    crate::snapshot::codec::is_snapshot_file(path)
}

/// One side of a comparison (`side` is "reference" or "current", for messages): one snapshot,
/// or Parquet data (files, directories, globs).
pub fn open_side(side: &str, paths: &[String]) -> Result<Box<dyn Table + Send>> {
    let snapshots = paths.iter().filter(|p| is_snapshot(std::path::Path::new(p))).count();
    match (snapshots, paths.len()) {
        (0, _) => Ok(Box::new(crate::source::Dataset::open(side, paths)?)),
        (1, 1) => Ok(Box::new(crate::snapshot::Snapshot::read(std::path::Path::new(&paths[0]))?)),
        _ => bail!("--{side} takes one snapshot alone, or Parquet data; merge snapshots with `drift reference merge`"),
    }
}
