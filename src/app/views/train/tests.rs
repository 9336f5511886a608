//! The training view through the explorer's one update step: the form starts a run on the
//! worker, its reports fill the view, Esc and `t` stop it, `u` swaps the network every view
//! shows (keeping each network's accuracies apart), `w` writes the weights after asking.

use std::sync::Arc;
use std::time::Duration;

use ndarray::{Array1, Array2};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::app::evaluations::EvalStatus;
use crate::app::msg::{Cmd, Msg as AppMsg};
use crate::app::router::key_to_msg;
use crate::app::state::{AppState, test_state};
use crate::app::training::{LossPoint, Splits, TrainProgress};
use crate::app::worker::{EvalJob, Progress};
use crate::eval::Tally;
use crate::layer::Layer;
use crate::train::{BatchProgress, EpochReport, TrainConfig};

/// Thirty 2x2 images, a 4-10 network, the browse view; the first evaluation's job.
fn state() -> (AppState, EvalJob) {
    let images: Vec<u8> = (0..30 * 4).map(|i| ((i * 53) % 256) as u8).collect();
    let labels: Vec<u8> = (0..30).map(|i| (i % 10) as u8).collect();
    let w = Array2::from_shape_fn((4, 10), |(r, c)| ((r * 5 + c * 3) % 7) as f32 - 3.0);
    let (s, cmd) = test_state(images, labels, w, Split::Test, 10, 7);
    let Cmd::Submit(Job::Evaluate(job)) = cmd else {
        panic!("the first evaluation starts")
    };
    (s.with_data_dir(PathBuf::from("data")), job)
}

/// A 4-`hidden`-10 network whose weights are `value` everywhere.
fn net(hidden: usize, value: f32) -> Arc<Network> {
    let layer = |i, o| Layer {
        w: Array2::from_elem((i, o), value),
        b: Array1::zeros(o),
    };
    Arc::new(Network::new(vec![layer(4, hidden), layer(hidden, 10)]).unwrap())
}

/// Every image of `job` predicted `predict(i)`, in one batch, then the end.
fn finish(s: &mut AppState, job: &EvalJob, predict: impl Fn(usize) -> u8) {
    let predictions: Vec<u8> = (0..job.data.len()).map(predict).collect();
    let mut batch = Tally::default();
    batch.push(job.data.labels(), &predictions);
    let verdict = crate::analysis::Verdict {
        confidence: 0.5,
        loss: 0.7,
        margin: 0.1,
    };
    let verdicts = vec![verdict; predictions.len()];
    s.update(AppMsg::Worker(WorkerMsg::Progress(Box::new(Progress {
        generation: job.generation,
        range: 0..predictions.len(),
        predictions,
        verdicts,
        batch,
        elapsed: Duration::from_millis(5),
    }))));
    s.update(AppMsg::Worker(WorkerMsg::Finished {
        generation: job.generation,
        elapsed: Duration::from_millis(5),
    }));
}

fn train(s: &mut AppState, msg: Msg) -> Cmd {
    s.update(AppMsg::Train(msg))
}

/// Opens the view and starts a run of the form's settings (after a run, the first Enter
/// shows the form); returns its job.
fn start(s: &mut AppState) -> TrainJob {
    s.update(AppMsg::Open(ViewId::Train));
    if !s.train().on_form() {
        assert!(train(s, Msg::Enter).is_none());
    }
    match train(s, Msg::Enter) {
        Cmd::Submit(Job::Train(job)) => job,
        other => panic!("Enter starts a training, got {other:?}"),
    }
}

fn epoch(generation: u64, epoch: usize, network: Arc<Network>) -> AppMsg {
    AppMsg::Worker(WorkerMsg::TrainEpoch {
        generation,
        report: EpochReport {
            epoch,
            train_loss: 0.5 / epoch as f64,
            train_accuracy: 0.8,
            test_accuracy: Some(0.9),
            seconds: 0.1,
        },
        network,
        elapsed: Duration::from_millis(100 * epoch as u64),
    })
}

