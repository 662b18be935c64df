//! drift
pub mod stats;
