//! Kinds of check beyond drift that a monitor's windows can carry (latency, model quality …).
//!
//! A kind is one module here and one line in [`REGISTRY`]: the name of its table in a monitor
//! file and the function that compiles that table. Nothing else changes for a new kind: the
//! configuration hands it its table (and reports its errors with the others), the daemon runs
//! it on every evaluated window, its [`CheckResult`] rides in the window's report (stored with
//! it), and the alert rules, the outbox, the webhook payload (`drift.<kind>`) and Slack treat
//! its alerts like drift's: fire after, resolve after, group and repeat intervals, silences,
//! routing by severity.
//!
//! For row and time windows a check's `current` table is the window's merged snapshot profile,
//! not its rows. A kind that needs more than that (exact counts above a threshold, percentiles)
//! keeps a **part state** ([`PartState`]): the daemon profiles each file's rows of a window
//! into the kind's bytes, stores them with the window's part (in the part's transaction),
//! merges the parts' states when the window closes, the whole window's and each segment's,
//! and hands the merged state to [`WindowCheck::evaluate`] ([`CheckInput::state`]). A files
//! window profiles its batch the same way, so a kind has one path whatever the window.

pub mod latency;
pub mod quality;

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;

use crate::engine::Report;
use crate::engine::budget::{Budget, MinuteCount};
use crate::engine::check::CheckResult;
use crate::source::{ParquetFile, Table};

/// One kind of check, compiled from its table.
pub trait WindowCheck: std::fmt::Debug + Send + Sync {
    /// Evaluates one window.
    fn evaluate(&self, window: &CheckInput<'_>) -> Result<CheckResult>;

    /// The state this kind keeps per part of a window, if it needs more than the merged
    /// snapshot (None: it reads only the report and the tables).
    fn part_state(&self) -> Option<&dyn PartState> {
        None
    }

    /// The columns of a window's rows this kind reads besides the monitor's timestamp column
    /// (`None`, the default: any column, so every column of a file is read for it).
    fn columns(&self) -> Option<Vec<String>> {
        None
    }

    /// The error budget this kind keeps, if it has one ([`ErrorBudget`]).
    fn budget(&self) -> Option<&dyn ErrorBudget> {
        None
    }
}

/// A kind with an error budget: its good and total events are counted per minute of event
/// time as each file is consumed (stored with the file's consumption, kept for the budget's
/// period), and the daemon evaluates its burn-rate rules every cycle at the watermark, stepping
/// `alertname` per level (page: the critical route, ticket: the warning route) through the
/// alert lifecycle.
pub trait ErrorBudget {
    /// Its name in the state database (stable across versions).
    fn name(&self) -> &'static str;
    /// The table that configures it, for messages (`latency.objective`).
    fn key(&self) -> &'static str;
    /// The alert its rules raise (`LatencyBudgetBurn`).
    fn alertname(&self) -> &'static str;
    /// The target, the period and the rules.
    fn budget(&self) -> Budget;
    /// What a good event is, for people (`latency <= 250 ms`).
    fn good(&self) -> String;
    /// The good and total events of some rows per minute of their event time, leaving out rows
    /// without an event time or after `until_ms`.
    fn count(&self, rows: &PartRows<'_>, until_ms: i64) -> Result<Vec<MinuteCount>>;
}

/// What a kind keeps of a window's rows, part by part: serialisable, and merged exactly.
pub trait PartState {
    /// Its name in the state database (stable across versions).
    fn name(&self) -> &'static str;
    /// The state of some rows: one file's rows of a window (and segment), or a whole batch.
    fn profile(&self, rows: &PartRows<'_>) -> Result<Vec<u8>>;
    /// The state of all the parts' rows together (at least one part).
    fn merge(&self, parts: &[&[u8]]) -> Result<Vec<u8>>;
}

/// The rows a part state is profiled from.
pub struct PartRows<'a> {
    /// The files holding them (in-memory files for a window's share of a file).
    pub files: &'a [ParquetFile],
    /// The monitor's event-time column, if it has one.
    pub timestamp_column: Option<&'a str>,
}

/// A kind's merged part state for a window: the whole window's, and each segment's by label.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowState {
    /// Every part's rows.
    pub whole: Vec<u8>,
    /// Each segment's rows, by label.
    pub segments: BTreeMap<String, Vec<u8>>,
}

/// What a check sees of a window.
pub struct CheckInput<'a> {
    /// The window's drift report (its rows, columns, missing rates, segments).
    pub report: &'a Report,
    /// The window's rows.
    pub current: &'a dyn Table,
    /// Each evaluated segment's rows, by label.
    pub segments: &'a [(String, &'a dyn Table)],
    /// This kind's merged part state, when it keeps one ([`WindowCheck::part_state`]).
    pub state: Option<&'a WindowState>,
    /// Event-time windows: `[start, end)` in ms since the epoch.
    pub span: Option<(i64, i64)>,
}

