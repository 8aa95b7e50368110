//! Layers, one file each, behind one contract: [`Layer`] for inference and [`Backprop`] for
//! training. A layer is a plain value of fixed size (its parameters, nothing else); the `network!`
//! macro makes a struct of layers and generates the code that hands each layer's output to the next,
//! calling layers only through these two traits.
//!
//! Shapes that need arithmetic (a convolution's output height) are const parameters of the layer
//! type, computed by the macro; each layer re-checks them in const evaluation, so a hand-written
//! wrong instantiation does not compile either.

mod batch_norm;
mod conv1d;
mod conv2d;
mod dense;
mod depthwise;
mod dropout;
mod flatten;
mod fold;
mod normalization;
mod pool;
#[cfg(test)]
pub(crate) mod testing;

pub use batch_norm::{BatchNorm1d, BatchNorm2d, BatchNormDense};
pub use conv1d::Conv1d;
pub use conv2d::Conv2d;
pub use dense::Dense;
pub use depthwise::DepthwiseConv2d;
pub use dropout::Dropout;
pub use flatten::{Flatten1d, Flatten2d};
pub use fold::{FoldBatchNorm, ScaleChannels};
pub use normalization::{AdaptError, Normalization};
pub use pool::{AvgPool1d, AvgPool2d, GlobalAvgPool1d, GlobalAvgPool2d, MaxPool1d, MaxPool2d};

use crate::activation::{Activation, Differentiable};
use crate::{Loss, Parameters, Rng};

/// One sample's worth of values: `[f32; N]`, `[[f32; L]; C]` (channels × length) or
/// `[[[f32; W]; H]; C]` (channels × height × width, PyTorch's order).
///
/// ```
/// use nn_core::layer::Tensor;
/// assert_eq!(<[[[f32; 24]; 24]; 6]>::SHAPE, &[6, 24, 24]);
/// assert_eq!(<[[[f32; 24]; 24]; 6]>::LEN, 3456);
/// let t = [[1.0, 2.0], [3.0, 4.0]];
/// assert_eq!(t.flat(), &[1.0, 2.0, 3.0, 4.0]);
/// ```
pub trait Tensor: sealed::Sealed + Copy + Send + Sync + 'static {
    /// Values per sample.
    const LEN: usize;
    /// The shape, outermost first.
    const SHAPE: &'static [usize];
    /// All zeros.
    const ZERO: Self;
    /// The values in memory order.
    fn flat(&self) -> &[f32];
    /// The values in memory order, mutable.
    fn flat_mut(&mut self) -> &mut [f32];
    /// A batch of flat rows of `N = LEN` values seen as a batch of this shape (no copy).
    fn from_rows<const N: usize, const B: usize>(rows: &[[f32; N]; B]) -> &[Self; B];
    /// As [`from_rows`](Tensor::from_rows), mutable.
    fn from_rows_mut<const N: usize, const B: usize>(rows: &mut [[f32; N]; B]) -> &mut [Self; B];
    /// The first `B` samples of this shape in a flat buffer (no copy); panics if `flat` holds fewer
    /// than `B · LEN` values. Inference hands activations from layer to layer in two such buffers.
    fn batch_of<const B: usize>(flat: &[f32]) -> &[Self; B];
    /// As [`batch_of`](Tensor::batch_of), mutable.
    fn batch_of_mut<const B: usize>(flat: &mut [f32]) -> &mut [Self; B];
}

mod sealed {
    /// Only the three array shapes are tensors: the [`Parameters`](crate::Parameters) impl for
    /// batches of tensors relies on a tensor being nothing but `f32`s.
    pub trait Sealed {}
    impl<const N: usize> Sealed for [f32; N] {}
    impl<const L: usize, const C: usize> Sealed for [[f32; L]; C] {}
    impl<const W: usize, const H: usize, const C: usize> Sealed for [[[f32; W]; H]; C] {}
}

// SAFETY: `Tensor` is sealed to arrays of f32 (nested at most three deep); an array of them is a
// padding-free block of f32s with f32 alignment.
unsafe impl<T: Tensor, const B: usize> Parameters for [T; B] {}

