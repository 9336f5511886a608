//! The training view as a learner meets it: the form and a run's panels drawn into ratatui's
//! `TestBackend` from states reached through `update` alone (the worker's reports fed by the
//! test with fixed figures, so every run draws the same), and the explorer's training
//! against the `train` command's: the same weights, bit for bit.

mod common;

use common::{render, rows, shows};

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::mpsc::channel;
use std::time::Duration;

use mnist_explorer::app::evaluations::EvalKey;
use mnist_explorer::app::msg::{Cmd, Msg};
use mnist_explorer::app::shared::Palette;
use mnist_explorer::app::state::AppState;
use mnist_explorer::app::training::{LossPoint, Splits, TrainJob, TrainProgress};
use mnist_explorer::app::views::{ViewId, train};
use mnist_explorer::app::worker::{EvalJob, Job, Progress, Worker, WorkerMsg};
use mnist_explorer::dataset::{Dataset, Split};
use mnist_explorer::eval::{Tally, evaluate};
use mnist_explorer::layer::OutputLayer;
use mnist_explorer::network::Network;
use mnist_explorer::normalize::NormMode;
use mnist_explorer::train::{BatchProgress, EpochReport, TrainConfig};
use ratatui::layout::Rect;

/// The explorer on the shipped test split with the centroid network, as `app::run` makes it.
fn explorer(palette: Palette) -> (AppState, EvalJob) {
    let data = Arc::new(common::test_split());
    let net = Arc::new(common::centroid_network(&data, 2000));
    let key = EvalKey {
        norm: NormMode::Div255,
        batch_size: 1000,
        output: OutputLayer::Softmax,
    };
    let (state, cmd) = AppState::new(data, net, Split::Test, palette, key, 1);
    let Cmd::Submit(Job::Evaluate(job)) = cmd else {
        panic!("the first evaluation starts")
    };
    let state = state
        .with_data_dir(common::data_dir())
        .with_label("loaded network · centroids.npz".into());
    (state, job)
}

fn train_msg(state: &mut AppState, msg: train::Msg) -> Cmd {
    state.update(Msg::Train(msg))
}

/// Opens the view, types `epochs` into the form and starts the run; returns its job.
fn start_run(state: &mut AppState, epochs: usize) -> TrainJob {
    state.update(Msg::Open(ViewId::Train));
    train_msg(state, train::Msg::Select(4));
    for (i, c) in epochs.to_string().chars().enumerate() {
        let key = if i == 0 {
            train::EditKey::Begin(Some(c))
        } else {
            train::EditKey::Type(c)
        };
        train_msg(state, train::Msg::Edit(key));
    }
    train_msg(state, train::Msg::Edit(train::EditKey::Accept));
    match train_msg(state, train::Msg::Enter) {
        Cmd::Submit(Job::Train(job)) => job,
        other => panic!("Enter starts the run, got {other:?}"),
    }
}

/// A made-up loss curve: steep in the first epoch, then slowly lower.
fn loss_at(epochs: f64) -> f64 {
    2.3 * (-4.0 * epochs).exp() + 0.3 / (1.0 + epochs)
}

/// The figures of made-up epoch `e`.
fn report(e: usize) -> EpochReport {
    EpochReport {
        epoch: e,
        train_loss: 0.6 / e as f64,
        train_accuracy: 0.85 + 0.02 * e as f64,
        test_accuracy: Some(0.9 + 0.01 * e as f64),
        seconds: 0.15,
    }
}

