//! The false-alarm calibration: how often a monitor would say "drift" on data that has not
//! changed, and how many pages that makes a month, measured on its own reference.
//!
//! Each compared column of the reference is split into [`FOLDS`] random folds ([`pool`]);
//! windows of the monitor's size are drawn from one fold and compared with the other folds
//! (rotating), never with a reference that contains them, under the monitor's policy. Each
//! simulated window is judged like a real one (one correction family, the floors), and the
//! sequence of verdicts runs through the real alert lifecycle and routing at the monitor's
//! cadence ([`verdicts`]). The figures are a **lower bound** on real false alarms: the windows
//! are shuffled rows, which hides any within-day structure real windows have. Columns are
//! drawn independently of each other (a snapshot keeps no rows to link them).
//!
//! Deterministic: the generator is seeded from the reference's content fingerprint, the monitor
//! id and the column's name, so the same reference and settings give the same numbers whatever
//! the thread count.

pub mod pool;
pub mod verdicts;

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use crate::alerts::route::Routing;
use crate::check::CheckOptions;
use crate::engine::{ColumnData, ColumnReport, Policy, Report, Values};
use crate::source::{Class, PANDAS_INDEX, Table};
use crate::synth::Rng;
use pool::{Origin, Pool};

/// Folds the reference is split into; fewer (at least 2) when it holds fewer windows, so that
/// a fold still holds a whole window.
pub const FOLDS: usize = 5;

/// Simulated windows by default (40 per fold).
pub const WINDOWS: usize = 200;

/// Above this many false pages per 30 days a calibration warns.
pub const PAGE_BUDGET: f64 = 1.0;

/// What to simulate: the window's size and cadence (each with where it came from, for the
/// output), how many windows, the seed's monitor part and the threads.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The monitor's id (part of the seed; "" for `drift check`).
    pub monitor: String,
    /// Rows per simulated window.
    pub window_rows: u64,
    /// Where `window_rows` came from.
    pub window_rows_from: String,
    /// One window every this many milliseconds.
    pub cadence_ms: i64,
    /// Where the cadence came from.
    pub cadence_from: String,
    /// Windows to simulate.
    pub windows: usize,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Set from outside to stop a calibration between windows (the daemon shutting down).
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl Settings {
    /// An error once `stop` is set.
    pub fn check_stop(&self) -> Result<()> {
        if self.stop.as_ref().is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed)) {
            bail!("stopped");
        }
        Ok(())
    }
}

/// One column's false-drift figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnCalibration {
    /// Column name.
    pub column: String,
    /// Simulated windows in which it drifted.
    pub drifted_windows: usize,
    /// `drifted_windows / windows`.
    pub false_drift_rate: f64,
    /// 95% Wilson interval of the rate.
    pub ci: [f64; 2],
    /// Windows in which each test drifted, by test name (only tests that did).
    pub tests: BTreeMap<String, usize>,
}

/// A monitor's (or a reference's) false-alarm figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// How windows were made: `shuffled` (rows drawn at random from a held-out fold).
    pub method: String,
    /// Simulated windows.
    pub windows: usize,
    /// Folds of the reference.
    pub folds: usize,
    /// Rows per simulated window.
    pub window_rows: u64,
    /// Where the window size came from.
    pub window_rows_from: String,
    /// Seconds between windows, for pages per 30 days.
    pub cadence_secs: f64,
    /// Where the cadence came from.
    pub cadence_from: String,
    /// Windows in which any column drifted.
    pub drifted_windows: usize,
    /// `drifted_windows / windows`: the per-window false-drift rate.
    pub false_drift_rate: f64,
    /// 95% Wilson interval of that rate.
    pub ci: [f64; 2],
    /// Firing notifications over the simulated windows (the monitor's lifecycle and routing).
    pub pages: usize,
    /// `pages` scaled to 30 days at the cadence.
    pub pages_per_30d: f64,
    /// Always true: shuffled windows hide within-day structure, so real windows page at
    /// least this often.
    pub lower_bound: bool,
    /// The reference's content fingerprint (16 hex digits).
    pub reference_checksum: String,
    /// The generator's seed (16 hex digits).
    pub seed: String,
    /// Per compared column, noisiest first.
    pub columns: Vec<ColumnCalibration>,
    /// How the reference's values were obtained where not every value was known.
    pub notes: Vec<String>,
    /// Above [`PAGE_BUDGET`]: the settings that would bring the pages down, with their figure.
    pub advice: Vec<String>,
    /// Where the monitor has a timestamp column and its reference is Parquet: the same figures
    /// over contiguous windows in time order, which keep the within-day structure shuffled
    /// windows hide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contiguous: Option<Contiguous>,
}

