//! The command line: clap definitions, and one function per command that calls the library
//! and prints through one place. Exit codes for the whole CLI live here ([`exit`]).

use std::io::{IsTerminal, Write};

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use crate::check::{CheckOptions, run_check};
use crate::engine::{Extras, Floors, Policy};
use crate::output::{Format, render};
use crate::source::Dataset;
use crate::stats::Correction;

/// Process exit codes, one table for the whole CLI.
///
/// | command | 0 | 1 | 2 |
/// |---|---|---|---|
/// | `check` | no drift | drift | error, including usage |
pub mod exit {
    /// Success; for `check`, no drift.
    pub const OK: i32 = 0;
    /// `check` found drift.
    pub const DRIFT: i32 = 1;
    /// An error (bad input, bad usage).
    pub const ERROR: i32 = 2;
}

/// drift: catch production data that stopped looking like the training data.
#[derive(Debug, Parser)]
#[command(name = "drift", version, about, long_about = None)]
pub struct Cli {
    /// Log level (error, warn, info, debug, trace); RUST_LOG wins when set.
    #[arg(long, global = true, default_value = "warn")]
    pub log_level: String,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compare current data with reference data once; exit 1 on drift.
    Check(CheckArgs),
}

/// `drift check` arguments.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Reference (training) data: Parquet files, directories (recursive) or globs.
    #[arg(long, short = 'r', required = true, num_args = 1..)]
    pub reference: Vec<String>,
    /// Current (production) data: Parquet files, directories (recursive) or globs.
    #[arg(long, short = 'c', required = true, num_args = 1..)]
    pub current: Vec<String>,
    /// Compare only these columns (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub columns: Vec<String>,
    /// Leave these columns out.
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Compare these columns as categories whatever their type (e.g. integer codes).
    #[arg(long, value_delimiter = ',')]
    pub categorical: Vec<String>,
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
    Ok(Floors { warning: parse(w)?, critical: parse(c)? })
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
    let reference = Dataset::open("reference", &args.reference)?;
    let current = Dataset::open("current", &args.current)?;
    let options = CheckOptions {
        columns: args.columns.clone(),
        exclude: args.exclude.clone(),
        categorical: args.categorical.clone(),
        threads: args.threads,
    };
    let bar = if args.no_progress || !std::io::stderr().is_terminal() {
        indicatif::ProgressBar::hidden()
    } else {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} comparing columns {pos}/{len} [{elapsed}]")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    };
    let progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let report = run_check(&reference, &current, &options, &args.policy(), &progress)?;
    bar.finish_and_clear();
    let stdout = std::io::stdout();
    let color = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let text = render(&report, args.format, color);
    let mut lock = stdout.lock();
    // A closed pipe (`drift check ... | head`) is not an error worth a message.
    let _ = lock.write_all(text.as_bytes()).and_then(|_| lock.flush());
    Ok(if report.drift { exit::DRIFT } else { exit::OK })
}
