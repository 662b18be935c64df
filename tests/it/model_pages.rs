//! The model panel of a stored window (issue #13), through the real binary: `drift report
//! --window N` while the window waits for its labels, then the daemon's `/monitors/ID` over
//! real HTTP once labels came, its numbers read back against `drift history --format json`'s
//! `model.evaluation`, and the index's model column; the pages strictly parsed (html5lib), fetching nothing, with the CSP,
//! and rendered by chromium.

use std::process::Command;

use tempfile::TempDir;

use crate::html::{assert_fetches_nothing, screenshot_colours, tool};
use crate::model_daemon::{DAY, Setup, label_rows, labels, model_history, once, path, predictions, setup};
use crate::report::get;
use crate::support::{Daemon, s, wait_for, write};

/// `drift report --window N` of the model monitor, to stdout.
fn report(st: &Setup, window: i64) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_drift"))
        .args(["report", "--config", s(&st.config), "--monitor", "model", "--window", &window.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The `<tr>` of `table` (its id) whose `attr` is `value`.
fn row<'a>(page: &'a str, table: &str, attr: &str, value: &str) -> &'a str {
    let start = page.find(&format!("id=\"{table}\"")).unwrap_or_else(|| panic!("no table {table}"));
    let table = &page[start..start + page[start..].find("</table>").unwrap()];
    let at = table.find(&format!("<tr {attr}=\"{value}\"")).unwrap_or_else(|| panic!("no {attr}={value} in {table}"));
    &table[at..at + table[at..].find("</tr>").unwrap()]
}

