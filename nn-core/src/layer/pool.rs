//! Pooling layers: max and average over non-overlapping windows (stride = window), and global
//! average pooling. None has parameters; all are zero-sized.

use core::fmt;

use super::{Backprop, Layer, Op, ParamTensor, PoolOp};
use crate::kernel::{self, Kernel, Math};
use crate::{Identity, Parameters, Rng};

/// Max pooling over `P×P` windows with stride `P` (PyTorch's `MaxPool2d(P)`):
/// `[[[f32; W]; H]; C]` → `[[[f32; OW]; OH]; C]` with `OH·P = H` and `OW·P = W` (checked at
/// compile time).
///
/// The gradient of a window goes to its first largest element in row-major order, as in PyTorch;
/// a NaN in a window wins, so it propagates.
///
/// ```
/// use nn_core::{layer::Layer, MaxPool2d};
/// let pool = MaxPool2d::<1, 2, 4, 2, 1, 2>;
/// let x = [[[[1.0, 5.0, -1.0, -2.0], [3.0, 2.0, -3.0, -4.0]]]];
/// let mut y = [[[[0.0; 2]; 1]; 1]];
/// pool.forward(&x, &mut y);
/// assert_eq!(y, [[[[5.0, -1.0]]]]);
/// assert_eq!(core::mem::size_of::<MaxPool2d<1, 2, 4, 2, 1, 2>>(), 0);
/// ```
///
/// Sizes that do not divide are refused when the layer is used:
/// ```compile_fail,E0080
/// use nn_core::{layer::Layer, MaxPool2d};
/// let mut y = [[[[0.0; 2]; 2]; 1]];
/// MaxPool2d::<1, 5, 5, 2, 2, 2>.forward(&[[[[0.0; 5]; 5]; 1]], &mut y);
/// ```
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct MaxPool2d<
    const C: usize,
    const H: usize,
    const W: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
>;

/// Average pooling over `P×P` windows with stride `P` (PyTorch's `AvgPool2d(P)`):
/// `[[[f32; W]; H]; C]` → `[[[f32; OW]; OH]; C]` with `OH·P = H` and `OW·P = W` (checked at
/// compile time).
///
/// ```
/// use nn_core::{layer::Layer, AvgPool2d};
/// let pool = AvgPool2d::<1, 2, 4, 2, 1, 2>;
/// let x = [[[[1.0, 5.0, -1.0, -2.0], [3.0, 3.0, -3.0, -4.0]]]];
/// let mut y = [[[[0.0; 2]; 1]; 1]];
/// pool.forward(&x, &mut y);
/// assert_eq!(y, [[[[3.0, -2.5]]]]);
/// ```
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct AvgPool2d<
    const C: usize,
    const H: usize,
    const W: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
>;

/// Max pooling over windows of `P` with stride `P` (PyTorch's `MaxPool1d(P)`):
/// `[[f32; L]; C]` → `[[f32; OL]; C]` with `OL·P = L` (checked at compile time). Ties and NaNs as
/// in [`MaxPool2d`].
///
/// ```
/// use nn_core::{layer::Layer, MaxPool1d};
/// let mut y = [[[0.0; 2]; 1]];
/// MaxPool1d::<1, 6, 3, 2>.forward(&[[[1.0, 4.0, 2.0, -1.0, -3.0, -2.0]]], &mut y);
/// assert_eq!(y, [[[4.0, -1.0]]]);
/// ```
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct MaxPool1d<const C: usize, const L: usize, const P: usize, const OL: usize>;

/// Average pooling over windows of `P` with stride `P` (PyTorch's `AvgPool1d(P)`):
/// `[[f32; L]; C]` → `[[f32; OL]; C]` with `OL·P = L` (checked at compile time).
///
/// ```
/// use nn_core::{layer::Layer, AvgPool1d};
/// let mut y = [[[0.0; 2]; 1]];
/// AvgPool1d::<1, 4, 2, 2>.forward(&[[[1.0, 4.0, 2.0, -1.0]]], &mut y);
/// assert_eq!(y, [[[2.5, 0.5]]]);
/// ```
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct AvgPool1d<const C: usize, const L: usize, const P: usize, const OL: usize>;

/// The mean of each channel: `[[[f32; W]; H]; C]` → `[f32; C]` (PyTorch's `AdaptiveAvgPool2d(1)`
/// followed by `Flatten`).
///
/// ```
/// use nn_core::{layer::Layer, GlobalAvgPool2d};
/// let x = [[[[1.0, 2.0], [3.0, 6.0]], [[0.0, 0.0], [0.0, -4.0]]]];
/// let mut y = [[0.0; 2]];
/// GlobalAvgPool2d::<2, 2, 2>.forward(&x, &mut y);
/// assert_eq!(y, [[3.0, -1.0]]);
/// ```
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct GlobalAvgPool2d<const C: usize, const H: usize, const W: usize>;

/// The mean of each channel: `[[f32; L]; C]` → `[f32; C]` (PyTorch's `AdaptiveAvgPool1d(1)`
/// followed by `Flatten`).
///
/// ```
/// use nn_core::{layer::Layer, GlobalAvgPool1d};
/// let mut y = [[0.0; 2]];
/// GlobalAvgPool1d::<2, 3>.forward(&[[[1.0, 2.0, 6.0], [0.0, 0.0, -3.0]]], &mut y);
/// assert_eq!(y, [[3.0, -1.0]]);
/// ```
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct GlobalAvgPool1d<const C: usize, const L: usize>;

