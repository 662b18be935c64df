//! Architecture invariant: the statistics core, the engine, the daemon's file-taking rules and
//! the alert lifecycle and retry rules are pure. No file system, network, clock, async runtime,
//! threads or logging in `src/stats/`, `src/engine/`, `src/daemon/plan.rs`,
//! `src/alerts/lifecycle.rs`, `src/alerts/route.rs` or `src/alerts/retry.rs` (`now` is passed
//! in).

#[test]
fn stats_and_engine_do_no_io() {
    let forbidden = [
        "std::fs",
        "std::net",
        "std::io",
        "std::thread",
        "std::process",
        "std::env",
        "SystemTime",
        "Instant::now",
        "tokio",
        "reqwest",
        "tracing",
        "println!",
        "eprintln!",
        "parquet",
        "File::",
    ];
    let root = env!("CARGO_MANIFEST_DIR");
    let mut checked = 0;
    let mut files: Vec<std::path::PathBuf> = vec![
        format!("{root}/src/daemon/plan.rs").into(),
        format!("{root}/src/alerts/lifecycle.rs").into(),
        format!("{root}/src/alerts/retry.rs").into(),
        format!("{root}/src/alerts/route.rs").into(),
    ];
    for dir in ["src/stats", "src/engine"] {
        for entry in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for f in forbidden {
                assert!(!code.contains(f), "{}:{}: `{f}` in the pure core: {line}", path.display(), i + 1);
            }
        }
        checked += 1;
    }
    assert!(checked >= 10, "expected to scan the stats and engine modules, scanned {checked}");
}
