//! The daemon (`drift run`): the tokio shell around the engine. One task per monitor polls its
//! source (no one entry can fail its listing), takes the files that settled ([`plan`]), reads
//! them ([`store`]), evaluates each window against the reference on the blocking pool (a semaphore
//! bounds concurrent evaluations) and commits the consumed files with the evaluation in one
//! transaction ([`crate::state`]). A failing monitor is logged, counted and retried with
//! backoff; the others carry on. The same transaction steps the monitor's alerts and queues
//! the notifications they send; the outbox worker ([`deliver`]) delivers them, and each cycle
//! also observes the operational alerts (stale source, failing monitor). `/healthz`,
//! `/readyz`, `/metrics` and `/api/v1/monitors` are served by [`http`]. SIGTERM/SIGINT drain
//! and exit 0; SIGHUP reloads a configuration that validates and keeps the old one otherwise.
//! Under systemd (`Type=notify`) it reports readiness, reloads and shutdown, and pings the
//! watchdog.
//!
//! Windows are per batch of newly settled files (`type = "files"`), by row count
//! (`type = "rows"`) or tumbling by event time (`type = "time"`); the latter two keep their
//! open state in the database ([`windows`]). With `[segments]` every window is also evaluated
//! per segment, against the reference's rows of that segment, in the same family.

pub mod budget;
pub mod budget_metrics;
pub mod calibration;
pub mod calibration_rows;
pub mod cycle;
pub mod deliver;
pub mod event_time;
pub mod fault;
pub mod file_sink;
pub mod guard;
pub mod http;
mod isolate;
pub mod labels;
pub mod latency_metrics;
mod listing;
pub mod metrics;
pub mod model;
pub mod model_metrics;
pub mod object_source;
pub mod pages;
pub mod pause;
pub mod plan;
pub mod projection;
pub mod redact;
pub mod reference;
pub mod status;
pub mod store;
pub mod watchdog;
pub mod windows;

pub use cycle::{CycleOutcome, QUARANTINE_AFTER_ATTEMPTS, cycle};
use status::record;
pub use status::{FiringAlert, MonitorStatus, WindowSummary};

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures::FutureExt as _;

use crate::alerts::route::Routing;
use crate::clock::now_ms;
use crate::config::{Config, Monitor};
use crate::source::Table;
use crate::state::State;
use metrics::Metrics;
use store::SourceStore;

/// Threads of tokio's blocking pool (tokio's default is 512): file reads and listings of the
/// sources, profiling a file's window parts, loading references, DNS lookups, the
/// watchdog's lock probe. Work beyond it queues rather than failing. The systemd unit's
/// `TasksMax=` is derived from it (deploy/README.md).
pub const MAX_BLOCKING_THREADS: usize = 64;

/// Everything the monitor tasks and the HTTP server share.
pub struct Shared {
    /// The state database.
    pub state: Mutex<State>,
    /// The Prometheus registry `/metrics` serves, shared by the monitors and the outbox worker.
    pub metrics: Metrics,
    /// Per monitor status, by id.
    pub status: Mutex<BTreeMap<String, MonitorStatus>>,
    /// Bounds the CPU- and memory-heavy steps at once: evaluations, profiling a reference or
    /// a file into window parts (`max_concurrent_evaluations`).
    pub permits: tokio::sync::Semaphore,
    /// Bytes of source files fetched and held at once, over every monitor
    /// (`max_bytes_in_flight`, one permit per KiB).
    pub bytes: tokio::sync::Semaphore,
    /// `max_bytes_in_flight`: a cycle's batch never asks for more permits than this.
    pub max_bytes_in_flight: u64,
    /// Wakes the delivery worker when notifications are queued.
    pub outbox: tokio::sync::Notify,
    /// Which loops are in a pass and since when, for the watchdog.
    pub liveness: guard::Liveness,
    /// What the HTML pages read besides the status (`daemon::pages`).
    pub pages: pages::Pages,
}

impl Shared {
    /// The state database, locked (never poisoned: see [`lock_state`]).
    pub fn state(&self) -> Result<std::sync::MutexGuard<'_, State>> {
        Ok(lock_state(&self.state))
    }

    /// Ready once every monitor has finished its first scan.
    pub fn ready(&self) -> bool {
        self.status.lock().map(|s| s.values().all(|m| m.first_scan_done)).unwrap_or(false)
    }
}

