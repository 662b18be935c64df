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
    match alive(shared, tasks, probe, STATE_LOCK_WAIT).await {
        Ok(()) => super::systemd_notify(&[sd_notify::NotifyState::Watchdog]),
        Err(why) => tracing::error!(
            reason = %why,
            "watchdog not pinged: systemd restarts the daemon if this lasts WatchdogSec"
        ),
    }
}

/// Ok when every loop is alive and the state lock can be taken within `lock_wait`; otherwise
/// why not.
async fn alive(
    shared: &Arc<Shared>,
    tasks: &[JoinHandle<()>],
    probe: &mut Probe,
    lock_wait: Duration,
) -> Result<(), String> {
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
    match tokio::time::timeout(lock_wait, handle).await {
        Ok(_) => {
            probe.0 = None;
            Ok(())
        }
        Err(_) => Err(format!("the state lock was not free within {} s", lock_wait.as_secs_f64())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A daemon with no monitor, its state in a temporary directory.
    fn shared(dir: &std::path::Path) -> Arc<Shared> {
        std::fs::create_dir(dir.join("monitors")).unwrap();
        let file = dir.join("drift.toml");
        std::fs::write(&file, "state_dir = \"state\"\nmonitors_dir = \"monitors\"\n").unwrap();
        let cfg = crate::config::load(&file).unwrap();
        super::super::prepare(&cfg).unwrap().0
    }

    /// The rule "the state lock cannot be taken within 10 s": while another thread holds the
    /// lock past the wait, the daemon is not alive (and one probe waits, not one per tick);
    /// once it is released, it is again. (The wait is shortened here; the rule's 10 s is
    /// checked as a value.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_watchdog_is_not_pinged_while_the_state_lock_is_held_past_the_wait() {
        assert_eq!(STATE_LOCK_WAIT, Duration::from_secs(10));
        let dir = tempfile::TempDir::new().unwrap();
        let shared = shared(dir.path());
        let wait = Duration::from_millis(300);
        let mut probe = Probe::default();
        assert_eq!(alive(&shared, &[], &mut probe, wait).await, Ok(()));

        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let holder = {
            let shared = shared.clone();
            std::thread::spawn(move || {
                let _lock = shared.state().unwrap();
                held_tx.send(()).unwrap();
                release_rx.recv().unwrap();
            })
        };
        held_rx.recv().unwrap();
        let why = alive(&shared, &[], &mut probe, wait).await.unwrap_err();
        assert_eq!(why, "the state lock was not free within 0.3 s");
        assert!(probe.0.is_some(), "the probe still waits");
        assert!(alive(&shared, &[], &mut probe, wait).await.is_err(), "still held");
        release_tx.send(()).unwrap();
        holder.join().unwrap();
        assert_eq!(alive(&shared, &[], &mut probe, wait).await, Ok(()));
        assert!(probe.0.is_none());
    }
}
