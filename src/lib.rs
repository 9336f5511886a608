//! mnist-explorer's engine: MNIST IDX files, normalization modes, the book's network and its
//! evaluation and training. Nothing in the engine knows about terminals; [`app`] is the
//! interactive explorer built on top of it.

pub mod analysis;
pub mod app;
pub mod dataset;
pub mod eval;
pub mod excerpt;
pub mod glyphs;
pub mod idx;
pub mod image_file;
pub mod input_file;
pub mod inspect;
pub mod kernels;
pub mod layer;
pub mod mode_matrix;
pub mod network;
pub mod normalize;
pub mod occlusion;
pub mod out_file;
pub mod percent;
pub mod preprocess;
pub mod rng;
pub mod softmax;
pub mod timing;
pub mod train;
pub mod trained_on;
pub mod weights;
pub mod whiten;