// SAFETY: fieldless repr(C) structs: size 0, no bytes at all.
unsafe impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const P: usize,
        const OH: usize,
        const OW: usize,
    > Parameters for MaxPool2d<C, H, W, P, OH, OW>
{
}
// SAFETY: as above.
unsafe impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const P: usize,
        const OH: usize,
        const OW: usize,
    > Parameters for AvgPool2d<C, H, W, P, OH, OW>
{
}
// SAFETY: as above.
unsafe impl<const C: usize, const L: usize, const P: usize, const OL: usize> Parameters
    for MaxPool1d<C, L, P, OL>
{
}
// SAFETY: as above.
unsafe impl<const C: usize, const L: usize, const P: usize, const OL: usize> Parameters
    for AvgPool1d<C, L, P, OL>
{
}
// SAFETY: as above.
unsafe impl<const C: usize, const H: usize, const W: usize> Parameters
    for GlobalAvgPool2d<C, H, W>
{
}
// SAFETY: as above.
unsafe impl<const C: usize, const L: usize> Parameters for GlobalAvgPool1d<C, L> {}

/// The first largest of `values` and its index. A NaN replaces the current best (PyTorch's rule), so
/// a window holding a NaN yields NaN instead of hiding it.
#[inline(always)]
fn first_max(values: impl Iterator<Item = f32>) -> (f32, usize) {
    let (mut best, mut at) = (f32::NEG_INFINITY, 0);
    for (i, v) in values.enumerate() {
        if v > best || v.is_nan() || i == 0 {
            (best, at) = (v, i);
        }
    }
    (best, at)
}

/// The values of window `(oy, ox)` of a plane, row by row.
#[inline(always)]
fn window<const H: usize, const W: usize>(
    plane: &[[f32; W]; H],
    p: usize,
    oy: usize,
    ox: usize,
) -> impl Iterator<Item = f32> + '_ {
    plane[oy * p..(oy + 1) * p]
        .iter()
        .flat_map(move |row| row[ox * p..(ox + 1) * p].iter().copied())
}

impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const P: usize,
        const OH: usize,
        const OW: usize,
    > MaxPool2d<C, H, W, P, OH, OW>
{
    // Evaluated where forward/backward are instantiated: a wrong hand-written shape is a compile
    // error, not a silently ignored border.
    const CHECK: () = assert!(
        P >= 1 && OH * P == H && OW * P == W,
        "MaxPool2d<C, H, W, P, OH, OW>: needs P ≥ 1, OH·P = H and OW·P = W"
    );
}

impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const P: usize,
        const OH: usize,
        const OW: usize,
    > Layer for MaxPool2d<C, H, W, P, OH, OW>
{
    type Input = [[[f32; W]; H]; C];
    type Output = [[[f32; OW]; OH]; C];
    type Activation = Identity;
    const KIND: &'static str = "MaxPool2d";
    const OP: Op = Op::MaxPool(PoolOp {
        kernel: &[P, P],
        strides: &[P, P],
    });
    const PARAMS: usize = 0;
    const TENSORS: &'static [ParamTensor] = &[];

    fn init(&mut self, _: &mut Rng) {}

    #[inline]
    fn forward<const B: usize>(&self, x: &[Self::Input; B], y: &mut [Self::Output; B]) {
        let () = Self::CHECK;
        for (x, y) in x.iter().zip(y.iter_mut()) {
            for (x, y) in x.iter().zip(y.iter_mut()) {
                for (oy, row) in y.iter_mut().enumerate() {
                    *row = row_max::<H, W, OW>(x, P, oy).0;
                }
            }
        }
    }
}

/// The maxima of the windows of output row `oy` and, per window, the offset of the first largest
/// value (row-major within the window). Window positions are the outer loops so that the inner loop
/// runs along the row with selects only (vectorised); the first maximum wins ties, and a NaN
/// replaces the best so far, as in [`first_max`].
#[inline(always)]
fn row_max<const H: usize, const W: usize, const OW: usize>(
    plane: &[[f32; W]; H],
    p: usize,
    oy: usize,
) -> ([f32; OW], [u32; OW]) {
    let mut best = [0.0f32; OW];
    let mut at = [0u32; OW];
    for dy in 0..p {
        let row = &plane[oy * p + dy];
        for dx in 0..p {
            let k = (dy * p + dx) as u32;
            for ox in 0..OW {
                let v = row[ox * p + dx];
                // `|`, not `||`: no short-circuit branch, which random data mispredicts (a
                // LeNet step: 836 us on random inputs against 589 on smooth ones).
                let take = (k == 0) | (v > best[ox]) | v.is_nan();
                best[ox] = if take { v } else { best[ox] };
                at[ox] = if take { k } else { at[ox] };
            }
        }
    }
    (best, at)
}

impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const P: usize,
        const OH: usize,
        const OW: usize,
        const B: usize,
    > Backprop<B> for MaxPool2d<C, H, W, P, OH, OW>
{
    /// Per output, the offset of its window's first largest input (row-major, as an exact small
    /// integer in an f32), so that the backward pass does not search the windows again.
    type Scratch = [Self::Output; B];

    type Derivative = crate::Identity;

    /// No activation: `dL/dy` is `dL/dz`.
    #[inline]
    fn activation_backward(_: &[Self::Output; B], _: &mut [Self::Output; B]) {}

    #[inline]
    fn forward_train(
        &self,
        x: &[Self::Input; B],
        y: &mut [Self::Output; B],
        argmax: &mut [Self::Output; B],
        _: &mut Rng,
    ) {
        let () = Self::CHECK;
        // Through `kernel::run` only to be compiled for AVX2 where the CPU has it (selects, no
        // arithmetic: the same results on every path): the strided window loads vectorise better
        // (p1 of LeNet at batch 32: 26 -> 17 us). The backward pass, bound by its stores, did not
        // gain.
        kernel::run(MaxPoolForward::<C, H, W, P, OH, OW, B> { x, y, argmax });
    }

    /// Routes each window's gradient to its first largest input (recorded by `forward_train`); the
    /// other inputs get zero.
    #[inline]
    fn backward(
        &self,
        _x: &[Self::Input; B],
        _y: &[Self::Output; B],
        dz: &[Self::Output; B],
        argmax: &[Self::Output; B],
        _grad: &mut Self,
        dx: Option<&mut [Self::Input; B]>,
    ) {
        let () = Self::CHECK;
        let Some(dx) = dx else { return };
        for ((argmax, dz), dx) in argmax.iter().zip(dz).zip(dx.iter_mut()) {
            for ((argmax, dz), dx) in argmax.iter().zip(dz).zip(dx.iter_mut()) {
                for (oy, (row, at)) in dz.iter().zip(argmax).enumerate() {
                    // Every input of the window rows is written (no separate zeroing pass).
                    for dy in 0..P {
                        let out = &mut dx[oy * P + dy];
                        out[OW * P..].fill(0.0);
                        for ddx in 0..P {
                            let k = (dy * P + ddx) as f32;
                            for ox in 0..OW {
                                // A bit mask rather than a branch (unpredictable on real data);
                                // exact for every value, NaN and infinities included.
                                let keep = 0u32.wrapping_sub(u32::from(at[ox] == k));
                                out[ox * P + ddx] = f32::from_bits(row[ox].to_bits() & keep);
                            }
                        }
                    }
                }
                dx[OH * P..].fill([0.0; W]);
            }
        }
    }
}

/// [`MaxPool2d`]'s training forward pass for a batch: maxima and their offsets.
struct MaxPoolForward<
    'a,
    const C: usize,
    const H: usize,
    const W: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
    const B: usize,
> {
    x: &'a [[[[f32; W]; H]; C]; B],
    y: &'a mut [[[[f32; OW]; OH]; C]; B],
    argmax: &'a mut [[[[f32; OW]; OH]; C]; B],
}

impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const P: usize,
        const OH: usize,
        const OW: usize,
        const B: usize,
    > Kernel for MaxPoolForward<'_, C, H, W, P, OH, OW, B>
{
    #[inline(always)]
    fn run<M: Math>(self) {
        let MaxPoolForward { x, y, argmax } = self;
        for ((x, y), argmax) in x.iter().zip(y.iter_mut()).zip(argmax.iter_mut()) {
            for ((x, y), argmax) in x.iter().zip(y.iter_mut()).zip(argmax.iter_mut()) {
                for (oy, (row, arg)) in y.iter_mut().zip(argmax.iter_mut()).enumerate() {
                    let (best, at) = row_max::<H, W, OW>(x, P, oy);
                    *row = best;
                    for (a, at) in arg.iter_mut().zip(at) {
                        *a = at as f32;
                    }
                }
            }
        }
    }
}

impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const P: usize,
        const OH: usize,
        const OW: usize,
    > AvgPool2d<C, H, W, P, OH, OW>
{
    // As in MaxPool2d.
    const CHECK: () = assert!(
        P >= 1 && OH * P == H && OW * P == W,
        "AvgPool2d<C, H, W, P, OH, OW>: needs P ≥ 1, OH·P = H and OW·P = W"
    );
}

impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const P: usize,
        const OH: usize,
        const OW: usize,
    > Layer for AvgPool2d<C, H, W, P, OH, OW>
{
    type Input = [[[f32; W]; H]; C];
    type Output = [[[f32; OW]; OH]; C];
    type Activation = Identity;
    const KIND: &'static str = "AvgPool2d";
    const OP: Op = Op::AvgPool(PoolOp {
        kernel: &[P, P],
        strides: &[P, P],
    });
    const PARAMS: usize = 0;
    const TENSORS: &'static [ParamTensor] = &[];

    fn init(&mut self, _: &mut Rng) {}

    #[inline]
    fn forward<const B: usize>(&self, x: &[Self::Input; B], y: &mut [Self::Output; B]) {
        let () = Self::CHECK;
        // A division rather than a multiplication by 1/P², as PyTorch does: same rounding.
        let count = (P * P) as f32;
        for (x, y) in x.iter().zip(y.iter_mut()) {
            for (x, y) in x.iter().zip(y.iter_mut()) {
                for (oy, row) in y.iter_mut().enumerate() {
                    for (ox, y) in row.iter_mut().enumerate() {
                        *y = window(x, P, oy, ox).sum::<f32>() / count;
                    }
                }
            }
        }
    }
}

impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const P: usize,
        const OH: usize,
        const OW: usize,
        const B: usize,
    > Backprop<B> for AvgPool2d<C, H, W, P, OH, OW>
{
    type Scratch = ();

    type Derivative = crate::Identity;

    /// No activation: `dL/dy` is `dL/dz`.
    #[inline]
    fn activation_backward(_: &[Self::Output; B], _: &mut [Self::Output; B]) {}

    /// Spreads each window's gradient evenly over its `P²` inputs.
    #[inline]
    fn backward(
        &self,
        _x: &[Self::Input; B],
        _y: &[Self::Output; B],
        dz: &[Self::Output; B],
        _: &(),
        _grad: &mut Self,
        dx: Option<&mut [Self::Input; B]>,
    ) {
        let () = Self::CHECK;
        let Some(dx) = dx else { return };
        let count = (P * P) as f32;
        for (dz, dx) in dz.iter().zip(dx.iter_mut()) {
            for (dz, dx) in dz.iter().zip(dx.iter_mut()) {
                for (iy, row) in dx.iter_mut().enumerate() {
                    for (ix, dx) in row.iter_mut().enumerate() {
                        *dx = dz[iy / P][ix / P] / count;
                    }
                }
            }
        }
    }
}

impl<const C: usize, const L: usize, const P: usize, const OL: usize> MaxPool1d<C, L, P, OL> {
    // As in MaxPool2d.
    const CHECK: () = assert!(
        P >= 1 && OL * P == L,
        "MaxPool1d<C, L, P, OL>: needs P ≥ 1 and OL·P = L"
    );
}

impl<const C: usize, const L: usize, const P: usize, const OL: usize> Layer
    for MaxPool1d<C, L, P, OL>
{
    type Input = [[f32; L]; C];
    type Output = [[f32; OL]; C];
    type Activation = Identity;
    const KIND: &'static str = "MaxPool1d";
    const OP: Op = Op::MaxPool(PoolOp {
        kernel: &[P],
        strides: &[P],
    });
    const PARAMS: usize = 0;
    const TENSORS: &'static [ParamTensor] = &[];

    fn init(&mut self, _: &mut Rng) {}

    #[inline]
    fn forward<const B: usize>(&self, x: &[Self::Input; B], y: &mut [Self::Output; B]) {
        let () = Self::CHECK;
        for (x, y) in x.iter().zip(y.iter_mut()) {
            for (x, y) in x.iter().zip(y.iter_mut()) {
                for (window, y) in x.chunks_exact(P).zip(y.iter_mut()) {
                    *y = first_max(window.iter().copied()).0;
                }
            }
        }
    }
}

impl<const C: usize, const L: usize, const P: usize, const OL: usize, const B: usize> Backprop<B>
    for MaxPool1d<C, L, P, OL>
{
    type Scratch = ();

    type Derivative = crate::Identity;

    /// No activation: `dL/dy` is `dL/dz`.
    #[inline]
    fn activation_backward(_: &[Self::Output; B], _: &mut [Self::Output; B]) {}

    /// As [`MaxPool2d`]'s: each window's gradient to its first largest input.
    #[inline]
    fn backward(
        &self,
        x: &[Self::Input; B],
        _y: &[Self::Output; B],
        dz: &[Self::Output; B],
        _: &(),
        _grad: &mut Self,
        dx: Option<&mut [Self::Input; B]>,
    ) {
        let () = Self::CHECK;
        let Some(dx) = dx else { return };
        for ((x, dz), dx) in x.iter().zip(dz).zip(dx.iter_mut()) {
            for ((x, dz), dx) in x.iter().zip(dz).zip(dx.iter_mut()) {
                for ((window, dx), &d) in x.chunks_exact(P).zip(dx.chunks_exact_mut(P)).zip(dz) {
                    dx.fill(0.0);
                    dx[first_max(window.iter().copied()).1] = d;
                }
            }
        }
    }
}

impl<const C: usize, const L: usize, const P: usize, const OL: usize> AvgPool1d<C, L, P, OL> {
    // As in MaxPool2d.
    const CHECK: () = assert!(
        P >= 1 && OL * P == L,
        "AvgPool1d<C, L, P, OL>: needs P ≥ 1 and OL·P = L"
    );
}

impl<const C: usize, const L: usize, const P: usize, const OL: usize> Layer
    for AvgPool1d<C, L, P, OL>
{
    type Input = [[f32; L]; C];
    type Output = [[f32; OL]; C];
    type Activation = Identity;
    const KIND: &'static str = "AvgPool1d";
    const OP: Op = Op::AvgPool(PoolOp {
        kernel: &[P],
        strides: &[P],
    });
    const PARAMS: usize = 0;
    const TENSORS: &'static [ParamTensor] = &[];

    fn init(&mut self, _: &mut Rng) {}

    #[inline]
    fn forward<const B: usize>(&self, x: &[Self::Input; B], y: &mut [Self::Output; B]) {
        let () = Self::CHECK;
        for (x, y) in x.iter().zip(y.iter_mut()) {
            for (x, y) in x.iter().zip(y.iter_mut()) {
                for (window, y) in x.chunks_exact(P).zip(y.iter_mut()) {
                    *y = window.iter().sum::<f32>() / P as f32;
                }
            }
        }
    }
}

impl<const C: usize, const L: usize, const P: usize, const OL: usize, const B: usize> Backprop<B>
    for AvgPool1d<C, L, P, OL>
{
    type Scratch = ();

    type Derivative = crate::Identity;

    /// No activation: `dL/dy` is `dL/dz`.
    #[inline]
    fn activation_backward(_: &[Self::Output; B], _: &mut [Self::Output; B]) {}

    /// Spreads each window's gradient evenly over its `P` inputs.
    #[inline]
    fn backward(
        &self,
        _x: &[Self::Input; B],
        _y: &[Self::Output; B],
        dz: &[Self::Output; B],
        _: &(),
        _grad: &mut Self,
        dx: Option<&mut [Self::Input; B]>,
    ) {
        let () = Self::CHECK;
        let Some(dx) = dx else { return };
        for (dz, dx) in dz.iter().zip(dx.iter_mut()) {
            for (dz, dx) in dz.iter().zip(dx.iter_mut()) {
                for (dx, &d) in dx.chunks_exact_mut(P).zip(dz) {
                    dx.fill(d / P as f32);
                }
            }
        }
    }
}

