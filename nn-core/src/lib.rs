//! The runtime behind `constnet`: layers, activations, losses, optimizers and the traits that the
//! `network!` macro implements.
//!
//! Everything here is `#![no_std]` and allocation-free. Sizes are const generics, so a network's
//! memory is fixed at compile time. The `std` feature adds data loading and the training loop.
#![no_std]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

pub mod activation;
pub mod layer;
pub mod loss;
pub mod optim;
pub mod quant;

mod kernel;
mod network;
mod params;
mod rng;
mod summary;
mod trainer;

#[cfg(feature = "std")]
pub mod data;
#[cfg(feature = "std")]
pub mod metrics;
#[cfg(feature = "std")]
pub mod parallel;
#[cfg(feature = "std")]
pub mod train;

pub use activation::{
    Activation, Differentiable, Identity, LeakyRelu, Relu, Sigmoid, Softmax, Step, Tanh,
};
pub use layer::{
    AvgPool1d, AvgPool2d, Backprop, BatchNorm1d, BatchNorm2d, BatchNormDense, Conv1d, Conv2d,
    Dense, DepthwiseConv2d, Dropout, Flatten1d, Flatten2d, GlobalAvgPool1d, GlobalAvgPool2d, Layer,
    MaxPool1d, MaxPool2d, Normalization, Tensor,
};
pub use loss::{
    BinaryCrossEntropy, CategoricalCrossEntropy, Huber, Loss, Mae, Mse,
    SparseCategoricalCrossEntropy,
};
pub use network::{
    argmax, class_of, largest, largest_adjacent_sum, InputLength, Network, Train, TrainBuffers,
};
pub use optim::{AdaGrad, Adam, BlockUpdate, Momentum, Optimizer, RmsProp, Sgd};
pub use params::{params_from_le_bytes, Parameters, RawError, Zeroed};
pub use rng::Rng;
pub use summary::{LayerInfo, Summary};
pub use trainer::Trainer;
