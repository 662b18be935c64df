//! Model quality on Parquet data (issue #13): a side's rows read into the quality core's inputs
//! (prediction, optional score, label; or labels joined from label files by id), for
//! `drift check --model-task`. The daemon's join of
//! late label files is not built yet.

mod read;
mod side;

pub use side::{LabelSource, ModelColumns, side};