/// What the worker would report of `job` through epoch `epochs` and `steps` steps of the
/// next (600 steps an epoch, 100 images each, reported every 100 steps; a point every 10;
/// each epoch takes 0.2 s). Each epoch's weights are `weights`.
fn feed_run(
    state: &mut AppState,
    job: &TrainJob,
    epochs: usize,
    steps: usize,
    weights: &Arc<Network>,
) {
    let generation = job.generation;
    let data = Arc::clone(&state.shared().data);
    state.update(Msg::Worker(WorkerMsg::TrainLoaded {
        generation,
        splits: Splits {
            train: Arc::clone(&data),
            test: data,
        },
    }));
    let batch = |epoch: usize, step: usize| {
        let points = (step.saturating_sub(99)..=step)
            .filter(|s| s % 10 == 0)
            .map(|s| {
                let at = (epoch - 1) as f64 + s as f64 / 600.0;
                LossPoint {
                    epochs: at,
                    loss: loss_at(at),
                }
            })
            .collect();
        Msg::Worker(WorkerMsg::TrainBatch(Box::new(TrainProgress {
            generation,
            batch: BatchProgress {
                epoch,
                batch: step,
                batches: 600,
                images: step * 100,
                loss: loss_at(epoch as f64),
                batch_loss: loss_at(epoch as f64),
                seconds: step as f64 * 0.00025,
            },
            points,
            elapsed: Duration::from_millis((epoch as u64 - 1) * 200 + step as u64 / 3),
        })))
    };
    for e in 1..=epochs {
        for step in (100..=600).step_by(100) {
            state.update(batch(e, step));
        }
        state.update(Msg::Worker(WorkerMsg::TrainEpoch {
            generation,
            report: report(e),
            network: Arc::clone(weights),
            elapsed: Duration::from_millis(e as u64 * 200),
        }));
    }
    if steps > 0 {
        state.update(batch(epochs + 1, steps));
    }
}

/// Runs `job` through the evaluation loop and feeds every batch and the end to the state.
fn feed_evaluation(state: &mut AppState, job: &EvalJob) {
    let mut k = 0;
    evaluate(
        &job.net,
        &job.data,
        job.norm,
        job.batch_size,
        job.output,
        |batch| {
            let labels = &job.data.labels()[batch.range.clone()];
            let mut tally = Tally::default();
            tally.push(labels, batch.predictions);
            k += 1;
            state.update(Msg::Worker(WorkerMsg::Progress(Box::new(Progress {
                generation: job.generation,
                range: batch.range.clone(),
                predictions: batch.predictions.to_vec(),
                verdicts: mnist_explorer::analysis::verdicts(batch.outputs, labels, job.output),
                batch: tally,
                elapsed: Duration::from_millis(10 * k),
            }))));
            true
        },
    );
    state.update(Msg::Worker(WorkerMsg::Finished {
        generation: job.generation,
        elapsed: Duration::from_millis(10 * k),
    }));
}

#[test]
fn the_form_at_80x24_starts_as_the_train_command_without_colors() {
    let (mut state, _) = explorer(Palette::Plain);
    state.update(Msg::Open(ViewId::Train));
    let terminal = render(&state, 80, 24);
    insta::assert_snapshot!(terminal.backend());
    assert_eq!(state.train().form().config(), &TrainConfig::default());
    for row in [
        "▸ hidden layers    50,100",
        "optimizer      ◂ momentum ▸",
        "learning rate    0.1 (momentum's default)",
        "epochs           40",
        "784-50-100-10: 45,360 weights and biases",
        "Enter starts",
    ] {
        assert!(shows(&terminal, row), "the form lacks `{row}`");
    }
    assert!(shows(&terminal, "Enter start"), "the status line's hints");
}

#[test]
fn the_form_at_120x40_refuses_a_bad_batch_size_in_place() {
    let (mut state, _) = explorer(Palette::TrueColor);
    state.update(Msg::Open(ViewId::Train));
    train_msg(&mut state, train::Msg::Select(5));
    train_msg(
        &mut state,
        train::Msg::Edit(train::EditKey::Begin(Some('0'))),
    );
    // Enter takes the value if it can: this one it refuses, and does not start a run.
    assert!(train_msg(&mut state, train::Msg::Edit(train::EditKey::Accept)).is_none());
    assert!(train_msg(&mut state, train::Msg::Enter).is_none());
    let terminal = render(&state, 120, 40);
    insta::assert_snapshot!(terminal.backend());
    assert!(shows(&terminal, "▸ batch size       0█"));
    assert!(shows(
        &terminal,
        "refused: the batch size must be at least 1"
    ));
    assert!(state.train().run().is_none(), "nothing started");
    assert_eq!(state.train().form().config().batch_size, 100);
}

