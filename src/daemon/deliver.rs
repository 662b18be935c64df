//! The outbox worker: delivers queued notifications at least once. Notifications are queued
//! in the transaction that stores the window causing them ([`crate::state`]); this worker takes
//! the oldest pending one of every sink (so each sink receives in order), sends it, and records
//! the result: delivered, retry at a time [`crate::alerts::retry`] decides (backoff with jitter,
//! `Retry-After`), or dead-lettered, which queues a `DriftNotificationDeadLettered` alert on the
//! monitor's other operational sinks in the same transaction. A per-sink minimum interval keeps
//! Slack's one message per second.
//!
//! [`Deliverer::pump`] makes one pass with `now` passed in and returns when it next has work,
//! so tests drive it with an injected clock; the daemon calls it in a loop. A receiver's answer
//! is read up to [`ANSWER_CAP`] bytes, and every secret of every sink is redacted from errors
//! before they are stored or logged ([`super::redact`]).

use std::collections::HashMap;
use std::sync::Mutex;

use anyhow::Result;

use super::metrics::{Metrics, SinkLabel};
use super::redact::Redactor;
use crate::alerts::payload::{Notification, webhook};
use crate::alerts::retry::{self, Attempt, Limits, Next};
use crate::alerts::{route, slack};
use crate::config::{Config, HttpSink, Sink};
use crate::state::{Pending, State};

/// Sends notifications; remembers when each sink last sent, for its rate limit.
pub struct Deliverer {
    client: reqwest::Client,
    last_sent: HashMap<String, i64>,
    rng: u64,
}

/// How much of a receiver's answer is read (the rest is not; the connection is dropped).
pub const ANSWER_CAP: usize = 64 * 1024;

/// A TLS-capable HTTP client (rustls with ring; the OS trust store).
pub fn http_client() -> Result<reqwest::Client> {
    // reqwest is built without a default crypto provider (no aws-lc C build); install ring's.
    // An error means one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .user_agent(concat!("drift/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {}", retry::redact(&e.to_string())))
}

/// The outcome of one attempt, and a line for the database and logs (never a URL).
struct Tried {
    attempt: Attempt,
    error: String,
}

impl Deliverer {
    /// A deliverer whose jitter is seeded with `seed`.
    pub fn new(seed: u64) -> Result<Deliverer> {
        Ok(Deliverer { client: http_client()?, last_sent: HashMap::new(), rng: seed | 1 })
    }

