//! `drift alert test|list|retry`.

use anyhow::Result;

use super::{AlertCommand, exit, known_sink, load, runtime};

/// Runs `drift alert ...`; returns the exit code.
pub fn alert(cmd: &AlertCommand) -> Result<i32> {
    match cmd {
        AlertCommand::Test(a) => {
            let cfg = crate::config::load(&a.config).map_err(|e| anyhow::anyhow!("{e}"))?;
            let sink = known_sink(&cfg, &a.sink)?;
            let n =
                crate::alerts::payload::Notification::test(&a.sink, cfg.external_url.clone(), crate::clock::now_ms());
            match runtime()?.block_on(crate::daemon::deliver::send_once(&a.sink, sink, &n))? {
                Ok(()) => {
                    println!("sink {}: test message delivered", a.sink);
                    Ok(exit::OK)
                }
                Err(e) => {
                    eprintln!("drift: sink {}: test message not delivered: {e}", a.sink);
                    Ok(exit::DRIFT)
                }
            }
        }
        AlertCommand::List(a) => {
            let cfg = load(&a.config)?;
            let st = crate::state::State::open_read_only(&cfg.state_dir)?;
            let rows = st.notifications(a.monitor.as_deref(), a.status.as_deref(), a.limit)?;
            if rows.is_empty() {
                println!("no notifications{}", a.status.as_ref().map_or(" yet".to_owned(), |s| format!(" {s}")));
            }
            for r in rows {
                println!(
                    "{:>5}  {}  {:<10} {:<14} {:<30} {:<8} {:<9} attempts {}{}",
                    r.id,
                    crate::clock::rfc3339_ms(r.created_ms),
                    r.sink,
                    r.monitor,
                    format!("{}{}", r.alertname, r.window_id.map_or(String::new(), |w| format!(" window {w}"))),
                    if r.resolved { "resolved" } else { "firing" },
                    r.status,
                    r.attempts,
                    r.last_error.map_or(String::new(), |e| format!("  last error: {e}"))
                );
            }
            Ok(exit::OK)
        }
        AlertCommand::Retry(a) => {
            let cfg = load(&a.config)?;
            if a.ids.is_empty() && a.sink.is_none() {
                anyhow::bail!("give notification ids (see `drift alert list --status dead`) or --sink NAME");
            }
            if let Some(sink) = &a.sink {
                known_sink(&cfg, sink)?;
            }
            let mut st = crate::state::State::open_shared(&cfg.state_dir)?;
            let n = st.outbox_requeue(&a.ids, a.sink.as_deref(), crate::clock::now_ms())?;
            if n == 0 {
                anyhow::bail!("nothing to retry: no such dead-lettered notification");
            }
            println!(
                "{n} notification(s) queued again; the running daemon delivers them within a minute, in their original order \
                 (`drift run --once` delivers them now)"
            );
            Ok(exit::OK)
        }
    }
}
