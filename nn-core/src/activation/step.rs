use super::Activation;

/// Heaviside step: `f(z) = 1` for `z ≥ 0`, else `0` — the perceptron's activation.
///
/// Its derivative is zero almost everywhere, so it does **not** implement
/// [`Differentiable`](super::Differentiable): a network with a `Step` layer can run `forward` and
/// `predict`, and calling a training method on it is a compile error.
///
/// ```
/// use nn_core::{Activation, Step};
/// let mut z = [-0.5_f32, 0.0, 2.0];
/// Step::forward(&mut z);
/// assert_eq!(z, [0.0, 1.0, 1.0]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Step;

impl Activation for Step {
    const NAME: &'static str = "step";
    const OP: super::Op = super::Op::Step;
    #[inline]
    fn forward(z: &mut [f32]) {
        z.iter_mut()
            .for_each(|v| *v = if *v >= 0.0 { 1.0 } else { 0.0 });
    }
}