impl<const N: usize> Tensor for [f32; N] {
    const LEN: usize = N;
    const SHAPE: &'static [usize] = &[N];
    const ZERO: Self = [0.0; N];
    #[inline(always)]
    fn flat(&self) -> &[f32] {
        self
    }
    #[inline(always)]
    fn flat_mut(&mut self) -> &mut [f32] {
        self
    }
    #[inline(always)]
    fn from_rows<const M: usize, const B: usize>(rows: &[[f32; M]; B]) -> &[Self; B] {
        const { assert!(M == N, "a row must have as many values as the tensor") };
        as_batch(rows.as_flattened().as_chunks::<N>().0)
    }
    #[inline(always)]
    fn from_rows_mut<const M: usize, const B: usize>(rows: &mut [[f32; M]; B]) -> &mut [Self; B] {
        const { assert!(M == N, "a row must have as many values as the tensor") };
        as_batch_mut(rows.as_flattened_mut().as_chunks_mut::<N>().0)
    }
    #[inline(always)]
    fn batch_of<const B: usize>(flat: &[f32]) -> &[Self; B] {
        as_batch(flat.as_chunks::<N>().0)
    }
    #[inline(always)]
    fn batch_of_mut<const B: usize>(flat: &mut [f32]) -> &mut [Self; B] {
        as_batch_mut(flat.as_chunks_mut::<N>().0)
    }
}

impl<const L: usize, const C: usize> Tensor for [[f32; L]; C] {
    const LEN: usize = L * C;
    const SHAPE: &'static [usize] = &[C, L];
    const ZERO: Self = [[0.0; L]; C];
    #[inline(always)]
    fn flat(&self) -> &[f32] {
        self.as_flattened()
    }
    #[inline(always)]
    fn flat_mut(&mut self) -> &mut [f32] {
        self.as_flattened_mut()
    }
    #[inline(always)]
    fn from_rows<const M: usize, const B: usize>(rows: &[[f32; M]; B]) -> &[Self; B] {
        const { assert!(M == L * C, "a row must have as many values as the tensor") };
        let lines = rows.as_flattened().as_chunks::<L>().0;
        as_batch(lines.as_chunks::<C>().0)
    }
    #[inline(always)]
    fn from_rows_mut<const M: usize, const B: usize>(rows: &mut [[f32; M]; B]) -> &mut [Self; B] {
        const { assert!(M == L * C, "a row must have as many values as the tensor") };
        let lines = rows.as_flattened_mut().as_chunks_mut::<L>().0;
        as_batch_mut(lines.as_chunks_mut::<C>().0)
    }
    #[inline(always)]
    fn batch_of<const B: usize>(flat: &[f32]) -> &[Self; B] {
        as_batch(flat.as_chunks::<L>().0.as_chunks::<C>().0)
    }
    #[inline(always)]
    fn batch_of_mut<const B: usize>(flat: &mut [f32]) -> &mut [Self; B] {
        as_batch_mut(flat.as_chunks_mut::<L>().0.as_chunks_mut::<C>().0)
    }
}

impl<const W: usize, const H: usize, const C: usize> Tensor for [[[f32; W]; H]; C] {
    const LEN: usize = W * H * C;
    const SHAPE: &'static [usize] = &[C, H, W];
    const ZERO: Self = [[[0.0; W]; H]; C];
    #[inline(always)]
    fn flat(&self) -> &[f32] {
        self.as_flattened().as_flattened()
    }
    #[inline(always)]
    fn flat_mut(&mut self) -> &mut [f32] {
        self.as_flattened_mut().as_flattened_mut()
    }
    #[inline(always)]
    fn from_rows<const M: usize, const B: usize>(rows: &[[f32; M]; B]) -> &[Self; B] {
        const {
            assert!(
                M == W * H * C,
                "a row must have as many values as the tensor"
            )
        };
        let lines = rows.as_flattened().as_chunks::<W>().0;
        as_batch(lines.as_chunks::<H>().0.as_chunks::<C>().0)
    }
    #[inline(always)]
    fn from_rows_mut<const M: usize, const B: usize>(rows: &mut [[f32; M]; B]) -> &mut [Self; B] {
        const {
            assert!(
                M == W * H * C,
                "a row must have as many values as the tensor"
            )
        };
        let lines = rows.as_flattened_mut().as_chunks_mut::<W>().0;
        as_batch_mut(lines.as_chunks_mut::<H>().0.as_chunks_mut::<C>().0)
    }
    #[inline(always)]
    fn batch_of<const B: usize>(flat: &[f32]) -> &[Self; B] {
        let lines = flat.as_chunks::<W>().0;
        as_batch(lines.as_chunks::<H>().0.as_chunks::<C>().0)
    }
    #[inline(always)]
    fn batch_of_mut<const B: usize>(flat: &mut [f32]) -> &mut [Self; B] {
        let lines = flat.as_chunks_mut::<W>().0;
        as_batch_mut(lines.as_chunks_mut::<H>().0.as_chunks_mut::<C>().0)
    }
}

