//! SIMD for the kernels and the trainer: the [`Vector`] trait with one type per instruction
//! set, and the one way to run code on them, [`Simd::run`], which picks the type by the
//! [`Path`] this CPU runs (AVX-512, AVX2+FMA, or portable; `MNIST_EXPLORER_KERNEL` may pick
//! a slower one).
//!
//! A kernel is written once, generic over two `Vector`s (a [`Kernel`]), and [`Simd::run`]
//! compiles it three times: inside a function with the AVX-512 features enabled (16-float
//! zmm vectors), inside one with AVX2 and FMA (8-float ymm vectors), and as plain code. The
//! vector methods are `#[inline(always)]`, so in each copy they are single instructions on
//! registers; nothing depends on `-C target-cpu`.
//!
//! Running an AVX instruction on a CPU without AVX is undefined behaviour, and the vector
//! methods are safe to call, so two rules keep them from being run anywhere else:
//! - The AVX vector types are private to this module (`avx.rs`, `avx512.rs`): code outside
//!   cannot name them, and meets them only as the type parameters of a [`Kernel`] that the
//!   dispatch runs.
//! - The dispatch takes a [`Simd`], a token that only detection makes ([`Path::simd`],
//!   [`Simd::current`]), so holding one proves that this CPU has the path's features.
//!
//! `dispatch.rs` is so the only file that spells out the feature strings, and its one
//! `match` the only `unsafe` that depends on them. The token guards the entry rather than
//! each vector operation: the hot loops stay exactly as they were written (no token passed
//! to every load and broadcast), and each path's loops are still one function compiled with
//! the path's features, the same machine code as before the token existed.

#[cfg(target_arch = "x86_64")]
mod avx;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod dispatch;
pub(in crate::kernels) mod math;
mod vector;

pub(crate) use dispatch::{Kernel, Simd};
pub use dispatch::{PATH_VAR, Path};
pub(crate) use vector::Vector;

/// Floats per AVX2 or portable vector (the training kernels' width).
pub(crate) const LANES: usize = 8;
