//! The command line: clap definitions, and one function per command that calls the library
//! and prints through one place. Exit codes for the whole CLI live here ([`exit`]).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use crate::check::{CheckOptions, run_check};
use crate::engine::{Extras, Floors, Policy};
use crate::output::{Format, render};
use crate::snapshot::{BuildSettings, Selection, Snapshot};
use crate::source::Dataset;
use crate::stats::Correction;

/// Process exit codes, one table for the whole CLI.
///
/// | command | 0 | 1 | 2 | 64 |
/// |---|---|---|---|---|
/// | `check` | no drift | drift | error, including usage | |
/// | `reference ...` | done | | error, including usage | |
/// | `validate` | valid | | | bad configuration or usage |
/// | `run` | stopped cleanly (`--once`: done) | runtime failure (`--once --fail-on-drift`: drift) | | bad configuration or usage |
/// | `history`, `silence ...`, `alert list` | done | | error | |
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

/// drift: catch production data that stopped looking like the training data.
#[derive(Debug, Parser)]
#[command(name = "drift", version, about, long_about = None)]
pub struct Cli {
    /// Log level (error, warn, info, debug, trace); RUST_LOG wins when set. Default: info for
    /// the running daemon, warn otherwise.
    #[arg(long, global = true)]
    pub log_level: Option<String>,
    /// Log format on stderr: JSON lines when stderr is not a terminal (auto), or as given.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    pub log_format: crate::logging::LogFormat,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compare current data with reference data once; exit 1 on drift.
    Check(CheckArgs),
    /// Build, inspect and merge reference snapshots.
    #[command(subcommand)]
    Reference(ReferenceCommand),
    /// Check the daemon file and every monitor file; print every problem; exit 64 if any.
    Validate(ValidateArgs),
    /// Run the daemon: watch every monitor's source and evaluate new data as it lands.
    Run(RunArgs),
    /// Print a monitor's evaluation history from the state database.
    History(HistoryArgs),
    /// Silence notifications of a monitor (or some of its columns or segments) for a while.
    #[command(subcommand)]
    Silence(SilenceCommand),
    /// Send a test message to a sink; list notifications and their delivery.
    #[command(subcommand)]
    Alert(AlertCommand),
}

/// `drift silence ...`
#[derive(Debug, Subcommand)]
pub enum SilenceCommand {
    /// Add a silence: matching notifications are recorded, not sent, until it ends.
    Add(SilenceAddArgs),
    /// List silences (active ones; --all for ended ones too).
    List(SilenceListArgs),
    /// End a silence now.
    Expire(SilenceExpireArgs),
}

/// `drift silence add` arguments.
#[derive(Debug, Args)]
pub struct SilenceAddArgs {
    /// The daemon file (for the state directory and the monitor ids).
    #[arg(long, short = 'c')]
    pub config: PathBuf,
    /// The monitor id.
    #[arg(long, short = 'm')]
    pub monitor: String,
    /// Only this column (default: every column and the operational alerts).
    #[arg(long)]
    pub column: Option<String>,
    /// Only this segment label ("" for the whole window; default: every segment).
    #[arg(long)]
    pub segment: Option<String>,
    /// When it ends: an RFC 3339 time (2026-11-27T08:00:00Z) or a duration from now (90m, 2h, 3d).
    #[arg(long)]
    pub until: String,
    /// Why (shown by `drift silence list`).
    #[arg(long)]
    pub reason: String,
}

/// `drift silence list` arguments.
#[derive(Debug, Args)]
pub struct SilenceListArgs {
    /// The daemon file.
    #[arg(long, short = 'c')]
    pub config: PathBuf,
    /// Also ended and expired silences.
    #[arg(long)]
    pub all: bool,
}

/// `drift silence expire` arguments.
#[derive(Debug, Args)]
pub struct SilenceExpireArgs {
    /// The daemon file.
    #[arg(long, short = 'c')]
    pub config: PathBuf,
    /// The silence id (from `drift silence list`).
    pub id: i64,
}

/// `drift alert ...`
#[derive(Debug, Subcommand)]
pub enum AlertCommand {
    /// Send a clearly marked test message to a sink, once, and report what it answered.
    Test(AlertTestArgs),
    /// List notifications, newest first, with their delivery status.
    List(AlertListArgs),
    /// Queue dead-lettered notifications again (after fixing the sink): by id, or all of a sink.
    Retry(AlertRetryArgs),
}

