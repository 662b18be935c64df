//! The statistics core: pure functions over samples and histograms.
//!
//! **Invariant: no I/O, no clock, no async, no logging.** Everything here takes its inputs as
//! arguments and returns values; `tests/it/purity.rs` greps this directory to keep it so. The
//! engine, the daemon and reference snapshots all call these functions, and every number they
//! produce is checked against SciPy's golden vectors in `tests/data/`.
//!
//! Numeric conventions, in one place:
//! - **NaN and nulls** never reach this module: callers drop them and count them, and
//!   [`SortedSample::new`] rejects NaN. **±inf are values** (they sort to the ends).
//! - **-0.0 equals 0.0**: folded when a sample is built.
//! - **Ties**: the KS supremum is taken between distinct values; PSI bins are left-closed.
//! - **Smoothing**: PSI clips proportions at `eps` = 1e-4; JS is unsmoothed. The effect the
//!   floors see is PSI less its own noise, `psi_corrected = max(0, PSI - dof (1/n + 1/N))`.
//! - **Small counts**: category bins fit the window (every bin expects `min_expected` values,
//!   [`fitted`]); new values have their own exact binomial test; the missing-rate test is
//!   Fisher's exact test when an expected count is small ([`exact`]).
//! - **p-values**: KS exact/asymptotic as SciPy's `ks_2samp(method="auto")`; chi-square from
//!   statrs; the null-rate test is a pooled two-proportion z-test, or Fisher's exact test as
//!   SciPy's `fisher_exact`; the unseen-values test is SciPy's `binomtest(alternative="greater")`;
//!   BH as SciPy's `false_discovery_control`.

pub mod binning;
pub mod bucketed;
pub mod chi2;
pub mod correction;
pub mod ddsketch;
pub mod divergence;
pub mod exact;
pub mod fitted;
pub mod kolmogorov;
pub mod ks;
pub mod proportion;
pub mod quantile;
pub mod ranks;
pub mod sample;
pub mod sketch;

pub use binning::{CategoryCounts, CategoryTable, Tail, align_categories, bin_counts, quantile_edges};
pub use bucketed::{Moments, NumericComparison, Sample};
pub use chi2::{Chi2Result, chi2_homogeneity};
pub use correction::{Correction, benjamini_hochberg};
pub use divergence::{js_distance, psi, psi_corrected, wasserstein};
pub use exact::{binom_sf, fisher_exact};
pub use fitted::{Fitted, Unseen, fit_categories, testable_from, unseen};
pub use kolmogorov::{kstwo_sf, smirnov};
pub use ks::{KsMethod, KsMode, KsResult, ks_2samp, ks_from_numerator, ks_statistic};
pub use proportion::{two_proportion_p, two_proportion_z};
pub use sample::{SampleError, SortedSample};

/// Helpers for the unit tests of the statistics.
#[cfg(test)]
pub(crate) mod testing {
    /// The golden tolerance for p-values (tests/data/golden/README.md): relative.
    pub(crate) fn assert_p(got: f64, want: f64) {
        let tol = 1e-6 * want + 1e-300;
        assert!((got - want).abs() <= tol, "p {got:e} vs SciPy {want:e} (tol {tol:e})");
    }
}
