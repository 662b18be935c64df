//! Benchmark: the full `drift check` against a bare arrow-rs decode of the same columns, on a
//! synthetic pair (20 numeric + 5 categorical columns, snappy, default dictionary encoding,
//! some columns shifted), at 1M and 10M rows per side.
//!
//! Run: `cargo bench --bench check` (sizes: `DRIFT_BENCH_ROWS=1000000,10000000`, the default).
//! Data is generated once into `target/bench-data/`. Each phase runs in a child process of
//! this binary so its wall time and peak RSS (VmHWM) are its own; ratios are from one run.

// Benchmarks and tests measure and wait on real time; the rule is for the library.
#![allow(clippy::disallowed_methods)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use drift::check::{CheckOptions, run_check};
use drift::engine::Policy;
use drift::snapshot::{BuildSettings, Selection, Snapshot};
use drift::source::Dataset;
use drift::stats::{KsMethod, KsMode, SortedSample, ks_2samp};
use drift::synth::{Rng, bench_batches, write_parquet};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

const NUMERIC: usize = 20;
const CATEGORICAL: usize = 5;

fn data_dir() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| format!("{}/target", env!("CARGO_MANIFEST_DIR")));
    PathBuf::from(target).join("bench-data")
}

fn paths(rows: usize) -> (PathBuf, PathBuf) {
    let d = data_dir();
    (d.join(format!("reference-{rows}.parquet")), d.join(format!("current-{rows}.parquet")))
}

fn snapshot_path(rows: usize) -> PathBuf {
    data_dir().join(format!("reference-{rows}.drift"))
}

fn ensure_data(rows: usize) {
    let (r, c) = paths(rows);
    std::fs::create_dir_all(data_dir()).unwrap();
    for (path, shifted, seed) in [(r, false, 1), (c, true, 2)] {
        if path.exists() {
            continue;
        }
        let t = Instant::now();
        let tmp = path.with_extension("tmp");
        let (schema, batches) = bench_batches(rows, NUMERIC, CATEGORICAL, shifted, seed);
        write_parquet(&tmp, schema, batches).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        eprintln!("generated {} in {:.1}s", path.display(), t.elapsed().as_secs_f64());
    }
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Decodes every column of one file, one column per task, `threads` at a time.
fn bare_decode(path: &Path, threads: usize) -> u64 {
    let meta = parquet::arrow::arrow_reader::ArrowReaderMetadata::load(&File::open(path).unwrap(), Default::default())
        .unwrap();
    let ncols = meta.schema().fields().len();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let total = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= ncols {
                        break;
                    }
                    let mask = ProjectionMask::roots(meta.parquet_schema(), [i]);
                    let reader =
                        ParquetRecordBatchReaderBuilder::new_with_metadata(File::open(path).unwrap(), meta.clone())
                            .with_projection(mask)
                            .with_batch_size(64 * 1024)
                            .build()
                            .unwrap();
                    let mut n = 0;
                    for b in reader {
                        n += b.unwrap().num_rows() as u64;
                    }
                    total.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
    });
    total.into_inner()
}

/// Child process: run one phase, print "seconds peak_mib".
fn child(phase: &str, rows: usize) {
    let (r, c) = paths(rows);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let t = Instant::now();
    match phase {
        "decode" => {
            bare_decode(&r, threads);
            bare_decode(&c, threads);
        }
        "decode1" => {
            bare_decode(&r, 1);
            bare_decode(&c, 1);
        }
        "decode-reference" => {
            bare_decode(&r, threads);
        }
        "decode-current" => {
            bare_decode(&c, threads);
        }
        "build" => {
            let rd = Dataset::open("reference", &[r.display().to_string()]).unwrap();
            let snap =
                Snapshot::build(&rd, &Selection::default(), BuildSettings::default(), "bench".into(), &|_, _| {})
                    .unwrap();
            snap.write(&snapshot_path(rows)).unwrap();
        }
        "check-snapshot" => {
            let rs = Snapshot::read(&snapshot_path(rows)).unwrap();
            let cd = Dataset::open("current", &[c.display().to_string()]).unwrap();
            let report = run_check(&rs, &cd, &CheckOptions::default(), &Policy::default(), &|_, _| {}).unwrap();
            assert!(report.drift, "the bench pair has shifted columns");
        }
        "check" => {
            let rd = Dataset::open("reference", &[r.display().to_string()]).unwrap();
            let cd = Dataset::open("current", &[c.display().to_string()]).unwrap();
            let report = run_check(&rd, &cd, &CheckOptions::default(), &Policy::default(), &|_, _| {}).unwrap();
            assert!(report.drift, "the bench pair has shifted columns");
            assert_eq!(report.columns.len(), NUMERIC + CATEGORICAL);
        }
        _ => panic!("unknown phase {phase}"),
    }
    println!("{} {}", t.elapsed().as_secs_f64(), peak_rss_mib());
}