/// `drift alert retry` arguments.
#[derive(Debug, Args)]
pub struct AlertRetryArgs {
    /// The daemon file.
    #[arg(long, short = 'c')]
    pub config: PathBuf,
    /// Notification ids (from `drift alert list --status dead`).
    pub ids: Vec<i64>,
    /// Every dead-lettered notification of this sink.
    #[arg(long, conflicts_with = "ids")]
    pub sink: Option<String>,
}

/// `drift alert test` arguments.
#[derive(Debug, Args)]
pub struct AlertTestArgs {
    /// The daemon file.
    #[arg(long, short = 'c')]
    pub config: PathBuf,
    /// The sink name (a `[sinks.NAME]` table).
    #[arg(long)]
    pub sink: String,
}

/// `drift alert list` arguments.
#[derive(Debug, Args)]
pub struct AlertListArgs {
    /// The daemon file.
    #[arg(long, short = 'c')]
    pub config: PathBuf,
    /// Only this monitor.
    #[arg(long, short = 'm')]
    pub monitor: Option<String>,
    /// Only notifications in this state: pending, delivered, dead or silenced.
    #[arg(long, value_parser = ["pending", "delivered", "dead", "silenced"])]
    pub status: Option<String>,
    /// How many, newest first.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

/// `drift run` arguments.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The daemon file.
    #[arg(long, short = 'c')]
    pub config: PathBuf,
    /// Evaluate all pending work once and exit (for cron, CI or a demo).
    #[arg(long)]
    pub once: bool,
    /// With --once: exit 1 when a window drifted.
    #[arg(long, requires = "once")]
    pub fail_on_drift: bool,
}

/// `drift history` arguments.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The daemon file (for the state directory).
    #[arg(long, short = 'c')]
    pub config: PathBuf,
    /// The monitor id.
    #[arg(long, short = 'm')]
    pub monitor: String,
    /// How many windows, newest first.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: ShowFormat,
}

/// `drift validate` arguments.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The daemon file (monitors are the other *.toml files of its monitors directory).
    #[arg(long, short = 'c')]
    pub config: PathBuf,
}

/// `drift reference ...`
#[derive(Debug, Subcommand)]
pub enum ReferenceCommand {
    /// Profile training data once into a snapshot file.
    Build(BuildArgs),
    /// Print what a snapshot holds.
    Show(ShowArgs),
    /// Combine snapshots of disjoint parts into the snapshot of the whole.
    Merge(MergeArgs),
}

/// Which columns (shared by `check` and `reference build`).
#[derive(Debug, Args)]
pub struct ColumnArgs {
    /// Only these columns (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub columns: Vec<String>,
    /// Leave these columns out.
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Treat these columns as categories whatever their type (e.g. integer codes).
    #[arg(long, value_delimiter = ',')]
    pub categorical: Vec<String>,
}

/// `drift reference build` arguments.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Training data: Parquet files, directories (recursive) or globs.
    #[arg(long, short = 'i', required = true, num_args = 1..)]
    pub input: Vec<String>,
    /// The snapshot file to write.
    #[arg(long, short = 'o')]
    pub output: PathBuf,
    /// Column selection.
    #[command(flatten)]
    pub select: ColumnArgs,
    /// PSI bins to store edges and counts for.
    #[arg(long, default_value_t = 10)]
    pub bins: usize,
    /// Categories kept per column; the rest are pooled into one count.
    #[arg(long, default_value_t = 10_000)]
    pub max_categories: usize,
    /// Columns with at most this many values keep every value (exact mode); larger ones keep a
    /// sketch.
    #[arg(long, default_value_t = 200_000)]
    pub exact_max_values: u64,
    /// Sketch cells: the sketch's rank error is at most 1/cells.
    #[arg(long, default_value_t = 4096)]
    pub sketch_cells: usize,
    /// Record this creation time instead of now (reproducible builds; SOURCE_DATE_EPOCH also
    /// works).
    #[arg(long)]
    pub created_at: Option<String>,
    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// `drift reference show` arguments.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The snapshot.
    pub file: PathBuf,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: ShowFormat,
}

/// Formats of `reference show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShowFormat {
    /// Aligned text.
    Table,
    /// The snapshot's metadata as JSON.
    Json,
}

/// `drift reference merge` arguments.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Snapshots of disjoint parts, built with the same settings.
    #[arg(required = true, num_args = 2..)]
    pub snapshots: Vec<PathBuf>,
    /// The snapshot file to write.
    #[arg(long, short = 'o')]
    pub output: PathBuf,
    /// Record this creation time instead of now.
    #[arg(long)]
    pub created_at: Option<String>,
}

