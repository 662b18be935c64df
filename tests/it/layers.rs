//! Architecture invariant: the layers. Each top-level module of `src/` may use only the
//! modules its row in [`LAYERS`] names (read from its production code: `use` declarations,
//! brace groups expanded, and inline `crate::` paths; comments, strings and the test module at
//! the end of a file are skipped), and those rows have no cycle. Lower rows never reach up: the
//! statistics know nothing of Parquet, the engine nothing of files, the alert rules nothing of
//! the database or the daemon, and only the CLI sees everything.

use std::collections::{BTreeMap, BTreeSet};

use crate::purity::{code_after_tests, expand, production, strip, use_trees};

/// Each top-level module and the modules it may use.
const LAYERS: &[(&str, &[&str])] = &[
    ("stats", &[]),
    ("quality", &[]),
    ("clock", &[]),
    ("parallel", &[]),
    ("synth", &[]),
    ("logging", &[]),
    ("engine", &["stats", "quality"]),
    ("source", &["engine", "stats", "clock"]),
    ("snapshot", &["engine", "source", "stats", "parallel", "clock"]),
    ("check", &["engine", "source", "snapshot", "parallel"]),
    ("calibrate", &["alerts", "check", "engine", "parallel", "source", "stats", "synth"]),
    ("output", &["engine", "snapshot", "clock", "calibrate", "quality"]),
    ("alerts", &["engine", "clock"]),
    ("checks", &["engine", "source", "stats", "quality"]),
    ("config", &["engine", "stats", "alerts", "source", "checks", "quality", "snapshot"]),
    ("state", &["alerts", "engine", "clock"]),
    (
        "daemon",
        &[
            "state",
            "alerts",
            "config",
            "engine",
            "source",
            "check",
            "checks",
            "snapshot",
            "stats",
            "clock",
            "calibrate",
            "output",
            "quality",
        ],
    ),
    (
        "cli",
        &[
            "alerts",
            "calibrate",
            "check",
            "checks",
            "clock",
            "config",
            "daemon",
            "engine",
            "logging",
            "output",
            "snapshot",
            "source",
            "state",
            "stats",
            "quality",
        ],
    ),
];

/// Files inside a module held to a stricter rule: the crate modules they may use.
const FILES: &[(&str, &[&str])] = &[("src/daemon/plan.rs", &[])];

/// The top-level crate modules `code` (stripped) refers to.
fn uses(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for tree in use_trees(code) {
        for path in expand(&tree) {
            if let Some(rest) = path.strip_prefix("crate::") {
                out.insert(rest.split("::").next().unwrap_or("").to_owned());
            }
        }
    }
    let squeezed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    for (at, _) in squeezed.match_indices("crate::") {
        let before = squeezed[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `my_crate::` (`$crate::` in a macro of ours is this crate: counted)
        }
        let name: String = squeezed[at + 7..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out.retain(|m| !m.is_empty());
    out
}

/// Every `.rs` file under `dir`.
fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// (file relative to the crate root, its top-level module, the crate modules it uses).
fn graph() -> Vec<(String, String, BTreeSet<String>)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = Vec::new();
    files(&root.join("src"), &mut all);
    let mut out = Vec::new();
    for p in all {
        let rel = p.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
        let module = rel.trim_start_matches("src/").split(['/', '.']).next().unwrap().to_owned();
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!code_after_tests(&text), "{rel}: production code after its `mod tests` (tests come last)");
        let mut used = uses(&production(&strip(&text)));
        used.remove(&module);
        out.push((rel, module, used));
    }
    out
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let allowed: BTreeMap<&str, BTreeSet<&str>> =
        LAYERS.iter().map(|(m, deps)| (*m, deps.iter().copied().collect())).collect();
    let mut problems = Vec::new();
    let g = graph();
    assert!(g.len() >= 40, "expected to read every source file, read {}", g.len());
    for (file, module, used) in &g {
        let Some(ok) = allowed.get(module.as_str()) else {
            problems.push(format!("{file}: module `{module}` has no row in LAYERS (tests/it/layers.rs)"));
            continue;
        };
        for u in used {
            if !ok.contains(u.as_str()) {
                problems.push(format!("{file}: `{module}` uses `crate::{u}`, which its layer does not allow"));
            }
        }
        if let Some((_, strict)) = FILES.iter().find(|(f, _)| f == file) {
            for u in used.iter().filter(|u| !strict.contains(&u.as_str())) {
                problems.push(format!("{file}: uses `crate::{u}`; this file may use only {strict:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "layer violations:\n{}", problems.join("\n"));
}

/// Depth-first search for a cycle in `edges`; the cycle as a path, if any.
fn cycle<'a>(edges: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Option<Vec<&'a str>> {
    fn visit<'a>(
        n: &'a str,
        edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<&'a str>> {
        if let Some(at) = path.iter().position(|p| *p == n) {
            let mut c = path[at..].to_vec();
            c.push(n);
            return Some(c);
        }
        if !done.insert(n) {
            return None;
        }
        path.push(n);
        for m in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    edges.keys().find_map(|n| visit(n, edges, &mut Vec::new(), &mut done))
}

#[test]
fn the_layers_and_the_actual_imports_have_no_cycle() {
    let allowed: BTreeMap<&str, BTreeSet<&str>> =
        LAYERS.iter().map(|(m, deps)| (*m, deps.iter().copied().collect())).collect();
    assert_eq!(cycle(&allowed), None, "LAYERS has a cycle");
    let g = graph();
    let mut actual: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (_, module, used) in &g {
        actual.entry(module.as_str()).or_default().extend(used.iter().map(String::as_str));
    }
    assert_eq!(cycle(&actual), None, "the imports between top-level modules have a cycle: {actual:?}");
    // The detector itself, on a small graph.
    let looped: BTreeMap<&str, BTreeSet<&str>> =
        [("a", BTreeSet::from(["b"])), ("b", BTreeSet::from(["c"])), ("c", BTreeSet::from(["a"]))].into();
    assert_eq!(cycle(&looped), Some(vec!["a", "b", "c", "a"]));
}

#[test]
fn the_reference_reader_sees_grouped_inline_and_nested_paths() {
    let code = "use crate::{engine::Report, stats::{ks, psi}};\nfn f() { crate::clock::now_ms(); }\n\
                macro_rules! m { () => { $crate::output::x() } }\nuse super::plan;";
    let used: Vec<String> = uses(&strip(code)).into_iter().collect();
    assert_eq!(used, ["clock", "engine", "output", "stats"]);
    assert_eq!(production("fn a() {}\n#[cfg(test)]\nmod tests { use crate::state; }"), "fn a() {}\n");
    // A test-only declaration early in a file hides nothing after it.
    let early =
        "#[cfg(test)]\nmod testing;\nuse crate::state::X;\n#[cfg(test)]\nmod tests {\n    fn f() { if x { y() } }\n}\n";
    assert_eq!(uses(&production(&strip(early))).into_iter().collect::<Vec<_>>(), ["state"]);
    assert!(!code_after_tests(early));
    assert!(code_after_tests("#[cfg(test)]\nmod tests {\n}\npub fn late() {}\n"));
}
