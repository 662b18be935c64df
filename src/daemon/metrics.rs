//! The daemon's Prometheus metrics (`/metrics`, text format, `drift_` prefix), through the
//! official client: typed families, no global state.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
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

/// What happened to a settled file.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum FileOutcome {
    /// Read and committed with its window (or window part).
    Consumed,
    /// Could not be read; tried again next cycle.
    Retried,
    /// Could not be read after the last attempt; set aside.
    Quarantined,
    /// Consumed earlier, then listed with another size or mtime (rewritten under the same
    /// name): warned about, not read again.
    Replaced,
}

/// What a closed window was.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum WindowOutcome {
    /// Evaluated, no drift.
    Evaluated,
    /// Fewer rows than `min_rows`.
    Insufficient,
    /// Evaluated, drifted.
    Drift,
}

impl FileOutcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            FileOutcome::Consumed => "consumed",
            FileOutcome::Retried => "retried",
            FileOutcome::Quarantined => "quarantined",
            FileOutcome::Replaced => "replaced",
        }
    }
}

impl WindowOutcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            WindowOutcome::Evaluated => "evaluated",
            WindowOutcome::Insufficient => "insufficient",
            WindowOutcome::Drift => "drift",
        }
    }
}

impl EncodeLabelValue for FileOutcome {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        std::fmt::Write::write_str(encoder, self.as_str())
    }
}

impl EncodeLabelValue for WindowOutcome {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        std::fmt::Write::write_str(encoder, self.as_str())
    }
}

/// `monitor` and `outcome` labels of the files counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FileLabel {
    /// Monitor id.
    pub monitor: String,
    /// What happened.
    pub outcome: FileOutcome,
}

/// `monitor` and `outcome` labels of the windows counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WindowLabel {
    /// Monitor id.
    pub monitor: String,
    /// What it was.
    pub outcome: WindowOutcome,
}

/// `monitor` and `reason` labels of the skipped-entries counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SkipLabel {
    /// Monitor id.
    pub monitor: String,
    /// invalid_name, symlink, loop, unreadable or not_a_file.
    pub reason: String,
}

/// `sink` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SinkLabel {
    /// Sink name.
    pub sink: String,
}

/// A firing alert's labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AlertLabel {
    /// Monitor id.
    pub monitor: String,
    /// `DataDrift` or an operational alert name.
    pub alertname: String,
    /// Segment label (`sink=NAME` for lost notifications).
    pub segment: String,
    /// warning or critical.
    pub severity: String,
}

/// Per test labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TestLabel {
    /// Monitor id.
    pub monitor: String,
    /// The column tested (`column` label).
    pub column: String,
    /// Test name.
    pub test: String,
    /// Segment ('' for the whole window).
    pub segment: String,
}

/// A calibration's per-column labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CalibrationLabel {
    /// Monitor id.
    pub monitor: String,
    /// The column.
    pub column: String,
}

