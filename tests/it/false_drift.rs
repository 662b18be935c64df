//! False-drift rate: two halves of one seeded distribution must not drift. With the default
//! policy the share of runs that report drift is at most alpha (BH controls the family-wise
//! error under the global null) at 100 and 1 000 rows per side, and exactly zero at 100 000 rows
//! per side, where the effect floors block what significance alone would flag.

use std::collections::BTreeMap;
use std::sync::Arc;

use drift::engine::{self, ColumnData, ColumnReport, Policy, SortedColumn, TableSummary, Values};
use drift::stats::{CategoryCounts, Sample, SortedSample};
use drift::synth::Rng;

/// One column's data from n draws of `draw`.
fn numeric(n: usize, rng: &mut Rng, draw: fn(&mut Rng) -> f64) -> ColumnData {
    let values: Vec<f64> = (0..n).map(|_| draw(rng)).collect();
    ColumnData {
        data_type: "Float64".into(),
        rows: n as u64,
        nulls: 0,
        nan: 0,
        values: Values::Numeric(Sample::new(values).ok()),
    }
}

fn categorical(n: usize, rng: &mut Rng) -> ColumnData {
    let mut c = CategoryCounts::new();
    for _ in 0..n {
        c.add(["a", "b", "c", "d", "e"][rng.choose(&[0.4, 0.3, 0.15, 0.1, 0.05])], 1);
    }
    ColumnData { data_type: "Utf8".into(), rows: n as u64, nulls: 0, nan: 0, values: Values::Categorical(c) }
}

/// With a 2% missing rate on both sides.
fn with_nulls(mut d: ColumnData, rng: &mut Rng) -> ColumnData {
    let nulls = (0..d.rows).filter(|_| rng.uniform() < 0.02).count() as u64;
    d.rows += nulls;
    d.nulls = nulls;
    d
}

fn run(n: usize, seed: u64) -> bool {
    let mut rng = Rng::new(seed);
    let draws: [fn(&mut Rng) -> f64; 4] = [
        |r| r.normal(),
        |r| (r.normal() * 0.7).exp(),
        |r| (r.uniform() * 10.0).floor(), // heavy ties
        |r| r.poisson(3.0) as f64,
    ];
    let policy = Policy::default();
    let mut cols = Vec::new();
    for (i, d) in draws.iter().enumerate() {
        let r = with_nulls(numeric(n, &mut rng, *d), &mut rng);
        let c = with_nulls(numeric(n, &mut rng, *d), &mut rng);
        cols.push(engine::compare_column(&format!("n{i}"), &r, &c, &policy));
    }
    let (r, c) = (categorical(n, &mut rng), categorical(n, &mut rng));
    cols.push(engine::compare_column("cat", &r, &c, &policy));
    let t = TableSummary { rows: n as u64, files: 1, ..Default::default() };
    engine::judge(cols, Default::default(), vec![], t.clone(), t, &policy).drift
}

fn false_drift_rate(n: usize, runs: u64) -> f64 {
    let rate = (0..runs).filter(|&s| run(n, 1000 + s)).count() as f64 / runs as f64;
    eprintln!("false-drift rate at {n} rows per side over {runs} runs: {rate}");
    rate
}

#[test]
fn at_100_rows_per_side() {
    let rate = false_drift_rate(100, 400);
    assert!(rate <= 0.05, "false drift in {:.1}% of runs", rate * 100.0);
}

#[test]
fn at_1000_rows_per_side() {
    let rate = false_drift_rate(1000, 200);
    assert!(rate <= 0.05, "false drift in {:.1}% of runs", rate * 100.0);
}

#[test]
fn at_100000_rows_per_side_floors_block_everything() {
    let rate = false_drift_rate(100_000, 8);
    assert_eq!(rate, 0.0);
}