#[inline(always)]
fn as_batch<T, const B: usize>(items: &[T]) -> &[T; B] {
    // `from_rows` callers' const assertions make the length exactly B; `batch_of` callers size
    // their buffers for B samples (the generated code does).
    items.first_chunk().expect("B items")
}

#[inline(always)]
fn as_batch_mut<T, const B: usize>(items: &mut [T]) -> &mut [T; B] {
    items.first_chunk_mut().expect("B items")
}

/// One named block of a layer's parameters, in PyTorch's naming and layout: what weight files
/// (raw, safetensors, ONNX) read and write.
///
/// ```
/// use nn_core::{layer::Layer, Dense, Relu};
/// let [w, b] = <Dense<784, 64, Relu> as Layer>::TENSORS else { unreachable!() };
/// assert_eq!((w.name, w.shape), ("weight", &[64, 784][..]));
/// assert_eq!((b.name, b.shape, b.trainable), ("bias", &[64][..], true));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamTensor {
    /// Name within the layer (`weight`, `bias`, `running_mean`, …).
    pub name: &'static str,
    /// Shape, outermost first; its product is the number of `f32`s.
    pub shape: &'static [usize],
    /// `false` for state that training updates without gradients (batch norm's running statistics).
    pub trainable: bool,
}

impl ParamTensor {
    /// Number of values.
    pub const fn len(&self) -> usize {
        let mut n = 1;
        let mut i = 0;
        while i < self.shape.len() {
            n *= self.shape[i];
            i += 1;
        }
        n
    }

    /// Whether the tensor holds no values.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a layer computes, as exporters and importers (ONNX) describe it; sizes in PyTorch's order.
///
/// ```
/// use nn_core::layer::{Layer, Op, ConvOp, PoolOp};
/// use nn_core::{Conv2d, Dense, MaxPool2d, Relu};
/// assert_eq!(<Dense<4, 3, Relu> as Layer>::OP, Op::Dense);
/// // 'same' padding of a 3×3 kernel with stride 2 over 6×6 pads 0 before and 1 after (TensorFlow).
/// let Op::Conv(conv) = <Conv2d<1, 6, 6, 2, 3, 2, true, 3, 3, Relu> as Layer>::OP else { panic!() };
/// assert_eq!((conv.kernel, conv.strides, conv.pads, conv.groups), (&[3, 3][..], &[2, 2][..], &[0, 0, 1, 1][..], 1));
/// assert_eq!(
///     <MaxPool2d<1, 4, 4, 2, 2, 2> as Layer>::OP,
///     Op::MaxPool(PoolOp { kernel: &[2, 2], strides: &[2, 2] })
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Op {
    /// `y = W·x + b`, `weight` of shape `[OUT, IN]` (PyTorch's `Linear`).
    Dense,
    /// A convolution (PyTorch's `Conv1d`/`Conv2d`), `weight` of shape `[F, C / groups, K…]`.
    Conv(ConvOp),
    /// Max pooling.
    MaxPool(PoolOp),
    /// Average pooling (windows never overlap padding).
    AvgPool(PoolOp),
    /// The mean of each channel, giving one value per channel.
    GlobalAvgPool,
    /// Reshapes a sample to one row, in memory order.
    Flatten,
    /// Dropout: the identity at inference.
    Dropout,
    /// Batch normalisation at inference, over the channels (axis 1 of a batch).
    BatchNorm {
        /// Added to the variance.
        epsilon: f32,
    },
    /// Keras' `Normalization`: `(x − mean) / max(√variance, epsilon)` per feature, with the
    /// layer's `mean` and `variance` tensors.
    Normalization {
        /// The floor of the standard deviation.
        epsilon: f32,
    },
    /// A layer exporters do not know (a user's own layer kind).
    Other,
}

/// The geometry of a convolution, as ONNX's `Conv` attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvOp {
    /// Kernel size per spatial axis.
    pub kernel: &'static [usize],
    /// Stride per spatial axis.
    pub strides: &'static [usize],
    /// Zero padding: the start of every spatial axis, then the end of every axis (ONNX's order).
    pub pads: &'static [usize],
    /// Channel groups: 1 for a full convolution, the channel count for a depthwise one.
    pub groups: usize,
}

