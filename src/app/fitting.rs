//! The whitening fit in the explorer: asked for when a whitened mode is chosen and no fit is
//! active, made on the worker from the training split with progress, and the mode chosen
//! takes effect only when the fit arrives (so no image is ever shown "whitened" by nothing).

use std::path::PathBuf;
use std::sync::Arc;

use crate::normalize::NormMode;
use crate::whiten::{self, Stage, Whitening};

/// A fit to make on the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FitJob {
    /// Identifies the job; its reports carry it back.
    pub generation: u64,
    /// The folder whose training split is fitted.
    pub data_dir: PathBuf,
}

/// Where the explorer's fit is.
#[derive(Debug, Clone, Default)]
pub enum FitState {
    /// None asked for (or the last one arrived).
    #[default]
    Idle,
    /// The worker is at it.
    Running {
        /// The job.
        generation: u64,
        /// The mode to switch to when it arrives (`None`: the user moved on).
        wanted: Option<NormMode>,
        /// How far it is.
        stage: Option<Stage>,
    },
    /// It cannot be made: the reason, said again whenever a whitened mode is chosen.
    Failed(String),
}

/// The explorer's side of the whitening fit.
#[derive(Debug, Clone, Default)]
pub struct Fitting {
    data_dir: Option<PathBuf>,
    state: FitState,
    next_generation: u64,
}

/// A fit that arrived, now active.
#[derive(Debug, PartialEq)]
pub struct Arrived {
    /// The fit.
    pub fit: Arc<Whitening>,
    /// The mode waiting for it (`None`: the user moved on).
    pub wanted: Option<NormMode>,
}

/// What choosing a whitened mode leads to.
#[derive(Debug, PartialEq, Eq)]
pub enum Want {
    /// The fit is active: switch now.
    Ready,
    /// Wait for the fit (this job starts it, or `None`: it already runs).
    Wait(Option<FitJob>),
    /// No fit can be made: why.
    Unavailable(String),
}

impl Fitting {
    /// A fit of the training split in `dir`.
    pub fn with_data_dir(dir: PathBuf) -> Self {
        Self {
            data_dir: Some(dir),
            ..Self::default()
        }
    }

    /// Where the fit is.
    pub fn state(&self) -> &FitState {
        &self.state
    }

    /// The whitened mode waiting for the fit, if any.
    pub fn wanted(&self) -> Option<NormMode> {
        match self.state {
            FitState::Running { wanted, .. } => wanted,
            _ => None,
        }
    }

    /// `mode` (a whitened one) was chosen for images of `pixels` pixels.
    pub fn want(&mut self, mode: NormMode, pixels: usize) -> Want {
        if whiten::active().is_some_and(|fit| fit.pixels() == pixels) {
            return Want::Ready;
        }
        match &mut self.state {
            FitState::Running { wanted, .. } => {
                *wanted = Some(mode);
                Want::Wait(None)
            }
            FitState::Failed(why) => Want::Unavailable(why.clone()),
            FitState::Idle => {
                let Some(data_dir) = self.data_dir.clone() else {
                    return Want::Unavailable("no data folder to fit the whitening on".into());
                };
                self.next_generation += 1;
                let generation = self.next_generation;
                self.state = FitState::Running {
                    generation,
                    wanted: Some(mode),
                    stage: None,
                };
                Want::Wait(Some(FitJob {
                    generation,
                    data_dir,
                }))
            }
        }
    }

    /// Another mode than a whitened one was chosen: the fit goes on, but switches nothing.
    pub fn unwant(&mut self) {
        if let FitState::Running { wanted, .. } = &mut self.state {
            *wanted = None;
        }
    }

    /// A progress report of job `generation`.
    pub fn on_stage(&mut self, generation: u64, new: Stage) {
        if let FitState::Running {
            generation: g,
            stage,
            ..
        } = &mut self.state
            && *g == generation
        {
            *stage = Some(new);
        }
    }