/// Problems with a table: (key, what is wrong), every one at once.
pub type Problems = Vec<(String, String)>;

/// A kind's entry: the table it reads and how to compile it.
pub struct Registration {
    /// The table's name in a monitor file.
    pub table: &'static str,
    /// Compiles the table.
    pub compile: fn(&toml::Value) -> Result<Arc<dyn WindowCheck>, Problems>,
}

/// Every kind of check, one line each.
pub const REGISTRY: &[Registration] = &[Registration { table: "latency", compile: latency::compile }];

/// The checks a monitor configures: taken out of its unknown tables, so a registered table is
/// not reported as unknown; problems as (`table.key`, message).
pub fn compile(tables: &mut BTreeMap<String, toml::Value>) -> (Checks, Problems) {
    compile_with(REGISTRY, tables)
}

/// [`compile`] over a given registry.
fn compile_with(registry: &[Registration], tables: &mut BTreeMap<String, toml::Value>) -> (Checks, Problems) {
    let mut checks = Vec::new();
    let mut problems = Vec::new();
    for reg in registry {
        if let Some(value) = tables.remove(reg.table) {
            match (reg.compile)(&value) {
                Ok(c) => checks.push(c),
                Err(e) => problems.extend(e.into_iter().map(|(k, m)| (format!("{}.{k}", reg.table), m))),
            }
        }
    }
    (Checks(checks), problems)
}

/// A monitor's checks (compared by what they were compiled from, for config reloads).
#[derive(Debug, Clone, Default)]
pub struct Checks(pub Vec<Arc<dyn WindowCheck>>);

impl PartialEq for Checks {
    fn eq(&self, other: &Checks) -> bool {
        format!("{:?}", self.0) == format!("{:?}", other.0)
    }
}

/// One state per check, in the order of [`Checks`] (None for a check that keeps none).
pub type WindowStates = Vec<Option<WindowState>>;

/// One part's states: (the kind's [`PartState::name`], bytes).
pub type PartStates = Vec<(String, Vec<u8>)>;

impl Checks {
    /// The checks that keep an error budget.
    pub fn budgets(&self) -> impl Iterator<Item = &dyn ErrorBudget> {
        self.0.iter().filter_map(|c| c.budget())
    }

    /// The columns the checks read besides the timestamp (`None`: a check reads any column).
    pub fn columns(&self) -> Option<Vec<String>> {
        let mut out = Vec::new();
        for c in &self.0 {
            out.extend(c.columns()?);
        }
        Some(out)
    }

    /// Whether any check keeps a part state (so parts need profiling for checks).
    pub fn keep_parts(&self) -> bool {
        self.0.iter().any(|c| c.part_state().is_some())
    }

    /// Every check's part state of some rows.
    pub fn profile(&self, rows: &PartRows<'_>) -> Result<PartStates> {
        let mut out = Vec::new();
        for p in self.0.iter().filter_map(|c| c.part_state()) {
            out.push((p.name().to_owned(), p.profile(rows)?));
        }
        Ok(out)
    }

    /// Merges a window's parts' states, given as (segment label, that part's states), into one
    /// state per check: the whole window (every part) and each labelled segment. A part without
    /// a check's state (stored before the check was configured) leaves that check without one.
    pub fn merge(&self, parts: &[(&str, &PartStates)]) -> Result<WindowStates> {
        let mut out = Vec::with_capacity(self.0.len());
        for c in &self.0 {
            let Some(p) = c.part_state() else {
                out.push(None);
                continue;
            };
            let mine: Vec<(&str, Option<&[u8]>)> = parts
                .iter()
                .map(|(seg, states)| (*seg, states.iter().find(|(n, _)| n == p.name()).map(|(_, b)| b.as_slice())))
                .collect();
            if mine.is_empty() || mine.iter().any(|(_, b)| b.is_none()) {
                out.push(None);
                continue;
            }
            let mut by_segment: BTreeMap<&str, Vec<&[u8]>> = BTreeMap::new();
            for (seg, b) in mine.iter().filter(|(seg, _)| !seg.is_empty()) {
                by_segment.entry(seg).or_default().push(b.expect("checked above"));
            }
            let all: Vec<&[u8]> = mine.iter().map(|(_, b)| b.expect("checked above")).collect();
            let segments =
                by_segment.into_iter().map(|(l, b)| Ok((l.to_owned(), p.merge(&b)?))).collect::<Result<_>>()?;
            out.push(Some(WindowState { whole: p.merge(&all)?, segments }));
        }
        Ok(out)
    }

