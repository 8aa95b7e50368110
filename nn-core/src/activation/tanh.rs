use super::{Activation, Differentiable};

/// `f(z) = tanh(z)`.
///
/// ```
/// use nn_core::{Activation, Tanh};
/// let mut z = [0.0_f32, 1e4];
/// Tanh::forward(&mut z);
/// assert_eq!(z, [0.0, 1.0]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tanh;

impl Activation for Tanh {
    const NAME: &'static str = "tanh";
    const OP: super::Op = super::Op::Tanh;
    #[inline]
    fn forward(z: &mut [f32]) {
        z.iter_mut().for_each(|v| *v = libm::tanhf(*v));
    }
}

impl Differentiable for Tanh {
    #[inline]
    fn backward(y: &[f32], dy: &mut [f32]) {
        for (d, &y) in dy.iter_mut().zip(y) {
            *d *= 1.0 - y * y;
        }
    }
}
