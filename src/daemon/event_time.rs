//! Event-time arithmetic that cannot overflow: every timestamp unit to milliseconds, window
//! keys to their span, the watermark and the future limit. Pure; a timestamp near the `i64`
//! limits saturates (to the far past or the far future) instead of wrapping, so it lands in
//! the late or the future count rather than in a window of another century.

use arrow_schema::TimeUnit;

/// A timestamp in `unit` as ms since the epoch, saturating at the `i64` limits (seconds
/// multiply, finer units divide towards negative infinity).
pub fn to_ms(unit: TimeUnit, v: i64) -> i64 {
    match unit {
        TimeUnit::Second => v.saturating_mul(1000),
        TimeUnit::Millisecond => v,
        TimeUnit::Microsecond => v.div_euclid(1000),
        TimeUnit::Nanosecond => v.div_euclid(1_000_000),
    }
}

/// A `Date32` (days since the epoch) as ms: never overflows (`i32` days fit `i64` ms).
pub fn days_to_ms(days: i32) -> i64 {
    i64::from(days) * 86_400_000
}

/// The window key of an event time: `t` is in `[key * size, (key + 1) * size)`.
pub fn key(t_ms: i64, size_ms: i64) -> i64 {
    t_ms.div_euclid(size_ms.max(1))
}

/// The span `[start, end)` of window `key`, saturating at the `i64` limits.
pub fn span(key: i64, size_ms: i64) -> (i64, i64) {
    (key.saturating_mul(size_ms), key.saturating_add(1).saturating_mul(size_ms))
}

/// The watermark: the latest event time minus the allowed lateness, saturating.
pub fn watermark(max_event_ms: i64, lateness_ms: i64) -> i64 {
    max_event_ms.saturating_sub(lateness_ms)
}

/// Event times after this are future rows: `now` plus `max_future`, saturating.
pub fn future_after(now_ms: i64, max_future_ms: i64) -> i64 {
    now_ms.saturating_add(max_future_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_converts_at_the_i64_limits_without_wrapping() {
        assert_eq!(to_ms(TimeUnit::Second, i64::MAX), i64::MAX);
        assert_eq!(to_ms(TimeUnit::Second, i64::MIN), i64::MIN);
        assert_eq!(to_ms(TimeUnit::Second, i64::MAX / 1000 + 1), i64::MAX, "the first value that would wrap");
        assert_eq!(to_ms(TimeUnit::Second, -1), -1000);
        assert_eq!(to_ms(TimeUnit::Millisecond, i64::MAX), i64::MAX);
        assert_eq!(to_ms(TimeUnit::Millisecond, i64::MIN), i64::MIN);
        assert_eq!(to_ms(TimeUnit::Microsecond, i64::MAX), i64::MAX / 1000);
        assert_eq!(to_ms(TimeUnit::Microsecond, i64::MIN), i64::MIN.div_euclid(1000));
        assert_eq!(to_ms(TimeUnit::Microsecond, -1), -1, "towards negative infinity");
        assert_eq!(to_ms(TimeUnit::Nanosecond, i64::MAX), i64::MAX / 1_000_000);
        assert_eq!(to_ms(TimeUnit::Nanosecond, i64::MIN), i64::MIN.div_euclid(1_000_000));
        assert_eq!(days_to_ms(i32::MAX), i64::from(i32::MAX) * 86_400_000);
        assert_eq!(days_to_ms(i32::MIN), i64::from(i32::MIN) * 86_400_000);
    }

    #[test]
    fn window_spans_the_watermark_and_the_future_limit_saturate() {
        let size = 3_600_000;
        assert_eq!(span(key(7_200_001, size), size), (7_200_000, 10_800_000));
        assert_eq!(span(key(-1, size), size), (-size, 0));
        let top = key(i64::MAX, size);
        assert_eq!(span(top, size), (top * size, i64::MAX), "the last window's end saturates");
        let bottom = key(i64::MIN, size);
        assert_eq!(span(bottom, size).0, i64::MIN, "the first window's start saturates");
        assert_eq!(watermark(i64::MIN, 600_000), i64::MIN);
        assert_eq!(watermark(1_000_000, 600_000), 400_000);
        assert_eq!(future_after(i64::MAX - 5, 3_600_000), i64::MAX);
        assert_eq!(future_after(1_000, 3_600_000), 3_601_000);
    }
}
