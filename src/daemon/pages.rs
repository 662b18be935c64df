//! The pages of stored windows: `drift report` writes one to a file, and the daemon serves `/`
//! (every monitor, its status, firing alerts and drifted columns per window) and
//! `/monitors/ID` (the latest window's report with its drift over time and, for a monitor with
//! a `[model]`, its model quality; or `?window=N`).
//!
//! The same renderer as `drift check --format html` (`crate::output::page`). Every request
//! reads through its own read-only connection to the state (never the daemon's writing one,
//! so a page never waits for or holds up a window's transaction), off the async reactor.
//! Every response carries [`CSP`]: the page may run no script and fetch nothing, whatever a
//! column or category name manages to smuggle past the escaping.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::{Path as UrlPath, RawQuery, State as Axum};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{MonitorStatus, Shared};
use crate::engine::Report;
use crate::output::{
    Mark, ModelPanel, ModelWindowView, MonitorLine, Page, Sources, Timeline, TimelineWindow, parse_evaluation,
};
use crate::state::{ModelWindowRow, State};

/// The Content-Security-Policy of every page.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// Windows shown in drift over time and in the index's sparklines.
pub const HISTORY_WINDOWS: usize = 30;

/// Pages rendered at once: each takes a blocking thread and a connection, which evaluations
/// need more; more requests wait their turn.
pub const CONCURRENT_PAGES: usize = 2;

/// What the pages need to know of each monitor besides the state.
#[derive(Debug)]
pub struct Pages {
    /// The state directory, opened read-only per request.
    pub state_dir: PathBuf,
    /// Each monitor's sources as configured (reference path, source glob), by id.
    pub sources: BTreeMap<String, Sources>,
    /// [`CONCURRENT_PAGES`] permits.
    pub renders: tokio::sync::Semaphore,
}

impl Pages {
    /// The pages of the monitors in `sources`, reading the state in `state_dir`.
    pub fn new(state_dir: PathBuf, sources: BTreeMap<String, Sources>) -> Pages {
        Pages { state_dir, sources, renders: tokio::sync::Semaphore::new(CONCURRENT_PAGES) }
    }
}

/// A monitor's sides as its page names them: the reference path and the source glob.
pub fn sources(m: &crate::config::Monitor) -> Sources {
    Sources { reference: vec![m.reference.clone()], current: vec![m.source.path.clone()] }
}

/// The page of a stored window of `monitor` (its latest evaluated one without `window`), with
/// its drift over time across the `history` windows up to it; `None` when there is none.
pub fn window_page(
    state: &State,
    monitor: &str,
    window: Option<i64>,
    history: usize,
    sources: Sources,
    nav: Vec<(String, String)>,
) -> Result<Option<String>> {
    let Some(stored) = state.stored_report(monitor, window)? else { return Ok(None) };
    let past = state.windows_upto(monitor, stored.window_id, history.max(1))?;
    let from = past.first().map_or(stored.window_id, |w| w.id);
    let marks = state.window_marks(monitor, from, stored.window_id)?;
    let reports: Vec<Option<Report>> =
        past.iter().map(|w| w.report.as_deref().and_then(|json| serde_json::from_str::<Report>(json).ok())).collect();
    let windows = past
        .iter()
        .map(|w| TimelineWindow {
            id: w.id,
            closed_ms: w.closed_ms,
            marks: marks
                .iter()
                .filter(|m| m.window_id == w.id)
                .map(
                    |m| if m.resolved { Mark::Resolved(m.alertname.clone()) } else { Mark::Fired(m.alertname.clone()) },
                )
                .collect(),
        })
        .collect();
    let timeline = Timeline::build(windows, &reports);
    let model = model_panel(state, monitor, stored.window_id, history)?;
    let page = Page {
        title: format!("drift report: {monitor}, window {}", stored.window_id),
        sources,
        facts: vec![
            ("monitor".to_owned(), monitor.to_owned()),
            (
                "window".to_owned(),
                format!("{} (closed {})", stored.window_id, crate::clock::rfc3339_ms(stored.closed_ms)),
            ),
        ],
        nav,
        timeline: Some(&timeline),
        no_pictures: !stored.pictures,
        calibration: None,
        model: model.as_ref(),
    };
    Ok(Some(crate::output::page(&stored.report, &page)))
}

/// The model panel of `window` and the `history` windows up to it, for a monitor with a
/// `[model]` (`None` without any model window, so a drift-only monitor's page is unchanged). A
/// window still pending its labels counts its labelled predictions now.
fn model_panel(state: &State, monitor: &str, window: i64, history: usize) -> Result<Option<ModelPanel>> {
    let rows = state.model_windows_upto(monitor, window, history.max(1))?;
    if rows.is_empty() {
        return Ok(None);
    }
    let now: BTreeMap<i64, u64> = if rows.iter().any(|r| r.labelled.is_none()) {
        state.model_windows(monitor)?.into_iter().map(|w| (w.window_id, w.labelled)).collect()
    } else {
        BTreeMap::new()
    };
    let windows = rows.into_iter().rev().map(|r| model_view(r, &now)).collect();
    Ok(Some(ModelPanel { window, windows }))
}

