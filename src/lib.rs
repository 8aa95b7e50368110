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
//! assert_eq!(core::mem::size_of::<Xor>(), Xor::WEIGHT_BYTES);
//! ```
//!
//! ## The `network!` syntax
//! - One or more `struct` items; doc comments and attributes (`#[derive(Clone, Debug, PartialEq)]`)
//!   pass through. `#[repr]` is refused: the macro fixes the layout.
//! - Layers are `name: Dense<IN, OUT, Activation>` or, unnamed, `Dense<IN, OUT, Activation>`
//!   (fields `l0`, `l1`, …). `Dense<IN, OUT>` without an activation is linear ([`Identity`]), as
//!   Keras' default.
//! - Widths are integer literals, named `usize` consts, or braced const expressions (`{ 2 * H }`).
//!   Literal widths are compared by the macro; named ones in const evaluation. Either way a
//!   mismatch is a compile error naming both layers.
//! - The built-in activation names ([`Relu`], [`LeakyRelu`], [`Sigmoid`], [`Tanh`], [`Softmax`],
//!   [`Identity`], [`Step`]) always mean constnet's types; any other type implementing
//!   [`Activation`] can be named as well.
//!
//! ## What it generates
//! A `#[repr(C)]` struct whose fields are the layers (`size_of` is exactly the weights), the
//! associated consts `INPUTS`, `OUTPUTS`, `LAYERS`, `PARAMS`, `WEIGHT_BYTES`, the methods `new(seed)`,
//! `forward`, `predict`, `summary`, and implementations of [`Parameters`], [`Network`] and, for
//! every batch size, [`Train`] (only if every activation is [`Differentiable`]).
//! Its generated code uses only `core`: the same network runs on a microcontroller.
#![no_std]

#[cfg(feature = "std")]
extern crate std;

// Lets the generated `::constnet::…` paths resolve inside this crate's own tests too.
extern crate self as constnet;

pub use nn_core::*;
pub use nn_macros::network;

/// Everything a typical program needs: `use constnet::prelude::*;`.
///
/// ```
/// use constnet::prelude::*;
/// network! { struct Net { Dense<1, 1, Sigmoid> } }
/// assert_eq!(Net::new(0).forward(&[0.0]), [0.5]); // zero bias, sigmoid(0)
/// ```
pub mod prelude {
    pub use crate::network;
    pub use nn_core::{
        Activation, AdaGrad, Adam, BinaryCrossEntropy, CategoricalCrossEntropy, Dense, Huber,
        Identity, LeakyRelu, Loss, Mae, Momentum, Mse, Network, Optimizer, Parameters, Relu,
        RmsProp, Sgd, Sigmoid, Softmax, SparseCategoricalCrossEntropy, Step, Tanh, Train,
        TrainBuffers, Trainer,
    };
}

// The README's example is compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
