use crate::{Loss, Optimizer, Parameters, Rng, Summary, Zeroed};

/// A network taking `IN` inputs to `OUT` outputs. `network!` implements it for every struct it
/// generates, so generic code can take any network:
///
/// ```
/// use constnet::prelude::*;
/// /// Fraction of samples whose arg-max output is the label.
/// fn accuracy<N: Network<IN, OUT>, const IN: usize, const OUT: usize>(
///     net: &N,
///     samples: &[([f32; IN], usize)],
/// ) -> f32 {
///     let hits = samples.iter().filter(|(x, label)| net.predict(x) == *label).count();
///     hits as f32 / samples.len() as f32
/// }
/// constnet::network! { struct Half { Dense<1, 2, Softmax> } }
/// let net = Half { l0: Dense::new([[1.0], [-1.0]], [0.0; 2]) };
/// assert_eq!(accuracy(&net, &[([1.0], 0), ([-1.0], 1), ([2.0], 1)]), 2.0 / 3.0);
/// ```
pub trait Network<const IN: usize, const OUT: usize>: Parameters {
    /// Number of layers.
    const LAYERS: usize;
    /// Bytes of activation buffers an inference of one sample keeps on the stack (see the
    /// generated const of the same name).
    const INFERENCE_BYTES: usize;

    /// Draws fresh weights from `seed` (deterministic: equal seeds give equal networks).
    fn init(&mut self, seed: u64);

    /// A network with weights drawn from `seed`, built in place on the heap: what a network too
    /// large for the stack needs, where the generated `new` would overflow it.
    ///
    /// The by-value constructors (`new`, `zeroed`, `from_le_bytes`, `load_safetensors`, …) pass
    /// the network through the stack: fine up to about a megabyte of weights (Rust's spawned
    /// threads have 2 MB of stack, Linux's main thread 8 MB, Windows' 1 MB). Beyond, every way
    /// has a boxed form: `new_boxed`, [`boxed_zeroed`](crate::Zeroed::boxed_zeroed),
    /// [`boxed_from_le_bytes`](Parameters::boxed_from_le_bytes), `load_safetensors_boxed`,
    /// `load_onnx_boxed`, and [`Trainer::boxed`](crate::Trainer::boxed) for training, which keeps
    /// every buffer that grows with the batch or the widths on the heap (`tests/memory.rs` trains
    /// a 134 MB network at batch 128 on a 2 MB test thread).
    ///
    /// ```
    /// use constnet::prelude::*;
    /// network! { struct Wide { Dense<4096, 4096, Relu>, Dense<4096, 10> } } // 64 MB
    /// let net: Box<Wide> = Wide::new_boxed(1);
    /// assert_eq!(net.forward(&[0.0; 4096]), [0.0; 10]); // zero biases, zero input
    /// ```
    #[cfg(feature = "std")]
    fn new_boxed(seed: u64) -> std::boxed::Box<Self> {
        let mut net = Self::boxed_zeroed();
        net.init(seed);
        net
    }

    /// Runs a batch of `B` samples through the network.
    fn forward_batch<const B: usize>(&self, x: &[[f32; IN]; B], y: &mut [[f32; OUT]; B]);

    /// Runs one sample through the network.
    #[inline]
    fn forward(&self, x: &[f32; IN]) -> [f32; OUT] {
        let mut y = [[0.0; OUT]];
        self.forward_batch(core::array::from_ref(x), &mut y);
        y[0]
    }

    /// The predicted class: the index of the largest output, or for a single output (a binary
    /// classifier) whether it is above 0.5 ([`class_of`]).
    #[inline]
    fn predict(&self, x: &[f32; IN]) -> usize {
        class_of(&self.forward(x))
    }

    /// [`forward`](Network::forward) for a sample as a slice (from a file, a request, a `Vec`):
    /// an error naming both lengths if it does not have exactly `IN` values.
    ///
    /// ```
    /// use constnet::prelude::*;
    /// network! { struct Net { Dense<3, 2, Softmax> } }
    /// let net = Net::new(1);
    /// let sample: Vec<f32> = vec![0.5, 0.1, 0.9];
    /// assert_eq!(net.try_forward(&sample)?, net.forward(&[0.5, 0.1, 0.9]));
    /// let err = net.try_forward(&sample[..2]).unwrap_err();
    /// assert_eq!(err, InputLength { expected: 3, found: 2 });
    /// assert_eq!(err.to_string(), "the network takes 3 inputs, but the sample has 2 values");
    /// # Ok::<(), InputLength>(())
    /// ```
    #[inline]
    fn try_forward(&self, x: &[f32]) -> Result<[f32; OUT], InputLength> {
        Ok(self.forward(input_array::<IN>(x)?))
    }