/// The geometry of a pooling layer, as ONNX's `MaxPool`/`AveragePool` attributes (no padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOp {
    /// Window size per spatial axis.
    pub kernel: &'static [usize],
    /// Stride per spatial axis.
    pub strides: &'static [usize],
}

/// How a layer's weights are drawn at initialisation (biases start at zero, as in Keras).
///
/// Every layer with weights draws them Glorot-uniform by default, whatever its activation, as
/// Keras' `Dense` and `Conv*` layers do (`kernel_initializer="glorot_uniform"`). `network!` takes
/// `init = He` on a `Dense` or convolution to draw that layer He-uniform instead (Keras'
/// `kernel_initializer="he_uniform"`), the usual choice before a ReLU.
///
/// ```
/// use nn_core::layer::{Init, Layer};
/// use nn_core::{Dense, Relu, Rng};
/// // 600 inputs, 200 outputs: Glorot's limit is √(6/800) ≈ 0.087, He's √(6/600) = 0.1.
/// let (mut glorot, mut he) = (Dense::<600, 200, Relu>::default(), Dense::<600, 200, Relu>::default());
/// glorot.init(&mut Rng::new(1));
/// he.init_with(Init::He, &mut Rng::new(1));
/// let largest = |d: &Dense<600, 200, Relu>| d.weight.as_flattened().iter().fold(0f32, |m, w| m.max(w.abs()));
/// assert!(largest(&glorot) <= 0.0867 && largest(&glorot) > 0.086);
/// assert!(largest(&he) <= 0.1 && largest(&he) > 0.099);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Init {
    /// Glorot/Xavier uniform: `U(±√(6 / (fan_in + fan_out)))`, Keras' default.
    #[default]
    Glorot,
    /// He uniform: `U(±√(6 / fan_in))`, Keras' `he_uniform`.
    He,
}

impl Init {
    /// The bound of the uniform distribution for a layer with these fans (Keras' fans: inputs and
    /// outputs of one output unit, times the kernel's positions for a convolution).
    ///
    /// ```
    /// use nn_core::layer::Init;
    /// assert_eq!(Init::He.limit(6, 100), 1.0);
    /// assert_eq!(Init::Glorot.limit(2, 4), 1.0);
    /// ```
    pub fn limit(self, fan_in: usize, fan_out: usize) -> f32 {
        let fan = match self {
            Init::He => fan_in as f32 / 2.0,
            Init::Glorot => (fan_in + fan_out) as f32 / 2.0,
        };
        libm::sqrtf(3.0 / fan)
    }
}

/// The contract every layer kind implements: shapes, parameters, initialisation and the batched
/// forward pass. Its parameters are the layer value itself ([`Parameters`]): the blocks of
/// [`TENSORS`](Layer::TENSORS), one after the other, row-major.
///
/// Generic code can take any layer:
/// ```
/// use nn_core::{layer::{Layer, Tensor}, Dense, Parameters, Relu};
/// fn describe<L: Layer>() -> (&'static str, &'static [usize], usize) {
///     (L::KIND, <L::Output as Tensor>::SHAPE, L::PARAMS)
/// }
/// assert_eq!(describe::<Dense<4, 3, Relu>>(), ("Dense", &[3][..], 15));
/// let layer = Dense::<1, 1, Relu>::new([[2.0]], [-1.0]);
/// let mut y = [[0.0]; 2];
/// Layer::forward(&layer, &[[1.0], [0.0]], &mut y);
/// assert_eq!(y, [[1.0], [0.0]]);
/// ```
pub trait Layer: Parameters {
    /// One sample's input.
    type Input: Tensor;
    /// One sample's output.
    type Output: Tensor;
    /// The activation applied to the output ([`Identity`](crate::Identity) for layers without).
    type Activation: Activation;
    /// Name of the kind, for `summary()` (`Dense`, `Conv2d`, …).
    const KIND: &'static str;
    /// Trainable parameters. Non-trainable state (running statistics) is not counted here, but is
    /// part of the value and of [`TENSORS`](Layer::TENSORS).
    const PARAMS: usize;
    /// The parameter blocks in memory order.
    const TENSORS: &'static [ParamTensor];
    /// What the layer computes, for exporters; [`Op::Other`] for a kind they do not know.
    const OP: Op = Op::Other;

