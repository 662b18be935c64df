//! The daemon's Prometheus metrics (`/metrics`, text format, `drift_` prefix), through the
//! official client: typed families, no global state.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// `monitor` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MonitorLabel {
    /// Monitor id.
    pub monitor: String,
}

/// `monitor` and `outcome` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// Monitor id.
    pub monitor: String,
    /// What happened.
    pub outcome: String,
}

/// Per test labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TestLabel {
    /// Monitor id.
    pub monitor: String,
    /// Column.
    pub column: String,
    /// Test name.
    pub test: String,
    /// Segment ('' for the whole window).
    pub segment: String,
}

/// Every metric the daemon exports.
pub struct Metrics {
    registry: Registry,
    /// Polling cycles run.
    pub runs: Family<MonitorLabel, Counter>,
    /// Files by outcome: consumed, quarantined, retried.
    pub files: Family<OutcomeLabel, Counter>,
    /// Rows read.
    pub rows: Family<MonitorLabel, Counter>,
    /// Failed cycles.
    pub errors: Family<MonitorLabel, Counter>,
    /// Windows by outcome: evaluated, insufficient, drift.
    pub windows: Family<OutcomeLabel, Counter>,
    /// Unix time of the last successful cycle.
    pub last_success: Family<MonitorLabel, Gauge<f64, AtomicU64>>,
    /// 1 while the source is stale.
    pub stale: Family<MonitorLabel, Gauge>,
    /// Latest statistic per monitor, column, test and segment.
    pub statistic: Family<TestLabel, Gauge<f64, AtomicU64>>,
    /// Latest drift flag (0, 1 warning, 2 critical) per monitor, column, test and segment.
    pub drift: Family<TestLabel, Gauge>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("drift");
        let m = Metrics {
            runs: Family::default(),
            files: Family::default(),
            rows: Family::default(),
            errors: Family::default(),
            windows: Family::default(),
            last_success: Family::default(),
            stale: Family::default(),
            statistic: Family::default(),
            drift: Family::default(),
            registry: Registry::default(),
        };
        registry.register("runs", "Polling cycles run per monitor", m.runs.clone());
        registry.register("files", "Files per monitor by outcome (consumed, retried, quarantined)", m.files.clone());
        registry.register("rows", "Rows read per monitor", m.rows.clone());
        registry.register("errors", "Failed cycles per monitor", m.errors.clone());
        registry.register(
            "windows",
            "Windows per monitor by outcome (evaluated, insufficient, drift)",
            m.windows.clone(),
        );
        registry.register(
            "last_success_timestamp_seconds",
            "Unix time of the last successful cycle",
            m.last_success.clone(),
        );
        registry.register(
            "source_stale",
            "1 while a monitor's source has had no new file for stale_after_secs",
            m.stale.clone(),
        );
        registry.register(
            "statistic",
            "Latest test statistic per monitor, column, test and segment",
            m.statistic.clone(),
        );
        registry.register("drift", "Latest drift flag: 0 none, 1 warning, 2 critical", m.drift.clone());
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
