//! The training images as the trainer reads them: normalized once, and only the non-zero
//! inputs kept, in 3 bytes each where normalization only scales ([`SparseImages`]).

use crate::dataset::Dataset;
use crate::normalize::NormMode;

/// Most pixels an image may have for training: its pixel indices are stored in 16 bits.
pub const MAX_PIXELS: usize = 1 << 16;

/// How many images ahead [`SparseImages::prefetch_ahead`] asks for where an image lies.
pub const BOUNDS_AHEAD: usize = 8;
/// How many images ahead [`SparseImages::prefetch_ahead`] asks for an image's pixels.
pub const PIXELS_AHEAD: usize = 3;

/// A split's images, normalized once and stored sparsely: for each image the indices and
/// values of its non-zero inputs, plus its label. MNIST images are ~80% zeros, so this is
/// both smaller than the dense f32 matrix and what the input layer wants to iterate.
///
/// Every step reads its images from anywhere in the split, so their size is time: an index
/// takes 2 bytes and, for the modes that only scale a pixel (all but z-score), a value is
/// its pixel byte, divided by the image's divisor where it is used (exactly as
/// [`NormMode::apply`] does): 3 bytes per non-zero input where a u32 index and an f32 value
/// took 8.
#[derive(Debug, Clone)]
pub struct SparseImages {
    pixels_per_image: usize,
    /// Images holding each pixel (non-zero), over the whole split: balances the input
    /// layer's gradient work between tasks.
    pixel_count: Vec<usize>,
    start: Vec<usize>,
    pixel: Vec<u16>,
    values: Values,
    labels: Vec<u8>,
}

/// How [`SparseImages`] keeps its non-zero values.
#[derive(Debug, Clone)]
enum Values {
    /// Each value's pixel byte, and each image's divisor: value = byte / divisor.
    Scaled { bytes: Vec<u8>, divisor: Vec<f32> },
    /// The values themselves (z-score, and images given as floats).
    Floats(Vec<f32>),
}

/// One image's non-zero inputs: pixel indices, increasing, and their values.
#[derive(Debug, Clone, Copy)]
pub enum Image<'a> {
    /// Value `e` is `bytes[e] / divisor`.
    Scaled {
        /// The pixel indices.
        pixels: &'a [u16],
        /// The pixel bytes.
        bytes: &'a [u8],
        /// The image's divisor.
        divisor: f32,
    },
    /// Value `e` is `values[e]`.
    Floats {
        /// The pixel indices.
        pixels: &'a [u16],
        /// The values.
        values: &'a [f32],
    },
}

/// The value a stored pixel byte stands for in an image of `divisor`: the division
/// [`NormMode::apply`] makes, so that the values are its own bit for bit.
#[inline(always)]
pub(super) fn scaled(byte: u8, divisor: f32) -> f32 {
    f32::from(byte) / divisor
}

/// Runs `$body` with `$pixels` (the pixel indices) and `$values` (an iterator over the
/// values) bound for either kind of [`Image`]: the body is compiled once per kind, so the
/// kernels it calls stay monomorphic (a closure could not be generic over the iterator).
macro_rules! with_values {
    ($image:expr, |$pixels:ident, $values:ident| $body:expr) => {
        match $image {
            $crate::train::store::Image::Scaled {
                pixels: $pixels,
                bytes,
                divisor,
            } => {
                let $values = bytes
                    .iter()
                    .map(move |&b| $crate::train::store::scaled(b, divisor));
                $body
            }
            $crate::train::store::Image::Floats {
                pixels: $pixels,
                values,
            } => {
                let $values = values.iter().copied();
                $body
            }
        }
    };
}

pub(super) use with_values;

impl<'a> Image<'a> {
    /// The non-zero pixels' indices, increasing.
    pub fn pixels(self) -> &'a [u16] {
        match self {
            Image::Scaled { pixels, .. } | Image::Floats { pixels, .. } => pixels,
        }
    }

    /// Entries `range` only.
    pub(super) fn part(self, range: std::ops::Range<usize>) -> Self {
        match self {
            Image::Scaled {
                pixels,
                bytes,
                divisor,
            } => Image::Scaled {
                pixels: &pixels[range.clone()],
                bytes: &bytes[range],
                divisor,
            },
            Image::Floats { pixels, values } => Image::Floats {
                pixels: &pixels[range.clone()],
                values: &values[range],
            },
        }
    }

    /// Each non-zero input as (pixel index, value), for checks and tools (the kernels take
    /// the slices through `with_values!`).
    pub fn entries(self) -> impl Iterator<Item = (usize, f32)> + 'a {
        let pixels = self.pixels();
        (0..pixels.len()).map(move |e| (usize::from(pixels[e]), self.value(e)))
    }

    /// The value of entry `e`.
    fn value(self, e: usize) -> f32 {
        match self {
            Image::Scaled { bytes, divisor, .. } => scaled(bytes[e], divisor),
            Image::Floats { values, .. } => values[e],
        }
    }
}

