//! Collecting problems: every one found in a file is kept as `FILE: KEY: message` (nothing stops
//! at the first), unknown keys come with the closest known one, and a TOML syntax or type error
//! becomes one problem with its line and key.

use std::fmt;
use std::path::{Path, PathBuf};

use super::raw::Unknown;

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// The dotted key (`window.rows`), empty for the file as a whole.
    pub key: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}: {}: {}", self.file.display(), self.key, self.message)
        }
    }
}

/// Every problem found, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Collects errors for one file.
pub(super) struct Problems<'a> {
    pub(super) file: &'a Path,
    pub(super) errors: &'a mut Vec<ConfigError>,
    /// Read secrets (false for commands that never send: their values stay empty).
    pub(super) read_secrets: bool,
}

impl Problems<'_> {
    pub(super) fn push(&mut self, key: &str, message: impl Into<String>) {
        self.errors.push(ConfigError { file: self.file.to_owned(), key: key.to_owned(), message: message.into() });
    }

    pub(super) fn unknown(&mut self, prefix: &str, unknown: &Unknown, known: &[&str]) {
        for key in unknown.keys() {
            let full = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
            if prefix.starts_with("sinks.") && SECRET_KEYS.contains(&key.as_str()) {
                self.push(
                    &full,
                    format!(
                        "secrets never come from the configuration file: use {key}_env (an environment \
                         variable) or {key}_file (a mounted secret)"
                    ),
                );
                continue;
            }
            let hint = suggest(key, known).map_or(String::new(), |s| format!(" (did you mean {s:?}?)"));
            self.push(&full, format!("unknown key{hint}; known keys here: {}", known.join(", ")));
        }
    }
}

/// The closest known key, if close enough to be a typo.
fn suggest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known.iter().map(|k| (edit_distance(key, k), *k)).filter(|(d, _)| *d <= 2.max(key.len() / 4)).min().map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Reads and parses one TOML file; a syntax or type error is one error (with its line).
pub(super) fn parse<T: serde::de::DeserializeOwned + Default>(file: &Path, errors: &mut Vec<ConfigError>) -> Option<T> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            errors.push(ConfigError {
                file: file.to_owned(),
                key: String::new(),
                message: format!("cannot read: {e}"),
            });
            return None;
        }
    };
    match toml::from_str::<T>(&text) {
        Ok(v) => Some(v),
        Err(e) => {
            let line = e.span().map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            let key = e.span().and_then(|s| {
                let before = &text[..s.start.min(text.len())];
                let start = before.rfind('\n').map_or(0, |i| i + 1);
                let line = text[start..].lines().next().unwrap_or("");
                let key = line.split_once('=').map(|(k, _)| k.trim().trim_matches('"').to_owned())?;
                // Prefix the key with the [table] it sits in.
                let table = before.lines().rev().map(str::trim).find(|l| l.starts_with('['));
                Some(match table {
                    Some(t) => format!("{}.{key}", t.trim_matches(|c| c == '[' || c == ']').trim()),
                    None => key,
                })
            });
            let message = e.message().lines().next().unwrap_or("invalid TOML").to_owned();
            let at = line.map_or(String::new(), |l| format!("line {l}: "));
            errors.push(ConfigError {
                file: file.to_owned(),
                key: key.unwrap_or_default(),
                message: format!("{at}{message}"),
            });
            None
        }
    }
}

/// Keys that would put a secret in the file.
pub(super) const SECRET_KEYS: &[&str] = &["url", "token", "password", "secret", "headers", "api_key"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw::SOURCE_KEYS;

    #[test]
    fn suggestions_for_typos() {
        assert_eq!(suggest("threshhold", &["alpha", "threshold"]), Some("threshold"));
        assert_eq!(suggest("settle_sec", SOURCE_KEYS), Some("settle_secs"));
        assert_eq!(suggest("completely_else", SOURCE_KEYS), None);
    }
}
