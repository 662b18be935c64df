//! False-drift rate: two halves of one seeded distribution must not drift. With the default
//! policy the share of runs that report drift is at most alpha (BH controls the family-wise
//! error under the global null) at 100 and 1 000 rows per side, and exactly zero at 100 000 rows
//! per side, where the effect floors block what significance alone would flag.

use drift::engine::{self, ColumnData, Policy, TableSummary, Values};
use drift::stats::{CategoryCounts, Sample};
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
    let t = TableSummary { rows: n as u64, files: 1 };
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
