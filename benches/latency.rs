//! Benchmark: the cost of the latency summary a window part keeps (`[latency]`), per million
//! rows: decoding the latency column and summarising it exactly (parts of 100 000 rows, the
//! exact limit) or into the 1% sketch (one part of 1M rows), and merging parts; and counting an
//! error budget's good and total requests per minute of event time (`[latency.objective]`).
//!
//! Run: `cargo bench --bench latency`. Data (1M rows: a lognormal latency in ms with a 0.5%
//! slow tail, and an event time) is generated into `target/bench-data/`.

// Benchmarks measure real time; the rule is for the library.
#![allow(clippy::disallowed_methods)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, TimestampMillisecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use drift::checks::latency::summary::{EXACT_VALUES, Summary};
use drift::checks::latency::{Latency, LatencyConfig, Objective, Slo, Unit, config::DEFAULT_PERCENTILES};
use drift::checks::{PartRows, WindowCheck};
use drift::source::{ParquetFile, open_file};
use drift::synth::{Rng, write_parquet};

const ROWS: usize = 1_000_000;

fn data(rows: usize, name: &str) -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| format!("{}/target", env!("CARGO_MANIFEST_DIR")));
    let dir = PathBuf::from(target).join("bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    if !path.exists() {
        let mut r = Rng::new(7);
        let lat: Vec<f64> = (0..rows)
            .map(|_| if r.uniform() < 0.005 { 1000.0 + 2000.0 * r.uniform() } else { 45.0 * (0.45 * r.normal()).exp() })
            .collect();
        let ts: Vec<i64> = (0..rows as i64).map(|i| 1_767_225_600_000 + i * 10).collect();
        let schema = Arc::new(Schema::new(vec![
            Field::new("t", DataType::Timestamp(TimeUnit::Millisecond, None), false),
            Field::new("latency_ms", DataType::Float64, false),
        ]));
        let cols: Vec<ArrayRef> =
            vec![Arc::new(TimestampMillisecondArray::from(ts)), Arc::new(Float64Array::from(lat))];
        write_parquet(&path, schema.clone(), [RecordBatch::try_new(schema, cols).unwrap()]).unwrap();
    }
    path
}

fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut out = None;
    let mut best = f64::INFINITY;
    for _ in 0..runs {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(v);
    }
    (best, out.unwrap())
}

fn main() {
    let check = Latency(LatencyConfig {
        column: "latency_ms".into(),
        unit: Unit::Ms,
        percentiles: DEFAULT_PERCENTILES.to_vec(),
        slo: vec![Slo { quantile: 0.99, warning_ms: Some(250.0), critical_ms: Some(400.0) }],
        objective: None,
    });
    let parts = ROWS / EXACT_VALUES as usize;
    let small: ParquetFile = open_file(&data(EXACT_VALUES as usize, "latency-100k.parquet")).unwrap();
    let big: ParquetFile = open_file(&data(ROWS, "latency-1m.parquet")).unwrap();
    let (exact, part) = best(5, || {
        (0..parts).map(|_| check.summarise(std::slice::from_ref(&small), Some("t")).unwrap()).collect::<Vec<_>>()
    });
    assert!(part[0].exact());
    let (sketched, whole) = best(5, || check.summarise(std::slice::from_ref(&big), Some("t")).unwrap());
    assert!(!whole.exact());
    let bytes: Vec<Vec<u8>> = part.iter().map(Summary::to_bytes).collect();
    let (merge, merged) =
        best(5, || Summary::merge(bytes.iter().map(|b| Summary::from_bytes(b).unwrap()).collect()).unwrap());
    let (quantiles, _) = best(5, || merged.quantiles(DEFAULT_PERCENTILES));
    println!("latency summary per 1M rows (best of 5, one thread):");
    println!(
        "  exact    ({parts} parts of {EXACT_VALUES} rows): {:.1} ms, {} bytes per part",
        exact * 1e3,
        bytes[0].len()
    );
    println!("  sketched (1 part of {ROWS} rows):  {:.1} ms, {} bytes", sketched * 1e3, whole.to_bytes().len());
    println!(
        "  merge of the {parts} exact parts into a sketch: {:.1} ms; its percentiles: {:.3} ms",
        merge * 1e3,
        quantiles * 1e3
    );
    // The error budget's minutes (`[latency.objective]`), counted from each consumed file.
    let budget = Latency(LatencyConfig {
        objective: Some(Objective {
            threshold_ms: 250.0,
            target: 0.99,
            period_days: 30,
            burn: drift::engine::budget::workbook_rules(),
        }),
        ..check.0.clone()
    });
    let rows = PartRows { files: std::slice::from_ref(&big), timestamp_column: Some("t") };
    let b = budget.budget().unwrap();
    let (counting, minutes) = best(5, || b.count(&rows, i64::MAX).unwrap());
    println!("  the budget's minutes of {ROWS} rows: {:.1} ms, {} minutes", counting * 1e3, minutes.len());
}
