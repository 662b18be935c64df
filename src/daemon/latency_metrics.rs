//! The latency check's Prometheus metrics, per monitor and segment: the last window's
//! percentiles in seconds (`drift_latency_seconds{quantile="0.99"}`), and counters of the
//! requests with a latency and of those at or below each configured threshold (the
//! objective's and the SLOs'), from which a PrometheusRule computes burn rates itself
//! (`deploy/kubernetes/prometheusrule.yaml`, `DriftLatencyBudgetBurn*`).

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::metrics::MonitorLabel;
use crate::engine::Report;
use crate::engine::latency::LatencyDetail;

/// A percentile of a monitor's (segment's) last window.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QuantileLabel {
    /// Monitor id.
    pub monitor: String,
    /// Segment label ("" for the whole window).
    pub segment: String,
    /// The quantile, as in a Prometheus summary (`0.99`).
    pub quantile: String,
}

/// Requests of a monitor (segment).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestsLabel {
    /// Monitor id.
    pub monitor: String,
    /// Segment label ("" for the whole window).
    pub segment: String,
}

/// Requests of a monitor (segment) at or below a threshold.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GoodLabel {
    /// Monitor id.
    pub monitor: String,
    /// Segment label ("" for the whole window).
    pub segment: String,
    /// The threshold in seconds, as in a Prometheus histogram bucket (`0.25`).
    pub le: String,
}

/// The latency families.
#[derive(Debug, Default, Clone)]
pub struct LatencyMetrics {
    /// The last window's percentiles (seconds).
    pub seconds: Family<QuantileLabel, Gauge<f64, AtomicU64>>,
    /// Requests with a latency, counted when their window closes.
    pub requests: Family<RequestsLabel, Counter>,
    /// Requests at or below each configured threshold, counted when their window closes.
    pub good: Family<GoodLabel, Counter>,
    /// The objective's total requests (whole windows).
    pub objective_total: Family<MonitorLabel, Counter>,
    /// The objective's good requests (whole windows).
    pub objective_good: Family<MonitorLabel, Counter>,
    /// The objective's target (0.99).
    pub objective_target: Family<MonitorLabel, Gauge<f64, AtomicU64>>,
    /// The objective's period (seconds).
    pub objective_period: Family<MonitorLabel, Gauge<f64, AtomicU64>>,
}

