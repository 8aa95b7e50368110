//! Forward and backward passes of a small network against values computed by hand (in f64, see the
//! comments), and the activations against their closed forms.
use constnet::prelude::*;

network! {
    #[derive(Clone, Debug, PartialEq)]
    struct Tiny { hidden: Dense<2, 2, Relu>, out: Dense<2, 1, Sigmoid> }
}

fn tiny() -> Tiny {
    Tiny {
        hidden: Dense::new([[1.0, -1.0], [0.5, 2.0]], [0.0, -1.0]),
        out: Dense::new([[2.0, -0.5]], [0.25]),
    }
}

fn close(a: f32, b: f64) -> bool {
    (a as f64 - b).abs() <= 1e-6 * b.abs().max(1.0)
}

#[test]
fn forward_matches_hand_computation() {
    // z1 = [1−2, 0.5+4−1] = [−1, 3.5] → relu [0, 3.5]; z2 = 2·0 − 0.5·3.5 + 0.25 = −1.5
    // y = σ(−1.5) = 0.18242552380635635
    let y = tiny().forward(&[1.0, 2.0]);
    assert!(close(y[0], 0.182_425_523_806_356_35), "{y:?}");
}

#[test]
fn gradient_matches_hand_computation() {
    let net = tiny();
    let mut g = Tiny::zeroed();
    let loss = net.gradient(Mse, &[[1.0, 2.0]], &[[1.0]], &mut g);
    // L = (y − 1)² ; dz2 = 2(y − 1)·y(1 − y) = −0.24387666485508555
    let dz2 = -0.243_876_664_855_085_55;
    assert!(close(loss, 0.668_428_024_123_310_8), "{loss}");
    assert!(close(g.out.bias[0], dz2));
    assert!(close(g.out.weight[0][0], 0.0) && close(g.out.weight[0][1], 3.5 * dz2));
    // da1 = W2ᵀ·dz2 = [2dz2, −0.5dz2]; relu passes only the second unit (z1 = 3.5 > 0)
    let dz1 = -0.5 * dz2;
    assert_eq!(g.hidden.weight[0], [0.0, 0.0]);
    assert_eq!(g.hidden.bias[0], 0.0);
    assert!(close(g.hidden.weight[1][0], dz1) && close(g.hidden.weight[1][1], 2.0 * dz1));
    assert!(close(g.hidden.bias[1], dz1));
}

#[test]
fn softmax_matches_closed_form() {
    // PyTorch: torch.softmax(torch.tensor([1., 2., 3.]), 0)
    let mut z = [1.0f32, 2.0, 3.0];
    Softmax::forward(&mut z);
    let expect = [
        0.090_030_573_170_380_46,
        0.244_728_471_054_797_67,
        0.665_240_955_774_821_9,
    ];
    for (a, b) in z.iter().zip(expect) {
        assert!(close(*a, b), "{z:?}");
    }
}

#[test]
fn activations_match_closed_forms() {
    let zs = [-2.0f32, -0.5, 0.0, 0.5, 2.0];
    let check = |f: fn(&mut [f32]), reference: fn(f64) -> f64| {
        let mut v = zs;
        f(&mut v);
        for (y, z) in v.iter().zip(zs) {
            assert!(close(*y, reference(z as f64)), "{y} vs f({z})");
        }
    };
    check(Relu::forward, |z| z.max(0.0));
    check(LeakyRelu::forward, |z| if z > 0.0 { z } else { 0.01 * z });
    check(Sigmoid::forward, |z| 1.0 / (1.0 + (-z).exp()));
    check(Tanh::forward, f64::tanh);
    check(Identity::forward, |z| z);
    check(Step::forward, |z| if z >= 0.0 { 1.0 } else { 0.0 });
}

#[test]
fn new_is_deterministic_and_seed_dependent() {
    assert_eq!(Tiny::new(3), Tiny::new(3));
    assert_ne!(Tiny::new(3), Tiny::new(4));
    // Biases start at zero and weights within Glorot's limit √(6 / (2 + 2)) ≈ 1.22, which a ReLU
    // layer uses too (Keras' default); He's would be √(6 / 2) ≈ 1.73.
    let net = Tiny::new(5);
    assert_eq!(net.hidden.bias, [0.0; 2]);
    let glorot = (6.0f32 / 4.0).sqrt();
    assert!(net
        .hidden
        .weight
        .as_flattened()
        .iter()
        .all(|w| w.abs() <= glorot));
}

/// `init = He` draws that layer He-uniform (Keras' `he_uniform`), the others stay Glorot-uniform.
/// With 100 inputs and 300 outputs the limits are √(6/100) ≈ 0.245 (He) and √(6/400) ≈ 0.122
/// (Glorot): 30,000 draws reach beyond 0.2 only from He's range.
#[test]
fn init_he_is_an_explicit_option() {
    network! {
        struct Mixed {
            he: Dense<100, 300, Relu, init = He>,
            glorot: Dense<300, 100, Relu>,
            c: Dense<100, 2, Softmax, init = Glorot>,
        }
    }
    let net = Mixed::new(7);
    let largest = |w: &[f32]| w.iter().fold(0f32, |m, w| m.max(w.abs()));
    let he = largest(net.he.weight.as_flattened());
    assert!(he > 0.2 && he <= (6.0f32 / 100.0).sqrt(), "{he}");
    let glorot = largest(net.glorot.weight.as_flattened());
    assert!(
        glorot > 0.12 && glorot <= (6.0f32 / 400.0).sqrt(),
        "{glorot}"
    );
    assert_eq!(net.he.bias, [0.0; 300]);
}

#[test]
fn summary_lists_layers_and_survives_long_names() {
    network! {
        struct Long {
            a_layer_name_that_is_much_longer_than_any_column_of_the_summary_table_would_ever_allow_for_it_and_longer_than_its_128_byte_buffer: Dense<2, 3, Relu>,
            out: Dense<3, 1>,
        }
    }
    let text = Long::summary().to_string();
    assert!(text.contains("a_layer_name_that_is_much_longer"), "{text}");
    assert!(text.contains("out (Dense, linear)"), "{text}");
    assert!(text.contains("Total params: 13 (52 B)"), "{text}");
}