    /// A jitter draw in [0, 1) (xorshift64*: no dependency, good enough to spread retries).
    fn jitter(&mut self) -> f64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        (self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// One pass at `now_ms`: sends the due head of every sink and records the results. Returns
    /// when there is work next (ms since the epoch; `now_ms` if more is due at once), or None
    /// when the outbox is empty.
    pub async fn pump(
        &mut self,
        state: &Mutex<State>,
        cfg: &Config,
        metrics: &Metrics,
        now_ms: i64,
    ) -> Result<Option<i64>> {
        let heads = lock(state)?.outbox_heads()?;
        let redactor = Redactor::new(cfg.sinks.values());
        let mut wake: Option<i64> = None;
        let mut soonest = |t: i64| wake = Some(wake.map_or(t, |w| w.min(t)));
        let mut due = Vec::new();
        for p in heads {
            let Some(sink) = cfg.sinks.get(&p.sink) else {
                let error = format!("sink {:?} is no longer configured", p.sink);
                self.dead_letter(state, cfg, metrics, &p, &error, now_ms)?;
                soonest(now_ms);
                continue;
            };
            let min_interval = sink.http().map_or(0, |h| h.min_interval.as_millis() as i64);
            let at = self.last_sent.get(&p.sink).map_or(p.next_attempt_ms, |t| p.next_attempt_ms.max(t + min_interval));
            if at > now_ms {
                soonest(at);
            } else {
                due.push((p, sink));
            }
        }
        let tried = futures::future::join_all(
            due.iter().map(|(p, sink)| attempt(&self.client, &redactor, &p.sink, sink, &p.notification)),
        )
        .await;
        for ((p, sink), tried) in due.iter().zip(tried) {
            let label = SinkLabel { sink: p.sink.clone() };
            let defaults = Limits::default();
            let limits = Limits {
                max_age_ms: sink.http().map_or(defaults.max_age_ms, |h| h.max_age.as_millis() as i64),
                ..defaults
            };
            let jitter = self.jitter();
            match retry::next(&tried.attempt, p.attempts + 1, p.created_ms, now_ms, jitter, &limits) {
                Next::Delivered => {
                    let routing = routing_of(cfg, &p.notification);
                    let recovered = routing.as_ref().map(|r| (r, p.sink.as_str()));
                    lock(state)?.outbox_delivered(p.id, recovered, now_ms)?;
                    self.last_sent.insert(p.sink.clone(), now_ms);
                    metrics.sent.get_or_create(&label).inc();
                    tracing::debug!(sink = %p.sink, monitor = %p.notification.monitor, id = p.id, "notification delivered");
                    soonest(now_ms);
                }
                Next::RetryAt(at) => {
                    lock(state)?.outbox_retry(p.id, at, &tried.error, now_ms)?;
                    if matches!(tried.attempt, Attempt::Status { .. }) {
                        self.last_sent.insert(p.sink.clone(), now_ms);
                    }
                    metrics.retried.get_or_create(&label).inc();
                    tracing::warn!(
                        sink = %p.sink,
                        monitor = %p.notification.monitor,
                        id = p.id,
                        attempt = p.attempts + 1,
                        error = %tried.error,
                        retry_in_ms = at - now_ms,
                        "notification not delivered; will retry"
                    );
                    soonest(at);
                }
                Next::DeadLetter(reason) => {
                    self.dead_letter(state, cfg, metrics, p, &redactor.apply(&reason), now_ms)?;
                    soonest(now_ms);
                }
            }
        }
        self.gauges(state, cfg, metrics, now_ms)?;
        Ok(wake)
    }

    fn dead_letter(
        &mut self,
        state: &Mutex<State>,
        cfg: &Config,
        metrics: &Metrics,
        p: &Pending,
        reason: &str,
        now_ms: i64,
    ) -> Result<()> {
        let n = &p.notification;
        let routing = routing_of(cfg, n);
        let what = route::lost(&p.sink, n, reason);
        tracing::error!(
            sink = %p.sink,
            monitor = %n.monitor,
            id = p.id,
            alertname = %n.alertname,
            attempts = p.attempts + 1,
            error = %reason,
            "notification dead-lettered: it will not be retried"
        );
        let lost = match (&routing, &what) {
            (Some(r), Some(w)) => Some((r, p.sink.as_str(), w.as_str())),
            _ => None,
        };
        lock(state)?.outbox_dead(p.id, reason, lost, now_ms)?;
        metrics.dead.get_or_create(&SinkLabel { sink: p.sink.clone() }).inc();
        Ok(())
    }

    /// Outbox depth and oldest pending age per configured sink.
    fn gauges(&self, state: &Mutex<State>, cfg: &Config, metrics: &Metrics, now_ms: i64) -> Result<()> {
        let stats = lock(state)?.outbox_stats()?;
        for name in cfg.sinks.keys().chain(stats.iter().map(|s| &s.sink)) {
            let label = SinkLabel { sink: name.clone() };
            let s = stats.iter().find(|s| &s.sink == name);
            metrics.outbox_depth.get_or_create(&label).set(s.map_or(0, |s| s.depth as i64));
            metrics
                .outbox_oldest_age
                .get_or_create(&label)
                .set(s.map_or(0.0, |s| (now_ms - s.oldest_ms).max(0) as f64 / 1000.0));
        }
        Ok(())
    }
}

/// Sends one notification once (`drift alert test`): Ok(Ok(())) when delivered, Ok(Err(line))
/// with what the receiver said otherwise.
pub async fn send_once(name: &str, sink: &Sink, n: &Notification) -> Result<std::result::Result<(), String>> {
    let client = http_client()?;
    let tried = attempt(&client, &Redactor::new([sink]), name, sink, n).await;
    Ok(match tried.attempt {
        Attempt::Status { code, .. } if (200..300).contains(&code) => Ok(()),
        _ => Err(tried.error),
    })
}

/// The routing of the monitor a notification is about (None for test messages and for
/// monitors no longer configured).
fn routing_of(cfg: &Config, n: &Notification) -> Option<crate::alerts::route::Routing> {
    if n.test {
        return None;
    }
    cfg.monitors.iter().find(|m| m.id == n.monitor).map(|m| cfg.routing(m))
}

fn lock(state: &Mutex<State>) -> Result<std::sync::MutexGuard<'_, State>> {
    Ok(super::lock_state(state))
}

/// Sends one notification to one sink.
async fn attempt(client: &reqwest::Client, redactor: &Redactor, name: &str, sink: &Sink, n: &Notification) -> Tried {
    let ok = || Tried {
        attempt: Attempt::Status { code: 200, retry_after: None, body: String::new() },
        error: String::new(),
    };
    match sink {
        Sink::Log => {
            log_line(name, n);
            ok()
        }
        Sink::File { path } => {
            // Whole and on disk before the row is marked delivered (`file_sink`).
            match super::file_sink::append(path, &webhook(n).to_string()) {
                Ok(()) => ok(),
                Err(e) => Tried { attempt: Attempt::Connect, error: format!("{}: cannot append: {e}", path.display()) },
            }
        }
        Sink::Slack(h) => post(client, redactor, h, slack::message(n).to_string(), &n.idempotency_key()).await,
        Sink::Webhook(h) => post(client, redactor, h, webhook(n).to_string(), &n.idempotency_key()).await,
    }
}

