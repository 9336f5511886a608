//! The step's non-zero inputs grouped by pixel ([`ByPixel`]). The input layer's forward pass
//! notes every entry it sums under its pixel, batch row by batch row; the gradient phase then
//! sums each weight row's terms in registers and stores the row once. Added image by image
//! into the gradient rows instead, every entry costs a load and a store of a whole row, and
//! the stores bound that loop (see benches/README.md).

use super::tiles::Note;

/// One noted input: its batch row and its value.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub(super) struct Entry {
    pub(super) row: u32,
    pub(super) value: f32,
}

/// Largest table kept (`inputs × max_batch` entries of 8 bytes: 627 KB for MNIST in batches
/// of 100); past it the gradient adds each image's delta in place.
const MAX_BYTES: usize = 32 << 20;

/// For each pixel, the batch rows holding it (non-zero) and their values, in batch order:
/// a slot per possible row, so the forward pass appends without counting first.
#[derive(Debug, Clone)]
pub(super) struct ByPixel {
    /// Per pixel, the slot its next entry goes to (its first slot when it has none).
    next: Vec<usize>,
    entries: Vec<Entry>,
    /// Slots per pixel: the trainer's largest batch.
    cap: usize,
}

impl ByPixel {
    /// Room for batches of up to `max_batch` images of `inputs` pixels, or None if the table
    /// would pass [`MAX_BYTES`] (or a row number 32 bits).
    pub(super) fn new(inputs: usize, max_batch: usize) -> Option<Self> {
        let slots = inputs.checked_mul(max_batch)?;
        if slots.checked_mul(size_of::<Entry>())? > MAX_BYTES || u32::try_from(max_batch).is_err() {
            return None;
        }
        let mut table = Self {
            next: vec![0; inputs],
            entries: vec![Entry::default(); slots],
            cap: max_batch,
        };
        table.clear();
        Some(table)
    }

    /// Forgets the last step's entries.
    pub(super) fn clear(&mut self) {
        // SAFETY: `self` is borrowed whole: no one else notes.
        let inputs = self.next.len();
        unsafe { self.notes().clear(0..inputs) };
    }

    /// Pixel `pixel`'s entries, in batch order.
    #[inline(always)]
    pub(super) fn pixel(&self, pixel: usize) -> &[Entry] {
        &self.entries[pixel * self.cap..self.next[pixel]]
    }

    /// Where a phase's tasks note their entries.
    pub(super) fn notes(&mut self) -> Notes<'_> {
        Notes {
            next: self.next.as_mut_ptr(),
            inputs: self.next.len(),
            entries: self.entries.as_mut_ptr(),
            slots: self.entries.len(),
            cap: self.cap,
            table: std::marker::PhantomData,
        }
    }
}

/// A [`ByPixel`] written by several tasks at once, each noting only the pixels of its own
/// run (as [`Shared`](super::state::Shared), for the table).
#[derive(Clone, Copy)]
pub(super) struct Notes<'a> {
    next: *mut usize,
    inputs: usize,
    entries: *mut Entry,
    slots: usize,
    cap: usize,
    table: std::marker::PhantomData<&'a mut ByPixel>,
}

// SAFETY: the tasks sharing `Notes` write the slots and counts of disjoint pixels (see the
// type's doc), and nobody reads the table until every task is done.
unsafe impl Send for Notes<'_> {}
// SAFETY: as above.
unsafe impl Sync for Notes<'_> {}

impl<'a> Notes<'a> {
    /// Forgets the last step's entries of `pixels`: done by the task that notes them, so
    /// that their counts stay in its core's cache.
    ///
    /// # Safety
    /// Until the phase ends, only this task notes `pixels`.
    pub(super) unsafe fn clear(self, pixels: std::ops::Range<usize>) {
        assert!(pixels.end <= self.inputs);
        for p in pixels {
            // SAFETY: p is a pixel of the table; the pixels are this task's.
            unsafe { *self.next.add(p) = p * self.cap };
        }
    }

    /// Notes for batch row `row` (below the table's batch size).
    ///
    /// # Safety
    /// Until the phase ends, only this task notes the pixels that this row's notes are given,
    /// and each pixel at most once per row.
    pub(super) unsafe fn row(self, row: usize) -> RowNotes<'a> {
        assert!(row < self.cap);
        RowNotes {
            notes: self,
            // The cap fits 32 bits (`ByPixel::new`).
            row: row as u32,
        }
    }
}

/// Where one batch row's entries go.
pub(super) struct RowNotes<'a> {
    notes: Notes<'a>,
    row: u32,
}

impl Note for RowNotes<'_> {
    #[inline(always)]
    unsafe fn note(&mut self, pixel: u16, value: f32) {
        let Notes {
            next,
            entries,
            slots,
            ..
        } = self.notes;
        let p = usize::from(pixel);
        // SAFETY: p is a pixel of the table (the caller's promise); this task alone notes it
        // (`Notes::row`).
        let at = unsafe { *next.add(p) };
        // SAFETY: each row notes p at most once (`Notes::row`) and rows are below the cap, so
        // slot `at` is one of p's (the check costs a tenth of the input layer's time); this task
        // alone writes it and p's next slot.
        debug_assert!(at < slots);
        unsafe {
            entries.add(at).write(Entry {
                row: self.row,
                value,
            });
            *next.add(p) = at + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_come_back_by_pixel_in_the_order_noted() {
        let mut table = ByPixel::new(5, 3).unwrap();
        let notes = table.notes();
        // SAFETY: one task, each pixel once per row.
        unsafe {
            let mut r0 = notes.row(0);
            r0.note(1, 0.5);
            r0.note(4, 0.25);
            let mut r2 = notes.row(2);
            r2.note(1, 2.0);
        }
        assert_eq!(
            table.pixel(1),
            [Entry { row: 0, value: 0.5 }, Entry { row: 2, value: 2.0 }]
        );
        assert_eq!(table.pixel(4).len(), 1);
        assert!(table.pixel(0).is_empty());
        table.clear();
        assert!(table.pixel(1).is_empty());
    }

    #[test]
    fn a_table_past_the_limit_is_not_kept() {
        assert!(ByPixel::new(784, 100).is_some());
        assert!(ByPixel::new(784, 60_000).is_none());
        assert!(ByPixel::new(usize::MAX, 2).is_none());
    }
}
