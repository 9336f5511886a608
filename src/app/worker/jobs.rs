//! What each kind of job does on its lane (the lanes, the messages and the dispatch are in
//! the parent module).

use std::sync::Arc;
use std::time::Instant;

use super::{
    BatchPoint, Cancel, EvalJob, FitJob, ImageJob, JobKind, LoadJob, MatrixJob, OutputTiming,
    Progress, TimingJob, WorkerMsg,
};
use crate::analysis::{Rankings, verdicts};
use crate::dataset::{Dataset, Split};
use crate::eval::{Tally, evaluate};
use crate::layer::OutputLayer;
use crate::mode_matrix;
use crate::network::Network;
use crate::normalize::NormMode;
use crate::occlusion::{PATCH, STRIDE, occlusion_map};
use crate::timing::{self, LESSON_BATCHES, LESSON_IMAGES, PassPath};
use crate::whiten::{FitError, Whitening};

/// Reads and evaluates the family's networks, one message per row and cell, checking for
/// cancellation between batches.
pub(super) fn run_mode_matrix(
    job: &MatrixJob,
    cancel: &Cancel<'_>,
    send: &dyn Fn(WorkerMsg) -> bool,
) -> bool {
    let mut listening = true;
    let done = mode_matrix::run(
        &job.members,
        &job.data,
        job.batch_size,
        &|| !cancel.cancelled(),
        &mut |event| {
            listening = send(WorkerMsg::Matrix {
                generation: job.generation,
                event: Box::new(event),
            });
            listening
        },
    );
    if !done || cancel.cancelled() {
        return listening;
    }
    send(WorkerMsg::MatrixDone {
        generation: job.generation,
    })
}

/// Reads the training split and fits the whitening on it, reporting each stage and checking
/// for cancellation between them.
pub(super) fn run_fit(job: &FitJob, cancel: &Cancel<'_>, send: &dyn Fn(WorkerMsg) -> bool) -> bool {
    let generation = job.generation;
    let train = match Dataset::load(&job.data_dir, Split::Train) {
        Ok(train) => train,
        Err(e) => {
            return send(WorkerMsg::Fitted {
                generation,
                result: Err(format!("reading the training split: {e}")),
            });
        }
    };
    let mut listening = true;
    let fit = Whitening::fit(&train, |stage| {
        listening = send(WorkerMsg::FitStage { generation, stage });
        listening && !cancel.cancelled()
    });
    match fit {
        Err(FitError::Cancelled) => listening,
        result => send(WorkerMsg::Fitted {
            generation,
            result: result.map(Arc::new).map_err(|e| e.to_string()),
        }),
    }
}

/// Reads the network of `job` and checks that it fits the data.
pub(super) fn load(job: &LoadJob) -> Result<(Arc<Network>, Option<NormMode>), String> {
    let loaded = crate::weights::load(&job.path).map_err(|e| e.to_string())?;
    let trained_on = loaded.trained_on();
    let net = loaded.network;
    net.check_fits(job.inputs, job.classes)
        .map_err(|fault| format!("{}: {fault}", job.path.display()))?;
    Ok((Arc::new(net), trained_on))
}

/// Computes the occlusion map of the job's image for its true label, checking for
/// cancellation after each row of patch positions.
pub(super) fn run_occlusion(
    job: &ImageJob,
    cancel: &Cancel<'_>,
    send: &dyn Fn(WorkerMsg) -> bool,
) -> bool {
    let data = &job.data;
    let class = usize::from(data.label(job.index));
    let map = occlusion_map(
        &job.net,
        data.image(job.index),
        (data.rows(), data.cols()),
        job.norm,
        class,
        PATCH,
        STRIDE,
        |_, _| !cancel.cancelled(),
    );
    match map {
        Some(map) if !cancel.cancelled() => send(WorkerMsg::Occluded {
            generation: job.generation,
            index: job.index,
            norm: job.norm,
            map: Box::new(map),
        }),
        // Replaced: nothing more to say, and the UI is presumably still listening.
        _ => true,
    }
}

