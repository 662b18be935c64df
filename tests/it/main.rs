//! The one integration-test binary. Table of contents:
//!
//! - `faults`: the daemon under faults: a panic in one monitor (in its evaluation, with the
//!   state lock held) fails it visibly and spares the others; a cycle past `cycle_timeout_secs`
//!   is cancelled, and one stuck in work stops the systemd watchdog's pings.
//! - `foreign`: pandas/pyarrow-written files in every codec read like our own.
//! - `golden`: every statistic against SciPy's golden vectors (`tests/data/golden/`).
//! - `html`: `drift check --format html`: a well-formed page (html5lib) that fetches nothing,
//!   escapes hostile names, draws the report's numbers, and renders in headless chromium.
//! - `ingest`: the input side of the fault suite (issue #10): a damaged page quarantined while
//!   its neighbours are evaluated, names that are not UTF-8, symlink loops and unreadable
//!   directories skipped, quarantine seen (log, metric, alert) and released.
//! - `quality_golden`: model-quality metrics (binary, multiclass, regression) and learned
//!   thresholds against scikit-learn's golden vectors; undefined metrics with their reasons.
//! - `mixed`: the golden Parquet pair through `drift check --format json`.
//! - `properties`: invariants over random inputs (proptest).
//! - `false_drift`: the false-drift rate of the default policy on same-distribution splits, and
//!   on stationary windows drawn fresh as a monitor sees them (Zipf categorical columns too).
//! - `power`: the rules that keep stationary data quiet still detect real changes.
//! - `alerts`: delivery to a scripted Slack-like server on loopback (`receiver`), and the
//!   alert lifecycle through the real binary.
//! - `budget`: the latency objective's error budget: `LatencyBudgetBurn` pages on a fast burn
//!   and tickets on a slow one (the workbook's rates), and resets, on an injected clock.
//! - `calibration`: the false-alarm calibration through `drift validate --calibrate` and the
//!   daemon (status, metrics, warning, cache); its interval against SciPy.
//! - `check`: `drift check` on real Parquet files: types, nulls, schema, file sets, formats.
//! - `checks`: another kind of check on a window alerts through the daemon's state and outbox.
//! - `corpus`: the bad-input corpus (`tests/data/bad/`, its `make.py`, and cases made at run
//!   time) through `drift check` (the exit code and one line pinned per case) and the daemon.
//! - `config`: shipped configuration examples validate; invalid fixtures fail, all at once.
//! - `model_check`: `drift check --model-task`: realized performance on both sides (issue #13).
//! - `model_config`: `[model]` and `[labels]` (issue #13) compile with their defaults.
//! - `daemon`: `drift run` on real files, SQLite and HTTP: once-only, settle, quarantine, crashes.
//! - `flow`: a backlog drains in bounded batches with the same windows; a far-future row is
//!   counted, not trusted; a file rewritten after consumption is warned about and counted.
//! - `deploy`: the dashboard and alert rules query exported metrics; the image's and the pod's
//!   daemon files work in their layouts.
//! - `demo`: the shipped example pair is reproducible and shows the drift it was built with.
//! - `errors`: every kind of bad input gives one line naming the file and exit code 2.
//! - `objects`: object storage against real servers on loopback (moto_server for S3, Azurite
//!   for Azure): check and reference over URLs equal the local ones, only the monitored column
//!   chunks are fetched (bytes counted by a proxy), a replaced object, a daemon monitor over a
//!   prefix, one-line errors.
//! - `object_auth`: moto with its IAM checks on: an unknown key and users lacking a permission
//!   get one line naming the store, operation, bucket and key and the permission; no secret.
//! - `object_reads`: a daemon monitor over objects fetches only the monitored, timestamp and
//!   segment columns for every window type, with the same windows as over local files; an
//!   object whose footer is longer than the first ranged read.
//! - `policy`: the decision policy as documented: the correction (flag and key) sets adjusted
//!   p-values and decisions, alpha and floors reach the engine, swapped floors are refused, a
//!   window and its segments are one family, the label cap pools, untimed rows are late.
//! - `kill_loop`: the real daemon killed with SIGKILL at random (seeded) moments loses and
//!   duplicates nothing: files consumed once, rows add up, notifications delivered with one key.
//! - `latency`: latency percentiles against NumPy (exact and sketched, merged); the latency
//!   check end to end.
//! - `layers`: each top-level module uses only the modules its layer allows; no cycles.
//! - `small_counts`: bins that fit the window, unseen values, PSI beyond its noise, Fisher's
//!   missing-rate test, and the flags and keys that restore the old rules.
//! - `purity`: `src/stats/` and `src/engine/` do no I/O.
//! - `report`: stored windows as pictures: `drift report` on a committed schema-3 state before
//!   and after its upgrade, drift over time from the stored effects, the daemon's `/` and
//!   `/monitors/ID` (CSP, hostile names, html5lib, chromium) through a real HTTP client.
//! - `snapshot`: reference snapshots: exact equality, sketch bounds, merge, damage.
//! - `secrets`: a receiver echoing the sink's secrets leaks none of them into the logs, the
//!   state or the metrics; an endless answer is read up to a cap.
//! - `snapshots`: what every command prints, against committed files in
//!   `tests/data/snapshots/` (`DRIFT_BLESS=1` rewrites them, outside CI).
//! - `support`: helpers (real Parquet files via arrow, the real binary).

// Benchmarks and tests measure and wait on real time; the rule is for the library.
#![allow(clippy::disallowed_methods)]
mod alerts;
mod budget;
mod calibration;
mod check;
mod checks;
mod config;
mod corpus;
mod daemon;
mod demo;
mod deploy;
mod errors;
mod false_drift;
mod faults;
mod flow;
mod foreign;
mod golden;
mod html;
mod ingest;
mod kill_loop;
mod latency;
mod layers;
mod mixed;
mod model_check;
mod model_config;
mod model_daemon;
mod model_pages;
mod object_auth;
mod object_reads;
mod objects;
mod policy;
mod power;
mod properties;

mod purity;
mod quality_golden;
mod receiver;
mod report;
mod secrets;
mod small_counts;
mod snapshot;
mod snapshots;
mod support;
