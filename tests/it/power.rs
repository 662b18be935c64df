//! Power kept (issue 17): the rules that keep stationary data quiet still see real changes.
//! Each case compares windows drawn fresh from a shifted generator with a 50 000-row
//! reference (a new one every 100 windows) under one policy and counts the windows whose report
//! drifts; seeded, so the counts are the same on every run (printed with `--nocapture`).
//!
//! - One category of ten moving from 10% to 25% of rows (PSI 0.165): detected in at least 90%
//!   of 1 000-row windows under the defaults.
//! - From 10% to 15% (PSI 0.023): detected with PSI floors 0.02 / 0.05 in at least 90% of
//!   50 000-row windows against a 200 000-row reference (the corrected PSI is about the true
//!   0.023 there; on small windows the noise it removes is of the effect's own size, 0.009 at
//!   1 000 rows, so detection there is partial: the counts are printed).
//! - A new category with 5% of rows: detected in at least 90% of windows both when
//!   `__other__` holds 0.4% of the reference (5 000-row windows, where the rare tail is all it
//!   holds) and in the 100-level Zipf column (1 000 rows).
//! - The limit the README states: under the defaults one category must move from 10% to about
//!   22% before a 1 000-row window counts it (`detection_limit_curve`, ignored: it prints the
//!   whole curve).

use drift::engine::{self, ColumnData, Floors, Policy, TableSummary, Values};
use drift::stats::CategoryCounts;
use drift::synth::Rng;

const PER_REFERENCE: usize = 100;

/// Labelled category shares (need not sum to 1: normalised).
type Mix = Vec<(String, f64)>;

fn counts(mix: &Mix, n: usize, rng: &mut Rng) -> ColumnData {
    let total: f64 = mix.iter().map(|m| m.1).sum();
    let mut acc = 0.0;
    let cdf: Vec<f64> = mix
        .iter()
        .map(|m| {
            acc += m.1 / total;
            acc
        })
        .collect();
    let mut hits = vec![0u64; mix.len()];
    for _ in 0..n {
        let u = rng.uniform();
        hits[cdf.partition_point(|&c| c <= u).min(mix.len() - 1)] += 1;
    }
    let mut c = CategoryCounts::new();
    for ((label, _), &h) in mix.iter().zip(&hits) {
        c.add(label, h);
    }
    ColumnData { data_type: "Utf8".into(), rows: n as u64, nulls: 0, nan: 0, values: Values::Categorical(c) }
}

/// Windows of `rows` rows from `current` that drift against 50 000-row references from
/// `reference`.
fn detected(reference: &Mix, current: &Mix, rows: usize, windows: usize, policy: &Policy, seed: u64) -> usize {
    detected_against(reference, 50_000, current, rows, windows, policy, seed)
}

/// The same against references of `reference_rows` rows.
fn detected_against(
    reference: &Mix,
    reference_rows: usize,
    current: &Mix,
    rows: usize,
    windows: usize,
    policy: &Policy,
    seed: u64,
) -> usize {
    let mut hits = 0;
    let mut r = None;
    for w in 0..windows {
        if w % PER_REFERENCE == 0 {
            r = Some(counts(reference, reference_rows, &mut Rng::new(seed ^ (w / PER_REFERENCE) as u64)));
        }
        let r = r.as_ref().unwrap();
        let c = counts(current, rows, &mut Rng::new(seed.wrapping_mul(7919) ^ w as u64 ^ 0xc0ffee));
        let col = engine::compare_column("k", r, &c, policy);
        let (rt, ct) = (
            TableSummary { rows: r.rows, files: 1, ..Default::default() },
            TableSummary { rows: c.rows, files: 1, ..Default::default() },
        );
        hits += usize::from(engine::judge(vec![col], Default::default(), vec![], rt, ct, policy).drift);
    }
    hits
}

/// Ten categories, the first with `share`, the other nine sharing the rest equally.
fn ten(share: f64) -> Mix {
    (0..10).map(|k| (format!("k{k}"), if k == 0 { share } else { (1.0 - share) / 9.0 })).collect()
}

