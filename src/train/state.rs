//! What the trainer keeps between steps and its tasks share within one: each layer's
//! weights, gradients and optimizer state ([`LayerState`]), the transpose that keeps `Wᵀ`
//! current, and [`Shared`], through which a phase's tasks write side by side into one buffer.

use super::tiles::Buf;

/// One layer's parameters, gradients and optimizer state, flat row-major with every row
/// padded to whole vectors (the padding holds zeros and stays zero).
#[derive(Debug, Clone)]
pub(super) struct LayerState {
    pub(super) inputs: usize,
    pub(super) outputs: usize,
    /// Row stride of `w`, `gw`, `mw`, `vw` and of the layer's batch matrices: `outputs`
    /// padded to whole vectors.
    pub(super) stride: usize,
    /// Weights, inputs x stride (x·W + b layout).
    pub(super) w: Buf,
    pub(super) b: Buf,
    /// Wᵀ (outputs x padded inputs), refreshed after each update, so that the backward
    /// product delta·Wᵀ streams whole rows. Empty for the input layer: no delta flows back
    /// into the pixels.
    pub(super) wt: Buf,
    pub(super) gw: Buf,
    pub(super) gb: Buf,
    /// Momentum's velocity or Adam's first moment (empty for SGD).
    pub(super) mw: Buf,
    pub(super) mb: Buf,
    /// Adam's second moment (empty otherwise).
    pub(super) vw: Buf,
    pub(super) vb: Buf,
    /// Where the layer's activations and deltas (max_batch x stride each) start in the
    /// trainer's `batch` buffer.
    pub(super) out_at: usize,
    pub(super) delta_at: usize,
}

/// `wt[c * in_stride + j] = w[j * stride + c]` for the rows `j` of `w` (numbered from
/// `first`) and the first `outputs` columns.
pub(super) fn transpose(
    w: &[f32],
    stride: usize,
    outputs: usize,
    in_stride: usize,
    first: usize,
    wt: &mut [f32],
) {
    for (j, row) in w.chunks_exact(stride).enumerate() {
        for (c, &v) in row[..outputs].iter().enumerate() {
            wt[c * in_stride + first + j] = v;
        }
    }
}

/// A buffer written by several tasks at once, each only in places no other task touches
/// (its own batch rows, or its own columns of a Wᵀ), while the step waits for all of them.
pub(super) struct Shared<'a, T = f32> {
    ptr: *mut T,
    pub(super) len: usize,
    buf: std::marker::PhantomData<&'a mut [T]>,
}

// Not derived: a derive would ask for `T: Copy`, and the pointer is copyable for any T.
impl<T> Clone for Shared<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Shared<'_, T> {}

// SAFETY: the tasks sharing a `Shared` write disjoint elements (see the type's doc) and
// nobody reads those elements until every task is done.
unsafe impl<T: Send> Send for Shared<'_, T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Shared<'_, T> {}

impl<'a, T> Shared<'a, T> {
    pub(super) fn new(buf: &'a mut [T]) -> Self {
        Self {
            ptr: buf.as_mut_ptr(),
            len: buf.len(),
            buf: std::marker::PhantomData,
        }
    }

    /// Where element `at` lies (for prefetching; not for reading or writing).
    pub(super) fn ptr_at(self, at: usize) -> *const T {
        self.ptr.wrapping_add(at).cast_const()
    }

    /// `len` floats from `at`.
    ///
    /// # Safety
    /// No other live reference may overlap them.
    pub(super) unsafe fn slice(self, at: usize, len: usize) -> &'a mut [T] {
        assert!(at + len <= self.len);
        // SAFETY: within the buffer; exclusivity is the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(at), len) }
    }
}