fn run_child(phase: &str, rows: usize) -> (f64, f64) {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe).args(["--phase", phase, "--rows", &rows.to_string()]).output().unwrap();
    assert!(out.status.success(), "{phase}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut it = text.split_whitespace().map(|x| x.parse::<f64>().unwrap());
    (it.next().unwrap(), it.next().unwrap())
}

/// The exact KS p-value at the sizes where `auto` still uses it: the cost is in the lattice
/// path counting, which grows with D (the band the paths must leave).
fn exact_ks_timings() {
    println!("exact KS p-value (ms, median of 5):");
    println!("{:>13} {:>8} {:>10} {:>12}", "n x m", "shift", "D", "ms");
    for (n, m) in [(10_000, 10_000), (10_000, 9_999), (3_000, 10_000), (9_973, 10_000)] {
        for shift in [0.0, 0.2, 1.0] {
            let mut rng = Rng::new(n as u64 * 31 + m as u64);
            let a = SortedSample::new((0..n).map(|_| rng.normal()).collect()).unwrap();
            let b = SortedSample::new((0..m).map(|_| rng.normal() + shift).collect()).unwrap();
            let mut times = Vec::new();
            let mut d = 0.0;
            for _ in 0..5 {
                let t = Instant::now();
                let r = ks_2samp(&a, &b, KsMode::Exact);
                times.push(t.elapsed().as_secs_f64() * 1e3);
                assert_eq!(r.method, KsMethod::Exact);
                d = r.statistic;
            }
            times.sort_by(f64::total_cmp);
            println!("{:>13} {shift:>8} {d:>10.4} {:>12.2}", format!("{n}x{m}"), times[2]);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--phase") {
        let rows = args[args.iter().position(|a| a == "--rows").unwrap() + 1].parse().unwrap();
        child(&args[i + 1], rows);
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return; // `cargo test --benches` / nextest probing
    }
    exact_ks_timings();
    let sizes: Vec<usize> = std::env::var("DRIFT_BENCH_ROWS")
        .unwrap_or_else(|_| "1000000,10000000".into())
        .split(',')
        .map(|s| s.trim().parse().unwrap())
        .collect();
    println!(
        "drift check benchmark: {NUMERIC} numeric + {CATEGORICAL} categorical columns, snappy, dictionary encoding"
    );
    println!("{:>10}  {:<32} {:>8} {:>10} {:>9}", "rows/side", "phase", "seconds", "peak MiB", "x decode");
    for rows in sizes {
        ensure_data(rows);
        let decode1 = run_child("decode1", rows);
        let decode = run_child("decode", rows);
        let check = run_child("check", rows);
        for (name, (secs, mib)) in
            [("bare decode, 1 thread", decode1), ("bare decode, all cores", decode), ("drift check, all cores", check)]
        {
            println!("{rows:>10}  {name:<32} {secs:>8.2} {mib:>10.0} {:>9.2}", secs / decode.0);
        }
        let decode_ref = run_child("decode-reference", rows);
        let build = run_child("build", rows);
        let size = std::fs::metadata(snapshot_path(rows)).map_or(0, |m| m.len());
        let decode_cur = run_child("decode-current", rows);
        let via = run_child("check-snapshot", rows);
        let line = |name: &str, (secs, mib): (f64, f64), base: f64| {
            println!("{rows:>10}  {name:<32} {secs:>8.2} {mib:>10.0} {:>9.2}", secs / base);
        };
        line("decode reference only", decode_ref, decode_ref.0);
        line("reference build (snapshot)", build, decode_ref.0);
        line("decode current only", decode_cur, decode_cur.0);
        line("check against snapshot", via, decode_cur.0);
        println!("{rows:>10}  snapshot: {:.2} MB ({size} bytes)", size as f64 / 1e6);
    }
}
