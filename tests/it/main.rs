//! The one integration-test binary. Table of contents:
//!
//! - `golden`: every statistic against SciPy's golden vectors.
mod golden;
