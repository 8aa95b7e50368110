//! # constnet
//!
//! Neural networks whose architecture is a type. [`network!`] turns a list of layers into a plain
//! struct of const-generic weight arrays, with the forward pass, backward pass and optimizer step
//! generated for exactly that architecture: no graph, no tape, no allocation, and a layer whose
//! width does not fit the next one is a compile error.
//!
//! ```
//! use constnet::prelude::*;
//!
//! network! {
//!     /// The from-scratch XOR network of the tutorials.
//!     #[derive(Clone)]
//!     pub struct Xor { hidden: Dense<2, 4, Tanh>, out: Dense<4, 1, Sigmoid> }
//! }
//!
//! let mut net = Xor::new(1);
//! let x = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
//! let t = [[0.0], [1.0], [1.0], [0.0]];
//! let mut grads = Xor::zeroed();
//! let mut opt = Sgd::new(0.5).momentum(0.9);
//! let mut velocity = opt.new_state();
//! for _ in 0..2000 {
//!     net.train_step(Mse, &x, &t, &mut grads, &mut opt, &mut velocity);
//! }
//! assert!(net.forward(&[0.0, 1.0])[0] > 0.5);
//! assert!(net.forward(&[1.0, 1.0])[0] < 0.5);
//! assert_eq!(Xor::PARAMS, 17);
//! assert_eq!(Xor::WEIGHT_BYTES, 17 * 4); // the struct rounds them up to a 64-byte line
//! ```
//!
//! ## The `network!` syntax
//! - One or more `struct` items; doc comments and attributes (`#[derive(Clone, Debug, PartialEq)]`)
//!   pass through, also doc comments on layers (to their fields). `#[repr]` (also inside
//!   `cfg_attr`) is refused: the macro fixes the layout. A network has no generic parameters.
//! - `#[input(C, H, W)]` (channels, height, width), `#[input(C, L)]` (1-D) or `#[input(N)]` declares
//!   the shape of one sample once; the macro works out every layer's shape from it. Without it, the
//!   first layer must be a `Dense`, whose `IN` is the input width.
//! - Layers are `name: Kind<..>` or, unnamed, `Kind<..>` (fields `l0`, `l1`, …):
//!   - `Dense<IN, OUT, Activation>` (`IN` stays explicit: it is the check; without an activation
//!     the layer is linear, [`Identity`], as Keras' default);
//!   - `Conv2d<FILTERS, KERNEL, Activation>` (stride 1, 'valid' padding), with options
//!     `stride = S`, `padding = Same` (Keras' 'same'), `in_channels = C` (a check, like `Dense`'s
//!     `IN`); `Conv1d<FILTERS, KERNEL, ..>` on `(C, L)`; `DepthwiseConv2d<KERNEL, ..>` (one filter
//!     per channel);
//!   - `MaxPool2d<SIZE>`, `AvgPool2d<SIZE>` (and `MaxPool1d`, `AvgPool1d`): window = stride =
//!     `SIZE`, which must divide the input (a compile error says so otherwise);
//!   - `GlobalAvgPool`, `Flatten`, `Dropout<PERCENT>` (training only, seeded; the identity at
//!     inference), `BatchNorm` (per channel, or per feature after a `Flatten`/`Dense`; running
//!     statistics are state, not trained), `Normalization<N>` (Keras' `Normalization` of a vector's
//!     `N` features: mean and variance from [`Normalization::adapt`], state, not trained);
//!   - weights start Glorot-uniform whatever the activation, as in Keras; the option `init = He`
//!     on a `Dense` or convolution draws He-uniform (`Dense<784, 64, Relu, init = He>`).
//! - Sizes are integer literals, `usize` consts (also by path, `cfg::H`), or braced const
//!   expressions (`{ 2 * H }`). Literal sizes are computed and compared by the macro; named ones in
//!   const evaluation. Either way a mismatch is a compile error at the offending layer.
//! - The activation is a type, resolved like any other: [`Relu`], [`LeakyRelu`], [`Sigmoid`],
//!   [`Tanh`], [`Softmax`], [`Identity`], [`Step`] from the prelude, or your own type
//!   implementing [`Activation`].
//!
//! ## What it generates
//! A `#[repr(C)]` struct whose fields are the layers (`size_of` is exactly the weights), the
//! associated consts `INPUTS`, `OUTPUTS`, `LAYERS`, `PARAMS`, `WEIGHT_BYTES`, `INFERENCE_BYTES`,
//! `training_bytes::<Optimizer, BATCH>()`, the methods `new(seed)`, `from_le_bytes` (a `const fn`),
//! `forward`, `predict`, `summary`, and implementations of [`Parameters`], [`Network`] and, for
//! every batch size, [`TrainBuffers`] and [`Train`] (only if every layer can be trained:
//! [`Step`] cannot). Every layer is called through the [`layer::Layer`] and [`layer::Backprop`]
//! traits. Its generated code uses only `core`: the same network runs on a microcontroller.
//!
//! ```
//! use constnet::prelude::*;
//! network! {
//!     #[input(1, 28, 28)]
//!     pub struct LeNet {
//!         c1: Conv2d<6, 5, Relu>,        // 6 filters 5x5 -> 6x24x24
//!         p1: MaxPool2d<2>,              // -> 6x12x12
//!         c2: Conv2d<16, 5, Relu>,       // -> 16x8x8
//!         p2: MaxPool2d<2>,              // -> 16x4x4
//!         f: Flatten,                    // -> 256
//!         d: Dropout<25>,                // 25 % in training
//!         out: Dense<256, 10, Softmax>,
//!     }
//! }
//! assert_eq!(LeNet::PARAMS, 156 + 2_416 + 2_570);
//! let mut net = LeNet::new_boxed(1);
//! let mut trainer = Trainer::<LeNet, _, 8>::boxed(Adam::new(0.001));
//! let x = [[0.5; 784]; 8];
//! let loss = trainer.step(&mut *net, SparseCategoricalCrossEntropy, &x, &[3; 8]);
//! assert!(loss.is_finite());
//! assert_eq!(net.predict(&x[0]), net.predict(&x[1]));
//! ```
#![no_std]