    /// Runs every check on a window and adds the results to its report; `states` as
    /// [`Checks::merge`] returns them (empty when no check keeps one).
    pub fn run(
        &self,
        report: &mut Report,
        current: &dyn Table,
        segments: &[(String, &dyn Table)],
        states: &WindowStates,
        span: Option<(i64, i64)>,
    ) -> Result<()> {
        let mut results = Vec::with_capacity(self.0.len());
        for (i, c) in self.0.iter().enumerate() {
            let state = states.get(i).and_then(Option::as_ref);
            results.push(c.evaluate(&CheckInput { report, current, segments, state, span })?);
        }
        report.checks = results;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::check::{CheckAlert, CheckStatus};

    /// A kind for the test: breached when the window has fewer rows than `min_rows`.
    #[derive(Debug)]
    struct Volume(u64);

    impl WindowCheck for Volume {
        fn evaluate(&self, w: &CheckInput<'_>) -> Result<CheckResult> {
            let rows = w.report.current.rows;
            let status = if rows < self.0 { CheckStatus::Breached } else { CheckStatus::Clean };
            Ok(CheckResult {
                kind: "volume".into(),
                alertname: "LowVolume".into(),
                alerts: vec![CheckAlert { segment: String::new(), status, findings: Vec::new(), rows }],
                detail: serde_json::json!({"rows": rows, "min_rows": self.0}),
            })
        }
    }

    fn volume(v: &toml::Value) -> Result<Arc<dyn WindowCheck>, Problems> {
        match v.get("min_rows").and_then(toml::Value::as_integer) {
            Some(n) if n > 0 => Ok(Arc::new(Volume(n as u64))),
            _ => Err(vec![("min_rows".into(), "a positive number of rows is needed".into())]),
        }
    }

    const TEST_REGISTRY: &[Registration] = &[Registration { table: "volume", compile: volume }];

    /// A registered table is compiled and taken out of the unknown ones (so it is not reported
    /// as unknown); its problems name `table.key`; other tables stay for the unknown-key check.
    #[test]
    fn a_registered_table_becomes_a_check_and_its_problems_name_its_keys() {
        let mut tables: BTreeMap<String, toml::Value> =
            toml::from_str("[volume]\nmin_rows = 5000\n[nonsense]\nx = 1\n").unwrap();
        let (checks, problems) = compile_with(TEST_REGISTRY, &mut tables);
        assert_eq!((checks.0.len(), problems.len()), (1, 0));
        assert_eq!(tables.keys().collect::<Vec<_>>(), ["nonsense"], "left for the unknown-key check");
        let mut tables: BTreeMap<String, toml::Value> = toml::from_str("[volume]\nmin_rows = 0\n").unwrap();
        let (checks, problems) = compile_with(TEST_REGISTRY, &mut tables);
        assert!(checks.0.is_empty());
        assert_eq!(problems, [("volume.min_rows".to_owned(), "a positive number of rows is needed".to_owned())]);

        // Run on a window, the result rides in the report.
        let mut report = crate::alerts::testing::shifted_report(0.0);
        let table = crate::alerts::testing::table(vec![(
            "x",
            Arc::new(arrow_array::Float64Array::from(vec![1.0])) as arrow_array::ArrayRef,
        )]);
        let (checks, _) = compile_with(TEST_REGISTRY, &mut toml::from_str("[volume]\nmin_rows = 5000\n").unwrap());
        checks.run(&mut report, &table, &[], &Vec::new(), None).unwrap();
        assert_eq!(report.checks[0].alerts[0].status, CheckStatus::Breached, "2000 rows < 5000");
        assert_eq!(checks, compile_with(TEST_REGISTRY, &mut toml::from_str("[volume]\nmin_rows = 5000\n").unwrap()).0);
    }
}
