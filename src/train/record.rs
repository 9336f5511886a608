//! What a trained network's weights file records of its training: the normalization, the
//! command that makes the same network again, the settings and the test accuracy reached.

use serde_json::{Map, Value};

use super::TrainConfig;
use crate::weights::Record;

impl TrainConfig {
    /// The `mnist-explorer train` command line that runs this training, every setting
    /// spelled out (the output file and the threads left out: they do not change the
    /// weights).
    pub fn command_line(&self) -> String {
        let hidden: Vec<String> = self.hidden.iter().map(ToString::to_string).collect();
        format!(
            "mnist-explorer train --hidden {} --epochs {} --batch-size {} --optimizer {} \
             --lr {} --schedule {} --norm {} --seed {}",
            hidden.join(","),
            self.epochs,
            self.batch_size,
            self.optimizer.name(),
            self.lr,
            self.schedule.name(),
            self.norm.name(),
            self.seed
        )
    }

    /// The record a weights file of this training carries: its normalization, its command
    /// line, its settings, and the test accuracy reached (if a test split was evaluated).
    pub fn record(&self, test_accuracy: Option<f64>) -> Record {
        self.record_after(self.epochs, test_accuracy)
    }

    /// The record of this training's network after its first `epochs_done` epochs: as
    /// [`record`](Self::record), plus `epochs_done` when the run was not finished (the
    /// explorer writes a network mid-run).
    pub fn record_after(&self, epochs_done: usize, test_accuracy: Option<f64>) -> Record {
        let mut details = Map::new();
        if epochs_done < self.epochs {
            details.insert("epochs_done".into(), Value::from(epochs_done));
        }
        details.insert("command".into(), Value::from(self.command_line()));
        details.insert(
            "config".into(),
            serde_json::to_value(self).unwrap_or(Value::Null),
        );
        if let Some(accuracy) = test_accuracy {
            details.insert("test_accuracy".into(), Value::from(accuracy));
        }
        Record::new(self.norm, details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::NormMode;
    use crate::train::{Optimizer, Schedule};

    #[test]
    fn the_record_names_the_mode_and_the_command_that_makes_the_network_again() {
        let config = TrainConfig {
            hidden: vec![50, 100],
            epochs: 40,
            batch_size: 100,
            lr: 0.03,
            optimizer: Optimizer::Adam,
            schedule: Schedule::Cosine,
            norm: NormMode::L1,
            seed: 1,
        };
        let record = config.record(Some(0.9766));
        assert_eq!(record.norm(), NormMode::L1);
        assert_eq!(
            record.get("command"),
            Some(Value::from(
                "mnist-explorer train --hidden 50,100 --epochs 40 --batch-size 100 \
                 --optimizer adam --lr 0.03 --schedule cosine --norm l1 --seed 1"
            ))
        );
        assert_eq!(record.get("test_accuracy"), Some(Value::from(0.9766)));
        let settings = record.get("config").unwrap();
        assert_eq!(
            settings["lr"],
            Value::from(0.03),
            "the shortest form of 0.03f32"
        );
        assert_eq!(settings["hidden"], serde_json::json!([50, 100]));
        assert!(config.record(None).get("test_accuracy").is_none());
        assert!(record.get("epochs_done").is_none());
        let early = config.record_after(3, Some(0.9));
        assert_eq!(early.get("epochs_done"), Some(Value::from(3)));
        assert_eq!(early.get("command"), record.get("command"));
    }
}
