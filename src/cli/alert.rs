//! `drift alert test|list|retry`.

use anyhow::Result;

use super::{AlertCommand, AlertListArgs, AlertRetryArgs, AlertTestArgs, exit, known_sink, load, print, runtime};
use crate::output::{NotificationLine, notification_list, requeued, test_delivered, test_not_delivered};

/// Runs `drift alert ...`; returns the exit code.
pub fn alert(cmd: &AlertCommand) -> Result<i32> {
    match cmd {
        AlertCommand::Test(a) => test(a),
        AlertCommand::List(a) => list(a),
        AlertCommand::Retry(a) => retry(a),
    }
}

fn test(a: &AlertTestArgs) -> Result<i32> {
    let cfg = crate::config::load(&a.config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let sink = known_sink(&cfg, &a.sink)?;
    let n = crate::alerts::payload::Notification::test(&a.sink, cfg.external_url.clone(), crate::clock::now_ms());
    match runtime()?.block_on(crate::daemon::deliver::send_once(&a.sink, sink, &n))? {
        Ok(()) => {
            print(&test_delivered(&a.sink));
            Ok(exit::OK)
        }
        Err(e) => {
            eprint!("{}", test_not_delivered(&a.sink, &e.to_string()));
            Ok(exit::DRIFT)
        }
    }
}

fn list(a: &AlertListArgs) -> Result<i32> {
    let cfg = load(&a.config)?;
    let st = crate::state::State::open_read_only(&cfg.state_dir)?;
    let rows = st.notifications(a.monitor.as_deref(), a.status.as_deref(), a.limit)?;
    let lines: Vec<NotificationLine> = rows
        .iter()
        .map(|r| NotificationLine {
            id: r.id,
            created_ms: r.created_ms,
            sink: &r.sink,
            monitor: &r.monitor,
            alertname: &r.alertname,
            window_id: r.window_id,
            resolved: r.resolved,
            status: &r.status,
            attempts: r.attempts,
            last_error: r.last_error.as_deref(),
        })
        .collect();
    print(&notification_list(&lines, a.status.as_deref()));
    Ok(exit::OK)
}

fn retry(a: &AlertRetryArgs) -> Result<i32> {
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
    print(&requeued(n));
    Ok(exit::OK)
}