/// Times a pass over the first [`LESSON_IMAGES`] images at every batch size of the lesson,
/// through the matrix product and then through the fast kernels, one message per point.
pub(super) fn run_batch_timing(
    job: &TimingJob,
    cancel: &Cancel<'_>,
    send: &dyn Fn(WorkerMsg) -> bool,
) -> bool {
    let data = match timing::first(&job.data, LESSON_IMAGES) {
        Ok(data) => data,
        Err(e) => {
            return send(WorkerMsg::Failed {
                kind: JobKind::BatchTiming,
                generation: job.generation,
                message: e.to_string(),
            });
        }
    };
    let keep_going = || !cancel.cancelled();
    // The matrix product first: its passes take seconds in all, by which time the jobs the
    // view started at the same moment (the softmax timing, the occlusion map) are done and
    // no longer share the two cores with the fast passes, which last milliseconds and are
    // the most easily disturbed.
    let points = [PassPath::Reference, PassPath::Fast]
        .into_iter()
        .flat_map(|path| {
            LESSON_BATCHES
                .iter()
                .rev()
                .map(move |&batch_size| (path, batch_size))
        });
    for (path, batch_size) in points {
        let measured = timing::timed(data.len(), || {
            timing::pass(
                &job.net,
                &data,
                job.norm,
                batch_size,
                OutputLayer::Softmax,
                path,
                &keep_going,
            )
        });
        let Some((time, _)) = measured else {
            return true;
        };
        if cancel.cancelled() {
            return true;
        }
        let point = BatchPoint {
            path,
            batch_size,
            time,
        };
        if !send(WorkerMsg::BatchTimed {
            generation: job.generation,
            point,
        }) {
            return false;
        }
    }
    send(WorkerMsg::BatchTimingFinished {
        generation: job.generation,
    })
}

/// Times whole-split passes with softmax and with identity output, taking turns, and checks
/// that they predict alike.
pub(super) fn run_output_timing(
    job: &TimingJob,
    cancel: &Cancel<'_>,
    send: &dyn Fn(WorkerMsg) -> bool,
) -> bool {
    let keep_going = || !cancel.cancelled();
    let pass = |output| {
        timing::pass(
            &job.net,
            &job.data,
            job.norm,
            job.batch_size,
            output,
            PassPath::Fast,
            &keep_going,
        )
    };
    let measured = timing::timed_each(
        job.data.len(),
        &mut [&mut || pass(OutputLayer::Softmax), &mut || {
            pass(OutputLayer::Identity)
        }],
    );
    let Some([(softmax, with_softmax), (identity, with_identity)]) =
        measured.and_then(|m| <[_; 2]>::try_from(m).ok())
    else {
        return true;
    };
    if cancel.cancelled() {
        return true;
    }
    send(WorkerMsg::OutputTimed {
        generation: job.generation,
        timing: Box::new(OutputTiming {
            norm: job.norm,
            batch_size: job.batch_size,
            softmax,
            identity,
            same_predictions: with_softmax == with_identity,
        }),
    })
}

/// Evaluates the whole split, one message per batch, then [`WorkerMsg::Ranked`] and
/// [`WorkerMsg::Finished`].
pub(super) fn run_evaluation(
    job: &EvalJob,
    cancel: &Cancel<'_>,
    send: &dyn Fn(WorkerMsg) -> bool,
) -> bool {
    let start = Instant::now();
    let labels = job.data.labels();
    let mut listening = true;
    let mut all_verdicts = Vec::with_capacity(job.data.len());
    let (_, predictions) = evaluate(
        &job.net,
        &job.data,
        job.norm,
        job.batch_size,
        job.output,
        |done| {
            if cancel.cancelled() {
                return false;
            }
            let labels = &labels[done.range.clone()];
            let mut batch = Tally::default();
            batch.push(labels, done.predictions);
            let verdicts = verdicts(done.outputs, labels, job.output);
            all_verdicts.extend_from_slice(&verdicts);
            listening = send(WorkerMsg::Progress(Box::new(Progress {
                generation: job.generation,
                range: done.range.clone(),
                predictions: done.predictions.to_vec(),
                verdicts,
                batch,
                elapsed: start.elapsed(),
            })));
            listening
        },
    );
    if !listening || cancel.cancelled() {
        return listening;
    }
    let rankings = Arc::new(Rankings::new(&all_verdicts, &predictions, labels));
    if cancel.cancelled() {
        return true;
    }
    if !send(WorkerMsg::Ranked {
        generation: job.generation,
        rankings,
    }) {
        return false;
    }
    send(WorkerMsg::Finished {
        generation: job.generation,
        elapsed: start.elapsed(),
    })
}
