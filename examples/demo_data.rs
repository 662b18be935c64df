//! Writes the demo pair `examples/data/reference.parquet` and `examples/data/current.parquet`
//! (deterministic: the same bytes every run; `tests/it/demo.rs` checks the committed files
//! still match this generator).
//!
//! Run: `cargo run --example demo_data [-- OUT_DIR]`

use std::path::PathBuf;

use drift::synth::{DemoSide, demo_batch, write_parquet};

fn main() -> anyhow::Result<()> {
    let dir: PathBuf = std::env::args().nth(1).map_or_else(|| "examples/data".into(), PathBuf::from);
    std::fs::create_dir_all(&dir)?;
    for (side, name) in [(DemoSide::Reference, "reference.parquet"), (DemoSide::Current, "current.parquet")] {
        let batch = demo_batch(side);
        let path = dir.join(name);
        write_parquet(&path, batch.schema(), [batch])?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
