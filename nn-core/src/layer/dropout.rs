//! Dropout: during training, zeroes a random `RATE` % of the values and scales the rest; at
//! inference, passes the input through.

use core::fmt;
use core::marker::PhantomData;

use super::{Backprop, Layer, Op, ParamTensor, Tensor};
use crate::{Identity, Parameters, Rng};

/// Inverted dropout on tensors `T` with a drop rate of `RATE` percent (`0..=99`, checked at
/// compile time), as PyTorch's `Dropout(p = RATE / 100)`.
///
/// In training ([`Backprop::forward_train`]) each value is kept with probability
/// `1 − RATE/100` and then multiplied by `1 / (1 − RATE/100)`, so the expected output equals the
/// input and inference ([`Layer::forward`]) is the identity. The mask is drawn from the `rng`
/// given to `forward_train` (training stays reproducible from a seed) and kept in the scratch
/// buffer for the backward pass. The rate is part of the type, not a parameter: the layer is
/// zero-sized.
///
/// ```
/// use nn_core::{layer::{Backprop, Layer}, Dropout, Parameters, Rng};
/// let layer = Dropout::<[f32; 4], 50>::new();
/// let x = [[1.0, 2.0, 3.0, 4.0]];
/// let mut y = [[0.0; 4]];
/// layer.forward(&x, &mut y);
/// assert_eq!(y, x); // inference: identity
///
/// let mut mask = [[0.0; 4]; 1];
/// layer.forward_train(&x, &mut y, &mut mask, &mut Rng::new(3));
/// for i in 0..4 {
///     // Dropped, or kept and doubled.
///     assert!(y[0][i] == 0.0 || y[0][i] == 2.0 * x[0][i]);
/// }
/// assert_eq!(core::mem::size_of::<Dropout<[f32; 4], 50>>(), 0);
/// ```
///
/// A rate of 100 % would divide by zero and is refused when the layer is used:
/// ```compile_fail,E0080
/// use nn_core::{layer::Layer, Dropout};
/// Dropout::<[f32; 4], 100>::new().forward(&[[0.0; 4]], &mut [[0.0; 4]]);
/// ```
#[repr(C)]
pub struct Dropout<T: Tensor, const RATE: u32> {
    // `fn() -> T` keeps the layer zero-sized, Send, Sync and Copy: it holds no `T`.
    shape: PhantomData<fn() -> T>,
}

// SAFETY: repr(C) with only a zero-sized marker: size 0, no bytes at all.
unsafe impl<T: Tensor, const RATE: u32> Parameters for Dropout<T, RATE> {}

impl<T: Tensor, const RATE: u32> Dropout<T, RATE> {
    /// The probability of dropping a value in training (PyTorch's `p`): `RATE / 100`.
    pub const P: f32 = RATE as f32 / 100.0;
    /// What kept values are multiplied by in training: `1 / (1 − RATE/100)`.
    // saturating_sub: a rate above 100 is reported by CHECK, not as an overflow here.
    pub const SCALE: f32 = 100.0 / 100u32.saturating_sub(RATE) as f32;

    // Evaluated where forward/backward are instantiated: RATE = 100 would make SCALE infinite.
    const CHECK: () = assert!(
        RATE < 100,
        "Dropout<T, RATE>: RATE is a percentage below 100"
    );

    /// The layer (there is nothing to set: the rate is in the type).
    pub const fn new() -> Self {
        Dropout { shape: PhantomData }
    }
}

impl<T: Tensor, const RATE: u32> Layer for Dropout<T, RATE> {
    type Input = T;
    type Output = T;
    type Activation = Identity;
    const KIND: &'static str = "Dropout";
    const OP: Op = Op::Dropout;
    const PARAMS: usize = 0;
    const TENSORS: &'static [ParamTensor] = &[];

    fn init(&mut self, _: &mut Rng) {}

    /// Inference: the identity.
    #[inline]
    fn forward<const B: usize>(&self, x: &[T; B], y: &mut [T; B]) {
        let () = Self::CHECK;
        *y = *x;
    }
}

impl<T: Tensor, const RATE: u32, const B: usize> Backprop<B> for Dropout<T, RATE> {
    /// Per value, what it was multiplied by: `0` (dropped) or [`SCALE`](Dropout::SCALE).
    type Scratch = [T; B];

    type Derivative = crate::Identity;

    /// No activation: `dL/dy` is `dL/dz`.
    #[inline]
    fn activation_backward(_: &[Self::Output; B], _: &mut [Self::Output; B]) {}

    /// Draws one uniform number per value from `rng`: below the rate, dropped.
    #[inline]
    fn forward_train(&self, x: &[T; B], y: &mut [T; B], mask: &mut [T; B], rng: &mut Rng) {
        let () = Self::CHECK;
        for ((x, y), mask) in x.iter().zip(y.iter_mut()).zip(mask.iter_mut()) {
            let values = x.flat().iter().zip(y.flat_mut()).zip(mask.flat_mut());
            for ((&x, y), m) in values {
                *m = if rng.next_f32() < Self::P {
                    0.0
                } else {
                    Self::SCALE
                };
                *y = x * *m;
            }
        }
    }

