//! The error budgets' Prometheus gauges, as the daemon's own burn-rate alert sees them each
//! cycle at the watermark: the share of the period's budget left
//! (`drift_budget_remaining_ratio{monitor, kind}`) and each rule's burn rates
//! (`drift_budget_burn_rate{monitor, kind, level, rule, window="long"|"short"}`, with the rate
//! they fire above in `drift_budget_burn_rate_threshold`).

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::budget::BudgetStatus;

/// A monitor's budget of one kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BudgetLabel {
    /// Monitor id.
    pub monitor: String,
    /// The kind (`latency`).
    pub kind: String,
}

/// One window of one burn-rate rule.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BurnLabel {
    /// Monitor id.
    pub monitor: String,
    /// The kind (`latency`).
    pub kind: String,
    /// `page` or `ticket`.
    pub level: String,
    /// The rule (`1h/5m`).
    pub rule: String,
    /// `long`, `short` (for the rate), or `""` (for the threshold).
    pub window: String,
}

/// The budget families.
#[derive(Debug, Default, Clone)]
pub struct BudgetMetrics {
    /// The share of the period's budget left.
    pub remaining: Family<BudgetLabel, Gauge<f64, AtomicU64>>,
    /// Each rule's burn rate over its long and short window (absent: no requests in it).
    pub burn_rate: Family<BurnLabel, Gauge<f64, AtomicU64>>,
    /// The rate each rule fires above.
    pub threshold: Family<BurnLabel, Gauge<f64, AtomicU64>>,
}

impl BudgetMetrics {
    /// Registers the families (`drift_budget_*`).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "budget_remaining_ratio",
            "Share of an error budget's period budget left at the watermark (negative: overspent)",
            self.remaining.clone(),
        );
        registry.register(
            "budget_burn_rate",
            "Burn rate of an error budget over a rule's long or short window at the watermark",
            self.burn_rate.clone(),
        );
        registry.register(
            "budget_burn_rate_threshold",
            "The burn rate a rule's windows must both exceed to fire",
            self.threshold.clone(),
        );
    }

    /// Records a cycle's budgets.
    pub fn record(&self, monitor: &str, budgets: &[BudgetStatus]) {
        for b in budgets {
            let l = BudgetLabel { monitor: monitor.into(), kind: b.kind.clone() };
            match b.state.budget_left {
                Some(left) => {
                    self.remaining.get_or_create(&l).set(left);
                }
                None => {
                    self.remaining.remove(&l);
                }
            }
            for r in &b.state.rules {
                let label = |window: &str| BurnLabel {
                    monitor: monitor.into(),
                    kind: b.kind.clone(),
                    level: r.rule.level.as_str().into(),
                    rule: r.name.clone(),
                    window: window.into(),
                };
                self.threshold.get_or_create(&label("")).set(r.threshold);
                for (window, rate) in [("long", r.long_rate), ("short", r.short_rate)] {
                    match rate {
                        Some(x) => {
                            self.burn_rate.get_or_create(&label(window)).set(x);
                        }
                        None => {
                            self.burn_rate.remove(&label(window));
                        }
                    }
                }
            }
        }
    }

    /// One series in every family (for `Metrics::sample`).
    pub fn sample(&self) {
        self.remaining.get_or_create(&BudgetLabel { monitor: "m".into(), kind: "latency".into() }).set(0.9);
        let l = |window: &str| BurnLabel {
            monitor: "m".into(),
            kind: "latency".into(),
            level: "page".into(),
            rule: "1h/5m".into(),
            window: window.into(),
        };
        self.burn_rate.get_or_create(&l("long")).set(1.0);
        self.threshold.get_or_create(&l("")).set(14.4);
    }
}
