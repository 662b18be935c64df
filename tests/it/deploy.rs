//! Deployment files against the code: every metric the Grafana dashboard and the
//! PrometheusRule query is one the daemon exports, and every one it exports is documented; the
//! image's and the pod's daemon files
//! validate in the layout the Dockerfile and the manifests give them, and the image's demo
//! runs. (`.ci/deploy-check` renders and validates the manifests, lints the Dockerfile and
//! verifies the systemd unit with the tools those need.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::support::{drift, s};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The sample names the daemon exports (counters with their `_total`).
fn exported() -> BTreeSet<String> {
    let text = drift::daemon::metrics::Metrics::sample().encode();
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
            out.insert(if kind == "counter" { format!("{name}_total") } else { name.to_owned() });
        }
    }
    out
}

/// Every `drift_...` metric name in a text.
fn queried(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("drift_") {
        let start = i + at;
        let before_ok = start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let mut end = start;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
            end += 1;
        }
        if before_ok {
            out.insert(text[start..end].to_owned());
        }
        i = end;
    }
    out
}

#[test]
fn dashboards_and_alert_rules_query_only_metrics_the_daemon_exports() {
    let exported = exported();
    assert!(exported.contains("drift_notifications_sent_total") && exported.contains("drift_drift"), "{exported:?}");
    let dashboard: serde_json::Value = serde_json::from_str(&read("deploy/grafana/drift.json")).unwrap();
    let mut exprs = String::new();
    fn collect(v: &serde_json::Value, out: &mut String) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("expr" | "definition", serde_json::Value::String(e)) => {
                            out.push_str(e);
                            out.push('\n');
                        }
                        _ => collect(x, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
            _ => {}
        }
    }
    collect(&dashboard, &mut exprs);
    let used = queried(&exprs);
    assert!(used.len() >= 12, "the dashboard covers drift, throughput, errors and delivery: {used:?}");
    let missing: Vec<&String> = used.difference(&exported).collect();
    assert!(missing.is_empty(), "deploy/grafana/drift.json queries metrics the daemon does not export: {missing:?}");

    let rules = read("deploy/k8s/components/prometheus/prometheusrule.yaml");
    let rule_exprs: String =
        rules.lines().filter(|l| l.trim_start().starts_with("expr:")).collect::<Vec<_>>().join("\n");
    let used = queried(&rule_exprs);
    for needed in ["drift_errors_total", "drift_source_stale", "drift_outbox_depth"] {
        assert!(used.contains(needed), "the rules cover monitor failing, source stale, outbox growing: {used:?}");
    }
    let missing: Vec<&String> = used.difference(&exported).collect();
    assert!(missing.is_empty(), "the PrometheusRule queries metrics the daemon does not export: {missing:?}");
}

/// Lays out the image's files under `dir` as the runtime stage's `COPY` lines place them
/// (those from the build stage excepted; a directory source copies its files, as Docker does).
fn image_layout(dir: &Path) {
    let dockerfile = read("deploy/Dockerfile");
    let runtime_stage = dockerfile.rsplit("\nFROM ").next().unwrap();
    for line in runtime_stage.lines() {
        let Some(args) = line.strip_prefix("COPY ") else { continue };
        if args.contains("--from") {
            continue;
        }
        let parts: Vec<&str> = args.split_whitespace().collect();
        let (dest, sources) = parts.split_last().unwrap();
        let dest = dir.join(dest.trim_start_matches('/'));
        for src in sources {
            if root().join(src).is_dir() {
                std::fs::create_dir_all(&dest).unwrap();
                for file in std::fs::read_dir(root().join(src)).unwrap() {
                    let file = file.unwrap().path();
                    std::fs::copy(&file, dest.join(file.file_name().unwrap())).unwrap();
                }
                continue;
            }
            let target: PathBuf = if dest.to_string_lossy().ends_with('/') {
                dest.join(Path::new(src).file_name().unwrap())
            } else {
                dest.clone()
            };
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(root().join(src), &target).unwrap_or_else(|e| panic!("COPY {src}: {e}"));
        }
    }
}

