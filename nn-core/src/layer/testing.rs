//! Test helpers shared by the layer files: a finite-difference check of any [`Backprop`] layer.

use std::vec::Vec;

use super::{Backprop, Layer, Tensor};
use crate::activation::Differentiable;
use crate::{Rng, Zeroed};

/// Random values in `[-1, 1)` from `seed`.
pub fn random<T: Tensor>(seed: u64) -> T {
    let mut t = T::ZERO;
    let mut rng = Rng::new(seed);
    for v in t.flat_mut() {
        *v = rng.uniform(-1.0, 1.0);
    }
    t
}

/// `L = Σ y·r` over the batch, in f64, for fixed random `r` (so `dL/dy = r`).
fn probe<L: Backprop<B>, const B: usize>(
    layer: &L,
    x: &[L::Input; B],
    r: &[L::Output; B],
    seed: u64,
) -> f64 {
    let mut y = [L::Output::ZERO; B];
    let mut scratch = L::Scratch::zeroed();
    layer.forward_train(x, &mut y, &mut scratch, &mut Rng::new(seed));
    y.iter()
        .zip(r)
        .flat_map(|(y, r)| y.flat().iter().zip(r.flat()))
        .map(|(&y, &r)| f64::from(y) * f64::from(r))
        .sum()
}

/// Checks `backward` against central differences of `L = Σ y·r` for every parameter and every
/// input: `|analytic − numeric| ≤ tol · max(1, |numeric|)`. The forward pass in training mode
/// must be deterministic for a given rng seed (dropout draws the same mask). Returns the largest
/// error seen, for the test to print.
pub fn check_gradients<L, const B: usize>(layer: &L, x: &[L::Input; B], seed: u64, tol: f64) -> f64
where
    L: Backprop<B> + Copy,
    L::Activation: Differentiable,
{
    let r: [L::Output; B] = core::array::from_fn(|b| random(seed ^ 0xABCD ^ b as u64));
    // Analytic.
    let mut y = [L::Output::ZERO; B];
    let mut scratch = L::Scratch::zeroed();
    layer.forward_train(x, &mut y, &mut scratch, &mut Rng::new(seed));
    let mut dz = r;
    L::activation_backward(&y, &mut dz);
    let mut grad = L::zeroed();
    let mut dx = [L::Input::ZERO; B];
    layer.backward(x, &y, &dz, &scratch, &mut grad, Some(&mut dx));

    let h = 1e-2f32;
    let mut worst = 0.0f64;
    let mut check = |what: &str, i: usize, analytic: f32, up: f64, down: f64| {
        let numeric = (up - down) / (2.0 * f64::from(h));
        let err = (f64::from(analytic) - numeric).abs() / numeric.abs().max(1.0);
        worst = worst.max(err);
        assert!(
            err <= tol,
            "{what} {i}: analytic {analytic}, numeric {numeric} (error {err:.2e} > {tol:.0e})"
        );
    };
    let analytic: Vec<f32> = grad.as_slice().to_vec();
    for (i, &analytic) in analytic.iter().enumerate() {
        let mut p = *layer;
        let v = p.as_slice()[i];
        p.as_mut_slice()[i] = v + h;
        let up = probe(&p, x, &r, seed);
        p.as_mut_slice()[i] = v - h;
        let down = probe(&p, x, &r, seed);
        check("parameter", i, analytic, up, down);
    }
    for b in 0..B {
        for i in 0..L::Input::LEN {
            let mut xs = *x;
            let v = xs[b].flat()[i];
            xs[b].flat_mut()[i] = v + h;
            let up = probe(layer, &xs, &r, seed);
            xs[b].flat_mut()[i] = v - h;
            let down = probe(layer, &xs, &r, seed);
            check("input", b * L::Input::LEN + i, dx[b].flat()[i], up, down);
        }
    }
    worst
}

/// A layer initialised from `seed`, with biases (its last tensor) set to `0.1·i − 0.2` so that a
/// bias mix-up shows.
pub fn initialised<L: Layer + Copy>(seed: u64) -> L {
    let mut layer = L::zeroed();
    layer.init(&mut Rng::new(seed));
    let n = L::LEN;
    let bias = L::TENSORS.last().map_or(0, |t| t.len());
    for (i, v) in layer.as_mut_slice()[n - bias..].iter_mut().enumerate() {
        *v = 0.1 * i as f32 - 0.2;
    }
    layer
}

/// [`check_gradients`] of an [`initialised`] layer on two random samples, tolerance 2e-3.
pub fn check_layer<L>(seed: u64)
where
    L: Backprop<2> + Copy,
    L::Activation: Differentiable,
{
    let layer: L = initialised(seed);
    let x: [L::Input; 2] = [random(seed + 1), random(seed + 2)];
    let worst = check_gradients(&layer, &x, seed + 3, 2e-3);
    assert!(worst < 2e-3, "{worst}");
}

#[test]
fn dense_passes_the_check() {
    use crate::{Dense, Tanh};
    let mut layer = Dense::<3, 2, Tanh>::zeroed();
    layer.init(&mut Rng::new(1));
    layer.bias = [0.1, -0.2];
    let x: [[f32; 3]; 2] = [random(5), random(6)];
    let worst = check_gradients(&layer, &x, 9, 2e-3);
    assert!(worst < 2e-3);
}