impl LatencyMetrics {
    /// Registers the families (`drift_latency_*`).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "latency_seconds",
            "Latency percentiles of a monitor's last window, per segment (seconds)",
            self.seconds.clone(),
        );
        registry.register(
            "latency_requests",
            "Requests with a latency, per monitor and segment, counted when their window closes",
            self.requests.clone(),
        );
        registry.register(
            "latency_good_requests",
            "Requests at or below a configured latency threshold (le, seconds), counted when their window closes",
            self.good.clone(),
        );
        registry.register(
            "latency_objective_requests",
            "Requests with a latency against the monitor's latency objective, counted when their window closes",
            self.objective_total.clone(),
        );
        registry.register(
            "latency_objective_good_requests",
            "Requests within the latency objective's threshold, counted when their window closes",
            self.objective_good.clone(),
        );
        registry.register(
            "latency_objective_target",
            "The latency objective's target share of good requests",
            self.objective_target.clone(),
        );
        registry.register(
            "latency_objective_period_seconds",
            "The latency objective's error-budget period",
            self.objective_period.clone(),
        );
    }

    /// Records a closed window's latency, if the monitor has a latency check.
    pub fn record(&self, monitor: &str, report: &Report) {
        for c in report.checks.iter().filter(|c| c.kind == "latency") {
            let Ok(d) = serde_json::from_value::<LatencyDetail>(c.detail.clone()) else { continue };
            if let Some(o) = &d.objective {
                let l = MonitorLabel { monitor: monitor.into() };
                self.objective_total.get_or_create(&l).inc_by(o.total);
                self.objective_good.get_or_create(&l).inc_by(o.good);
                self.objective_target.get_or_create(&l).set(o.target);
                self.objective_period.get_or_create(&l).set(f64::from(o.period_days) * 86_400.0);
            }
            for s in &d.summaries {
                for p in &s.percentiles {
                    let Some(ms) = p.ms else { continue };
                    let l = QuantileLabel {
                        monitor: monitor.into(),
                        segment: s.segment.clone(),
                        quantile: p.quantile.to_string(),
                    };
                    self.seconds.get_or_create(&l).set(ms / 1000.0);
                }
                self.requests
                    .get_or_create(&RequestsLabel { monitor: monitor.into(), segment: s.segment.clone() })
                    .inc_by(s.count);
                for g in &s.at_or_below {
                    let l = GoodLabel {
                        monitor: monitor.into(),
                        segment: s.segment.clone(),
                        le: (g.ms / 1000.0).to_string(),
                    };
                    self.good.get_or_create(&l).inc_by(g.requests);
                }
            }
        }
    }

    /// One series in every family (for `Metrics::sample`).
    pub fn sample(&self) {
        let (monitor, segment) = ("m".to_owned(), String::new());
        let q = QuantileLabel { monitor: monitor.clone(), segment: segment.clone(), quantile: "0.99".into() };
        self.seconds.get_or_create(&q).set(0.2);
        self.requests.get_or_create(&RequestsLabel { monitor: monitor.clone(), segment: segment.clone() }).inc();
        self.good.get_or_create(&GoodLabel { monitor: monitor.clone(), segment, le: "0.25".into() }).inc();
        let l = MonitorLabel { monitor };
        self.objective_total.get_or_create(&l).inc();
        self.objective_good.get_or_create(&l).inc();
        self.objective_target.get_or_create(&l).set(0.99);
        self.objective_period.get_or_create(&l).set(2_592_000.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::check::CheckResult;
    use crate::engine::latency::{AtOrBelow, LatencySummary, ObjectiveCounts, Percentile};

    /// Gauges hold the last window's percentiles in seconds; counters add up across windows.
    #[test]
    fn a_windows_latency_sets_the_percentiles_and_counts_good_and_total_requests() {
        let summary = |segment: &str, p99: f64, count: u64, good: u64| LatencySummary {
            segment: segment.into(),
            count,
            missing: 0,
            exact: true,
            percentiles: vec![Percentile { quantile: 0.99, label: "p99".into(), ms: Some(p99) }],
            max_ms: Some(p99),
            rps: None,
            slo: Vec::new(),
            at_or_below: vec![AtOrBelow { ms: 250.0, requests: good }],
        };
        let detail = LatencyDetail {
            column: "latency_ms".into(),
            unit: "ms".into(),
            summaries: vec![summary("", 412.0, 200, 190), summary("region=eu", 90.0, 50, 50)],
            objective: Some(ObjectiveCounts {
                threshold_ms: 250.0,
                target: 0.99,
                period_days: 30,
                good: 190,
                total: 200,
            }),
        };
        let mut report = crate::alerts::testing::shifted_report(0.0);
        report.checks = vec![CheckResult {
            kind: "latency".into(),
            alertname: "LatencySLOBreached".into(),
            alerts: Vec::new(),
            detail: serde_json::to_value(&detail).unwrap(),
        }];
        let m = LatencyMetrics::default();
        let mut registry = Registry::with_prefix("drift");
        m.register(&mut registry);
        m.record("api", &report);
        m.record("api", &report);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        for line in [
            "drift_latency_seconds{monitor=\"api\",segment=\"\",quantile=\"0.99\"} 0.412",
            "drift_latency_seconds{monitor=\"api\",segment=\"region=eu\",quantile=\"0.99\"} 0.09",
            "drift_latency_requests_total{monitor=\"api\",segment=\"\"} 400",
            "drift_latency_good_requests_total{monitor=\"api\",segment=\"\",le=\"0.25\"} 380",
            "drift_latency_good_requests_total{monitor=\"api\",segment=\"region=eu\",le=\"0.25\"} 100",
            "drift_latency_objective_requests_total{monitor=\"api\"} 400",
            "drift_latency_objective_good_requests_total{monitor=\"api\"} 380",
            "drift_latency_objective_target{monitor=\"api\"} 0.99",
            "drift_latency_objective_period_seconds{monitor=\"api\"} 2592000.0",
        ] {
            assert!(text.contains(line), "{line} in:\n{text}");
        }
    }
}