fn batch(generation: u64, epoch: usize, batch: usize) -> AppMsg {
    AppMsg::Worker(WorkerMsg::TrainBatch(Box::new(TrainProgress {
        generation,
        batch: BatchProgress {
            epoch,
            batch,
            batches: 10,
            images: batch * 3,
            loss: 1.0,
            batch_loss: 1.0,
            seconds: 0.01 * batch as f64,
        },
        points: vec![LossPoint {
            epochs: (epoch - 1) as f64 + batch as f64 / 10.0,
            loss: 1.0,
        }],
        elapsed: Duration::from_millis(10),
    })))
}

#[test]
fn enter_trains_the_forms_run_with_the_split_already_read() {
    let (mut s, _) = state();
    let job = start(&mut s);
    assert_eq!(job.config, TrainConfig::default(), "train's defaults");
    assert_eq!(job.data_dir, PathBuf::from("data"));
    assert!(
        job.train.is_none(),
        "the training split is read on the worker"
    );
    let test = job
        .test
        .as_ref()
        .expect("the test split browsed is passed on");
    assert!(Arc::ptr_eq(test, &s.shared().data));
    let run = s.train().run().unwrap();
    assert!(s.train().running() && !s.train().on_form());
    assert_eq!(run.shape(), "4-50-100-10");
    // One run at a time.
    assert!(train(&mut s, Msg::Enter).is_none());
    assert!(
        s.notice()
            .is_some_and(|n| n.text.contains("t or Esc stops it"))
    );
    // The splits the worker read serve the next run.
    let splits = Splits {
        train: Arc::clone(&s.shared().data),
        test: Arc::clone(&s.shared().data),
    };
    s.update(AppMsg::Worker(WorkerMsg::TrainLoaded {
        generation: job.generation,
        splits,
    }));
    train(&mut s, Msg::Stop);
    let next = start(&mut s);
    assert!(next.train.is_some() && next.test.is_some());
    assert!(next.generation > job.generation);
}

#[test]
fn reports_fill_the_run_and_stale_ones_are_dropped() {
    let (mut s, _) = state();
    let job = start(&mut s);
    let g = job.generation;
    s.update(batch(g, 1, 5));
    s.update(batch(g + 100, 1, 9));
    let run = s.train().run().unwrap();
    assert_eq!(
        run.batch.map(|b| b.batch),
        Some(5),
        "another job's batch is dropped"
    );
    assert_eq!(run.curve.len(), 1);
    assert_eq!(run.status, Status::Running);
    s.update(epoch(g, 1, net(3, 0.1)));
    s.update(batch(g, 2, 10));
    let run = s.train().run().unwrap();
    assert_eq!(run.epochs.len(), 1);
    assert!(run.network.is_some());
    assert_eq!(
        s.train().trained().unwrap().1,
        "trained network · epoch 1/40"
    );
    s.update(AppMsg::Worker(WorkerMsg::TrainDone {
        generation: g,
        network: net(3, 0.2),
        threads: 2,
        kernel: "portable",
    }));
    let run = s.train().run().unwrap();
    assert_eq!(
        (run.status.clone(), run.threads),
        (Status::Finished, Some(2))
    );
    assert!(
        s.notice()
            .is_some_and(|n| n.text.contains("test accuracy 90.00%"))
    );
    // After the end, a late report changes nothing.
    s.update(batch(g, 2, 3));
    assert_eq!(s.train().run().unwrap().batch.map(|b| b.batch), Some(10));
    // Enter: the form for the next run, keeping the last one's settings.
    train(&mut s, Msg::Enter);
    assert!(s.train().on_form());
}

