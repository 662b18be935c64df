//! Latency percentiles: exact ones equal NumPy's `inverted_cdf` on heavy-tailed samples
//! (`tests/data/golden/latency.json`, made by `make_latency_goldens.py`), sketched ones stay
//! within the sketch's relative error of them, whole and merged from parts in any grouping.

use std::sync::Arc;

use arrow_array::{ArrayRef, DurationMicrosecondArray, Float64Array, StringArray, TimestampMillisecondArray};
use drift::stats::ddsketch::{DEFAULT_ALPHA, QuantileSketch};
use drift::stats::quantile::{exceeds, inverted_cdf};
use drift::synth::Rng;
use proptest::prelude::*;
use serde_json::Value;
use tempfile::TempDir;

use crate::receiver::Receiver;
use crate::support::{check_json, drift, s, write};

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn sketch(values: &[f64]) -> QuantileSketch {
    let mut s = QuantileSketch::new(DEFAULT_ALPHA);
    values.iter().for_each(|&x| s.add(x));
    s
}

/// Within the relative error of the true value (a hair of float slack at bucket edges).
fn within(got: f64, want: f64) -> bool {
    (got - want).abs() <= DEFAULT_ALPHA * want.abs() * (1.0 + 1e-9)
}

#[test]
fn percentiles_equal_numpys_inverted_cdf_exactly_and_within_alpha_sketched_and_merged() {
    let path = format!("{}/tests/data/golden/latency.json", env!("CARGO_MANIFEST_DIR"));
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for case in file["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let values = floats(&case["values"]);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        // Parts cut at the splits, merged in reverse order.
        let mut cuts: Vec<usize> =
            case["splits"].as_array().unwrap().iter().map(|s| s.as_u64().unwrap() as usize).collect();
        cuts.insert(0, 0);
        cuts.push(values.len());
        let mut merged = QuantileSketch::new(DEFAULT_ALPHA);
        for w in cuts.windows(2).rev() {
            merged.merge(&sketch(&values[w[0]..w[1]])).unwrap();
        }
        let whole = sketch(&values);
        assert_eq!(merged, whole, "{name}: merged parts are the sketch of all the values");
        for (q, want) in floats(&case["quantiles"]).into_iter().zip(floats(&case["want"])) {
            assert_eq!(inverted_cdf(&sorted, q), Some(want), "{name}: exact q {q}");
            let got = merged.quantile(q).unwrap();
            assert!(within(got, want), "{name}: sketched q {q}: {got} vs NumPy {want}");
        }
        let n = values.len() as u64;
        for (t, above) in floats(&case["thresholds"]).into_iter().zip(case["above"].as_array().unwrap()) {
            let above = above.as_u64().unwrap();
            assert_eq!(values.iter().filter(|&&x| x > t).count() as u64, above, "{name}: above {t}");
            for q in [0.5, 0.9, 0.99, 0.999] {
                let p = inverted_cdf(&sorted, q).unwrap();
                assert_eq!(exceeds(n, n - above, q), p > t, "{name}: p{q} {p} > {t} from counts");
            }
        }
    }
}

