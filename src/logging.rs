//! Logging setup: `tracing` to stderr, level from `RUST_LOG` or `--log-level`, JSON lines when
//! stderr is not a terminal (so log collectors get structured records) or with
//! `--log-format json`, text otherwise.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// JSON unless stderr is a terminal.
    Auto,
    /// JSON lines.
    Json,
    /// Human-readable text.
    Text,
}

/// Installs the global subscriber; a second call is a no-op.
pub fn init(level: &str, format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let json = match format {
        LogFormat::Auto => !std::io::stderr().is_terminal(),
        LogFormat::Json => true,
        LogFormat::Text => false,
    };
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}
