//! mnist-explorer's engine: MNIST IDX files, normalization modes, the book's network and its
//! evaluation and training. Nothing here knows about terminals.

pub mod dataset;
pub mod eval;
pub mod idx;
pub mod kernels;
pub mod network;
pub mod normalize;
pub mod train;
