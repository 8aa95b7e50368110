use super::{Activation, Differentiable, Link};

/// `f(z) = 1 / (1 + e^(−z))`.
///
/// ```
/// use nn_core::{Activation, Sigmoid};
/// let mut z = [0.0_f32, -1e4, 1e4];
/// Sigmoid::forward(&mut z);
/// assert_eq!(z, [0.5, 0.0, 1.0]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sigmoid;

impl Activation for Sigmoid {
    const NAME: &'static str = "sigmoid";
    const OP: super::Op = super::Op::Sigmoid;
    const LINK: Link = Link::Logistic;
    #[inline]
    fn forward(z: &mut [f32]) {
        // exp(-z) overflows to +inf for very negative z, giving exactly 0: no NaN.
        z.iter_mut()
            .for_each(|v| *v = 1.0 / (1.0 + libm::expf(-*v)));
    }
}

impl Differentiable for Sigmoid {
    #[inline]
    fn backward(y: &[f32], dy: &mut [f32]) {
        for (d, &y) in dy.iter_mut().zip(y) {
            *d *= y * (1.0 - y);
        }
    }
}
