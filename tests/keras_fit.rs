//! Keras' `fit` for a tutorial reader (issue 13): data from memory with float targets or labels,
//! validation split, predictions for a whole data set, callbacks.
use constnet::data::Dataset;
use constnet::prelude::*;
use std::time::Duration;

use constnet::train::{
    evaluate, predict_all, predict_outputs, Callback, Control, EarlyStopping, Epoch, Fit, FitError,
    History, LearningRateScheduler, Monitor, ReduceLROnPlateau, Verbose,
};
use constnet::Rng;

network! {
    #[derive(Clone)]
    struct Xor { hidden: Dense<2, 4, Tanh>, out: Dense<4, 1, Sigmoid> }
}

network! {
    #[derive(Clone)]
    struct Three { hidden: Dense<2, 8, Tanh>, out: Dense<8, 3, Softmax> }
}

const XOR_X: [[f32; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
const XOR_T: [[f32; 1]; 4] = [[0.0], [1.0], [1.0], [0.0]];

/// Loss and accuracy per epoch (the durations differ from run to run).
fn scores(h: &History) -> Vec<(f32, f32)> {
    h.epochs.iter().map(|e| (e.loss, e.accuracy)).collect()
}

/// Three clusters in the plane, labelled by which third of the angle a point is in.
fn clusters(n: usize, seed: u64) -> (Vec<[f32; 2]>, Vec<usize>) {
    let mut rng = Rng::new(seed);
    let x: Vec<[f32; 2]> = (0..n)
        .map(|_| [rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)])
        .collect();
    let labels = x
        .iter()
        .map(|p| {
            let a = p[1].atan2(p[0]) + std::f32::consts::PI;
            ((a / std::f32::consts::TAU * 3.0) as usize).min(2)
        })
        .collect();
    (x, labels)
}

/// `Fit` on float targets trains exactly what the hand-written loop of the XOR tutorial trains:
/// the targets reach the loss unchanged.
#[test]
fn float_targets_train_exactly_as_the_hand_written_loop() {
    let data = Dataset::from_slices(&XOR_X, &XOR_T).unwrap();
    let mut fitted = Xor::new(42);
    let history = Fit::<4>::epochs(2000)
        .shuffle(false)
        .verbose(Verbose::Silent)
        .run(
            &mut fitted,
            Mse,
            &mut Trainer::new(Sgd::new(0.5)),
            &data,
            None,
        )
        .unwrap();

    let mut by_hand = Xor::new(42);
    let mut trainer = Trainer::<Xor, _, 4>::new(Sgd::new(0.5));
    let mut losses = Vec::new();
    for _ in 0..2000 {
        losses.push(trainer.step(&mut by_hand, Mse, &XOR_X, &XOR_T));
    }
    assert_eq!(fitted.as_slice(), by_hand.as_slice());
    let fit_losses: Vec<f32> = history.epochs.iter().map(|e| e.loss).collect();
    assert_eq!(fit_losses, losses);
    // It learned XOR; accuracy of one output is the 0.5 threshold on output and target alike.
    let e = evaluate(&fitted, Mse, &data).unwrap();
    assert_eq!(e.accuracy, 1.0);
    assert!(e.loss < 0.01, "{e:?}");
    assert_eq!(history.epochs.last().unwrap().accuracy, 1.0);
}

/// A regression: `Fit` with MSE on `sin(x)` brings the validation loss far below the variance.
#[test]
fn regression_on_float_targets_learns_a_sine() {
    network! { struct Sine { Dense<1, 16, Relu>, Dense<16, 16, Relu>, Dense<16, 1> } }
    let mut rng = Rng::new(2);
    let x: Vec<[f32; 1]> = (0..512)
        .map(|_| [rng.uniform(0.0, std::f32::consts::TAU)])
        .collect();
    let t: Vec<[f32; 1]> = x.iter().map(|&[x]| [x.sin()]).collect();
    let train = Dataset::from_vecs(x[..384].to_vec(), t[..384].to_vec()).unwrap();
    let test = Dataset::from_vecs(x[384..].to_vec(), t[384..].to_vec()).unwrap();
    let mut net = Sine::new(1);
    let before = evaluate(&net, Mse, &test).unwrap().loss;
    let history = Fit::<16>::epochs(150)
        .verbose(Verbose::Silent)
        .run(
            &mut net,
            Mse,
            &mut Trainer::new(Adam::new(0.01)),
            &train,
            Some(&test),
        )
        .unwrap();
    let val = history.epochs.last().unwrap().validation.unwrap();
    assert_eq!(val, evaluate(&net, Mse, &test).unwrap());
    // sin² averages 0.5 over a period; a fitted curve is within a few hundredths.
    assert!(before > 0.1 && val.loss < 0.02, "{before} -> {val:?}");
}

/// One-hot float targets and the labels they encode train bit-identically with categorical
/// cross-entropy, and are scored identically.
#[test]
fn one_hot_float_targets_equal_their_labels() {
    let (x, labels) = clusters(96, 5);
    let one_hot: Vec<[f32; 3]> = labels
        .iter()
        .map(|&l| std::array::from_fn(|k| f32::from(u8::from(k == l))))
        .collect();
    let by_label = Dataset::from_vecs(x.clone(), labels).unwrap();
    let by_vector = Dataset::from_vecs(x, one_hot).unwrap();
    assert_eq!((by_label.classes(), by_vector.classes()), (3, 0));
    let fit = Fit::<8>::epochs(20).seed(4).verbose(Verbose::Silent);
    let (mut a, mut b) = (Three::new(1), Three::new(1));
    let ha = fit
        .run(
            &mut a,
            CategoricalCrossEntropy,
            &mut Trainer::new(Adam::new(0.02)),
            &by_label,
            None,
        )
        .unwrap();
    let hb = fit
        .run(
            &mut b,
            CategoricalCrossEntropy,
            &mut Trainer::new(Adam::new(0.02)),
            &by_vector,
            None,
        )
        .unwrap();
    assert_eq!(a.as_slice(), b.as_slice());
    assert_eq!(scores(&ha), scores(&hb));
    let (ea, eb) = (
        evaluate(&a, CategoricalCrossEntropy, &by_label).unwrap(),
        evaluate(&b, CategoricalCrossEntropy, &by_vector).unwrap(),
    );
    assert_eq!(ea, eb);
    assert!(ea.accuracy > 0.9, "{ea:?}");
}

/// `Dataset::split_fraction` cuts where Keras' `validation_split` does: `⌊len · (1 − f)⌋` with the
/// fraction as the decimal written (values from Python: `int(math.floor(n * (1.0 - f)))`).
#[test]
fn split_fraction_cuts_where_keras_does() {
    for (n, f, at) in [
        (10, 0.3, 7),
        (10, 0.2, 8),
        (100, 0.1, 90),
        (7, 0.5, 3),
        (3, 0.34, 1),
        (1000, 0.33, 669),
        (20, 0.15, 17),
    ] {
        let d = Dataset::from_vecs(vec![[0.0f32]; n], (0..n).collect()).unwrap();
        let (train, validation) = d.split_fraction(f);
        assert_eq!(train.labels(), (0..at).collect::<Vec<_>>(), "{n} {f}");
        assert_eq!(validation.labels(), (at..n).collect::<Vec<_>>(), "{n} {f}");
        assert_eq!(validation.classes(), n);
    }
    let d = Dataset::from_vecs(vec![[0.0f32]; 4], vec![[1.0f32]; 4]).unwrap();
    assert_eq!(d.clone().split(9).0.len(), 4);
    assert_eq!(d.split_fraction(2.0).0.len(), 0);
}

#[test]
fn shuffle_permutes_samples_with_their_targets_reproducibly() {
    let x: Vec<[f32; 2]> = (0..50).map(|i| [i as f32, -(i as f32)]).collect();
    let t: Vec<[f32; 1]> = (0..50).map(|i| [i as f32 * 10.0]).collect();
    let d = Dataset::from_vecs(x, t).unwrap();
    let (mut a, mut b, mut c) = (d.clone(), d.clone(), d.clone());
    a.shuffle(1);
    b.shuffle(1);
    c.shuffle(2);
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_ne!(a, d);
    for (x, t) in a.features().iter().zip(a.targets()) {
        assert_eq!((x[1], t[0]), (-x[0], x[0] * 10.0));
    }
    let mut seen: Vec<f32> = a.features().iter().map(|x| x[0]).collect();
    seen.sort_by(f32::total_cmp);
    assert_eq!(seen, (0..50).map(|i| i as f32).collect::<Vec<_>>());
}

network! {
    #[derive(Clone)]
    struct Line { Dense<1, 1> }
}

/// The last 20 % are held out before any shuffling, in every epoch: their targets are far off the
/// line, so training on any of them would show in the training loss; validation is exactly
/// `evaluate` on them.
#[test]
fn validation_split_holds_out_exactly_the_last_samples() {
    let x: Vec<[f32; 1]> = (0..50).map(|i| [i as f32 / 50.0]).collect();
    let mut t: Vec<[f32; 1]> = x.iter().map(|&[x]| [3.0 * x - 1.0]).collect();
    for t in &mut t[40..] {
        t[0] = 1e4;
    }
    let data = Dataset::from_vecs(x, t).unwrap();
    let mut net = Line::new(3);
    let history = Fit::<5>::epochs(40)
        .seed(11)
        .validation_split(0.2)
        .verbose(Verbose::Silent)
        .run(
            &mut net,
            Mse,
            &mut Trainer::new(Adam::new(0.05)),
            &data,
            None,
        )
        .unwrap();
    let (_, held_out) = data.clone().split(40);
    for e in &history.epochs {
        assert!(e.loss < 5.0, "trained on a held-out sample: {e:?}");
    }
    let last = history.epochs.last().unwrap();
    assert!(last.loss < 0.01, "{last:?}");
    assert_eq!(
        last.validation,
        Some(evaluate(&net, Mse, &held_out).unwrap())
    );
    assert!(last.validation.unwrap().loss > 1e7);

    // Validation data given to `run` takes precedence, as in Keras.
    let mut other = Line::new(3);
    let h = Fit::<5>::epochs(1)
        .validation_split(0.2)
        .verbose(Verbose::Silent)
        .run(
            &mut other,
            Mse,
            &mut Trainer::new(Adam::new(0.05)),
            &data,
            Some(&data),
        )
        .unwrap();
    assert_eq!(
        h.epochs[0].validation,
        Some(evaluate(&other, Mse, &data).unwrap())
    );

    for fraction in [1.0, -0.1, f32::NAN] {
        let err = Fit::<5>::epochs(1)
            .validation_split(fraction)
            .verbose(Verbose::Silent)
            .run(
                &mut Line::new(0),
                Mse,
                &mut Trainer::new(Sgd::new(0.1)),
                &data,
                None,
            )
            .unwrap_err();
        assert!(
            matches!(err, FitError::ValidationSplit { samples: 50, .. }),
            "{err}"
        );
    }
    // 0.95 of 50 leaves 2 training samples: fewer than a batch.
    let err = Fit::<5>::epochs(1)
        .validation_split(0.95)
        .verbose(Verbose::Silent)
        .run(
            &mut Line::new(0),
            Mse,
            &mut Trainer::new(Sgd::new(0.1)),
            &data,
            None,
        )
        .unwrap_err();
    assert_eq!(
        err,
        FitError::TooFewSamples {
            samples: 2,
            batch: 5
        }
    );
}

/// Ten `fit`s of one epoch end bit-identical to one of ten (optimizer state, step counter and
/// shuffle sequence continue), also with float targets and a validation split.
#[test]
fn ten_fits_of_one_epoch_equal_one_fit_of_ten() {
    let (x, labels) = clusters(120, 8);
    let t: Vec<[f32; 1]> = labels.iter().map(|&l| [l as f32 / 2.0]).collect();
    let data = Dataset::from_vecs(x, t).unwrap();
    network! { #[derive(Clone)] struct Reg { Dense<2, 8, Tanh>, Dense<8, 1> } }
    let fit = |epochs| {
        Fit::<8>::epochs(epochs)
            .seed(5)
            .validation_split(0.25)
            .verbose(Verbose::Silent)
    };
    let mut once = Reg::new(2);
    let mut trainer = Trainer::new(Adam::new(0.01));
    let h10 = fit(10)
        .run(&mut once, Huber, &mut trainer, &data, None)
        .unwrap();
    let mut stepped = Reg::new(2);
    let mut resumed = Trainer::new(Adam::new(0.01));
    let mut h1 = Vec::new();
    for _ in 0..10 {
        h1.extend(
            fit(1)
                .run(&mut stepped, Huber, &mut resumed, &data, None)
                .unwrap()
                .epochs,
        );
    }
    assert_eq!(once.as_slice(), stepped.as_slice());
    assert_eq!((trainer.steps, resumed.steps), (110, 110));
    let val = |e: &[Epoch]| e.iter().map(|e| e.validation).collect::<Vec<_>>();
    assert_eq!(val(&h10.epochs), val(&h1));
    // Restarting the shuffles each time (the behaviour before) trains differently.
    let mut restarted = Reg::new(2);
    let mut fresh_shuffles = Trainer::new(Adam::new(0.01));
    for _ in 0..10 {
        fit(1)
            .run(&mut restarted, Huber, &mut fresh_shuffles, &data, None)
            .unwrap();
        fresh_shuffles.epochs = 0;
    }
    assert_ne!(once.as_slice(), restarted.as_slice());
}

/// `predict_outputs` gives the whole data set's outputs: each within rounding of the one-sample
/// forward pass (bit-identical across the batched part and the one-by-one tail is not promised),
/// with exactly the classes `predict_all` reports and the loss `evaluate` reports.
#[test]
fn predict_outputs_are_the_probabilities_evaluate_scores() {
    let (x, labels) = clusters(100, 9);
    let data = Dataset::from_vecs(x.clone(), labels).unwrap();
    let mut net = Three::new(1);
    Fit::<10>::epochs(5)
        .verbose(Verbose::Silent)
        .run(
            &mut net,
            SparseCategoricalCrossEntropy,
            &mut Trainer::new(Adam::new(0.02)),
            &data,
            None,
        )
        .unwrap();
    let p = predict_outputs(&net, &x);
    assert_eq!(p.len(), 100);
    for (p, x) in p.iter().zip(&x) {
        let single = net.forward(x);
        assert!(p.iter().zip(&single).all(|(a, b)| (a - b).abs() < 1e-6));
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
    let classes: Vec<usize> = p.iter().map(constnet::class_of).collect();
    assert_eq!(classes, predict_all(&net, &x));
    let loss: f64 = p
        .iter()
        .zip(data.labels())
        .map(|(y, &l)| f64::from(SparseCategoricalCrossEntropy::loss(y, &l)))
        .sum();
    let e = evaluate(&net, SparseCategoricalCrossEntropy, &data).unwrap();
    assert_eq!((loss / 100.0) as f32, e.loss);
}

fn logs(loss: f32, accuracy: f32) -> Epoch {
    Epoch {
        loss,
        accuracy,
        validation: None,
        duration: Duration::ZERO,
    }
}

/// Feeds `values` of `monitor` to `callback` as epochs 0, 1, …, with the network's weights all set
/// to the epoch number, until it stops; returns the epochs it saw and the learning rate after each.
fn drive(
    callback: &mut dyn Callback<Line>,
    net: &mut Line,
    trainer: &mut Trainer<Line, Sgd, 1>,
    values: &[f32],
) -> (usize, Vec<f32>) {
    let mut ctl = Control::new(net, trainer);
    callback.on_train_begin(&mut ctl);
    let mut rates = Vec::new();
    let mut seen = 0;
    for (epoch, &v) in values.iter().enumerate() {
        callback.on_epoch_begin(epoch as u64, &mut ctl);
        ctl.weights_mut().fill(epoch as f32);
        callback.on_epoch_end(epoch as u64, &logs(v, v), &mut ctl);
        rates.push(ctl.learning_rate());
        seen += 1;
        if ctl.stopping() {
            break;
        }
    }
    callback.on_train_end(&mut ctl);
    (seen, rates)
}

/// EarlyStopping on crafted loss sequences: it stops at the epoch the patience implies and puts
/// back the best epoch's weights bit for bit.
#[test]
fn early_stopping_stops_when_patience_runs_out_and_restores_the_best_weights() {
    let mut net = Line::new(0);
    let mut trainer = Trainer::<Line, _, 1>::new(Sgd::new(0.1));
    // Best at epoch 1; epochs 2 and 3 do not improve: with patience 2 it stops at epoch 3.
    let mut stop = EarlyStopping::new(Monitor::Loss)
        .patience(2)
        .restore_best_weights(true);
    let losses = [1.0, 0.5, 0.6, 0.55, 0.4, 0.3];
    let (seen, _) = drive(&mut stop, &mut net, &mut trainer, &losses);
    assert_eq!((seen, stop.stopped_epoch()), (4, Some(3)));
    assert_eq!((stop.best_epoch(), stop.best()), (Some(1), Some(0.5)));
    assert!(net
        .as_slice()
        .iter()
        .all(|&w| w.to_bits() == 1.0f32.to_bits()));

    // Without restoring, the last epoch's weights stay.
    let mut keep = EarlyStopping::new(Monitor::Loss).patience(2);
    drive(&mut keep, &mut net, &mut trainer, &losses);
    assert!(net.as_slice().iter().all(|&w| w == 3.0));

    // min_delta: improvements of less than 0.1 do not count.
    let mut coarse = EarlyStopping::new(Monitor::Loss).patience(2).min_delta(0.1);
    let (seen, _) = drive(&mut coarse, &mut net, &mut trainer, &[1.0, 0.95, 0.92, 0.5]);
    assert_eq!((seen, coarse.stopped_epoch()), (3, Some(2)));

    // Accuracy: larger is better; patience 0 stops at the first epoch that does not improve.
    let mut acc = EarlyStopping::new(Monitor::Accuracy).restore_best_weights(true);
    let (seen, _) = drive(&mut acc, &mut net, &mut trainer, &[0.5, 0.6, 0.7, 0.7, 0.9]);
    assert_eq!(
        (seen, acc.best_epoch(), acc.best()),
        (4, Some(2), Some(0.7))
    );
    assert!(net.as_slice().iter().all(|&w| w == 2.0));

    // A second run keeps the best value (as Keras: a continued training must beat 0.5) but not
    // the weights: its first epoch's weights stand in for the best until one beats 0.5.
    let (seen, _) = drive(&mut stop, &mut net, &mut trainer, &[3.0, 2.0, 1.0]);
    assert_eq!((seen, stop.stopped_epoch()), (2, Some(1)));
    assert_eq!((stop.best_epoch(), stop.best()), (Some(0), Some(0.5)));
    assert!(net.as_slice().iter().all(|&w| w == 0.0));
    let (seen, _) = drive(&mut stop, &mut net, &mut trainer, &[0.6, 0.45, 0.5, 0.5]);
    assert_eq!((seen, stop.stopped_epoch()), (4, Some(3)));
    assert_eq!((stop.best_epoch(), stop.best()), (Some(1), Some(0.45)));
    assert!(net.as_slice().iter().all(|&w| w == 1.0));

    // Monitoring a validation value without validation data does nothing.
    let mut val = EarlyStopping::default().restore_best_weights(true);
    let (seen, _) = drive(&mut val, &mut net, &mut trainer, &[1.0, 2.0, 3.0]);
    assert_eq!((seen, val.stopped_epoch()), (3, None));
    assert!(net.as_slice().iter().all(|&w| w == 2.0));
}

#[test]
fn reduce_lr_on_plateau_follows_keras_patience_cooldown_and_floor() {
    let mut net = Line::new(0);
    let mut trainer = Trainer::<Line, _, 1>::new(Sgd::new(0.1));
    let mut plateau = ReduceLROnPlateau::new(Monitor::Loss)
        .factor(0.5)
        .patience(2)
        .cooldown(1)
        .min_lr(0.03);
    let (_, rates) = drive(
        &mut plateau,
        &mut net,
        &mut trainer,
        &[1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9],
    );
    // Drops after two epochs without improvement; the epoch after a drop is cooldown; never below
    // min_lr.
    assert_eq!(rates, [0.1, 0.1, 0.1, 0.05, 0.05, 0.03, 0.03, 0.03, 0.03]);
    // An improvement smaller than min_delta (1e-4 by default) is none.
    trainer.base_lr = 0.1;
    let mut fine = ReduceLROnPlateau::new(Monitor::Accuracy).patience(1);
    let (_, rates) = drive(&mut fine, &mut net, &mut trainer, &[0.5, 0.50005, 0.6]);
    assert_eq!(rates[1], 0.1 * 0.1);
    assert_eq!(rates[2], rates[1]);
}

/// Records what `Fit` shows a callback: the epochs, the weights and the learning rate.
#[derive(Default)]
struct Recorder {
    begun: Vec<u64>,
    ended: Vec<(u64, Epoch)>,
    weights: Vec<Vec<f32>>,
    rates: Vec<f32>,
    runs: (usize, usize),
}

impl<N: Parameters> Callback<N> for Recorder {
    fn on_train_begin(&mut self, _: &mut Control<'_, N>) {
        self.runs.0 += 1;
    }
    fn on_epoch_begin(&mut self, epoch: u64, ctl: &mut Control<'_, N>) {
        self.begun.push(epoch);
        self.rates.push(ctl.learning_rate());
    }
    fn on_epoch_end(&mut self, epoch: u64, logs: &Epoch, ctl: &mut Control<'_, N>) {
        self.ended.push((epoch, *logs));
        self.weights.push(ctl.weights().to_vec());
    }
    fn on_train_end(&mut self, _: &mut Control<'_, N>) {
        self.runs.1 += 1;
    }
}

fn line_data() -> Dataset<1, [f32; 1]> {
    let x: Vec<[f32; 1]> = (0..40).map(|i| [i as f32 / 40.0]).collect();
    let t = x.iter().map(|&[x]| [1.5 * x - 0.5]).collect();
    Dataset::from_vecs(x, t).unwrap()
}

/// In a real `fit`: a scheduler turns the rate negative at epoch 6 (gradient ascent), so the
/// validation loss soon grows; EarlyStopping stops `patience` epochs after the best one and
/// restores exactly that epoch's weights.
#[test]
fn early_stopping_in_fit_restores_the_weights_of_the_best_epoch() {
    let data = line_data();
    let mut net = Line::new(1);
    let mut trainer = Trainer::new(Sgd::new(0.2));
    let mut recorder = Recorder::default();
    let mut ascent = LearningRateScheduler::new(|epoch, lr| if epoch == 6 { -0.05 } else { lr });
    let mut stop = EarlyStopping::new(Monitor::ValLoss)
        .patience(3)
        .restore_best_weights(true);
    let history = Fit::<4>::epochs(100)
        .validation_split(0.25)
        .verbose(Verbose::Silent)
        .run_with(
            &mut net,
            Mse,
            &mut trainer,
            &data,
            None,
            &mut [&mut ascent, &mut recorder, &mut stop],
        )
        .unwrap();
    let val: Vec<f32> = history
        .epochs
        .iter()
        .map(|e| e.validation.unwrap().loss)
        .collect();
    let best = val
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0;
    assert!(history.epochs.len() < 100, "{val:?}");
    assert_eq!(
        (stop.best_epoch(), stop.best()),
        (Some(best as u64), Some(val[best]))
    );
    assert_eq!(stop.stopped_epoch(), Some(best as u64 + 3));
    assert_eq!(history.epochs.len(), best + 4);
    assert_eq!(net.as_slice(), recorder.weights[best]);
    assert_eq!(recorder.ended.len(), history.epochs.len());
    assert_eq!(trainer.base_lr, -0.05);
}

/// The scheduler's rate is the rate of the epoch's steps: the same training as setting the rate
/// by hand before ten runs of one epoch.
#[test]
fn learning_rate_scheduler_sets_each_epochs_rate() {
    let data = line_data();
    let rate = |epoch: u64| 0.3 * 0.7f32.powi(epoch as i32);
    let mut scheduled = Line::new(1);
    let mut trainer = Trainer::new(Sgd::new(1.0));
    let mut recorder = Recorder::default();
    let mut schedule = LearningRateScheduler::new(|epoch, _| rate(epoch));
    Fit::<4>::epochs(10)
        .verbose(Verbose::Silent)
        .run_with(
            &mut scheduled,
            Mse,
            &mut trainer,
            &data,
            None,
            &mut [&mut schedule, &mut recorder],
        )
        .unwrap();
    assert_eq!(recorder.rates, (0..10).map(rate).collect::<Vec<_>>());
    assert_eq!(recorder.begun, (0..10).collect::<Vec<_>>());

    let mut by_hand = Line::new(1);
    let mut hand = Trainer::new(Sgd::new(1.0));
    for epoch in 0..10 {
        hand.base_lr = rate(epoch);
        Fit::<4>::epochs(1)
            .verbose(Verbose::Silent)
            .run(&mut by_hand, Mse, &mut hand, &data, None)
            .unwrap();
    }
    assert_eq!(scheduled.as_slice(), by_hand.as_slice());

    // A second run continues the epoch count.
    Fit::<4>::epochs(2)
        .verbose(Verbose::Silent)
        .run_with(
            &mut scheduled,
            Mse,
            &mut trainer,
            &data,
            None,
            &mut [&mut recorder],
        )
        .unwrap();
    assert_eq!(recorder.begun[10..], [10, 11]);
    assert_eq!(recorder.runs, (2, 2));
}

/// A diverging run still ends the callbacks' training (as after Keras' TerminateOnNaN): the best
/// weights are restored before the error returns.
#[test]
fn callbacks_end_training_also_when_fit_stops_on_a_nan() {
    let data = line_data();
    let mut net = Line::new(1);
    let start = net.clone();
    let mut recorder = Recorder::default();
    let mut stop = EarlyStopping::new(Monitor::Loss).restore_best_weights(true);
    let mut nan = LearningRateScheduler::new(|epoch, lr| if epoch == 2 { f32::NAN } else { lr });
    let err = Fit::<4>::epochs(10)
        .verbose(Verbose::Silent)
        .run_with(
            &mut net,
            Mse,
            &mut Trainer::new(Sgd::new(0.1)),
            &data,
            None,
            &mut [&mut nan, &mut recorder, &mut stop],
        )
        .unwrap_err();
    assert!(
        matches!(err, FitError::NonFiniteLoss { epoch: 3, .. }),
        "{err}"
    );
    assert_eq!(recorder.runs, (1, 1));
    assert_eq!(recorder.ended.len(), 2);
    assert_eq!(net.as_slice(), recorder.weights[1]);
    assert_ne!(net.as_slice(), start.as_slice());
}

/// Trains three epochs with the default `Verbose` when run as the child of the test below.
#[test]
fn default_verbose_child() {
    if std::env::var_os("CONSTNET_VERBOSE_CHILD").is_none() {
        return;
    }
    let data = line_data();
    Fit::<4>::epochs(3)
        .run(
            &mut Line::new(1),
            Mse,
            &mut Trainer::new(Sgd::new(0.1)),
            &data,
            Some(&data),
        )
        .unwrap();
}

/// Keras' default verbosity off a terminal: one line per epoch on stdout (it was silence), no
/// progress bar drawn into the pipe.
#[test]
fn default_verbose_prints_epoch_lines_when_stdout_is_not_a_terminal() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "default_verbose_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CONSTNET_VERBOSE_CHILD", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    // The test harness prints its own text before the first line.
    let lines: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.find("epoch ").map(|at| &l[at..]))
        .collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    for (k, line) in lines.iter().enumerate() {
        assert!(
            line.starts_with(&format!("epoch {}/3  loss ", k + 1)),
            "{line}"
        );
        assert!(line.contains("val_loss"), "{line}");
    }
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("epoch"), "{stderr}");
}