#[test]
fn a_run_at_80x24_shows_its_progress_the_loss_and_the_epochs_without_colors() {
    let (mut state, _) = explorer(Palette::Plain);
    let job = start_run(&mut state, 10);
    let weights = Arc::clone(&state.shared().net);
    feed_run(&mut state, &job, 3, 300, &weights);
    let terminal = render(&state, 80, 24);
    insta::assert_snapshot!(terminal.backend());
    // 3.5 of 10 epochs in 0.7 s: 1.3 s to go; 30,000 images in 75 ms.
    assert!(shows(
        &terminal,
        "epoch 4/10 · step 300/600 · 400,000 images/s · 1.3 s left"
    ));
    assert!(shows(&terminal, " 35%"));
    assert!(shows(
        &terminal,
        ". per batch, smoothed  # per epoch (its mean)"
    ));
    assert!(shows(&terminal, "loss (cross-entropy, log scale)"));
    // The epochs table: the three finished ones, the best marked.
    assert!(shows(
        &terminal,
        "    3       0.2000      91.00%     93.00%       0.15 ◂ best"
    ));
    // Without colors the curve is dots and the epochs hashes, never Braille.
    let chart: String = rows(&terminal)[6..15].concat();
    assert!(chart.contains('.') && chart.contains('#'));
    assert!(
        !chart
            .chars()
            .any(|c| ('\u{2800}'..='\u{28ff}').contains(&c))
    );
    assert!(
        !shows(&terminal, "accuracy per epoch"),
        "80x24: the table only"
    );
}

#[test]
fn a_run_at_120x40_adds_the_accuracy_chart() {
    let (mut state, _) = explorer(Palette::TrueColor);
    let job = start_run(&mut state, 10);
    let weights = Arc::clone(&state.shared().net);
    feed_run(&mut state, &job, 6, 0, &weights);
    let terminal = render(&state, 120, 40);
    insta::assert_snapshot!(terminal.backend());
    assert!(shows(&terminal, "accuracy per epoch"));
    assert!(shows(&terminal, "▄ train  █ test"));
    assert!(shows(
        &terminal,
        "• per batch, smoothed  █ per epoch (its mean)"
    ));
    let names: Vec<&str> = train::panels(Rect::new(0, 0, 120, 39))
        .iter()
        .map(|(name, _)| *name)
        .collect();
    assert_eq!(names, ["progress", "loss", "accuracy", "epochs"]);
    assert!(shows(
        &terminal,
        "every view shows the loaded network (u: the trained one)"
    ));
}

#[test]
fn the_panels_of_a_run_stay_on_screen_at_every_size() {
    for (w, h) in [(80, 24), (99, 40), (100, 32), (120, 40), (250, 80)] {
        let body = Rect::new(0, 0, w, h - 1);
        for (name, r) in train::panels(body) {
            assert_eq!(body.intersection(r), r, "{w}x{h}: {name} {r:?}");
            assert!(r.width > 0 && r.height >= 6, "{w}x{h}: {name} {r:?}");
        }
    }
}

