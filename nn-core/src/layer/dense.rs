use core::fmt;
use core::marker::PhantomData;

use super::{Backprop, Init, Layer, Op, ParamTensor};
use crate::activation::{Activation, Differentiable, Identity};
use crate::{kernel, Parameters, Rng};

/// A fully connected layer: `y = A(W·x + b)` with `W: [[f32; I]; O]` and `b: [f32; O]`.
///
/// Row `o` of `weight` holds the `I` weights into output `o`, as in PyTorch's `Linear` (Keras
/// stores the transpose). `size_of::<Dense<I, O, A>>()` is exactly `(I·O + O) · 4` bytes:
/// the activation is a zero-sized type.
///
/// ```
/// use nn_core::{layer::Layer, Dense, Relu};
/// let layer = Dense::<2, 2, Relu>::new([[1.0, 2.0], [-1.0, 0.0]], [0.5, 0.0]);
/// let mut y = [[0.0; 2]];
/// layer.forward(&[[1.0, 1.0]], &mut y);
/// assert_eq!(y, [[3.5, 0.0]]);
/// assert_eq!(Dense::<784, 64, Relu>::PARAMS, 50_240);
/// assert_eq!(core::mem::size_of::<Dense<784, 64, Relu>>(), 50_240 * 4);
/// ```
#[repr(C)]
pub struct Dense<const I: usize, const O: usize, A = Identity> {
    /// `weight[o][i]`: from input `i` to output `o`.
    pub weight: [[f32; I]; O],
    /// One bias per output.
    pub bias: [f32; O],
    // `fn() -> A` keeps the layer Send + Sync + Copy whatever `A` is: it holds no `A`.
    activation: PhantomData<fn() -> A>,
}

// SAFETY: repr(C) of two f32 arrays and a zero-sized marker: no padding, every byte an f32.
unsafe impl<const I: usize, const O: usize, A> Parameters for Dense<I, O, A> {}

impl<const I: usize, const O: usize, A> Dense<I, O, A> {
    /// Inputs per sample.
    pub const INPUTS: usize = I;
    /// Outputs per sample.
    pub const OUTPUTS: usize = O;
    /// Trainable parameters: `I·O` weights and `O` biases.
    pub const PARAMS: usize = I * O + O;

    /// A layer with the given weights and biases (usable in `const` and `static` items).
    pub const fn new(weight: [[f32; I]; O], bias: [f32; O]) -> Self {
        Dense {
            weight,
            bias,
            activation: PhantomData,
        }
    }
}

impl<const I: usize, const O: usize, A: Activation> Layer for Dense<I, O, A> {
    type Input = [f32; I];
    type Output = [f32; O];
    type Activation = A;
    const KIND: &'static str = "Dense";
    const OP: Op = Op::Dense;
    const PARAMS: usize = I * O + O;
    const TENSORS: &'static [ParamTensor] = &[
        ParamTensor {
            name: "weight",
            shape: &[O, I],
            trainable: true,
        },
        ParamTensor {
            name: "bias",
            shape: &[O],
            trainable: true,
        },
    ];

    /// Draws the weights from `rng` Glorot-uniform, whatever the activation (Keras' default),
    /// and zeroes the biases.
    fn init(&mut self, rng: &mut Rng) {
        self.init_with(Init::Glorot, rng);
    }

    /// Draws the weights from `rng` as `init` says (fans: `I` in, `O` out) and zeroes the biases.
    fn init_with(&mut self, init: Init, rng: &mut Rng) {
        let limit = init.limit(I, O);
        for w in self.weight.as_flattened_mut() {
            *w = rng.uniform(-limit, limit);
        }
        self.bias = [0.0; O];
    }

    /// `y[b] = A(W·x[b] + b)` for a batch of `B` samples.
    #[inline]
    fn forward<const B: usize>(&self, x: &[[f32; I]; B], y: &mut [[f32; O]; B]) {
        kernel::Affine {
            weight: &self.weight,
            bias: &self.bias,
            x,
            y,
        }
        .launch();
        A::forward_rows(y);
    }
}

impl<const I: usize, const O: usize, A: Differentiable, const B: usize> Backprop<B>
    for Dense<I, O, A>
{
    type Scratch = ();
    type Derivative = A;

    #[inline]
    fn activation_backward(y: &[[f32; O]; B], dy: &mut [[f32; O]; B]) {
        super::activation_backward::<Self, B>(y, dy);
    }

    #[inline]
    fn backward(
        &self,
        x: &[[f32; I]; B],
        y: &[[f32; O]; B],
        dz: &[[f32; O]; B],
        scratch: &(),
        grad: &mut Self,
        dx: Option<&mut [[f32; I]; B]>,
    ) {
        Backprop::<B>::backward_continued(self, x, y, dz, scratch, grad, dx, false);
    }

    const CONTINUES: bool = true;

    #[inline]
    fn backward_continued(
        &self,
        x: &[[f32; I]; B],
        _y: &[[f32; O]; B],
        dz: &[[f32; O]; B],
        _: &(),
        grad: &mut Self,
        dx: Option<&mut [[f32; I]; B]>,
        continues: bool,
    ) {
        kernel::AffineBackward {
            weight: &self.weight,
            x,
            dz,
            d_weight: &mut grad.weight,
            d_bias: &mut grad.bias,
            dx,
            continues,
        }
        .launch();
    }
}

impl<const I: usize, const O: usize, A> Clone for Dense<I, O, A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<const I: usize, const O: usize, A> Copy for Dense<I, O, A> {}

impl<const I: usize, const O: usize, A> PartialEq for Dense<I, O, A> {
    fn eq(&self, other: &Self) -> bool {
        self.weight == other.weight && self.bias == other.bias
    }
}

impl<const I: usize, const O: usize, A> Default for Dense<I, O, A> {
    /// All weights and biases zero.
    fn default() -> Self {
        Dense::new([[0.0; I]; O], [0.0; O])
    }
}

impl<const I: usize, const O: usize, A: Activation> fmt::Debug for Dense<I, O, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Thousands of weights help nobody in a debug print; show the shape.
        write!(f, "Dense<{I}, {O}, {}>", A::NAME)
    }
}