/// A daemon file with its absolute paths moved under `dir`.
fn relocated(text: &str, dir: &Path) -> String {
    text.replace("\"/var/lib/drift", &format!("\"{}/var/lib/drift", s(dir)))
        .replace("\"/etc/drift", &format!("\"{}/etc/drift", s(dir)))
}

#[test]
fn the_image_default_configuration_runs_the_demo() {
    let dir = tempfile::TempDir::new().unwrap();
    image_layout(dir.path());
    let config = dir.path().join("etc/drift/drift.toml");
    std::fs::write(&config, relocated(&std::fs::read_to_string(&config).unwrap(), dir.path())).unwrap();
    let out = drift(&["run", "--once", "--config", s(&config)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("demo: window 1") && stdout.contains("DRIFT:"), "{stdout}");
    assert!(dir.path().join("var/lib/drift/alerts.jsonl").exists(), "the audit sink wrote to the state volume");
}

#[test]
fn the_kubernetes_daemon_file_validates_in_the_pod_layout() {
    let dir = tempfile::TempDir::new().unwrap();
    image_layout(dir.path());
    let etc = dir.path().join("etc/drift");
    // The ConfigMaps: the daemon file, and the monitor files monitors/kustomization.yaml lists.
    let daemon = read("deploy/k8s/base/drift.toml");
    std::fs::write(etc.join("drift.toml"), relocated(&daemon, dir.path())).unwrap();
    std::fs::remove_dir_all(etc.join("monitors")).unwrap();
    std::fs::create_dir_all(etc.join("monitors")).unwrap();
    let listed = read("monitors/kustomization.yaml");
    let after = listed.split("files:\n").nth(1).expect("a files: list");
    let files: Vec<&str> = after.lines().map_while(|l| l.trim().strip_prefix("- ")).collect();
    assert!(!files.is_empty() && !files.contains(&"drift.toml"), "{files:?}");
    for f in &files {
        std::fs::copy(root().join("monitors").join(f), etc.join("monitors").join(f)).unwrap();
    }
    // The Secret, mounted where the StatefulSet mounts it.
    let sts = read("deploy/k8s/base/statefulset.yaml");
    let url_file = daemon.lines().find_map(|l| l.strip_prefix("url_file = ")).unwrap().trim_matches('"');
    let secret_dir = Path::new(url_file).parent().unwrap().to_str().unwrap();
    assert!(sts.contains(&format!("mountPath: {secret_dir}\n")), "the Slack secret is mounted at {secret_dir}");
    std::fs::create_dir_all(dir.path().join(secret_dir.trim_start_matches('/'))).unwrap();
    std::fs::write(dir.path().join(url_file.trim_start_matches('/')), "https://hooks.slack.com/services/T0/B0/X\n")
        .unwrap();
    let out = drift(&["validate", "--config", s(&etc.join("drift.toml"))]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // The state directory is the volume; SIGTERM's drain fits the grace period.
    assert!(daemon.contains("state_dir = \"/var/lib/drift\"") && sts.contains("mountPath: /var/lib/drift\n"));
    let value = |text: &str, key: &str| -> u64 {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let drain = value(&daemon, "drain_timeout_secs = ");
    let grace = value(&sts, "terminationGracePeriodSeconds: ");
    assert!(grace > drain, "terminationGracePeriodSeconds {grace} must exceed drain_timeout_secs {drain}");
}

/// `TasksMax=` in the systemd unit is derived from the daemon's thread bounds (deploy/README.md,
/// "Limits"): on up to 64 cores, the main thread, a tokio worker per core, the whole blocking
/// pool (`MAX_BLOCKING_THREADS`, set explicitly instead of tokio's 512) and a thread per core for
/// each of the default concurrent evaluations fit under it, so the unit never kills a daemon
/// working within its own limits; raising the pool without the unit fails here.
#[test]
fn the_units_tasks_max_covers_the_daemons_thread_bounds() {
    let unit = read("deploy/systemd/drift.service");
    let tasks_max: usize = unit
        .lines()
        .find_map(|l| l.strip_prefix("TasksMax="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no numeric TasksMax= in the unit"));
    let cores = 64;
    let evaluations = drift::config::defaults::MAX_CONCURRENT_EVALUATIONS;
    let needed = 1 + cores + drift::daemon::MAX_BLOCKING_THREADS + cores * evaluations;
    assert!(needed <= tasks_max, "TasksMax={tasks_max} < {needed} threads the daemon may run");
    let readme = read("deploy/README.md");
    assert!(readme.contains(&format!("`TasksMax={tasks_max}`")), "deploy/README.md derives the unit's value");
}

#[test]
fn the_kubernetes_base_admits_only_the_metrics_scraper_to_the_daemons_port() {
    let base = read("deploy/k8s/base/kustomization.yaml");
    assert!(base.contains("  - networkpolicy.yaml\n"), "the base ships the NetworkPolicy");
    let policy = read("deploy/k8s/base/networkpolicy.yaml");
    let spec: Vec<&str> = policy.lines().filter(|l| !l.trim_start().starts_with('#')).collect();
    let spec = spec.join("\n");
    assert!(spec.contains("kind: NetworkPolicy") && spec.contains("    - Ingress"), "{spec}");
    assert_eq!(spec.matches("- from:").count(), 1, "one ingress rule");
    assert_eq!(spec.matches("namespaceSelector:").count(), 1, "one admitted source");
    assert!(spec.contains("values: [prometheus]") && spec.contains("- port: metrics"), "{spec}");
    assert!(!spec.contains("ipBlock"), "no address range admitted");
    // The daemon's own default stays loopback (the pod's file sets 0.0.0.0 on purpose).
    assert!(read("monitors/drift.toml").contains("listen = \"127.0.0.1:9464\""));
    assert!(read("deploy/README.md").contains("## Who can see what"));
}

/// Every metric the daemon exports is documented (README.md, monitors/README.md,
/// deploy/README.md), and every
/// `drift_...` name the docs give is one it exports (a prefix such as `drift_latency_objective_*`
/// is not a name).
#[test]
fn every_exported_metric_is_documented_and_every_documented_one_is_exported() {
    let exported = exported();
    let docs = ["README.md", "monitors/README.md", "deploy/README.md"].map(read).join("\n");
    let named: BTreeSet<String> = queried(&docs).into_iter().filter(|n| !n.ends_with('_')).collect();
    let undocumented: Vec<&String> = exported.difference(&named).collect();
    assert!(undocumented.is_empty(), "exported but not documented: {undocumented:?}");
    let unknown: Vec<&String> = named.difference(&exported).collect();
    assert!(unknown.is_empty(), "documented but not exported: {unknown:?}");
}

/// The `storage:` request (in GiB) of a manifest's one volume claim.
fn storage_gib(rel: &str) -> u64 {
    let text = read(rel);
    let requests: Vec<u64> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("storage: "))
        .map(|v| v.strip_suffix("Gi").and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{rel}: storage {v:?}")))
        .collect();
    assert_eq!(requests.len(), 1, "{rel}: one storage request");
    requests[0]
}

#[test]
fn the_state_volume_holds_a_model_monitor_at_the_default_cap() {
    // The PVC is sized in deploy/README.md from benches/model_join.py's measured bytes per held
    // prediction: one [model] monitor at the default max_pending_predictions, plus the WAL of
    // 100 000-row files (400 MiB at most) and the drift history (150 MiB), plus a quarter.
    let gib = storage_gib("deploy/k8s/base/statefulset.yaml");
    assert_eq!(gib, storage_gib("deploy/k8s/overlays/cronjob/pvc.yaml"), "the daemon's and the cron job's volume");
    let readme = read("deploy/README.md");
    assert!(readme.contains(&format!("The shipped volume is **{gib} GiB**")), "deploy/README.md states the request");
    let per_prediction: u64 = 150;
    assert!(readme.contains(&format!("**{per_prediction} bytes** once labelled")), "the measured figure");
    let held = per_prediction * drift::config::quality::defaults::MAX_PENDING_PREDICTIONS;
    let needed = (held + (400 + 150) * (1 << 20)) * 5 / 4;
    assert!(gib << 30 >= needed, "{gib} GiB < {needed} bytes: one model monitor at the default cap");
}