/// The figures over contiguous windows of the reference in time order: consecutive rows by
/// the timestamp column, from contiguous time folds, each window compared with the other folds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contiguous {
    /// The timestamp column the rows were ordered by.
    pub timestamp_column: String,
    /// Windows compared (consecutive in each fold).
    pub windows: usize,
    /// Windows in which any column drifted.
    pub drifted_windows: usize,
    /// `drifted_windows / windows`.
    pub false_drift_rate: f64,
    /// 95% Wilson interval of that rate.
    pub ci: [f64; 2],
    /// Firing notifications over the windows in time order.
    pub pages: usize,
    /// `pages` scaled to 30 days at the cadence.
    pub pages_per_30d: f64,
    /// Per column, noisiest first.
    pub columns: Vec<ColumnCalibration>,
}

/// The contiguous figures from each column's results over the windows in time order.
pub fn contiguous_figure(
    by_column: Vec<Vec<ColumnReport>>,
    reference_rows: u64,
    timestamp_column: &str,
    policy: &Policy,
    routing: &Routing,
    settings: &Settings,
) -> Contiguous {
    let reports = verdicts::judge_windows(by_column, reference_rows, policy);
    let n = reports.len();
    let drifted = reports.iter().filter(|r| r.drift).count();
    let pages = verdicts::pages(&reports, routing, settings.cadence_ms);
    Contiguous {
        timestamp_column: timestamp_column.to_owned(),
        windows: n,
        drifted_windows: drifted,
        false_drift_rate: drifted as f64 / n.max(1) as f64,
        ci: verdicts::wilson(drifted, n),
        pages,
        pages_per_30d: verdicts::per_month(pages, n, settings.cadence_ms),
        columns: column_figures(&reports),
    }
}

/// Per column: drifted windows, rate and interval, noisiest first.
fn column_figures(reports: &[Report]) -> Vec<ColumnCalibration> {
    let n = reports.len();
    let mut columns: Vec<ColumnCalibration> = verdicts::tally(reports)
        .into_iter()
        .map(|(column, t)| ColumnCalibration {
            column,
            drifted_windows: t.drifted,
            false_drift_rate: t.drifted as f64 / n.max(1) as f64,
            ci: verdicts::wilson(t.drifted, n),
            tests: t.by_test,
        })
        .collect();
    columns.sort_by_key(|c| std::cmp::Reverse(c.drifted_windows));
    columns
}

/// A 64-bit mix (SplitMix64's finalizer).
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a of a string, then mixed into `h`.
fn mix_str(h: u64, s: &str) -> u64 {
    let f = s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |a, b| (a ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3));
    mix(h ^ f)
}

/// A column's content fingerprint, independent of the order values were read in.
fn column_fingerprint(name: &str, c: &ColumnData) -> u64 {
    let mut h = mix_str(0, name);
    for n in [c.rows, c.missing()] {
        h = mix(h ^ n);
    }
    let sum = |it: &mut dyn Iterator<Item = u64>| it.fold(0u64, |a, x| a.wrapping_add(mix(x)));
    let values =
        match &c.values {
            Values::Numeric(None) => 0,
            Values::Numeric(Some(s)) => sum(&mut s.clone().into_values().into_iter().map(f64::to_bits)),
            Values::Sorted(s) => sum(&mut s.sample.values().iter().map(|v| v.to_bits())),
            Values::Sketched(s) => sum(&mut s.sketch.anchors().iter().map(|(v, n)| mix(v.to_bits()) ^ *n).chain(
                s.sketch.spans().iter().map(|x| mix(x.lo.to_bits() ^ x.hi.to_bits().rotate_left(17)) ^ x.count),
            )),
            Values::Categorical(k) => {
                let tail = k.tail();
                sum(&mut k.iter().map(|(l, n)| mix_str(n, l)).chain([tail.count, tail.distinct, tail.singletons]))
            }
        };
    mix(h ^ values)
}

/// A column the calibration compares, and whether as categories.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The column's name.
    pub name: String,
    /// Compared as categories.
    pub categorical: bool,
}

