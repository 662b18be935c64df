//! `drift check --format html`: one well-formed page (a real HTML5 parser, html5lib) that
//! fetches nothing, escapes every data-derived string, draws the report's own numbers, keeps
//! its size bounded by the columns, and renders in a real headless browser (chromium).
//!
//! The parser and the browser come from the CI's tool cache through `DRIFT_HTML5LIB_PYTHON`
//! (a Python with html5lib) and `DRIFT_CHROMIUM`, which `.ci/run` exports; without them a test
//! says why and skips, except under `CI`, where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, StringArray};
use tempfile::TempDir;

use crate::support::{check_json, column, drift, s, test, write};

const REFERENCE: &str = "examples/data/reference.parquet";
const CURRENT: &str = "examples/data/current.parquet";
const INSPECT: &str = "tests/data/html/inspect.py";

/// A tool named by an environment variable; `None` (with the reason printed) outside CI.
pub(crate) fn tool(var: &str) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(p) if Path::new(&p).exists() => Some(PathBuf::from(p)),
        other => {
            let why = format!("{var} is {other:?}: not an existing file (.ci/run installs and exports it)");
            assert!(std::env::var_os("CI").is_none(), "{why}");
            eprintln!("skipped: {why}");
            None
        }
    }
}

/// `drift check ARGS --format html -o DIR/NAME`: the exit code and the page.
fn html_report(dir: &Path, name: &str, args: &[&str]) -> (i32, String, PathBuf) {
    let path = dir.join(name);
    let mut all = vec!["check", "--format", "html", "--output", s(&path)];
    all.extend_from_slice(args);
    let out = drift(&all);
    assert!(out.stdout.is_empty(), "--output leaves stdout empty");
    let code = out.status.code().unwrap();
    let page = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("exit {code}, no page ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (code, page, path)
}

/// The strict html5lib parse of a page: element names, attribute names, src/href values and
/// the stylesheets' text.
pub(crate) fn parse(page: &Path) -> Option<serde_json::Value> {
    let python = tool("DRIFT_HTML5LIB_PYTHON")?;
    let out = Command::new(python).args([INSPECT, "parse", s(page)]).output().unwrap();
    assert!(out.status.success(), "html5lib: {}", String::from_utf8_lossy(&out.stderr));
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect()
}

/// The page references nothing outside itself, by text and (when the parser is at hand) by tree.
fn assert_self_contained(page: &str, path: &Path) {
    assert_fetches_nothing(page, path, |href| href.starts_with('#'));
}

/// [`assert_self_contained`] with the hyperlinks `link_ok` allows (the daemon's pages link to
/// each other by path).
pub(crate) fn assert_fetches_nothing(page: &str, path: &Path, link_ok: fn(&str) -> bool) {
    let lower = page.to_lowercase();
    for needle in ["<script", "<link", "<img", "<iframe", "@import", "url(", "http://", "https://", "javascript:"] {
        assert!(!lower.contains(needle), "the page contains {needle:?}");
    }
    let Some(tree) = parse(path) else { return };
    let elements = strings(&tree["elements"]);
    const ALLOWED: &[&str] = &[
        "html",
        "head",
        "body",
        "meta",
        "title",
        "style",
        "header",
        "footer",
        "section",
        "div",
        "h1",
        "h2",
        "h3",
        "p",
        "strong",
        "span",
        "code",
        "a",
        "dl",
        "dt",
        "dd",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "figure",
        "figcaption",
        "svg",
        "rect",
        "line",
        "polyline",
        "circle",
        "nav",
        "br",
        "text",
        "#comment",
    ];
    for e in &elements {
        assert!(ALLOWED.contains(&e.as_str()), "unexpected element <{e}>");
    }
    for a in strings(&tree["attributes"]) {
        assert!(!a.starts_with("on") && a != "src" && a != "style", "unexpected attribute {a}");
    }
    for r in tree["refs"].as_array().unwrap() {
        assert_eq!(r[0], "a", "only hyperlinks refer: {r}");
        assert!(link_ok(r[2].as_str().unwrap()), "links stay in the page: {r}");
    }
    for css in strings(&tree["styles"]) {
        assert!(!css.contains("url(") && !css.contains("@import"), "the stylesheet fetches");
    }
}

#[test]
fn the_demo_report_is_one_well_formed_page_that_fetches_nothing() {
    let dir = TempDir::new().unwrap();
    let (code, page, path) = html_report(dir.path(), "demo.html", &["-r", REFERENCE, "-c", CURRENT]);
    assert_eq!(code, 1, "--format html keeps check's exit codes: the demo drifts");
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert_self_contained(&page, &path);
    let stdout = drift(&["check", "-r", REFERENCE, "-c", CURRENT, "--format", "html"]);
    assert_eq!(String::from_utf8(stdout.stdout).unwrap(), page, "stdout and --output give the same page");
    // The header: verdict, counts, policy, both sides, schema changes.
    for needle in [
        "DRIFT</span>",
        "4 of 12 columns drifted",
        "1 critical",
        "alpha 0.05 after bh correction",
        "KS D 0.1 / 0.2",
        "examples/data/reference.parquet</code> — 20000 rows in 1 file",
        "<code>legacy_flag</code> column missing (drift)",
        "<code>promo_code</code> column added",
        "id=\"panels\"",
    ] {
        assert!(page.contains(needle), "the page lacks {needle:?}");
    }
    // The overview lists the columns in the text table's order.
    let (_, json) = check_json(&[REFERENCE], &[CURRENT], &[]);
    let mut at = 0;
    for c in json["columns"].as_array().unwrap() {
        let cell = format!("\">{}</a></td>", c["column"].as_str().unwrap());
        at += page[at..].find(&cell).unwrap_or_else(|| panic!("{cell} missing or out of order"));
    }
}

fn strings_array(values: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

/// A column name that is a script.
pub(crate) const SCRIPT: &str = "<script>alert(1)</script>";
/// A category that breaks out of an attribute into an image with a handler.
pub(crate) const IMG: &str = "\"><img src=x onerror=alert(1)>";

/// `n` rows of hostile names: a numeric column named [`SCRIPT`] shifted by `shift`, and a
/// categorical `cat'<b>` of `a` and `b` with [`IMG`] in `weird` of every 4 rows.
pub(crate) fn hostile_side(n: usize, shift: f64, weird: usize) -> Vec<(&'static str, ArrayRef)> {
    let x: Vec<f64> = (0..n).map(|i| (i % 37) as f64 + shift).collect();
    let cats: Vec<&str> = (0..n)
        .map(|i| {
            if i % 4 < weird {
                IMG
            } else if i % 2 == 0 {
                "a"
            } else {
                "b"
            }
        })
        .collect();
    vec![(SCRIPT, Arc::new(Float64Array::from(x)) as ArrayRef), ("cat'<b>", strings_array(&cats))]
}

#[test]
fn every_data_derived_string_is_escaped() {
    let dir = TempDir::new().unwrap();
    let script = SCRIPT;
    let side = |shift: f64, weird: usize| hostile_side(400, shift, weird);
    // A directory name from upstream too.
    let sub = dir.path().join("<i>&amp;");
    let r = write(&sub, "r.parquet", side(0.0, 0));
    let c = write(&sub, "c.parquet", side(5.0, 1));
    let (code, page, path) = html_report(dir.path(), "x.html", &["-r", s(&r), "-c", s(&c)]);
    assert_eq!(code, 1);
    assert!(!page.contains(script) && !page.contains("<img") && !page.contains("<b>") && !page.contains("<i>"));
    for escaped in [
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;",
        "cat&#39;&lt;b&gt;",
        "&lt;i&gt;&amp;amp;",
    ] {
        assert!(page.contains(escaped), "the page lacks {escaped:?}");
    }
    assert_self_contained(&page, &path);
}

/// Every `<rect>` of the histogram (or category chart) right after `anchor`: (side, bin, count,
/// height or width).
fn bars(page: &str, anchor: &str, size: &str) -> Vec<(String, usize, u64, f64)> {
    let start = page.find(anchor).unwrap_or_else(|| panic!("no {anchor}"));
    let chart = &page[start..];
    let chart = &chart[..chart.find("</svg>").unwrap()];
    let attr = |tag: &str, name: &str| -> String {
        let key = format!(" {name}=\"");
        let i = tag.find(&key).unwrap_or_else(|| panic!("no {name} in {tag}")) + key.len();
        tag[i..i + tag[i..].find('"').unwrap()].to_owned()
    };
    chart
        .split("<rect ")
        .skip(1)
        .map(|tag| {
            let tag = &tag[..tag.find('>').unwrap()];
            (
                attr(tag, "data-side"),
                attr(tag, "data-bin").parse().unwrap(),
                attr(tag, "data-count").parse().unwrap(),
                attr(tag, size).parse().unwrap(),
            )
        })
        .collect()
}

/// Per side, each bar's length is its count times one factor (to the drawing's rounding), and
/// the counts are `want`'s in order.
fn assert_proportional(bars: &[(String, usize, u64, f64)], side: &str, want: &[u64]) {
    let mine: Vec<_> = bars.iter().filter(|b| b.0 == side).collect();
    assert_eq!(mine.iter().map(|b| b.2).collect::<Vec<_>>(), want, "{side}: the report's counts in order");
    let top = *want.iter().max().unwrap() as f64;
    let longest = mine.iter().map(|b| b.3).fold(0.0, f64::max);
    for b in &mine {
        let expect = b.2 as f64 / top * longest;
        assert!((b.3 - expect).abs() < 0.02, "{side} bin {}: {} drawn for {}, want {expect}", b.1, b.3, b.2);
    }
}

#[test]
fn the_bars_are_the_reports_counts() {
    let dir = TempDir::new().unwrap();
    let (_, page, _) = html_report(dir.path(), "demo.html", &["-r", REFERENCE, "-c", CURRENT]);
    let (_, json) = check_json(&[REFERENCE], &[CURRENT], &[]);
    for (i, c) in json["columns"].as_array().unwrap().iter().enumerate() {
        let anchor = format!("id=\"col-{i}\"");
        if c["kind"] == "numeric" {
            let psi = test(c, "psi");
            let counts =
                |k: &str| -> Vec<u64> { psi[k].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect() };
            let drawn = bars(&page, &anchor, "height");
            assert_proportional(&drawn, "reference", &counts("reference_counts"));
            assert_proportional(&drawn, "current", &counts("current_counts"));
        } else {
            let pairs = c["category_counts"].as_array().unwrap();
            let counts = |k: &str| -> Vec<u64> { pairs.iter().map(|p| p[k].as_u64().unwrap()).collect() };
            let drawn = bars(&page, &anchor, "width");
            assert_proportional(&drawn, "reference", &counts("reference"));
            assert_proportional(&drawn, "current", &counts("current"));
        }
    }
    let country = column(&json, "country");
    assert!(page.contains("BR (new)"), "a new category is marked");
    assert_eq!(country["category_counts"][5]["reference"], 0);
}

#[test]
fn an_output_file_that_cannot_be_written_is_one_line_naming_it() {
    let dir = TempDir::new().unwrap();
    let target = dir.path().join("no-such-dir").join("report.html");
    let out = drift(&["check", "-r", REFERENCE, "-c", CURRENT, "--format", "html", "-o", s(&target)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(s(&target)) && stderr.contains("cannot write"), "{stderr}");
    assert!(out.stdout.is_empty());
}

/// The benchmark's columns (half numeric, half categorical) at `rows` rows per side.
fn wide_pair(dir: &Path, columns: usize, rows: usize) -> (PathBuf, PathBuf) {
    let side = |name: &str, shifted: bool| {
        let (schema, batches) = drift::synth::bench_batches(rows, columns / 2, columns - columns / 2, shifted, 7);
        let path = dir.join(name);
        drift::synth::write_parquet(&path, schema, batches).unwrap();
        path
    };
    (side("r.parquet", false), side("c.parquet", true))
}

#[test]
fn the_page_size_depends_on_the_columns_not_the_rows() {
    let dir = TempDir::new().unwrap();
    let mut sizes = Vec::new();
    for rows in [2_000, 40_000] {
        let sub = dir.path().join(rows.to_string());
        std::fs::create_dir_all(&sub).unwrap();
        let (r, c) = wide_pair(&sub, 100, rows);
        let (_, page, path) = html_report(&sub, "wide.html", &["-r", s(&r), "-c", s(&c)]);
        assert_self_contained(&page, &path);
        sizes.push(page.len());
    }
    assert!(sizes.iter().all(|&n| n < 1 << 20), "under 1 MB for 100 columns: {sizes:?}");
    let (a, b) = (sizes[0] as f64, sizes[1] as f64);
    assert!((a - b).abs() / a < 0.05, "20 times the rows, about the same size: {sizes:?}");
}

/// A headless chromium screenshot of `page`: the number of distinct colours in it.
pub(crate) fn screenshot_colours(chromium: &Path, python: &Path, page: &Path) -> usize {
    let png = page.with_extension("png");
    let profile = TempDir::new().unwrap();
    let out = Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .arg(format!("--user-data-dir={}", s(profile.path())))
        .arg(format!("--screenshot={}", s(&png)))
        .args(["--window-size=1280,2000", &format!("file://{}", s(page))])
        .output()
        .unwrap();
    assert!(png.exists(), "no screenshot: {}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(python).args([INSPECT, "colours", s(&png)]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().parse().unwrap()
}

#[test]
fn chromium_renders_the_demo_and_a_100_column_report() {
    let (Some(chromium), Some(python)) = (tool("DRIFT_CHROMIUM"), tool("DRIFT_HTML5LIB_PYTHON")) else { return };
    let dir = TempDir::new().unwrap();
    let (_, _, demo) = html_report(dir.path(), "demo.html", &["-r", REFERENCE, "-c", CURRENT]);
    let (r, c) = wide_pair(dir.path(), 100, 3_000);
    let (_, _, wide) = html_report(dir.path(), "wide.html", &["-r", s(&r), "-c", s(&c)]);
    for page in [demo, wide] {
        let colours = screenshot_colours(&chromium, &python, &page);
        assert!(colours > 16, "{}: {colours} colours: a blank or single-colour render", s(&page));
    }
}

/// Calls `f` with each numeric column of the demo's JSON report and its section of the demo's
/// HTML page (from its anchor on); returns how many there were.
fn each_numeric_section_of_the_demo(mut f: impl FnMut(&serde_json::Value, &str)) -> usize {
    let dir = TempDir::new().unwrap();
    let (_, page, _) = html_report(dir.path(), "demo.html", &["-r", REFERENCE, "-c", CURRENT]);
    let (_, json) = check_json(&[REFERENCE], &[CURRENT], &[]);
    let mut n = 0;
    for (i, c) in json["columns"].as_array().unwrap().iter().enumerate() {
        if c["kind"] == "numeric" {
            f(c, &page[page.find(&format!("id=\"col-{i}\"")).unwrap()..]);
            n += 1;
        }
    }
    n
}

#[test]
fn the_ks_marker_sits_where_the_report_says_d_occurs() {
    let checked = each_numeric_section_of_the_demo(|c, section| {
        let ks = test(c, "ks");
        let location = ks["location"].as_f64().expect("ks gives where D occurs");
        let q = |k: &str| -> Vec<f64> { ks[k].as_array().unwrap().iter().filter_map(|x| x.as_f64()).collect() };
        let (rq, cq) = (q("reference_quantiles"), q("current_quantiles"));
        assert_eq!((rq.len(), cq.len()), (101, 101), "{}: the percentiles 0..100 per side", c["column"]);
        let lo = rq.iter().chain(&cq).copied().fold(f64::INFINITY, f64::min);
        let hi = rq.iter().chain(&cq).copied().fold(f64::NEG_INFINITY, f64::max);
        let want = (location - lo) / (hi - lo) * 360.0;
        let marker = &section[section.find("<line class=\"ks\"").expect("a KS marker")..];
        let x1 = &marker[marker.find(" x1=\"").unwrap() + 5..];
        let drawn: f64 = x1[..x1.find('"').unwrap()].parse().unwrap();
        assert!((drawn - want).abs() <= 1.0, "{}: marker at x={drawn}, D occurs at x={want}", c["column"]);
    });
    assert_eq!(checked, 7, "every numeric column of the demo (latency_ms included) has its marker");
}

#[test]
fn the_latency_and_calibration_panels_show_the_json_reports_numbers() {
    let dir = TempDir::new().unwrap();
    let (small_r, c) = wide_pair(dir.path(), 4, 1_500);
    // A calibration that cannot be made says why, in the panel.
    let (_, page, _) = html_report(dir.path(), "failed.html", &["-r", s(&small_r), "-c", s(&c), "--calibrate"]);
    assert!(page.contains("<p class=\"sev-warning\">failed: the reference has 1500 rows"), "the failure is said");
    let big = dir.path().join("big");
    std::fs::create_dir_all(&big).unwrap();
    let (r, _) = wide_pair(&big, 4, 6_000);
    let (code, page, path) = html_report(dir.path(), "cal.html", &["-r", s(&r), "-c", s(&c), "--calibrate"]);
    assert_eq!(code, 1, "the shifted pair drifts");
    let out = drift(&["check", "-r", s(&r), "-c", s(&c), "--calibrate", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cal = &json["calibration"];
    assert!(cal["columns"].is_array(), "{cal}");
    let panel = &page[page.find("Calibration of the reference").expect("a calibration panel")..];
    for col in cal["columns"].as_array().unwrap() {
        let rate = format!("{:.1}%", 100.0 * col["false_drift_rate"].as_f64().unwrap());
        let row = format!("<tr><td>{}</td><td>{rate}</td>", col["column"].as_str().unwrap());
        assert!(panel.contains(&row), "the calibration row {row:?}");
    }
    assert!(panel.contains(&format!("{} shuffled windows", cal["windows"])), "the summary lines");
    assert_self_contained(&page, &path);

    let args = ["-r", REFERENCE, "-c", CURRENT, "--latency", "latency_ms", "--latency-slo", "p99=100"];
    let (code, page, path) = html_report(dir.path(), "latency.html", &args);
    assert_eq!(code, 1, "drift, and the SLO is breached");
    let (_, json) = check_json(&[REFERENCE], &[CURRENT], &args[4..]);
    let panel = &page[page.find("Latency: SLO breached").expect("a breached latency panel, said in words")..];
    for p in json["latency"]["percentiles"].as_array().unwrap() {
        let label = p["label"].as_str().unwrap();
        assert!(panel.contains(&format!("<tr><td>{label}</td>")), "the {label} row");
    }
    assert!(panel.contains("SLO p99 &lt;= 100 ms: BREACHED"), "the SLO line");
    assert_self_contained(&page, &path);
}

#[test]
fn a_snapshot_reference_is_named_by_its_id_in_the_header_and_the_json() {
    let dir = TempDir::new().unwrap();
    let snap = dir.path().join("train.drift");
    let at = "2026-01-01T00:00:00Z";
    let out = drift(&["reference", "build", "--created-at", at, "--output", s(&snap), "--input", REFERENCE]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&snap).unwrap();
    let id = format!("{:08x}", u32::from_le_bytes(bytes[bytes.len() - 4..].try_into().unwrap()));
    let (_, page, path) = html_report(dir.path(), "snap.html", &["-r", s(&snap), "-c", CURRENT]);
    assert!(page.contains(&format!("snapshot id <code>{id}</code>, built by drift ")), "the header names {id}");
    assert!(page.contains(&format!(" at {at}</dd>")));
    let (_, json) = check_json(&[s(&snap)], &[CURRENT], &[]);
    assert_eq!(json["reference_snapshot"]["id"], id.as_str());
    assert_eq!(json["reference_snapshot"]["created_at"], at);
    let (_, parquet) = check_json(&[REFERENCE], &[CURRENT], &[]);
    assert!(parquet.get("reference_snapshot").is_none(), "Parquet data has no snapshot id");
    let shown = drift(&["reference", "show", s(&snap)]);
    assert!(String::from_utf8_lossy(&shown.stdout).lines().next().unwrap().ends_with(&format!(", id {id}")));
    assert_self_contained(&page, &path);
}

/// A category only in the reference is marked vanished, and past the 20 most frequent the
/// rest is pooled under one bar (issue #14's category chart).
#[test]
fn a_vanished_category_is_marked_and_the_tail_pooled() {
    let dir = TempDir::new().unwrap();
    let letters: Vec<String> = (0..25).map(|i| format!("k{i:02}")).collect();
    let side = |gone: usize, each: usize| {
        let mut v: Vec<&str> = vec!["gone"; gone];
        for l in &letters {
            v.extend(std::iter::repeat_n(l.as_str(), each));
        }
        vec![("cat", strings_array(&v))]
    };
    let r = write(dir.path(), "r.parquet", side(200, 32));
    let c = write(dir.path(), "c.parquet", side(0, 40));
    let (_, page, path) = html_report(dir.path(), "x.html", &["-r", s(&r), "-c", s(&c)]);
    assert!(page.contains(">gone (vanished)<"), "the vanished category is marked");
    assert_eq!(page.matches("(rest, pooled)").count(), 1, "one pooled bar for the tail");
    assert!(!page.contains(">k24<") || !page.contains(">k00<"), "not every category drawn");
    assert_self_contained(&page, &path);
}

/// Each PSI bin's contribution in a numeric column's table sums to the PSI the JSON reports.
#[test]
fn the_psi_contributions_sum_to_the_reports_psi() {
    let checked = each_numeric_section_of_the_demo(|c, section| {
        let psi = test(c, "psi")["statistic"].as_f64().unwrap();
        let table = &section[section.find("<table class=\"bins\">").unwrap()..];
        let table = &table[..table.find("</table>").unwrap()];
        let rows: Vec<&str> = table.split("<tr>").skip(2).collect();
        let sum: f64 = rows
            .iter()
            .map(|row| {
                let cell = row.rsplit("<td>").next().unwrap();
                let cell = cell.trim_end_matches("</tbody>").trim_end_matches("</tr>").trim_end_matches("</td>");
                cell.parse::<f64>().unwrap_or_else(|e| panic!("{cell:?}: {e}"))
            })
            .sum();
        // Each cell is shown to 4 decimals (or 3 significant digits below 1e-3): up to 5e-5 off.
        let shown = 5e-5 * rows.len() as f64;
        assert!((sum - psi).abs() <= shown + 1e-6, "{}: contributions sum to {sum}, PSI {psi}", c["column"]);
    });
    assert!(checked >= 5, "{checked} numeric columns");
}