#[cfg(feature = "std")]
extern crate std;

// Lets the generated `::constnet::…` paths resolve inside this crate's own tests too.
extern crate self as constnet;

pub use nn_core::*;
pub use nn_macros::network;

/// Weight files: PyTorch state dicts as safetensors, and ONNX models, in and out (the `io`
/// feature, off by default: `constnet = { version = "0.1", features = ["io"] }`). Every network
/// gets the methods of [`io::ModelFile`].
#[cfg(feature = "io")]
pub use nn_io as io;

#[cfg(feature = "plot")]
pub mod plot;

/// The training loop: [`nn_core::train`], with [`ModelCheckpoint`](train::ModelCheckpoint)
/// writing safetensors when the `io` feature is on (constnet's raw format otherwise).
#[cfg(feature = "std")]
pub mod train {
    pub use nn_core::train::*;

    /// The checkpoint format of [`ModelCheckpoint`]: safetensors with the `io` feature.
    #[cfg(feature = "io")]
    pub type DefaultCheckpointFormat = nn_io::SafetensorsCheckpoint;
    /// The checkpoint format of [`ModelCheckpoint`]: constnet's raw format without `io`.
    #[cfg(not(feature = "io"))]
    pub type DefaultCheckpointFormat = nn_core::train::RawCheckpoint;

    /// Keras' `ModelCheckpoint` ([`nn_core::train::ModelCheckpoint`]) in the default format.
    ///
    /// ```
    /// use constnet::train::ModelCheckpoint;
    /// let every_epoch = ModelCheckpoint::new("run/epoch-{epoch:02}.safetensors");
    /// assert_eq!(every_epoch.path_of(0), std::path::PathBuf::from("run/epoch-01.safetensors"));
    /// ```
    pub type ModelCheckpoint = nn_core::train::ModelCheckpoint<DefaultCheckpointFormat>;

    /// [`ModelCheckpoint`] in the format of your choice, e.g.
    /// `ModelCheckpointIn::with_format("run.ckpt", RawCheckpoint)`.
    pub use nn_core::train::ModelCheckpoint as ModelCheckpointIn;
}