/// `drift check` arguments.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Reference (training) data: Parquet files, directories (recursive) or globs, or one
    /// reference snapshot (`drift reference build`).
    #[arg(long, short = 'r', required = true, num_args = 1..)]
    pub reference: Vec<String>,
    /// Current (production) data: Parquet files, directories (recursive) or globs, or one
    /// snapshot of them.
    #[arg(long, short = 'c', required = true, num_args = 1..)]
    pub current: Vec<String>,
    /// Column selection.
    #[command(flatten)]
    pub select: ColumnArgs,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: Format,
    /// Significance level for adjusted p-values.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Multiple-testing correction over all p-values of the run.
    #[arg(long, value_parser = parse_correction, default_value = "bh")]
    pub correction: Correction,
    /// KS D warning,critical floors.
    #[arg(long, value_parser = parse_floors, default_value = "0.1,0.2")]
    pub ks_floors: Floors,
    /// PSI warning,critical floors (numeric and categorical).
    #[arg(long, value_parser = parse_floors, default_value = "0.1,0.25")]
    pub psi_floors: Floors,
    /// Missing-rate absolute-change warning,critical floors.
    #[arg(long, value_parser = parse_floors, default_value = "0.01,0.05")]
    pub null_floors: Floors,
    /// Number of PSI bins (reference quantiles).
    #[arg(long, default_value_t = 10)]
    pub bins: usize,
    /// Categories compared one by one before the rarest are pooled into `__other__`.
    #[arg(long, default_value_t = 10_000)]
    pub max_categories: usize,
    /// Minimum non-missing values per side for a test to be evaluated.
    #[arg(long, default_value_t = 20)]
    pub min_count: u64,
    /// Also report Jensen-Shannon distance (informational).
    #[arg(long)]
    pub js: bool,
    /// Also report Wasserstein-1 distance (informational).
    #[arg(long)]
    pub wasserstein: bool,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

fn parse_correction(s: &str) -> Result<Correction, String> {
    match s {
        "bh" | "fdr" => Ok(Correction::Bh),
        "bonferroni" => Ok(Correction::Bonferroni),
        "none" => Ok(Correction::None),
        _ => Err(format!("unknown correction {s:?}: use bh, bonferroni or none")),
    }
}

fn parse_floors(s: &str) -> Result<Floors, String> {
    let parts: Vec<&str> = s.split(',').collect();
    let [w, c] = parts.as_slice() else {
        return Err(format!("{s:?}: give two numbers, warning,critical (e.g. 0.1,0.2)"));
    };
    let parse = |x: &str| x.trim().parse::<f64>().map_err(|_| format!("{x:?} is not a number"));
    let (warning, critical) = (parse(w)?, parse(c)?);
    // Refused here, before any data is read, so that the error names the flag.
    if !(warning >= 0.0 && warning <= critical) {
        return Err(format!(
            "need 0 <= warning <= critical, got warning {warning} and critical {critical} (e.g. 0.1,0.2)"
        ));
    }
    Ok(Floors { warning, critical })
}

impl CheckArgs {
    /// The policy these arguments describe.
    pub fn policy(&self) -> Policy {
        Policy {
            alpha: self.alpha,
            correction: self.correction,
            ks: self.ks_floors,
            psi: self.psi_floors,
            null_rate: self.null_floors,
            bins: self.bins,
            max_categories: self.max_categories,
            min_count: self.min_count,
            extras: Extras { js: self.js, wasserstein: self.wasserstein },
            ..Policy::default()
        }
    }
}