impl SparseImages {
    /// Normalizes every image of `data` with `norm` (exactly as [`NormMode::apply`]) and keeps
    /// the non-zero values.
    ///
    /// # Panics
    /// If the images have more than [`MAX_PIXELS`] pixels ([`train`](super::train) checks first).
    pub fn new(data: &Dataset, norm: NormMode) -> Self {
        let n = data.pixels_per_image();
        let mut scratch = vec![0f32; n];
        // Exact for the modes that keep zeros (they map only 0 to 0); z-score keeps all.
        let nonzeros = if norm.keeps_zeros() {
            data.images(0..data.len())
                .iter()
                .filter(|&&p| p != 0)
                .count()
        } else {
            data.len() * n
        };
        let mut out = Self::with_capacity(n, data.len(), nonzeros, norm.keeps_zeros());
        if norm.whitening().is_some() {
            // A whitening mixes every pixel into every value: one matrix product per chunk
            // of images is far faster than one per image.
            const CHUNK: usize = 1000;
            let mut values = vec![0f32; CHUNK.min(data.len()) * n];
            for start in (0..data.len()).step_by(CHUNK) {
                let end = (start + CHUNK).min(data.len());
                let chunk = &mut values[..(end - start) * n];
                norm.apply_batch(data.images(start..end), n, chunk);
                for (row, i) in chunk.chunks_exact(n).zip(start..end) {
                    out.push(row, data.label(i));
                }
            }
            return out;
        }
        for i in 0..data.len() {
            out.push_pixels(data.image(i), norm, &mut scratch, data.label(i));
        }
        out
    }

    /// Builds from dense rows of `pixels_per_image` values (for tests and tools).
    ///
    /// # Panics
    /// If `rows.len()` is not `labels.len() * pixels_per_image`, or the images have more than
    /// [`MAX_PIXELS`] pixels.
    pub fn from_dense(rows: &[f32], pixels_per_image: usize, labels: &[u8]) -> Self {
        assert_eq!(rows.len(), labels.len() * pixels_per_image);
        let nonzeros = rows.iter().filter(|&&v| v != 0.0).count();
        let mut out = Self::with_capacity(pixels_per_image, labels.len(), nonzeros, false);
        for (row, &label) in rows.chunks_exact(pixels_per_image).zip(labels) {
            out.push(row, label);
        }
        out
    }

    /// Room for `images` images holding `nonzeros` values in all (a hint: more still fit),
    /// kept as bytes and divisors if `scaled`.
    fn with_capacity(
        pixels_per_image: usize,
        images: usize,
        nonzeros: usize,
        scaled: bool,
    ) -> Self {
        assert!(
            pixels_per_image <= MAX_PIXELS,
            "{pixels_per_image} pixels per image, at most {MAX_PIXELS} fit"
        );
        let mut start = Vec::with_capacity(images + 1);
        start.push(0);
        // Each step reads 100 images from anywhere in these arrays: with 4 KB pages nearly
        // every image would cost a TLB miss and a page walk.
        let pixel = Vec::with_capacity(nonzeros);
        advise_huge_pages(&pixel);
        let values = if scaled {
            let bytes = Vec::with_capacity(nonzeros);
            advise_huge_pages(&bytes);
            Values::Scaled {
                bytes,
                divisor: Vec::with_capacity(images),
            }
        } else {
            let floats = Vec::with_capacity(nonzeros);
            advise_huge_pages(&floats);
            Values::Floats(floats)
        };
        Self {
            pixels_per_image,
            pixel_count: vec![0; pixels_per_image],
            start,
            pixel,
            values,
            labels: Vec::with_capacity(images),
        }
    }

    /// Appends an image of pixel bytes normalized by `norm` (`scratch` holds a float image):
    /// as bytes and a divisor when both the split and `norm` allow, else as floats.
    fn push_pixels(&mut self, pixels: &[u8], norm: NormMode, scratch: &mut [f32], label: u8) {
        match (&mut self.values, norm.divisor(pixels)) {
            (Values::Scaled { bytes, divisor }, Some(d)) => {
                // b / d is never 0 for a byte b >= 1: d is at most the image's L1 norm, under
                // 2^24 even for MAX_PIXELS pixels of 255, so the quotient is a normal float.
                // The non-zero bytes are the non-zero values.
                for (p, &b) in pixels.iter().enumerate().filter(|&(_, &b)| b != 0) {
                    self.pixel_count[p] += 1;
                    self.pixel.push(p as u16);
                    bytes.push(b);
                }
                divisor.push(d);
                self.start.push(self.pixel.len());
                self.labels.push(label);
            }
            _ => {
                norm.apply(pixels, scratch);
                self.push(scratch, label);
            }
        }
    }

