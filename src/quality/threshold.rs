//! When a metric's value on a window is a breach: a fixed bound, or a band learned from the
//! model's reference ([`super::band`]).

use super::Band;

/// A metric's threshold as configured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// Below `min` or above `max`.
    Fixed {
        /// The lowest acceptable value.
        min: Option<f64>,
        /// The highest acceptable value.
        max: Option<f64>,
    },
    /// Outside mean ± 3σ of the metric over reference chunks of the window's size.
    Learned,
}

/// The bounds a value is held to: the fixed ones, or a learned band's.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Bounds {
    /// The lowest acceptable value.
    pub min: Option<f64>,
    /// The highest acceptable value.
    pub max: Option<f64>,
}

impl Bounds {
    /// A band's bounds.
    pub fn of(band: &Band) -> Bounds {
        Bounds { min: Some(band.lower), max: Some(band.upper) }
    }

    /// Whether `value` is outside them.
    pub fn breached(&self, value: f64) -> bool {
        self.min.is_some_and(|m| value < m) || self.max.is_some_and(|m| value > m)
    }

    /// The bound `value` crossed, for people: `below 0.80` / `above 0.20`.
    pub fn crossed(&self, value: f64) -> Option<String> {
        match (self.min, self.max) {
            (Some(m), _) if value < m => Some(format!("below {m:.4}")),
            (_, Some(m)) if value > m => Some(format!("above {m:.4}")),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_on_a_bound_is_not_a_breach() {
        let b = Bounds { min: Some(0.8), max: None };
        assert!(!b.breached(0.8) && b.breached(0.7999) && !b.breached(5.0));
        assert_eq!(b.crossed(0.5).as_deref(), Some("below 0.8000"));
        let b = Bounds { min: None, max: Some(0.2) };
        assert!(b.breached(0.21) && !b.breached(-1.0));
        assert_eq!(b.crossed(0.1), None);
    }
}
