//! Training checkpoints (issue 13): `ModelCheckpoint` saves the weights and the whole training
//! state, so that a run resumed from a checkpoint ends bit-identical to one never interrupted; a
//! checkpoint that does not fit the network or optimizer is refused, naming the difference.
use std::path::{Path, PathBuf};

use constnet::data::Dataset;
use constnet::io::SafetensorsCheckpoint;
use constnet::prelude::*;
use constnet::train::{
    load_checkpoint, save_checkpoint, Checkpoint, CheckpointError, CheckpointFormat, Fit, History,
    Mode, ModelCheckpoint, ModelCheckpointIn, Monitor, RawCheckpoint, Verbose,
};
use constnet::Rng;

network! {
    #[derive(Clone)]
    struct Net { hidden: Dense<2, 16, Relu>, d: Dropout<20>, out: Dense<16, 3, Softmax> }
}

network! {
    struct Wider { hidden: Dense<2, 17, Relu>, d: Dropout<20>, out: Dense<17, 3, Softmax> }
}

/// Three clusters in the plane, labelled by the third of the angle a point is in.
fn clusters(n: usize, seed: u64) -> Dataset<2, usize> {
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
    Dataset::new(x, labels, 3).unwrap()
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("constnet-ckpt-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fit(epochs: usize) -> Fit<8> {
    Fit::<8>::epochs(epochs)
        .seed(11)
        .validation_split(0.25)
        .verbose(Verbose::Silent)
}

/// Six epochs of Adam (with dropout, a learning-rate drop after epoch 2 and a shuffled order),
/// against three epochs, a checkpoint, a fresh process-like start (new network, new trainer, the
/// checkpoint loaded) and three more: the weights, the optimizer's moments and counters end
/// bit-identical, in both formats.
#[test]
fn resuming_from_a_checkpoint_continues_bit_identically() {
    let data = clusters(200, 5);
    let dir = scratch("resume");

    let mut straight = Net::new(1);
    let mut trainer = Trainer::<Net, _, 8>::new(Adam::new(0.01));
    let first = fit(3)
        .run(
            &mut straight,
            SparseCategoricalCrossEntropy,
            &mut trainer,
            &data,
            None,
        )
        .unwrap();
    trainer.base_lr = 0.003;
    let second = fit(3)
        .run(
            &mut straight,
            SparseCategoricalCrossEntropy,
            &mut trainer,
            &data,
            None,
        )
        .unwrap();

    for (format, file) in [
        (
            &SafetensorsCheckpoint as &dyn CheckpointFormat,
            "run-{epoch}.safetensors",
        ),
        (&RawCheckpoint, "run-{epoch}.ckpt"),
    ] {
        let path = dir.join(file);
        let mut net = Net::new(1);
        let mut t = Trainer::<Net, _, 8>::new(Adam::new(0.01));
        let mut every = ModelCheckpointIn::with_format(&path, format);
        let h1 = fit(3)
            .run_with(
                &mut net,
                SparseCategoricalCrossEntropy,
                &mut t,
                &data,
                None,
                &mut [&mut every],
            )
            .unwrap();
        assert_eq!(scores(&h1), scores(&first));
        assert_eq!(every.saved().len(), 3);
        let last = every.saved()[2].clone();
        assert!(last
            .to_string_lossy()
            .ends_with(&file.replace("{epoch}", "3")));

        // Resume from the file alone, into a differently initialised network.
        let mut resumed = Net::new(99);
        let mut fresh = Trainer::<Net, _, 8>::new(Adam::new(0.01));
        load_checkpoint(&last, &mut resumed, &mut fresh, format).unwrap();
        assert_eq!(
            (fresh.steps, fresh.epochs, fresh.optimizer.iterations),
            (54, 3, 54)
        );
        fresh.base_lr = 0.003;
        let h2 = fit(3)
            .run(
                &mut resumed,
                SparseCategoricalCrossEntropy,
                &mut fresh,
                &data,
                None,
            )
            .unwrap();
        assert_eq!(scores(&h2), scores(&second));
        assert_eq!(resumed.as_slice(), straight.as_slice());
        assert_eq!(fresh.state.m.as_slice(), trainer.state.m.as_slice());
        assert_eq!(fresh.state.v.as_slice(), trainer.state.v.as_slice());
        assert_eq!(fresh.optimizer.iterations, trainer.optimizer.iterations);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn scores(h: &History) -> Vec<(f32, f32)> {
    h.epochs.iter().map(|e| (e.loss, e.accuracy)).collect()
}

/// `save_best_only`: a save exactly at the epochs whose monitored value beats every earlier one
/// (strictly, as Keras' `np.less`), and the file holds the weights of the last of them.
#[test]
fn save_best_only_saves_exactly_the_improving_epochs() {
    let data = clusters(120, 8);
    let dir = scratch("best");
    let path = dir.join("best.ckpt");
    let mut best = ModelCheckpointIn::<RawCheckpoint>::new(&path)
        .monitor(Monitor::ValAccuracy)
        .save_best_only(true);
    // A second one that saves the worst (mode max on a loss): the first epoch, then the rises.
    let mut worst = ModelCheckpointIn::<RawCheckpoint>::new(dir.join("worst-{epoch}.ckpt"))
        .monitor(Monitor::ValLoss)
        .mode(Mode::Max)
        .save_best_only(true);
    let mut net = Net::new(3);
    let mut trainer = Trainer::<Net, _, 8>::new(Sgd::new(0.5).momentum(0.9));
    let history = fit(12)
        .run_with(
            &mut net,
            SparseCategoricalCrossEntropy,
            &mut trainer,
            &data,
            None,
            &mut [&mut best, &mut worst],
        )
        .unwrap();

    let improving = |value: fn(&constnet::train::Epoch) -> f32, larger: bool| {
        let mut record: Option<f32> = None;
        let mut epochs = Vec::new();
        for (i, e) in history.epochs.iter().enumerate() {
            let v = value(e);
            if record.is_none_or(|r| if larger { v > r } else { v < r }) {
                record = Some(v);
                epochs.push(i + 1);
            }
        }
        epochs
    };
    let acc = improving(|e| e.validation.unwrap().accuracy, true);
    assert_eq!(best.saved().len(), acc.len());
    assert!(
        acc.len() < 12,
        "{acc:?}: val_accuracy must plateau at some point"
    );
    let rises = improving(|e| e.validation.unwrap().loss, true);
    let names: Vec<PathBuf> = rises
        .iter()
        .map(|e| dir.join(format!("worst-{e}.ckpt")))
        .collect();
    assert_eq!(worst.saved(), names);

    // The best file restores to the network of the last improving epoch: its validation accuracy
    // is the best one.
    let mut back = Net::new(0);
    load_checkpoint(
        &path,
        &mut back,
        &mut Trainer::<Net, _, 8>::new(Sgd::new(0.5).momentum(0.9)),
        &RawCheckpoint,
    )
    .unwrap();
    let (_, held_out) = data.split(90);
    let e = constnet::train::evaluate(&back, SparseCategoricalCrossEntropy, &held_out).unwrap();
    assert_eq!(Some(e.accuracy), best.best());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Another architecture, another optimizer, a corrupted value: each refused with what differs,
/// and the network and trainer left as they were.
#[test]
fn a_checkpoint_that_does_not_fit_is_refused_naming_the_difference() {
    let mut net = Net::new(1);
    let mut trainer = Trainer::<Net, _, 8>::new(Adam::default());
    fit(1)
        .run(
            &mut net,
            SparseCategoricalCrossEntropy,
            &mut trainer,
            &clusters(64, 1),
            None,
        )
        .unwrap();
    let good = Checkpoint::of(&net, &trainer).unwrap();

    let mut target = Net::new(5);
    let mut fresh = Trainer::<Net, _, 8>::new(Adam::default());
    let before = target.as_slice().to_vec();
    let mut check = |c: &Checkpoint, t: &mut dyn constnet::train::TrainerAccess, expected: &str| {
        let err = c.restore(&mut target, t).unwrap_err();
        assert_eq!(err.to_string(), expected);
        assert_eq!(target.as_slice(), before);
    };

    let wider = Checkpoint::of(
        &Wider::new(1),
        &Trainer::<Wider, _, 8>::new(Adam::default()),
    )
    .unwrap();
    check(
        &wider,
        &mut fresh,
        "tensor `hidden.weight`: the network's shape is [16, 2], the checkpoint's [17, 2]",
    );
    check(
        &good,
        &mut Trainer::<Net, _, 8>::new(RmsProp::default()),
        "the checkpoint is of optimizer Adam, the trainer's is RmsProp",
    );
    let mut momentum = Checkpoint::of(
        &net,
        &Trainer::<Net, _, 8>::new(Sgd::new(0.1).momentum(0.9)),
    )
    .unwrap();
    // Same tensors' names as Adam's? No: `optimizer.momentum.*` — renamed to Adam's kind, the
    // names still tell.
    for (k, v) in &mut momentum.metadata {
        if k == "optimizer" {
            *v = "Adam".into();
        }
    }
    check(
        &momentum,
        &mut fresh,
        "tensor `optimizer.m.hidden.weight` is missing from the checkpoint (it has `hidden.weight`, \
         `hidden.bias`, `out.weight`, `out.bias`, `optimizer.momentum.hidden.weight`, \
         `optimizer.momentum.hidden.bias`, …)",
    );
    let mut extra = good.clone();
    extra.tensors.push(constnet::train::CheckpointTensor {
        name: "extra.weight".into(),
        shape: vec![1],
        values: vec![0.0],
    });
    check(
        &extra,
        &mut fresh,
        "the checkpoint has tensor `extra.weight`, which this network and optimizer do not",
    );
    let mut nan = good.clone();
    nan.tensors[5].values[2] = f32::NAN;
    let name = nan.tensors[5].name.clone();
    check(
        &nan,
        &mut fresh,
        &format!("tensor `{name}`[2] is NaN: a checkpoint must be finite"),
    );
    let mut no_steps = good.clone();
    no_steps.metadata.retain(|(k, _)| k != "trainer.steps");
    check(&no_steps, &mut fresh, "metadata `trainer.steps`: missing");
    assert_eq!((fresh.steps, fresh.optimizer.iterations), (0, 0));
    assert!(fresh.state.m.as_slice().iter().all(|&m| m == 0.0));

    // And the good one restores.
    good.restore(&mut target, &mut fresh).unwrap();
    assert_eq!(target.as_slice(), net.as_slice());
    assert_eq!(fresh.state.v.as_slice(), trainer.state.v.as_slice());
}

/// Every truncation and a few corruptions of a checkpoint in either format is an error, never a
/// panic; a file larger than any checkpoint of the network is refused before it is read.
#[test]
fn damaged_checkpoint_files_are_errors_not_panics() {
    let net = Net::new(1);
    let trainer = Trainer::<Net, _, 8>::new(Adam::default());
    let c = Checkpoint::of(&net, &trainer).unwrap();
    for format in [
        &SafetensorsCheckpoint as &dyn CheckpointFormat,
        &RawCheckpoint,
    ] {
        let bytes = c.to_bytes(format).unwrap();
        for len in 0..bytes.len() {
            assert!(format.decode(&bytes[..len]).is_err(), "{len}");
        }
        // Flipped bytes: decoded or refused, never a panic; a decoded one restores or is refused.
        for at in (0..bytes.len()).step_by(7) {
            let mut bad = bytes.clone();
            bad[at] ^= 0xA5;
            if let Ok(back) = format.decode(&bad) {
                let _ = back.restore(
                    &mut Net::new(0),
                    &mut Trainer::<Net, _, 8>::new(Adam::default()),
                );
            }
        }
    }
    // A raw header announcing 2^32 − 1 tensors in a few bytes.
    let mut huge = b"CNETCKPT\x01\0\0\0\0\0\0\0".to_vec();
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        RawCheckpoint.decode(&huge),
        Err(CheckpointError::Malformed(m)) if m.contains("4294967295 entries")
    ));

    let dir = scratch("damaged");
    let big = dir.join("big.ckpt");
    std::fs::write(&big, vec![0u8; 8 << 20]).unwrap();
    let err = load_checkpoint(
        &big,
        &mut Net::new(0),
        &mut Trainer::<Net, _, 8>::new(Adam::default()),
        &RawCheckpoint,
    )
    .unwrap_err();
    assert!(
        matches!(err, CheckpointError::TooLarge { found, .. } if found == 8 << 20),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Saving replaces a file atomically (no temporary file is left); a save that fails stops
/// training, and the callback holds the error.
#[test]
fn saves_are_atomic_and_a_failed_save_stops_training() {
    let dir = scratch("atomic");
    let path = dir.join("w.safetensors");
    std::fs::write(&path, b"what the user had").unwrap();
    let net = Net::new(1);
    let trainer = Trainer::<Net, _, 8>::new(Adam::default());
    save_checkpoint(&path, &net, &trainer, &SafetensorsCheckpoint).unwrap();
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files, ["w.safetensors"]);
    let mut back = Net::new(2);
    load_checkpoint(
        &path,
        &mut back,
        &mut Trainer::<Net, _, 8>::new(Adam::default()),
        &SafetensorsCheckpoint,
    )
    .unwrap();
    assert_eq!(back.as_slice(), net.as_slice());

    // The facade's `ModelCheckpoint` writes safetensors (the `io` feature is on here).
    let mut default = ModelCheckpoint::new(dir.join("default-{epoch}.safetensors"));
    fit(1)
        .run_with(
            &mut Net::new(1),
            SparseCategoricalCrossEntropy,
            &mut Trainer::<Net, _, 8>::new(Adam::default()),
            &clusters(64, 2),
            None,
            &mut [&mut default],
        )
        .unwrap();
    let bytes = std::fs::read(dir.join("default-1.safetensors")).unwrap();
    let c = SafetensorsCheckpoint.decode(&bytes).unwrap();
    assert_eq!(c.get("trainer.epochs"), Some("1"));
    assert!(RawCheckpoint.decode(&bytes).is_err());

    // Into a directory that does not exist: epoch 1 fails, training stops after it.
    let nowhere = Path::new(&dir)
        .join("missing")
        .join("w-{epoch}.safetensors");
    let mut cb = ModelCheckpoint::new(nowhere);
    let history = fit(5)
        .run_with(
            &mut Net::new(1),
            SparseCategoricalCrossEntropy,
            &mut Trainer::<Net, _, 8>::new(Adam::default()),
            &clusters(64, 2),
            None,
            &mut [&mut cb],
        )
        .unwrap();
    assert_eq!(history.epochs.len(), 1);
    assert!(
        matches!(cb.error(), Some(CheckpointError::Io { .. })),
        "{:?}",
        cb.error()
    );
    assert!(cb.saved().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}