/// The `log` sink: one line per notification.
fn log_line(sink: &str, n: &Notification) {
    let mut columns: Vec<&str> = Vec::new();
    for f in n.findings.iter().filter(|f| f.statistic.is_some()) {
        if !columns.contains(&f.column.as_str()) {
            columns.push(&f.column);
        }
    }
    let schema: Vec<String> =
        n.findings.iter().filter(|f| f.statistic.is_none()).map(|f| format!("{}:{}", f.column, f.test)).collect();
    tracing::warn!(
        sink,
        monitor = %n.monitor,
        segment = %n.segment,
        alertname = %n.alertname,
        status = if n.resolved { "resolved" } else { "firing" },
        window = n.window,
        severity = n.severity.as_str(),
        columns = %columns.join(","),
        schema = %schema.join(","),
        "{}",
        crate::alerts::payload::summary(n)
    );
}

async fn post(client: &reqwest::Client, redactor: &Redactor, h: &HttpSink, body: String, key: &str) -> Tried {
    let mut req = client
        .post(h.url.expose())
        .timeout(h.timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("Idempotency-Key", key)
        .body(body);
    for (name, value) in &h.headers {
        req = req.header(name.as_str(), value.expose());
    }
    match req.send().await {
        Ok(resp) => {
            let code = resp.status().as_u16();
            let retry_after =
                resp.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let body = redactor.apply(&read_capped(resp).await);
            let shown: String = body.trim().chars().take(200).collect();
            let error = if (200..300).contains(&code) { String::new() } else { format!("HTTP {code}: {shown}") };
            Tried { attempt: Attempt::Status { code, retry_after, body }, error }
        }
        Err(e) if e.is_timeout() => {
            Tried { attempt: Attempt::Timeout, error: format!("no answer within {} s", h.timeout.as_secs()) }
        }
        Err(e) => Tried { attempt: Attempt::Connect, error: redactor.apply(&describe(e)) },
    }
}

/// The answer's body, up to [`ANSWER_CAP`] bytes (what arrived, if reading fails midway).
async fn read_capped(mut resp: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < ANSWER_CAP {
        match resp.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk[..chunk.len().min(ANSWER_CAP - body.len())]),
            Ok(None) | Err(_) => break,
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// A client error as one line without the URL: reqwest puts the URL in its message, so it is
/// removed, and the causes are redacted too.
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut out = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    retry::redact(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A constant (0.5 has the right mean), a few repeating values, a ramp or a sequence stuck
    /// in part of the interval fails: with fixed seeds, every draw is in [0, 1), nearly all are
    /// distinct, consecutive draws differ, the ten equal-width bins are filled evenly (chi-square
    /// with 9 degrees of freedom below 27.9, its 0.1% critical value, and every bin at least 70
    /// of the expected 100), consecutive draws are uncorrelated, and seeds give different
    /// sequences.
    #[test]
    fn jitter_stays_in_the_unit_interval_and_varies() {
        const N: usize = 1000;
        let mut firsts = Vec::new();
        for seed in [42, 1, 0xdead_beef, u64::MAX] {
            let mut d = Deliverer::new(seed).unwrap();
            let draws: Vec<f64> = (0..N).map(|_| d.jitter()).collect();
            firsts.push(draws[0].to_bits());
            assert!(draws.iter().all(|x| (0.0..1.0).contains(x)), "seed {seed}: outside [0, 1)");
            let mut distinct: Vec<u64> = draws.iter().map(|x| x.to_bits()).collect();
            distinct.sort_unstable();
            distinct.dedup();
            assert!(distinct.len() >= N - 5, "seed {seed}: only {} distinct draws of {N}", distinct.len());
            assert!(draws.windows(2).all(|w| w[0] != w[1]), "seed {seed}: a draw repeats the previous one");
            let mut bins = [0usize; 10];
            for x in &draws {
                bins[(x * 10.0) as usize] += 1;
            }
            let expected = N as f64 / 10.0;
            let chi2: f64 = bins.iter().map(|&b| (b as f64 - expected).powi(2) / expected).sum();
            assert!(chi2 < 27.88, "seed {seed}: bins {bins:?}, chi-square {chi2}");
            assert!(bins.iter().all(|&b| b >= 70), "seed {seed}: a bin is starved: {bins:?}");
            let mean = draws.iter().sum::<f64>() / N as f64;
            let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / N as f64;
            assert!((var - 1.0 / 12.0).abs() < 0.01, "seed {seed}: variance {var}, uniform has 1/12");
            let lag1 = draws.windows(2).map(|w| (w[0] - mean) * (w[1] - mean)).sum::<f64>() / ((N - 1) as f64 * var);
            assert!(lag1.abs() < 0.1, "seed {seed}: consecutive draws correlate ({lag1})");
        }
        firsts.sort_unstable();
        firsts.dedup();
        assert_eq!(firsts.len(), 4, "different seeds, different sequences");
    }
}