/// Every metric the daemon exports.
pub struct Metrics {
    registry: Registry,
    /// Polling cycles run.
    pub runs: Family<MonitorLabel, Counter>,
    /// Files by outcome: consumed, quarantined, retried.
    pub files: Family<FileLabel, Counter>,
    /// Rows read.
    pub rows: Family<MonitorLabel, Counter>,
    /// Rows whose event time was more than `max_future_secs` ahead of the clock.
    pub future_rows: Family<MonitorLabel, Counter>,
    /// Settled files left for the next cycles by `max_files_per_cycle` / `max_bytes_in_flight`.
    pub backlog: Family<MonitorLabel, Gauge>,
    /// Failed cycles.
    pub errors: Family<MonitorLabel, Counter>,
    /// Windows by outcome: evaluated, insufficient, drift.
    pub windows: Family<WindowLabel, Counter>,
    /// Unix time of the last successful cycle.
    pub last_success: Family<MonitorLabel, Gauge<f64, AtomicU64>>,
    /// 1 while the source is stale.
    pub stale: Family<MonitorLabel, Gauge>,
    /// Latest statistic per monitor, column, test and segment.
    pub statistic: Family<TestLabel, Gauge<f64, AtomicU64>>,
    /// Latest drift flag (0, 1 warning, 2 critical) per monitor, column, test and segment.
    pub drift: Family<TestLabel, Gauge>,
    /// Notifications delivered per sink.
    pub sent: Family<SinkLabel, Counter>,
    /// Failed attempts that will be retried, per sink.
    pub retried: Family<SinkLabel, Counter>,
    /// Notifications dead-lettered per sink.
    pub dead: Family<SinkLabel, Counter>,
    /// Pending notifications per sink.
    pub outbox_depth: Family<SinkLabel, Gauge>,
    /// Age of the oldest pending notification per sink (seconds).
    pub outbox_oldest_age: Family<SinkLabel, Gauge<f64, AtomicU64>>,
    /// 1 per alert firing now (series disappear when they resolve).
    pub alerts_firing: Family<AlertLabel, Gauge>,
    /// Source entries skipped by listings, each counted once per process, by reason.
    pub entries_skipped: Family<SkipLabel, Counter>,
    /// Files quarantined and not released, per monitor.
    pub quarantined_now: Family<MonitorLabel, Gauge>,
    /// The calibration's share of stationary windows that drifted, per monitor.
    pub calibration_window_ratio: Family<MonitorLabel, Gauge<f64, AtomicU64>>,
    /// The calibration's share of stationary windows in which a column drifted.
    pub calibration_column_ratio: Family<CalibrationLabel, Gauge<f64, AtomicU64>>,
    /// The calibration's false pages per 30 days, per monitor (a lower bound).
    pub calibration_pages: Family<MonitorLabel, Gauge<f64, AtomicU64>>,
    /// The latency check's percentiles and request counts.
    pub latency: super::latency_metrics::LatencyMetrics,
    /// The error budgets' remaining share and burn rates.
    pub budget: super::budget_metrics::BudgetMetrics,
    /// Model quality: the last window's metrics, coverage and the join's counts.
    pub model: super::model_metrics::ModelMetrics,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("drift");
        let m = Metrics {
            runs: Family::default(),
            files: Family::default(),
            rows: Family::default(),
            future_rows: Family::default(),
            backlog: Family::default(),
            errors: Family::default(),
            windows: Family::default(),
            last_success: Family::default(),
            stale: Family::default(),
            statistic: Family::default(),
            drift: Family::default(),
            sent: Family::default(),
            retried: Family::default(),
            dead: Family::default(),
            outbox_depth: Family::default(),
            outbox_oldest_age: Family::default(),
            alerts_firing: Family::default(),
            entries_skipped: Family::default(),
            quarantined_now: Family::default(),
            calibration_window_ratio: Family::default(),
            calibration_column_ratio: Family::default(),
            calibration_pages: Family::default(),
            latency: Default::default(),
            budget: Default::default(),
            model: Default::default(),
            registry: Registry::default(),
        };
        m.register(&mut registry);
        m.latency.register(&mut registry);
        m.budget.register(&mut registry);
        m.model.register(&mut registry);
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// Registers every family under its name and help text.
    fn register(&self, registry: &mut Registry) {
        let m = self;
        registry.register("runs", "Polling cycles run per monitor", m.runs.clone());
        registry.register(
            "files",
            "Files per monitor by outcome (consumed, retried, quarantined, replaced)",
            m.files.clone(),
        );
        registry.register("rows", "Rows read per monitor", m.rows.clone());
        registry.register(
            "rows_future",
            "Rows per monitor whose event time was more than max_future_secs ahead of the clock (not evaluated)",
            m.future_rows.clone(),
        );
        registry.register(
            "source_backlog_files",
            "Settled files waiting for a later cycle (max_files_per_cycle, max_bytes_in_flight)",
            m.backlog.clone(),
        );
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
        registry.register("notifications_sent", "Notifications delivered per sink", m.sent.clone());
        registry.register(
            "notifications_retried",
            "Failed delivery attempts that will be retried, per sink",
            m.retried.clone(),
        );
        registry.register(
            "notifications_dead_lettered",
            "Notifications given up on (4xx other than 429, or too old), per sink",
            m.dead.clone(),
        );
        registry.register("outbox_depth", "Notifications waiting for delivery per sink", m.outbox_depth.clone());
        registry.register(
            "outbox_oldest_pending_age_seconds",
            "Age of the oldest notification waiting for delivery per sink",
            m.outbox_oldest_age.clone(),
        );
        registry.register(
            "alerts_firing",
            "1 per alert firing now, by monitor, alert name, segment and severity",
            m.alerts_firing.clone(),
        );
        registry.register(
            "calibration_false_drift_ratio",
            "Share of simulated stationary windows of the reference that drifted (the calibration), per monitor",
            m.calibration_window_ratio.clone(),
        );
        registry.register(
            "calibration_column_false_drift_ratio",
            "Share of simulated stationary windows in which a column drifted (the calibration)",
            m.calibration_column_ratio.clone(),
        );
        registry.register(
            "calibration_pages_per_30d",
            "False pages per 30 days the calibration expects on unchanged data (a lower bound)",
            m.calibration_pages.clone(),
        );
        self.register_input(registry);
    }

