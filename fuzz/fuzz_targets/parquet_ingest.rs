//! Parquet ingest, from bytes to the engine's samples: the footer and its checks
//! (`open_bytes`), the schema as a dataset, and every column decoded both as it is classified
//! and as categories, as the daemon and `drift check` read them. A damaged file must give an
//! error (a reader panic is caught and becomes one); an abort, an uncaught panic or a huge
//! allocation is a crash.
#![no_main]

use drift::source::{Dataset, open_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = open_bytes(std::path::Path::new("fuzz.parquet"), bytes::Bytes::copy_from_slice(data)) else {
        return;
    };
    let Ok(ds) = Dataset::from_files("current", vec![file]) else { return };
    let names: Vec<String> = ds.columns.iter().map(|c| c.name.clone()).collect();
    for name in &names {
        let _ = ds.read_column(name, false);
        let _ = ds.read_column(name, true);
    }
    if let Some(first) = ds.files.first() {
        let _ = first.read_some(None);
    }
});