/// Everything a typical program needs: `use constnet::prelude::*;`.
///
/// The layers, activations, losses and optimizers, `network!` and its traits; with `std` (on by
/// default) also the training loop ([`Fit`](train::Fit), [`evaluate`](train::evaluate),
/// [`predict_all`](train::predict_all), [`Verbose`](train::Verbose), [`History`](train::History)),
/// the data loaders ([`Dataset`](data::Dataset), [`Csv`](data::Csv),
/// [`load_csv`](data::load_csv), [`load_mnist`](data::load_mnist), …) and the
/// [metrics] ([`ConfusionMatrix`](metrics::ConfusionMatrix), [`accuracy`](metrics::accuracy),
/// …); with `io` the weight files.
///
/// ```
/// use constnet::prelude::*;
/// network! { struct Net { Dense<1, 1, Sigmoid> } }
/// assert_eq!(Net::new(0).forward(&[0.0]), [0.5]); // zero bias, sigmoid(0)
/// ```
///
/// A first program, from a CSV file to a report, with nothing else imported:
///
/// ```
/// use constnet::prelude::*;
///
/// network! { struct Flowers { Dense<2, 8, Tanh>, Dense<8, 2, Softmax> } }
///
/// # let path = std::env::temp_dir().join(format!("constnet-prelude-{}.csv", std::process::id()));
/// std::fs::write(&path, "length,width,kind\n1,1,small\n1,2,small\n5,4,large\n6,5,large\n")?;
/// let data: Dataset<2> = Csv::new().label("kind").load(&path)?;
/// assert_eq!(data.class_names().unwrap(), &["large", "small"]);
///
/// let mut net = Flowers::new(7);
/// let mut trainer = Trainer::new(Adam::new(0.05));
/// let history: History = Fit::<4>::epochs(200)
///     .verbose(Verbose::Silent)
///     .run(&mut net, SparseCategoricalCrossEntropy, &mut trainer, &data, None)?;
/// assert_eq!(history.epochs.len(), 200);
/// let e: Evaluation = evaluate(&net, SparseCategoricalCrossEntropy, &data)?;
///
/// let predicted = predict_all(&net, data.features());
/// assert_eq!(accuracy(&predicted, data.labels())?, e.accuracy);
/// let cm = ConfusionMatrix::new(&predicted, data.labels(), data.classes())?
///     .with_class_names(data.class_names().unwrap())?;
/// println!("{cm}\n{}", cm.report());
/// assert_eq!(cm.accuracy(), 1.0);
///
/// // A sample from elsewhere, as a slice: a wrong length is an error naming both lengths.
/// let sample: Vec<f32> = vec![5.5, 4.5];
/// assert_eq!(net.try_predict(&sample)?, 0); // "large"
/// assert!(net.try_predict(&sample[..1]).is_err());
/// # let _: fn(&str, Split) -> Result<Dataset<784>, DataError> = |d, s| load_mnist(d, s);
/// # // The other loaders and metrics resolve through the prelude too:
/// # let _ = |p: &std::path::Path| load_csv::<2>(p, 2, true);
/// # let _ = |b: &[u8]| read_csv::<2>(b, 2, true);
/// # let _ = (top_k_accuracy::<2>, binary_accuracy);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub mod prelude {
    pub use crate::network;
    #[cfg(feature = "std")]
    pub use nn_core::{
        data::{
            load_csv, load_idx, load_mnist, read_csv, read_idx, split_last, Csv, DataError,
            Dataset, LabelColumn, Source, Split,
        },
        metrics::{
            accuracy, binary_accuracy, top_k_accuracy, ConfusionMatrix, MetricsError, Report,
        },
        train::{
            evaluate, evaluate_stream, evaluate_with, predict_all, predict_outputs, predict_stream,
            Callback, EarlyStopping, Epoch, Evaluation, Fit, FitError, History, Metrics, Verbose,
        },
    };
    pub use nn_core::{
        Activation, AdaGrad, Adam, AvgPool1d, AvgPool2d, BatchNorm1d, BatchNorm2d, BatchNormDense,
        BinaryCrossEntropy, CategoricalCrossEntropy, Conv1d, Conv2d, Dense, DepthwiseConv2d,
        Dropout, Flatten1d, Flatten2d, GlobalAvgPool1d, GlobalAvgPool2d, Huber, Identity,
        InputLength, LeakyRelu, Loss, Mae, MaxPool1d, MaxPool2d, Momentum, Mse, Network,
        Normalization, Optimizer, Parameters, Relu, RmsProp, Sgd, Sigmoid, Softmax,
        SparseCategoricalCrossEntropy, Step, Tanh, Train, TrainBuffers, Trainer, Zeroed,
    };
    #[cfg(feature = "io")]
    pub use nn_io::{ModelFile, QuantizedModelFile, WeightsError};
}

// The README's example is compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
