//! The fast forward pass: weights packed once into cache-line-aligned rows of whole SIMD
//! vectors, one fused sweep per layer (product + bias + activation, no temporaries), images
//! split across threads, and AVX-512 or AVX2+FMA code chosen at run time.
//!
//! Images go through layer by layer in blocks of 16 (`forward.rs`). The first layer visits
//! only non-zero inputs (found by a bitmask per image), 64 inputs at a time for the whole
//! block so that slice of W stays in L1 (`sparse.rs`); later layers take 4 or 8 images per
//! tile so that each weight load serves several FMAs (`dense.rs`).
//!
//! The same generic body is compiled once per code path by `simd`, the only door into the
//! SIMD code, which the trainer uses too. The rows of W are padded to the chosen path's vector
//! width, so a [`Packed`] is built for one path (`packed.rs`).

mod dense;
mod forward;
mod packed;
pub(crate) mod simd;
pub(crate) mod sparse;

pub use forward::Input;
pub use packed::Packed;
pub use simd::{PATH_VAR, Path};
