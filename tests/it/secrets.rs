//! Secrets and what receivers answer, through the real daemon: a receiver that echoes the
//! `Authorization` header and the URL's path puts neither in the logs, the state database (and
//! its WAL) or the metrics, and an answer that never ends is read up to a cap, not until the
//! timeout.

use crate::faults::land;
use crate::receiver::{Receiver, Reply};
use crate::support::{Daemon, http_get, wait_for, write};

/// The webhook URL's secret path segment and the bearer token: neither may leak.
const PATH_SECRET: &str = "hooksecret-4f9a1c";
const TOKEN: &str = "tok-8e3b5d77a1";

#[test]
fn an_echoing_receiver_leaks_no_secret_and_an_endless_answer_is_capped() {
    let rx = Receiver::start(0, vec![Reply::Echo(500), Reply::Endless(500)]);
    let dir = tempfile::TempDir::new().unwrap();
    let root = dir.path();
    write(root, "reference.parquet", crate::faults::rows(2000, 1, 0.0));
    std::fs::create_dir_all(root.join("monitors")).unwrap();
    std::fs::create_dir_all(root.join("incoming")).unwrap();
    std::fs::write(root.join("hook.url"), rx.url(&format!("/hook/{PATH_SECRET}"))).unwrap();
    let config = root.join("drift.toml");
    std::fs::write(
        &config,
        "state_dir = \"state\"\nlisten = \"127.0.0.1:0\"\nmonitors_dir = \"monitors\"\ndrain_timeout_secs = 5\n\n\
         [sinks.hook]\ntype = \"webhook\"\nurl_file = \"hook.url\"\ntimeout_secs = 5\n\
         headers_env = { Authorization = \"DRIFT_TEST_AUTH\" }\n",
    )
    .unwrap();
    std::fs::write(
        root.join("monitors/model.toml"),
        "[source]\npath = \"../incoming\"\nsettle_secs = 0\npoll_secs = 1\n\n[reference]\npath = \
         \"../reference.parquet\"\n\n[window]\nmin_rows = 50\n\n[alerts]\nwarning = [\"hook\"]\ncritical = [\"hook\"]\n",
    )
    .unwrap();
    land(&root.join("incoming"), "moved.parquet", 600, 2, 2.0);
    let bearer = format!("Bearer {TOKEN}");
    let d = Daemon::start(&config, &[("DRIFT_TEST_AUTH", &bearer), ("RUST_LOG", "debug")]);
    let port = d.port();
    // The echo, then the endless answer, then 200.
    let delivered = wait_for(30, || (rx.received().len() >= 3).then_some(()));
    assert!(delivered.is_some(), "{}", d.log());
    assert_eq!(rx.received()[0].authorization.as_deref(), Some(bearer.as_str()), "the header is sent");
    let retries: Vec<String> =
        d.log().lines().filter(|l| l.contains("notification not delivered; will retry")).map(str::to_owned).collect();
    assert_eq!(retries.len(), 2, "{retries:?}");
    assert!(
        retries[0].contains("HTTP 500: denied: Authorization: <redacted> (token <redacted>) for <redacted>"),
        "{}",
        retries[0]
    );
    // Read up to the cap and answered as the receiver's status, not a timeout 5 s later.
    assert!(retries[1].contains("HTTP 500: xxxx"), "{}", retries[1]);

    let metrics = http_get(port, "/metrics").unwrap().1;
    let logs = d.kill_9();
    let db = std::fs::read(root.join("state/drift.sqlite3")).unwrap();
    let wal = std::fs::read(root.join("state/drift.sqlite3-wal")).unwrap_or_default();
    for (what, text) in [
        ("logs", logs),
        ("metrics", metrics),
        ("database", String::from_utf8_lossy(&db).into_owned()),
        ("WAL", String::from_utf8_lossy(&wal).into_owned()),
    ] {
        assert!(!text.contains(TOKEN) && !text.contains(PATH_SECRET), "a secret is in the {what}:\n{text}");
    }
}