/// Runs `drift check`; returns the exit code.
pub fn check(args: &CheckArgs) -> Result<i32> {
    let reference = crate::check::open_side("reference", &args.reference)?;
    let current = crate::check::open_side("current", &args.current)?;
    let options = CheckOptions {
        columns: args.select.columns.clone(),
        exclude: args.select.exclude.clone(),
        categorical: args.select.categorical.clone(),
        threads: args.threads,
        segment_exclude: Vec::new(),
    };
    let bar = progress_bar(args.no_progress, "comparing columns");
    let progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let report = run_check(reference.as_ref(), current.as_ref(), &options, &args.policy(), &progress)?;
    bar.finish_and_clear();
    let stdout = std::io::stdout();
    let color = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let text = render(&report, args.format, color);
    let mut lock = stdout.lock();
    // A closed pipe (`drift check ... | head`) is not an error worth a message.
    let _ = lock.write_all(text.as_bytes()).and_then(|_| lock.flush());
    Ok(if report.drift { exit::DRIFT } else { exit::OK })
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

/// Runs `drift reference build|show|merge`; returns the exit code.
pub fn reference(cmd: &ReferenceCommand) -> Result<i32> {
    match cmd {
        ReferenceCommand::Build(a) => {
            let dataset = Dataset::open("input", &a.input)?;
            let settings = BuildSettings {
                bins: a.bins,
                max_categories: a.max_categories,
                exact_max_values: a.exact_max_values,
                sketch_cells: a.sketch_cells,
            };
            let selection = Selection {
                columns: a.select.columns.clone(),
                exclude: a.select.exclude.clone(),
                categorical: a.select.categorical.clone(),
            };
            let bar = progress_bar(a.no_progress, "profiling columns");
            let progress = |done: usize, total: usize| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            };
            let created = a.created_at.clone().unwrap_or_else(crate::clock::now_rfc3339);
            let snap = Snapshot::build(&dataset, &selection, settings, created, &progress)?;
            bar.finish_and_clear();
            snap.write(&a.output)?;
            let files = snap.meta.sources.len();
            eprintln!(
                "wrote {} ({} columns from {} rows in {files} file{})",
                a.output.display(),
                snap.meta.columns.len(),
                snap.meta.rows,
                if files == 1 { "" } else { "s" }
            );
            Ok(exit::OK)
        }
        ReferenceCommand::Show(a) => {
            let snap = Snapshot::read(&a.file)?;
            let text = match a.format {
                ShowFormat::Json => {
                    serde_json::to_string_pretty(&snap.meta).map_err(|e| anyhow::anyhow!("{e}"))? + "\n"
                }
                ShowFormat::Table => crate::output::snapshot_table(&snap),
            };
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
            Ok(exit::OK)
        }
        ReferenceCommand::Merge(a) => {
            let mut parts = Vec::new();
            for p in &a.snapshots {
                parts.push((p.display().to_string(), Snapshot::read(p)?));
            }
            let created = a.created_at.clone().unwrap_or_else(crate::clock::now_rfc3339);
            let merged = Snapshot::merge(&parts, created)?;
            merged.write(&a.output)?;
            eprintln!("wrote {} (merged {} snapshots, {} rows)", a.output.display(), parts.len(), merged.meta.rows);
            Ok(exit::OK)
        }
    }
}

/// Runs `drift validate`; returns the exit code.
pub fn validate(args: &ValidateArgs) -> Result<i32> {
    match crate::config::load(&args.config) {
        Ok(cfg) => {
            let ids: Vec<&str> = cfg.monitors.iter().map(|m| m.id.as_str()).collect();
            println!(
                "{}: valid; {} monitor{}: {}",
                args.config.display(),
                ids.len(),
                if ids.len() == 1 { "" } else { "s" },
                if ids.is_empty() { "(none)".to_owned() } else { ids.join(", ") }
            );
            Ok(exit::OK)
        }
        Err(errors) => {
            eprintln!("{errors}");
            let n = errors.0.len();
            eprintln!("drift: {n} problem{} in the configuration", if n == 1 { "" } else { "s" });
            Ok(exit::CONFIG)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the runtime: {e}"))
}

/// Runs `drift run`; returns the exit code.
pub fn run(args: &RunArgs) -> Result<i32> {
    let cfg = match crate::config::load(&args.config) {
        Ok(cfg) => cfg,
        Err(errors) => {
            eprintln!("{errors}");
            return Ok(exit::CONFIG);
        }
    };
    let rt = runtime()?;
    if args.once {
        let (drift, failed) = match rt.block_on(crate::daemon::run_once(&cfg)) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("drift: error: {e:#}");
                return Ok(exit::DRIFT);
            }
        };
        return Ok(if failed || (drift && args.fail_on_drift) { exit::DRIFT } else { exit::OK });
    }
    match rt.block_on(crate::daemon::run_forever(args.config.clone(), cfg)) {
        Ok(()) => Ok(exit::OK),
        Err(e) => {
            eprintln!("drift: error: {e:#}");
            Ok(exit::DRIFT)
        }
    }
}

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

