//! Writes the demo's files under `examples/data/`: the pair `reference.parquet` and
//! `current.parquet`, the model's labelled holdout `holdout.parquet` and the current rows'
//! late labels `labels/*.parquet` (deterministic: the same bytes every run; `tests/it/demo.rs`
//! checks the committed files still match this generator).
//!
//! Run: `cargo run --example demo_data [-- OUT_DIR]`

use std::path::PathBuf;

use drift::synth::{demo_files, write_parquet};

fn main() -> anyhow::Result<()> {
    let dir: PathBuf = std::env::args().nth(1).map_or_else(|| "examples/data".into(), PathBuf::from);
    for (name, batch) in demo_files() {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap_or(&dir))?;
        write_parquet(&path, batch.schema(), [batch])?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
