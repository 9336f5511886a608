//! The train × test table: one network per normalization mode, found beside a weights file,
//! each evaluated under every mode, so that a learner reads off that a network must be fed
//! what it was trained on. [`run`] does the work and reports it event by event; [`Matrix`]
//! collects the events, for `eval --matrix` and the explorer alike.

use std::path::{Path, PathBuf};

use crate::dataset::{Dataset, NUM_CLASSES};
use crate::eval::{Tally, evaluate};
use crate::layer::OutputLayer;
use crate::network::Network;
use crate::normalize::NormMode;
use crate::weights::{self, WeightsError};

/// One network of the family: the mode its row stands for and the file it is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The mode the network was trained on (its row).
    pub trained: NormMode,
    /// Its weights file.
    pub path: PathBuf,
}

/// The networks of the family of `weights`, one per mode in [`NormMode::PER_IMAGE`]'s order:
/// `weights` itself for the mode it was trained on (`trained_on`, div255 when unknown), and
/// for each other mode `<stem>-<mode>.npz` in the same folder, where `<stem>` is the file's
/// name less `.npz` and less a `-<mode>` suffix (so any member finds the others). The div255
/// row of a family whose `weights` is another mode's is `<stem>.npz`, the default file's name.
pub fn members(weights: &Path, trained_on: Option<NormMode>) -> Vec<Member> {
    let own = trained_on.unwrap_or_default();
    let name = weights
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.strip_suffix(".npz").unwrap_or(&name);
    let stem = NormMode::PER_IMAGE
        .iter()
        .find_map(|mode| stem.strip_suffix(&format!("-{}", mode.name())))
        .unwrap_or(stem);
    let folder = weights.parent().unwrap_or(Path::new(""));
    NormMode::PER_IMAGE
        .into_iter()
        .map(|mode| Member {
            trained: mode,
            path: if mode == own {
                weights.to_path_buf()
            } else if mode == NormMode::Div255 {
                folder.join(format!("{stem}.npz"))
            } else {
                folder.join(format!("{stem}-{}.npz", mode.name()))
            },
        })
        .collect()
}

/// Why a row of the table has no numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowFault {
    /// No file at the member's path: the family lacks that mode's network.
    Missing,
    /// The file is there but cannot be used; the message names it and the fault.
    Invalid(String),
}

/// What [`run`] reports, in order: each row's file read (or not), then its cells.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A member's file was read: the mode its record names (which may differ from the row's,
    /// `None` without a record), or why there is no network.
    Row {
        /// The row.
        trained: NormMode,
        /// The recorded mode, or the fault.
        outcome: Result<Option<NormMode>, RowFault>,
    },
    /// One network evaluated under one mode over the whole split.
    Cell {
        /// The row: what the network was trained on.
        trained: NormMode,
        /// The column: what it was fed.
        evaluated: NormMode,
        /// Correct predictions, per class and in all.
        tally: Box<Tally>,
    },
}

/// Reads each member's network (checking that it fits `data`) and evaluates it on `data`
/// under every mode in [`NormMode::PER_IMAGE`]'s order, `batch_size` images a pass, telling `on`
/// of each row and cell. Stops early, between batches, when `on` or `keep_going` says so;
/// returns whether it went to the end.
pub fn run(
    members: &[Member],
    data: &Dataset,
    batch_size: usize,
    keep_going: &dyn Fn() -> bool,
    on: &mut dyn FnMut(Event) -> bool,
) -> bool {
    for member in members {
        let loaded = read(member, data);
        let outcome = loaded
            .as_ref()
            .map(|(_, recorded)| *recorded)
            .map_err(Clone::clone);
        if !keep_going()
            || !on(Event::Row {
                trained: member.trained,
                outcome,
            })
        {
            return false;
        }
        let Ok((net, _)) = loaded else {
            continue;
        };
        for evaluated in NormMode::PER_IMAGE {
            let (tally, _) = evaluate(
                &net,
                data,
                evaluated,
                batch_size,
                OutputLayer::Softmax,
                |_| keep_going(),
            );
            if !keep_going() {
                return false;
            }
            let cell = Event::Cell {
                trained: member.trained,
                evaluated,
                tally: Box::new(tally),
            };
            if !on(cell) {
                return false;
            }
        }
    }
    true
}

/// Reads a member's network and its recorded mode, checking that it fits `data`.
fn read(member: &Member, data: &Dataset) -> Result<(Network, Option<NormMode>), RowFault> {
    let loaded = weights::load(&member.path).map_err(|e| match &e {
        WeightsError::Io { error, .. } if error.kind() == std::io::ErrorKind::NotFound => {
            RowFault::Missing
        }
        _ => RowFault::Invalid(e.to_string()),
    })?;
    let recorded = loaded.trained_on();
    loaded
        .network
        .check_fits(data.pixels_per_image(), NUM_CLASSES)
        .map_err(|fault| RowFault::Invalid(format!("{}: {fault}", member.path.display())))?;
    Ok((loaded.network, recorded))
}

