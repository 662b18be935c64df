//! The decision policy: when a test result counts as drift, and how severe it is.
//!
//! A test says drift only when it is **significant** after the multiple-testing correction
//! (adjusted p < `alpha`) **and** its effect is **large enough to matter** (at or above the
//! warning floor; at or above the critical floor it is critical). Significance alone is what
//! makes KS flag everything on big samples; effect alone is what makes PSI fire on tiny windows.
//! The defaults:
//!
//! | test | effect | warning | critical | significance |
//! |---|---|---|---|---|
//! | `ks` (numeric) | D | 0.1 | 0.2 | KS p-value |
//! | `psi` (numeric) | PSI on reference-quantile bins | 0.1 | 0.25 | chi-square on the same bins' counts |
//! | `chi2` (categorical) | PSI over categories | 0.1 | 0.25 | chi-square over categories |
//! | `null_rate` | absolute change in the missing rate | 0.01 | 0.05 | two-proportion z-test; Fisher's exact test when a count expects fewer than `min_expected` |
//! | `unseen` (categorical) | share of values unseen in the reference, beyond its own estimate | 0.01 | 0.05 | exact binomial, one-sided |
//!
//! `alpha` = 0.05, Benjamini-Hochberg over every p-value of one evaluation. Fewer than
//! `min_count` (20) values on a side makes a test *insufficient*: reported, never drift.
//! PSI's effect is `psi_corrected` (PSI less its noise, `dof (1/n + 1/N)`) unless `psi_effect`
//! is classic; categories keep their own bin when they expect `min_expected` (5) values in the
//! window. `psi_effect = classic` and `min_expected = 0` restore the rules before both: one bin
//! per category, the classic PSI, the z-test only, and no unseen-values test.
//! Detection limit: with D >= 0.1 a pure mean shift must be about a quarter of a standard
//! deviation (normal data: D = 2*Phi(delta/2) - 1 = 0.1 at delta = 0.25) before it is flagged.

use serde::Serialize;

use crate::stats::Correction;
use crate::stats::binning::{DEFAULT_BINS, DEFAULT_MAX_CATEGORIES};
use crate::stats::divergence::DEFAULT_PSI_EPS;

/// Effect-size floors of one test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct Floors {
    /// At or above: warning.
    pub warning: f64,
    /// At or above: critical.
    pub critical: f64,
}

/// Severity of a drift finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// No drift.
    None,
    /// Above the warning floor.
    Warning,
    /// Above the critical floor.
    Critical,
}

impl Severity {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::None => "none",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// Optional tests beyond the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct Extras {
    /// Jensen-Shannon distance (base 2) on the PSI bins / categories; informational.
    pub js: bool,
    /// Wasserstein-1, raw and divided by the reference standard deviation; informational.
    pub wasserstein: bool,
}

/// Which PSI the floors are compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PsiEffect {
    /// PSI as computed: between two samples of one distribution it is about
    /// `(1/n + 1/N) chi2(dof)`, so on small windows noise alone passes the floors.
    Classic,
    /// `psi_corrected = max(0, PSI - dof (1/n + 1/N))`: the effect beyond that noise.
    Corrected,
}

impl PsiEffect {
    /// Parses `classic` or `corrected`.
    pub fn parse(s: &str) -> Option<PsiEffect> {
        match s {
            "classic" => Some(PsiEffect::Classic),
            "corrected" => Some(PsiEffect::Corrected),
            _ => None,
        }
    }
}

/// Every threshold of an evaluation. Built with [`Policy::default`] and adjusted by the CLI or
/// a monitor file; reported in full with every result.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Policy {
    /// Significance level applied to adjusted p-values.
    pub alpha: f64,
    /// Multiple-testing correction over all p-values of one evaluation.
    pub correction: Correction,
    /// KS D floors.
    pub ks: Floors,
    /// PSI floors (numeric and categorical).
    pub psi: Floors,
    /// Floors on the absolute change of the missing (null or NaN) rate.
    pub null_rate: Floors,
    /// Floors on the share of a window's values unseen in the reference, beyond the
    /// reference's own estimate of it.
    pub unseen: Floors,
    /// Which PSI the PSI floors see.
    pub psi_effect: PsiEffect,
    /// Expected count a category needs for its own bin, and below which the missing-rate test
    /// is exact; 0 restores one bin per category, the z-test only and no unseen-values test.
    pub min_expected: f64,
    /// Number of PSI bins for numeric columns.
    pub bins: usize,
    /// Lower clip of PSI proportions.
    pub psi_eps: f64,
    /// At most this many reference categories keep their own bin; the rest share `__other__`.
    pub max_categories: usize,
    /// Minimum values per side for a test to be evaluated.
    pub min_count: u64,
    /// Optional informational tests.
    pub extras: Extras,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            alpha: 0.05,
            correction: Correction::Bh,
            ks: Floors { warning: 0.1, critical: 0.2 },
            psi: Floors { warning: 0.1, critical: 0.25 },
            null_rate: Floors { warning: 0.01, critical: 0.05 },
            unseen: Floors { warning: 0.01, critical: 0.05 },
            psi_effect: PsiEffect::Corrected,
            min_expected: 5.0,
            bins: DEFAULT_BINS,
            psi_eps: DEFAULT_PSI_EPS,
            max_categories: DEFAULT_MAX_CATEGORIES,
            min_count: 20,
            extras: Extras::default(),
        }
    }
}

impl Policy {
    /// Checks the thresholds make sense; every problem is reported at once.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            errors.push(format!("alpha must be in (0, 1), got {}", self.alpha));
        }
        for (name, f) in [("ks", self.ks), ("psi", self.psi), ("null_rate", self.null_rate), ("unseen", self.unseen)] {
            if !(f.warning >= 0.0 && f.warning <= f.critical) {
                errors.push(format!(
                    "{name}: need 0 <= warning floor <= critical floor, got {} and {}",
                    f.warning, f.critical
                ));
            }
        }
        if self.bins < 2 {
            errors.push(format!("bins must be at least 2, got {}", self.bins));
        }
        if !(self.psi_eps > 0.0 && self.psi_eps < 1.0) {
            errors.push(format!("psi eps must be in (0, 1), got {}", self.psi_eps));
        }
        if self.max_categories < 1 {
            errors.push("max_categories must be at least 1".to_owned());
        }
        if !(self.min_expected >= 0.0 && self.min_expected.is_finite()) {
            errors.push(format!("min_expected must be a number >= 0, got {}", self.min_expected));
        }
        if self.min_count < 1 {
            errors.push("min_count must be at least 1".to_owned());
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

impl Floors {
    /// Severity of a significant effect.
    pub fn severity(&self, effect: f64) -> Severity {
        if effect >= self.critical {
            Severity::Critical
        } else if effect >= self.warning {
            Severity::Warning
        } else {
            Severity::None
        }
    }
}
