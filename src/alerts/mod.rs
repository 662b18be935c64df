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
