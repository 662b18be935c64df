//! The systemd watchdog (`WatchdogSec=`), pinged only while the daemon really works: the main
//! loop pings (so a wedged runtime stops the pings), and only when every monitor loop and the
//! delivery loop is alive ([`super::guard::Liveness`]: asleep, or in a pass younger than
//! `cycle_timeout_secs` and a 2 s grace), none of their tasks has ended, and the state lock can be taken within
//! [`STATE_LOCK_WAIT`]. Otherwise it logs why and skips the ping; systemd restarts the daemon
//! when that lasts `WatchdogSec`. `/readyz` keeps its own rule (every monitor scanned once).

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::Shared;
use crate::clock::now_ms;

/// How long the watchdog waits for the state lock before it calls the daemon stuck.
pub const STATE_LOCK_WAIT: Duration = Duration::from_secs(10);

/// A lock probe still waiting from an earlier tick (so a stuck lock holds one thread, not one
/// per tick).
#[derive(Default)]
pub struct Probe(Option<JoinHandle<()>>);

/// Pings the watchdog if the daemon is alive; logs why not otherwise.
pub async fn tick(shared: &Arc<Shared>, tasks: &[JoinHandle<()>], probe: &mut Probe) {
    match alive(shared, tasks, probe).await {
        Ok(()) => super::systemd_notify(&[sd_notify::NotifyState::Watchdog]),
        Err(why) => tracing::error!(
            reason = %why,
            "watchdog not pinged: systemd restarts the daemon if this lasts WatchdogSec"
        ),
    }
}

/// Ok when every loop is alive and the state lock can be taken; otherwise why not.
async fn alive(shared: &Arc<Shared>, tasks: &[JoinHandle<()>], probe: &mut Probe) -> Result<(), String> {
    if tasks.iter().any(JoinHandle::is_finished) {
        return Err("a monitor or delivery task has ended".to_owned());
    }
    if let Some(why) = shared.liveness.stuck(now_ms()) {
        return Err(why);
    }
    let handle = probe.0.get_or_insert_with(|| {
        let shared = shared.clone();
        tokio::task::spawn_blocking(move || drop(shared.state()))
    });
    match tokio::time::timeout(STATE_LOCK_WAIT, handle).await {
        Ok(_) => {
            probe.0 = None;
            Ok(())
        }
        Err(_) => Err(format!("the state lock was not free within {} s", STATE_LOCK_WAIT.as_secs())),
    }
}