    /// The gradient through the same mask.
    #[inline]
    fn backward(
        &self,
        _x: &[T; B],
        _y: &[T; B],
        dz: &[T; B],
        mask: &[T; B],
        _grad: &mut Self,
        dx: Option<&mut [T; B]>,
    ) {
        let () = Self::CHECK;
        let Some(dx) = dx else { return };
        for ((dz, mask), dx) in dz.iter().zip(mask).zip(dx.iter_mut()) {
            let values = dz.flat().iter().zip(mask.flat()).zip(dx.flat_mut());
            for ((&d, &m), dx) in values {
                *dx = d * m;
            }
        }
    }
}

impl<T: Tensor, const RATE: u32> Clone for Dropout<T, RATE> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Tensor, const RATE: u32> Copy for Dropout<T, RATE> {}

impl<T: Tensor, const RATE: u32> PartialEq for Dropout<T, RATE> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T: Tensor, const RATE: u32> Eq for Dropout<T, RATE> {}

impl<T: Tensor, const RATE: u32> Default for Dropout<T, RATE> {
    fn default() -> Self {
        Dropout::new()
    }
}

impl<T: Tensor, const RATE: u32> fmt::Debug for Dropout<T, RATE> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dropout<{:?}, {RATE}>", T::SHAPE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::testing::{check_gradients, random};

    type Big = [[f32; 100]; 50];

    /// Training pass over two samples of 5,000 values each (all ones): outputs and mask.
    fn train<const RATE: u32>(seed: u64) -> ([Big; 2], [Big; 2]) {
        let x = [[[1.0; 100]; 50]; 2];
        let (mut y, mut mask) = ([Big::ZERO; 2], [Big::ZERO; 2]);
        Dropout::<Big, RATE>::new().forward_train(&x, &mut y, &mut mask, &mut Rng::new(seed));
        (y, mask)
    }

    #[test]
    fn inference_is_the_identity() {
        let x: [[[f32; 5]; 3]; 2] = [random(1), random(2)];
        let mut y = [[[0.0; 5]; 3]; 2];
        Dropout::<[[f32; 5]; 3], 70>::new().forward(&x, &mut y);
        assert_eq!(y, x);
    }

    #[test]
    fn training_drops_about_rate_percent_and_scales_the_rest_exactly() {
        fn check<const RATE: u32>() {
            let (y, mask) = train::<RATE>(42);
            let values = y.as_flattened().as_flattened();
            let zeros = values.iter().filter(|&&v| v == 0.0).count();
            let expected = 10_000 * RATE as usize / 100;
            // ±2 % of 10,000: more than six standard deviations of a binomial count.
            assert!(
                zeros.abs_diff(expected) <= 200,
                "rate {RATE}: {zeros} zeros"
            );
            let scale = 100.0 / (100 - RATE) as f32;
            assert!(values.iter().all(|&v| v == 0.0 || v == scale));
            assert_eq!(mask, y); // the input is all ones: the output is the mask
        }
        check::<0>();
        check::<10>();
        check::<50>();
        check::<90>();
        check::<99>();
        // Kept values are x·SCALE exactly, whatever x.
        let x: [[f32; 64]; 2] = [random(3), random(4)];
        let (mut y, mut mask) = ([[0.0; 64]; 2], [[0.0; 64]; 2]);
        Dropout::<[f32; 64], 30>::new().forward_train(&x, &mut y, &mut mask, &mut Rng::new(5));
        let scale = 1.0 / 0.7;
        for (x, y) in x.as_flattened().iter().zip(y.as_flattened()) {
            assert!(*y == 0.0 || *y == x * scale, "{y} vs {x}");
        }
    }

    #[test]
    fn the_mask_follows_the_seed() {
        assert_eq!(train::<50>(7), train::<50>(7));
        assert_ne!(train::<50>(7).1, train::<50>(8).1);
    }

    #[test]
    fn backward_uses_the_training_mask() {
        let x = [[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]];
        let (mut y, mut mask) = ([[0.0; 8]], [[0.0; 8]]);
        let layer = Dropout::<[f32; 8], 50>::new();
        layer.forward_train(&x, &mut y, &mut mask, &mut Rng::new(1));
        let mut dx = [[0.0; 8]];
        layer.backward(
            &x,
            &y,
            &[[1.0; 8]],
            &mask,
            &mut Dropout::new(),
            Some(&mut dx),
        );
        assert_eq!(dx, mask);
        assert!(mask[0].contains(&0.0) && mask[0].contains(&2.0));
    }

    #[test]
    fn gradients_match_finite_differences() {
        // The checker reseeds the rng for every probe: the mask is the same in all of them.
        let x: [[[f32; 4]; 3]; 3] = [random(1), random(2), random(3)];
        check_gradients(&Dropout::<[[f32; 4]; 3], 40>::new(), &x, 11, 1e-3);
        let x: [[f32; 10]; 2] = [random(4), random(5)];
        check_gradients(&Dropout::<[f32; 10], 0>::new(), &x, 12, 1e-3);
    }

    #[test]
    fn dropout_is_zero_sized() {
        assert_eq!(core::mem::size_of::<Dropout<[[[f32; 28]; 28]; 8], 25>>(), 0);
        assert_eq!(<Dropout<[f32; 64], 25> as Layer>::PARAMS, 0);
        assert!(<Dropout<[f32; 64], 25> as Layer>::TENSORS.is_empty());
        assert_eq!(<Dropout<[f32; 64], 25> as Layer>::KIND, "Dropout");
        extern crate std;
        let debug = std::format!("{:?}", Dropout::<[[f32; 5]; 3], 25>::new());
        assert_eq!(debug, "Dropout<[3, 5], 25>");
    }
}
