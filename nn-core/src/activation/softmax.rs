use super::{Activation, Differentiable, Link};

/// `f(z)ᵢ = e^(zᵢ) / Σⱼ e^(zⱼ)`, computed after subtracting `max z` so that no logit overflows.
///
/// ```
/// use nn_core::{Activation, Softmax};
/// let mut z = [1e4_f32, -1e4, 1e4];
/// Softmax::forward(&mut z);
/// assert_eq!(z, [0.5, 0.0, 0.5]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Softmax;

impl Activation for Softmax {
    const NAME: &'static str = "softmax";
    const OP: super::Op = super::Op::Softmax;
    const LINK: Link = Link::Softmax;
    #[inline]
    fn forward(z: &mut [f32]) {
        let width = z.len();
        crate::kernel::SoftmaxRows { z, width }.launch();
    }
    #[inline]
    fn forward_rows<const N: usize>(z: &mut [[f32; N]]) {
        // One kernel call for the batch: the exponentials are vectorised (bit for bit libm's).
        let z = z.as_flattened_mut();
        crate::kernel::SoftmaxRows { z, width: N }.launch();
    }
}

impl Differentiable for Softmax {
    #[inline]
    fn backward(y: &[f32], dy: &mut [f32]) {
        // Jacobian-vector product: dzᵢ = yᵢ (dyᵢ − Σⱼ dyⱼ yⱼ).
        let dot: f32 = dy.iter().zip(y).map(|(d, y)| d * y).sum();
        for (d, &y) in dy.iter_mut().zip(y) {
            *d = y * (*d - dot);
        }
    }
}
