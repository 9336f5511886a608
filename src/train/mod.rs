//! Training the book's network: Glorot initialization, backpropagation over shuffled
//! mini-batches (sigmoid hidden layers, softmax + cross-entropy), the SGD, momentum and Adam
//! optimizers, and the epoch loop that reports progress through a callback. No terminal code.
//!
//! Speed is designed in (issue 5): a [`Trainer`] allocates every buffer once, so a step
//! allocates only its short lists of tasks when it runs on several threads; the products run
//! in register tiles with bias and activation fused, and the sigmoid derivative folded into
//! the backward product; the input layer works on the non-zero pixels only (about 150 of
//! MNIST's 784), gathering rows of W image by image forward while noting each input under its
//! pixel, so that the weight gradient sums each row in registers over the images holding its
//! pixel, with the images stored in 3 bytes per non-zero input (see [`SparseImages`]); a step
//! is split into tasks over the batch
//! rows, then over the weight rows, that run on a small team of spinning threads kept by the
//! trainer; and the same loops are compiled three times, for AVX-512 and for AVX2+FMA (chosen
//! at run time, like the forward pass's [`Path`](crate::kernels::Path)) and portable.
//!
//! Determinism: every sum runs in a fixed order that does not depend on how the work is
//! split, so one seed gives the same weights bit for bit on one machine, whatever the number
//! of threads, and whether the CPU has AVX-512 or only AVX2+FMA (each element's sum runs
//! lane by lane in the same order, and the sigmoid divides on both). The portable kernel
//! rounds differently (no fused multiply-add), so it agrees only to float precision.
//!
//! The files: `config.rs` (what decides a run, its errors), `init.rs` (Glorot), `store.rs`
//! (the compact images), `trainer.rs` (the buffers and the step), `rows.rs` and `grads.rs`
//! (the step's two phases), `by_pixel.rs` (the inputs noted by pixel between them),
//! `input.rs` (on several threads, the input layer's phase before them), `state.rs` (what the
//! phases share), `optim.rs` (the update rules), `tiles.rs` (the phases' inner loops),
//! `team.rs` (their threads), `run.rs` (the epoch loop and its reports), `record.rs` (what
//! the weights file records of the run).

mod by_pixel;
mod config;
#[cfg(test)]
mod fixtures;
mod grads;
mod init;
mod input;
mod optim;
mod record;
mod rows;
mod run;
mod state;
mod store;
mod team;
mod tiles;
mod trainer;

pub use config::{
    DEFAULT_BATCH_SIZE, DEFAULT_EPOCHS, DEFAULT_HIDDEN, DEFAULT_SEED, Optimizer, Schedule,
    TrainConfig, TrainError, format_hidden, parse_hidden,
};
pub use init::glorot_uniform;
pub use optim::{ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON, MOMENTUM};
pub use run::{BatchProgress, EpochReport, Event, Trained, test_accuracy, train};
pub use store::{Image, MAX_PIXELS, SparseImages};
pub use trainer::{StepStats, Trainer};
