//! Alerting: what to notify and when, kept apart from how it is delivered.
//!
//! [`lifecycle`] is the pure part: the per-alert state machine (pending, firing, resolved;
//! `fire_after`, `resolve_after`, `repeat_interval`), silences and stable fingerprints, with
//! `now` passed in so every rule is a unit test. [`retry`] is the pure part of delivery: backoff,
//! `Retry-After`, dead-lettering and URL redaction. [`payload`] renders the generic webhook
//! body (Alertmanager webhook v4 plus drift's fields) and [`slack`] the Block Kit message.
//! [`route`] decides, also purely, which notifications a window or an operational observation
//! sends to which sinks. The outbox lives in [`crate::state`] and its worker, the only I/O, in
//! [`crate::daemon::deliver`].

pub mod lifecycle;
pub mod payload;
pub mod retry;
pub mod route;
pub mod slack;

/// Reports built from real data, for the pure modules' tests (which may not touch Parquet
/// themselves: `tests/it/purity.rs`).
#[cfg(test)]
pub(crate) mod testing {
    use crate::engine::Report;

    /// A dataset of one in-memory Parquet file made of these columns.
    pub(crate) fn table(cols: Vec<(&str, arrow_array::ArrayRef)>) -> crate::source::Dataset {
        let batch = arrow_array::RecordBatch::try_from_iter(cols).unwrap();
        let mut buf = Vec::new();
        let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let f = crate::source::open_bytes(std::path::Path::new("t.parquet"), buf.into()).unwrap();
        crate::source::Dataset::from_files("t", vec![f]).unwrap()
    }

    /// `x` shifted by `shift` against `x` (uniform on [0, 1), 2000 rows a side), with PSI never
    /// critical, so that the KS floors alone set the severity (0.15: warning, 0.5: critical).
    pub(crate) fn shifted_report(shift: f64) -> Report {
        use arrow_array::{ArrayRef, Float64Array};
        let side = |shift: f64| {
            let x = std::sync::Arc::new(Float64Array::from_iter_values((0..2000).map(|i| i as f64 / 2000.0 + shift)));
            table(vec![("x", x as ArrayRef)])
        };
        let policy = crate::engine::Policy {
            psi: crate::engine::Floors { warning: 0.1, critical: f64::MAX },
            ..crate::engine::Policy::default()
        };
        crate::check::run_check(&side(0.0), &side(shift), &crate::check::CheckOptions::default(), &policy, &|_, _| {})
            .unwrap()
    }
}