/// Locks the state, recovering it from a panic of an earlier holder: every change to the
/// database is one SQLite transaction (a statement, or a `rusqlite::Transaction` that rolls back
/// when a panic drops it) and `State` keeps nothing else that a panic could leave half-done, so
/// the database is consistent and the lock is cleared instead of failing every monitor and the
/// outbox for good.
pub fn lock_state(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|poisoned| {
        tracing::warn!("a panic interrupted a holder of the state lock; its transaction was rolled back, carrying on");
        state.clear_poison();
        poisoned.into_inner()
    })
}

/// One monitor's long-lived pieces.
pub struct MonitorRun {
    /// Its configuration.
    pub monitor: Monitor,
    /// Where its notifications go.
    pub routing: Routing,
    store: SourceStore,
    reference: Option<Arc<dyn Table + Send>>,
    /// With `[segments]`: the reference's rows per segment label, profiled.
    reference_segments: Option<Arc<std::collections::HashMap<String, Arc<dyn Table + Send>>>>,
    last_new_file_ms: i64,
    /// Consumed files by path with their recorded (size, mtime), loaded at the first poll:
    /// consumed records never change status, so a poll asks the database only about the
    /// other paths it lists.
    consumed: Option<std::collections::HashMap<String, (u64, i64)>>,
    /// The `drift_alerts_firing` series set last time, to remove those that resolved.
    firing_series: Vec<metrics::AlertLabel>,
    /// The files the current cycle took (for the log line of a panic or a timeout).
    in_hand: Vec<String>,
    /// With `[model]`: its label source and reference.
    model: Option<model::ModelRun>,
}

impl MonitorRun {
    /// Prepares a monitor; unsupported window types fail here, clearly.
    pub fn new(monitor: Monitor, routing: Routing) -> Result<MonitorRun> {
        let store = SourceStore::new(&monitor.source.path, monitor.source.full_listing_every)
            .with_context(|| format!("monitor {}", monitor.id))?;
        let model = monitor
            .model
            .as_ref()
            .map(model::ModelRun::new)
            .transpose()
            .with_context(|| format!("monitor {}", monitor.id))?;
        Ok(MonitorRun {
            model,
            monitor,
            routing,
            store,
            reference: None,
            reference_segments: None,
            last_new_file_ms: 0,
            consumed: None,
            firing_series: Vec::new(),
            in_hand: Vec::new(),
        })
    }
}

