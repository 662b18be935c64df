//! Delivery decisions, pure: what to do after one attempt to deliver a notification.
//!
//! Connection errors, timeouts, 5xx and 429 are retried with exponential backoff and jitter
//! (0.5 s doubling to 60 s), never sooner than the receiver's `Retry-After` (seconds or an HTTP
//! date); any other 4xx is final and the notification is dead-lettered with its status and
//! body, as is one still undelivered after its maximum age. The jitter draw and `now` are passed
//! in. [`redact`] strips URLs from error text, since HTTP clients put the (secret) webhook URL in
//! their errors.

/// The result of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The receiver answered.
    Status {
        /// HTTP status code.
        code: u16,
        /// The `Retry-After` header, if any.
        retry_after: Option<String>,
        /// The response body (Slack explains a 400 there, e.g. `invalid_payload`).
        body: String,
    },
    /// No answer within the request timeout.
    Timeout,
    /// No connection (refused, reset, DNS).
    Connect,
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Delivered: done.
    Delivered,
    /// Try again at this time (ms since the epoch).
    RetryAt(i64),
    /// Give up and dead-letter, for this reason (one line, no URL).
    DeadLetter(String),
}

/// Retry limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// First backoff (ms).
    pub first_ms: i64,
    /// Longest backoff (ms).
    pub max_ms: i64,
    /// A notification older than this is dead-lettered instead of retried (ms).
    pub max_age_ms: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { first_ms: 500, max_ms: 60_000, max_age_ms: 24 * 3600 * 1000 }
    }
}

/// The backoff before retry number `attempt` (1 for the first retry): `first * 2^(attempt-1)`
/// capped at `max`, then jittered into its upper half by `jitter` in [0, 1).
pub fn backoff_ms(attempt: u32, jitter: f64, limits: &Limits) -> i64 {
    let exp = attempt.saturating_sub(1).min(30);
    let full = limits.first_ms.saturating_mul(1i64 << exp).min(limits.max_ms);
    full / 2 + ((full as f64 / 2.0) * jitter.clamp(0.0, 1.0)) as i64
}

/// `Retry-After` as a wait in ms from `now_ms`: delay-seconds or an HTTP date (a date in the
/// past is no wait); None when absent or unreadable.
pub fn retry_after_ms(value: &str, now_ms: i64) -> Option<i64> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some((secs as i64).saturating_mul(1000));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let at_ms = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as i64;
    Some((at_ms - now_ms).max(0))
}

/// Decides after attempt number `attempt` (1 for the first) of a notification created at
/// `created_ms`.
pub fn next(
    attempt_result: &Attempt,
    attempt: u32,
    created_ms: i64,
    now_ms: i64,
    jitter: f64,
    limits: &Limits,
) -> Next {
    let retry_after = match attempt_result {
        Attempt::Status { code, .. } if (200..300).contains(code) => return Next::Delivered,
        Attempt::Status { code, retry_after, .. } if *code == 429 || *code >= 500 => {
            retry_after.as_deref().and_then(|v| retry_after_ms(v, now_ms))
        }
        Attempt::Status { code, body, .. } => {
            let body: String = body.chars().take(200).collect();
            return Next::DeadLetter(format!("HTTP {code}: {}", redact(body.trim())));
        }
        Attempt::Timeout | Attempt::Connect => None,
    };
    let wait = backoff_ms(attempt, jitter, limits).max(retry_after.unwrap_or(0));
    if now_ms + wait > created_ms + limits.max_age_ms {
        let why = match attempt_result {
            Attempt::Status { code, .. } => format!("HTTP {code}"),
            Attempt::Timeout => "timeout".into(),
            Attempt::Connect => "connection failed".into(),
        };
        return Next::DeadLetter(format!(
            "still undelivered after {attempt} attempts and {} h (last: {why})",
            limits.max_age_ms / 3_600_000
        ));
    }
    Next::RetryAt(now_ms + wait)
}

/// `text` with every http(s) URL replaced by `<url>`.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = ["http://", "https://"].iter().filter_map(|p| rest.find(p)).min() {
        out.push_str(&rest[..i]);
        out.push_str("<url>");
        let tail = &rest[i..];
        let end =
            tail.find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>' | ',')).unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, retry_after: Option<&str>, body: &str) -> Attempt {
        Attempt::Status { code, retry_after: retry_after.map(Into::into), body: body.into() }
    }

    #[test]
    fn backoff_doubles_from_half_a_second_to_a_minute_with_jitter_in_the_upper_half() {
        let l = Limits::default();
        assert_eq!(
            (1..=9).map(|a| backoff_ms(a, 0.0, &l)).collect::<Vec<_>>(),
            [250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]
        );
        assert_eq!(backoff_ms(1, 0.999_999, &l), 499);
        assert_eq!(backoff_ms(40, 0.999_999, &l), 59_999);
    }

    #[test]
    fn retry_after_in_seconds_or_as_an_http_date() {
        // 2015-10-21T07:28:00Z is 1445412480 s after the epoch.
        let now = 1_445_412_480_000 - 30_000;
        assert_eq!(retry_after_ms("7", now), Some(7000));
        assert_eq!(retry_after_ms(" 0 ", now), Some(0));
        assert_eq!(retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", now), Some(30_000));
        assert_eq!(retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", now + 60_000), Some(0), "in the past");
        assert_eq!(retry_after_ms("soon", now), None);
    }

    #[test]
    fn decisions_follow_the_status() {
        let l = Limits::default();
        assert_eq!(next(&status(200, None, "ok"), 1, 0, 0, 0.0, &l), Next::Delivered);
        assert_eq!(next(&status(500, None, ""), 1, 0, 1000, 0.0, &l), Next::RetryAt(1250));
        assert_eq!(next(&Attempt::Timeout, 3, 0, 1000, 0.0, &l), Next::RetryAt(2000));
        assert_eq!(next(&Attempt::Connect, 1, 0, 1000, 0.0, &l), Next::RetryAt(1250));
        assert_eq!(next(&status(429, Some("30"), ""), 1, 0, 1000, 0.0, &l), Next::RetryAt(31_000), "honoured");
        assert_eq!(
            next(&status(429, Some("0"), ""), 1, 0, 1000, 0.0, &l),
            Next::RetryAt(1250),
            "never sooner than backoff"
        );
        assert_eq!(
            next(&status(400, None, "invalid_payload"), 1, 0, 0, 0.0, &l),
            Next::DeadLetter("HTTP 400: invalid_payload".into()),
            "no retry on other 4xx"
        );
        assert_eq!(
            next(&status(404, None, "see https://hooks.example/x"), 1, 0, 0, 0.0, &l),
            Next::DeadLetter("HTTP 404: see <url>".into())
        );
    }

    #[test]
    fn too_old_to_retry_is_dead_lettered() {
        let l = Limits::default();
        let day = l.max_age_ms;
        assert_eq!(next(&Attempt::Connect, 50, 0, day - 60_000, 0.0, &l), Next::RetryAt(day - 30_000));
        match next(&Attempt::Connect, 51, 0, day - 10_000, 0.0, &l) {
            Next::DeadLetter(why) => {
                assert_eq!(why, "still undelivered after 51 attempts and 24 h (last: connection failed)")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn urls_are_redacted_from_error_text() {
        let e = "error sending request for url (https://hooks.slack.com/services/T000/B000/XXXX): connection refused";
        assert_eq!(redact(e), "error sending request for url (<url>): connection refused");
        assert_eq!(redact("a http://x/y b https://z"), "a <url> b <url>");
        assert_eq!(redact("no url here"), "no url here");
    }
}
