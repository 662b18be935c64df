//! # drift: a production data-drift monitor
//!
//! drift compares production data (a *current* window) with the data a model was trained on
//! (the *reference*) and says, column by column, whether it still looks the same:
//! Kolmogorov-Smirnov and PSI for numeric columns, chi-square and PSI for categorical ones,
//! the missing-value rate for every column, and schema changes. Results are judged by a policy
//! that needs both statistical significance (after a multiple-testing correction) and an effect
//! large enough to matter.
//!
//! ## Bird's-eye view
//!
//! ```text
//!   Parquet files ──► source ──► ColumnData ──► engine::compare_column ──► engine::judge ──► Report
//!   (paths, globs)   (decode,    (sorted        (stats: KS, PSI,          (BH correction,    │
//!                     one column  samples or      chi2, null rate)          policy floors)     ▼
//!                     at a time)  category                                                  output
//!                                 counts)                                          (table/json/markdown)
//! ```
//!
//! `drift check` (the [`check`] module) drives this once over files; the daemon ([`daemon`])
//! drives the same engine over windows of files as they land, keeping open windows as
//! snapshot parts in its state ([`state`]). A reference snapshot ([`snapshot`]) stands in
//! for the reference files: it is read through the same [`source::Table`] trait.
//!
//! ## Code map
//!
//! - [`stats`]: the pure statistics core (KS with exact and Kolmogorov p-values, PSI and
//!   `psi_corrected`, chi-square, category bins that fit the window and the unseen-values count
//!   ([`stats::fitted`]), the exact binomial and Fisher tests ([`stats::exact`]), JS,
//!   Wasserstein, BH, the bucketed exact comparison, the CDF sketch). Numbers match SciPy's
//!   golden vectors in `tests/data/golden/`.
//! - [`quality`]: the pure model-quality core (issue #13): realized performance of binary,
//!   multiclass and regression models (scikit-learn's numbers, undefined metrics with their
//!   reason), and thresholds learned from the model's reference (NannyML's mean ± 3σ).
//! - [`engine`]: per-column comparison and the decision policy; builds the [`engine::Report`];
//!   judges a window's model performance against its thresholds ([`engine::model`]).
//!   The tests that count (chi-square over fitted bins, unseen values, the missing rate) live in
//!   its `categorical` module.
//! - [`source`]: the only module that reads storage: path expansion, Parquet footers, schema
//!   unification, column decode.
//! - [`snapshot`]: reference snapshots (exact values or a CDF sketch per column), their build,
//!   merge and versioned, checksummed file format.
//! - [`check`]: the one-shot job, parallel over columns.
//! - [`calibrate`]: the false-alarm calibration: a monitor's policy replayed on windows drawn
//!   from folds of its own reference, through the real alert lifecycle (pages per 30 days).
//! - [`output`]: everything a command prints, rendered from the library's types: the report as a
//!   table, Markdown or JSON (`docs/json.md`), snapshots, history, alerts and silences; and as
//!   HTML ([`output::page`]: inline CSS and SVG, nothing fetched, every data string escaped),
//!   for `drift check`, `drift report` and the daemon's pages alike.
//! - [`config`]: the daemon file and monitor files, parsed raw and compiled into a validated
//!   model, reporting every problem at once (`drift validate`, exit 64).
//! - [`daemon`]: `drift run`, the tokio shell: per-monitor polling tasks, the file-taking
//!   rules ([`daemon::plan`], pure), listing (no one entry fails it) and fetching, windows by
//!   files, rows or event time and segments ([`daemon::windows`]), the model's late-label join
//!   and per-window evaluation ([`daemon::labels`]: label files consumed like a source;
//!   [`daemon::model`]: partial and final windows, `ModelPerformanceDegraded`), the outbox
//!   worker that
//!   delivers notifications ([`daemon::deliver`]: reqwest, rustls with ring), HTTP endpoints
//!   and metrics, and the HTML pages of stored windows ([`daemon::pages`], read-only
//!   connections, a CSP). The only place that spawns tasks.
//! - [`alerts`]: what to notify and when: the alert lifecycle ([`alerts::lifecycle`], pure:
//!   fire/repeat/resolve, silences, fingerprints) and delivery rules ([`alerts::retry`], pure:
//!   backoff, `Retry-After`, dead letters, URL redaction) and the webhook body
//!   ([`alerts::payload`]: Alertmanager webhook v4 plus drift's fields) and Slack message
//!   ([`alerts::slack`]: Block Kit within Slack's limits), and which notifications a window or
//!   an operational observation sends where ([`alerts::route`], pure).
//! - [`state`]: the SQLite state database; consuming files, storing their evaluation, stepping
//!   the alerts and queueing the notifications in the outbox is one transaction. Silences and
//!   alert state live there too, and each window's pictures (what its HTML report draws),
//!   kept apart for a shorter retention, and the model's join (`state::model`: predictions
//!   stored with their file's consumption, labels with their label file's).
//! - [`checks`]: kinds of check beyond drift that a window can carry (one module and one
//!   registry line each); their results ride in the window's report and alert like drift. A
//!   kind may keep a mergeable state per window part; the latency check does (percentiles,
//!   SLOs from exact counts).
//! - [`cli`], [`logging`]: the command line and log setup; `main.rs` only dispatches.
//! - [`clock`]: the one place that reads the clock, and the time formats (RFC 3339).
//! - [`parallel`]: work spread over threads (columns of a check or a snapshot build).
//! - [`synth`]: deterministic synthetic data for the demo, tests and benchmarks.
//!
//! ## Architecture invariants
//!
//! - Layers: each top-level module uses only the modules below it (`stats` and `quality` nothing; `engine`
//!   `stats`; `alerts` `engine` and the time formats; only `cli` everything), with no cycle;
//!   `tests/it/layers.rs` reads every import against that table.
//! - `stats`, `quality`, `engine`, `daemon::plan` and `alerts::{lifecycle, retry, route, payload, slack}` do
//!   no I/O, read no clock, spawn nothing and log nothing, and never use the state, the daemon,
//!   the source or the configuration; `tests/it/purity.rs` parses their imports. They are
//!   synchronous; concurrency lives in `check` and `snapshot` (threads, [`parallel`]) and
//!   `daemon` (tokio, CPU work on the blocking pool).
//! - The clock is read only in [`clock`]; clippy's `disallowed-methods` (`clippy.toml`) refuses
//!   `SystemTime::now` and `Instant::now` anywhere else, so time rules take `now` as an argument.
//! - A file is consumed and its evaluation stored in one transaction, with the notifications
//!   it causes: an alert is never lost between evaluation and delivery.
//! - A sink's URL and header values are [`config::Secret`]s: their `Debug` is redacted, and
//!   every secret is redacted from receivers' answers and client errors before they are stored
//!   or logged ([`daemon::redact`]).
//! - A panic in one monitor's cycle is that cycle's failure, never a dead task or a poisoned
//!   state lock ([`daemon::guard`]); the systemd watchdog is pinged only while every loop is
//!   alive ([`daemon::watchdog`]).
//! - Nulls and NaN never reach `stats`: `source` counts and drops them.
//! - A column's values are decoded once per side and dropped after its comparison: peak memory
//!   is a few columns, not the table.
//! - Every user-facing error is one line naming the file, column or flag at fault.

pub mod alerts;
pub mod calibrate;
pub mod check;
pub mod checks;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod logging;
pub mod output;
pub mod parallel;
pub mod quality;
pub mod snapshot;
pub mod source;
pub mod state;
pub mod stats;
pub mod synth;