/// The reference's columns as `drift check` would compare them against same-shaped data.
pub fn plan(reference: &dyn Table, options: &CheckOptions) -> Vec<Planned> {
    let wanted = |n: &str| {
        (options.columns.is_empty() || options.columns.iter().any(|c| c == n))
            && !options.exclude.iter().any(|c| c == n)
    };
    reference
        .columns()
        .iter()
        .filter(|c| wanted(&c.name) && c.class != Class::Skipped(PANDAS_INDEX))
        .filter_map(|c| {
            let forced = options.categorical.contains(&c.name);
            match c.class {
                Class::Numeric => Some(Planned { name: c.name.clone(), categorical: forced }),
                Class::Categorical => Some(Planned { name: c.name.clone(), categorical: true }),
                Class::Empty | Class::Skipped(_) => None,
            }
        })
        .collect()
}

/// The reference's content fingerprint over the columns the calibration compares (each read
/// once): the seed's and the daemon cache's key.
pub fn fingerprint(reference: &dyn Table, options: &CheckOptions, threads: usize) -> Result<u64> {
    let planned = plan(reference, options);
    let hashes = crate::parallel::on_all_cores(
        &planned,
        threads,
        || (),
        |_, p| reference.read_column_into(&p.name, p.categorical, Vec::new()).map(|c| column_fingerprint(&p.name, &c)),
        &|_, _| {},
    );
    let mut h = mix(planned.len() as u64);
    for x in hashes {
        h = mix(h ^ x?);
    }
    Ok(h)
}

/// How many folds a reference of `rows` rows gives windows of `window` rows: [`FOLDS`], or as
/// many as hold a whole window each (at least 2).
pub fn folds_for(rows: u64, window: u64) -> Result<usize> {
    let fit = rows / window.max(1);
    if fit < 2 {
        bail!(
            "the reference has {rows} rows: windows of {window} rows need at least {} (2 folds of {window} rows, so a window never overlaps the reference it is compared with); calibrate with a larger reference or smaller windows",
            2 * window
        );
    }
    Ok((fit as usize).min(FOLDS))
}

/// One column's simulated windows: `windows` results, window `i` drawn from fold `i % folds`.
fn simulate_column(
    p: &Planned,
    reference: &dyn Table,
    policy: &Policy,
    settings: &Settings,
    seed: u64,
) -> Result<(Vec<ColumnReport>, Origin, u64)> {
    let data = reference.read_column_into(&p.name, p.categorical, Vec::new())?;
    let mut rng = Rng::new(mix_str(seed, &p.name));
    let folds = folds_for(data.rows, settings.window_rows)?;
    let Some(mut pool) = Pool::new(&data, folds, &mut rng) else {
        bail!("column {:?}: no values to calibrate with", p.name);
    };
    drop(data);
    let m = settings.window_rows as usize;
    let mut out: Vec<Option<ColumnReport>> = vec![None; settings.windows];
    for fold in 0..folds {
        let against = pool.reference(fold);
        for i in (fold..settings.windows).step_by(folds) {
            settings.check_stop()?;
            let window = pool.window(fold, m, &mut rng);
            out[i] = Some(crate::engine::compare_column(&p.name, &against, &window, policy));
        }
    }
    Ok((out.into_iter().flatten().collect(), pool.origin, pool.rows() as u64))
}

/// Runs the calibration of `reference` under `policy` and `routing` (the lifecycle's timing and
/// which severities reach a sink).
pub fn calibrate(
    reference: &dyn Table,
    options: &CheckOptions,
    policy: &Policy,
    routing: &Routing,
    settings: &Settings,
) -> Result<Calibration> {
    if let Err(errors) = policy.validate() {
        bail!("invalid thresholds: {}", errors.join("; "));
    }
    if settings.window_rows == 0 || settings.windows == 0 {
        bail!("calibration needs windows of at least one row");
    }
    let checksum = fingerprint(reference, options, settings.threads)?;
    let seed = mix_str(checksum, &settings.monitor);
    let planned = plan(reference, options);
    if planned.is_empty() {
        bail!("the reference has no column to compare");
    }
    let folds = folds_for(reference.summary().rows, settings.window_rows)?;
    let results = crate::parallel::on_all_cores(
        &planned,
        settings.threads,
        || (),
        |_, p| simulate_column(p, reference, policy, settings, seed),
        &|_, _| {},
    );
    let mut by_column = Vec::with_capacity(planned.len());
    let mut notes = Vec::new();
    let mut reference_rows = 0;
    for (p, r) in planned.iter().zip(results) {
        let (reports, origin, rows) = r?;
        reference_rows = reference_rows.max(rows);
        match origin {
            Origin::Values => {}
            Origin::Sketch => notes.push(format!("{}: values drawn from the snapshot's sketch", p.name)),
            Origin::PooledCategories => {
                notes.push(format!("{}: the snapshot's pooled categories spread evenly", p.name))
            }
        }
        by_column.push(reports);
    }
    let reports = verdicts::judge_windows(by_column, reference_rows * (folds as u64 - 1) / folds as u64, policy);
    let mut c = summarise(&reports, policy, routing, settings, checksum, seed, notes);
    c.folds = folds;
    Ok(c)
}

