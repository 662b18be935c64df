//! Architecture invariant: the statistics core, the engine, the daemon's file-taking rules and
//! the alert lifecycle, retry, routing and rendering rules are pure. No file system, network,
//! clock, async runtime, threads, environment or logging in `src/stats/`, `src/quality/`, `src/engine/`,
//! `src/output/`, `src/daemon/plan.rs`, `src/alerts/lifecycle.rs`, `src/alerts/route.rs`,
//! `src/alerts/retry.rs`, `src/alerts/payload.rs`, `src/alerts/slack.rs`, `src/calibrate/pool.rs`
//! or `src/calibrate/verdicts.rs` (`now` is passed in).
//!
//! Three checks, each over every file: forbidden words per line (outside `//` comments); the
//! same words in the code with comments and whitespace removed (a path split over lines); and
//! every `use` declaration parsed, its brace groups expanded into full paths, against forbidden
//! modules (`use std::{fs, io}` names `std::fs` without the text `std::fs` appearing anywhere).

/// Crates and modules that do I/O, spawn or log, ours included (the state database, the
/// daemon, file reading, configuration loading): neither named nor imported in pure code.
const FORBIDDEN_MODULES: &[&str] = &[
    "std::fs",
    "std::net",
    "std::io",
    "std::thread",
    "std::process",
    "std::env",
    "tokio",
    "reqwest",
    "tracing",
    "parquet",
    "rusqlite",
    "object_store",
    "crate::state",
    "crate::daemon",
    "crate::source",
    "crate::config",
    "crate::check",
    "crate::cli",
    "crate::output",
];

/// Other words that may not appear in pure code: the clock, printing, opening files.
const FORBIDDEN: &[&str] =
    &["SystemTime", "Instant::now", "println!", "eprintln!", "File::", "clock::now", "clock::Stopwatch", "now_rfc3339"];

/// Other modules and items that may not be imported, as `::`-separated paths: a `use` path that is
/// one of them or inside one is forbidden.
const FORBIDDEN_IMPORTS: &[&str] = &[
    "std::time::SystemTime",
    "std::time::Instant",
    "log",
    "axum",
    "crate::clock::now_ms",
    "crate::clock::now_rfc3339",
    "crate::clock::Stopwatch",
];

/// The files that must stay pure.
fn pure_files() -> Vec<std::path::PathBuf> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut files: Vec<std::path::PathBuf> = [
        "src/daemon/plan.rs",
        "src/alerts/lifecycle.rs",
        "src/alerts/retry.rs",
        "src/alerts/route.rs",
        "src/alerts/burn.rs",
        "src/alerts/payload.rs",
        "src/alerts/slack.rs",
        "src/calibrate/pool.rs",
        "src/calibrate/verdicts.rs",
    ]
    .iter()
    .map(|f| format!("{root}/{f}").into())
    .collect();
    let mut dirs: Vec<std::path::PathBuf> =
        ["src/stats", "src/quality", "src/engine", "src/output"].iter().map(|d| format!("{root}/{d}").into()).collect();
    // Their submodules too (`src/output/html/`).
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() { dirs.push(path) } else { files.push(path) }
        }
    }
    files
}

