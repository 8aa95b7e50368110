use super::{Activation, Differentiable};

/// `f(z) = z` for `z > 0`, else `0.01 · z` (PyTorch's default slope).
///
/// For another slope, copy this file into your crate with your constant: an activation is any type
/// that implements [`Activation`].
///
/// ```
/// use nn_core::{Activation, LeakyRelu};
/// let mut z = [-2.0_f32, 3.0];
/// LeakyRelu::forward(&mut z);
/// assert_eq!(z, [-0.02, 3.0]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeakyRelu;

impl LeakyRelu {
    /// Slope for negative inputs.
    pub const SLOPE: f32 = 0.01;
}

impl Activation for LeakyRelu {
    const NAME: &'static str = "leaky_relu";
    const OP: super::Op = super::Op::LeakyRelu { slope: Self::SLOPE };
    #[inline]
    fn forward(z: &mut [f32]) {
        z.iter_mut()
            .for_each(|v| *v = if *v > 0.0 { *v } else { *v * Self::SLOPE });
    }
}

impl Differentiable for LeakyRelu {
    #[inline]
    fn backward(y: &[f32], dy: &mut [f32]) {
        // The slope is positive, so y keeps z's sign.
        for (d, &y) in dy.iter_mut().zip(y) {
            *d = if y > 0.0 { *d } else { *d * Self::SLOPE };
        }
    }
}
