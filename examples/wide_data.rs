//! Writes a wide pair for measuring the HTML report: `reference.parquet` and `current.parquet`
//! with COLUMNS columns (half numeric, half categorical: the benchmark's generator,
//! `drift::synth::bench_batches`, with drift in some columns) and ROWS rows per side.
//!
//! Run: `cargo run --example wide_data -- COLUMNS ROWS OUT_DIR`

use std::path::PathBuf;

use drift::synth::{bench_batches, write_parquet};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: wide_data COLUMNS ROWS OUT_DIR";
    let columns: usize = args.next().ok_or_else(|| anyhow::anyhow!(usage))?.parse()?;
    let rows: usize = args.next().ok_or_else(|| anyhow::anyhow!(usage))?.parse()?;
    let dir = PathBuf::from(args.next().ok_or_else(|| anyhow::anyhow!(usage))?);
    std::fs::create_dir_all(&dir)?;
    for (name, shifted) in [("reference.parquet", false), ("current.parquet", true)] {
        let (schema, batches) = bench_batches(rows, columns / 2, columns - columns / 2, shifted, 7);
        let path = dir.join(name);
        write_parquet(&path, schema, batches)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