impl<const C: usize, const H: usize, const W: usize> GlobalAvgPool2d<C, H, W> {
    // The mean of nothing would be 0/0.
    const CHECK: () = assert!(H * W > 0, "GlobalAvgPool2d<C, H, W>: needs H·W > 0");
}

impl<const C: usize, const H: usize, const W: usize> Layer for GlobalAvgPool2d<C, H, W> {
    type Input = [[[f32; W]; H]; C];
    type Output = [f32; C];
    type Activation = Identity;
    const KIND: &'static str = "GlobalAvgPool2d";
    const OP: Op = Op::GlobalAvgPool;
    const PARAMS: usize = 0;
    const TENSORS: &'static [ParamTensor] = &[];

    fn init(&mut self, _: &mut Rng) {}

    #[inline]
    fn forward<const B: usize>(&self, x: &[Self::Input; B], y: &mut [[f32; C]; B]) {
        let () = Self::CHECK;
        for (x, y) in x.iter().zip(y.iter_mut()) {
            for (x, y) in x.iter().zip(y.iter_mut()) {
                *y = x.as_flattened().iter().sum::<f32>() / (H * W) as f32;
            }
        }
    }
}

impl<const C: usize, const H: usize, const W: usize, const B: usize> Backprop<B>
    for GlobalAvgPool2d<C, H, W>
{
    type Scratch = ();

    type Derivative = crate::Identity;

    /// No activation: `dL/dy` is `dL/dz`.
    #[inline]
    fn activation_backward(_: &[Self::Output; B], _: &mut [Self::Output; B]) {}

    /// Spreads each channel's gradient evenly over its `H·W` inputs.
    #[inline]
    fn backward(
        &self,
        _x: &[Self::Input; B],
        _y: &[[f32; C]; B],
        dz: &[[f32; C]; B],
        _: &(),
        _grad: &mut Self,
        dx: Option<&mut [Self::Input; B]>,
    ) {
        let () = Self::CHECK;
        let Some(dx) = dx else { return };
        for (dz, dx) in dz.iter().zip(dx.iter_mut()) {
            for (&d, dx) in dz.iter().zip(dx.iter_mut()) {
                dx.as_flattened_mut().fill(d / (H * W) as f32);
            }
        }
    }
}

impl<const C: usize, const L: usize> GlobalAvgPool1d<C, L> {
    // The mean of nothing would be 0/0.
    const CHECK: () = assert!(L > 0, "GlobalAvgPool1d<C, L>: needs L > 0");
}

impl<const C: usize, const L: usize> Layer for GlobalAvgPool1d<C, L> {
    type Input = [[f32; L]; C];
    type Output = [f32; C];
    type Activation = Identity;
    const KIND: &'static str = "GlobalAvgPool1d";
    const OP: Op = Op::GlobalAvgPool;
    const PARAMS: usize = 0;
    const TENSORS: &'static [ParamTensor] = &[];

    fn init(&mut self, _: &mut Rng) {}

    #[inline]
    fn forward<const B: usize>(&self, x: &[Self::Input; B], y: &mut [[f32; C]; B]) {
        let () = Self::CHECK;
        for (x, y) in x.iter().zip(y.iter_mut()) {
            for (x, y) in x.iter().zip(y.iter_mut()) {
                *y = x.iter().sum::<f32>() / L as f32;
            }
        }
    }
}

impl<const C: usize, const L: usize, const B: usize> Backprop<B> for GlobalAvgPool1d<C, L> {
    type Scratch = ();

    type Derivative = crate::Identity;

    /// No activation: `dL/dy` is `dL/dz`.
    #[inline]
    fn activation_backward(_: &[Self::Output; B], _: &mut [Self::Output; B]) {}

    /// Spreads each channel's gradient evenly over its `L` inputs.
    #[inline]
    fn backward(
        &self,
        _x: &[Self::Input; B],
        _y: &[[f32; C]; B],
        dz: &[[f32; C]; B],
        _: &(),
        _grad: &mut Self,
        dx: Option<&mut [Self::Input; B]>,
    ) {
        let () = Self::CHECK;
        let Some(dx) = dx else { return };
        for (dz, dx) in dz.iter().zip(dx.iter_mut()) {
            for (&d, dx) in dz.iter().zip(dx.iter_mut()) {
                dx.fill(d / L as f32);
            }
        }
    }
}

// Debug shows the type with its shape, as `Dense` does.
impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const P: usize,
        const OH: usize,
        const OW: usize,
    > fmt::Debug for MaxPool2d<C, H, W, P, OH, OW>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MaxPool2d<{C}, {H}, {W}, {P}, {OH}, {OW}>")
    }
}

impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const P: usize,
        const OH: usize,
        const OW: usize,
    > fmt::Debug for AvgPool2d<C, H, W, P, OH, OW>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AvgPool2d<{C}, {H}, {W}, {P}, {OH}, {OW}>")
    }
}

impl<const C: usize, const L: usize, const P: usize, const OL: usize> fmt::Debug
    for MaxPool1d<C, L, P, OL>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MaxPool1d<{C}, {L}, {P}, {OL}>")
    }
}

