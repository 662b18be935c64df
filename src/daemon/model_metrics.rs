//! Model quality's Prometheus metrics: the last evaluated window's metrics per segment
//! (`drift_model_metric{metric="roc_auc"}`, an undefined metric's series removed), its label
//! coverage, and the join's counts (labels read, matched, duplicated, unmatched; predictions
//! and labels held).

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::metrics::MonitorLabel;
use crate::engine::model::Judged;
use crate::state::JoinCounts;

/// A metric of a monitor's (segment's) last evaluated window.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MetricLabel {
    /// Monitor id.
    pub monitor: String,
    /// Segment label ("" for the whole window).
    pub segment: String,
    /// The metric (`roc_auc`).
    pub metric: String,
    /// `partial` or `final`.
    pub status: String,
}

/// A monitor's (segment's) label coverage.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CoverageLabel {
    /// Monitor id.
    pub monitor: String,
    /// Segment label ("" for the whole window).
    pub segment: String,
}

/// One of the join's counts.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JoinLabel {
    /// Monitor id.
    pub monitor: String,
    /// `label_rows`, `matched`, `duplicates`, `unmatched`, `sampled_out`, `early_windows`,
    /// `pending_labels`, `held_predictions`.
    pub count: String,
}

/// The model families.
#[derive(Debug, Default, Clone)]
pub struct ModelMetrics {
    /// The last evaluated window's metrics.
    pub metric: Family<MetricLabel, Gauge<f64, AtomicU64>>,
    /// The last evaluated window's label coverage.
    pub coverage: Family<CoverageLabel, Gauge<f64, AtomicU64>>,
    /// The join's counts.
    pub join: Family<JoinLabel, Gauge>,
    /// Windows whose performance is not final yet.
    pub windows_waiting: Family<MonitorLabel, Gauge>,
}

impl ModelMetrics {
    /// Registers the families (`drift_model_*`).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "model_metric",
            "Realized model performance of a monitor's last evaluated window, per segment (status partial or final)",
            self.metric.clone(),
        );
        registry.register(
            "model_label_coverage",
            "Share of the last evaluated window's predictions with a label, per segment",
            self.coverage.clone(),
        );
        registry.register(
            "model_join",
            "The late-label join's counts per monitor (labels read, matched, duplicates, unmatched, held)",
            self.join.clone(),
        );
        registry.register(
            "model_windows_waiting",
            "Closed windows whose model performance is not final yet (waiting for labels)",
            self.windows_waiting.clone(),
        );
    }

    /// Sets the gauges of one evaluated window (whole and segments).
    pub fn window(&self, monitor: &str, status: &str, judged: &[&Judged]) {
        for j in judged {
            let label = |metric: &str| MetricLabel {
                monitor: monitor.to_owned(),
                segment: j.segment.clone(),
                metric: metric.to_owned(),
                status: status.to_owned(),
            };
            for m in &j.performance.metrics {
                let l = label(m.metric.name());
                match m.value.get() {
                    Some(v) => {
                        self.metric.get_or_create(&l).set(v);
                    }
                    None => {
                        self.metric.remove(&l);
                    }
                }
            }
            let c = CoverageLabel { monitor: monitor.to_owned(), segment: j.segment.clone() };
            self.coverage.get_or_create(&c).set(j.coverage.unwrap_or(0.0));
        }
    }

    /// One series in every family (for `Metrics::sample`).
    pub fn sample(&self) {
        let (monitor, segment) = ("m".to_owned(), String::new());
        let l = MetricLabel {
            monitor: monitor.clone(),
            segment: segment.clone(),
            metric: "roc_auc".into(),
            status: "partial".into(),
        };
        self.metric.get_or_create(&l).set(0.8);
        self.coverage.get_or_create(&CoverageLabel { monitor: monitor.clone(), segment }).set(0.5);
        self.join(&monitor, &JoinCounts::default(), 0);
    }

    /// Sets the join's gauges.
    pub fn join(&self, monitor: &str, c: &JoinCounts, waiting: usize) {
        let counts = [
            ("label_rows", c.label_rows),
            ("matched", c.matched),
            ("duplicates", c.duplicates),
            ("unmatched", c.unmatched),
            ("sampled_out", c.sampled_out),
            ("early_windows", c.early_windows),
            ("pending_labels", c.pending_labels),
            ("held_predictions", c.held_predictions),
        ];
        for (name, v) in counts {
            let l = JoinLabel { monitor: monitor.to_owned(), count: name.to_owned() };
            self.join.get_or_create(&l).set(v as i64);
        }
        self.windows_waiting.get_or_create(&MonitorLabel { monitor: monitor.to_owned() }).set(waiting as i64);
    }
}