#[test]
fn esc_and_t_stop_a_running_training_then_go_back() {
    let (mut s, _) = state();
    for stop in [AppMsg::Back, AppMsg::Train(Msg::Stop)] {
        let job = start(&mut s);
        s.update(batch(job.generation, 1, 4));
        let Cmd::Submit(Job::Cancel { kind, generation }) = s.update(stop.clone()) else {
            panic!("{stop:?} cancels the training lane")
        };
        assert_eq!(kind, JobKind::Train);
        assert!(generation > job.generation, "a generation no job has");
        assert_eq!(s.view(), ViewId::Train, "stopping does not leave");
        assert_eq!(s.train().run().unwrap().status, Status::Stopped);
        assert!(
            s.notice()
                .is_some_and(|n| n.text.contains("epoch 1, step 4"))
        );
        // A report already on its way is dropped.
        s.update(batch(job.generation, 1, 5));
        assert_eq!(s.train().run().unwrap().status, Status::Stopped);
        // With nothing running, the same key goes back (after Esc waves the notice away).
        s.update(AppMsg::Back);
        assert!(s.update(stop).is_none());
        assert_eq!(s.views(), [ViewId::Browse]);
        assert!(!s.should_quit());
    }
}

#[test]
fn u_swaps_the_network_every_view_shows_and_keeps_each_ones_accuracy() {
    let (mut s, first) = state();
    finish(&mut s, &first, |i| (i % 10) as u8);
    let loaded = Arc::clone(&s.shared().net);
    assert_eq!(s.shared().evaluation().tally.correct, 30);
    assert!(train(&mut s, Msg::UseTrained).is_none());
    assert!(
        s.notice()
            .is_some_and(|n| n.text.contains("no trained network yet"))
    );
    let job = start(&mut s);
    let one = net(3, 0.1);
    assert!(
        s.update(epoch(job.generation, 1, Arc::clone(&one)))
            .is_none(),
        "the loaded network stays until u"
    );
    let Cmd::Submit(Job::Evaluate(eval)) = train(&mut s, Msg::UseTrained) else {
        panic!("the trained network is evaluated")
    };
    assert!(Arc::ptr_eq(&eval.net, &one) && Arc::ptr_eq(&s.shared().net, &one));
    assert!(s.shared().swapped());
    assert_eq!(s.shared().net_label(), "trained network · epoch 1/40");
    assert_eq!(
        s.shared().evaluation().tally.total,
        0,
        "not the loaded one's"
    );
    // The next epoch shows at once; the late batch of the first epoch's pass is dropped.
    let two = net(3, 0.2);
    let Cmd::Submit(Job::Evaluate(next)) = s.update(epoch(job.generation, 2, Arc::clone(&two)))
    else {
        panic!("each epoch's weights are evaluated while shown")
    };
    assert!(Arc::ptr_eq(&next.net, &two));
    finish(&mut s, &eval, |_| 0);
    assert_eq!(s.shared().evaluation().tally.total, 0);
    finish(&mut s, &next, |_| 0);
    assert_eq!(s.shared().evaluation().tally.correct, 3);
    // Back to the loaded network: its finished pass shows again, nothing recomputed.
    assert!(train(&mut s, Msg::UseTrained).is_none());
    assert!(Arc::ptr_eq(&s.shared().net, &loaded) && !s.shared().swapped());
    assert_eq!(s.shared().evaluation().tally.correct, 30);
    assert_eq!(s.shared().evaluation().status, EvalStatus::Finished);
    assert!(
        s.shared().named(),
        "from now on the titles say which network"
    );
}

#[test]
fn a_swap_keeps_the_network_views_cursor_inside_the_new_layers() {
    let (mut s, _) = state();
    s.update(AppMsg::Open(ViewId::Network));
    for _ in 0..9 {
        s.update(AppMsg::Network(crate::app::views::network::Msg::Unit(1)));
    }
    assert_eq!(s.network().unit(), 9);
    let job = start(&mut s);
    s.update(epoch(job.generation, 1, net(3, 0.1)));
    train(&mut s, Msg::UseTrained);
    assert_eq!((s.network().layer(), s.network().unit()), (0, 2));
    // The network view draws from the new network without panicking.
    s.update(AppMsg::Open(ViewId::Network));
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
    terminal
        .draw(|frame| crate::app::ui::draw(&s, frame))
        .unwrap();
}