fn f4(v: &serde_json::Value) -> String {
    format!("{:.4}", v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")))
}

#[test]
fn a_window_page_shows_its_model_quality_from_pending_labels_to_degraded() {
    let st = setup();
    let (inc, lab) = (path(&st, "incoming"), path(&st, "labels"));
    let t0 = drift::clock::now_ms();
    write(&inc, "p1.parquet", predictions(&st.w1, false));
    once(&st, 0);
    // Window 1 closed, no label yet: its page says it waits.
    let pending = report(&st, 1);
    assert!(pending.contains("data-model=\"pending labels\""), "{pending}");
    assert!(pending.contains("<strong>pending labels</strong>: 0 of 1000 (0.0%) predictions labelled so far"));
    assert!(!pending.contains("id=\"model-checks\""), "no evaluation yet");

    // Window 1: 700 labels (fine); window 2: 600 (a coin toss in the south: degraded).
    write(&inc, "p2.parquet", predictions(&st.w2, false));
    labels(&lab, "l1.parquet", &label_rows(&st.w1, 0..700, t0 + DAY * 1000));
    once(&st, 1);
    labels(&lab, "l2.parquet", &label_rows(&st.w2, 0..600, t0 + 2 * DAY * 1000));
    once(&st, 2);
    let h = model_history(&st);
    let e = &h[1]["evaluation"];
    assert_eq!((h[1]["status"].as_str(), h[1]["verdict"].as_str()), (Some("partial"), Some("breached")), "{}", h[1]);

    let offset = (2 * DAY).to_string();
    let daemon = Daemon::start(&st.config, &[(drift::clock::OFFSET_VARIABLE, offset.as_str())]);
    let port = daemon.port();
    let (_, headers, page) = wait_for(60, || Some(get(port, "/monitors/model")).filter(|r| r.0 == 200))
        .unwrap_or_else(|| panic!("no page: {}", daemon.log()));
    assert_eq!(headers["content-security-policy"], drift::daemon::pages::CSP);
    assert!(page.contains("data-model=\"partial: DEGRADED\""), "{page}");
    assert!(page.contains("<strong>partial</strong>: evaluated with 600 of 1000 (60.0%) predictions labelled"));
    let panel = &page[page.find("id=\"model\"").unwrap()..page.find("id=\"overview\"").unwrap()];
    assert!(!panel.contains("NaN") && !panel.contains("inf"), "never NaN or infinity: {panel}");

    // Each thresholded metric: value, bounds, how they were set, breached or not.
    for c in e["whole"]["checks"].as_array().unwrap() {
        let name = c["metric"].as_str().unwrap();
        let tr = row(&page, "model-checks", "data-metric", name);
        assert!(tr.contains(&format!("<td class=\"num\">{}</td>", f4(&c["value"]))), "{name}: {tr} vs {c}");
        assert!(tr.contains(&format!("data-breached=\"{}\"", c["breached"])), "{tr}");
        assert_eq!(tr.contains("BREACHED"), c["breached"] == true, "{tr}");
        match c["threshold"].as_str().unwrap() {
            "learned" => {
                let (lo, hi) = (f4(&c["bounds"]["min"]), f4(&c["bounds"]["max"]));
                assert!(tr.contains(&format!("{lo} to {hi}")), "{tr}");
                let chunks = format!("over {} reference chunks of {} rows", c["band"]["chunks"], c["chunk_rows"]);
                assert!(tr.contains(&chunks), "{tr} lacks {chunks}");
            }
            _ => assert!(tr.contains(&format!("at least {}", f4(&c["bounds"]["min"]))), "{tr}"),
        }
    }
    assert!(row(&page, "model-checks", "data-metric", "roc_auc").contains("BREACHED"), "roc_auc is the breach");
    // Every metric of the task.
    let metrics = e["whole"]["performance"]["metrics"].as_array().unwrap();
    assert_eq!(metrics.len(), 10, "binary with a score: {metrics:?}");
    for m in metrics {
        let tr = row(&page, "model-metrics", "data-metric", m["metric"].as_str().unwrap());
        assert!(tr.contains(&format!("<td class=\"num\">{}</td>", f4(&m["value"]))), "{tr} vs {m}");
    }
    // Segments, breached first; the label distribution; the join.
    let segments = &page[page.find("id=\"model-segments\"").unwrap()..];
    let (south, north) = (
        segments.find("data-segment=\"region=south\"").unwrap(),
        segments.find("data-segment=\"region=north\"").unwrap(),
    );
    assert!(south < north, "the breached segment first");
    assert!(row(&page, "model-segments", "data-segment", "region=south").contains("DEGRADED"));
    for share in e["label_drift"]["shares"].as_array().unwrap() {
        let tr = row(&page, "model-labels", "data-label", share[0].as_str().unwrap());
        let (r, w) = (share[1].as_f64().unwrap() * 100.0, share[2].as_f64().unwrap() * 100.0);
        assert!(
            tr.contains(&format!("<td class=\"num\">{r:.1}%</td><td class=\"num\">{w:.1}%</td>")),
            "{tr} vs {share}"
        );
    }
    let j = &e["join"];
    let join = format!("{} label rows read, {} matched a prediction", j["label_rows"], j["matched"]);
    assert!(page.contains(&join), "{join}");
    // The model per window, and window 1's own page.
    assert!(row(&page, "model-windows", "data-window", "1").contains("partial: ok"));
    assert!(row(&page, "model-windows", "data-window", "2").contains("partial: DEGRADED"));
    let (status, _, first) = get(port, "/monitors/model?window=1");
    assert_eq!(status, 200);
    assert!(first.contains("data-model=\"partial: ok\""), "{first}");
    assert!(!first.contains("id=\"model-windows\""), "window 1's page shows no later window: {first}");

    // The index: the monitor's latest model window.
    let (status, _, index) = get(port, "/");
    assert_eq!(status, 200);
    assert!(index.contains("<th>model</th>"), "{index}");
    assert!(index.contains("data-model-window=\"2\">window 2: partial: DEGRADED</td>"), "{index}");

    let dir = TempDir::new().unwrap();
    let same_site = |href: &str| href == "/" || href.starts_with("/monitors/") || href.starts_with('#');
    for (name, body) in [("window2.html", &page), ("pending.html", &pending), ("index.html", &index)] {
        let file = dir.path().join(name);
        std::fs::write(&file, body).unwrap();
        assert_fetches_nothing(body, &file, same_site);
    }
    if let (Some(chromium), Some(python)) = (tool("DRIFT_CHROMIUM"), tool("DRIFT_HTML5LIB_PYTHON")) {
        for name in ["window2.html", "index.html"] {
            let colours = screenshot_colours(&chromium, &python, &dir.path().join(name));
            assert!(colours > 16, "{name}: {colours} colours: a blank or single-colour render");
        }
    }
}