/// Where a row is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowState {
    /// Its file has not been read yet.
    Pending,
    /// Read: the mode the file records (`None`: no record).
    Read(Option<NormMode>),
    /// No network: missing or unusable.
    Failed(RowFault),
}

/// One row of the table: a network trained on one mode, under every mode.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The member it stands for.
    pub member: Member,
    /// Whether its file was read.
    pub state: RowState,
    /// Accuracy under each mode of [`NormMode::PER_IMAGE`], as far as evaluated.
    pub accuracy: [Option<f64>; 6],
}

/// The table as far as it is known: a row per member, filled by [`Event`]s.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// The rows, in the members' order.
    pub rows: Vec<Row>,
}

impl Matrix {
    /// An empty table of `members`.
    pub fn new(members: &[Member]) -> Self {
        Self {
            rows: members
                .iter()
                .map(|member| Row {
                    member: member.clone(),
                    state: RowState::Pending,
                    accuracy: [None; 6],
                })
                .collect(),
        }
    }

    /// Enters what `event` reports.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::Row { trained, outcome } => {
                if let Some(row) = self.row_mut(*trained) {
                    row.state = match outcome {
                        Ok(recorded) => RowState::Read(*recorded),
                        Err(fault) => RowState::Failed(fault.clone()),
                    };
                }
            }
            Event::Cell {
                trained,
                evaluated,
                tally,
            } => {
                if let Some(row) = self.row_mut(*trained) {
                    row.accuracy[column(*evaluated)] = Some(tally.accuracy());
                }
            }
        }
    }

    /// The row of networks trained on `trained`.
    pub fn row(&self, trained: NormMode) -> Option<&Row> {
        self.rows.iter().find(|r| r.member.trained == trained)
    }

    fn row_mut(&mut self, trained: NormMode) -> Option<&mut Row> {
        self.rows.iter_mut().find(|r| r.member.trained == trained)
    }

    /// Cells filled so far, and cells there will be (six per row whose network was read or
    /// is still to be read).
    pub fn progress(&self) -> (usize, usize) {
        let filled = self
            .rows
            .iter()
            .map(|r| r.accuracy.iter().flatten().count())
            .sum();
        let wanted = self
            .rows
            .iter()
            .filter(|r| !matches!(r.state, RowState::Failed(_)))
            .count()
            * NormMode::PER_IMAGE.len();
        (filled, wanted)
    }
}

/// The column of `mode`: its place in [`NormMode::PER_IMAGE`].
pub fn column(mode: NormMode) -> usize {
    NormMode::PER_IMAGE
        .iter()
        .position(|&m| m == mode)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_family_is_found_from_the_default_file_or_any_member() {
        let names = |path: &str, trained_on| -> Vec<String> {
            members(Path::new(path), trained_on)
                .into_iter()
                .map(|m| m.path.display().to_string())
                .collect()
        };
        let family = [
            "w/net-raw.npz",
            "w/net.npz",
            "w/net-l1.npz",
            "w/net-l2.npz",
            "w/net-max.npz",
            "w/net-zscore.npz",
        ];
        assert_eq!(names("w/net.npz", None), family, "unrecorded: div255");
        assert_eq!(names("w/net.npz", Some(NormMode::Div255)), family);
        assert_eq!(names("w/net-l1.npz", Some(NormMode::L1)), family);
        // A file whose record disagrees with its name stands in its recorded row.
        let odd = names("w/net-l1.npz", Some(NormMode::L2));
        assert_eq!(odd[3], "w/net-l1.npz");
        assert_eq!(odd[2], "w/net-l1.npz", "the name's row keeps its name");
        assert_eq!(names("b.npz", None)[0], "b-raw.npz", "the working folder");
        let rows: Vec<NormMode> = members(Path::new("x.npz"), None)
            .iter()
            .map(|m| m.trained)
            .collect();
        assert_eq!(rows, NormMode::PER_IMAGE);
    }

    #[test]
    fn events_fill_the_table_and_failed_rows_want_no_cells() {
        let members = members(Path::new("net.npz"), None);
        let mut matrix = Matrix::new(&members);
        assert_eq!(matrix.progress(), (0, 36));
        matrix.apply(&Event::Row {
            trained: NormMode::L1,
            outcome: Err(RowFault::Missing),
        });
        matrix.apply(&Event::Row {
            trained: NormMode::Raw,
            outcome: Ok(Some(NormMode::Raw)),
        });
        let mut tally = Tally::default();
        tally.push(&[1, 2, 3, 4], &[1, 2, 3, 5]);
        matrix.apply(&Event::Cell {
            trained: NormMode::Raw,
            evaluated: NormMode::L2,
            tally: Box::new(tally),
        });
        assert_eq!(matrix.progress(), (1, 30));
        let raw = matrix.row(NormMode::Raw).unwrap();
        assert_eq!(raw.accuracy[column(NormMode::L2)], Some(0.75));
        assert_eq!(raw.state, RowState::Read(Some(NormMode::Raw)));
        assert_eq!(
            matrix.row(NormMode::L1).unwrap().state,
            RowState::Failed(RowFault::Missing)
        );
    }
}