/// Opens the state and prepares every monitor; a monitor that cannot start is an error.
pub fn prepare(cfg: &Config) -> Result<(Arc<Shared>, Vec<MonitorRun>)> {
    let mut state = State::open(&cfg.state_dir)?;
    state.set_test_panic(fault::state_monitor());
    let mut runs = Vec::new();
    let mut problems = Vec::new();
    for m in &cfg.monitors {
        match MonitorRun::new(m.clone(), cfg.routing(m)) {
            Ok(r) => runs.push(r),
            Err(e) => problems.push(format!("{e:#}")),
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    let shared = Arc::new(Shared {
        state: Mutex::new(state),
        metrics: Metrics::default(),
        status: Mutex::new(
            cfg.monitors
                .iter()
                .map(|m| (m.id.clone(), MonitorStatus { id: m.id.clone(), ..Default::default() }))
                .collect(),
        ),
        permits: tokio::sync::Semaphore::new(cfg.max_concurrent_evaluations),
        bytes: tokio::sync::Semaphore::new(byte_permits(cfg.max_bytes_in_flight) as usize),
        max_bytes_in_flight: cfg.max_bytes_in_flight,
        outbox: tokio::sync::Notify::new(),
        liveness: guard::Liveness::default(),
        pages: pages::Pages::new(
            cfg.state_dir.clone(),
            cfg.monitors.iter().map(|m| (m.id.clone(), pages::sources(m))).collect(),
        ),
    });
    shared.liveness.set_limit(cfg.cycle_timeout);
    Ok((shared, runs))
}

/// The permits of the bytes-in-flight semaphore for `bytes`: one per KiB started (a batch asks
/// for its permits at once, and `acquire_many` counts in `u32`).
pub(crate) fn byte_permits(bytes: u64) -> u32 {
    u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX)
}

/// What `drift run --once` did for one monitor, for the CLI to print.
#[derive(Debug)]
pub struct OnceOutcome {
    /// Monitor id.
    pub id: String,
    /// The monitor's `min_rows` (why a window was insufficient).
    pub min_rows: u64,
    /// The cycle's outcome, or its error.
    pub result: Result<CycleOutcome>,
    /// Rows in the monitor's open windows after the cycle.
    pub open_rows: u64,
}

/// `drift run --once`: one cycle of every monitor, in order, then the notifications delivered
/// (retries waited for up to the drain timeout) and old history pruned.
pub async fn run_once(cfg: &Config) -> Result<Vec<OnceOutcome>> {
    let (shared, mut runs) = prepare(cfg)?;
    let mut out = Vec::new();
    for run in &mut runs {
        let result = drain(&shared, run, cfg.cycle_timeout).await;
        let id = run.monitor.id.clone();
        let open_rows: u64 =
            shared.state().ok().and_then(|st| st.open_windows(&id).ok()).map_or(0, |w| w.iter().map(|x| x.1).sum());
        out.push(OnceOutcome { id, min_rows: run.monitor.min_rows, result, open_rows });
    }
    deliver_before_exit(&shared, cfg).await?;
    prune(&shared, cfg);
    Ok(out)
}

/// `--once` for one monitor: cycles until the settled backlog is drained, each bounded by
/// `max_files_per_cycle` and `max_bytes_in_flight`; their outcomes merged, oldest first.
async fn drain(shared: &Arc<Shared>, run: &mut MonitorRun, timeout: Duration) -> Result<CycleOutcome> {
    let mut all = CycleOutcome::default();
    loop {
        let now = now_ms();
        let result = guard::cycle(shared, run, now, timeout).await;
        record(shared, run, &result, now);
        let one = result?;
        all.consumed += one.consumed;
        all.quarantined += one.quarantined;
        all.future_rows += one.future_rows;
        all.windows.extend(one.windows);
        all.model.extend(one.model);
        all.problems.extend(one.problems);
        (all.waiting, all.next_settle_ms, all.backlog) = (one.waiting, one.next_settle_ms, one.backlog);
        if one.backlog == 0 {
            return Ok(all);
        }
    }
}

/// Delivers what is queued, waiting for retries due before `deadline_ms`; returns how many
/// notifications are still pending (they stay in the outbox for the next run). `--once` and
/// a draining daemon both end with it.
async fn deliver_until(shared: &Shared, cfg: &Config, deadline_ms: i64) -> Result<u64> {
    let mut d = deliver::Deliverer::new(now_ms() as u64)?;
    loop {
        let now = now_ms();
        match d.pump(&shared.state, cfg, &shared.metrics, now).await? {
            Some(at) if at <= now => continue,
            Some(at) if at < deadline_ms => tokio::time::sleep(Duration::from_millis((at - now) as u64)).await,
            _ => break,
        }
    }
    Ok(shared.state()?.outbox_stats()?.iter().map(|s| s.depth).sum())
}

/// `--once`: delivers what is queued, waiting for retries up to the drain timeout.
async fn deliver_before_exit(shared: &Shared, cfg: &Config) -> Result<()> {
    let pending = deliver_until(shared, cfg, now_ms() + cfg.drain_timeout.as_millis() as i64).await?;
    if pending > 0 {
        eprintln!(
            "drift: {pending} notification(s) not delivered yet; they stay queued for the next run (see `drift alert list`)"
        );
    }
    Ok(())
}

fn prune(shared: &Shared, cfg: &Config) {
    let now = now_ms();
    let before = now - cfg.retention.history.as_millis() as i64;
    let quarantine_before = now - cfg.retention.quarantine.as_millis() as i64;
    let notifications_before = now - cfg.retention.notifications.as_millis() as i64;
    if let Ok(mut st) = shared.state()
        && let Err(e) = st.prune(before, quarantine_before, notifications_before)
    {
        tracing::error!(error = %format!("{e:#}"), "cannot prune old history");
    }
    let pictures_before = now - cfg.retention.report.as_millis() as i64;
    if let Ok(mut st) = shared.state()
        && let Err(e) = st.prune_pictures(pictures_before)
    {
        tracing::error!(error = %format!("{e:#}"), "cannot prune old report pictures");
    }
}

/// Backoff after `failures` failed cycles in a row: the poll interval doubled per failure, at
/// most ten minutes.
pub fn backoff(poll: Duration, failures: u32) -> Duration {
    let factor = 1u32 << failures.min(10);
    (poll * factor).min(Duration::from_secs(600)).max(poll)
}

/// One monitor's loop until `stop` fires; a cycle that panics or outlives `timeout` counts
/// as failed ([`guard::cycle`]).
async fn monitor_loop(
    shared: Arc<Shared>,
    mut run: MonitorRun,
    timeout: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut failures = 0u32;
    loop {
        let now = now_ms();
        let result = guard::cycle(&shared, &mut run, now, timeout).await;
        failures = if result.is_ok() { 0 } else { failures + 1 };
        let settles = result.as_ref().ok().and_then(|o| o.next_settle_ms);
        let backlog = result.as_ref().is_ok_and(|o| o.backlog > 0);
        record(&shared, &mut run, &result, now);
        calibration::start(&shared, &run);
        let mut wait = backoff(run.monitor.source.poll, failures);
        // Files left by the per-cycle caps: the next batch now, not a poll interval later.
        if backlog {
            wait = Duration::ZERO;
        }
        // Wake up when a waiting file settles, if that is sooner: latency is settle + evaluation.
        if let Some(at) = settles
            && failures == 0
        {
            wait = wait.min(Duration::from_millis((at - now_ms()).max(10) as u64));
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {
                shared.liveness.forget(&run.monitor.id);
                return;
            }
        }
    }
}

/// `drift run`: serve until SIGTERM/SIGINT; reload on SIGHUP.
pub async fn run_forever(config_path: PathBuf, cfg: Config) -> Result<()> {
    let (shared, runs) = prepare(&cfg)?;
    let mut cfg = Arc::new(cfg);
    let listener =
        tokio::net::TcpListener::bind(cfg.listen).await.with_context(|| format!("cannot listen on {}", cfg.listen))?;
    // Signals are handled from the start line on (a SIGTERM right after it drains, not kills).
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    // The bound address, not the configured one: with port 0 the kernel picks it.
    let bound = listener.local_addr().map_or_else(|_| cfg.listen.to_string(), |a| a.to_string());
    tracing::info!(listen = %bound, monitors = cfg.monitors.len(), "drift daemon started");
    let server = tokio::spawn(http::serve(listener, shared.clone()));
    let (stop_tx, _) = tokio::sync::watch::channel(false);
    let mut tasks = spawn_monitors(&shared, &cfg, runs, &stop_tx);
    let mut prune_every = tokio::time::interval(Duration::from_secs(3600));
    // Under systemd (Type=notify): ready once listening with every monitor started; the
    // watchdog is pinged from this loop while every loop is alive (`watchdog`).
    systemd_notify(&[sd_notify::NotifyState::Ready, sd_notify::NotifyState::Status("running")]);
    let watchdog = sd_notify::watchdog_enabled();
    let mut watchdog_every = tokio::time::interval(watchdog.map_or(Duration::from_secs(3600), |d| d / 2));
    let mut probe = watchdog::Probe::default();
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
            _ = prune_every.tick() => prune(&shared, &cfg),
            _ = watchdog_every.tick(), if watchdog.is_some() => {
                watchdog::tick(&shared, &tasks, &mut probe).await;
            }
            _ = hup.recv() => {
                reload(&config_path, &shared, &mut cfg, &mut tasks, &stop_tx).await;
                systemd_notify(&[sd_notify::NotifyState::Ready]);
            }
        }
    }
    systemd_notify(&[sd_notify::NotifyState::Stopping]);
    tracing::info!(drain_timeout_secs = cfg.drain_timeout.as_secs(), "stopping: draining in-flight work");
    let _ = stop_tx.send(true);
    let deadline = now_ms() + cfg.drain_timeout.as_millis() as i64;
    let drain = async {
        for t in tasks {
            let _ = t.await;
        }
    };
    if tokio::time::timeout(cfg.drain_timeout, drain).await.is_err() {
        tracing::warn!("drain timeout reached; abandoning in-flight work (it will be redone after restart)");
    } else {
        // What the drained windows queued goes out in the time left; the rest stays queued.
        let left = Duration::from_millis((deadline - now_ms()).max(0) as u64);
        match tokio::time::timeout(left, deliver_until(&shared, &cfg, deadline)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(pending)) => tracing::warn!(pending, "notifications not delivered before exit; they stay queued"),
            Ok(Err(e)) => {
                tracing::error!(error = %format!("{e:#}"), "cannot deliver before exit; notifications stay queued")
            }
            Err(_) => tracing::warn!("drain timeout reached while delivering; the rest stays queued"),
        }
    }
    server.abort();
    tracing::info!("stopped");
    Ok(())
}

