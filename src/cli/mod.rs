//! The command line: argument definitions (`args.rs`, re-exported here) apart from the commands,
//! one module per command group (`check`, `reference`, `run` and `validate`, `history`, `report`,
//! `silence`, `alert`, `quarantine`), each of which calls the library and prints what [`crate::output`]
//! renders; `main.rs` only parses and dispatches. Exit codes for the whole CLI live here
//! ([`exit`]), with the few helpers the commands share.

use std::io::{IsTerminal, Write};

use anyhow::Result;

mod alert;
mod args;
mod check;
mod history;
mod quarantine;
mod reference;
mod report;
mod run;
mod silence;

pub use alert::alert;
pub use args::{
    AlertCommand, AlertListArgs, AlertRetryArgs, AlertTestArgs, BuildArgs, CheckArgs, Cli, ColumnArgs, Command,
    HistoryArgs, HistoryFormat, MergeArgs, QuarantineCommand, QuarantineListArgs, QuarantineReleaseArgs,
    ReferenceCommand, ReportArgs, RunArgs, ShowArgs, ShowFormat, SilenceAddArgs, SilenceCommand, SilenceExpireArgs,
    SilenceListArgs, StoresArg, ValidateArgs,
};
pub use check::check;
pub use history::history;
pub use quarantine::quarantine;
pub use reference::reference;
pub use report::report;
pub use run::{run, validate};
pub use silence::{parse_until, silence};

/// Process exit codes, one table for the whole CLI.
///
/// | command | 0 | 1 | 2 | 64 |
/// |---|---|---|---|---|
/// | `check` | no drift | drift | error, including usage | |
/// | `reference ...` | done | | error, including usage | |
/// | `validate` | valid | | | bad configuration or usage |
/// | `run` | stopped cleanly (`--once`: done) | runtime failure (`--once --fail-on-drift`: drift) | | bad configuration or usage |
/// | `history`, `silence ...`, `alert list`, `alert retry` | done | | error | |
/// | `report` | written | | error (no such monitor or window) | |
/// | `quarantine list`, `quarantine release` | done | | error (`release`: a path not quarantined) | |
/// | `alert test` | delivered | not delivered | error | |
pub mod exit {
    /// Success; for `check`, no drift.
    pub const OK: i32 = 0;
    /// `check` found drift.
    pub const DRIFT: i32 = 1;
    /// An error (bad input, bad usage).
    pub const ERROR: i32 = 2;
    /// `validate` and `run`: bad configuration or usage (`EX_USAGE`), so a service manager can
    /// tell it from a runtime failure and not restart in a loop.
    pub const CONFIG: i32 = 64;

    /// The exit code for a command-line usage error, by subcommand.
    pub fn usage(subcommand: Option<&str>) -> i32 {
        match subcommand {
            Some("validate" | "run") => CONFIG,
            _ => ERROR,
        }
    }
}

/// Writes what a command rendered to stdout. A closed pipe (`drift ... | head`) is not an error
/// worth a message.
fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}

/// A progress line on stderr, only when stderr is a terminal.
fn progress_bar(disabled: bool, what: &str) -> indicatif::ProgressBar {
    if disabled || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let b = indicatif::ProgressBar::new(0);
    let template = format!("{{spinner}} {what} {{pos}}/{{len}} [{{elapsed}}]");
    b.set_style(
        indicatif::ProgressStyle::with_template(&template).unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    b
}

/// A multi-threaded tokio runtime for the commands that run the daemon or send, its blocking
/// pool bounded explicitly ([`crate::daemon::MAX_BLOCKING_THREADS`]; the unit's `TasksMax=` is
/// derived from it).
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(crate::daemon::MAX_BLOCKING_THREADS)
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the runtime: {e}"))
}

/// Loads the configuration for a command that reads the state but never sends: the sinks'
/// secrets are not read, so an operator's shell needs no webhook URL.
fn load(config: &std::path::Path) -> Result<crate::config::Config> {
    crate::config::load_without_secrets(config).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The configured monitor `id`, or an error listing those there are.
fn known_monitor(cfg: &crate::config::Config, id: &str) -> Result<()> {
    if cfg.monitors.iter().any(|m| m.id == id) {
        return Ok(());
    }
    let ids: Vec<&str> = cfg.monitors.iter().map(|m| m.id.as_str()).collect();
    anyhow::bail!("no monitor {id:?} in {}; monitors: {}", cfg.file.display(), ids.join(", "))
}

/// The configured sink `name`, or an error listing those there are.
fn known_sink<'a>(cfg: &'a crate::config::Config, name: &str) -> Result<&'a crate::config::Sink> {
    cfg.sinks.get(name).ok_or_else(|| {
        let known: Vec<&str> = cfg.sinks.keys().map(String::as_str).collect();
        anyhow::anyhow!("no sink {name:?} in {}; sinks: {}", cfg.file.display(), known.join(", "))
    })
}

/// `--config`: installs the daemon file's `[stores]` for object URLs (every problem at once).
fn use_stores(arg: &StoresArg) -> anyhow::Result<()> {
    if let Some(file) = &arg.config {
        let stores = crate::config::load_stores(file).map_err(|e| anyhow::anyhow!("{e}"))?;
        crate::source::object::install(stores);
    }
    Ok(())
}
