//! Reference snapshots (`drift reference build|show|merge`, `check --reference SNAPSHOT`): exact
//! mode gives the raw-Parquet results to the bit, sketch mode stays within its stated bound,
//! merging parts equals building the whole, and damaged files are one clear error.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, StringArray};
use drift::synth::Rng;
use tempfile::TempDir;

use crate::support::{check_json, column, drift, s, test, write};

fn golden(name: &str) -> String {
    format!("{}/tests/data/golden/mixed/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn build(inputs: &[&str], out: &Path, extra: &[&str]) {
    let mut args = vec!["reference", "build", "--created-at", "2026-01-01T00:00:00Z", "--output", s(out), "--input"];
    args.extend_from_slice(inputs);
    args.extend_from_slice(extra);
    let o = drift(&args);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
}

fn merge(parts: &[&Path], out: &Path) {
    let mut args = vec!["reference", "merge", "--created-at", "2026-01-01T00:00:00Z", "--output", s(out)];
    args.extend(parts.iter().map(|p| s(p)));
    let o = drift(&args);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn exact_snapshot_gives_the_raw_results() {
    let dir = TempDir::new().unwrap();
    let snap = dir.path().join("ref.drift");
    build(&[&golden("reference.parquet")], &snap, &[]);
    let (code_raw, raw) = check_json(&[&golden("reference.parquet")], &[&golden("current.parquet")], &[]);
    let (code_snap, mut via) = check_json(&[s(&snap)], &[&golden("current.parquet")], &[]);
    assert_eq!(code_raw, code_snap);
    // The report names the snapshot it was made against; the rest is the raw report.
    let id = via.as_object_mut().unwrap().remove("reference_snapshot");
    assert!(id.is_some_and(|id| id["id"].as_str().is_some_and(|h| h.len() == 8)), "the snapshot's id");
    assert_eq!(raw, via, "a report against an exact snapshot is the report against the Parquet file");

    let demo = format!("{}/examples/data", env!("CARGO_MANIFEST_DIR"));
    let snap = dir.path().join("demo.drift");
    build(&[&format!("{demo}/reference.parquet")], &snap, &[]);
    let (_, raw) =
        check_json(&[&format!("{demo}/reference.parquet")], &[&format!("{demo}/current.parquet")], &["--js"]);
    let (_, mut via) = check_json(&[s(&snap)], &[&format!("{demo}/current.parquet")], &["--js"]);
    assert!(via.as_object_mut().unwrap().remove("reference_snapshot").is_some(), "the snapshot's id");
    assert_eq!(raw, via);
}

#[test]
fn sketch_snapshot_stays_within_its_bound() {
    let dir = TempDir::new().unwrap();
    let snap = dir.path().join("ref.drift");
    build(&[&golden("reference.parquet")], &snap, &["--exact-max-values", "0", "--sketch-cells", "512"]);
    let (code_raw, raw) = check_json(&[&golden("reference.parquet")], &[&golden("current.parquet")], &[]);
    let (code_snap, via) = check_json(&[s(&snap)], &[&golden("current.parquet")], &[]);
    assert_eq!(code_raw, code_snap);
    for name in ["age", "income", "score", "clicks"] {
        let (r, v) = (test(column(&raw, name), "ks"), test(column(&via, name), "ks"));
        let d = r["statistic"].as_f64().unwrap();
        let (mid, eps) = (v["statistic"].as_f64().unwrap(), v["error_bound"].as_f64().unwrap());
        assert_eq!(v["approximate"], true, "{name}");
        assert!((mid - d).abs() <= eps + 1e-15, "{name}: D {d} outside {mid} ± {eps}");
        assert!(eps <= 1.0 / 512.0, "{name}: bound {eps} above 1/cells");
        assert!(v["effect"].as_f64().unwrap() <= d + 1e-15, "{name}: the effect is the conservative end");
        assert!(
            v["p_value"].as_f64().unwrap() >= r["p_value"].as_f64().unwrap() * (1.0 - 1e-9),
            "{name}: p-value is conservative"
        );
        assert_eq!(column(&raw, name)["drift"], column(&via, name)["drift"], "{name}");
        // PSI edges and counts were computed from every value at build time: exact.
        assert_eq!(
            test(column(&raw, name), "psi")["statistic"],
            test(column(&via, name), "psi")["statistic"],
            "{name}"
        );
        assert_eq!(test(column(&via, name), "psi").get("approximate"), None, "{name}");
    }
    // Other bins than the snapshot's: edges and counts from the sketch, marked approximate.
    let (_, raw5) = check_json(&[&golden("reference.parquet")], &[&golden("current.parquet")], &["--bins", "5"]);
    let (_, via5) = check_json(&[s(&snap)], &[&golden("current.parquet")], &["--bins", "5"]);
    for name in ["age", "income", "score"] {
        let (r, v) = (test(column(&raw5, name), "psi"), test(column(&via5, name), "psi"));
        assert_eq!(v["approximate"], true, "{name}");
        assert_eq!(v["edges"].as_array().unwrap().len(), 4, "{name}");
        let (a, b) = (r["statistic"].as_f64().unwrap(), v["statistic"].as_f64().unwrap());
        assert!((a - b).abs() < 0.01, "{name}: PSI {b} from the sketch, {a} exact");
    }
}

/// Writes a reference split into three files with other row counts, plus the whole.
fn split_reference(dir: &Path) -> (Vec<PathBuf>, PathBuf) {
    let mut rng = Rng::new(77);
    let n = 9_000;
    let x: Vec<Option<f64>> = (0..n)
        .map(|i| if i % 97 == 0 { None } else { Some((rng.normal() * 2.0).round() / 2.0 + rng.normal()) })
        .collect();
    let k: Vec<&str> = (0..n).map(|_| ["a", "b", "c", "d", "e"][rng.choose(&[5.0, 3.0, 1.0, 0.5, 0.5])]).collect();
    let cuts = [0, 1_000, 4_500, n];
    let mut parts = Vec::new();
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        parts.push(write(
            dir,
            &format!("parts/p{a}.parquet"),
            vec![
                ("x", Arc::new(Float64Array::from(x[a..b].to_vec())) as ArrayRef),
                ("k", Arc::new(StringArray::from(k[a..b].to_vec()))),
            ],
        ));
    }
    let whole = write(
        dir,
        "whole.parquet",
        vec![("x", Arc::new(Float64Array::from(x)) as ArrayRef), ("k", Arc::new(StringArray::from(k)))],
    );
    (parts, whole)
}

fn meta_without_provenance(path: &Path) -> serde_json::Value {
    let out = drift(&["reference", "show", "--format", "json", s(path)]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_object_mut().unwrap().remove("sources");
    v
}

#[test]
fn merging_parts_equals_building_the_whole() {
    let dir = TempDir::new().unwrap();
    let (parts, whole) = split_reference(dir.path());
    let cur = write(
        dir.path(),
        "cur.parquet",
        vec![
            (
                "x",
                Arc::new(Float64Array::from((0..800).map(|i| (i % 13) as f64 * 0.3 - 1.5).collect::<Vec<_>>()))
                    as ArrayRef,
            ),
            ("k", Arc::new(StringArray::from((0..800).map(|i| ["a", "b", "c", "z"][i % 4]).collect::<Vec<_>>()))),
        ],
    );

    // Exact mode: identical.
    let snaps: Vec<PathBuf> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let out = dir.path().join(format!("part{i}.drift"));
            build(&[s(p)], &out, &[]);
            out
        })
        .collect();
    let merged = dir.path().join("merged.drift");
    merge(&snaps.iter().map(PathBuf::as_path).collect::<Vec<_>>(), &merged);
    let built = dir.path().join("whole.drift");
    build(&[s(&whole)], &built, &[]);
    assert_eq!(meta_without_provenance(&merged), meta_without_provenance(&built));
    let (_, a) = check_json(&[s(&merged)], &[s(&cur)], &[]);
    let (_, b) = check_json(&[s(&built)], &[s(&cur)], &[]);
    assert_eq!(a["columns"], b["columns"]);
    let show = drift(&["reference", "show", "--format", "json", s(&merged)]);
    let meta: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(meta["sources"].as_array().unwrap().len(), 3, "provenance lists every part's files");
    assert_eq!(meta["rows"], 9_000);

    // Sketch mode: within the bound.
    let sk: Vec<PathBuf> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let out = dir.path().join(format!("sk{i}.drift"));
            build(&[s(p)], &out, &["--exact-max-values", "0", "--sketch-cells", "256"]);
            out
        })
        .collect();
    let merged_sk = dir.path().join("merged_sk.drift");
    merge(&sk.iter().map(PathBuf::as_path).collect::<Vec<_>>(), &merged_sk);
    let (_, raw) = check_json(&[s(&whole)], &[s(&cur)], &[]);
    let (_, via) = check_json(&[s(&merged_sk)], &[s(&cur)], &[]);
    let (r, v) = (test(column(&raw, "x"), "ks"), test(column(&via, "x"), "ks"));
    let d = r["statistic"].as_f64().unwrap();
    let (mid, eps) = (v["statistic"].as_f64().unwrap(), v["error_bound"].as_f64().unwrap());
    assert!((mid - d).abs() <= eps + 1e-15, "D {d} outside {mid} ± {eps}");
    assert!(eps <= 1.0 / 256.0, "merged bound {eps}");
    assert_eq!(column(&via, "k")["tests"], column(&raw, "k")["tests"], "categories merge exactly");
    let psi = test(column(&via, "x"), "psi");
    assert_eq!(psi["approximate"], true, "edges of merged sketches come from the sketch");
    let exact_psi = test(column(&raw, "x"), "psi")["statistic"].as_f64().unwrap();
    assert!((psi["statistic"].as_f64().unwrap() - exact_psi).abs() < 0.02, "{psi} vs {exact_psi}");
}

