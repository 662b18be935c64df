//! `drift history`: a monitor's stored windows.

use anyhow::Result;

use super::{HistoryArgs, HistoryFormat, exit, known_monitor, load, print};
use crate::output::{BudgetLine, HistoryTest, HistoryWindow, budget_table, history_json, history_table};
use crate::state::{ModelWindowRow, TestRow, WindowRow};

/// Runs `drift history`; returns the exit code.
pub fn history(args: &HistoryArgs) -> Result<i32> {
    let cfg = load(&args.config)?;
    known_monitor(&cfg, &args.monitor)?;
    let state = crate::state::State::open_read_only(&cfg.state_dir)?;
    let rows = state.history(&args.monitor, args.limit)?;
    let model: std::collections::HashMap<i64, serde_json::Value> = state
        .model_history(&args.monitor, args.limit.max(rows.len()))?
        .into_iter()
        .map(|m| (m.window_id, model(&m)))
        .collect();
    let windows: Vec<HistoryWindow> =
        rows.iter().map(|w| HistoryWindow { model: model.get(&w.id).cloned(), ..window(w) }).collect();
    print(&match args.format {
        HistoryFormat::Json => history_json(&windows),
        HistoryFormat::Table => {
            // The error budgets at the watermark, then the windows.
            let monitor = cfg.monitors.iter().find(|m| m.id == args.monitor).expect("known_monitor checked it");
            let budgets = crate::daemon::budget::status(&state, monitor)?;
            let lines: Vec<BudgetLine> = budgets
                .iter()
                .map(|b| BudgetLine { alertname: &b.alertname, good: &b.good, state: &b.state })
                .collect();
            budget_table(&lines) + &history_table(&windows)
        }
    });
    Ok(exit::OK)
}

/// A stored window as the output shows it.
fn window(w: &WindowRow) -> HistoryWindow<'_> {
    HistoryWindow {
        window: w.id,
        closed_ms: w.closed_ms,
        files: w.files,
        model: None,
        rows: w.rows,
        rows_future: w.dropped.future_rows,
        rows_late: w.dropped.late_rows,
        start_ms: w.span.map(|s| s.0),
        end_ms: w.span.map(|s| s.1),
        status: &w.status,
        drift: w.drift,
        severity: &w.severity,
        tests: w.tests.iter().map(test).collect(),
    }
}

/// A window's model performance as `history` shows it.
fn model(m: &ModelWindowRow) -> serde_json::Value {
    let mut v = serde_json::json!({ "status": m.status, "rows": m.rows });
    if m.early {
        v["early"] = true.into();
    }
    if let Some(l) = m.labelled {
        v["labelled"] = l.into();
    }
    if let Some(verdict) = &m.verdict {
        v["verdict"] = verdict.as_str().into();
    }
    if let Some(e) = m.report.as_deref().and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok()) {
        v["evaluation"] = e;
    }
    v
}

fn test(t: &TestRow) -> HistoryTest<'_> {
    HistoryTest {
        segment: &t.segment,
        column: &t.column,
        test: &t.test,
        statistic: t.statistic,
        p_value_adjusted: t.p_value_adjusted,
        drift: t.drift,
        severity: &t.severity,
    }
}