// ---------------------------------------------------------------------------------------------
// Stationary windows as a monitor sees them (issue 17): windows drawn fresh from the generator,
// never slices of the reference, compared with a reference of 50 000 rows that is replaced
// every 100 windows. Categorical columns with 10, 100 and 5 000 Zipf levels (exponent 1.0, and
// 0.6 for the 5 000-level one, like an aircraft tail number), numeric columns of four shapes,
// missing values at 2% and at 0.1% (so windows expect far fewer than 5: Fisher's test). A
// window drifts when its report does (every column in one correction family).
//
// Pass marks: a window may drift with probability at most alpha = 5%, so the count of drifted
// windows out of W is at most Binomial(W, 0.05)'s 99.9% point: 73 of 1 000 (the full run,
// `stationary_windows_full`, ignored in CI: `cargo test --release --test it
// false_drift::stationary_windows_full -- --ignored --nocapture`), 13 of 100 (CI: P(X <= 13) =
// 0.99954, P(X <= 12) = 0.99854; scipy.stats.binom.ppf(0.999, 100, 0.05) = 13).

/// Rows of every reference.
const REFERENCE_ROWS: usize = 50_000;
/// Windows compared with one reference before the next is drawn.
const PER_REFERENCE: usize = 100;
/// Window sizes (rows).
const SIZES: [usize; 4] = [100, 200, 1_000, 5_000];

/// A categorical distribution: P(level k) proportional to k^-exponent.
struct Zipf {
    labels: Vec<String>,
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(levels: usize, exponent: f64) -> Zipf {
        let w: Vec<f64> = (1..=levels).map(|k| (k as f64).powf(-exponent)).collect();
        let total: f64 = w.iter().sum();
        let mut acc = 0.0;
        let cdf = w.iter().map(|x| {
            acc += x / total;
            acc
        });
        Zipf { labels: (0..levels).map(|k| format!("L{k:04}")).collect(), cdf: cdf.collect() }
    }

    fn draw(&self, n: usize, rng: &mut Rng) -> CategoryCounts {
        let mut hits = vec![0u64; self.labels.len()];
        for _ in 0..n {
            let u = rng.uniform();
            hits[self.cdf.partition_point(|&c| c <= u).min(self.labels.len() - 1)] += 1;
        }
        let mut c = CategoryCounts::new();
        for (label, &h) in self.labels.iter().zip(&hits) {
            c.add(label, h);
        }
        c
    }
}

enum Generator {
    Categorical(Zipf),
    Numeric(fn(&mut Rng) -> f64),
}

/// One column of the stationary table: its name, how values are drawn, its missing rate.
struct Stationary {
    name: &'static str,
    generator: Generator,
    missing: f64,
}

fn stationary_table() -> Vec<Stationary> {
    let cat = |name, levels, exponent, missing| Stationary {
        name,
        generator: Generator::Categorical(Zipf::new(levels, exponent)),
        missing,
    };
    let num = |name, draw, missing| Stationary { name, generator: Generator::Numeric(draw), missing };
    vec![
        cat("zipf10", 10, 1.0, 0.0),
        cat("zipf100", 100, 1.0, 0.02),
        cat("zipf5000", 5_000, 0.6, 0.0),
        num("normal", |r: &mut Rng| r.normal(), 0.02),
        num("lognormal", |r: &mut Rng| (r.normal() * 0.7).exp(), 0.001),
        num("ties", |r: &mut Rng| (r.uniform() * 10.0).floor(), 0.0),
        num("poisson", |r: &mut Rng| r.poisson(3.0) as f64, 0.0),
    ]
}

/// `rows` rows of one column; a reference keeps its numeric values sorted once, as a snapshot
/// does for the daemon.
fn draw(col: &Stationary, rows: usize, rng: &mut Rng, reference: bool) -> ColumnData {
    let nulls = (0..rows).filter(|_| rng.uniform() < col.missing).count();
    let n = rows - nulls;
    let values = match &col.generator {
        Generator::Categorical(z) => Values::Categorical(z.draw(n, rng)),
        Generator::Numeric(f) => {
            let v: Vec<f64> = (0..n).map(|_| f(rng)).collect();
            if reference {
                Values::Sorted(Arc::new(SortedColumn::new(SortedSample::new(v).unwrap())))
            } else {
                Values::Numeric(Sample::new(v).ok())
            }
        }
    };
    let data_type = if matches!(col.generator, Generator::Categorical(_)) { "Utf8" } else { "Float64" };
    ColumnData { data_type: data_type.into(), rows: rows as u64, nulls: nulls as u64, nan: 0, values }
}