#[test]
fn u_after_an_epoch_shows_the_trained_network_in_browse_and_names_it() {
    let (mut state, first) = explorer(Palette::Plain);
    feed_evaluation(&mut state, &first);
    let job = start_run(&mut state, 10);
    let trained = Arc::new(common::centroid_network(&state.shared().data, 300));
    feed_run(&mut state, &job, 2, 100, &trained);
    let Cmd::Submit(Job::Evaluate(eval)) = train_msg(&mut state, train::Msg::UseTrained) else {
        panic!("the trained network is evaluated")
    };
    assert!(Arc::ptr_eq(&eval.net, &trained));
    state.update(Msg::Open(ViewId::Browse));
    feed_evaluation(&mut state, &eval);
    let terminal = render(&state, 80, 24);
    insta::assert_snapshot!(terminal.backend());
    assert!(
        shows(&terminal, "┌ accuracy · trained ─"),
        "the panel names it"
    );
    let (tally, _) = evaluate(
        &trained,
        &state.shared().data,
        NormMode::Div255,
        1000,
        OutputLayer::Softmax,
        |_| true,
    );
    let accuracy = format!("accuracy {:.2}% done", tally.accuracy() * 100.0);
    assert!(shows(&terminal, &accuracy), "{accuracy}");
    // u again: the loaded network's accuracy, kept from before.
    assert!(train_msg(&mut state, train::Msg::UseTrained).is_none());
    let terminal = render(&state, 120, 40);
    assert!(shows(
        &terminal,
        "┌ accuracy · loaded network · centroids.npz ─"
    ));
}

/// Trains `config` through the explorer's worker, reading the splits from the shipped data
/// folder as the view does; returns the weights it reports done and the last test accuracy.
fn train_in_the_explorer(config: &TrainConfig) -> (Network, f64) {
    let (tx, rx) = channel();
    let worker = Worker::new(move |m| tx.send(m).is_ok());
    worker.submit(Job::Train(TrainJob {
        generation: 1,
        config: config.clone(),
        data_dir: common::data_dir(),
        train: None,
        test: None,
    }));
    let mut accuracy = None;
    loop {
        match rx.recv_timeout(Duration::from_secs(120)).unwrap() {
            WorkerMsg::TrainEpoch { report, .. } => accuracy = report.test_accuracy,
            WorkerMsg::TrainDone { network, .. } => {
                return (network.as_ref().clone(), accuracy.unwrap());
            }
            WorkerMsg::Failed { message, .. } => panic!("{message}"),
            _ => {}
        }
    }
}

#[test]
fn the_explorer_trains_the_same_bits_as_the_train_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cli.npz");
    let out_arg = out.to_str().unwrap();
    let cli = common::run(&[
        "train",
        "--hidden",
        "16,8",
        "--epochs",
        "2",
        "--optimizer",
        "adam",
        "--seed",
        "5",
        "--norm",
        "l2",
        "--out",
        out_arg,
        "--json",
    ]);
    assert!(cli.status.success(), "{}", common::stderr(&cli));
    let report: serde_json::Value = serde_json::from_str(&common::stdout(&cli)).unwrap();
    let from_cli = mnist_explorer::weights::load(&out).unwrap().network;
    let config = TrainConfig {
        hidden: vec![16, 8],
        epochs: 2,
        optimizer: mnist_explorer::train::Optimizer::Adam,
        lr: mnist_explorer::train::Optimizer::Adam.default_lr(),
        seed: 5,
        norm: NormMode::L2,
        ..TrainConfig::default()
    };
    let (from_explorer, accuracy) = train_in_the_explorer(&config);
    let bits = |net: &Network| -> Vec<u32> {
        net.layers()
            .iter()
            .flat_map(|l| l.w.iter().chain(l.b.iter()).map(|x| x.to_bits()))
            .collect()
    };
    assert_eq!(
        bits(&from_explorer),
        bits(&from_cli),
        "the same weights, bit for bit"
    );
    assert_eq!(report["test_accuracy"].as_f64(), Some(accuracy));
    // And the same as the engine called directly, as the command calls it.
    let data = Dataset::load(&common::data_dir(), Split::Train).unwrap();
    let test = common::test_split();
    let direct =
        mnist_explorer::train::train(&data, Some(&test), &config, |_| ControlFlow::Continue(()))
            .unwrap();
    assert_eq!(bits(&direct.network), bits(&from_explorer));
}
