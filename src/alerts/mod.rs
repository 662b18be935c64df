//! Alerting: what to notify and when, kept apart from how it is delivered.
//!
//! [`lifecycle`] is the pure part: the per-alert state machine (pending, firing, resolved;
//! `fire_after`, `resolve_after`, `repeat_interval`), silences and stable fingerprints, with
//! `now` passed in so every rule is a unit test. Delivery (the outbox, Slack and webhook sinks,
//! retries) is the tokio side and builds on it.

pub mod lifecycle;