/// Drifted windows of one size, and which column's test drifted how often.
#[derive(Default)]
struct Tally {
    windows: usize,
    drifted: usize,
    tests: BTreeMap<String, usize>,
}

fn stationary_windows(size: usize, windows: usize, seed: u64, policy: &Policy) -> Tally {
    let table = stationary_table();
    let mut tally = Tally { windows, ..Tally::default() };
    let mut references = Vec::new();
    for w in 0..windows {
        if w % PER_REFERENCE == 0 {
            let mut rng = Rng::new(seed ^ (size as u64) << 20 ^ (w / PER_REFERENCE) as u64);
            references = table.iter().map(|c| draw(c, REFERENCE_ROWS, &mut rng, true)).collect();
        }
        let mut rng = Rng::new(seed.wrapping_mul(31) ^ (size as u64) << 32 ^ w as u64 ^ 0x5eed);
        let cols: Vec<ColumnReport> = table
            .iter()
            .zip(&references)
            .map(|(c, r)| engine::compare_column(c.name, r, &draw(c, size, &mut rng, false), policy))
            .collect();
        let (rt, ct) = (
            TableSummary { rows: REFERENCE_ROWS as u64, files: 1, ..Default::default() },
            TableSummary { rows: size as u64, files: 1, ..Default::default() },
        );
        let report = engine::judge(cols, Default::default(), vec![], rt, ct, policy);
        if report.drift {
            tally.drifted += 1;
            for c in &report.columns {
                for t in c.tests.iter().filter(|t| t.drift) {
                    *tally.tests.entry(format!("{}:{}", c.column, t.test.as_str())).or_default() += 1;
                }
            }
        }
    }
    eprintln!(
        "stationary, {size}-row windows: {} of {} drifted; by test: {:?}",
        tally.drifted, tally.windows, tally.tests
    );
    tally
}

/// Every size, `windows` windows each; none may exceed `bound` drifted windows.
fn assert_stationary_quiet(windows: usize, bound: usize, seed: u64) {
    let policy = Policy::default();
    let tallies: Vec<(usize, Tally)> =
        SIZES.iter().map(|&n| (n, stationary_windows(n, windows, seed, &policy))).collect();
    for (n, t) in &tallies {
        assert!(
            t.drifted <= bound,
            "{n}-row windows: {} of {} drifted (bound {bound}): {:?}",
            t.drifted,
            windows,
            t.tests
        );
    }
}

#[test]
fn stationary_windows_do_not_page() {
    // 100 windows per size (one reference each); 13 is Binomial(100, 0.05)'s 99.9% point.
    assert_stationary_quiet(100, 13, 17);
}

#[test]
#[ignore = "the full run (1 000 windows per size, 10 references each): run explicitly"]
fn stationary_windows_full() {
    assert_stationary_quiet(1_000, 73, 1_017);
}

#[test]
fn stationary_windows_paged_under_the_old_rules() {
    // The same generator under `psi_effect = classic, min_expected = 0` (one bin per category,
    // the classic PSI, the z-test): the sparse categorical columns page on small windows, as
    // the issue measured on flight data. This is what the suite above exists to catch.
    let old = Policy { psi_effect: drift::engine::PsiEffect::Classic, min_expected: 0.0, ..Policy::default() };
    let t = stationary_windows(200, 100, 17, &old);
    assert!(t.drifted > 13, "old rules: {} of 100 drifted: {:?}", t.drifted, t.tests);
    assert!(t.tests.keys().any(|k| k.starts_with("zipf5000:")), "{:?}", t.tests);
}
