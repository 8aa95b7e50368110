//! Activation functions, one file each. An activation is a zero-sized type: a layer names it in
//! its type (`Dense<784, 64, Relu>`) and the compiler inlines it into the layer's loops.
//!
//! Add your own by implementing [`Activation`] (and [`Differentiable`] if it should train).

mod identity;
mod leaky_relu;
mod relu;
mod sigmoid;
mod softmax;
mod step;
mod tanh;

pub use identity::Identity;
pub use leaky_relu::LeakyRelu;
pub use relu::Relu;
pub use sigmoid::Sigmoid;
pub use softmax::Softmax;
pub use step::Step;
pub use tanh::Tanh;

/// The loss whose gradient through this activation simplifies to `y − t` (its canonical link).
///
/// Losses use this to fuse the output activation's gradient with their own, which is both cheaper
/// and numerically stable (no `t / y` on saturated outputs).
///
/// ```
/// use nn_core::activation::{Activation, Link};
/// assert_eq!(nn_core::Softmax::LINK, Link::Softmax);
/// assert_eq!(nn_core::Relu::LINK, Link::None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// No fused form.
    None,
    /// Sigmoid with binary cross-entropy.
    Logistic,
    /// Softmax with categorical cross-entropy.
    Softmax,
}

/// Which function an [`Activation`] computes, as exporters (ONNX) name it.
///
/// ```
/// use nn_core::activation::{Activation, Op};
/// assert_eq!(nn_core::LeakyRelu::OP, Op::LeakyRelu { slope: 0.01 });
/// assert_eq!(nn_core::Identity::OP, Op::Identity);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Op {
    /// `y = z`.
    Identity,
    /// `max(z, 0)`.
    Relu,
    /// `z` if `z > 0`, else `slope · z`.
    LeakyRelu {
        /// The negative slope.
        slope: f32,
    },
    /// `1 / (1 + e^−z)`.
    Sigmoid,
    /// `tanh z`.
    Tanh,
    /// Softmax over the output vector (the last axis).
    Softmax,
    /// `1` if `z ≥ 0`, else `0`.
    Step,
    /// A function exporters do not know (a user's own activation).
    Other,
}

/// An activation function `y = f(z)`, applied to a layer's whole output vector.
///
/// ```
/// use nn_core::activation::Activation;
/// /// Squares its input (a toy; not useful for learning).
/// struct Square;
/// impl Activation for Square {
///     const NAME: &'static str = "square";
///     fn forward(z: &mut [f32]) {
///         z.iter_mut().for_each(|v| *v *= *v);
///     }
/// }
/// let mut v = [1.0, -2.0];
/// Square::forward(&mut v);
/// assert_eq!(v, [1.0, 4.0]);
/// ```
pub trait Activation {
    /// Name shown by `summary()`.
    const NAME: &'static str;
    /// Canonical-link loss, if any (see [`Link`]).
    const LINK: Link = Link::None;
    /// What the function is, for exporters (ONNX); [`Op::Other`] for a function they do not know.
    const OP: Op = Op::Other;
    /// Replaces pre-activations `z` by activations `f(z)`, in place.
    fn forward(z: &mut [f32]);
    /// [`forward`](Activation::forward) on each row of a batch; an activation overrides it where
    /// a batch is faster in one piece (softmax's vectorised exponentials).
    ///
    /// ```
    /// use nn_core::{Activation, Relu};
    /// let mut z = [[-1.0_f32, 2.0], [3.0, -4.0]];
    /// Relu::forward_rows(&mut z);
    /// assert_eq!(z, [[0.0, 2.0], [3.0, 0.0]]);
    /// ```
    #[inline]
    fn forward_rows<const N: usize>(z: &mut [[f32; N]]) {
        for z in z {
            Self::forward(z);
        }
    }
}

/// An activation with a usable gradient: the layers of a network can only be trained if every
/// activation implements this.
///
/// ```
/// use nn_core::{Differentiable, Tanh};
/// let y = [0.0_f32, 0.5];
/// let mut d = [1.0_f32, 1.0];
/// Tanh::backward(&y, &mut d); // d ← d · (1 − y²)
/// assert_eq!(d, [1.0, 0.75]);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no gradient, so a network that uses it cannot be trained",
    label = "this network has a layer whose activation is `{Self}`",
    note = "`{Self}` can still run `forward` and `predict`; to train, use a differentiable activation \
            (Sigmoid, Tanh, Relu, ...) and switch to `{Self}` for inference"
)]
pub trait Differentiable: Activation {
    /// Turns `dL/dy` into `dL/dz` in place, given the activation's output `y = f(z)`.
    ///
    /// Every activation here can express its derivative through `y`, so `z` is not kept.
    fn backward(y: &[f32], dy: &mut [f32]);
}