/// A stored model window as the pages show it; `now`: labelled predictions of the windows not
/// evaluated yet.
fn model_view(r: ModelWindowRow, now: &BTreeMap<i64, u64>) -> ModelWindowView {
    ModelWindowView {
        window: r.window_id,
        labelled: r.labelled.or_else(|| now.get(&r.window_id).copied()),
        evaluation: r.report.as_deref().map(parse_evaluation),
        status: r.status,
        early: r.early,
        rows: r.rows,
        verdict: r.verdict,
    }
}

/// The index: one line per monitor from its live status and its stored windows.
fn index_page(state: &State, statuses: &[MonitorStatus]) -> Result<String> {
    let mut lines = Vec::with_capacity(statuses.len());
    for s in statuses {
        let (status, severity) = if s.last_error.is_some() {
            (format!("failing: {}", s.last_error.as_deref().unwrap_or_default()), "critical".to_owned())
        } else if !s.first_scan_done {
            ("first scan running".to_owned(), "none".to_owned())
        } else if let Some(w) = s.last_window.as_ref().filter(|w| w.drift) {
            (format!("DRIFT ({})", w.severity.as_str()), w.severity.as_str().to_owned())
        } else if s.stale {
            ("stale: no new file".to_owned(), "warning".to_owned())
        } else {
            ("ok".to_owned(), "none".to_owned())
        };
        lines.push(MonitorLine {
            id: s.id.clone(),
            description: s.description.clone(),
            status,
            severity,
            firing: s
                .firing
                .iter()
                .map(|f| {
                    if f.segment.is_empty() { f.alertname.clone() } else { format!("{} [{}]", f.alertname, f.segment) }
                })
                .collect(),
            windows: state.drifted_per_window(&s.id, HISTORY_WINDOWS)?,
            model: state
                .model_history(&s.id, 1)?
                .into_iter()
                .next()
                .map(|r| model_view(ModelWindowRow { report: None, ..r }, &BTreeMap::new())),
        });
    }
    Ok(crate::output::index(&lines, &crate::clock::now_rfc3339()))
}

/// The daemon's routes for the pages, merged into its server (`daemon::http`).
pub fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/", get(index)).route("/monitors/{id}", get(monitor))
}

/// `?window=N` on a monitor's page: `Ok(None)` without it, `Err` when it is not a number.
fn window_param(query: Option<&str>) -> Result<Option<i64>, String> {
    let Some(value) = query.into_iter().flat_map(|q| q.split('&')).find_map(|kv| kv.strip_prefix("window=")) else {
        return Ok(None);
    };
    value.parse().map(Some).map_err(|_| "window: expected a window id (a number, see drift history)".to_owned())
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response()
}

/// A short page for errors and absent windows (the message escaped).
fn message(status: StatusCode, text: &str) -> Response {
    let mut out = String::new();
    crate::output::html_head(&mut out, "drift");
    out.push_str(&format!(
        "<p><a href=\"/\">all monitors</a></p>\n<p>{}</p>\n</body>\n</html>\n",
        crate::output::escape(text)
    ));
    html(status, out)
}

/// Runs `f` on a read-only connection to the state, off the reactor, at most
/// [`CONCURRENT_PAGES`] at once.
async fn read<T: Send + 'static>(pages: &Pages, f: impl FnOnce(&State) -> Result<T> + Send + 'static) -> Result<T> {
    let _permit = pages.renders.acquire().await.context("the daemon is stopping")?;
    let dir = pages.state_dir.clone();
    tokio::task::spawn_blocking(move || {
        let state = State::open_read_only(&dir)?;
        f(&state)
    })
    .await
    .context("the page's reader stopped")?
}

async fn index(Axum(s): Axum<Arc<Shared>>) -> Response {
    let statuses: Vec<MonitorStatus> = s.status.lock().map(|m| m.values().cloned().collect()).unwrap_or_default();
    match read(&s.pages, move |st| index_page(st, &statuses)).await {
        Ok(body) => html(StatusCode::OK, body),
        Err(e) => message(StatusCode::SERVICE_UNAVAILABLE, &format!("cannot read the state: {e:#}")),
    }
}

async fn monitor(Axum(s): Axum<Arc<Shared>>, UrlPath(id): UrlPath<String>, RawQuery(q): RawQuery) -> Response {
    let Some(sources) = s.pages.sources.get(&id).cloned() else {
        return message(StatusCode::NOT_FOUND, &format!("no monitor {id:?}"));
    };
    let window = match window_param(q.as_deref()) {
        Ok(w) => w,
        Err(e) => return message(StatusCode::BAD_REQUEST, &e),
    };
    let nav = vec![("all monitors".to_owned(), "/".to_owned())];
    let what = id.clone();
    match read(&s.pages, move |st| window_page(st, &what, window, HISTORY_WINDOWS, sources, nav)).await {
        Ok(Some(body)) => html(StatusCode::OK, body),
        Ok(None) => match window {
            Some(w) => message(StatusCode::NOT_FOUND, &format!("monitor {id:?} has no evaluated window {w}")),
            None => message(StatusCode::NOT_FOUND, &format!("monitor {id:?} has no evaluated window yet")),
        },
        Err(e) => message(StatusCode::SERVICE_UNAVAILABLE, &format!("cannot read the state: {e:#}")),
    }
}
