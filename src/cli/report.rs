//! `drift report`: the HTML page of a stored window, as the daemon serves it at
//! `/monitors/ID?window=N`, written to a file or stdout.

use anyhow::{Result, bail};

use super::{ReportArgs, exit, known_monitor, load, print};
use crate::daemon::pages::{sources, window_page};

/// Runs `drift report`; returns the exit code.
pub fn report(args: &ReportArgs) -> Result<i32> {
    let cfg = load(&args.config)?;
    known_monitor(&cfg, &args.monitor)?;
    let monitor = cfg.monitors.iter().find(|m| m.id == args.monitor).map(sources).unwrap_or_default();
    let state = crate::state::State::open_read_only(&cfg.state_dir)?;
    let Some(page) = window_page(&state, &args.monitor, args.window, args.history, monitor, Vec::new())? else {
        match args.window {
            Some(w) => bail!(
                "--window {w}: monitor {:?} has no evaluated window {w} (see `drift history -c {} -m {}`)",
                args.monitor,
                args.config.display(),
                args.monitor
            ),
            None => bail!("monitor {:?} has no evaluated window yet", args.monitor),
        }
    };
    match &args.output {
        Some(path) => super::check::write_output(path, &page)?,
        None => print(&page),
    }
    Ok(exit::OK)
}