/// The production part of a file: the text without its `#[cfg(test)]` items (a `mod x;`
/// declaration, or a module or item up to its matching brace), whose fixtures may read files.
/// Braces are counted as written: give it [`strip`]ped code when strings may hold braces.
pub(crate) fn production(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        let semi = item.find(';').unwrap_or(item.len());
        let open = item.find('{').unwrap_or(item.len());
        if semi < open {
            rest = &item[semi + 1..];
            continue;
        }
        let mut depth = 0usize;
        let mut end = item.len();
        for (i, c) in item.char_indices().skip(open) {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// Whether anything but tests follows the file's `mod tests` (test modules come last). Read on
/// the code with comments and strings emptied, so a brace in a string cannot end a module.
pub(crate) fn code_after_tests(text: &str) -> bool {
    let code = strip(text);
    code.find("#[cfg(test)]\nmod tests {").is_some_and(|at| !production(&code[at..]).trim().is_empty())
}

/// Every violation in `text`, one line each.
fn violations(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        for &f in FORBIDDEN.iter().chain(FORBIDDEN_MODULES) {
            if code.contains(f) {
                out.push(format!("line {}: `{f}`: {line}", i + 1));
            }
        }
    }
    let code = strip(text);
    let squeezed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    for &f in FORBIDDEN.iter().chain(FORBIDDEN_MODULES) {
        if squeezed.contains(f) {
            out.push(format!("`{f}` in the code (comments and whitespace removed)"));
        }
    }
    for tree in use_trees(&code) {
        for path in expand(&tree) {
            if let Some(f) = forbidden_import(&path) {
                out.push(format!("`use {tree}` imports `{path}` (`{f}`)"));
            }
        }
    }
    out
}

/// The code without comments and with string and character literals emptied (so neither a
/// comment nor a message can hold a `use` or hide the end of one).
pub(crate) fn strip(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        if c[i] == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c[i] == 'r'
            && (i == 0 || !ident(c[i - 1]) || (c[i - 1] == 'b' && (i < 2 || !ident(c[i - 2]))))
            && matches!(next, Some('"') | Some('#'))
        {
            // A raw string r"..." or r#"..."#; `r#ident` is a raw identifier.
            let hashes = c[i + 1..].iter().take_while(|&&ch| ch == '#').count();
            if c.get(i + 1 + hashes) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            i += 2 + hashes;
            while i < c.len()
                && !(c[i] == '"' && c[i + 1..].iter().take(hashes).filter(|&&ch| ch == '#').count() == hashes)
            {
                i += 1;
            }
            i += 1 + hashes;
            out.push_str("\"\"");
        } else if c[i] == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c[i] == '\'' && (next == Some('\\') || c.get(i + 2) == Some(&'\'')) {
            // A character literal ('x', '\n', '\u{..}'); otherwise a lifetime, kept.
            i += 1;
            while i < c.len() && c[i] != '\'' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// The trees of every `use` declaration in stripped code (`pub use`, `pub(crate) use`, nested
/// in functions and modules too), whitespace removed except around `as`.
pub(crate) fn use_trees(code: &str) -> Vec<String> {
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use") {
        let before = rest[..at].chars().next_back();
        let after = rest[at + 3..].chars().next();
        let is_keyword =
            before.is_none_or(|ch| !ident(ch)) && after.is_some_and(|ch| ch.is_whitespace() || ch == ':' || ch == '{');
        if !is_keyword {
            rest = &rest[at + 3..];
            continue;
        }
        let body = &rest[at + 3..];
        let end = body.find(';').unwrap_or(body.len());
        let words: Vec<&str> = body[..end].split_whitespace().collect();
        let mut tree = String::new();
        for (k, w) in words.iter().enumerate() {
            if *w == "as" || words.get(k.wrapping_sub(1)) == Some(&"as") {
                tree.push(' ');
            }
            tree.push_str(w);
        }
        out.push(tree);
        rest = &body[end..];
    }
    out
}

/// A use tree expanded into full paths: `std::{fs, io::{self, Read as R}}` gives `std::fs`,
/// `std::io` and `std::io::Read`; a leading `::` is dropped, `*` is kept as the last segment.
pub(crate) fn expand(tree: &str) -> Vec<String> {
    fn walk(prefix: &str, tree: &str, out: &mut Vec<String>) {
        let tree = tree.trim().trim_start_matches("::");
        let Some(open) = tree.find('{') else {
            let leaf = tree.split(" as ").next().unwrap_or("").trim();
            let path = match leaf {
                "" => return,
                "self" => prefix.trim_end_matches("::").to_owned(),
                _ => format!("{prefix}{leaf}"),
            };
            out.push(path.trim_start_matches("::").to_owned());
            return;
        };
        let head = format!("{prefix}{}", &tree[..open]);
        let close = tree.rfind('}').unwrap_or(tree.len());
        let inner = &tree[open + 1..close];
        let (mut depth, mut start) = (0, 0);
        for (k, ch) in inner.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    walk(&head, &inner[start..k], out);
                    start = k + 1;
                }
                _ => {}
            }
        }
        walk(&head, &inner[start..], out);
    }
    let mut out = Vec::new();
    walk("", tree, &mut out);
    out
}