    /// [`predict`](Network::predict) for a sample as a slice: an error naming both lengths if it
    /// does not have exactly `IN` values.
    ///
    /// ```
    /// use constnet::prelude::*;
    /// network! { struct Net { Dense<2, 2> } }
    /// let net = Net { l0: Dense::new([[1.0, 0.0], [0.0, 1.0]], [0.0; 2]) };
    /// assert_eq!(net.try_predict(&[0.2, 0.7]), Ok(1));
    /// let err = net.try_predict(&[0.2, 0.7, 0.1]).unwrap_err();
    /// assert_eq!(err.to_string(), "the network takes 2 inputs, but the sample has 3 values");
    /// ```
    #[inline]
    fn try_predict(&self, x: &[f32]) -> Result<usize, InputLength> {
        Ok(self.predict(input_array::<IN>(x)?))
    }

    /// The predicted class of each sample of a batch.
    #[inline]
    fn predict_batch<const B: usize>(&self, x: &[[f32; IN]; B]) -> [usize; B] {
        let mut y = [[0.0; OUT]; B];
        self.forward_batch(x, &mut y);
        y.map(|y| class_of(&y))
    }

    /// The Keras-like table of layers, widths and parameter counts (`Display` it).
    fn summary() -> Summary<'static>;

    /// Overwrites `grads` with the gradient of the batch-mean `loss` over a batch of `B` samples
    /// and returns that mean loss. Allocates nothing.
    ///
    /// Only networks whose every activation is [`Differentiable`](crate::Differentiable) can call
    /// it; for others (a [`Step`](crate::Step) layer) the call is a compile error.
    #[inline]
    fn gradient<L: Loss<OUT>, const B: usize>(
        &self,
        loss: L,
        x: &[[f32; IN]; B],
        target: &[L::Target; B],
        grads: &mut Self,
    ) -> f32
    where
        Self: Train<IN, OUT, B>,
    {
        let _ = loss;
        let mut outputs = [[0.0; OUT]; B];
        self.backprop::<L>(x, target, &mut outputs, grads)
    }

    /// One training step on a batch: [`gradient`](Network::gradient), then one optimizer update.
    /// Returns the batch-mean loss before the update. Allocates nothing: the batch's activations
    /// live on the stack, so for large layers, and for networks with `Dropout` (whose masks this
    /// draws from a fixed seed) or `BatchNorm`, use a [`Trainer`](crate::Trainer).
    #[inline]
    fn train_step<L: Loss<OUT>, O: Optimizer<Self>, const B: usize>(
        &mut self,
        loss: L,
        x: &[[f32; IN]; B],
        target: &[L::Target; B],
        grads: &mut Self,
        optimizer: &mut O,
        state: &mut O::State,
    ) -> f32
    where
        Self: Train<IN, OUT, B>,
    {
        let _ = loss;
        let mut buffers = <Self as TrainBuffers<B>>::Buffers::zeroed();
        let value = self.backprop_with::<L>(x, target, &mut buffers, grads, &mut Rng::new(0));
        optimizer.step(self, grads, state);
        self.update_state(&buffers);
        value
    }
}

/// A sample of the wrong length for the network: what [`Network::try_forward`] and
/// [`Network::try_predict`] return instead of a bare `TryFromSliceError`.
///
/// ```
/// let err = nn_core::InputLength { expected: 784, found: 783 };
/// assert_eq!(err.to_string(), "the network takes 784 inputs, but the sample has 783 values");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputLength {
    /// Inputs the network takes (`IN`).
    pub expected: usize,
    /// Values in the sample given.
    pub found: usize,
}

impl core::fmt::Display for InputLength {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "the network takes {} inputs, but the sample has {} values",
            self.expected, self.found
        )
    }
}

impl core::error::Error for InputLength {}

/// `x` as an array of `IN` values, or the error naming both lengths.
#[inline]
fn input_array<const IN: usize>(x: &[f32]) -> Result<&[f32; IN], InputLength> {
    x.try_into().map_err(|_| InputLength {
        expected: IN,
        found: x.len(),
    })
}

/// The buffers a training step on batches of `B` samples works in: every layer's outputs and
/// gradients and each layer's [`Scratch`](crate::layer::Backprop::Scratch), one block of `f32`s.
/// `network!` implements it for every `B`; a [`Trainer`](crate::Trainer) owns one (off the stack).
///
/// ```
/// use constnet::prelude::*;
/// network! { struct Net { Dense<4, 8, Relu>, Dense<8, 2> } }
/// // Outputs and their gradients for 8 + 2 values per sample, 32 samples.
/// assert_eq!(size_of::<<Net as TrainBuffers<32>>::Buffers>(), 32 * 2 * (8 + 2) * 4);
/// # use core::mem::size_of;
/// ```
pub trait TrainBuffers<const B: usize>: Parameters {
    /// The buffers; all zeros is a valid initial value.
    type Buffers: Parameters;
}