    /// Appends an image given as floats, turning the stored values into floats first if
    /// they are bytes (never the case for a split of one [`NormMode`]).
    fn push(&mut self, row: &[f32], label: u8) {
        if let Values::Scaled { bytes, divisor } = &self.values {
            let mut floats = Vec::with_capacity(bytes.len() + row.len());
            for (i, d) in divisor.iter().enumerate() {
                let r = self.start[i]..self.start[i + 1];
                floats.extend(bytes[r].iter().map(|&b| scaled(b, *d)));
            }
            self.values = Values::Floats(floats);
        }
        let Values::Floats(values) = &mut self.values else {
            unreachable!("turned into floats above")
        };
        for (p, &v) in row.iter().enumerate() {
            if v != 0.0 {
                self.pixel_count[p] += 1;
                self.pixel.push(p as u16);
                values.push(v);
            }
        }
        self.start.push(self.pixel.len());
        self.labels.push(label);
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there is no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Inputs per image (dense size).
    pub fn pixels_per_image(&self) -> usize {
        self.pixels_per_image
    }

    /// Non-zero values stored, over all images.
    pub fn nonzeros(&self) -> usize {
        self.pixel.len()
    }

    /// Fills `split` (parts + 1 bounds) with runs of pixels that hold about the same number
    /// of the split's non-zero values each.
    pub(super) fn split_pixels(&self, split: &mut [usize]) {
        let parts = split.len() - 1;
        let total = self.nonzeros();
        let (mut p, mut seen) = (0, 0);
        split[0] = 0;
        for (q, bound) in split[..parts].iter_mut().enumerate().skip(1) {
            let target = q * total / parts;
            while p < self.pixels_per_image && seen < target {
                seen += self.pixel_count[p];
                p += 1;
            }
            *bound = p;
        }
        split[parts] = self.pixels_per_image;
    }

    /// The non-zero pixels and values of image `i`.
    #[inline(always)]
    pub fn image(&self, i: usize) -> Image<'_> {
        let r = self.start[i]..self.start[i + 1];
        let pixels = &self.pixel[r.clone()];
        match &self.values {
            Values::Scaled { bytes, divisor } => Image::Scaled {
                pixels,
                bytes: &bytes[r],
                divisor: divisor[i],
            },
            Values::Floats(values) => Image::Floats {
                pixels,
                values: &values[r],
            },
        }
    }

