//! Rendering: everything a command prints is a string built here, and the CLI only decides
//! where it goes (rendering is pure: no I/O, no clock). One module per thing rendered:
//!
//! - [`render`]: the evaluation of `drift check` (and of a daemon window) as an aligned
//!   table (colour only on a terminal, drifted columns first, one summary line), Markdown (for
//!   CI comments and notebooks) or JSON (the contract in `docs/json.md`);
//! - [`html`]: the same evaluation as one self-contained HTML page with inline SVG charts;
//! - [`snapshot_table`] and [`snapshot_json`]: `drift reference show`, and the lines `build` and
//!   `merge` print;
//! - [`history_table`] and [`history_json`]: `drift history`, from [`HistoryWindow`], whose JSON
//!   is also a contract (`docs/json.md`);
//! - [`notification_list`]: `drift alert list` (and the lines of `alert test` and `retry`);
//! - [`silence_list`]: `drift silence list` (and the lines of `add` and `expire`);
//! - [`once_monitor`]: what `drift run --once` did per monitor;
//! - [`validated`]: `drift validate`;
//! - [`calibration_table`], [`render_calibrated`], [`monitor_calibration`]: the false-alarm
//!   calibration of `drift validate --calibrate` and `drift check --calibrate`.
//!
//! What the state database returns is turned into the small view types here
//! ([`HistoryWindow`], [`NotificationLine`], [`SilenceLine`]) by the CLI, so that rendering needs
//! neither the state nor the alerting modules.

mod alerts;
mod align;
mod budget;
mod calibration;
mod config;
mod history;
mod html;
mod latency;
mod once;
mod quality;
mod quarantine;
mod report;
mod silences;
mod snapshot;

pub use crate::engine::text::{num, opt, pval};
pub use alerts::{NotificationLine, notification_list, requeued, test_delivered, test_not_delivered};
pub use budget::{BudgetLine, budget_table};
pub use calibration::{
    calibration_markdown, calibration_table, calibrations_json, monitor_calibration, render_calibrated,
};
pub use config::{problems, validated};
pub use history::{HistoryTest, HistoryWindow, history_json, history_table};
pub(crate) use html::head as html_head;
pub use html::{
    Evaluation, Mark, ModelPanel, ModelWindowView, MonitorLine, Page, Series, Sources, Timeline, TimelineWindow,
    escape, html, index, page, parse_evaluation,
};
pub use once::{ModelWindow, OnceMonitor, once_monitor};
pub use quarantine::{QuarantineLine, quarantine_list, quarantine_released};
pub use report::{Format, render, summary_line};
pub use silences::{SilenceLine, SilenceScope, silence_added, silence_expired, silence_list};
pub use snapshot::{snapshot_json, snapshot_merged, snapshot_table, snapshot_written};

/// Pretty JSON and a final newline. The types rendered this way (the report, the snapshot's
/// metadata, the history) have string keys only, so serializing them cannot fail; if it ever
/// did, the output would be a JSON object naming the error rather than nothing.
fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// `""` for one, `"s"` otherwise.
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
