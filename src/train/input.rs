//! The input layer of a step on several threads, a phase of its own before the row tasks
//! ([`InputJobs`]): each thread takes the whole batch through its own run of `W1`'s rows,
//! handing each row's sums on to the next run's thread.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::by_pixel::Notes;
use super::state::{LayerState, Shared};
use super::store::{Image, SparseImages, with_values};
use super::team::Team;
use super::tiles::{self, Note, Skip};
use crate::kernels::simd::{Kernel, LANES, Simd, Vector};

/// `out = init + the sum over `image`'s non-zero pixels of value x its row of W`, in pixel
/// order, then the sigmoid if `sigmoid`: one image's input layer, or a run of it. `note`
/// hears of every entry.
///
/// # Safety
/// `image`'s pixels must be below `first.inputs`, and `init` must point at `first.stride`
/// readable floats (b, or `out` itself: it is read whole before `out` is written).
#[inline(always)]
pub(super) unsafe fn input_sums<W: Vector, V: Vector>(
    first: &LayerState,
    image: Image<'_>,
    init: *const f32,
    sigmoid: bool,
    out: &mut [f32],
    note: &mut impl Note,
) {
    assert!(first.w.len() >= first.inputs * first.stride && out.len() >= first.stride);
    // SAFETY: each pixel's row of W holds `stride` floats (asserted above, pixels below
    // `inputs` by the caller); `init` is the caller's, `out` is checked above.
    with_values!(image, |pixels, values| unsafe {
        tiles::gather_rows::<W, V>(
            pixels,
            values,
            first.w.as_ptr(),
            first.stride,
            init,
            first.stride / LANES,
            sigmoid,
            out.as_mut_ptr(),
            note,
        )
    });
}

/// The input layer of a step on several threads, a phase before the row tasks: task q
/// takes every row of the batch, in order, through run q of the pixels (`split`), each
/// row's sums continuing from where task q - 1 left them (`progress` says how many runs a
/// row has been through). So each thread reads only its own run of `W1`, the rows it also
/// updates in the gradient phase, and the sums run in the same order as on one thread.
/// Split over the batch rows instead, each thread would read all of `W1` every step, half
/// of it just written by the other core in the gradient phase.
#[derive(Clone, Copy)]
pub(super) struct InputJobs<'a> {
    pub(super) kernel: Simd,
    pub(super) layers: &'a [LayerState],
    pub(super) data: &'a SparseImages,
    pub(super) images: &'a [usize],
    pub(super) batch: Shared<'a>,
    pub(super) split: &'a [usize],
    pub(super) cuts: Shared<'a, usize>,
    /// Where each entry is noted for the gradient, if anywhere.
    pub(super) notes: Option<Notes<'a>>,
    /// Per row, runs done; all zero when the phase starts.
    pub(super) progress: &'a [AtomicUsize],
    /// Set if a task panicked, so that the tasks waiting for it give up too.
    pub(super) abandoned: &'a AtomicBool,
}

impl InputJobs<'_> {
    /// Runs the phase on `team`, one job per run of pixels, job q meant for thread q.
    ///
    /// Job 0 never waits, and the caller's thread takes it first; a member that has not
    /// joined leaves its job to a thread that finished its own, which takes the leftovers
    /// in order: so the run a job waits for is always being computed or next to be.
    pub(super) fn run(self, team: &Team) {
        let runs = self.split.len() - 1;
        // More runs than threads could leave a thread waiting in its second job for a run
        // that no free thread is left to take.
        assert!(runs <= team.members() + 1 && self.progress.len() >= self.images.len());
        team.run(
            (0..runs).map(|run| InputJob { jobs: self, run }).collect(),
            input_task,
        );
    }
}

/// Run `run` of the input layer for every row of the batch.
struct InputJob<'a> {
    jobs: InputJobs<'a>,
    run: usize,
}