/// Parses `--until`: an RFC 3339 time, or a duration from `now_ms` (`90s`, `90m`, `2h`, `3d`).
pub fn parse_until(text: &str, now_ms: i64) -> Result<i64, String> {
    let t = text.trim();
    let unit = |c: char| match c {
        's' => Some(1_000),
        'm' => Some(60_000),
        'h' => Some(3_600_000),
        'd' => Some(86_400_000),
        _ => None,
    };
    if let Some(last) = t.chars().last()
        && let Some(ms) = unit(last)
        && let Ok(n) = t[..t.len() - 1].parse::<i64>()
        && n > 0
    {
        return Ok(now_ms + n.saturating_mul(ms));
    }
    crate::clock::parse_rfc3339_ms(t).ok_or_else(|| {
        format!(
            "--until {text:?}: give an RFC 3339 time such as 2026-11-27T08:00:00Z, or a duration such as 90m, 2h, 3d"
        )
    })
}

/// Runs `drift silence ...`; returns the exit code.
pub fn silence(cmd: &SilenceCommand) -> Result<i32> {
    let now = crate::clock::now_ms();
    match cmd {
        SilenceCommand::Add(a) => {
            let cfg = load(&a.config)?;
            known_monitor(&cfg, &a.monitor)?;
            let until_ms = parse_until(&a.until, now).map_err(anyhow::Error::msg)?;
            if until_ms <= now {
                anyhow::bail!("--until {:?} is in the past", a.until);
            }
            if a.reason.trim().is_empty() {
                anyhow::bail!("--reason is empty: say why, for whoever wonders tomorrow why nothing paged");
            }
            let silence = crate::alerts::lifecycle::Silence {
                monitor: a.monitor.clone(),
                column: a.column.clone(),
                segment: a.segment.clone(),
                until_ms,
            };
            let mut st = crate::state::State::open_shared(&cfg.state_dir)?;
            let id = st.silence_add(&silence, a.reason.trim(), now)?;
            println!("silence {id} added: {} until {}", describe_silence(&silence), crate::clock::rfc3339_ms(until_ms));
        }
        SilenceCommand::List(a) => {
            let cfg = load(&a.config)?;
            let st = crate::state::State::open_shared(&cfg.state_dir)?;
            let rows: Vec<_> = st
                .silences()?
                .into_iter()
                .filter(|r| a.all || (r.expired_ms.is_none() && r.silence.until_ms > now))
                .collect();
            if rows.is_empty() {
                println!("no {}silences", if a.all { "" } else { "active " });
            }
            for r in rows {
                let state = match r.expired_ms {
                    Some(t) => format!("expired {}", crate::clock::rfc3339_ms(t)),
                    None if r.silence.until_ms <= now => {
                        format!("ended {}", crate::clock::rfc3339_ms(r.silence.until_ms))
                    }
                    None => format!("until {}", crate::clock::rfc3339_ms(r.silence.until_ms)),
                };
                println!("{:>4}  {}  {state}  reason: {}", r.id, describe_silence(&r.silence), r.reason);
            }
        }
        SilenceCommand::Expire(a) => {
            let cfg = load(&a.config)?;
            let mut st = crate::state::State::open_shared(&cfg.state_dir)?;
            if !st.silence_expire(a.id, now)? {
                anyhow::bail!("no active silence {} (see `drift silence list --all`)", a.id);
            }
            println!("silence {} expired", a.id);
        }
    }
    Ok(exit::OK)
}

fn describe_silence(s: &crate::alerts::lifecycle::Silence) -> String {
    let mut out = format!("monitor {}", s.monitor);
    if let Some(c) = &s.column {
        out.push_str(&format!(", column {c}"));
    }
    if let Some(g) = &s.segment {
        out.push_str(&format!(", segment {g:?}"));
    }
    out
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_takes_durations_and_rfc3339_times() {
        let now = 1_795_000_000_000;
        assert_eq!(parse_until("2h", now), Ok(now + 7_200_000));
        assert_eq!(parse_until("90m", now), Ok(now + 5_400_000));
        assert_eq!(parse_until("3d", now), Ok(now + 3 * 86_400_000));
        // Python: datetime(2026, 11, 18, 11, 6, 40, tzinfo=timezone.utc).timestamp() == 1795000000
        assert_eq!(parse_until("2026-11-18T11:06:40Z", 0), Ok(1_795_000_000_000));
        assert_eq!(parse_until("2026-11-18T12:06:40.5+01:00", 0), Ok(1_795_000_000_500));
        for bad in ["tomorrow", "2h30", "-2h", "0h", "2026-13-01T00:00:00Z", "2026-11-18 11:06"] {
            assert!(parse_until(bad, now).is_err(), "{bad}");
        }
    }
}
