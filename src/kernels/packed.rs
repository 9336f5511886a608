//! A network's weights laid out for the kernels of one code path: each layer's `W` in
//! cache-line-aligned rows padded to whole vectors of that path, and what follows each
//! layer's product.

use super::simd::{Path, Simd};
use crate::layer::Layer;

/// Most vectors kept as accumulators at once for one image; 8 of AVX2's 16 ymm registers.
pub(super) const MAX_TILE: usize = 8;

/// One cache line of floats, the unit of [`Aligned`] storage.
#[repr(C, align(64))]
#[derive(Debug, Clone, Copy, PartialEq)]
struct Line([f32; 16]);

// SAFETY: 16 f32 fill the 64 bytes exactly (no padding), and any bits are a valid f32.
unsafe impl bytemuck::Zeroable for Line {}
// SAFETY: as above; `Line` is `Copy`, `repr(C)` and holds no pointers.
unsafe impl bytemuck::Pod for Line {}

/// Floats starting on a cache-line boundary. With rows a multiple of 8 floats, no 8-float
/// load then straddles two lines: from a plain `Vec<f32>` (16-byte aligned) half of them
/// did, and each such split load costs two.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Aligned {
    lines: Vec<Line>,
    len: usize,
}

impl Aligned {
    pub(super) fn zeros(len: usize) -> Self {
        Self {
            lines: vec![Line([0.0; 16]); len.div_ceil(16)],
            len,
        }
    }

    /// Makes this `len` floats long (zeroed if it was not already that long).
    pub(super) fn fit(&mut self, len: usize) {
        if self.len != len {
            *self = Self::zeros(len);
        }
    }
}

impl std::ops::Deref for Aligned {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        &bytemuck::cast_slice(&self.lines)[..self.len]
    }
}

impl std::ops::DerefMut for Aligned {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut bytemuck::cast_slice_mut(&mut self.lines)[..self.len]
    }
}

/// One layer with `W` rows padded to `stride` floats (zeros in the padding).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PackedLayer {
    pub(super) inputs: usize,
    pub(super) outputs: usize,
    pub(super) stride: usize,
    pub(super) w: Aligned,
    pub(super) b: Aligned,
}

/// A network's weights laid out for the kernels of one [`Path`].
#[derive(Debug, Clone, PartialEq)]
pub struct Packed {
    pub(super) layers: Vec<PackedLayer>,
    /// The path, checked to run here.
    pub(super) simd: Simd,
}

impl Packed {
    /// Packs `layers` (already validated: non-empty, shapes chained) for `path`.
    ///
    /// # Panics
    /// If this CPU does not support `path` (its code would not run here).
    pub fn new(layers: &[Layer], path: Path) -> Self {
        let Some(simd) = path.simd() else {
            panic!("this CPU lacks the {} kernels", path.name());
        };
        let lanes = path.lanes();
        let layers: Vec<PackedLayer> = layers
            .iter()
            .map(|layer| {
                let (inputs, outputs) = layer.w.dim();
                let stride = outputs.div_ceil(lanes) * lanes;
                let mut w = Aligned::zeros(inputs * stride);
                for (row, src) in w.chunks_exact_mut(stride).zip(layer.w.rows()) {
                    for (d, s) in row.iter_mut().zip(src) {
                        *d = *s;
                    }
                }
                let mut b = Aligned::zeros(stride);
                b[..outputs].copy_from_slice(&layer.b.to_vec());
                PackedLayer {
                    inputs,
                    outputs,
                    stride,
                    w,
                    b,
                }
            })
            .collect();
        Self { layers, simd }
    }

    /// The path these weights were packed for, the one [`Packed::forward`] runs.
    pub fn path(&self) -> Path {
        self.simd.path()
    }

    pub(super) fn inputs(&self) -> usize {
        self.layers[0].inputs
    }

    pub(super) fn outputs(&self) -> usize {
        self.layers[self.layers.len() - 1].outputs
    }
}

/// What a layer applies to its product.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Act {
    None,
    Sigmoid,
}