/// `levels` Zipf levels (exponent 1), optionally with a new category taking `new` of the rows.
fn zipf(levels: usize, new: f64) -> Mix {
    let mut m: Mix = (1..=levels).map(|k| (format!("z{k:03}"), (1.0 - new) / k as f64)).collect();
    let total: f64 = m.iter().map(|x| x.1).sum();
    for x in &mut m {
        x.1 *= (1.0 - new) / total;
    }
    if new > 0.0 {
        m.push(("brand-new".into(), new));
    }
    m
}

fn report(what: &str, hits: usize, windows: usize) {
    eprintln!("power: {what}: {hits} of {windows} windows drifted");
}

#[test]
fn a_category_from_10_to_25_percent_is_detected_at_defaults() {
    let hits = detected(&ten(0.10), &ten(0.25), 1_000, 100, &Policy::default(), 1);
    report("10% -> 25%, 1 000 rows, defaults", hits, 100);
    assert!(hits >= 90, "{hits} of 100");
    // The README's limit from below: at 18% the corrected PSI (0.065) is under the floor.
    let below = detected(&ten(0.10), &ten(0.18), 1_000, 100, &Policy::default(), 1);
    report("10% -> 18%, 1 000 rows, defaults", below, 100);
    assert!(below <= 10, "{below} of 100");
}

#[test]
fn a_category_from_10_to_15_percent_is_detected_with_lower_floors() {
    // PSI 0.023 is close to what the reference's own sampling error moves it by, so the
    // reference is large (200 000 rows: its share of the category is within 0.0007) and so
    // are the windows (50 000 rows: the corrected PSI is within about 0.0015 of the truth).
    let policy = Policy { psi: Floors { warning: 0.02, critical: 0.05 }, ..Policy::default() };
    let (from, to) = (ten(0.10), ten(0.15));
    let hits = detected_against(&from, 200_000, &to, 50_000, 100, &policy, 2);
    report("10% -> 15%, 50 000 rows, psi floors 0.02/0.05", hits, 100);
    assert!(hits >= 90, "{hits} of 100");
    for rows in [1_000, 5_000, 20_000] {
        let hits = detected_against(&from, 200_000, &to, rows, 100, &policy, 2);
        report(&format!("10% -> 15%, {rows} rows, psi floors 0.02/0.05"), hits, 100);
    }
}

#[test]
fn a_new_category_with_5_percent_of_rows_is_detected() {
    // Ten common categories and 40 rare ones holding 0.4% of the reference between them: at
    // 5 000 rows the rare ones are all __other__ holds.
    let mut common = zipf(10, 0.0);
    for x in &mut common {
        x.1 *= 0.996;
    }
    let rare: Mix = (0..40).map(|k| (format!("rare{k:02}"), 0.0001)).collect();
    let reference: Mix = common.iter().chain(&rare).cloned().collect();
    let mut current: Mix = reference.iter().map(|(k, p)| (k.clone(), p * 0.95)).collect();
    current.push(("brand-new".into(), 0.05));
    let policy = Policy::default();
    let hits = detected(&reference, &current, 5_000, 100, &policy, 3);
    report("5% new, __other__ 0.4% of the reference, 5 000 rows", hits, 100);
    assert!(hits >= 90, "{hits} of 100");
    let hits = detected(&zipf(100, 0.0), &zipf(100, 0.05), 1_000, 100, &policy, 4);
    report("5% new, 100-level Zipf, 1 000 rows", hits, 100);
    assert!(hits >= 90, "{hits} of 100");
}

#[test]
#[ignore = "prints the detection curve behind the README's limit (about 22%); run explicitly"]
fn detection_limit_curve() {
    for rows in [200, 1_000, 5_000] {
        for pct in 16..=27 {
            let hits = detected(&ten(0.10), &ten(pct as f64 / 100.0), rows, 200, &Policy::default(), 5);
            report(&format!("10% -> {pct}%, {rows} rows, defaults"), hits, 200);
        }
    }
}
