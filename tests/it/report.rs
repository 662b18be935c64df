//! Stored windows as pictures: `drift report` on a state written by an older drift (the
//! committed `tests/data/state/schema3.sqlite3`) before and after its upgrade, drift over time
//! drawn from the stored effects with the alerts' firing and resolving windows, and the daemon's
//! `/` and `/monitors/ID` through a real HTTP client: the CSP header, escaping of hostile names,
//! a strict HTML5 parse and a chromium render.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::html::{SCRIPT, assert_fetches_nothing, hostile_side, screenshot_colours, tool};
use crate::support::{Daemon, check_json, drift, s, wait_for, write};

const OLD_STATE: &str = "tests/data/state/schema3.sqlite3";
const REFERENCE: &str = "examples/data/reference.parquet";
const CURRENT: &str = "examples/data/current.parquet";
/// The demo monitor's column selection (as in `monitors/demo.toml`).
const DEMO: &str = "[columns]\nexclude = [\"event_time\", \"request_id\"]";

/// A daemon file and one monitor `checkout` over `source` (a directory), state in `DIR/state`;
/// `extra_monitor` opens the monitor file.
fn config(dir: &Path, source: &Path, reference: &Path, extra_monitor: &str) -> PathBuf {
    let monitors = dir.join("monitors");
    std::fs::create_dir_all(&monitors).unwrap();
    std::fs::create_dir_all(source).unwrap();
    std::fs::write(
        monitors.join("drift.toml"),
        format!(
            "state_dir = {:?}\nlisten = \"127.0.0.1:0\"\npoll_secs = 1\n[sinks.log]\ntype = \"log\"\n",
            s(&dir.join("state"))
        ),
    )
    .unwrap();
    std::fs::write(
        monitors.join("checkout.toml"),
        format!(
            "{extra_monitor}\n[source]\npath = {:?}\nsettle_secs = 0\n[reference]\npath = {:?}\n[window]\ntype = \"files\"\nmin_rows = 100\n[alerts]\nwarning = [\"log\"]\ncritical = [\"log\"]\n",
            s(source),
            s(&std::fs::canonicalize(reference).unwrap())
        ),
    )
    .unwrap();
    monitors.join("drift.toml")
}

/// `drift report ... -o DIR/NAME`: the page (the command must succeed).
fn report(config: &Path, args: &[&str], out: &Path) -> String {
    let mut all = vec!["report", "--config", s(config), "--monitor", "checkout", "--output", s(out)];
    all.extend_from_slice(args);
    let o = drift(&all);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_to_string(out).unwrap()
}

fn sql(db: &Path, query: &str) -> String {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.query_row(query, [], |r| r.get::<_, rusqlite::types::Value>(0))
        .map(|v| match v {
            rusqlite::types::Value::Integer(i) => i.to_string(),
            rusqlite::types::Value::Text(t) => t,
            other => format!("{other:?}"),
        })
        .unwrap()
}

/// A drift-over-time chart read back: every point's (window, effect, cy), every floor line's
/// (class, floor, y), and the value at the top of the chart.
type Chart = (Vec<(i64, f64, f64)>, Vec<(String, f64, f64)>, f64);

/// The drift-over-time chart titled `label`, read back.
fn timeline(page: &str, label: &str) -> Chart {
    let start = page.find(&format!("<h3>{label}</h3>")).unwrap_or_else(|| panic!("no chart {label}"));
    let chart = &page[start..start + page[start..].find("</svg>").unwrap()];
    let attr = |el: &str, name: &str| -> String {
        let at = el.find(&format!(" {name}=\"")).unwrap_or_else(|| panic!("no {name} in {el}")) + name.len() + 3;
        el[at..at + el[at..].find('"').unwrap()].to_owned()
    };
    let top: f64 = attr(chart, "data-top").parse().unwrap();
    let mut points = Vec::new();
    let mut floors = Vec::new();
    for el in chart.split('<').skip(1) {
        if el.starts_with("circle ") {
            points.push((
                attr(el, "data-window").parse().unwrap(),
                attr(el, "data-effect").parse().unwrap(),
                attr(el, "cy").parse().unwrap(),
            ));
        } else if el.starts_with("line ") && el.contains("data-floor") {
            floors.push((attr(el, "class"), attr(el, "data-floor").parse().unwrap(), attr(el, "y1").parse().unwrap()));
        }
    }
    (points, floors, top)
}

