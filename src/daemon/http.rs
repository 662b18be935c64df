//! The daemon's HTTP endpoints (axum): `/healthz` (the process answers and no monitor or
//! delivery pass has run longer than `cycle_timeout_secs`: the watchdog's rule), `/readyz` (the
//! configuration is loaded and every monitor finished its first scan), `/metrics` (Prometheus
//! text) and `/api/v1/monitors` (JSON status); the HTML pages (`/`, `/monitors/ID`) are
//! `daemon::pages`'.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use super::Shared;

/// Serves until the task is aborted.
pub async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/monitors", get(monitors))
        .merge(super::pages::routes())
        .with_state(shared);
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "HTTP server stopped");
    }
}

async fn healthz(State(s): State<Arc<Shared>>) -> impl IntoResponse {
    match s.liveness.stuck(crate::clock::now_ms()) {
        None => (StatusCode::OK, "ok\n".to_owned()),
        Some(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("not alive: {why}\n")),
    }
}

async fn readyz(State(s): State<Arc<Shared>>) -> impl IntoResponse {
    if s.ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready: first scans running\n")
    }
}

async fn metrics(State(s): State<Arc<Shared>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], s.metrics.encode())
}

async fn monitors(State(s): State<Arc<Shared>>) -> impl IntoResponse {
    let list: Vec<super::MonitorStatus> = s.status.lock().map(|m| m.values().cloned().collect()).unwrap_or_default();
    axum::Json(list)
}