    /// The end of job `generation`: the fit (made active) and the mode to switch to, or the
    /// fault. Reports of other jobs are ignored (`None`).
    pub fn on_done(
        &mut self,
        generation: u64,
        result: Result<Arc<Whitening>, String>,
    ) -> Option<Result<Arrived, String>> {
        let FitState::Running {
            generation: g,
            wanted,
            ..
        } = self.state
        else {
            return None;
        };
        if g != generation {
            return None;
        }
        Some(match result {
            Ok(fit) => {
                whiten::activate(Arc::clone(&fit));
                self.state = FitState::Idle;
                Ok(Arrived { fit, wanted })
            }
            Err(why) => {
                self.state = FitState::Failed(why.clone());
                Err(why)
            }
        })
    }

    /// One line on the running fit, for the panels: `fitting pca: 35,000/60,000 images`.
    pub fn progress_line(&self) -> Option<String> {
        let FitState::Running { wanted, stage, .. } = &self.state else {
            return None;
        };
        let what = wanted.map_or("whitening".to_string(), |m| m.name().to_string());
        Some(match stage {
            None => format!("fitting {what}: reading the training split"),
            Some(Stage::Covariance { done, total }) => format!(
                "fitting {what}: covariance {}/{}",
                crate::percent::thousands(*done as u64),
                crate::percent::thousands(*total as u64)
            ),
            Some(Stage::Eigen) => format!("fitting {what}: eigendecomposition"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Dataset;

    /// A fit of images of 5x3 pixels, a size no other test's data has (the active fit is
    /// shared by the whole test process).
    fn odd_fit() -> Arc<Whitening> {
        let pixels: Vec<u8> = (0..40 * 15)
            .map(|i| ((i * 37 + i / 15 * 11) % 256) as u8)
            .collect();
        let data = Dataset::from_parts(pixels, vec![0; 40], 5, 3).unwrap();
        Arc::new(Whitening::fit(&data, |_| true).unwrap())
    }

    #[test]
    fn a_whitened_mode_waits_for_one_fit_and_takes_effect_when_it_arrives() {
        let mut fitting = Fitting::with_data_dir(PathBuf::from("data"));
        let Want::Wait(Some(job)) = fitting.want(NormMode::Pca, 15) else {
            panic!("the first choice starts a fit");
        };
        assert_eq!(
            fitting.want(NormMode::Zca, 15),
            Want::Wait(None),
            "one fit at a time"
        );
        assert_eq!(
            fitting.wanted(),
            Some(NormMode::Zca),
            "the latest choice waits"
        );
        fitting.on_stage(job.generation, Stage::Eigen);
        assert_eq!(
            fitting.progress_line().as_deref(),
            Some("fitting zca: eigendecomposition")
        );

        let fit = odd_fit();
        assert!(
            fitting
                .on_done(job.generation + 1, Ok(Arc::clone(&fit)))
                .is_none(),
            "another job's report changes nothing"
        );
        assert_eq!(fitting.wanted(), Some(NormMode::Zca));
        let done = fitting.on_done(job.generation, Ok(Arc::clone(&fit)));
        assert_eq!(
            done,
            Some(Ok(Arrived {
                fit: Arc::clone(&fit),
                wanted: Some(NormMode::Zca)
            }))
        );
        assert!(
            whiten::active().is_some_and(|a| a.pixels() == 15),
            "made active"
        );
        assert_eq!(fitting.want(NormMode::Pca, 15), Want::Ready);
        assert!(fitting.progress_line().is_none());
    }

    #[test]
    fn moving_on_keeps_the_fit_running_but_switches_nothing() {
        let mut fitting = Fitting::with_data_dir(PathBuf::from("data"));
        let Want::Wait(Some(job)) = fitting.want(NormMode::Pca, 16) else {
            panic!("a fit starts");
        };
        fitting.unwant();
        assert_eq!(fitting.wanted(), None);
        let done = fitting.on_done(job.generation, Err("no training split".into()));
        assert_eq!(done, Some(Err("no training split".into())));
        assert_eq!(
            fitting.want(NormMode::Zca, 16),
            Want::Unavailable("no training split".into()),
            "a failed fit is not tried again for every key press"
        );
    }

    #[test]
    fn without_a_data_folder_the_whitenings_are_unavailable() {
        let mut fitting = Fitting::default();
        assert!(matches!(
            fitting.want(NormMode::Pca, 17),
            Want::Unavailable(_)
        ));
    }
}
