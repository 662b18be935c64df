//! Model quality on Parquet data (issue #13): a side's rows read into the quality core's inputs
//! (prediction, optional score, label; or labels joined from label files by id), for
//! `drift check --model-task` and the daemon's label files and model reference.

mod read;
mod side;

pub use read::{numbers, texts, times};
pub use side::{LabelSource, read_labels, read_rows, side};
