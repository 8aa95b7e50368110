use core::fmt;
use core::marker::PhantomData;

use super::Backprop;
use crate::activation::{Activation, Differentiable, Identity, Init};
use crate::{kernel, Loss, Parameters, Rng};

/// A fully connected layer: `y = A(W·x + b)` with `W: [[f32; I]; O]` and `b: [f32; O]`.
///
/// Row `o` of `weight` holds the `I` weights into output `o`, as in PyTorch's `Linear` (Keras
/// stores the transpose). `size_of::<Dense<I, O, A>>()` is exactly `(I·O + O) · 4` bytes:
/// the activation is a zero-sized type.
///
/// ```
/// use nn_core::{Dense, Relu};
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

    /// Reads the layer from little-endian `f32`s starting at `bytes[offset..]`: weights row by row,
    /// then biases. Used by the `const fn from_le_bytes` that `network!` generates, so that weights
    /// can be decoded at compile time into a `static` in flash.
    ///
    /// Panics (at compile time, when used in a `const`) if `bytes` is too short.
    pub const fn from_le_bytes_at(bytes: &[u8], offset: usize) -> Self {
        let mut layer = Dense::new([[0.0; I]; O], [0.0; O]);
        let mut at = offset;
        let mut o = 0;
        while o < O {
            let mut i = 0;
            while i < I {
                layer.weight[o][i] = read_f32(bytes, at);
                at += 4;
                i += 1;
            }
            o += 1;
        }
        let mut o = 0;
        while o < O {
            layer.bias[o] = read_f32(bytes, at);
            at += 4;
            o += 1;
        }
        layer
    }
}

const fn read_f32(bytes: &[u8], at: usize) -> f32 {
    f32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

impl<const I: usize, const O: usize, A: Activation> Dense<I, O, A> {
    /// Draws the weights from `rng` (He or Glorot uniform, as the activation asks) and zeroes the
    /// biases.
    pub fn init(&mut self, rng: &mut Rng) {
        let fan = match A::INIT {
            Init::He => I as f32 / 2.0,
            Init::Glorot => (I + O) as f32 / 2.0,
        };
        // He: √(6 / fan_in); Glorot: √(6 / (fan_in + fan_out)).
        let limit = libm::sqrtf(3.0 / fan);
        for w in self.weight.as_flattened_mut() {
            *w = rng.uniform(-limit, limit);
        }
        self.bias = [0.0; O];
    }

    /// `y[b] = A(W·x[b] + b)` for a batch of `B` samples.
    #[inline]
    pub fn forward<const B: usize>(&self, x: &[[f32; I]; B], y: &mut [[f32; O]; B]) {
        kernel::run(kernel::Affine {
            weight: &self.weight,
            bias: &self.bias,
            x,
            y,
        });
        for y in y.iter_mut() {
            A::forward(y);
        }
    }
}

impl<const I: usize, const O: usize, A: Differentiable, const B: usize> Backprop<I, O, B>
    for Dense<I, O, A>
{
    #[inline]
    fn activation_backward(y: &[[f32; O]; B], dy: &mut [[f32; O]; B]) {
        for (y, dy) in y.iter().zip(dy.iter_mut()) {
            A::backward(y, dy);
        }
    }

    #[inline]
    fn output_delta<L: Loss<O>>(
        y: &[[f32; O]; B],
        target: &[L::Target; B],
        dz: &mut [[f32; O]; B],
    ) -> f32 {
        let scale = 1.0 / B as f32;
        let mut total = 0.0;
        for ((y, t), dz) in y.iter().zip(target).zip(dz.iter_mut()) {
            total += L::loss(y, t);
            L::delta::<A>(y, t, dz);
            dz.iter_mut().for_each(|d| *d *= scale);
        }
        total * scale
    }

    #[inline]
    fn backward(
        &self,
        x: &[[f32; I]; B],
        dz: &[[f32; O]; B],
        grad: &mut Self,
        dx: Option<&mut [[f32; I]; B]>,
    ) {
        kernel::run(kernel::AffineBackward {
            weight: &self.weight,
            x,
            dz,
            d_weight: &mut grad.weight,
            d_bias: &mut grad.bias,
            dx,
        });
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