    /// Draws initial parameters from `rng` with Keras' defaults: weights Glorot-uniform, biases
    /// zero (zero-sized layers draw nothing; batch norm takes its fixed initial state).
    fn init(&mut self, rng: &mut Rng);

    /// As [`init`](Layer::init), with the weights drawn as `init` says (`network!`'s `init = He`).
    /// Layers without weights ignore `init`.
    fn init_with(&mut self, init: Init, rng: &mut Rng) {
        let _ = init;
        self.init(rng);
    }

    /// Inference on a batch of `B` samples, activation included.
    fn forward<const B: usize>(&self, x: &[Self::Input; B], y: &mut [Self::Output; B]);
}

/// The training half of a layer, for batches of `B` samples.
///
/// `network!` requires it of every layer of a network that trains; layers with an activation that
/// has no gradient ([`Step`](crate::Step)) do not implement it.
///
/// ```
/// use nn_core::{layer::Backprop, Dense, Identity, Rng, Zeroed};
/// // y = 2x + 1; with dL/dz = −2 at x = 1 the gradient is −2 for the weight and the bias.
/// let layer = Dense::<1, 1, Identity>::new([[2.0]], [1.0]);
/// let (x, mut y) = ([[1.0]], [[0.0]]);
/// layer.forward_train(&x, &mut y, &mut (), &mut Rng::new(0));
/// let mut grad = Dense::zeroed();
/// let mut dx = [[0.0]];
/// layer.backward(&x, &y, &[[-2.0]], &(), &mut grad, Some(&mut dx));
/// assert_eq!((grad.weight, grad.bias, dx), ([[-2.0]], [-2.0], [[-4.0]]));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be trained",
    label = "this layer has no gradient",
    note = "every layer of a network must have a `Differentiable` activation to be trained"
)]
pub trait Backprop<const B: usize>: Layer {
    /// What the training forward pass leaves for the backward pass besides the outputs (a dropout
    /// mask, batch statistics); `()` for most layers. Owned by the caller (the
    /// [`Trainer`](crate::Trainer) keeps it off the stack).
    type Scratch: Parameters;

    /// The layer's activation once more, as a type with a gradient (`Layer::Activation` for every
    /// layer here): generated code names it to fuse the loss with the output activation, without
    /// a bound that would stop an inference-only network (`Step`) from compiling.
    type Derivative: Differentiable;

    /// Turns `dL/dy` into `dL/dz` (the gradient before the activation) in place, given the
    /// outputs `y`. A layer with an activation implements it with
    /// [`activation_backward`]; a layer without one leaves `dy` as it is.
    fn activation_backward(y: &[Self::Output; B], dy: &mut [Self::Output; B]);

    /// The forward pass in training mode (dropout active, batch statistics), activation included.
    /// By default the inference pass: only layers that behave differently in training (dropout,
    /// batch norm) or keep something for the backward pass (max pooling's argmax) override it.
    #[inline]
    fn forward_train(
        &self,
        x: &[Self::Input; B],
        y: &mut [Self::Output; B],
        scratch: &mut Self::Scratch,
        rng: &mut Rng,
    ) {
        let _ = (scratch, rng);
        Layer::forward(self, x, y);
    }

    /// Given the inputs `x`, outputs `y` and `dz = dL/dz` (the gradient before the activation),
    /// overwrites `grad` with this layer's parameter gradients (zero for non-trainable state) and,
    /// if `dx` is given, writes `dL/dx` into it.
    fn backward(
        &self,
        x: &[Self::Input; B],
        y: &[Self::Output; B],
        dz: &[Self::Output; B],
        scratch: &Self::Scratch,
        grad: &mut Self,
        dx: Option<&mut [Self::Input; B]>,
    );

