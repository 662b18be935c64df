//! Logging setup: `tracing` to stderr, level from `RUST_LOG` or `--log-level`, JSON lines when
//! stderr is not a terminal (so log collectors get structured records) or with
//! `--log-format json`, text otherwise. A panic is logged as one record too (`panicked`, with
//! its message, location and thread) rather than as free text between the JSON lines; with
//! `RUST_BACKTRACE` set the standard report with its backtrace follows.

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
    let standard = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        let current = std::thread::current();
        let thread = current.name().unwrap_or("unnamed");
        tracing::error!(panic = %message, location = %location, thread, "panicked");
        if std::env::var_os("RUST_BACKTRACE").is_some() {
            standard(info);
        }
    }));
}
