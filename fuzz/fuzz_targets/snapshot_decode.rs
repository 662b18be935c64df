//! The reference snapshot decoder: bytes to a `Snapshot` (format checks, blobs, sketches), then
//! what a window does with one: every column read back, and a merge with itself. A damaged
//! snapshot must be an error; an abort, a panic or a huge allocation is a crash.
#![no_main]

use drift::snapshot::Snapshot;
use drift::source::Table;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(snap) = Snapshot::from_bytes(data) else { return };
    let names: Vec<String> = snap.columns().iter().map(|c| c.name.clone()).collect();
    for name in &names {
        let _ = snap.read_column_into(name, false, Vec::new());
    }
    let _ = Snapshot::merge(&[("a".to_owned(), snap.clone()), ("b".to_owned(), snap)], String::new());
});
