//! Which listed files a monitor may take now: pure, with `now` passed in, so the rules are unit
//! tested without a clock.
//!
//! A file is taken once it is complete: unchanged (size and mtime) since the last listing and
//! not modified for `settle` (the footer is checked when it is read; a file without one is
//! retried, then quarantined). Consumed and quarantined files are never taken again, even if
//! rewritten (a log file that changes after being read is an anomaly, not new data): a
//! consumed file listed with another size or mtime is reported as replaced, once per change.

/// What the state knows of a file the listing shows (the caller looks it up; this module
/// reads no state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    /// Size at the last observation.
    pub size: u64,
    /// Modification time at the last observation (ms since the epoch).
    pub mtime_ms: i64,
    /// Consumed or quarantined: never taken again.
    pub taken: bool,
    /// Consumed (a change of size or mtime since is a replacement).
    pub consumed: bool,
}

/// A file as the listing shows it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its key (path or object location).
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification, ms since the epoch.
    pub mtime_ms: i64,
}

/// What to do with a listing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// New or changed files to record.
    pub observe: Vec<Listed>,
    /// Files complete and not taken yet, oldest first.
    pub ready: Vec<Listed>,
    /// Consumed files listed with another size or mtime: rewritten under the same name after
    /// they were read (reported, not read again).
    pub replaced: Vec<Listed>,
    /// Files seen but not settled yet.
    pub waiting: usize,
    /// When the first waiting file will have settled (ms since the epoch), to poll again then
    /// rather than a whole interval later.
    pub next_settle_ms: Option<i64>,
}

/// Decides, for every listed file, whether to record it, take it or wait.
pub fn plan(listing: &[Listed], known: impl Fn(&str) -> Option<Known>, settle_ms: i64, now_ms: i64) -> Plan {
    let mut out = Plan::default();
    for f in listing {
        let settled = now_ms - f.mtime_ms >= settle_ms;
        let wait = |out: &mut Plan| {
            out.waiting += 1;
            let at = (f.mtime_ms + settle_ms).max(now_ms + 1);
            out.next_settle_ms = Some(out.next_settle_ms.map_or(at, |n| n.min(at)));
        };
        match known(&f.key) {
            Some(k) if k.consumed && (k.size != f.size || k.mtime_ms != f.mtime_ms) => out.replaced.push(f.clone()),
            Some(k) if k.taken => {} // consumed or quarantined: never again
            Some(k) if k.size == f.size && k.mtime_ms == f.mtime_ms => {
                if settled {
                    out.ready.push(f.clone());
                } else {
                    wait(&mut out);
                }
            }
            Some(_) => {
                // Changed since the last listing: still being written.
                out.observe.push(f.clone());
                wait(&mut out);
            }
            None => {
                out.observe.push(f.clone());
                if settled {
                    out.ready.push(f.clone());
                } else {
                    wait(&mut out);
                }
            }
        }
    }
    out.ready.sort_by(|a, b| a.mtime_ms.cmp(&b.mtime_ms).then_with(|| a.key.cmp(&b.key)));
    out
}

/// The batch a cycle takes from the ready files (oldest first, as [`plan`] orders them): at
/// most `max_files`, and no more bytes than `max_bytes`, except that the first file always
/// goes (alone, if it is larger than the cap) so the backlog always drains. The rest wait for
/// the next cycle, in the same order: nothing is skipped or reordered.
pub fn take(mut ready: Vec<Listed>, max_files: usize, max_bytes: u64) -> (Vec<Listed>, Vec<Listed>) {
    let mut bytes = 0u64;
    let mut n = 0;
    for f in ready.iter().take(max_files.max(1)) {
        bytes = bytes.saturating_add(f.size);
        if n > 0 && bytes > max_bytes {
            break;
        }
        n += 1;
    }
    let rest = ready.split_off(n);
    (ready, rest)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn listed(key: &str, size: u64, mtime_ms: i64) -> Listed {
        Listed { key: key.into(), size, mtime_ms }
    }

    fn record(size: u64, mtime_ms: i64, status: &str) -> Known {
        Known { size, mtime_ms, taken: status != "seen", consumed: status == "consumed" }
    }

    fn none(_: &str) -> Option<Known> {
        None
    }

    #[test]
    fn new_files_wait_until_settled() {
        let now = 100_000;
        let l = [listed("old", 10, now - 40_000), listed("fresh", 10, now - 5_000)];
        let p = plan(&l, none, 30_000, now);
        assert_eq!(p.ready, vec![listed("old", 10, now - 40_000)]);
        assert_eq!(p.observe.len(), 2);
        assert_eq!(p.waiting, 1);
        assert_eq!(p.next_settle_ms, Some(now + 25_000), "poll again when the fresh file settles");
    }

    #[test]
    fn growing_files_are_not_taken() {
        let now = 100_000;
        let known = HashMap::from([("f".to_owned(), record(10, now - 50_000, "seen"))]);
        let p = plan(&[listed("f", 20, now - 50_000)], |k| known.get(k).copied(), 30_000, now);
        assert!(p.ready.is_empty());
        assert_eq!(p.observe, vec![listed("f", 20, now - 50_000)]);
        let p = plan(&[listed("f", 10, now - 50_000)], |k| known.get(k).copied(), 30_000, now);
        assert_eq!(p.ready.len(), 1, "unchanged and settled");
        assert!(p.observe.is_empty());
    }

    #[test]
    fn consumed_and_quarantined_files_are_never_taken_again() {
        let now = 100_000;
        let known = HashMap::from([
            ("a".to_owned(), record(10, 0, "consumed")),
            ("b".to_owned(), record(10, 0, "quarantined")),
        ]);
        let p = plan(&[listed("a", 10, 0), listed("b", 11, 5)], |k| known.get(k).copied(), 0, now);
        assert_eq!(p, Plan::default());
    }

    #[test]
    fn a_consumed_file_listed_with_another_size_or_mtime_is_replaced_not_taken() {
        let known = HashMap::from([("a".to_owned(), record(10, 0, "consumed"))]);
        for changed in [listed("a", 99, 0), listed("a", 10, 5)] {
            let p = plan(std::slice::from_ref(&changed), |k| known.get(k).copied(), 0, 100_000);
            assert_eq!(p, Plan { replaced: vec![changed], ..Plan::default() });
        }
    }

    #[test]
    fn a_batch_takes_the_oldest_files_up_to_the_count_and_byte_caps() {
        let ready: Vec<Listed> = (0..5).map(|i| listed(&format!("f{i}"), 10, i)).collect();
        let (batch, rest) = take(ready.clone(), 2, 1000);
        assert_eq!((batch, rest), (ready[..2].to_vec(), ready[2..].to_vec()), "by count, oldest first");
        let (batch, rest) = take(ready.clone(), 64, 35);
        assert_eq!((batch.len(), rest.len()), (3, 2), "30 bytes fit under 35, 40 do not");
        let (batch, _) = take(ready.clone(), 64, 30);
        assert_eq!(batch.len(), 3, "exactly at the cap still fits");
        let big = vec![listed("big", 500, 0), listed("small", 1, 1)];
        let (batch, rest) = take(big.clone(), 64, 100);
        assert_eq!((batch, rest), (big[..1].to_vec(), big[1..].to_vec()), "a file over the cap goes alone");
        assert_eq!(take(Vec::new(), 64, 100), (Vec::new(), Vec::new()));
    }

    #[test]
    fn future_mtimes_wait() {
        let p = plan(&[listed("skewed", 1, 200_000)], none, 0, 100_000);
        assert!(p.ready.is_empty());
    }
}
