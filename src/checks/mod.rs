//! Kinds of check beyond drift that a monitor's windows can carry (latency, model quality …).
//!
//! A kind is one module here and one line in [`REGISTRY`]: the name of its table in a monitor
//! file and the function that compiles that table. Nothing else changes for a new kind: the
//! configuration hands it its table (and reports its errors with the others), the daemon runs
//! it on every evaluated window, its [`CheckResult`] rides in the window's report (stored with
//! it), and the alert rules, the outbox, the webhook payload (`drift.<kind>`) and Slack treat
//! its alerts like drift's: fire after, resolve after, group and repeat intervals, silences,
//! routing by severity.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;

use crate::engine::Report;
use crate::engine::check::CheckResult;
use crate::source::Table;

/// One kind of check, compiled from its table.
pub trait WindowCheck: std::fmt::Debug + Send + Sync {
    /// Evaluates one window.
    fn evaluate(&self, window: &CheckInput<'_>) -> Result<CheckResult>;
}

/// What a check sees of a window.
pub struct CheckInput<'a> {
    /// The window's drift report (its rows, columns, missing rates, segments).
    pub report: &'a Report,
    /// The window's rows.
    pub current: &'a dyn Table,
    /// Each evaluated segment's rows, by label.
    pub segments: &'a [(String, &'a dyn Table)],
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
pub const REGISTRY: &[Registration] = &[];

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

impl Checks {
    /// Runs every check on a window and adds the results to its report.
    pub fn run(&self, report: &mut Report, current: &dyn Table, segments: &[(String, &dyn Table)]) -> Result<()> {
        let mut results = Vec::with_capacity(self.0.len());
        for c in &self.0 {
            results.push(c.evaluate(&CheckInput { report, current, segments })?);
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
        checks.run(&mut report, &table, &[]).unwrap();
        assert_eq!(report.checks[0].alerts[0].status, CheckStatus::Breached, "2000 rows < 5000");
        assert_eq!(checks, compile_with(TEST_REGISTRY, &mut toml::from_str("[volume]\nmin_rows = 5000\n").unwrap()).0);
    }
}
