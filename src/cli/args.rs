//! Argument definitions: the clap structs of every command and the parsers of their values.
//! The commands themselves live in the sibling modules; this file only says what the command
//! line accepts and what each flag means (its `--help`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::engine::{Extras, Floors, Policy, PsiEffect};
use crate::output::Format;
use crate::stats::Correction;

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
    Check(Box<CheckArgs>),
    /// Build, inspect and merge reference snapshots.
    #[command(subcommand)]
    Reference(ReferenceCommand),
    /// Check the daemon file and every monitor file; print every problem; exit 64 if any.
    Validate(ValidateArgs),
    /// Run the daemon: watch every monitor's source and evaluate new data as it lands.
    Run(RunArgs),
    /// Print a monitor's evaluation history from the state database.
    History(HistoryArgs),
    /// Write the HTML report of a stored window, with its drift over time.
    Report(ReportArgs),
    /// Silence a monitor (or some of its columns or segments) for a while; list and expire silences.
    #[command(subcommand)]
    Silence(SilenceCommand),
    /// Send a test message to a sink; list notifications and their delivery; queue dead letters again.
    #[command(subcommand)]
    Alert(AlertCommand),
    /// List the files monitors set aside after failed reads; release them to be read again.
    #[command(subcommand)]
    Quarantine(QuarantineCommand),
}

/// `drift quarantine ...`
#[derive(Debug, Subcommand)]
pub enum QuarantineCommand {
    /// List quarantined files, newest first, with why each was set aside.
    List(QuarantineListArgs),
    /// Release quarantined files (after fixing or replacing them): the next cycle reads them again.
    Release(QuarantineReleaseArgs),
}

/// `drift quarantine list` arguments.
#[derive(Debug, Args)]
pub struct QuarantineListArgs {
    /// The daemon file.
    #[arg(long, short = 'c')]
    pub config: PathBuf,
    /// Only this monitor.
    #[arg(long, short = 'm')]
    pub monitor: Option<String>,
}

/// `drift quarantine release` arguments.
#[derive(Debug, Args)]
pub struct QuarantineReleaseArgs {
    /// The daemon file.
    #[arg(long, short = 'c')]
    pub config: PathBuf,
    /// The monitor id.
    #[arg(long, short = 'm')]
    pub monitor: String,
    /// Paths as `drift quarantine list` shows them.
    pub paths: Vec<String>,
    /// Every quarantined file of the monitor.
    #[arg(long, conflicts_with = "paths")]
    pub all: bool,
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
    pub format: HistoryFormat,
}

/// `drift report` arguments.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The daemon file (for the state directory).
    #[arg(long, short = 'c')]
    pub config: PathBuf,
    /// The monitor id.
    #[arg(long, short = 'm')]
    pub monitor: String,
    /// The window id (`drift history` lists them); default: the monitor's latest evaluated one.
    #[arg(long)]
    pub window: Option<i64>,
    /// Windows shown in drift over time, up to and including this one.
    #[arg(long, default_value_t = crate::daemon::pages::HISTORY_WINDOWS)]
    pub history: usize,
    /// Write the page to this file (through a rename) instead of stdout.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
}

/// `drift validate` arguments.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The daemon file (monitors are the other *.toml files of its monitors directory).
    #[arg(long, short = 'c')]
    pub config: PathBuf,
    /// Also print each monitor's false-alarm calibration: how often its policy says drift on
    /// windows of its own reference, and the pages per 30 days that makes (a lower bound).
    #[arg(long)]
    pub calibrate: bool,
    /// Output format of the calibration.
    #[arg(long, short = 'f', value_enum, default_value = "table", requires = "calibrate")]
    pub format: Format,
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

/// `--config` of the commands that read data: the stores of a daemon file.
#[derive(Debug, Args, Clone, Default)]
pub struct StoresArg {
    /// A daemon file (drift.toml) whose `[stores.NAME]` tables give object URLs their region,
    /// endpoint and credentials; without it, each cloud's standard environment.
    #[arg(long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `drift reference build` arguments.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Training data: Parquet files, directories (recursive) or globs, local or in object
    /// storage (s3://, gs://, az://).
    #[arg(long, short = 'i', required = true, num_args = 1..)]
    pub input: Vec<String>,
    /// The snapshot file to write (or an object URL: written in one put).
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
    /// The daemon file whose `[stores]` object URLs (s3://, gs://, az://) use; without it, each
    /// cloud's standard environment.
    #[command(flatten)]
    pub stores: StoresArg,
}