#[test]
fn builds_are_reproducible() {
    let dir = TempDir::new().unwrap();
    let (a, b) = (dir.path().join("a.drift"), dir.path().join("b.drift"));
    build(&[&golden("reference.parquet")], &a, &["--exact-max-values", "5000"]);
    build(&[&golden("reference.parquet")], &b, &["--exact-max-values", "5000"]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "same input, same pinned time: same bytes");
}

#[test]
fn damaged_snapshots_are_one_clear_error() {
    let dir = TempDir::new().unwrap();
    let good = dir.path().join("good.drift");
    build(&[&golden("reference.parquet")], &good, &[]);
    let bytes = std::fs::read(&good).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated.drift", bytes[..bytes.len() / 2].to_vec(), "truncated snapshot"),
        (
            "flipped.drift",
            {
                let mut b = bytes.clone();
                let at = b.len() / 3;
                b[at] ^= 0x40;
                b
            },
            "checksum",
        ),
        (
            "newer.drift",
            {
                let mut b = bytes.clone();
                b[8] = 3;
                b
            },
            "newer than this drift reads",
        ),
    ];
    for (name, content, needle) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        for args in
            [vec!["check", "-r", s(&path), "-c", &golden("current.parquet")], vec!["reference", "show", s(&path)]]
        {
            let out = drift(&args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{name}: {err}");
            assert!(err.contains(s(&path)) && err.contains(needle), "{name}: {err}");
            assert_eq!(err.trim_end().lines().count(), 1, "{name}: one line: {err}");
        }
    }
    // A file that is not a snapshot at all.
    let out = drift(&["reference", "show", &golden("reference.parquet")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a drift reference snapshot"));
    // Two snapshots, or a snapshot and Parquet, on one side.
    let out = drift(&["check", "-r", s(&good), &golden("reference.parquet"), "-c", &golden("current.parquet")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--reference takes one snapshot alone"));
}

#[test]
fn snapshots_on_both_sides() {
    let dir = TempDir::new().unwrap();
    let (r_exact, c_exact) = (dir.path().join("r.drift"), dir.path().join("c.drift"));
    build(&[&golden("reference.parquet")], &r_exact, &[]);
    build(&[&golden("current.parquet")], &c_exact, &[]);
    let (_, raw) = check_json(&[&golden("reference.parquet")], &[&golden("current.parquet")], &[]);
    let (_, mut both) = check_json(&[s(&r_exact)], &[s(&c_exact)], &[]);
    // The report names the reference snapshot; the rest is the raw report.
    let id = both.as_object_mut().unwrap().remove("reference_snapshot");
    assert!(id.is_some_and(|id| id["id"].as_str().is_some_and(|h| h.len() == 8)), "the snapshot's id");
    assert_eq!(raw, both, "exact snapshots on both sides: the raw report");

    let (r_sk, c_sk) = (dir.path().join("rs.drift"), dir.path().join("cs.drift"));
    build(&[&golden("reference.parquet")], &r_sk, &["--exact-max-values", "0", "--sketch-cells", "256"]);
    build(&[&golden("current.parquet")], &c_sk, &["--exact-max-values", "0", "--sketch-cells", "256"]);
    for (reference, current) in [(&r_exact, &c_sk), (&r_sk, &c_sk)] {
        let (code, via) = check_json(&[s(reference)], &[s(current)], &[]);
        assert_eq!(code, 1);
        for name in ["age", "income", "score", "clicks"] {
            let (r, v) = (test(column(&raw, name), "ks"), test(column(&via, name), "ks"));
            let d = r["statistic"].as_f64().unwrap();
            let (mid, eps) = (v["statistic"].as_f64().unwrap(), v["error_bound"].as_f64().unwrap());
            assert!((mid - d).abs() <= eps + 1e-15, "{name}: D {d} outside {mid} ± {eps}");
            assert!(eps <= 2.0 / 256.0, "{name}: {eps}");
            assert_eq!(test(column(&via, name), "psi")["approximate"], true, "{name}");
            let psi = test(column(&raw, name), "psi")["statistic"].as_f64().unwrap();
            assert!((test(column(&via, name), "psi")["statistic"].as_f64().unwrap() - psi).abs() < 0.01, "{name}");
            assert_eq!(column(&raw, name)["drift"], column(&via, name)["drift"], "{name}");
        }
    }
}

#[test]
fn show_tells_what_the_model_was_trained_on() {
    let dir = TempDir::new().unwrap();
    let snap = dir.path().join("ref.drift");
    build(&[&golden("reference.parquet")], &snap, &["--exclude", "score"]);
    let out = drift(&["reference", "show", s(&snap)]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("built by drift") && text.contains("2026-01-01T00:00:00Z"), "{text}");
    assert!(text.contains("reference.parquet (20000 rows"), "{text}");
    assert!(text.contains("country") && text.contains("exact"), "{text}");
    assert!(text.contains("not profiled: score (Float64): excluded"), "{text}");
    let json = drift(&["reference", "show", "--format", "json", s(&snap)]);
    let meta: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(meta["format_version"], 2);
    assert_eq!(meta["schema"].as_array().unwrap().len(), 8);
    let age = meta["columns"].as_array().unwrap().iter().find(|c| c["name"] == "age").unwrap();
    assert_eq!(age["numeric"]["mode"], "exact");
    assert_eq!(age["numeric"]["count"], 20000);
}

#[test]
fn capped_categories_compare_as_check_would() {
    let dir = TempDir::new().unwrap();
    let mut rng = Rng::new(5);
    let labels = ["a", "b", "c", "d", "e", "f"];
    let draw = |rng: &mut Rng, w: &[f64], n: usize| -> Vec<&str> { (0..n).map(|_| labels[rng.choose(w)]).collect() };
    // The reference also holds 30 labels seen once (Good-Turing's singletons, all in the
    // pooled tail), and the window 12 values never seen.
    let singles: Vec<String> = (0..30).map(|i| format!("once{i:02}")).collect();
    let mut reference: Vec<&str> = draw(&mut rng, &[6.0, 5.0, 4.0, 3.0, 2.0, 1.0], 3000);
    reference.extend(singles.iter().map(String::as_str));
    let mut current = draw(&mut rng, &[6.0, 5.0, 1.0, 3.0, 2.0, 4.0], 2000);
    current.extend(["fresh"; 12]);
    let r = write(dir.path(), "r.parquet", vec![("k", Arc::new(StringArray::from(reference)) as ArrayRef)]);
    let c = write(dir.path(), "c.parquet", vec![("k", Arc::new(StringArray::from(current)) as ArrayRef)]);
    let snap = dir.path().join("ref.drift");
    for cap in ["10000", "3"] {
        build(&[s(&r)], &snap, &["--max-categories", cap]);
        let (_, raw) = check_json(&[s(&r)], &[s(&c)], &["--max-categories", cap]);
        let (_, via) = check_json(&[s(&snap)], &[s(&c)], &["--max-categories", cap]);
        let (a, b) = (test(column(&raw, "k"), "chi2"), test(column(&via, "k"), "chi2"));
        assert_eq!(a["pooled"], true, "cap {cap}");
        assert_eq!(a, b, "cap {cap}: pooling in the snapshot follows the rule check applies");
        let (a, b) = (test(column(&raw, "k"), "unseen"), test(column(&via, "k"), "unseen"));
        assert_eq!(a, b, "cap {cap}: the snapshot knows the reference's singletons");
    }
    // With the cap at 3, the listed categories must beat every pooled one to keep a bin: the
    // snapshot stores the pooled categories' largest count for that.
    let meta = meta_without_provenance(&snap);
    let k = meta["columns"].as_array().unwrap().iter().find(|c| c["name"] == "k").unwrap();
    assert_eq!(k["categorical"]["singletons"], 30);
    assert!(k["categorical"]["pooled_max"].as_u64().unwrap() > 1, "{k}");
}

#[test]
fn exact_snapshots_of_large_columns_give_the_raw_test_results() {
    // Large enough for the bucketed comparison on the raw path (over 2^16 values in all).
    let dir = TempDir::new().unwrap();
    let mut rng = Rng::new(91);
    let r: Vec<f64> = (0..150_000).map(|_| (rng.normal() * 100.0).round() / 100.0).collect();
    let c: Vec<f64> = (0..60_000).map(|_| (rng.normal() * 100.0).round() / 100.0 + 0.05).collect();
    let rp = write(dir.path(), "r.parquet", vec![("x", Arc::new(Float64Array::from(r)) as ArrayRef)]);
    let cp = write(dir.path(), "c.parquet", vec![("x", Arc::new(Float64Array::from(c)) as ArrayRef)]);
    let snap = dir.path().join("r.drift");
    build(&[s(&rp)], &snap, &[]);
    let (_, raw) = check_json(&[s(&rp)], &[s(&cp)], &[]);
    let (_, via) = check_json(&[s(&snap)], &[s(&cp)], &[]);
    assert_eq!(column(&raw, "x")["tests"], column(&via, "x")["tests"]);
    let (a, b) = (&column(&raw, "x")["reference"]["stats"], &column(&via, "x")["reference"]["stats"]);
    assert_eq!((&a["min"], &a["median"], &a["max"]), (&b["min"], &b["median"], &b["max"]));
    let close = |k: &str| (a[k].as_f64().unwrap() - b[k].as_f64().unwrap()).abs() <= 1e-12 * b["std"].as_f64().unwrap();
    assert!(close("mean") && close("std"), "{a} vs {b}: sums in another order");
}

/// `tests/data/snapshot/format1-sketch.drift`: written by the first file format (drift 0.1.0,
/// `reference build --input tests/data/golden/mixed/reference.parquet --max-categories 3
/// --exact-max-values 0 --sketch-cells 64`), so `country` has a pooled tail. Later formats must
/// keep reading it.
fn format1_fixture() -> String {
    format!("{}/tests/data/snapshot/format1-sketch.drift", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn a_format_1_snapshot_still_reads_and_compares() {
    let old = format1_fixture();
    let json = drift(&["reference", "show", "--format", "json", &old]);
    assert_eq!(json.status.code(), Some(0), "{}", String::from_utf8_lossy(&json.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(meta["format_version"], 1);
    let (code, via) = check_json(&[&old], &[&golden("current.parquet")], &[]);
    assert_eq!(code, 1, "the golden pair drifts");
    // The same reference built now, with the same settings.
    let dir = TempDir::new().unwrap();
    let new = dir.path().join("new.drift");
    let args = ["--max-categories", "3", "--exact-max-values", "0", "--sketch-cells", "64"];
    build(&[&golden("reference.parquet")], &new, &args);
    let (_, now) = check_json(&[s(&new)], &[&golden("current.parquet")], &[]);
    for name in ["age", "income", "score", "clicks", "country", "device", "is_member"] {
        assert_eq!(column(&via, name)["drift"], column(&now, name)["drift"], "{name}");
    }
    for name in ["age", "income", "score", "clicks", "device", "is_member"] {
        assert_eq!(column(&via, name)["tests"], column(&now, name)["tests"], "{name}: the old file holds all it needs");
    }
    assert_eq!(test(column(&via, "country"), "chi2")["pooled"], true);
}
