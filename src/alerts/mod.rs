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

pub mod burn;
pub mod lifecycle;
pub mod payload;
pub mod retry;
pub mod route;
pub mod slack;

/// Reports built from real data and committed snapshots, for the pure modules' tests (which may
/// not touch Parquet, the file system or the environment themselves: `tests/it/purity.rs`).
#[cfg(test)]
pub(crate) mod testing {
    use crate::engine::Report;

    /// Whether to rewrite snapshots, from whether `DRIFT_BLESS` and `CI` are set. Blessing writes
    /// the snapshot and then compares it with itself, so a test run that blesses proves nothing:
    /// fine on a developer's machine (who reviews the diff), an error under CI.
    pub(crate) fn blessing(bless: bool, ci: bool) -> Result<bool, &'static str> {
        match (bless, ci) {
            (true, true) => Err("DRIFT_BLESS is set under CI: blessing rewrites the snapshots and then compares \
                                 each with itself, so the snapshot tests would prove nothing; unset DRIFT_BLESS"),
            (bless, _) => Ok(bless),
        }
    }

    /// Compares `text` with the committed snapshot `tests/data/{name}`; with `DRIFT_BLESS` set
    /// (and `CI` not) it rewrites the snapshot first (review the diff).
    pub(crate) fn snapshot(name: &str, text: &str) {
        let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
        let bless = std::env::var_os("DRIFT_BLESS").is_some();
        let ci = std::env::var_os("CI").is_some();
        if blessing(bless, ci).unwrap_or_else(|e| panic!("{e}")) {
            std::fs::write(&path, text).unwrap();
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(text, want, "{path} differs (DRIFT_BLESS=1 rewrites it, outside CI)");
    }

    #[test]
    fn blessing_is_refused_under_ci() {
        assert!(blessing(true, true).is_err(), "CI must not rewrite the snapshots it checks");
        assert_eq!(blessing(true, false), Ok(true));
        assert_eq!(blessing(false, true), Ok(false));
        assert_eq!(blessing(false, false), Ok(false));
    }

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