/// The figures and the advice from the judged windows.
fn summarise(
    reports: &[Report],
    policy: &Policy,
    routing: &Routing,
    settings: &Settings,
    checksum: u64,
    seed: u64,
    notes: Vec<String>,
) -> Calibration {
    let n = reports.len();
    let drifted = reports.iter().filter(|r| r.drift).count();
    let columns = column_figures(reports);
    let pages = verdicts::pages(reports, routing, settings.cadence_ms);
    let pages_per_30d = verdicts::per_month(pages, n, settings.cadence_ms);
    let mut c = Calibration {
        method: "shuffled".to_owned(),
        windows: n,
        folds: FOLDS,
        window_rows: settings.window_rows,
        window_rows_from: settings.window_rows_from.clone(),
        cadence_secs: settings.cadence_ms as f64 / 1000.0,
        cadence_from: settings.cadence_from.clone(),
        drifted_windows: drifted,
        false_drift_rate: drifted as f64 / n.max(1) as f64,
        ci: verdicts::wilson(drifted, n),
        pages,
        pages_per_30d,
        lower_bound: true,
        reference_checksum: format!("{checksum:016x}"),
        seed: format!("{seed:016x}"),
        columns,
        notes,
        advice: Vec::new(),
        contiguous: None,
    };
    if pages_per_30d > PAGE_BUDGET {
        c.advice = advise(&c, reports, policy, routing, settings);
    }
    c
}

/// What would bring the false pages under the budget: excluding or re-coding the noisiest
/// columns, the small-count rules if they are off, `fire_after`, bigger windows.
fn advise(c: &Calibration, reports: &[Report], policy: &Policy, routing: &Routing, s: &Settings) -> Vec<String> {
    let per_month = |r: &[Report], routing: &Routing| {
        verdicts::per_month(verdicts::pages(r, routing, s.cadence_ms), reports.len(), s.cadence_ms)
    };
    let old_rules = policy.min_expected == 0.0 || policy.psi_effect == crate::engine::PsiEffect::Classic;
    let mut advice = Vec::new();
    let current = routing.timing.fire_after.max(1);
    let fix = (current + 1..=current + 5).find_map(|k| {
        let mut r = routing.clone();
        r.timing.fire_after = k;
        let p = per_month(reports, &r);
        (p <= PAGE_BUDGET).then_some((k, p))
    });
    if let Some((k, p)) = fix {
        advice.push(format!(
            "fire_after = {k} (now {current}): about {p:.1} pages/30d, alerts {} window(s) later",
            k - current
        ));
    }
    // Columns that account for at least half of the drifted windows.
    let noisy =
        c.columns.iter().filter(|x| x.false_drift_rate >= 0.01 && 2.0 * x.false_drift_rate >= c.false_drift_rate);
    for col in noisy.take(3) {
        let test = col.tests.iter().max_by_key(|t| *t.1).map_or("", |t| t.0.as_str());
        let without = per_month(&verdicts::without_column(reports, &col.column), routing);
        let mut line = format!(
            "column {:?} drifts in {:.1}% of stationary windows (mostly {test}): exclude it ([columns] exclude) or re-code it into fewer levels; without it about {without:.1} pages/30d",
            col.column,
            100.0 * col.false_drift_rate
        );
        if old_rules && matches!(test, "chi2" | "psi") {
            line.push_str("; or restore the small-count rules (psi_effect = \"corrected\", min_expected = 5)");
        }
        advice.push(line);
    }
    advice
        .push(format!("bigger windows (now {} rows): the noise of every test shrinks as windows grow", s.window_rows));
    advice
}
