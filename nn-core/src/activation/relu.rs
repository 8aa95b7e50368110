use super::{Activation, Differentiable};

/// `f(z) = max(z, 0)`.
///
/// ```
/// use nn_core::{Activation, Relu};
/// let mut z = [-1.0_f32, 0.0, 2.5];
/// Relu::forward(&mut z);
/// assert_eq!(z, [0.0, 0.0, 2.5]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Relu;

impl Activation for Relu {
    const NAME: &'static str = "relu";
    const OP: super::Op = super::Op::Relu;
    #[inline]
    fn forward(z: &mut [f32]) {
        z.iter_mut().for_each(|v| *v = v.max(0.0));
    }
}

impl Differentiable for Relu {
    #[inline]
    fn backward(y: &[f32], dy: &mut [f32]) {
        // y > 0 exactly where z > 0; the derivative at 0 is taken as 0, as in PyTorch.
        for (d, &y) in dy.iter_mut().zip(y) {
            *d = if y > 0.0 { *d } else { 0.0 };
        }
    }
}
