//! The network view's slow numbers: the occlusion map of an image, the batch lesson and the
//! softmax-against-identity timing. The view asks the worker for what it lacks (one job per
//! kind at a time, each tagged with a generation), keeps every result by what it was computed
//! for, and drops reports of jobs it no longer waits for; so reopening the view, or coming
//! back to an image, shows what was already computed without computing it again.

use std::collections::HashMap;
use std::sync::Arc;

use crate::app::shared::Shared;
use crate::app::worker::{BatchPoint, ImageJob, Job, JobKind, OutputTiming, TimingJob, WorkerMsg};
use crate::normalize::NormMode;
use crate::occlusion::OcclusionMap;
use crate::timing::{LESSON_BATCHES, PassPath};

/// Most occlusion maps kept; past it the cache starts again (each is a few hundred floats,
/// so this only bounds a very long session).
const MAX_MAPS: usize = 512;

/// The normalization the batch lesson runs under: the book's `x / 255`.
pub const LESSON_NORM: NormMode = NormMode::Div255;

/// Where a slow number is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Measured<'a, T> {
    /// Computed.
    Ready(&'a T),
    /// Asked of the worker, not here yet (or not asked yet: the view asks at once).
    Pending,
    /// The worker failed with this message.
    Failed(&'a str),
}

/// The batch lesson's points so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchChart {
    /// Each measured (path, batch size), in the order they came.
    pub points: Vec<BatchPoint>,
    /// Every point is in.
    pub finished: bool,
}

impl BatchChart {
    /// The point of `path` at `batch_size`, once measured.
    pub fn point(&self, path: PassPath, batch_size: usize) -> Option<&BatchPoint> {
        self.points
            .iter()
            .find(|p| p.path == path && p.batch_size == batch_size)
    }

    /// Whether every path has every batch size of the lesson.
    pub fn complete(&self) -> bool {
        PassPath::ALL.iter().all(|&path| {
            LESSON_BATCHES
                .iter()
                .all(|&b| self.point(path, b).is_some())
        })
    }
}

/// What the job of one kind was asked for.
#[derive(Debug, Clone, PartialEq)]
struct Asked<K> {
    key: K,
    generation: u64,
    failed: Option<String>,
}

/// The slow numbers, computed and asked for.
#[derive(Debug, Clone, Default)]
pub struct Measures {
    next_generation: u64,
    maps: HashMap<(usize, NormMode), OcclusionMap>,
    map_asked: Option<Asked<(usize, NormMode)>>,
    chart: Option<BatchChart>,
    chart_asked: Option<Asked<()>>,
    outputs: HashMap<(NormMode, usize), OutputTiming>,
    output_asked: Option<Asked<(NormMode, usize)>>,
}

