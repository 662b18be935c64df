//! Joining labels to predictions by id: the rules the daemon's late-label join and
//! `drift check --labels` share.
//!
//! Ids are kept as 64-bit hashes ([`id_hash`]: FNV-1a over the id's text, then a 64-bit
//! finalizer, stable across versions and platforms, so stored hashes stay valid). Among several
//! labels for one id the last wins: the latest `label_time`, then the last in file order (a
//! label with a time is later than one without); the extra labels are counted as duplicates.
//! A label whose id has no prediction is counted as unmatched, never dropped silently.

use std::collections::HashMap;

/// The 64-bit hash of an id's text: FNV-1a, then the SplitMix64 finalizer (so the low bits
/// are as good as the high ones for a sample by hash).
pub fn id_hash(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Whether an id is in a deterministic sample of `rate` (in (0, 1]) of all ids.
pub fn sampled(hash: u64, rate: f64) -> bool {
    rate >= 1.0 || (hash as f64) < rate * u64::MAX as f64
}

/// One label row: the id's hash, the label, and its time (ms) if the file has one. Rows are
/// given in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelRow {
    /// [`id_hash`] of the id.
    pub id: u64,
    /// The label, as text.
    pub label: String,
    /// `label_time`, if any.
    pub time: Option<i64>,
}

/// The labels of some predictions, and what the join counted.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Joined {
    /// Per prediction, in order: its label, if one matched.
    #[serde(skip)]
    pub labels: Vec<Option<String>>,
    /// Label rows read.
    pub label_rows: u64,
    /// Predictions that got a label.
    pub matched: u64,
    /// Label rows superseded by a later label for the same id.
    pub duplicates: u64,
    /// Distinct label ids with no prediction.
    pub unmatched: u64,
}

/// Joins `labels` (in file order) to predictions by id hash.
pub fn join(prediction_ids: &[u64], labels: &[LabelRow]) -> Joined {
    // The winning label per id: the largest (time, order), None before any time.
    let mut best: HashMap<u64, (Option<i64>, usize)> = HashMap::with_capacity(labels.len());
    for (order, row) in labels.iter().enumerate() {
        let key = (row.time, order);
        best.entry(row.id).and_modify(|k| *k = (*k).max(key)).or_insert(key);
    }
    let duplicates = (labels.len() - best.len()) as u64;
    let mut used: HashMap<u64, bool> = best.keys().map(|&id| (id, false)).collect();
    let mut out = Vec::with_capacity(prediction_ids.len());
    let mut matched = 0u64;
    for id in prediction_ids {
        let label = best.get(id).map(|&(_, order)| labels[order].label.clone());
        if label.is_some() {
            matched += 1;
            used.insert(*id, true);
        }
        out.push(label);
    }
    let unmatched = used.values().filter(|u| !**u).count() as u64;
    Joined { labels: out, label_rows: labels.len() as u64, matched, duplicates, unmatched }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, label: &str, time: Option<i64>) -> LabelRow {
        LabelRow { id: id_hash(id), label: label.to_owned(), time }
    }

    #[test]
    fn the_last_label_wins_by_time_then_file_order_and_the_rest_are_counted() {
        let labels = [
            row("a", "1", Some(20)),
            row("a", "0", Some(10)), // earlier by time, later in the file: loses
            row("b", "0", None),
            row("b", "1", None), // no times: the last in file order wins
            row("c", "1", None),
            row("c", "0", Some(5)), // a time beats none
            row("z", "1", None),    // no prediction: unmatched
        ];
        let ids: Vec<u64> = ["a", "b", "c", "d", "a"].iter().map(|i| id_hash(i)).collect();
        let j = join(&ids, &labels);
        let got: Vec<Option<&str>> = j.labels.iter().map(Option::as_deref).collect();
        assert_eq!(got, [Some("1"), Some("1"), Some("0"), None, Some("1")]);
        assert_eq!((j.label_rows, j.matched, j.duplicates, j.unmatched), (7, 4, 3, 1));
    }

    #[test]
    fn hashes_are_stable_and_the_sample_is_about_its_rate() {
        // Fixed values (computed independently in Python): stored hashes must survive upgrades.
        assert_eq!(id_hash(""), 0xf52a_15e9_a9b5_e89b);
        assert_eq!(id_hash("request-42"), 0xa2f6_9865_4399_5173);
        assert_ne!(id_hash("a"), id_hash("b"));
        let kept = (0..100_000).filter(|i| sampled(id_hash(&i.to_string()), 0.1)).count();
        assert!((9_500..10_500).contains(&kept), "{kept}");
        assert!(sampled(id_hash("x"), 1.0));
    }
}
