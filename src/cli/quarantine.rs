//! `drift quarantine list|release`: the files a monitor set aside after their failed reads, and
//! giving them back to it once they are fixed or replaced.

use anyhow::Result;

use super::{QuarantineCommand, QuarantineListArgs, QuarantineReleaseArgs, exit, known_monitor, load, print};
use crate::output::{QuarantineLine, quarantine_list, quarantine_released};

/// Runs `drift quarantine ...`; returns the exit code.
pub fn quarantine(cmd: &QuarantineCommand) -> Result<i32> {
    match cmd {
        QuarantineCommand::List(a) => list(a),
        QuarantineCommand::Release(a) => release(a),
    }
}

fn list(a: &QuarantineListArgs) -> Result<i32> {
    let cfg = load(&a.config)?;
    if let Some(m) = &a.monitor {
        known_monitor(&cfg, m)?;
    }
    let st = crate::state::State::open_read_only(&cfg.state_dir)?;
    let rows = st.quarantine_list(a.monitor.as_deref())?;
    let lines: Vec<QuarantineLine> = rows
        .iter()
        .map(|r| QuarantineLine {
            monitor: &r.monitor,
            path: &r.path,
            attempts: r.attempts,
            since_ms: r.since_ms,
            error: &r.error,
        })
        .collect();
    print(&quarantine_list(&lines));
    Ok(exit::OK)
}

fn release(a: &QuarantineReleaseArgs) -> Result<i32> {
    let cfg = load(&a.config)?;
    known_monitor(&cfg, &a.monitor)?;
    if a.paths.is_empty() && !a.all {
        anyhow::bail!("give the paths to release (as `drift quarantine list` shows them) or --all");
    }
    let mut st = crate::state::State::open_shared(&cfg.state_dir)?;
    let released = st.quarantine_release(&a.monitor, &a.paths, crate::clock::now_ms())?;
    let missing: Vec<&String> = a.paths.iter().filter(|p| !released.contains(p)).collect();
    if released.is_empty() || !missing.is_empty() {
        let what = if missing.is_empty() { "nothing".to_owned() } else { format!("{missing:?}") };
        anyhow::bail!(
            "{what}: not quarantined in monitor {}{}; see `drift quarantine list --monitor {}`",
            a.monitor,
            if released.is_empty() { "" } else { " (the others were released)" },
            a.monitor
        );
    }
    print(&quarantine_released(&a.monitor, &released));
    Ok(exit::OK)
}
