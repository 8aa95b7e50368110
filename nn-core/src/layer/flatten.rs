//! Flattening: a channels × height × width (or channels × length) tensor as one row, so a dense
//! layer can follow a convolutional stack.

use core::fmt;

use super::{Backprop, Layer, Op, ParamTensor, Tensor};
use crate::{Identity, Parameters, Rng};

/// `[[[f32; W]; H]; C]` → `[f32; N]` with `N = C·H·W` (checked at compile time), row-major: the
/// order of PyTorch's `nn.Flatten`, so weights of a following `Linear` carry over unchanged.
///
/// ```
/// use nn_core::{layer::Layer, Flatten2d};
/// let mut y = [[0.0; 8]];
/// let x = [[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]];
/// Flatten2d::<2, 2, 2, 8>.forward(&x, &mut y);
/// assert_eq!(y, [[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]]);
/// assert_eq!(core::mem::size_of::<Flatten2d<2, 2, 2, 8>>(), 0);
/// ```
///
/// A wrong `N` is refused when the layer is used:
/// ```compile_fail,E0080
/// use nn_core::{layer::Layer, Flatten2d};
/// Flatten2d::<2, 2, 2, 7>.forward(&[[[[0.0; 2]; 2]; 2]], &mut [[0.0; 7]]);
/// ```
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Flatten2d<const C: usize, const H: usize, const W: usize, const N: usize>;

/// `[[f32; L]; C]` → `[f32; N]` with `N = C·L` (checked at compile time), row-major as PyTorch's
/// `nn.Flatten`.
///
/// ```
/// use nn_core::{layer::Layer, Flatten1d};
/// let mut y = [[0.0; 6]];
/// Flatten1d::<2, 3, 6>.forward(&[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]], &mut y);
/// assert_eq!(y, [[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]]);
/// ```
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Flatten1d<const C: usize, const L: usize, const N: usize>;

// SAFETY: fieldless repr(C) structs: size 0, no bytes at all.
unsafe impl<const C: usize, const H: usize, const W: usize, const N: usize> Parameters
    for Flatten2d<C, H, W, N>
{
}
// SAFETY: as above.
unsafe impl<const C: usize, const L: usize, const N: usize> Parameters for Flatten1d<C, L, N> {}

impl<const C: usize, const H: usize, const W: usize, const N: usize> Flatten2d<C, H, W, N> {
    // Evaluated where forward/backward are instantiated: a wrong hand-written N does not compile.
    const CHECK: () = assert!(N == C * H * W, "Flatten2d<C, H, W, N>: needs N = C·H·W");
}

impl<const C: usize, const L: usize, const N: usize> Flatten1d<C, L, N> {
    // As in Flatten2d.
    const CHECK: () = assert!(N == C * L, "Flatten1d<C, L, N>: needs N = C·L");
}

/// Both layers copy the input's memory order (which is row-major) into the row and back.
#[inline(always)]
fn copy_rows<X: Tensor, Y: Tensor, const B: usize>(x: &[X; B], y: &mut [Y; B]) {
    for (x, y) in x.iter().zip(y.iter_mut()) {
        y.flat_mut().copy_from_slice(x.flat());
    }
}

impl<const C: usize, const H: usize, const W: usize, const N: usize> Layer
    for Flatten2d<C, H, W, N>
{
    type Input = [[[f32; W]; H]; C];
    type Output = [f32; N];
    type Activation = Identity;
    const KIND: &'static str = "Flatten";
    const OP: Op = Op::Flatten;
    const PARAMS: usize = 0;
    const TENSORS: &'static [ParamTensor] = &[];

    fn init(&mut self, _: &mut Rng) {}

    #[inline]
    fn forward<const B: usize>(&self, x: &[Self::Input; B], y: &mut [[f32; N]; B]) {
        let () = Self::CHECK;
        copy_rows(x, y);
    }
}

impl<const C: usize, const H: usize, const W: usize, const N: usize, const B: usize> Backprop<B>
    for Flatten2d<C, H, W, N>
{
    type Scratch = ();

    type Derivative = crate::Identity;

    /// No activation: `dL/dy` is `dL/dz`.
    #[inline]
    fn activation_backward(_: &[Self::Output; B], _: &mut [Self::Output; B]) {}

    /// The gradient row, reshaped back.
    #[inline]
    fn backward(
        &self,
        _x: &[Self::Input; B],
        _y: &[[f32; N]; B],
        dz: &[[f32; N]; B],
        _: &(),
        _grad: &mut Self,
        dx: Option<&mut [Self::Input; B]>,
    ) {
        let () = Self::CHECK;
        if let Some(dx) = dx {
            copy_rows(dz, dx);
        }
    }
}

