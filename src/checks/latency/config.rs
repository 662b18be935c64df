//! The `[latency]` table of a monitor file, compiled with every problem at once.

use crate::checks::Problems;
use crate::engine::budget::{Budget, BurnRule, Level, workbook_rules};

/// Keys of `[latency]`.
pub const LATENCY_KEYS: &[&str] = &["column", "unit", "percentiles", "slo", "objective"];
/// Keys of `[latency.objective]`.
pub const OBJECTIVE_KEYS: &[&str] = &["threshold_ms", "target", "period_days", "burn"];
/// Keys of each `[[latency.objective.burn]]`.
pub const BURN_KEYS: &[&str] = &["severity", "budget_consumed", "long_window_secs", "short_window_secs"];
/// Keys of each `[[latency.slo]]`.
pub const SLO_KEYS: &[&str] = &["quantile", "warning_ms", "critical_ms"];
/// The percentiles reported by default.
pub const DEFAULT_PERCENTILES: &[f64] = &[0.5, 0.9, 0.95, 0.99, 0.999];

/// The unit of a numeric latency column (a duration column carries its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Milliseconds.
    Ms,
    /// Seconds.
    S,
    /// Microseconds.
    Us,
    /// Nanoseconds.
    Ns,
}

impl Unit {
    /// Parses `ms`, `s`, `us` or `ns`.
    pub fn parse(s: &str) -> Option<Unit> {
        Some(match s {
            "ms" => Unit::Ms,
            "s" => Unit::S,
            "us" => Unit::Us,
            "ns" => Unit::Ns,
            _ => return None,
        })
    }
    /// Milliseconds per unit.
    pub fn to_ms(self) -> f64 {
        match self {
            Unit::Ms => 1.0,
            Unit::S => 1e3,
            Unit::Us => 1e-3,
            Unit::Ns => 1e-6,
        }
    }
    /// As written in a monitor file.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Ms => "ms",
            Unit::S => "s",
            Unit::Us => "us",
            Unit::Ns => "ns",
        }
    }
}

/// A requirement on one percentile: breached when it exceeds a threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    /// The percentile, as a quantile in (0, 1).
    pub quantile: f64,
    /// Above this many ms: warning.
    pub warning_ms: Option<f64>,
    /// Above this many ms: critical.
    pub critical_ms: Option<f64>,
}

/// An error budget: `target` of the requests within `threshold_ms` over `period_days`.
#[derive(Debug, Clone, PartialEq)]
pub struct Objective {
    /// A good request's latency is at most this (ms).
    pub threshold_ms: f64,
    /// The share of good requests required, in (0, 1).
    pub target: f64,
    /// The period the budget is spent over.
    pub period_days: u32,
    /// The burn-rate rules of the daemon's `LatencyBudgetBurn` (the workbook's by default;
    /// empty: no alert, the counters only).
    pub burn: Vec<BurnRule>,
}

impl Objective {
    /// The error budget it sets.
    pub fn budget(&self) -> Budget {
        Budget { target: self.target, period_ms: i64::from(self.period_days) * 86_400_000, rules: self.burn.clone() }
    }
}

/// A validated `[latency]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyConfig {
    /// The latency column.
    pub column: String,
    /// Its unit when numeric.
    pub unit: Unit,
    /// The percentiles every window reports, ascending.
    pub percentiles: Vec<f64>,
    /// The SLOs, one per percentile.
    pub slo: Vec<Slo>,
    /// The error budget whose good and total requests the daemon exports.
    pub objective: Option<Objective>,
}

impl LatencyConfig {
    /// Every threshold (ms) whose exact count a summary keeps, ascending.
    pub fn thresholds(&self) -> Vec<f64> {
        let mut t: Vec<f64> = self.slo.iter().flat_map(|s| [s.warning_ms, s.critical_ms]).flatten().collect();
        t.extend(self.objective.as_ref().map(|o| o.threshold_ms));
        t.sort_by(f64::total_cmp);
        t.dedup();
        t
    }
}