/// `drift reference show` arguments.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The snapshot.
    pub file: PathBuf,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: ShowFormat,
    /// The daemon file whose `[stores]` object URLs (s3://, gs://, az://) use; without it, each
    /// cloud's standard environment.
    #[command(flatten)]
    pub stores: StoresArg,
}

/// Formats of `reference show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShowFormat {
    /// Aligned text.
    Table,
    /// The snapshot's metadata as JSON.
    Json,
}

/// Formats of `history`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HistoryFormat {
    /// One line per window, naming the tests that drifted.
    Table,
    /// Every window with its tests as JSON (the contract in docs/json.md).
    Json,
}

/// `drift reference merge` arguments.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Snapshots of disjoint parts, built with the same settings.
    #[arg(required = true, num_args = 2..)]
    pub snapshots: Vec<PathBuf>,
    /// The snapshot file to write (or an object URL: written in one put).
    #[arg(long, short = 'o')]
    pub output: PathBuf,
    /// Record this creation time instead of now (reproducible builds; SOURCE_DATE_EPOCH also
    /// works).
    #[arg(long)]
    pub created_at: Option<String>,
    /// The daemon file whose `[stores]` object URLs (s3://, gs://, az://) use; without it, each
    /// cloud's standard environment.
    #[command(flatten)]
    pub stores: StoresArg,
}

/// `drift check` arguments.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Reference (training) data: Parquet files, directories (recursive) or globs, local or in
    /// object storage (s3://, gs://, az://), or one reference snapshot (`drift reference build`).
    #[arg(long, short = 'r', required = true, num_args = 1..)]
    pub reference: Vec<String>,
    /// Current (production) data: Parquet files, directories (recursive) or globs, local or in
    /// object storage (s3://, gs://, az://), or one snapshot of them.
    #[arg(long, short = 'c', required = true, num_args = 1..)]
    pub current: Vec<String>,
    /// Column selection.
    #[command(flatten)]
    pub select: ColumnArgs,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: Format,
    /// Write the output to this file instead of stdout (any format; replaced whole, or left
    /// as it was if writing fails).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
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
    /// Warning,critical floors on the share of values unseen in the reference, beyond the
    /// reference's own estimate of it (categorical columns).
    #[arg(long, value_parser = parse_floors, default_value = "0.01,0.05")]
    pub unseen_floors: Floors,
    /// Which PSI the PSI floors see: `corrected` (PSI less its sampling noise) or `classic`.
    #[arg(long, value_parser = parse_psi_effect, default_value = "corrected")]
    pub psi_effect: PsiEffect,
    /// Expected count a category needs for its own bin, and below which the missing-rate test
    /// is exact; 0 restores one bin per category and the z-test.
    #[arg(long, value_parser = parse_min_expected, default_value = "5")]
    pub min_expected: f64,
    /// Number of PSI bins (reference quantiles).
    #[arg(long, default_value_t = 10)]
    pub bins: usize,
    /// At most this many reference categories keep their own bin; the rest share `__other__`.
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
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Also calibrate: how often this policy says drift on windows of the reference itself at
    /// the current side's size (stationary data), per column, and the pages per 30 days at one
    /// window an hour (a lower bound).
    #[arg(long)]
    pub calibrate: bool,
    /// Latency column: print its percentiles (p50 … p99.9) on both sides with their ratio.
    #[arg(long, value_name = "COLUMN")]
    pub latency: Option<String>,
    /// Unit of a numeric latency column: ms, s, us or ns (a duration column has its own).
    #[arg(long, value_name = "UNIT", default_value = "ms", value_parser = parse_unit, requires = "latency")]
    pub latency_unit: crate::checks::latency::Unit,
    /// An SLO on the current side, `p99=250` (ms; repeat for more): a breach exits 1, like drift.
    #[arg(long, value_name = "pQ=MS", value_parser = parse_latency_slo, requires = "latency")]
    pub latency_slo: Vec<(f64, f64)>,
    /// The model's task (binary, multiclass or regression): print its realized performance on
    /// both sides from the prediction and label columns of their files.
    #[arg(long, value_name = "TASK", value_parser = parse_task, requires_all = ["prediction", "label"])]
    pub model_task: Option<crate::quality::Task>,
    /// The predicted class or value column (with --model-task).
    #[arg(long, value_name = "COLUMN", requires = "model_task")]
    pub prediction: Option<String>,
    /// Binary: the positive class's probability column (ROC AUC, log loss, calibration …).
    #[arg(long, value_name = "COLUMN", requires = "model_task")]
    pub score: Option<String>,
    /// The label column (rows with a null label are unlabelled).
    #[arg(long, value_name = "COLUMN", requires = "model_task")]
    pub label: Option<String>,
    /// Binary: the positive label, as text.
    #[arg(long, value_name = "LABEL", default_value = "1", requires = "model_task")]
    pub positive: String,
    /// Label files (Parquet files, directories or globs) of (id, label[, label_time]) joined to
    /// the current side by --id; the last label of an id wins (by label_time, then file order).
    #[arg(long, value_name = "PATH", num_args = 1.., requires_all = ["model_task", "id"])]
    pub labels: Vec<String>,
    /// The id column joining the current side's rows and the --labels files.
    #[arg(long, value_name = "COLUMN", requires = "labels")]
    pub id: Option<String>,
    /// The label-time column of the --labels files (used when they have it).
    #[arg(long, value_name = "COLUMN", default_value = "label_time", requires = "labels")]
    pub label_time: String,
    /// The daemon file whose `[stores]` object URLs (s3://, gs://, az://) use; without it, each
    /// cloud's standard environment.
    #[command(flatten)]
    pub stores: StoresArg,
}

