//! Configuration: every shipped example validates; every invalid fixture in
//! `tests/data/invalid-config/` fails with exit 64 and its own named messages, all at once.

use crate::support::drift;

fn root() -> &'static str {
    env!("CARGO_MANIFEST_DIR")
}

#[test]
fn shipped_examples_validate() {
    let config = format!("{}/monitors/drift.toml", root());
    let out = drift(&["validate", "--config", &config]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}{stdout}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("valid; 1 monitor: demo"), "{stdout}");
    let cfg = drift::config::load(std::path::Path::new(&config)).unwrap();
    let demo = &cfg.monitors[0];
    assert_eq!(demo.id, "demo");
    assert_eq!(demo.alerts.critical, vec!["log", "audit"]);
    assert_eq!(demo.policy, drift::engine::Policy::default(), "no [policy]: the engine's defaults");
    assert!(cfg.listen.ip().is_loopback(), "loopback by default");
}

#[test]
fn every_invalid_fixture_fails_with_its_own_message() {
    let dir = format!("{}/tests/data/invalid-config", root());
    let mut cases = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let case = entry.unwrap().path();
        if !case.is_dir() {
            continue;
        }
        cases += 1;
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let out = drift(&["validate", "--config", case.join("drift.toml").to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{name}: {stderr}");
        let expect = std::fs::read_to_string(case.join("expect.txt")).unwrap();
        for fragment in expect.lines().filter(|l| !l.is_empty()) {
            assert!(stderr.contains(fragment), "{name}: missing {fragment:?} in:\n{stderr}");
        }
        let problems: Vec<&str> = stderr.lines().filter(|l| !l.starts_with("drift: ")).collect();
        for line in &problems {
            assert!(line.starts_with(case.to_str().unwrap()), "{name}: every line names its file: {line}");
        }
        assert!(!stderr.contains("xoxb-not-a-real-token"), "{name}: a secret leaked: {stderr}");
    }
    assert!(cases >= 15, "only {cases} fixtures found");
}

#[test]
fn run_refuses_a_bad_configuration_with_64() {
    let case = format!("{}/tests/data/invalid-config/many-at-once/drift.toml", root());
    for args in [vec!["run", "--once", "--config", &case], vec!["run", "--config", &case]] {
        let out = drift(&args);
        assert_eq!(out.status.code(), Some(64), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains("unknown window type"));
    }
}

#[test]
fn usage_errors_of_validate_exit_64() {
    let out = drift(&["validate"]);
    assert_eq!(out.status.code(), Some(64), "{}", String::from_utf8_lossy(&out.stderr));
    let out = drift(&["validate", "--config", "/nonexistent/drift.toml"]);
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/drift.toml: cannot read"));
}

/// `--config drift.toml` from the configuration's own directory: the relative paths resolve
/// against it (its parent is the empty path, which must mean `.`).
#[test]
fn a_config_named_without_a_directory_resolves_against_the_current_one() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_drift"))
        .args(["validate", "--config", "drift.toml"])
        .current_dir(format!("{}/monitors", root()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}{stdout}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("valid; 1 monitor: demo"), "{stdout}");
}

/// A `gs://` store's settings validate without touching the network: a service account file by
/// path, or its key from a variable or a mounted file (the refused forms are in
/// `invalid-config/bad-stores`).
#[test]
fn gcs_stores_with_a_service_account_path_or_key_validate() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sa.json"), "{\"type\": \"service_account\"}\n").unwrap();
    std::fs::write(dir.path().join("sa.key"), "{\"type\": \"service_account\"}\n").unwrap();
    std::fs::create_dir(dir.path().join("monitors")).unwrap();
    let config = dir.path().join("drift.toml");
    std::fs::write(
        &config,
        "state_dir = \"state\"\nmonitors_dir = \"monitors\"\n[sinks.log]\ntype = \"log\"\n\n\
         [stores.models]\nurl = \"gs://models/v2\"\nservice_account_path = \"sa.json\"\ntimeout_secs = 10\n\n\
         [stores.archive]\nurl = \"gs://archive\"\nservice_account_key_env = \"DRIFT_TEST_SA_KEY\"\n\n\
         [stores.lake]\nurl = \"gs://lake\"\nservice_account_key_file = \"sa.key\"\nendpoint = \"https://storage.example\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_drift"))
        .args(["validate", "--config", config.to_str().unwrap()])
        .env("DRIFT_TEST_SA_KEY", "{\"type\": \"service_account\"}")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_drift"))
        .args(["validate", "--config", config.to_str().unwrap()])
        .env_remove("DRIFT_TEST_SA_KEY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(
        stderr.contains("stores.archive.service_account_key_env: environment variable DRIFT_TEST_SA_KEY"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().filter(|l| !l.starts_with("drift: ")).count(), 1, "only the unset key: {stderr}");
}
