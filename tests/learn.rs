//! The XOR network of the tutorials learns, from several seeds.
use constnet::prelude::*;

network! {
    pub struct Xor { Dense<2, 4, Tanh>, Dense<4, 1, Sigmoid> }
}

const X: [[f32; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
const T: [[f32; 1]; 4] = [[0.0], [1.0], [1.0], [0.0]];

fn trained<O: Optimizer<Xor>>(seed: u64, mut opt: O, epochs: usize) -> Xor {
    let mut net = Xor::new(seed);
    let mut grads = Xor::zeroed();
    let mut state = opt.new_state();
    for _ in 0..epochs {
        net.train_step(Mse, &X, &T, &mut grads, &mut opt, &mut state);
    }
    net
}

fn assert_solves_xor(net: &Xor, what: &str) {
    let mut mse = 0.0;
    for (x, t) in X.iter().zip(&T) {
        let y = net.forward(x)[0];
        assert_eq!(y > 0.5, t[0] > 0.5, "{what}: {x:?} -> {y}");
        mse += (y - t[0]) * (y - t[0]) / 4.0;
    }
    assert!(mse < 0.02, "{what}: mse {mse}");
}

#[test]
fn xor_learns_with_sgd_from_several_seeds() {
    for seed in [1, 2, 3, 42, 1234] {
        assert_solves_xor(
            &trained(seed, Sgd::new(0.5), 5000),
            &format!("sgd seed {seed}"),
        );
    }
}

#[test]
fn xor_learns_with_every_optimizer() {
    let seed = 7;
    assert_solves_xor(
        &trained(seed, Sgd::new(0.2).momentum(0.9), 2000),
        "momentum",
    );
    assert_solves_xor(
        &trained(
            seed,
            Sgd::new(0.2).decay(1e-4).momentum(0.9).nesterov(true),
            2000,
        ),
        "nesterov",
    );
    assert_solves_xor(&trained(seed, Adam::new(0.05), 2000), "adam");
    assert_solves_xor(&trained(seed, RmsProp::new(0.02), 2000), "rmsprop");
    assert_solves_xor(&trained(seed, AdaGrad::new(0.3), 3000), "adagrad");
}

#[test]
fn training_is_deterministic() {
    let a = trained(9, Adam::new(0.05), 300);
    let b = trained(9, Adam::new(0.05), 300);
    assert_eq!(a.as_slice(), b.as_slice());
}