fn parse_task(s: &str) -> Result<crate::quality::Task, String> {
    crate::quality::Task::from_name(s)
        .ok_or_else(|| format!("unknown task {s:?}: use binary, multiclass or regression"))
}

fn parse_unit(s: &str) -> Result<crate::checks::latency::Unit, String> {
    crate::checks::latency::Unit::parse(s).ok_or_else(|| format!("unknown unit {s:?}: use ms, s, us or ns"))
}

/// `p99=250`, `p99.9=800`, `p50=40`: a percentile and a threshold in ms.
fn parse_latency_slo(s: &str) -> Result<(f64, f64), String> {
    let bad = || format!("{s:?}: give a percentile and a threshold in ms, e.g. p99=250 or p99.9=800");
    let (p, t) = s.split_once('=').ok_or_else(bad)?;
    let p: f64 = p.trim().strip_prefix('p').and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let t: f64 = t.trim().parse().map_err(|_| bad())?;
    if !(p > 0.0 && p < 100.0 && t > 0.0 && t.is_finite()) {
        return Err(bad());
    }
    // p99.9 is 0.999, not 99.9 / 100 = 0.9990000000000001 (which would be a percentile of its own).
    Ok(((p / 100.0 * 1e9).round() / 1e9, t))
}

fn parse_correction(s: &str) -> Result<Correction, String> {
    match s {
        "bh" | "fdr" => Ok(Correction::Bh),
        "bonferroni" => Ok(Correction::Bonferroni),
        "none" => Ok(Correction::None),
        _ => Err(format!("unknown correction {s:?}: use bh, bonferroni or none")),
    }
}

fn parse_psi_effect(s: &str) -> Result<PsiEffect, String> {
    PsiEffect::parse(s).ok_or_else(|| format!("unknown psi effect {s:?}: use corrected or classic"))
}

fn parse_min_expected(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x >= 0.0 && x.is_finite() => Ok(x),
        _ => Err(format!("{s:?}: give a number >= 0 (5 by default; 0 restores one bin per category)")),
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
            unseen: self.unseen_floors,
            psi_effect: self.psi_effect,
            min_expected: self.min_expected,
            bins: self.bins,
            max_categories: self.max_categories,
            min_count: self.min_count,
            extras: Extras { js: self.js, wasserstein: self.wasserstein },
            ..Policy::default()
        }
    }
}