impl<const C: usize, const L: usize, const P: usize, const OL: usize> fmt::Debug
    for AvgPool1d<C, L, P, OL>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AvgPool1d<{C}, {L}, {P}, {OL}>")
    }
}

impl<const C: usize, const H: usize, const W: usize> fmt::Debug for GlobalAvgPool2d<C, H, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GlobalAvgPool2d<{C}, {H}, {W}>")
    }
}

impl<const C: usize, const L: usize> fmt::Debug for GlobalAvgPool1d<C, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GlobalAvgPool1d<{C}, {L}>")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::layer::testing::check_gradients;
    use crate::layer::Tensor;
    use crate::Zeroed;

    /// A batch whose flat value `i` (over the whole batch) is `((i·mul) mod m − sub) / div`: the
    /// `pattern` of `scripts/reference/pool_norm_layers.py`, exact in f32 for the divisors used.
    pub(crate) fn pattern<T: Tensor, const B: usize>(
        mul: usize,
        m: usize,
        sub: f32,
        div: f32,
    ) -> [T; B] {
        let mut batch = [T::ZERO; B];
        for (i, v) in Parameters::as_mut_slice(&mut batch).iter_mut().enumerate() {
            *v = ((i * mul) % m) as f32 - sub;
            *v /= div;
        }
        batch
    }

    /// All values of a batch or a layer (arrays have an inherent `as_slice` that would shadow it).
    pub(crate) fn flat<P: Parameters>(p: &P) -> &[f32] {
        p.as_slice()
    }

    /// `|a − e| ≤ 1e-5 · max(1, |e|)` element-wise.
    pub(crate) fn assert_close(what: &str, actual: &[f32], expected: &[f32]) {
        assert_eq!(actual.len(), expected.len(), "{what}: lengths");
        for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
            assert!(
                (a - e).abs() <= 1e-5 * e.abs().max(1.0),
                "{what}[{i}]: {a} vs PyTorch's {e}"
            );
        }
    }

    /// Training forward pass, then backward with `dL/dy = r`: the outputs and `dL/dx`.
    pub(crate) fn run<L: Backprop<B>, const B: usize>(
        layer: &L,
        x: &[L::Input; B],
        r: &[L::Output; B],
        scratch: &mut L::Scratch,
    ) -> ([L::Output; B], [L::Input; B], L) {
        let mut y = [L::Output::ZERO; B];
        layer.forward_train(x, &mut y, scratch, &mut Rng::new(0));
        let (mut grad, mut dx) = (L::zeroed(), [L::Input::ZERO; B]);
        layer.backward(x, &y, r, scratch, &mut grad, Some(&mut dx));
        (y, dx, grad)
    }

    type Pool2dIn = [[[f32; 6]; 4]; 2];
    type Pool2dOut = [[[f32; 3]; 2]; 2];
    type Pool1dIn = [[f32; 6]; 3];
    type Pool1dOut = [[f32; 2]; 3];

    fn x2() -> [Pool2dIn; 2] {
        pattern(37, 96, 48.0, 8.0)
    }

    fn x1() -> [Pool1dIn; 2] {
        pattern(11, 36, 18.0, 8.0)
    }

    // Expected values below: printed by scripts/reference/pool_norm_layers.py (torch 2.15.0).

    #[test]
    fn max_pool_2d_matches_pytorch() {
        let r: [Pool2dOut; 2] = pattern(13, 24, 12.0, 4.0);
        let (y, dx, _) = run(
            &MaxPool2d::<2, 4, 6, 2, 2, 3>,
            &x2(),
            &r,
            &mut Zeroed::zeroed(),
        );
        let want_y: [Pool2dOut; 2] = [
            [
                [[2.375, 3.25, 5.125], [5.25, 3.375, 4.375]],
                [[5.375, 2.625, 3.5], [4.5, 5.5, 3.625]],
            ],
            [
                [[4.625, 5.625, 2.875], [3.875, 4.75, 5.75]],
                [[3.0, 4.875, 5.875], [3.125, 4.125, 5.0]],
            ],
        ];
        let want_dx: [Pool2dIn; 2] = [
            [
                [
                    [0.0, 0.0, 0.25, 0.0, 0.0, -2.5],
                    [0.0, -3.0, 0.0, 0.0, 0.0, 0.0],
                    [0.0, 0.0, 0.0, -2.0, 0.0, 0.0],
                    [0.75, 0.0, 0.0, 0.0, 0.0, 1.25],
                ],
                [
                    [0.0, 0.0, 0.0, 0.0, -1.0, 0.0],
                    [0.0, -1.5, 0.0, 1.75, 0.0, 0.0],
                    [2.25, 0.0, 0.0, 0.0, 0.0, 2.75],
                    [0.0, 0.0, -0.5, 0.0, 0.0, 0.0],
                ],
            ],
            [
                [
                    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                    [0.0, 0.0, 0.0, -2.75, 0.0, 0.5],
                    [0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
                    [0.0, -2.25, 0.0, 0.0, -1.75, 0.0],
                ],
                [
                    [1.5, 0.0, 0.0, -1.25, 0.0, 0.0],
                    [0.0, 0.0, 0.0, 0.0, 0.0, 2.0],
                    [0.0, -0.75, 0.0, 0.0, -0.25, 0.0],
                    [0.0, 0.0, 0.0, 2.5, 0.0, 0.0],
                ],
            ],
        ];
        assert_close("y", flat(&y), flat(&want_y));
        assert_close("dx", flat(&dx), flat(&want_dx));
    }

    #[test]
    fn avg_pool_2d_matches_pytorch() {
        let r: [Pool2dOut; 2] = pattern(13, 24, 12.0, 4.0);
        let (y, dx, _) = run(&AvgPool2d::<2, 4, 6, 2, 2, 3>, &x2(), &r, &mut ());
        let want_y: [Pool2dOut; 2] = [
            [
                [[-1.8125, -1.5625, 1.6875], [-0.3125, -0.0625, 0.1875]],
                [[1.1875, -1.5625, -1.3125], [-0.3125, -0.0625, 0.1875]],
            ],
            [
                [[1.1875, 1.4375, -1.3125], [-0.3125, -0.0625, 0.1875]],
                [[-1.8125, 1.4375, 1.6875], [-0.3125, -0.0625, 0.1875]],
            ],
        ];
        let want_dx: [Pool2dIn; 2] = [
            [
                [
                    [-0.75, -0.75, 0.0625, 0.0625, -0.625, -0.625],
                    [-0.75, -0.75, 0.0625, 0.0625, -0.625, -0.625],
                    [0.1875, 0.1875, -0.5, -0.5, 0.3125, 0.3125],
                    [0.1875, 0.1875, -0.5, -0.5, 0.3125, 0.3125],
                ],
                [
                    [-0.375, -0.375, 0.4375, 0.4375, -0.25, -0.25],
                    [-0.375, -0.375, 0.4375, 0.4375, -0.25, -0.25],
                    [0.5625, 0.5625, -0.125, -0.125, 0.6875, 0.6875],
                    [0.5625, 0.5625, -0.125, -0.125, 0.6875, 0.6875],
                ],
            ],
            [
                [
                    [0.0, 0.0, -0.6875, -0.6875, 0.125, 0.125],
                    [0.0, 0.0, -0.6875, -0.6875, 0.125, 0.125],
                    [-0.5625, -0.5625, 0.25, 0.25, -0.4375, -0.4375],
                    [-0.5625, -0.5625, 0.25, 0.25, -0.4375, -0.4375],
                ],
                [
                    [0.375, 0.375, -0.3125, -0.3125, 0.5, 0.5],
                    [0.375, 0.375, -0.3125, -0.3125, 0.5, 0.5],
                    [-0.1875, -0.1875, 0.625, 0.625, -0.0625, -0.0625],
                    [-0.1875, -0.1875, 0.625, 0.625, -0.0625, -0.0625],
                ],
            ],
        ];
        assert_close("y", flat(&y), flat(&want_y));
        assert_close("dx", flat(&dx), flat(&want_dx));
    }

    #[test]
    fn max_pool_ties_go_to_the_first_as_in_pytorch() {
        let (y, dx, _) = run(
            &MaxPool2d::<1, 2, 2, 2, 1, 1>,
            &[[[[1.0, 3.0], [3.0, 0.0]]]],
            &[[[[1.0]]]],
            &mut Zeroed::zeroed(),
        );
        assert_eq!((y, dx), ([[[[3.0]]]], [[[[0.0, 1.0], [0.0, 0.0]]]]));
        let (y, dx, _) = run(
            &MaxPool1d::<1, 4, 2, 2>,
            &[[[2.0, 2.0, 5.0, 5.0]]],
            &[[[1.0, 1.0]]],
            &mut (),
        );
        assert_eq!((y, dx), ([[[2.0, 5.0]]], [[[1.0, 0.0, 1.0, 0.0]]]));
    }

    #[test]
    fn max_pool_propagates_nan() {
        let mut y = [[[[0.0]]]];
        MaxPool2d::<1, 2, 2, 2, 1, 1>.forward(&[[[[1.0, f32::NAN], [3.0, 0.0]]]], &mut y);
        assert!(y[0][0][0][0].is_nan());
        let mut y = [[[0.0]]];
        MaxPool1d::<1, 2, 2, 1>.forward(&[[[f32::NAN, 1.0]]], &mut y);
        assert!(y[0][0][0].is_nan());
    }

    #[test]
    fn pools_1d_match_pytorch() {
        let r: [Pool1dOut; 2] = pattern(5, 12, 6.0, 4.0);
        let (y, dx, _) = run(&MaxPool1d::<3, 6, 3, 2>, &x1(), &r, &mut ());
        let want_y: [Pool1dOut; 2] = [
            [[0.5, 1.875], [1.5, 1.125], [2.125, 1.75]],
            [[1.375, 1.0], [2.0, 1.625], [1.25, 0.875]],
        ];
        let want_dx: [Pool1dIn; 2] = [
            [
                [0.0, 0.0, -1.5, -0.25, 0.0, 0.0],
                [1.0, 0.0, 0.0, -0.75, 0.0, 0.0],
                [0.0, 0.5, 0.0, 0.0, -1.25, 0.0],
            ],
            [
                [0.0, 0.0, 0.0, 0.0, 1.25, 0.0],
                [0.0, 0.0, -0.5, 0.0, 0.0, 0.75],
                [0.0, 0.0, -1.0, 0.0, 0.0, 0.25],
            ],
        ];
        assert_close("max y", flat(&y), flat(&want_y));
        assert_close("max dx", flat(&dx), flat(&want_dx));

        let (y, dx, _) = run(&AvgPool1d::<3, 6, 3, 2>, &x1(), &r, &mut ());
        let want_y: [Pool1dOut; 2] = [
            [[-0.875, 0.25], [-0.125, -0.5], [0.625, 0.25]],
            [[-0.125, -0.5], [0.625, 0.25], [-0.125, -0.5]],
        ];
        let want_dx: [Pool1dIn; 2] = [
            [
                [-0.5, -0.5, -0.5, -0.083333336, -0.083333336, -0.083333336],
                [0.33333334, 0.33333334, 0.33333334, -0.25, -0.25, -0.25],
                [
                    0.16666667,
                    0.16666667,
                    0.16666667,
                    -0.41666666,
                    -0.41666666,
                    -0.41666666,
                ],
            ],
            [
                [0.0, 0.0, 0.0, 0.41666666, 0.41666666, 0.41666666],
                [-0.16666667, -0.16666667, -0.16666667, 0.25, 0.25, 0.25],
                [
                    -0.33333334,
                    -0.33333334,
                    -0.33333334,
                    0.083333336,
                    0.083333336,
                    0.083333336,
                ],
            ],
        ];
        assert_close("avg y", flat(&y), flat(&want_y));
        assert_close("avg dx", flat(&dx), flat(&want_dx));
    }

    #[test]
    fn global_pools_match_pytorch() {
        let r: [[f32; 2]; 2] = pattern(3, 4, 2.0, 4.0);
        let (y, dx, _) = run(&GlobalAvgPool2d::<2, 4, 6>, &x2(), &r, &mut ());
        assert_close("2d y", flat(&y), &[-0.3125, -0.3125, 0.1875, 0.1875]);
        // PyTorch's dx holds one value per channel, in all 24 positions of the channel.
        let per_channel = [-0.020833334, 0.010416667, 0.0, -0.010416667];
        let want_dx: [Pool2dIn; 2] =
            core::array::from_fn(|b| core::array::from_fn(|c| [[per_channel[2 * b + c]; 6]; 4]));
        assert_close("2d dx", flat(&dx), flat(&want_dx));

        let r: [[f32; 3]; 2] = pattern(5, 6, 3.0, 4.0);
        let (y, dx, _) = run(&GlobalAvgPool1d::<3, 6>, &x1(), &r, &mut ());
        assert_close(
            "1d y",
            flat(&y),
            &[-0.3125, -0.3125, 0.4375, -0.3125, 0.4375, -0.3125],
        );
        let per_channel = [
            -0.125,
            0.083333336,
            0.041666668,
            0.0,
            -0.041666668,
            -0.083333336,
        ];
        let want_dx: [Pool1dIn; 2] =
            core::array::from_fn(|b| core::array::from_fn(|c| [per_channel[3 * b + c]; 6]));
        assert_close("1d dx", flat(&dx), flat(&want_dx));
    }

    #[test]
    fn gradients_match_finite_differences() {
        // The pattern inputs are distinct and 1/8 apart, far more than the checker's step of
        // 0.01: no window's maximum changes place under the perturbation.
        check_gradients(&MaxPool2d::<2, 4, 6, 2, 2, 3>, &x2(), 1, 1e-3);
        check_gradients(&AvgPool2d::<2, 4, 6, 2, 2, 3>, &x2(), 2, 1e-3);
        check_gradients(&MaxPool1d::<3, 6, 3, 2>, &x1(), 3, 1e-3);
        check_gradients(&AvgPool1d::<3, 6, 2, 3>, &x1(), 4, 1e-3);
        check_gradients(&GlobalAvgPool2d::<2, 4, 6>, &x2(), 5, 1e-3);
        check_gradients(&GlobalAvgPool1d::<3, 6>, &x1(), 6, 1e-3);
        let x3: [Pool2dIn; 3] = pattern(37, 144, 72.0, 8.0);
        check_gradients(&MaxPool2d::<2, 4, 6, 2, 2, 3>, &x3, 7, 1e-3);
    }

    #[test]
    fn pools_are_zero_sized_and_describe_themselves() {
        use core::mem::size_of;
        assert_eq!(size_of::<MaxPool2d<3, 8, 8, 2, 4, 4>>(), 0);
        assert_eq!(size_of::<AvgPool2d<3, 8, 8, 2, 4, 4>>(), 0);
        assert_eq!(size_of::<MaxPool1d<3, 8, 2, 4>>(), 0);
        assert_eq!(size_of::<AvgPool1d<3, 8, 2, 4>>(), 0);
        assert_eq!(size_of::<GlobalAvgPool2d<3, 8, 8>>(), 0);
        assert_eq!(size_of::<GlobalAvgPool1d<3, 8>>(), 0);
        assert_eq!(<MaxPool2d<3, 8, 8, 2, 4, 4> as Parameters>::LEN, 0);
        assert_eq!(<MaxPool2d<3, 8, 8, 2, 4, 4> as Layer>::PARAMS, 0);
        assert!(<AvgPool1d<3, 8, 2, 4> as Layer>::TENSORS.is_empty());
        assert_eq!(<GlobalAvgPool2d<3, 8, 8> as Layer>::KIND, "GlobalAvgPool2d");
        assert_eq!(
            <<GlobalAvgPool2d<3, 8, 8> as Layer>::Output as Tensor>::SHAPE,
            &[3]
        );
        extern crate std;
        assert_eq!(
            std::format!("{:?}", MaxPool2d::<3, 8, 8, 2, 4, 4>),
            "MaxPool2d<3, 8, 8, 2, 4, 4>"
        );
    }
}
