//! `drift history`: a monitor's stored windows.

use std::io::Write;

use anyhow::Result;

use super::{HistoryArgs, ShowFormat, exit, known_monitor, load};

/// Runs `drift history`; returns the exit code.
pub fn history(args: &HistoryArgs) -> Result<i32> {
    let cfg = load(&args.config)?;
    known_monitor(&cfg, &args.monitor)?;
    let state = crate::state::State::open_read_only(&cfg.state_dir)?;
    let windows = state.history(&args.monitor, args.limit)?;
    let mut out = String::new();
    match args.format {
        ShowFormat::Json => {
            let list: Vec<serde_json::Value> = windows
                .iter()
                .map(|w| {
                    serde_json::json!({
                        "window": w.id, "closed_ms": w.closed_ms, "files": w.files, "rows": w.rows,
                        "start_ms": w.span.map(|s| s.0), "end_ms": w.span.map(|s| s.1),
                        "status": w.status, "drift": w.drift, "severity": w.severity,
                        "tests": w.tests.iter().map(|t| serde_json::json!({
                            "segment": t.segment, "column": t.column, "test": t.test, "statistic": t.statistic,
                            "p_value_adjusted": t.p_value_adjusted, "drift": t.drift, "severity": t.severity,
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            out = serde_json::to_string_pretty(&list).map_err(|e| anyhow::anyhow!("{e}"))? + "\n";
        }
        ShowFormat::Table => {
            use std::fmt::Write as _;
            if windows.is_empty() {
                out.push_str("no windows yet\n");
            }
            for w in &windows {
                let drifted: Vec<String> = w
                    .tests
                    .iter()
                    .filter(|t| t.drift)
                    .map(|t| format!("{}:{} {}", t.column, t.test, t.severity))
                    .collect();
                let _ = writeln!(
                    out,
                    "window {:>5}  {}  {:>3} files  {:>9} rows  {:<12}  {}{}",
                    w.id,
                    crate::clock::rfc3339_ms(w.closed_ms),
                    w.files,
                    w.rows,
                    w.status,
                    if w.drift { format!("DRIFT ({})", w.severity) } else { "ok".into() },
                    if drifted.is_empty() { String::new() } else { format!(": {}", drifted.join(", ")) }
                );
            }
        }
    }
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(out.as_bytes()).and_then(|_| o.flush());
    Ok(exit::OK)
}