/// Compiles `[latency]`.
pub fn compile(v: &toml::Value) -> Result<LatencyConfig, Problems> {
    let mut e: Problems = Vec::new();
    let Some(t) = v.as_table() else {
        return Err(vec![(String::new(), "must be a table: [latency] with column = \"...\"".into())]);
    };
    unknown(&mut e, "", t, LATENCY_KEYS);
    let column = match t.get("column").map(toml::Value::as_str) {
        Some(Some(c)) if !c.is_empty() => c.to_owned(),
        _ => {
            e.push(("column".into(), "the latency column is required, e.g. column = \"latency_ms\"".into()));
            String::new()
        }
    };
    let unit = match t.get("unit").map(|u| u.as_str().and_then(Unit::parse)) {
        None => Unit::Ms,
        Some(Some(u)) => u,
        Some(None) => {
            e.push(("unit".into(), "use one of ms, s, us, ns (ignored for a duration column)".into()));
            Unit::Ms
        }
    };
    let percentiles = match t.get("percentiles") {
        None => DEFAULT_PERCENTILES.to_vec(),
        Some(p) => match p.as_array().map(|a| a.iter().map(number).collect::<Option<Vec<f64>>>()) {
            Some(Some(mut qs)) if !qs.is_empty() && qs.iter().all(|q| *q > 0.0 && *q < 1.0) => {
                qs.sort_by(f64::total_cmp);
                qs.dedup();
                qs
            }
            _ => {
                e.push(("percentiles".into(), "give quantiles in (0, 1), e.g. [0.5, 0.9, 0.99, 0.999]".into()));
                Vec::new()
            }
        },
    };
    let slo = slos(&mut e, t.get("slo"));
    let objective = t.get("objective").and_then(|o| objective(&mut e, o));
    if e.is_empty() { Ok(LatencyConfig { column, unit, percentiles, slo, objective }) } else { Err(e) }
}

fn objective(e: &mut Problems, v: &toml::Value) -> Option<Objective> {
    let Some(t) = v.as_table() else {
        e.push(("objective".into(), "must be a table: [latency.objective] threshold_ms = 250, target = 0.99".into()));
        return None;
    };
    unknown(e, "objective.", t, OBJECTIVE_KEYS);
    let threshold_ms = t.get("threshold_ms").and_then(number).filter(|x| *x > 0.0 && x.is_finite());
    if threshold_ms.is_none() {
        e.push(("objective.threshold_ms".into(), "give a good request's latency limit in ms, e.g. 250".into()));
    }
    let target = t.get("target").and_then(number).filter(|x| *x > 0.0 && *x < 1.0);
    if target.is_none() {
        e.push(("objective.target".into(), "give the share of good requests in (0, 1), e.g. 0.99".into()));
    }
    let period_days = match t.get("period_days").map(toml::Value::as_integer) {
        None => Some(30),
        Some(Some(d)) if (1..=366).contains(&d) => Some(d as u32),
        Some(_) => {
            e.push(("objective.period_days".into(), "give whole days from 1 to 366 (30 by default)".into()));
            None
        }
    };
    let burn = match t.get("burn") {
        None => workbook_rules(),
        Some(b) => burn(e, b, period_days),
    };
    Some(Objective { threshold_ms: threshold_ms?, target: target?, period_days: period_days?, burn })
}