/// SIGHUP: loads the configuration again; if it validates and every monitor can start, stops
/// the monitor tasks (each finishes its cycle), and starts the new set. Otherwise the running
/// configuration stays, and the log says why.
async fn reload(
    config_path: &std::path::Path,
    shared: &Arc<Shared>,
    cfg: &mut Arc<Config>,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
    stop_tx: &tokio::sync::watch::Sender<bool>,
) {
    let new = match reload_notified(config_path) {
        Ok(new) => new,
        Err(errors) => {
            tracing::error!(errors = %errors, "configuration reload refused; keeping the running one");
            return;
        }
    };
    let fresh: Result<Vec<MonitorRun>> =
        new.monitors.iter().map(|m| MonitorRun::new(m.clone(), new.routing(m))).collect();
    let fresh = match fresh {
        Ok(fresh) => fresh,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "configuration reload refused; keeping the running one");
            return;
        }
    };
    let _ = stop_tx.send(true);
    for t in tasks.drain(..) {
        let _ = t.await;
    }
    let _ = stop_tx.send(false);
    // Readiness and the status API know every monitor of the new set at once, not from its
    // first cycle on.
    if let Ok(mut s) = shared.status.lock() {
        s.retain(|id, _| new.monitors.iter().any(|m| &m.id == id));
        for m in &new.monitors {
            s.entry(m.id.clone()).or_insert_with(|| MonitorStatus { id: m.id.clone(), ..Default::default() });
        }
    }
    shared.liveness.set_limit(new.cycle_timeout);
    *cfg = Arc::new(new);
    *tasks = spawn_monitors(shared, cfg, fresh, stop_tx);
    tracing::info!(monitors = cfg.monitors.len(), "configuration reloaded");
}