/// The forbidden import `path` falls under, if any: it is that module or inside it, or it
/// reaches it wholesale (`std` itself renamed, or a glob over one of its parents).
fn forbidden_import(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.split("::").collect();
    let (glob, named) = match segments.split_last() {
        Some((&"*", parent)) => (true, parent),
        _ => (false, &segments[..]),
    };
    FORBIDDEN_IMPORTS.iter().chain(FORBIDDEN_MODULES).copied().find(|f| {
        let f: Vec<&str> = f.split("::").collect();
        named.starts_with(&f) || (glob && f.starts_with(named)) || (named == ["std"] && f[0] == "std")
    })
}

#[test]
fn stats_and_engine_do_no_io() {
    let (mut checked, mut imports) = (0, 0);
    let mut found = Vec::new();
    for path in pure_files() {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let text = production(&text);
        found.extend(violations(&text).into_iter().map(|v| format!("{}: {v}", path.display())));
        imports += use_trees(&strip(&text)).iter().map(|t| expand(t).len()).sum::<usize>();
        checked += 1;
    }
    assert!(found.is_empty(), "I/O, clock, threads or logging in the pure core:\n{}", found.join("\n"));
    assert!(checked >= 12, "expected to scan the stats and engine modules and six files, scanned {checked}");
    assert!(imports >= 50, "the use parser found only {imports} imported paths in {checked} files");
}

/// The matcher itself, on small strings: grouped, nested, multi-line, renamed, glob and
/// absolute imports are caught; harmless ones, comments and strings are not.
#[test]
fn the_purity_matcher_catches_grouped_imports() {
    let caught = [
        "use std::{fs, io};",
        "use std::{\n    fs,\n};",
        "use std::{\n    collections::HashMap,\n    io::{self, Write},\n};",
        "pub(crate) use ::std::fs as f;",
        "use std::{self as s};",
        "use std as s;",
        "use std::*;",
        "use std::time::{Duration, Instant};",
        "use std::time::{Duration, SystemTime as Clock};",
        "use tokio::{sync::Mutex};",
        "use {std::net::TcpStream};",
        "fn f() {\n    use std::{env};\n}",
        "let s = std::\n    fs::read(p);",
        "std::fs::read(\"x\")",
    ];
    for code in caught {
        assert!(!violations(code).is_empty(), "not caught: {code:?}");
    }
    let clean = [
        "use std::{collections::HashMap, fmt};",
        "use std::time::Duration;",
        "use std::iter;",
        "use std::{cmp::Reverse, sync::Arc};",
        "use crate::stats::{io_rate, fs_free};",
        "use super::*;",
        "// use std::{fs};",
        "/* use std::{fs}; */",
        "let msg = \"we use { std } here\"; let caused = 1;",
        "fn f<'a>(x: &'a str) -> char { let c = '{'; c }",
        "let r = r#\"use std::{fs};\"#;",
    ];
    for code in clean {
        assert_eq!(violations(code), Vec::<String>::new(), "falsely caught: {code:?}");
    }
    assert_eq!(expand("std::{fs, io::{self, Read as R}, *}"), ["std::fs", "std::io", "std::io::Read", "std::*"]);
    assert_eq!(use_trees(&strip("pub use a::{b,\n  c as d};\nfn reuse() {}")), ["a::{b,c as d}"]);
}