/// `[[latency.objective.burn]]`: the rules replacing the workbook's (`burn = []`: none).
fn burn(e: &mut Problems, v: &toml::Value, period_days: Option<u32>) -> Vec<BurnRule> {
    let Some(list) = v.as_array() else {
        e.push(("objective.burn".into(), "write one [[latency.objective.burn]] table per rule, or burn = []".into()));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let at = |k: &str| format!("objective.burn[{i}].{k}");
        let Some(t) = r.as_table() else {
            e.push((format!("objective.burn[{i}]"), "write one [[latency.objective.burn]] table per rule".into()));
            continue;
        };
        unknown(e, &format!("objective.burn[{i}]."), t, BURN_KEYS);
        let level = match t.get("severity").and_then(toml::Value::as_str) {
            Some("page") => Some(Level::Page),
            Some("ticket") => Some(Level::Ticket),
            _ => {
                e.push((at("severity"), "give page (the critical route) or ticket (the warning route)".into()));
                None
            }
        };
        let budget = t.get("budget_consumed").and_then(number).filter(|x| *x > 0.0 && *x <= 1.0);
        if budget.is_none() {
            e.push((
                at("budget_consumed"),
                "give the share of the period's budget spent in the long window, e.g. 0.02".into(),
            ));
        }
        let minutes = |k: &str, e: &mut Problems| match t.get(k).and_then(toml::Value::as_integer) {
            Some(s) if s >= 60 && s % 60 == 0 => Some(s * 1000),
            _ => {
                e.push((at(k), "give whole minutes in seconds, e.g. 3600 (counts are kept per minute)".into()));
                None
            }
        };
        let (long, short) = (minutes("long_window_secs", e), minutes("short_window_secs", e));
        if let (Some(l), Some(s)) = (long, short)
            && s >= l
        {
            e.push((at("short_window_secs"), "must be shorter than long_window_secs".into()));
        }
        if let (Some(l), Some(d)) = (long, period_days)
            && l > i64::from(d) * 86_400_000
        {
            e.push((at("long_window_secs"), "must be at most the objective's period_days".into()));
        }
        if let (Some(level), Some(budget_consumed), Some(long_ms), Some(short_ms)) = (level, budget, long, short) {
            out.push(BurnRule { level, budget_consumed, long_ms, short_ms });
        }
    }
    out
}

fn slos(e: &mut Problems, v: Option<&toml::Value>) -> Vec<Slo> {
    let Some(v) = v else { return Vec::new() };
    let Some(list) = v.as_array() else {
        e.push(("slo".into(), "write one [[latency.slo]] table per percentile".into()));
        return Vec::new();
    };
    let mut out: Vec<Slo> = Vec::new();
    for (i, s) in list.iter().enumerate() {
        let at = |k: &str| format!("slo[{i}].{k}");
        let Some(t) = s.as_table() else {
            e.push((format!("slo[{i}]"), "write one [[latency.slo]] table per percentile".into()));
            continue;
        };
        unknown(e, &format!("slo[{i}]."), t, SLO_KEYS);
        let quantile = t.get("quantile").and_then(number).filter(|q| *q > 0.0 && *q < 1.0);
        if quantile.is_none() {
            e.push((at("quantile"), "give the percentile as a quantile in (0, 1), e.g. quantile = 0.99".into()));
        }
        let ms = |k: &str, e: &mut Problems| match t.get(k).map(number) {
            None => None,
            Some(Some(x)) if x > 0.0 && x.is_finite() => Some(x),
            Some(_) => {
                e.push((at(k), "give a positive number of milliseconds".into()));
                None
            }
        };
        let (warning_ms, critical_ms) = (ms("warning_ms", e), ms("critical_ms", e));
        match (warning_ms, critical_ms) {
            (None, None) if !t.contains_key("warning_ms") && !t.contains_key("critical_ms") => {
                e.push((at("warning_ms"), "give warning_ms, critical_ms or both".into()))
            }
            (Some(w), Some(c)) if w > c => e.push((at("warning_ms"), "must be at most critical_ms".into())),
            _ => {}
        }
        if let Some(q) = quantile {
            if out.iter().any(|o| o.quantile == q) {
                e.push((at("quantile"), format!("{q} already has an SLO: one table per percentile")));
            }
            out.push(Slo { quantile: q, warning_ms, critical_ms });
        }
    }
    out
}

fn number(v: &toml::Value) -> Option<f64> {
    v.as_float().or_else(|| v.as_integer().map(|i| i as f64))
}

fn unknown(e: &mut Problems, prefix: &str, t: &toml::Table, known: &[&str]) {
    for k in t.keys().filter(|k| !known.contains(&k.as_str())) {
        e.push((format!("{prefix}{k}"), format!("unknown key; known keys: {}", known.join(", "))));
    }
}