/// The key `code` through the router, applied.
fn press(s: &mut AppState, code: KeyCode) -> Cmd {
    match key_to_msg(s, KeyEvent::new(code, KeyModifiers::NONE)) {
        Some(msg) => s.update(msg),
        None => Cmd::None,
    }
}

#[test]
fn a_field_being_edited_takes_the_keys_first() {
    let (mut s, _) = state();
    s.update(AppMsg::Open(ViewId::Train));
    // `q` would quit and `t` leave; while the field is edited they are typed into it.
    for code in [KeyCode::Char('1'), KeyCode::Char('q'), KeyCode::Char('t')] {
        press(&mut s, code);
    }
    assert_eq!(
        s.train().form().editing().map(|e| e.text.as_str()),
        Some("1qt")
    );
    press(&mut s, KeyCode::Enter);
    assert!(!s.should_quit() && s.view() == ViewId::Train);
    let refusal = s.train().form().editing().and_then(|e| e.error.clone());
    assert!(refusal.is_some_and(|e| e.contains("`1qt` is not a layer size")));
    // Esc leaves the field as it was (and stays in the view); then Esc goes back.
    press(&mut s, KeyCode::Esc);
    assert!(s.train().form().editing().is_none());
    assert_eq!(s.train().form().config().hidden, [50, 100]);
    assert_eq!(s.view(), ViewId::Train);
    for code in [KeyCode::Backspace, KeyCode::Char('7'), KeyCode::Down] {
        press(&mut s, code);
    }
    assert_eq!(
        s.train().form().config().hidden,
        [50, 107],
        "↓ takes the value"
    );
    press(&mut s, KeyCode::Esc);
    assert_eq!(s.views(), [ViewId::Browse]);
}

#[test]
fn w_writes_the_trained_network_and_asks_before_replacing_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = state();
    assert!(train(&mut s, Msg::Write(Goto::Start)).is_none());
    assert!(
        s.notice()
            .is_some_and(|n| n.text.contains("no trained network yet"))
    );
    let job = start(&mut s);
    let weights = net(3, 0.1);
    s.update(epoch(job.generation, 1, Arc::clone(&weights)));
    let ask = |s: &mut AppState, path: &std::path::Path| -> Cmd {
        train(s, Msg::Write(Goto::Start));
        assert_eq!(
            s.train().prompt(),
            Some(&WritePrompt::Path("trained-4-50-100-10.npz".into())),
            "the prompt suggests a name"
        );
        while let Some(WritePrompt::Path(text)) = s.train().prompt()
            && !text.is_empty()
        {
            press(s, KeyCode::Backspace);
        }
        for c in path.to_str().unwrap().chars() {
            press(s, KeyCode::Char(c));
        }
        press(s, KeyCode::Enter)
    };
    let new = dir.path().join("new.npz");
    let Cmd::Submit(Job::Save(save)) = ask(&mut s, &new) else {
        panic!("a new file is written at once")
    };
    assert!(!save.replace && save.path == new && Arc::ptr_eq(&save.net, &weights));
    // The file records the run's settings and how far it got, as `train` records them.
    let record = save.record.as_ref().expect("a record");
    assert_eq!(record.norm(), job.config.norm);
    assert_eq!(
        record.get("command"),
        Some(job.config.command_line().into())
    );
    assert_eq!(record.get("epochs_done"), Some(1.into()));
    assert_eq!(record.get("test_accuracy"), Some(0.9.into()));
    s.update(AppMsg::Worker(WorkerMsg::Saved {
        generation: save.generation,
        result: Ok(new.clone()),
    }));
    assert!(s.notice().is_some_and(|n| n.text.contains("wrote")));
    // An existing file: only after y.
    let old = dir.path().join("old.npz");
    std::fs::write(&old, "keep me").unwrap();
    assert!(ask(&mut s, &old).is_none());
    assert_eq!(s.train().prompt(), Some(&WritePrompt::Replace(old.clone())));
    assert!(press(&mut s, KeyCode::Char('n')).is_none());
    assert!(
        s.notice()
            .is_some_and(|n| n.text.contains("left as it was"))
    );
    assert!(ask(&mut s, &old).is_none());
    let Cmd::Submit(Job::Save(save)) = press(&mut s, KeyCode::Char('y')) else {
        panic!("y writes")
    };
    assert!(save.replace && save.path == old);
    // A failure names the file; a report of an older write is dropped.
    s.update(AppMsg::Worker(WorkerMsg::Saved {
        generation: save.generation - 1,
        result: Err("stale".into()),
    }));
    assert!(!s.notice().is_some_and(|n| n.text.contains("stale")));
    s.update(AppMsg::Worker(WorkerMsg::Saved {
        generation: save.generation,
        result: Err(format!("{}: disk full", old.display())),
    }));
    assert!(
        s.notice()
            .is_some_and(|n| n.is_error && n.text.contains("old.npz"))
    );
    assert_eq!(std::fs::read_to_string(&old).unwrap(), "keep me");
    // Another ending gets .npz added (the file is an .npz whatever its name), and the
    // question about an existing file is about that name.
    let Cmd::Submit(Job::Save(save)) = ask(&mut s, &dir.path().join("mine.pkl")) else {
        panic!("a new file is written at once")
    };
    assert_eq!(save.path, dir.path().join("mine.pkl.npz"));
    std::fs::write(dir.path().join("kept.npz"), "keep me").unwrap();
    assert!(ask(&mut s, &dir.path().join("kept")).is_none());
    assert_eq!(
        s.train().prompt(),
        Some(&WritePrompt::Replace(dir.path().join("kept.npz")))
    );
}