    /// After the optimizer step: updates non-trainable state from the batch (batch norm's running
    /// statistics). Nothing for most layers.
    #[inline]
    fn update_state(&mut self, scratch: &Self::Scratch) {
        let _ = scratch;
    }

    /// Whether the layer implements [`backward_continued`](Backprop::backward_continued) and
    /// treats every sample on its own (no batch statistics, no random numbers, no scratch). When
    /// every layer of a network does, `network!` trains a batch whose inputs would crowd the
    /// weights out of L2 ([`in_parts`]) in parts of [`PART`] samples, each part's forward and
    /// backward pass back to back — bit for bit the same gradient. `false` by default.
    ///
    /// ```
    /// use nn_core::layer::{Backprop, Conv2d, Dense, Dropout};
    /// use nn_core::Relu;
    /// assert!(<Dense<784, 64, Relu> as Backprop<256>>::CONTINUES);
    /// assert!(!<Conv2d<1, 28, 28, 6, 5, 1, false, 24, 24, Relu> as Backprop<256>>::CONTINUES);
    /// assert!(!<Dropout<[f32; 64], 20> as Backprop<256>>::CONTINUES); // draws a mask per batch
    /// ```
    const CONTINUES: bool = false;

    /// [`backward`](Backprop::backward) for a part of a larger batch: with `continues`, the
    /// parameter gradients go on from the sums stored by the parts before, in sample order, so
    /// that the parts together give exactly the sums of one call over the whole batch. Only
    /// called on a layer with [`CONTINUES`](Backprop::CONTINUES): the default panics.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn backward_continued(
        &self,
        x: &[Self::Input; B],
        y: &[Self::Output; B],
        dz: &[Self::Output; B],
        scratch: &Self::Scratch,
        grad: &mut Self,
        dx: Option<&mut [Self::Input; B]>,
        continues: bool,
    ) {
        let _ = (x, y, dz, scratch, grad, dx, continues);
        unimplemented!("{} cannot be trained in parts", Self::KIND)
    }
}

/// Samples per part when a batch is trained in parts (see [`Backprop::CONTINUES`]).
pub const PART: usize = 64;

/// Bytes of inputs above which a batch is trained in parts: a quarter of a 1 MB L2. 784-64-10's
/// inputs, read in the forward pass and again for the weight gradient, went to L3 in between at
/// batch 256 (800 KB: 8 % slower per sample than batch 128); at batch 128 (400 KB, beside 400 KB
/// of weights and their gradient) one pass was no faster per sample than batch 64, in parts it is
/// 1–1.5 % faster (data-set bench, AMD EPYC Zen 5).
const PARTS_ABOVE: usize = 256 * 1024;

/// Whether `network!`'s training code takes a batch of `batch` samples of `inputs` values in
/// parts of [`PART`]: every layer [`CONTINUES`](Backprop::CONTINUES) (`all_continue`), the batch
/// is whole parts, more than one, its inputs are over a quarter of L2 and the `params` weights
/// over half of it are not (each part reads all of them again: 784-512-512-10's 2.7 MB would come
/// from L3 four times).
///
/// ```
/// use nn_core::layer::in_parts;
/// let mlp = 784 * 64 + 64 + 64 * 10 + 10;
/// assert!(in_parts(256, 784, mlp, true));
/// assert!(in_parts(128, 784, mlp, true));
/// assert!(!in_parts(64, 784, mlp, true)); // one part
/// assert!(!in_parts(256, 784, mlp, false));
/// assert!(!in_parts(200, 784, mlp, true)); // not whole parts
/// assert!(!in_parts(256, 784, 669_706, true)); // 784-512-512-10
/// ```
pub const fn in_parts(batch: usize, inputs: usize, params: usize, all_continue: bool) -> bool {
    all_continue
        && batch > PART
        && batch.is_multiple_of(PART)
        && batch * inputs * 4 > PARTS_ABOVE
        && params * 4 <= 2 * PARTS_ABOVE
}

