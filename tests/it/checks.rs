//! Another kind of check on the daemon's windows, end to end through the library: a test-only
//! kind is put on a monitor loaded from real files, the daemon's own cycle evaluates a window of
//! real Parquet files, and the kind's alert is stored with the window and queued in the outbox
//! like drift's, with its detail under its kind in the webhook body. (No kind is registered in
//! the shipped binary yet, so this is where the path from a window to an alert is proven.)

use std::sync::Arc;

use anyhow::Result;
use arrow_array::{ArrayRef, Float64Array};
use drift::checks::{CheckInput, Checks, WindowCheck};
use drift::engine::Severity;
use drift::engine::check::{CheckAlert, CheckFinding, CheckResult, CheckStatus};
use drift::synth::Rng;
use tempfile::TempDir;

use crate::support::write;

/// Breached when the window has fewer rows than `min_rows`.
#[derive(Debug)]
struct Volume {
    min_rows: u64,
}

impl WindowCheck for Volume {
    fn evaluate(&self, w: &CheckInput<'_>) -> Result<CheckResult> {
        let rows = w.report.current.rows;
        let low = rows < self.min_rows;
        let findings = if low {
            vec![CheckFinding {
                subject: "rows".into(),
                test: "min_rows".into(),
                value: Some(rows as f64),
                floor: Some(self.min_rows as f64),
                critical_floor: None,
                severity: Severity::Warning,
                summary: Some(format!("{rows} rows < {}", self.min_rows)),
            }]
        } else {
            Vec::new()
        };
        Ok(CheckResult {
            kind: "volume".into(),
            alertname: "LowVolume".into(),
            alerts: vec![CheckAlert {
                segment: String::new(),
                status: if low { CheckStatus::Breached } else { CheckStatus::Clean },
                findings,
                rows,
            }],
            detail: serde_json::json!({"rows": rows, "min_rows": self.min_rows}),
        })
    }
}

fn x(n: usize, seed: u64) -> Vec<(&'static str, ArrayRef)> {
    let mut r = Rng::new(seed);
    vec![("x", Arc::new(Float64Array::from((0..n).map(|_| r.normal()).collect::<Vec<_>>())) as ArrayRef)]
}

#[test]
fn a_kind_of_check_alerts_through_the_daemons_window_state_and_outbox() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    write(root, "reference.parquet", x(2000, 1));
    std::fs::create_dir_all(root.join("monitors")).unwrap();
    std::fs::create_dir_all(root.join("incoming")).unwrap();
    std::fs::write(
        root.join("drift.toml"),
        "state_dir = \"state\"\nlisten = \"127.0.0.1:0\"\nmonitors_dir = \"monitors\"\n\n[sinks.audit]\ntype = \"file\"\npath = \"audit.jsonl\"\n",
    )
    .unwrap();
    std::fs::write(
        root.join("monitors/m.toml"),
        "[source]\npath = \"../incoming\"\nsettle_secs = 0\n\n[reference]\npath = \"../reference.parquet\"\n\n\
         [window]\nmin_rows = 50\n\n[alerts]\nwarning = [\"audit\"]\ncritical = [\"audit\"]\n",
    )
    .unwrap();
    let mut cfg = drift::config::load(&root.join("drift.toml")).unwrap();
    cfg.monitors[0].checks = Checks(vec![Arc::new(Volume { min_rows: 1000 })]);
    let (shared, mut runs) = drift::daemon::prepare(&cfg).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let now = drift::clock::now_ms();

    // 300 calm rows: no drift, but under the volume floor.
    let f = write(&root.join("incoming"), "a.parquet", x(300, 2));
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    std::fs::File::options().write(true).open(&f).unwrap().set_modified(old).unwrap();
    let outcome = rt.block_on(drift::daemon::cycle(&shared, &mut runs[0], now)).unwrap();
    let (window, report) = &outcome.windows[0];
    let report = report.as_ref().expect("evaluated");
    assert!(!report.drift, "the rows themselves do not drift");
    assert_eq!(report.checks[0].alerts[0].status, CheckStatus::Breached);

    let st = shared.state().unwrap();
    // Stored with the window.
    let stored: serde_json::Value = serde_json::from_str(&st.report(*window).unwrap().unwrap()).unwrap();
    assert_eq!(stored["checks"][0]["kind"], "volume", "{stored}");
    assert_eq!(stored["checks"][0]["alerts"][0]["status"], "breached");
    // Queued like drift's alert, to the warning route, with its own name.
    let queued = st.notifications(Some("m"), None, 10).unwrap();
    let names: Vec<&str> = queued.iter().map(|r| r.alertname.as_str()).collect();
    assert_eq!(names, ["LowVolume"], "only the volume alert: the window did not drift");
    assert_eq!((queued[0].sink.as_str(), queued[0].window_id), ("audit", Some(*window)));
    drop(st);

    // Delivered by the outbox worker: the webhook body carries drift.volume, no drift columns.
    let mut d = drift::daemon::deliver::Deliverer::new(7).unwrap();
    rt.block_on(d.pump(&shared.state, &cfg, &shared.metrics, now)).unwrap();
    let audit = std::fs::read_to_string(root.join("audit.jsonl")).unwrap();
    let body: serde_json::Value = serde_json::from_str(audit.lines().next().unwrap()).unwrap();
    assert_eq!(body["commonLabels"]["alertname"], "LowVolume");
    assert_eq!(body["drift"]["volume"], serde_json::json!({"rows": 300, "min_rows": 1000}));
    assert_eq!(body["drift"]["columns"], serde_json::json!([]));
    assert_eq!(body["alerts"][0]["labels"]["column"], "rows");

    // Enough rows: clean; after resolve_after (2) clean windows the alert resolves.
    for (i, name) in ["b.parquet", "c.parquet"].iter().enumerate() {
        let f = write(&root.join("incoming"), name, x(1500, 3 + i as u64));
        std::fs::File::options().write(true).open(&f).unwrap().set_modified(old).unwrap();
        rt.block_on(drift::daemon::cycle(&shared, &mut runs[0], now + 1000 * (i as i64 + 1))).unwrap();
    }
    let st = shared.state().unwrap();
    let queued = st.notifications(Some("m"), None, 10).unwrap();
    assert!(queued.iter().any(|r| r.alertname == "LowVolume" && r.resolved), "resolved after two clean windows");
}