/// `drift check --latency` on the golden samples written as Parquet: the JSON percentiles are
/// NumPy's (reference: lognormal in ms; current: Pareto as a duration in microseconds), the
/// ratio is current / reference, an SLO decides the exit code from exact counts, and the
/// table and Markdown print the same rows.
#[test]
fn drift_check_latency_prints_numpys_percentiles_side_by_side_and_exits_1_on_a_breach() {
    let path = format!("{}/tests/data/golden/latency.json", env!("CARGO_MANIFEST_DIR"));
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let case = |name: &str| file["cases"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap().clone();
    let (lognormal, pareto) = (case("lognormal"), case("pareto"));
    let dir = TempDir::new().unwrap();
    let r = write(
        dir.path(),
        "r.parquet",
        vec![("lat", Arc::new(Float64Array::from(floats(&lognormal["values"]))) as ArrayRef)],
    );
    // Microseconds as a duration: the golden values are ms rounded to the microsecond.
    let us: Vec<i64> = floats(&pareto["values"]).iter().map(|v| (v * 1000.0).round() as i64).collect();
    let c = write(dir.path(), "c.parquet", vec![("lat", Arc::new(DurationMicrosecondArray::from(us)) as ArrayRef)]);
    let (code, report) = check_json(&[s(&r)], &[s(&c)], &["--latency", "lat", "--latency-slo", "p99=500"]);
    assert_eq!(code, 0, "no drift test on a duration column, p99 418 ms within 500 ms: {report:#}");
    let l = &report["latency"];
    let want = |c: &Value, q: f64| {
        let i = floats(&c["quantiles"]).iter().position(|x| *x == q).unwrap();
        floats(&c["want"])[i]
    };
    for (row, q) in l["percentiles"].as_array().unwrap().iter().zip([0.5, 0.9, 0.95, 0.99, 0.999]) {
        let (a, b) = (want(&lognormal, q), want(&pareto, q));
        assert_eq!((row["quantile"].as_f64(), row["reference_ms"].as_f64()), (Some(q), Some(a)), "{row}");
        assert!((row["current_ms"].as_f64().unwrap() - b).abs() < 1e-9, "{row} vs {b}");
        assert!((row["ratio"].as_f64().unwrap() - b / a).abs() < 1e-9, "{row}");
    }
    assert_eq!(
        (l["slo"][0]["above"].as_u64(), l["slo"][0]["breached"].as_bool()),
        (Some(32), Some(false)),
        "numpy.sum(values > 500): {l:#}"
    );

    // p99 = 417.916 ms: an SLO at 417 ms is breached (exit 1), one at the value itself is met.
    let (code, report) = check_json(&[s(&r)], &[s(&c)], &["--latency", "lat", "--latency-slo", "p99=417"]);
    assert_eq!((code, report["latency"]["breached"].as_bool()), (1, Some(true)));
    let (code, _) = check_json(&[s(&r)], &[s(&c)], &["--latency", "lat", "--latency-slo", "p99=417.916"]);
    assert_eq!(code, 0, "p99 > T, not >=");

    let out = drift(&["check", "-r", s(&r), "-c", s(&c), "--latency", "lat", "--latency-slo", "p99=417"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("LATENCY lat") && table.contains("p99.9"), "{table}");
    assert!(
        table.contains("SLO p99 <= 417 ms: BREACHED (current p99 418 ms; 41 of 4000 requests above, 1.02%)"),
        "{table}"
    );
    assert!(table.trim_end().ends_with("; LATENCY SLO BREACHED: p99"), "{table}");
    let out = drift(&["check", "-r", s(&r), "-c", s(&c), "--latency", "lat", "--format", "markdown"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("| latency `lat` | reference | current | ratio |"));

    // A column that is not there: one line naming it, exit 2.
    let out = drift(&["check", "-r", s(&r), "-c", s(&c), "--latency", "latency_ms"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the reference side has no column \"latency_ms\"") && err.trim().lines().count() == 1,
        "{err}"
    );
}

/// Heavy-tailed samples: lognormal, Pareto (shape 1.1..3), bimodal with a 0.5% tail at 100x.
fn heavy(kind: u8, n: usize, seed: u64) -> Vec<f64> {
    let mut r = Rng::new(seed);
    (0..n)
        .map(|_| match kind {
            0 => (3.0 + 1.2 * r.normal()).exp(),
            1 => 10.0 / (1.0 - r.uniform()).powf(1.0 / (1.1 + 1.9 * (seed % 7) as f64 / 7.0)),
            _ if r.uniform() < 0.005 => 3000.0 * (0.2 * r.normal()).exp(),
            _ => (30.0 + 5.0 * r.normal()).max(0.5),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every percentile of a sketch merged from random parts is within alpha of the exact one.
    #[test]
    fn a_merged_sketch_stays_within_alpha_on_heavy_tails(kind in 0u8..3, n in 1usize..20_000, seed in any::<u64>(), cuts in prop::collection::vec(0usize..20_000, 0..6)) {
        let values = heavy(kind, n, seed);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (n + 1)).collect();
        cuts.extend([0, n]);
        cuts.sort_unstable();
        let mut merged = QuantileSketch::new(DEFAULT_ALPHA);
        for w in cuts.windows(2) {
            merged.merge(&sketch(&values[w[0]..w[1]])).unwrap();
        }
        for q in [0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            let (got, want) = (merged.quantile(q).unwrap(), inverted_cdf(&sorted, q).unwrap());
            prop_assert!(within(got, want), "kind {} q {}: {} vs {}", kind, q, got, want);
        }
    }
}

/// Rows of one hour (`hour * 3600 s` + offsets) per region: (region, rows, share of slow
/// requests). Latencies: lognormal around 40 ms; a slow request takes 600-900 ms.
fn requests(hour: i64, groups: &[(&'static str, usize, f64)], seed: u64) -> Vec<(&'static str, ArrayRef)> {
    let mut r = Rng::new(seed);
    let (mut t, mut region, mut latency, mut x) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for &(g, n, slow) in groups {
        for i in 0..n {
            t.push((hour * 3600 + (i as i64 * 7) % 3600) * 1000);
            region.push(g);
            let fast = 40.0 * (0.3 * r.normal()).exp();
            latency.push(if r.uniform() < slow { 600.0 + 300.0 * r.uniform() } else { fast });
            x.push(r.normal());
        }
    }
    vec![
        ("t", Arc::new(TimestampMillisecondArray::from(t)) as ArrayRef),
        ("region", Arc::new(StringArray::from(region))),
        ("latency_ms", Arc::new(Float64Array::from(latency))),
        ("x", Arc::new(Float64Array::from(x))),
    ]
}

/// Hourly event-time windows with segments by region and a p99 SLO (warning 250 ms, critical
/// 400 ms); one landed file holds hour 10 (south regressed: 1.5% of its requests take over
/// 600 ms) and a few rows of hour 11 that move the watermark past hour 10. `drift run --once`
/// closes hour 10 and delivers to a Slack-like receiver: one `LatencySLOBreached` for
/// `region=south`, critical, naming the percentile, its value, the threshold, the window and
/// the segment; north and the whole window stay quiet, and no drift is paged.
#[test]
fn a_latency_regression_in_one_segment_pages_that_segment_only() {
    let rx = Receiver::start(0, vec![]);
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    write(root, "reference.parquet", requests(0, &[("north", 3000, 0.0), ("south", 3000, 0.0)], 1));
    std::fs::create_dir_all(root.join("incoming")).unwrap();
    std::fs::create_dir_all(root.join("monitors")).unwrap();
    std::fs::write(root.join("slack.url"), rx.url("/hook")).unwrap();
    let config = root.join("drift.toml");
    std::fs::write(
        &config,
        "state_dir = \"state\"\nlisten = \"127.0.0.1:0\"\nmonitors_dir = \"monitors\"\n\n\
         [sinks.slack]\ntype = \"slack\"\nurl_file = \"slack.url\"\ntimeout_secs = 2\n",
    )
    .unwrap();
    std::fs::write(
        root.join("monitors/api.toml"),
        "[source]\npath = \"../incoming\"\nsettle_secs = 0\n\n[reference]\npath = \"../reference.parquet\"\n\n\
         [window]\ntype = \"time\"\nsize_secs = 3600\nallowed_lateness_secs = 600\nidle_timeout_secs = 3600\n\
         timestamp_column = \"t\"\nmin_rows = 50\n\n\
         [columns]\nexclude = [\"t\", \"latency_ms\"]\n\n\
         [segments]\nby = [\"region\"]\nmin_rows = 50\n\n\
         [latency]\ncolumn = \"latency_ms\"\n\n[[latency.slo]]\nquantile = 0.99\nwarning_ms = 250\ncritical_ms = 400\n\n\
         [alerts]\nwarning = [\"slack\"]\ncritical = [\"slack\"]\n",
    )
    .unwrap();
    let mut rows = requests(10, &[("north", 2000, 0.0), ("south", 2000, 0.015)], 2);
    let late = requests(11, &[("north", 200, 0.0)], 3);
    for ((_, a), (_, b)) in rows.iter_mut().zip(late) {
        *a = arrow_select::concat::concat(&[a.as_ref(), b.as_ref()]).unwrap();
    }
    let f = write(&root.join("incoming"), "a.parquet", rows);
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    std::fs::File::options().write(true).open(&f).unwrap().set_modified(old).unwrap();

    let out = drift(&["run", "--once", "--config", s(&config)]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{log}");
    let got = rx.received();
    let names: Vec<(String, String)> =
        got.iter().map(|r| (r.body["text"].as_str().unwrap_or_default().to_owned(), r.body.to_string())).collect();
    let out_text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(got.len(), 1, "one message, for south's SLO: {names:#?}\n{out_text}\n{log}");
    let body = &got[0].body;
    let blocks = body["blocks"].to_string();
    let header = body["blocks"][0]["text"]["text"].as_str().unwrap();
    assert_eq!(header, "🔴 LatencySLOBreached in api [region=south]: 1 finding(s)", "{body:#}");
    assert!(blocks.contains("segment `region=south`") && blocks.contains("*critical*"), "{body:#}");
    assert!(blocks.contains("*p99* — critical"), "the percentile: {body:#}");
    assert!(
        blocks.contains(" ms &gt; 400 ms (critical SLO): ") && blocks.contains("% of 2000 requests above 400 ms"),
        "{body:#}"
    );

    // The stored report: the whole window and north within the SLO, south over it, from
    // exact counts; the percentiles exact (4000 values < the exact limit).
    let h = drift(&["history", "--config", s(&config), "--monitor", "api", "--format", "json"]);
    let h: serde_json::Value = serde_json::from_slice(&h.stdout).unwrap();
    let w = &h[0];
    assert_eq!((w["start_ms"].as_i64(), w["rows"].as_u64()), (Some(36_000_000), Some(4000)), "{w:#}");
    let st = drift::state::State::open(&root.join("state")).unwrap();
    let report: Value = serde_json::from_str(&st.report(w["window"].as_i64().unwrap()).unwrap().unwrap()).unwrap();
    let latency = &report["checks"][0]["detail"];
    assert_eq!((latency["column"].as_str(), latency["unit"].as_str()), (Some("latency_ms"), Some("ms")));
    let summaries: Vec<(&str, u64, bool, &str, f64)> = latency["summaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let slo = &s["slo"][0];
            (
                s["segment"].as_str().unwrap(),
                s["count"].as_u64().unwrap(),
                s["exact"].as_bool().unwrap(),
                slo["state"].as_str().unwrap(),
                s["rps"].as_f64().unwrap(),
            )
        })
        .collect();
    let per_hour = |n: f64| n / 3600.0;
    assert_eq!(
        summaries,
        [
            ("", 4000, true, "ok", per_hour(4000.0)),
            ("region=north", 2000, true, "ok", per_hour(2000.0)),
            ("region=south", 2000, true, "critical", per_hour(2000.0))
        ]
    );
    let south = &latency["summaries"][2];
    assert_eq!(south["slo"][0]["above_critical"], 21, "1.05% of 2000 > 1%: {south:#}");
    let labels: Vec<&str> =
        south["percentiles"].as_array().unwrap().iter().map(|p| p["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["p50", "p90", "p95", "p99", "p99.9"]);
}

/// A rows window over three files, each a part with its own latency summary in the state:
/// merged when the window closes, its percentiles are those of all the rows at once (exact:
/// NumPy's rank), per segment too, through the daemon's own cycle.
#[test]
fn a_rows_windows_parts_merge_to_the_percentiles_of_all_its_rows() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    write(root, "reference.parquet", requests(0, &[("north", 500, 0.0), ("south", 500, 0.0)], 1));
    std::fs::create_dir_all(root.join("monitors")).unwrap();
    std::fs::create_dir_all(root.join("incoming")).unwrap();
    std::fs::write(
        root.join("drift.toml"),
        "state_dir = \"state\"\nlisten = \"127.0.0.1:0\"\nmonitors_dir = \"monitors\"\n",
    )
    .unwrap();
    std::fs::write(
        root.join("monitors/m.toml"),
        "[source]\npath = \"../incoming\"\nsettle_secs = 0\n\n[reference]\npath = \"../reference.parquet\"\n\n\
         [window]\ntype = \"rows\"\nrows = 900\nmin_rows = 50\n\n[segments]\nby = [\"region\"]\nmin_rows = 50\n\n\
         [latency]\ncolumn = \"latency_ms\"\n",
    )
    .unwrap();
    let cfg = drift::config::load(&root.join("drift.toml")).unwrap();
    let (shared, mut runs) = drift::daemon::prepare(&cfg).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    let (mut all, mut south) = (Vec::new(), Vec::new());
    let mut closed = Vec::new();
    for (i, slow) in [0.0, 0.05, 0.2].into_iter().enumerate() {
        let cols = requests(i as i64, &[("north", 200, slow), ("south", 100, slow)], 10 + i as u64);
        let lat = cols[2].1.as_any().downcast_ref::<Float64Array>().unwrap().values().to_vec();
        all.extend(&lat);
        south.extend(&lat[200..]);
        let f = write(&root.join("incoming"), &format!("{i}.parquet"), cols);
        std::fs::File::options().write(true).open(&f).unwrap().set_modified(old).unwrap();
        let outcome =
            rt.block_on(drift::daemon::cycle(&shared, &mut runs[0], drift::clock::now_ms() + i as i64)).unwrap();
        closed.extend(outcome.windows);
    }
    assert_eq!(closed.len(), 1, "900 rows: one window over the three files");
    let report = closed[0].1.as_ref().unwrap();
    let d: drift::engine::latency::LatencyDetail = serde_json::from_value(report.checks[0].detail.clone()).unwrap();
    let got = |segment: &str| -> Vec<f64> {
        d.summaries.iter().find(|s| s.segment == segment).unwrap().percentiles.iter().map(|p| p.ms.unwrap()).collect()
    };
    let want = |v: &mut Vec<f64>| -> Vec<f64> {
        v.sort_by(f64::total_cmp);
        [0.5, 0.9, 0.95, 0.99, 0.999].iter().map(|&q| inverted_cdf(v, q).unwrap()).collect()
    };
    assert_eq!(got(""), want(&mut all), "the whole window");
    assert_eq!(got("region=south"), want(&mut south), "a segment");
    assert!(d.summaries.iter().all(|s| s.exact));
}
