use super::{Activation, Differentiable};

/// `f(z) = z`: a linear layer (what `Dense<IN, OUT>` means without an activation, as in Keras).
///
/// ```
/// use nn_core::{Activation, Identity};
/// let mut z = [-1.5_f32, 2.0];
/// Identity::forward(&mut z);
/// assert_eq!(z, [-1.5, 2.0]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Identity;

impl Activation for Identity {
    const NAME: &'static str = "linear";
    const OP: super::Op = super::Op::Identity;
    #[inline]
    fn forward(_z: &mut [f32]) {}
}

impl Differentiable for Identity {
    #[inline]
    fn backward(_y: &[f32], _dy: &mut [f32]) {}
}