    /// Asks the CPU to start loading image `i` into the cache (a hint; no effect elsewhere).
    #[inline(always)]
    pub fn prefetch(&self, i: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            let (from, to) = (self.start[i], self.start[i + 1]);
            if from == to {
                return;
            }
            // One hint per 64-byte line, from the line of the first entry to the line of the
            // last: stepping by a line from the first entry would miss the last line whenever
            // the first does not start one.
            #[inline(always)]
            fn lines<T>(array: *const T, from: usize, to: usize) {
                let size = std::mem::size_of::<T>();
                let first = (array.addr() + from * size) & !63;
                for at in (first..array.addr() + to * size).step_by(64) {
                    // SAFETY: prefetching reads nothing and faults on no address, so a hint
                    // at the head of a line, before the array, is harmless.
                    unsafe { _mm_prefetch::<_MM_HINT_T0>(array.with_addr(at).cast()) };
                }
            }
            lines(self.pixel.as_ptr(), from, to);
            match &self.values {
                Values::Scaled { bytes, .. } => lines(bytes.as_ptr(), from, to),
                Values::Floats(values) => lines(values.as_ptr(), from, to),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = i;
    }

    /// The hints for reading `images` in order, given before image `images[k]`: the images
    /// are scattered over a split far larger than the caches, so ask for where the ones
    /// [`BOUNDS_AHEAD`] on lie, and for the pixels of the ones [`PIXELS_AHEAD`] on (with
    /// `k == 0`, for all those up to there).
    #[inline(always)]
    pub fn prefetch_ahead(&self, images: &[usize], k: usize) {
        let from = |ahead: usize| if k == 0 { 0 } else { k + ahead };
        let upto = |ahead: usize| (k + ahead + 1).min(images.len());
        for &img in images
            .get(from(BOUNDS_AHEAD)..upto(BOUNDS_AHEAD))
            .unwrap_or_default()
        {
            self.prefetch_bounds(img);
        }
        for &img in images
            .get(from(PIXELS_AHEAD)..upto(PIXELS_AHEAD))
            .unwrap_or_default()
        {
            self.prefetch(img);
        }
    }

    /// Asks the CPU to start loading where image `i` lies (a hint, so that a later
    /// [`SparseImages::prefetch`] of it does not wait for that first), and its label.
    #[inline(always)]
    pub fn prefetch_bounds(&self, i: usize) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: prefetching reads nothing; the addresses are within the arrays.
        unsafe {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            _mm_prefetch::<_MM_HINT_T0>(self.start[..=i + 1].as_ptr().add(i).cast());
            _mm_prefetch::<_MM_HINT_T0>(self.labels[i..].as_ptr().cast());
            if let Values::Scaled { divisor, .. } = &self.values {
                _mm_prefetch::<_MM_HINT_T0>(divisor[i..].as_ptr().cast());
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = i;
    }

    /// Whether the values are kept as pixel bytes and divisors (not floats).
    #[cfg(test)]
    pub(super) fn holds_bytes(&self) -> bool {
        matches!(self.values, Values::Scaled { .. })
    }

    /// The label of image `i`.
    pub fn label(&self, i: usize) -> u8 {
        self.labels[i]
    }

    /// The largest label, if any.
    pub fn max_label(&self) -> Option<u8> {
        self.labels.iter().copied().max()
    }
}

/// Asks Linux to back `buf`'s allocation (capacity, not just length) with 2 MB pages where
/// it can, before anything is written there; transparent huge pages are often enabled for
/// such requests only (`madvise` mode). Elsewhere, or if the kernel says no, nothing changes.
fn advise_huge_pages<T>(buf: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let bytes = buf.capacity() * std::mem::size_of::<T>();
        let from = buf.as_ptr().addr().next_multiple_of(HUGE);
        let to = (buf.as_ptr().addr() + bytes) / HUGE * HUGE;
        if to > from {
            // SAFETY: the range lies within `buf`'s allocation, and MADV_HUGEPAGE changes how
            // its pages are backed, never their contents. A failure is harmless: ignored.
            unsafe {
                libc::madvise(
                    buf.as_ptr().with_addr(from).cast_mut().cast(),
                    to - from,
                    libc::MADV_HUGEPAGE,
                );
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = buf;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::fixtures::varied_images;

    #[test]
    fn stored_images_hold_exactly_what_normalization_gives() {
        let data = varied_images(3, 5, 22, 9);
        let mut dense = vec![0f32; data.pixels_per_image()];
        for norm in NormMode::PER_IMAGE {
            let sparse = SparseImages::new(&data, norm);
            // Bytes and divisors for every mode that only scales; floats for z-score.
            let bytes = sparse.holds_bytes();
            assert_eq!(bytes, norm.keeps_zeros(), "{norm:?}");
            for i in 0..data.len() {
                norm.apply(data.image(i), &mut dense);
                let expected: Vec<(usize, u32)> = (dense.iter().enumerate())
                    .filter(|&(_, &v)| v != 0.0)
                    .map(|(p, v)| (p, v.to_bits()))
                    .collect();
                let stored: Vec<(usize, u32)> = (sparse.image(i).entries())
                    .map(|(p, v)| (p, v.to_bits()))
                    .collect();
                assert_eq!(stored, expected, "{norm:?}, image {i}");
                assert_eq!(sparse.label(i), data.label(i));
            }
        }
    }

    #[test]
    fn a_float_image_after_byte_ones_turns_the_store_into_floats() {
        let mut sparse = SparseImages::with_capacity(4, 2, 0, true);
        let mut scratch = [0f32; 4];
        sparse.push_pixels(&[0, 51, 0, 255], NormMode::Div255, &mut scratch, 3);
        assert!(sparse.holds_bytes());
        sparse.push(&[0.5, 0.0, -1.0, 0.0], 7);
        assert!(!sparse.holds_bytes());
        let entries = |i| sparse.image(i).entries().collect::<Vec<_>>();
        assert_eq!(entries(0), [(1, 51.0 / 255.0), (3, 1.0)]);
        assert_eq!(entries(1), [(0, 0.5), (2, -1.0)]);
        assert_eq!((sparse.label(0), sparse.label(1)), (3, 7));
        assert_eq!(sparse.pixel_count, [1, 1, 1, 1]);
    }
}