#[test]
fn a_schema_3_state_is_upgraded_and_its_windows_render_the_same_before_and_after() {
    let dir = TempDir::new().unwrap();
    let cfg = config(dir.path(), &dir.path().join("empty"), Path::new(REFERENCE), DEMO);
    std::fs::create_dir_all(dir.path().join("state")).unwrap();
    let db = dir.path().join("state/drift.sqlite3");
    std::fs::copy(OLD_STATE, &db).unwrap();
    assert_eq!(sql(&db, "SELECT value FROM meta WHERE key = 'schema_version'"), "3");

    // Read-only, before any upgrade: the old reports carry their pictures inline.
    let before = report(&cfg, &["--window", "1"], &dir.path().join("before.html"));
    assert!(before.contains("drift report: checkout, window 1"));
    assert!(before.contains("class=\"ks\""), "the KS marker of the ECDF is drawn");
    assert!(before.contains("data-side=\"reference\""), "histograms are drawn");
    assert!(!before.contains("past <code>[retention] report_days</code>"));

    // A writer (the daemon, once) upgrades the state: pictures moved out of the reports.
    let o = drift(&["run", "--once", "--config", s(&cfg)]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(sql(&db, "SELECT value FROM meta WHERE key = 'schema_version'"), "7");
    assert_eq!(sql(&db, "SELECT COUNT(*) FROM model_windows"), "0", "schema 7's tables are created");
    assert_eq!(sql(&db, "SELECT COUNT(*) FROM window_dropped"), "0", "schema 6's table is created");
    assert_eq!(sql(&db, "SELECT COUNT(*) FROM window_pictures"), "3");
    assert_eq!(sql(&db, "SELECT COUNT(*) FROM windows WHERE report LIKE '%reference_quantiles%'"), "0");
    assert_eq!(sql(&db, "SELECT COUNT(*) FROM windows WHERE report LIKE '%category_counts%'"), "0");

    let after = report(&cfg, &["--window", "1"], &dir.path().join("after.html"));
    assert_eq!(before, after, "the upgraded window renders exactly as before");

    // The latest window (3) shows the alert fired by window 1 and resolved by window 3.
    let latest = report(&cfg, &[], &dir.path().join("latest.html"));
    assert!(latest.contains("window 3"));
    assert!(latest.contains("data-mark=\"fired\" data-window=\"1\""), "fired at 1");
    assert!(latest.contains("data-mark=\"resolved\" data-window=\"3\""), "resolved at 3");
    assert!(!latest.contains("data-mark=\"fired\" data-window=\"3\""));

    // Past its retention the pictures go, each monitor's latest stays, the numbers stay.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("UPDATE window_pictures SET closed_ms = 0 WHERE window_id = 1", []).unwrap();
    drop(conn);
    let o = drift(&["history", "--config", s(&cfg), "--monitor", "checkout", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let bad = drift(&["report", "--config", s(&cfg), "--monitor", "checkout", "--window", "7"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--window 7") && err.contains("drift history"), "{err}");
}

#[test]
fn drift_over_time_draws_the_stored_effects_against_their_floors() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("data");
    let latency = "[latency]\ncolumn = \"latency_ms\"\n[[latency.slo]]\nquantile = 0.99\ncritical_ms = 100";
    let cfg = config(dir.path(), &data, Path::new(REFERENCE), &format!("{DEMO}\n{latency}"));
    // Three windows: drift, none, drift.
    for (i, file) in [CURRENT, REFERENCE, CURRENT].iter().enumerate() {
        std::fs::copy(file, data.join(format!("part-{i}.parquet"))).unwrap();
        let o = drift(&["run", "--once", "--config", s(&cfg)]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let page = report(&cfg, &[], &dir.path().join("r.html"));
    let (_, check) = check_json(&[REFERENCE], &[CURRENT], &["--exclude", "event_time"]);
    let age = check["columns"].as_array().unwrap().iter().find(|c| c["column"] == "age").unwrap();
    let ks = age["tests"].as_array().unwrap().iter().find(|t| t["test"] == "ks").unwrap();
    let (points, floors, top) = timeline(&page, "age · ks");
    assert_eq!(points.iter().map(|p| p.0).collect::<Vec<_>>(), [1, 2, 3], "one point per window");
    let want = ks["effect"].as_f64().unwrap();
    for &(w, effect, cy) in &points {
        if w != 2 {
            assert_eq!(effect, want, "window {w}: the effect `drift check` computes on the same files");
        }
        let y = 96.0 - effect.min(top) / top * 96.0;
        assert!((cy - y).abs() < 0.01, "window {w}: cy {cy} is not the effect's height {y}");
    }
    assert!(
        points[1].1 < ks["threshold"]["floor"].as_f64().unwrap(),
        "window 2 (the reference itself) is under the floor"
    );
    let floor = |class: &str| floors.iter().find(|f| f.0 == class).unwrap_or_else(|| panic!("no {class}")).1;
    assert_eq!(floor("floor"), ks["threshold"]["floor"].as_f64().unwrap());
    assert_eq!(floor("critical-floor"), ks["threshold"]["critical_floor"].as_f64().unwrap());
    let panel = &page[page.find("latency (LatencySLOBreached)</h3>").expect("the window's latency panel")..];
    assert!(panel.starts_with("latency (LatencySLOBreached)</h3><table class=\"tests\"><thead><tr><th>LATENCY latency_ms</th><th>REQUESTS</th>"), "{}", &panel[..300]);
    assert!(panel.contains("<td>(window)</td><td>8000</td>"), "the window's requests");
    assert!(page.contains("data-mark=\"fired\" data-window=\"1\""), "window 1 fired the alert");
    assert!(!page.contains("data-mark=\"fired\" data-window=\"3\""), "still firing at 3: no second page");
    assert!(!page.contains("data-mark=\"resolved\""), "one clean window does not resolve (resolve_after = 2)");
}

/// A GET through reqwest: (status, the headers, the body).
pub(crate) fn get(port: u16, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let client = drift::daemon::deliver::http_client().unwrap();
        let r = client.get(format!("http://127.0.0.1:{port}{path}")).send().await.unwrap();
        let (status, headers) = (r.status().as_u16(), r.headers().clone());
        (status, headers, r.text().await.unwrap())
    })
}

#[test]
fn the_daemon_serves_its_pages_with_the_csp_and_every_hostile_name_escaped() {
    let dir = TempDir::new().unwrap();
    let script = SCRIPT;
    let side = |shift: f64, weird: usize| hostile_side(600, shift, weird);
    let reference = write(dir.path(), "reference.parquet", side(0.0, 0));
    let data = dir.path().join("data");
    let cfg = config(dir.path(), &data, &reference, "description = \"<b>bold</b> & co\"");
    write(&data, "part-1.parquet", side(5.0, 1));
    let daemon = Daemon::start(&cfg, &[]);
    let port = daemon.port();
    let (status, headers, page) = wait_for(60, || {
        let r = get(port, "/monitors/checkout");
        (r.0 == 200).then_some(r)
    })
    .unwrap_or_else(|| panic!("no window page: {}", daemon.log()));
    assert_eq!(status, 200);
    let csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";
    assert_eq!(headers["content-security-policy"], csp);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(!page.contains(script) && !page.contains("<img") && !page.contains("<b>"), "raw markup from the data");
    for escaped in
        ["&lt;script&gt;alert(1)&lt;/script&gt;", "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;", "cat&#39;&lt;b&gt;"]
    {
        assert!(page.contains(escaped), "the page lacks {escaped:?}");
    }
    assert!(page.contains("id=\"over-time\"") && page.contains("data-mark=\"fired\""), "drift over time, fired");
    let (status, headers, index) = get(port, "/");
    assert_eq!(status, 200);
    assert_eq!(headers["content-security-policy"], csp);
    assert!(index.contains("href=\"/monitors/checkout\""));
    assert!(index.contains("&lt;b&gt;bold&lt;/b&gt; &amp; co") && !index.contains("<b>bold"), "{index}");
    assert!(index.contains("<code>DataDrift</code>"), "the firing alert is listed");
    assert!(index.contains("data-drifted=\"2\""), "the sparkline counts the two drifted columns");
    assert!(!index.contains("<th>model</th>"), "no model column without a [model]");
    let (status, headers, missing) = get(port, "/monitors/%3Cscript%3E");
    assert_eq!(status, 404);
    assert_eq!(headers["content-security-policy"], csp);
    assert!(!missing.contains("<script>") && missing.contains("&lt;script&gt;"), "{missing}");
    assert_eq!(get(port, "/monitors/checkout?window=x").0, 400);
    assert_eq!(get(port, "/monitors/checkout?window=999").0, 404);

    let same_site = |href: &str| href == "/" || href.starts_with("/monitors/") || href.starts_with('#');
    let pages = [("window.html", &page), ("index.html", &index), ("missing.html", &missing)];
    for (name, body) in pages {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        assert_fetches_nothing(body, &path, same_site);
    }
    if let (Some(chromium), Some(python)) = (tool("DRIFT_CHROMIUM"), tool("DRIFT_HTML5LIB_PYTHON")) {
        for name in ["window.html", "index.html"] {
            let colours = screenshot_colours(&chromium, &python, &dir.path().join(name));
            assert!(colours > 16, "{name}: {colours} colours: a blank or single-colour render");
        }
    }
}