impl Measures {
    /// The occlusion map of image `index` under `norm`.
    pub fn occlusion(&self, index: usize, norm: NormMode) -> Measured<'_, OcclusionMap> {
        let key = (index, norm);
        match self.maps.get(&key) {
            Some(map) => Measured::Ready(map),
            None => failed(&self.map_asked, &key),
        }
    }

    /// The batch lesson, complete or as far as it got (`Pending` before its first point).
    pub fn batch_chart(&self) -> Measured<'_, BatchChart> {
        match &self.chart {
            Some(chart) if !chart.points.is_empty() => Measured::Ready(chart),
            _ => failed(&self.chart_asked, &()),
        }
    }

    /// Whether the batch lesson is being measured now.
    pub fn chart_running(&self) -> bool {
        let asked = self
            .chart_asked
            .as_ref()
            .is_some_and(|a| a.failed.is_none());
        asked && !self.chart.as_ref().is_some_and(|c| c.finished)
    }

    /// The softmax-against-identity timing under `norm` at `batch_size`.
    pub fn output_timing(&self, norm: NormMode, batch_size: usize) -> Measured<'_, OutputTiming> {
        let key = (norm, batch_size);
        match self.outputs.get(&key) {
            Some(t) => Measured::Ready(t),
            None => failed(&self.output_asked, &key),
        }
    }

    /// Forgets the timings so that they are measured again (the occlusion maps stay: they do
    /// not depend on the machine's mood).
    pub fn forget_timings(&mut self) {
        self.chart = None;
        self.chart_asked = None;
        self.outputs.clear();
        self.output_asked = None;
    }

    /// Forgets everything measured, for another network (the generations go on counting, so
    /// that a late report of the old network's jobs is still dropped).
    pub fn forget_all(&mut self) {
        self.forget_timings();
        self.maps.clear();
        self.map_asked = None;
    }

    /// The jobs that compute what the view shows for `shared`'s image and settings and is
    /// neither computed nor asked for yet.
    pub fn wanted(&mut self, shared: &Shared) -> Vec<Job> {
        let mut jobs = Vec::new();
        let map_key = (shared.index(), shared.norm());
        if !self.maps.contains_key(&map_key) && !asked_for(&self.map_asked, &map_key) {
            let generation = self.generation();
            self.map_asked = Some(Asked {
                key: map_key,
                generation,
                failed: None,
            });
            jobs.push(Job::Occlusion(ImageJob {
                generation,
                data: Arc::clone(&shared.data),
                net: Arc::clone(&shared.net),
                index: map_key.0,
                norm: map_key.1,
            }));
        }
        if self.chart.is_none() && self.chart_asked.is_none() {
            let generation = self.generation();
            self.chart_asked = Some(Asked {
                key: (),
                generation,
                failed: None,
            });
            self.chart = Some(BatchChart::default());
            jobs.push(Job::BatchTiming(timing_job(
                shared,
                generation,
                LESSON_NORM,
            )));
        }
        let output_key = (shared.norm(), shared.batch_size());
        if !self.outputs.contains_key(&output_key) && !asked_for(&self.output_asked, &output_key) {
            let generation = self.generation();
            self.output_asked = Some(Asked {
                key: output_key,
                generation,
                failed: None,
            });
            jobs.push(Job::OutputTiming(timing_job(
                shared,
                generation,
                output_key.0,
            )));
        }
        jobs
    }

    /// Applies a report of one of the view's jobs; returns the message of a failed one.
    /// Reports of any job but the latest of its kind are dropped.
    pub fn on_worker(&mut self, report: WorkerMsg) -> Option<String> {
        let generation = report.generation();
        let map_current = is_current(&self.map_asked, generation);
        let chart_current = is_current(&self.chart_asked, generation);
        let output_current = is_current(&self.output_asked, generation);
        match report {
            WorkerMsg::Occluded {
                index, norm, map, ..
            } if map_current => {
                if self.maps.len() >= MAX_MAPS {
                    self.maps.clear();
                }
                self.maps.insert((index, norm), *map);
            }
            WorkerMsg::BatchTimed { point, .. } if chart_current => {
                if let Some(chart) = &mut self.chart {
                    chart.points.push(point);
                }
            }
            WorkerMsg::BatchTimingFinished { .. } if chart_current => {
                if let Some(chart) = &mut self.chart {
                    chart.finished = true;
                }
            }
            WorkerMsg::OutputTimed { timing, .. } if output_current => {
                self.outputs
                    .insert((timing.norm, timing.batch_size), *timing);
            }
            WorkerMsg::Failed { kind, message, .. } => {
                let slot = match kind {
                    JobKind::Occlusion if map_current => {
                        self.map_asked.as_mut().map(|a| &mut a.failed)
                    }
                    JobKind::BatchTiming if chart_current => {
                        self.chart_asked.as_mut().map(|a| &mut a.failed)
                    }
                    JobKind::OutputTiming if output_current => {
                        self.output_asked.as_mut().map(|a| &mut a.failed)
                    }
                    _ => None,
                };
                if let Some(slot) = slot {
                    *slot = Some(message.clone());
                    return Some(message);
                }
            }
            _ => {}
        }
        None
    }

    fn generation(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }
}

/// Whether `generation` is the latest job of a kind.
fn is_current<K>(asked: &Option<Asked<K>>, generation: u64) -> bool {
    asked.as_ref().is_some_and(|a| a.generation == generation)
}

/// Whether the latest job of a kind was asked for `key` (running, done or failed: a failed
/// one is not asked again until the key changes).
fn asked_for<K: PartialEq>(asked: &Option<Asked<K>>, key: &K) -> bool {
    asked.as_ref().is_some_and(|a| a.key == *key)
}

/// `Failed` if the latest job of a kind failed on `key`, else `Pending`.
fn failed<'a, K: PartialEq, T>(asked: &'a Option<Asked<K>>, key: &K) -> Measured<'a, T> {
    match asked {
        Some(Asked {
            key: k,
            failed: Some(message),
            ..
        }) if k == key => Measured::Failed(message),
        _ => Measured::Pending,
    }
}

fn timing_job(shared: &Shared, generation: u64, norm: NormMode) -> TimingJob {
    TimingJob {
        generation,
        data: Arc::clone(&shared.data),
        net: Arc::clone(&shared.net),
        norm,
        batch_size: shared.batch_size(),
    }
}
