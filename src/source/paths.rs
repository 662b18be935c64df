//! Turns the paths a user typed into a sorted list of Parquet files: plain files as given,
//! directories searched recursively for `*.parquet` / `*.parq` (skipping hidden and `_`-prefixed
//! entries such as `_SUCCESS`), and glob patterns.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

fn is_parquet_name(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("parquet" | "parq"))
}

fn hidden(p: &Path) -> bool {
    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.') || n.starts_with('_'))
}

/// Every Parquet file below `dir`; a directory reached again (a symlink loop, or a second link
/// to it) is not listed twice.
fn walk(dir: &Path, out: &mut Vec<PathBuf>, visited: &mut HashSet<PathBuf>) -> Result<()> {
    if let Ok(canonical) = dir.canonicalize()
        && !visited.insert(canonical)
    {
        return Ok(());
    }
    let entries = super::test_denied(dir)
        .and_then(|_| std::fs::read_dir(dir))
        .map_err(|e| anyhow::anyhow!("{}: cannot list directory: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| anyhow::anyhow!("{}: cannot list directory: {e}", dir.display()))?;
        let path = entry.path();
        if hidden(&path) {
            continue;
        }
        if path.is_dir() {
            walk(&path, out, visited)?;
        } else if is_parquet_name(&path) {
            out.push(path);
        }
    }
    Ok(())
}

/// Expands inputs into Parquet file paths, sorted and without duplicates.
pub fn expand_inputs(inputs: &[String]) -> Result<Vec<PathBuf>> {
    if inputs.is_empty() {
        bail!("no input paths given");
    }
    let mut out = Vec::new();
    for input in inputs {
        let path = Path::new(input);
        if path.is_dir() {
            let before = out.len();
            walk(path, &mut out, &mut HashSet::new())?;
            if out.len() == before {
                bail!("{input}: directory holds no Parquet files (looked for *.parquet and *.parq recursively)");
            }
        } else if path.exists() {
            out.push(path.to_owned());
        } else if is_glob(input) {
            let matches = glob::glob(input).map_err(|e| anyhow::anyhow!("{input}: bad glob pattern: {e}"))?;
            let before = out.len();
            for m in matches {
                let p = m.map_err(|e| anyhow::anyhow!("{input}: {e}"))?;
                if p.is_dir() {
                    walk(&p, &mut out, &mut HashSet::new())?;
                } else {
                    out.push(p);
                }
            }
            if out.len() == before {
                bail!("{input}: glob matched no files");
            }
        } else {
            bail!("{input}: no such file or directory");
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}