/// [`Backprop`] for a part of a batch of `B` ([`PART`] samples): the bound of `network!`'s
/// training code. (Not a `Backprop<PART>` supertrait: a bound that does not name the batch size
/// would be checked where the network is defined, and an inference-only network would not
/// compile.) Every layer with `Backprop<B>` and `Backprop<PART>` has it.
///
/// ```
/// use nn_core::layer::{BackpropParts, Dense, PART};
/// use nn_core::{Relu, Rng};
/// let layer = Dense::<4, 2, Relu>::new([[1.0; 4], [-1.0; 4]], [0.0; 2]);
/// let (x, mut y) = ([[0.5f32; 4]; PART], [[0.0f32; 2]; PART]);
/// BackpropParts::<256>::forward_part(&layer, &x, &mut y, &mut (), &mut Rng::new(0));
/// assert_eq!(y[0], [2.0, 0.0]);
/// ```
pub trait BackpropParts<const B: usize>: Layer {
    /// `<Self as Backprop<PART>>::Scratch`.
    type PartScratch: Parameters;
    /// `<Self as Backprop<PART>>::Derivative`.
    type PartDerivative: Differentiable;
    /// [`Backprop::forward_train`] on a part.
    fn forward_part(
        &self,
        x: &[Self::Input; PART],
        y: &mut [Self::Output; PART],
        scratch: &mut Self::PartScratch,
        rng: &mut Rng,
    );
    /// [`Backprop::activation_backward`] on a part.
    fn activation_backward_part(y: &[Self::Output; PART], dy: &mut [Self::Output; PART]);
    /// [`Backprop::backward_continued`] on a part.
    #[allow(clippy::too_many_arguments)]
    fn backward_part(
        &self,
        x: &[Self::Input; PART],
        y: &[Self::Output; PART],
        dz: &[Self::Output; PART],
        scratch: &Self::PartScratch,
        grad: &mut Self,
        dx: Option<&mut [Self::Input; PART]>,
        continues: bool,
    );
}

impl<T: Backprop<B> + Backprop<PART>, const B: usize> BackpropParts<B> for T {
    type PartScratch = <T as Backprop<PART>>::Scratch;
    type PartDerivative = <T as Backprop<PART>>::Derivative;
    #[inline(always)]
    fn forward_part(
        &self,
        x: &[Self::Input; PART],
        y: &mut [Self::Output; PART],
        scratch: &mut Self::PartScratch,
        rng: &mut Rng,
    ) {
        Backprop::<PART>::forward_train(self, x, y, scratch, rng);
    }
    #[inline(always)]
    fn activation_backward_part(y: &[Self::Output; PART], dy: &mut [Self::Output; PART]) {
        <T as Backprop<PART>>::activation_backward(y, dy);
    }
    #[inline(always)]
    fn backward_part(
        &self,
        x: &[Self::Input; PART],
        y: &[Self::Output; PART],
        dz: &[Self::Output; PART],
        scratch: &Self::PartScratch,
        grad: &mut Self,
        dx: Option<&mut [Self::Input; PART]>,
        continues: bool,
    ) {
        Backprop::<PART>::backward_continued(self, x, y, dz, scratch, grad, dx, continues);
    }
}

/// Part `i` of a batch: samples `i · PART ..`.
#[doc(hidden)]
#[inline(always)]
pub fn part<T, const B: usize>(batch: &[T; B], i: usize) -> &[T; PART] {
    &batch.as_chunks::<PART>().0[i]
}

/// As [`part`], mutable.
#[doc(hidden)]
#[inline(always)]
pub fn part_mut<T, const B: usize>(batch: &mut [T; B], i: usize) -> &mut [T; PART] {
    &mut batch.as_chunks_mut::<PART>().0[i]
}

/// [`part`] of one layer's outputs as the next layer's inputs. The widths are asserted where
/// the network is trained: a mismatch is reported once, by `network!`'s own check, not again
/// here as a type error.
#[doc(hidden)]
#[inline(always)]
pub fn part_as<U: Tensor, T: Tensor, const B: usize>(batch: &[T; B], i: usize) -> &[U; PART] {
    const {
        assert!(
            T::LEN == U::LEN,
            "a layer's outputs are not the next one's inputs"
        )
    };
    let n = PART * T::LEN;
    U::batch_of::<PART>(&crate::Parameters::as_slice(batch)[i * n..(i + 1) * n])
}