/// Tells systemd about the daemon's state when it runs under `Type=notify` (no-op otherwise).
fn systemd_notify(state: &[sd_notify::NotifyState]) {
    if let Err(e) = sd_notify::notify(state) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}

/// Loads the configuration for a reload, telling systemd that a reload is in progress (the
/// caller sends `READY=1` once it is applied or refused).
fn reload_notified(config_path: &std::path::Path) -> Result<Config, crate::config::ConfigErrors> {
    let mut reloading = vec![sd_notify::NotifyState::Reloading];
    if let Ok(now) = sd_notify::NotifyState::monotonic_usec_now() {
        reloading.push(now);
    }
    systemd_notify(&reloading);
    crate::config::load(config_path)
}

fn spawn_monitors(
    shared: &Arc<Shared>,
    cfg: &Arc<Config>,
    runs: Vec<MonitorRun>,
    stop: &tokio::sync::watch::Sender<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks: Vec<_> = runs
        .into_iter()
        .map(|r| tokio::spawn(monitor_loop(shared.clone(), r, cfg.cycle_timeout, stop.subscribe())))
        .collect();
    tasks.push(tokio::spawn(delivery_loop(shared.clone(), cfg.clone(), stop.subscribe())));
    tasks
}

/// Delivers the outbox until `stop` fires: a pass, then sleep until the next retry is due or
/// a notification is queued.
async fn delivery_loop(shared: Arc<Shared>, cfg: Arc<Config>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut d = match deliver::Deliverer::new(now_ms() as u64) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "cannot start delivering notifications; they stay queued");
            return;
        }
    };
    loop {
        let now = now_ms();
        shared.liveness.working(guard::DELIVERY, now);
        let pass = AssertUnwindSafe(d.pump(&shared.state, &cfg, &shared.metrics, now)).catch_unwind().await;
        shared.liveness.resting(guard::DELIVERY);
        let wait = match pass {
            Ok(Ok(Some(at))) => (at - now).clamp(0, 60_000),
            Ok(Ok(None)) => 60_000,
            Ok(Err(e)) => {
                tracing::error!(error = %format!("{e:#}"), "notification delivery failed; retrying in 5 s");
                5_000
            }
            Err(panic) => {
                let panic = guard::panic_message(panic.as_ref());
                tracing::error!(panic = %panic, "notification delivery panicked; retrying in 5 s");
                5_000
            }
        };
        if wait == 0 {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            _ = shared.outbox.notified() => {}
            _ = stop.changed() => {
                shared.liveness.forget(guard::DELIVERY);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let p = Duration::from_secs(10);
        assert_eq!(backoff(p, 0), p);
        assert_eq!(backoff(p, 1), Duration::from_secs(20));
        assert_eq!(backoff(p, 3), Duration::from_secs(80));
        assert_eq!(backoff(p, 30), Duration::from_secs(600));
    }
}
