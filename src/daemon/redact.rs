//! Secrets kept out of everything the daemon stores or logs. A receiver's answer (or a client
//! error) may carry any secret the daemon sent it: a receiver that echoes its request puts the
//! `Authorization` header or the URL's path in its error body. So every text taken from the
//! outside is passed through a [`Redactor`] built from every secret the configuration holds
//! before it reaches the outbox (`last_error`), a log line or the CLI, and URLs are replaced as
//! before ([`crate::alerts::retry::redact`]).
//!
//! What counts as a secret, per HTTP sink: the URL's whole value and its part after the host
//! (path and query: a Slack URL's credential is its path); each header's whole value and its
//! part after the auth scheme (`Bearer x` → `x`). Pieces shorter than [`MIN_PIECE`] bytes are
//! not searched for: replacing them would mangle ordinary words, and they are no secret.

use std::cmp::Reverse;

use crate::config::Sink;

/// Shorter pieces of a secret are not redacted.
pub const MIN_PIECE: usize = 6;

/// What replaces a secret.
pub const REDACTED: &str = "<redacted>";

/// Replaces every secret value of some sinks with [`REDACTED`].
#[derive(Default)]
pub struct Redactor {
    /// Longest first, so a whole value goes before its parts.
    pieces: Vec<String>,
}

impl Redactor {
    /// The secrets of `sinks`.
    pub fn new<'a>(sinks: impl IntoIterator<Item = &'a Sink>) -> Redactor {
        let mut pieces = Vec::new();
        for h in sinks.into_iter().filter_map(Sink::http) {
            let url = h.url.expose();
            pieces.push(url.to_owned());
            if let Some((_, after_scheme)) = url.split_once("://")
                && let Some(i) = after_scheme.find('/')
            {
                pieces.push(after_scheme[i..].to_owned());
            }
            for (_, value) in &h.headers {
                let value = value.expose();
                pieces.push(value.to_owned());
                if let Some((_, credentials)) = value.split_once(' ') {
                    pieces.push(credentials.trim().to_owned());
                }
            }
        }
        pieces.retain(|p| p.len() >= MIN_PIECE);
        pieces.sort_by_key(|p| Reverse(p.len()));
        pieces.dedup();
        Redactor { pieces }
    }

    /// `text` without any secret and without URLs.
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for p in &self.pieces {
            if out.contains(p.as_str()) {
                out = out.replace(p.as_str(), REDACTED);
            }
        }
        crate::alerts::retry::redact(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{HttpSink, Secret};

    fn sink(url: &str, headers: &[(&str, &str)]) -> Sink {
        Sink::Webhook(HttpSink {
            url: Secret::new(url),
            headers: headers.iter().map(|(n, v)| ((*n).to_owned(), Secret::new(*v))).collect(),
            timeout: std::time::Duration::from_secs(1),
            min_interval: std::time::Duration::ZERO,
            max_age: std::time::Duration::from_secs(3600),
            send_resolved: true,
        })
    }

    #[test]
    fn whole_values_url_paths_and_credentials_after_the_scheme_are_redacted() {
        let sinks = [
            sink("https://hooks.example.com/services/T0/B0/abcdef", &[("Authorization", "Bearer tok-123456")]),
            sink("http://10.0.0.1:8080/in?key=k3y-value", &[("X-Api-Key", "abc")]),
            Sink::Log,
        ];
        let r = Redactor::new(&sinks);
        assert_eq!(r.apply("got Bearer tok-123456 and tok-123456"), "got <redacted> and <redacted>");
        assert_eq!(r.apply("no route for /services/T0/B0/abcdef"), "no route for <redacted>");
        assert_eq!(r.apply("bad /in?key=k3y-value"), "bad <redacted>");
        assert_eq!(r.apply("see https://example.org/x"), "see <url>");
        assert_eq!(r.apply("abc is too short to be searched for"), "abc is too short to be searched for");
        assert_eq!(Redactor::default().apply("plain"), "plain");
    }
}