/// As [`part_as`], mutable.
#[doc(hidden)]
#[inline(always)]
pub fn part_as_mut<U: Tensor, T: Tensor, const B: usize>(
    batch: &mut [T; B],
    i: usize,
) -> &mut [U; PART] {
    const {
        assert!(
            T::LEN == U::LEN,
            "a layer's outputs are not the next one's inputs"
        )
    };
    let n = PART * T::LEN;
    U::batch_of_mut::<PART>(&mut crate::Parameters::as_mut_slice(batch)[i * n..(i + 1) * n])
}

/// The output length of a convolution over `n` values with kernel `k` and stride `s`: 'valid'
/// (`(n − k) / s + 1`) or, if `same`, Keras' 'same' (`⌈n / s⌉`). `network!` emits calls to it where
/// a size is given by a named const, so that the arithmetic is not spelled out in the user's crate.
///
/// ```
/// use nn_core::layer::conv_out;
/// assert_eq!(conv_out(28, 5, 1, false), 24);
/// assert_eq!(conv_out(28, 5, 2, true), 14);
/// ```
pub const fn conv_out(n: usize, k: usize, s: usize, same: bool) -> usize {
    if same {
        n.div_ceil(s)
    } else {
        (n - k) / s + 1
    }
}

/// The larger of two sizes (a `const fn`, for the sizes `network!` emits).
///
/// ```
/// assert_eq!(nn_core::layer::max(3, 7), 7);
/// ```
pub const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

/// Turns `dL/dy` into `dL/dz` in place for a layer's batch, given its outputs `y`.
///
/// ```
/// use nn_core::{layer::activation_backward, Dense, Tanh};
/// let y = [[0.0, 0.5]];
/// let mut d = [[1.0, 1.0]];
/// activation_backward::<Dense<2, 2, Tanh>, 1>(&y, &mut d);
/// assert_eq!(d, [[1.0, 0.75]]);
/// ```
#[inline]
pub fn activation_backward<L: Layer, const B: usize>(y: &[L::Output; B], dy: &mut [L::Output; B])
where
    L::Activation: Differentiable,
{
    for (y, dy) in y.iter().zip(dy.iter_mut()) {
        <L::Activation as Differentiable>::backward(y.flat(), dy.flat_mut());
    }
}

/// For the output layer (activation `A`): writes `dL/dz` of the batch-mean loss into `dz` and
/// returns that mean loss.
///
/// # Panics
/// If a target is invalid for `N` outputs ([`Loss::valid_target`]: a class label `≥ N`), checked
/// once per batch. `Fit` and `evaluate` check their data's labels before and return an error.
///
/// ```
/// use nn_core::{layer::output_delta, Identity, Mse};
/// // y = 3 against target 4, MSE: dL/dz = 2(y − t) = −2, halved by the batch of 2.
/// let mut dz = [[0.0]; 2];
/// let loss = output_delta::<Mse, Identity, 1, 2>(&[[3.0], [4.0]], &[[4.0], [4.0]], &mut dz);
/// assert_eq!((loss, dz), (0.5, [[-1.0], [0.0]]));
/// ```
#[inline]
pub fn output_delta<L: Loss<N>, A: Differentiable, const N: usize, const B: usize>(
    y: &[[f32; N]; B],
    target: &[L::Target; B],
    dz: &mut [[f32; N]; B],
) -> f32 {
    let scale = 1.0 / B as f32;
    output_delta_part::<L, A, N, B>(y, target, dz, scale, 0.0) * scale
}

/// [`output_delta`] for a part of a larger batch: `scale` is one over the whole batch's size, and
/// the losses are added to `total` (the parts before) and returned unscaled.
#[doc(hidden)]
#[inline]
pub fn output_delta_part<L: Loss<N>, A: Differentiable, const N: usize, const B: usize>(
    y: &[[f32; N]; B],
    target: &[L::Target; B],
    dz: &mut [[f32; N]; B],
    scale: f32,
    total: f32,
) -> f32 {
    assert!(
        target.iter().all(L::valid_target),
        "a target is out of range for the network's {N} outputs (a class label ≥ {N}?)"
    );
    let mut total = total;
    for ((y, t), dz) in y.iter().zip(target).zip(dz.iter_mut()) {
        total += L::loss(y, t);
        L::delta::<A>(y, t, dz);
        dz.iter_mut().for_each(|d| *d *= scale);
    }
    total
}