    /// The families of the input side: skipped source entries and quarantined files.
    fn register_input(&self, registry: &mut Registry) {
        registry.register(
            "source_entries_skipped",
            "Source entries a listing skipped (invalid_name, symlink, loop, unreadable, not_a_file), once each",
            self.entries_skipped.clone(),
        );
        registry.register(
            "files_quarantined",
            "Files quarantined and not released (drift quarantine release), per monitor",
            self.quarantined_now.clone(),
        );
    }

    /// Counts `n` files of `monitor` with this outcome.
    pub fn file(&self, monitor: &str, outcome: FileOutcome, n: u64) {
        self.files.get_or_create(&FileLabel { monitor: monitor.to_owned(), outcome }).inc_by(n);
    }

    /// Counts a source entry of `monitor` a listing skipped.
    pub fn skipped(&self, monitor: &str, reason: &str) {
        self.entries_skipped.get_or_create(&SkipLabel { monitor: monitor.to_owned(), reason: reason.to_owned() }).inc();
    }

    /// Counts a closed window of `monitor`.
    pub fn window(&self, monitor: &str, outcome: WindowOutcome) {
        self.windows.get_or_create(&WindowLabel { monitor: monitor.to_owned(), outcome }).inc();
    }

    /// Metrics with one series in every family, so that the exposition lists every metric the
    /// daemon can export (an empty family prints nothing): for checking dashboards and alert
    /// rules against the code.
    pub fn sample() -> Metrics {
        let m = Metrics::default();
        let monitor = MonitorLabel { monitor: "m".into() };
        let test = TestLabel { monitor: "m".into(), column: "c".into(), test: "ks".into(), segment: String::new() };
        let sink = SinkLabel { sink: "s".into() };
        m.runs.get_or_create(&monitor).inc();
        m.file(&monitor.monitor, FileOutcome::Consumed, 1);
        m.rows.get_or_create(&monitor).inc();
        m.future_rows.get_or_create(&monitor).inc();
        m.backlog.get_or_create(&monitor).set(0);
        m.errors.get_or_create(&monitor).inc();
        m.window(&monitor.monitor, WindowOutcome::Evaluated);
        m.last_success.get_or_create(&monitor).set(1.0);
        m.stale.get_or_create(&monitor).set(0);
        m.statistic.get_or_create(&test).set(0.5);
        m.drift.get_or_create(&test).set(0);
        m.sent.get_or_create(&sink).inc();
        m.retried.get_or_create(&sink).inc();
        m.dead.get_or_create(&sink).inc();
        m.outbox_depth.get_or_create(&sink).set(0);
        m.outbox_oldest_age.get_or_create(&sink).set(0.0);
        let alert = AlertLabel {
            monitor: "m".into(),
            alertname: "DataDrift".into(),
            segment: String::new(),
            severity: "critical".into(),
        };
        m.alerts_firing.get_or_create(&alert).set(1);
        m.skipped("m", "symlink");
        m.quarantined_now.get_or_create(&monitor).set(0);
        m.calibration_window_ratio.get_or_create(&monitor).set(0.0);
        m.calibration_pages.get_or_create(&monitor).set(0.0);
        m.calibration_column_ratio
            .get_or_create(&CalibrationLabel { monitor: "m".into(), column: "c".into() })
            .set(0.0);
        m.latency.sample();
        m.budget.sample();
        m.model.sample();
        m
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