impl<const C: usize, const L: usize, const N: usize> Layer for Flatten1d<C, L, N> {
    type Input = [[f32; L]; C];
    type Output = [f32; N];
    type Activation = Identity;
    const KIND: &'static str = "Flatten";
    const OP: Op = Op::Flatten;
    const PARAMS: usize = 0;
    const TENSORS: &'static [ParamTensor] = &[];

    fn init(&mut self, _: &mut Rng) {}

    #[inline]
    fn forward<const B: usize>(&self, x: &[Self::Input; B], y: &mut [[f32; N]; B]) {
        let () = Self::CHECK;
        copy_rows(x, y);
    }
}

impl<const C: usize, const L: usize, const N: usize, const B: usize> Backprop<B>
    for Flatten1d<C, L, N>
{
    type Scratch = ();

    type Derivative = crate::Identity;

    /// No activation: `dL/dy` is `dL/dz`.
    #[inline]
    fn activation_backward(_: &[Self::Output; B], _: &mut [Self::Output; B]) {}

    /// The gradient row, reshaped back.
    #[inline]
    fn backward(
        &self,
        _x: &[Self::Input; B],
        _y: &[[f32; N]; B],
        dz: &[[f32; N]; B],
        _: &(),
        _grad: &mut Self,
        dx: Option<&mut [Self::Input; B]>,
    ) {
        let () = Self::CHECK;
        if let Some(dx) = dx {
            copy_rows(dz, dx);
        }
    }
}

// Debug shows the type with its shape, as `Dense` does.
impl<const C: usize, const H: usize, const W: usize, const N: usize> fmt::Debug
    for Flatten2d<C, H, W, N>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flatten2d<{C}, {H}, {W}, {N}>")
    }
}

impl<const C: usize, const L: usize, const N: usize> fmt::Debug for Flatten1d<C, L, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flatten1d<{C}, {L}, {N}>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::pool::tests::{assert_close, flat, pattern, run};
    use crate::layer::testing::check_gradients;

    // Expected values: printed by scripts/reference/pool_norm_layers.py (torch 2.15.0).
    #[test]
    fn flatten_matches_pytorch() {
        let x: [[[[f32; 3]; 2]; 2]; 2] = pattern(5, 24, 12.0, 8.0);
        let r: [[f32; 12]; 2] = pattern(7, 24, 12.0, 16.0);
        let (y, dx, _) = run(&Flatten2d::<2, 2, 3, 12>, &x, &r, &mut ());
        let want_y = [
            [
                -1.5, -0.875, -0.25, 0.375, 1.0, -1.375, -0.75, -0.125, 0.5, 1.125, -1.25, -0.625,
            ],
            [
                0.0, 0.625, 1.25, -1.125, -0.5, 0.125, 0.75, 1.375, -1.0, -0.375, 0.25, 0.875,
            ],
        ];
        let want_dx = [
            [
                [[-0.75, -0.3125, 0.125], [0.5625, -0.5, -0.0625]],
                [[0.375, -0.6875, -0.25], [0.1875, 0.625, -0.4375]],
            ],
            [
                [[0.0, 0.4375, -0.625], [-0.1875, 0.25, 0.6875]],
                [[-0.375, 0.0625, 0.5], [-0.5625, -0.125, 0.3125]],
            ],
        ];
        assert_close("y", flat(&y), flat(&want_y));
        assert_close("dx", flat(&dx), flat(&want_dx));
    }

    #[test]
    fn flatten_1d_is_row_major() {
        let x = [[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]];
        let r = [[0.5, 1.5, 2.5, 3.5, 4.5, 5.5]];
        let (y, dx, _) = run(&Flatten1d::<2, 3, 6>, &x, &r, &mut ());
        assert_eq!(y, [[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]]);
        assert_eq!(dx, [[[0.5, 1.5, 2.5], [3.5, 4.5, 5.5]]]);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let x: [[[[f32; 3]; 2]; 2]; 3] = pattern(5, 36, 18.0, 8.0);
        check_gradients(&Flatten2d::<2, 2, 3, 12>, &x, 1, 1e-3);
        let x: [[[f32; 4]; 3]; 2] = pattern(7, 24, 12.0, 8.0);
        check_gradients(&Flatten1d::<3, 4, 12>, &x, 2, 1e-3);
    }

    #[test]
    fn flatten_is_zero_sized() {
        assert_eq!(core::mem::size_of::<Flatten2d<8, 5, 5, 200>>(), 0);
        assert_eq!(core::mem::size_of::<Flatten1d<8, 5, 40>>(), 0);
        assert_eq!(<Flatten2d<8, 5, 5, 200> as Layer>::PARAMS, 0);
        assert_eq!(<Flatten1d<8, 5, 40> as Layer>::KIND, "Flatten");
        assert!(<Flatten1d<8, 5, 40> as Layer>::TENSORS.is_empty());
    }
}