/// Backpropagation through a network for batches of `B` samples: what
/// [`Network::gradient`], [`Network::train_step`] and a [`Trainer`](crate::Trainer) need.
///
/// `network!` implements it for every batch size, provided every layer implements
/// [`Backprop`](crate::Backprop) (every activation is [`Differentiable`](crate::Differentiable)).
/// Generic training code takes `N: Train<IN, OUT, B>`.
///
/// ```
/// use constnet::prelude::*;
/// /// One SGD step for any trainable network and batch size.
/// fn sgd_step<N: Train<IN, OUT, B>, const IN: usize, const OUT: usize, const B: usize>(
///     net: &mut N, x: &[[f32; IN]; B], t: &[[f32; OUT]; B], grads: &mut N,
/// ) -> f32 {
///     let loss = net.backprop::<Mse>(x, t, &mut [[0.0; OUT]; B], grads);
///     Sgd::new(0.1).step(net, grads, &mut ());
///     loss
/// }
/// network! { struct Line { Dense<1, 1> } }
/// let mut net = Line { l0: Dense::new([[0.0]], [0.0]) };
/// let before = sgd_step(&mut net, &[[1.0]], &[[2.0]], &mut Line::zeroed());
/// let after = sgd_step(&mut net, &[[1.0]], &[[2.0]], &mut Line::zeroed());
/// assert!(after < before);
/// ```
pub trait Train<const IN: usize, const OUT: usize, const B: usize>:
    Network<IN, OUT> + TrainBuffers<B>
{
    /// Overwrites `grads` with the gradient of the batch-mean loss `L` and returns that loss,
    /// working in `buffers` (afterwards they hold the outputs: [`outputs`](Train::outputs)).
    /// Dropout masks are drawn from `rng`. Allocates nothing.
    fn backprop_with<L: Loss<OUT>>(
        &self,
        x: &[[f32; IN]; B],
        target: &[L::Target; B],
        buffers: &mut <Self as TrainBuffers<B>>::Buffers,
        grads: &mut Self,
        rng: &mut Rng,
    ) -> f32;

    /// The network's outputs of the last [`backprop_with`](Train::backprop_with).
    fn outputs(buffers: &<Self as TrainBuffers<B>>::Buffers) -> &[[f32; OUT]; B];

    /// After an optimizer step: updates non-trainable state (batch norm's running statistics)
    /// from the batch of the last `backprop_with`.
    fn update_state(&mut self, buffers: &<Self as TrainBuffers<B>>::Buffers);

    /// [`backprop_with`](Train::backprop_with) with buffers on the stack and dropout masks from a
    /// fixed seed; `outputs` receives the network's outputs (for accuracy, without a second pass).
    #[inline]
    fn backprop<L: Loss<OUT>>(
        &self,
        x: &[[f32; IN]; B],
        target: &[L::Target; B],
        outputs: &mut [[f32; OUT]; B],
        grads: &mut Self,
    ) -> f32 {
        let mut buffers = <Self as TrainBuffers<B>>::Buffers::zeroed();
        let loss = self.backprop_with::<L>(x, target, &mut buffers, grads, &mut Rng::new(0));
        *outputs = *Self::outputs(&buffers);
        loss
    }
}

/// The class a network's outputs predict: with one output (a sigmoid binary classifier) `1` if it
/// is above 0.5 and `0` otherwise, as Keras' binary accuracy; with more, the index of the largest
/// ([`argmax`]).
///
/// ```
/// assert_eq!(nn_core::class_of(&[0.7]), 1);
/// assert_eq!(nn_core::class_of(&[0.3]), 0);
/// assert_eq!(nn_core::class_of(&[0.1, 0.7, 0.2]), 1);
/// ```
#[inline]
pub fn class_of<const OUT: usize>(y: &[f32; OUT]) -> usize {
    if OUT == 1 {
        usize::from(y[0] > 0.5)
    } else {
        argmax(y)
    }
}

/// Index of the largest value (the first one on ties; `0` for an empty slice).
///
/// ```
/// assert_eq!(nn_core::argmax(&[0.1, 0.7, 0.2]), 1);
/// ```
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

/// The largest of `values` (0 for none): the size of the activation buffers that the generated
/// inference code hands from layer to layer.
///
/// ```
/// assert_eq!(nn_core::largest(&[64, 3456, 10]), 3456);
/// ```
pub const fn largest(values: &[usize]) -> usize {
    let mut best = 0;
    let mut i = 0;
    while i < values.len() {
        if values[i] > best {
            best = values[i];
        }
        i += 1;
    }
    best
}

/// The largest sum of two consecutive values: the activation memory of an inference, given the
/// widths from input to output (used by the consts `network!` generates).
///
/// ```
/// assert_eq!(nn_core::largest_adjacent_sum(&[784, 64, 10]), 848);
/// assert_eq!(nn_core::largest_adjacent_sum(&[3]), 3);
/// ```
pub const fn largest_adjacent_sum(widths: &[usize]) -> usize {
    if widths.len() == 1 {
        return widths[0];
    }
    let mut best = 0;
    let mut i = 1;
    while i < widths.len() {
        let pair = widths[i - 1] + widths[i];
        if pair > best {
            best = pair;
        }
        i += 1;
    }
    best
}
