//! `drift validate`.

use std::path::Path;

use super::plural;

/// A valid configuration: its file and its monitors' ids.
pub fn validated(file: &Path, monitors: &[&str]) -> String {
    format!(
        "{}: valid; {} monitor{}: {}\n",
        file.display(),
        monitors.len(),
        plural(monitors.len()),
        if monitors.is_empty() { "(none)".to_owned() } else { monitors.join(", ") }
    )
}

/// The line after the list of configuration problems (on stderr).
pub fn problems(n: usize) -> String {
    format!("drift: {n} problem{} in the configuration\n", plural(n))
}