fn input_task(job: InputJob<'_>) {
    job.jobs.kernel.run(job);
}

impl Kernel for InputJob<'_> {
    type Output = ();

    #[inline(always)]
    fn run<W: Vector, V: Vector>(self) {
        input_task_impl::<W, V>(self);
    }
}

/// Marks the phase abandoned if the task holding it unwinds.
struct Abandon<'a>(&'a AtomicBool);

impl Drop for Abandon<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Release);
        }
    }
}

#[inline(always)]
fn input_task_impl<W: Vector, V: Vector>(job: InputJob<'_>) {
    let InputJobs {
        layers,
        data,
        images,
        batch,
        split,
        cuts,
        notes,
        progress,
        abandoned,
        ..
    } = job.jobs;
    let _abandon = Abandon(abandoned);
    let run = job.run;
    let (bounds, runs) = (split.len(), split.len() - 1);
    let first = &layers[0];
    let sigmoid = layers.len() > 1 && run + 1 == runs;
    assert!(first.w.len() >= first.inputs * first.stride && first.b.len() >= first.stride);
    assert!(batch.len >= first.out_at + images.len() * first.stride);
    assert!(cuts.len >= images.len() * bounds);
    if let Some(notes) = notes {
        // SAFETY: this task alone notes the pixels of its run.
        unsafe { notes.clear(split[run]..split[run + 1]) };
    }
    for (r, &img) in images.iter().enumerate() {
        if run == 0 {
            data.prefetch_ahead(images, r);
        } else {
            // The next rows' sums were just written by the task before, on another core:
            // ask for those it has finished, so that their transfer overlaps this row's work.
            let next = progress.iter().enumerate().take(images.len()).skip(r + 1);
            for (ahead, done) in next.take(2) {
                if done.load(Ordering::Relaxed) >= run {
                    let at = first.out_at + ahead * first.stride;
                    tiles::prefetch_floats(batch.ptr_at(at), first.stride);
                }
            }
            let mut spins = 0u32;
            while progress[r].load(Ordering::Acquire) != run {
                assert!(
                    !abandoned.load(Ordering::Acquire),
                    "another input-layer task panicked"
                );
                spins = spins.wrapping_add(1);
                if spins.is_multiple_of(1024) {
                    // The task before may have lost its CPU: let it have ours.
                    std::thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
            }
        }
        // SAFETY: row r's cuts and sums belong to this task from the moment task run - 1
        // released them (the progress load above) until this task releases them below;
        // before and after, no other task touches them (each waits for its own turn).
        let (cut, out) = unsafe {
            (
                cuts.slice(r * bounds, bounds),
                batch.slice(first.out_at + r * first.stride, first.stride),
            )
        };
        let image = data.image(img);
        let pixels = image.pixels();
        let lo = if run == 0 { 0 } else { cut[run] };
        let hi = if run + 1 == runs {
            pixels.len()
        } else {
            // The pixels increase: those of this run are the ones below its upper bound.
            let bound = u16::try_from(split[run + 1]).unwrap_or(u16::MAX);
            lo + pixels[lo..]
                .iter()
                .map(|&p| usize::from(p < bound))
                .sum::<usize>()
        };
        if run == 0 {
            cut[0] = 0;
        }
        cut[run + 1] = hi;
        let init = if run == 0 {
            first.b.as_ptr()
        } else {
            out.as_ptr()
        };
        let image = image.part(lo..hi);
        // SAFETY: as in the row tasks: the pixels are below `inputs`; `init` is b or `out`;
        // this task alone notes the pixels of its run, each once per row (they increase).
        unsafe {
            match notes {
                Some(notes) => {
                    input_sums::<W, V>(first, image, init, sigmoid, out, &mut notes.row(r))
                }
                None => input_sums::<W, V>(first, image, init, sigmoid, out, &mut Skip),
            }
        }
        progress[r].store(run + 1, Ordering::Release);
    }
}