#[test]
fn quitting_with_an_unwritten_trained_network_asks_once_and_a_write_clears_it() {
    let weights = net(3, 0.1);
    // A run, its first epoch's weights written (or not), then maybe a second epoch.
    let after = |write: bool, second: bool| {
        let (mut s, _) = state();
        let job = start(&mut s);
        s.update(epoch(job.generation, 1, Arc::clone(&weights)));
        if write {
            train(&mut s, Msg::Write(Goto::Start));
            let Cmd::Submit(Job::Save(save)) = press(&mut s, KeyCode::Enter) else {
                panic!("Enter writes the suggested file")
            };
            s.update(AppMsg::Worker(WorkerMsg::Saved {
                generation: save.generation,
                result: Ok(save.path.clone()),
            }));
        }
        if second {
            s.update(epoch(job.generation, 2, net(3, 0.2)));
        }
        s
    };
    let mut s = after(false, false);
    s.update(AppMsg::Quit);
    assert!(!s.should_quit(), "the first quit is held back");
    assert!(s.notice().is_some_and(|n| n.text.contains("not written")));
    s.update(AppMsg::Quit);
    assert!(s.should_quit(), "the second goes through");

    let mut s = after(true, false);
    s.update(AppMsg::Quit);
    assert!(s.should_quit(), "written: nothing to lose");

    let mut s = after(true, true);
    s.update(AppMsg::Quit);
    assert!(
        !s.should_quit(),
        "the second epoch's weights are not written"
    );
}

#[test]
fn a_run_that_ends_near_chance_says_what_may_be_wrong() {
    for (accuracy, flagged) in [(0.101, true), (0.9, false)] {
        let (mut s, _) = state();
        let job = start(&mut s);
        let AppMsg::Worker(WorkerMsg::TrainEpoch {
            generation,
            mut report,
            network,
            elapsed,
        }) = epoch(job.generation, 1, net(3, 0.1))
        else {
            unreachable!()
        };
        report.test_accuracy = Some(accuracy);
        s.update(AppMsg::Worker(WorkerMsg::TrainEpoch {
            generation,
            report,
            network,
            elapsed,
        }));
        s.update(AppMsg::Worker(WorkerMsg::TrainDone {
            generation,
            network: net(3, 0.2),
            threads: 1,
            kernel: "portable",
        }));
        let notice = s.notice().expect("a word on the run's end");
        assert_eq!(notice.is_error, flagged, "{}", notice.text);
        assert_eq!(
            notice.text.contains("learning rate"),
            flagged,
            "{}",
            notice.text
        );
    }
}
