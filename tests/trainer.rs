//! The trainer keeps the complete optimizer state together: initial conditions, the step counter,
//! schedules.
use constnet::optim::{ExponentialDecay, Schedule, StepDecay};
use constnet::prelude::*;

network! {
    #[derive(Clone)]
    pub struct Net { Dense<3, 4, Tanh>, Dense<4, 2, Softmax> }
}

fn batch() -> ([[f32; 3]; 4], [usize; 4]) {
    (
        [
            [0.1, 0.2, 0.3],
            [1.0, -1.0, 0.5],
            [0.0, 0.3, -0.2],
            [0.7, 0.7, 0.7],
        ],
        [0, 1, 1, 0],
    )
}

/// AdaGrad's accumulators start at its `initial_accumulator` (Keras: 0.1), boxed or not: the trainer
/// always resets the state it creates.
#[test]
fn adagrad_starts_from_its_initial_accumulator() {
    let boxed = Trainer::<Net, _, 4>::boxed(AdaGrad::default());
    assert!(boxed.state.as_slice().iter().all(|&a| a == 0.1));
    let by_value = Trainer::<Net, _, 4>::new(AdaGrad::default());
    assert_eq!(boxed.state.as_slice(), by_value.state.as_slice());
}

/// The trainer's steps are the optimizer's: Adam's bias correction continues across calls, and
/// training through a trainer equals the hand-written loop with the same optimizer and state.
#[test]
fn trainer_steps_equal_the_hand_written_loop() {
    let (x, t) = batch();
    let mut a = Net::new(1);
    let mut b = a.clone();
    let mut trainer = Trainer::<Net, _, 4>::new(Adam::new(0.01));
    let (mut grads, mut adam) = (Net::zeroed(), Adam::new(0.01));
    let mut state = adam.new_state();
    for _ in 0..50 {
        let la = trainer.step(&mut a, SparseCategoricalCrossEntropy, &x, &t);
        let lb = b.train_step(
            SparseCategoricalCrossEntropy,
            &x,
            &t,
            &mut grads,
            &mut adam,
            &mut state,
        );
        assert_eq!(la, lb);
    }
    assert_eq!(a.as_slice(), b.as_slice());
    assert_eq!((trainer.steps, trainer.optimizer.iterations), (50, 50));
}

/// A schedule sets the learning rate of every step from the base rate.
#[test]
fn schedules_drive_the_learning_rate() {
    let (x, t) = batch();
    let mut net = Net::new(2);
    let schedule = ExponentialDecay {
        steps: 10,
        rate: 0.5,
    };
    let mut trainer = Trainer::<Net, _, 4, _>::with_schedule(Sgd::new(0.2), schedule);
    for step in 0..25u64 {
        trainer.step(&mut net, SparseCategoricalCrossEntropy, &x, &t);
        assert_eq!(trainer.optimizer.lr, schedule.learning_rate(0.2, step));
    }
    let s = StepDecay {
        every: 10,
        factor: 0.1,
    };
    let mut trainer = Trainer::<Net, _, 4>::new(Adam::new(0.1)).schedule(s);
    for _ in 0..11 {
        trainer.step(&mut net, SparseCategoricalCrossEntropy, &x, &t);
    }
    assert!((trainer.optimizer.lr - 0.01).abs() < 1e-9);
}

/// A trainer made in const evaluation (for a `static`) trains exactly as one made at run time: its
/// optimizer state gets its initial condition (AdaGrad: 0.1) at the first step.
#[test]
fn a_static_trainer_equals_a_runtime_one() {
    use std::sync::Mutex;
    static TRAINER: Mutex<Trainer<Net, AdaGrad, 4>> =
        Mutex::new(Trainer::new_static(AdaGrad::new(0.1)));
    let (x, t) = batch();
    let mut a = Net::new(5);
    let mut b = a.clone();
    let mut runtime = Trainer::<Net, _, 4>::new(AdaGrad::new(0.1));
    let mut from_static = TRAINER.lock().unwrap();
    for _ in 0..20 {
        let la = runtime.step(&mut a, SparseCategoricalCrossEntropy, &x, &t);
        let lb = from_static.step(&mut b, SparseCategoricalCrossEntropy, &x, &t);
        assert_eq!(la, lb);
    }
    assert_eq!(a.as_slice(), b.as_slice());
    assert_eq!(runtime.state.as_slice(), from_static.state.as_slice());
    assert_eq!(from_static.base_lr, 0.1);
}
