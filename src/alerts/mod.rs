//! Alerting: what to notify and when, kept apart from how it is delivered.
//!
//! [`lifecycle`] is the pure part: the per-alert state machine (pending, firing, resolved;
//! `fire_after`, `resolve_after`, `repeat_interval`), silences and stable fingerprints, with
//! `now` passed in so every rule is a unit test. [`retry`] is the pure part of delivery: backoff,
//! `Retry-After`, dead-lettering and URL redaction. [`payload`] renders the generic webhook
//! body (Alertmanager webhook v4 plus drift's fields) and [`slack`] the Block Kit message. The
//! outbox and the Slack and webhook sinks
//! (the tokio side) build on both.

pub mod lifecycle;
pub mod payload;
pub mod retry;
pub mod slack;
