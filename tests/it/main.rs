//! The one integration-test binary. Table of contents:
//!
//! - `golden`: every statistic against SciPy's golden vectors (`tests/data/golden/`).
//! - `mixed`: the golden Parquet pair through `drift check --format json`.
//! - `support`: helpers (real Parquet files via arrow, the real binary).
mod golden;
mod mixed;
mod support;
