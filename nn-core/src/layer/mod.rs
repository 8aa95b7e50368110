//! Layers, one file each. A layer is a plain value of fixed size; the `network!` macro makes a struct
//! of them and generates the code that passes data from one to the next.

mod dense;

pub use dense::Dense;

use crate::Loss;

/// The training half of a layer taking `I` inputs to `O` outputs, for batches of `B` samples.
///
/// Implemented only for layers whose activation is [`Differentiable`](crate::Differentiable):
/// the code `network!` generates for training requires it of every layer, so a network with a
/// [`Step`](crate::Step) layer cannot call a training method.
///
/// ```
/// use nn_core::{Backprop, Dense, Identity, Mse, Parameters};
/// // y = 2x + 1 against target 4 at x = 1: dL/dy = 2(y − t) = −2.
/// let layer = Dense::<1, 1, Identity>::new([[2.0]], [1.0]);
/// let x = [[1.0]];
/// let mut y = [[0.0]];
/// layer.forward(&x, &mut y);
/// let mut dz = [[0.0]];
/// let loss = <Dense<1, 1, Identity> as Backprop<1, 1, 1>>::output_delta::<Mse>(&y, &[[4.0]], &mut dz);
/// assert_eq!((loss, dz), (1.0, [[-2.0]]));
/// let mut grad = Dense::zeroed();
/// layer.backward(&x, &dz, &mut grad, None);
/// assert_eq!((grad.weight, grad.bias), ([[-2.0]], [-2.0]));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be trained",
    label = "this layer's activation has no gradient",
    note = "every layer of a network must have a `Differentiable` activation to be trained"
)]
pub trait Backprop<const I: usize, const O: usize, const B: usize> {
    /// Turns `dL/dy` into `dL/dz` in place, given the layer's outputs `y`.
    fn activation_backward(y: &[[f32; O]; B], dy: &mut [[f32; O]; B]);

    /// For an output layer: writes `dL/dz` of the batch-mean loss `L` into `dz` and returns that
    /// mean loss.
    fn output_delta<L: Loss<O>>(
        y: &[[f32; O]; B],
        target: &[L::Target; B],
        dz: &mut [[f32; O]; B],
    ) -> f32;

    /// Given the layer's inputs `x` and `dz = dL/dz`, overwrites `grad` with this layer's parameter
    /// gradients and, if `dx` is given, writes `dL/dx` into it for the layer before.
    fn backward(
        &self,
        x: &[[f32; I]; B],
        dz: &[[f32; O]; B],
        grad: &mut Self,
        dx: Option<&mut [[f32; I]; B]>,
    );
}
