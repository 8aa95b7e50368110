//! Training checkpoints: the weights and everything the [`Trainer`] keeps between steps (the
//! optimizer's state tensor by tensor, its step counter, the learning rate, the epoch count and the
//! dropout generator), so that training resumed from one continues bit for bit as if it had never
//! stopped.
//!
//! A [`Checkpoint`] is named tensors plus string metadata. The bytes are a [`CheckpointFormat`]'s
//! business: nn-core cannot depend on nn-io, so the format is the seam. [`RawCheckpoint`] (here)
//! writes a small self-describing little-endian file; `nn_io::SafetensorsCheckpoint` writes
//! safetensors, and `constnet::train::ModelCheckpoint` uses it when the `io` feature is on.
//!
//! Tensor names: the network's as in its weight files (`hidden.weight`, `hidden.bias`, …), the
//! optimizer's `optimizer.<block>.<tensor>` with Keras' block names (`optimizer.m.hidden.weight`
//! and `optimizer.v.hidden.weight` for Adam, `optimizer.momentum.…` for SGD with momentum,
//! `optimizer.velocity.…` for RMSprop, `optimizer.accumulator.…` for AdaGrad). Restoring checks
//! every name, shape and value before it changes anything.

use std::path::{Path, PathBuf};
use std::prelude::rust_2021::*;

use super::callbacks::{Callback, Control, Monitor, TrainerAccess};
use super::Epoch;
use crate::{LayerInfo, Network, Optimizer, Parameters, Rng, Summary, TrainBuffers, Trainer};

/// Version of the layout of names and metadata, stored under [`VERSION_KEY`].
const VERSION: &str = "1";
/// Metadata key of the checkpoint layout's version.
const VERSION_KEY: &str = "constnet.checkpoint";

/// One named tensor of a [`Checkpoint`].
///
/// ```
/// use constnet::train::CheckpointTensor;
/// let t = CheckpointTensor { name: "out.bias".into(), shape: vec![2], values: vec![0.5, -0.5] };
/// assert_eq!(t.values.len(), t.shape.iter().product::<usize>());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointTensor {
    /// `hidden.weight`, `optimizer.m.hidden.weight`, …
    pub name: String,
    /// PyTorch's shape (`[OUT, IN]` for a dense weight).
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub values: Vec<f32>,
}

/// The weights and the training state of a run, as named tensors and string metadata (the step
/// and epoch counters, the learning rate, the optimizer's name).
///
/// ```
/// use constnet::prelude::*;
/// use constnet::train::{Checkpoint, RawCheckpoint};
/// network! { struct Net { hidden: Dense<2, 3, Relu>, out: Dense<3, 1> } }
/// let mut net = Net::new(1);
/// let mut trainer = Trainer::<Net, _, 1>::new(Adam::new(0.01));
/// trainer.step(&mut net, Mse, &[[1.0, 2.0]], &[[0.5]]);
///
/// let bytes = Checkpoint::of(&net, &trainer)?.to_bytes(&RawCheckpoint)?;
/// let names: Vec<String> = Checkpoint::from_bytes(&bytes, &RawCheckpoint)?
///     .tensors.into_iter().map(|t| t.name).collect();
/// assert!(names.contains(&"optimizer.m.hidden.weight".to_string()));
///
/// // Into a fresh network and trainer: the same weights, moments and step counter.
/// let (mut net2, mut trainer2) = (Net::new(2), Trainer::<Net, _, 1>::new(Adam::new(0.01)));
/// Checkpoint::from_bytes(&bytes, &RawCheckpoint)?.restore(&mut net2, &mut trainer2)?;
/// assert_eq!((net2.as_slice(), trainer2.steps, trainer2.optimizer.iterations), (net.as_slice(), 1, 1));
/// assert_eq!(trainer2.state.v.as_slice(), trainer.state.v.as_slice());
///
/// // A trainer with another optimizer cannot take it.
/// let mut sgd = Trainer::<Net, _, 1>::new(Sgd::new(0.01));
/// let err = Checkpoint::from_bytes(&bytes, &RawCheckpoint)?.restore(&mut net2, &mut sgd).unwrap_err();
/// assert_eq!(err.to_string(), "the checkpoint is of optimizer Adam, the trainer's is Sgd");
/// # Ok::<(), constnet::train::CheckpointError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Checkpoint {
    /// Key–value pairs: `network`, `optimizer`, `trainer.steps`, `trainer.epochs`,
    /// `trainer.learning_rate` (the f32's bits), `trainer.rng`, `optimizer.iterations`.
    pub metadata: Vec<(String, String)>,
    /// The network's tensors, then the optimizer's.
    pub tensors: Vec<CheckpointTensor>,
}

/// Why a checkpoint could not be written, read or restored.
///
/// ```
/// use constnet::train::CheckpointError;
/// let e = CheckpointError::WrongShape { name: "out.weight".into(), expected: vec![1, 3], found: vec![2, 3] };
/// assert_eq!(e.to_string(), "tensor `out.weight`: the network's shape is [1, 3], the checkpoint's [2, 3]");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// Reading or writing the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file is larger than any checkpoint of this network and optimizer can be.
    #[error("{}: {found} bytes, but a checkpoint of this network and optimizer has at most {limit}", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        found: u64,
        /// The most it may have.
        limit: u64,
    },
    /// The bytes are not a checkpoint in this format.
    #[error("not a checkpoint: {0}")]
    Malformed(String),
    /// A tensor of the network or optimizer is not in the checkpoint (another architecture?).
    #[error("tensor `{name}` is missing from the checkpoint (it has {})", listed(.in_file))]
    MissingTensor {
        /// The tensor.
        name: String,
        /// The checkpoint's tensors (the first few).
        in_file: Vec<String>,
    },
    /// The checkpoint has a tensor the network and optimizer do not.
    #[error("the checkpoint has tensor `{name}`, which this network and optimizer do not")]
    UnexpectedTensor {
        /// The tensor.
        name: String,
    },
    /// A tensor's shape differs.
    #[error("tensor `{name}`: the network's shape is {expected:?}, the checkpoint's {found:?}")]
    WrongShape {
        /// The tensor.
        name: String,
        /// The shape here.
        expected: Vec<usize>,
        /// The shape in the checkpoint.
        found: Vec<usize>,
    },
    /// A tensor holds fewer or more values than its shape says.
    #[error("tensor `{name}` has shape {shape:?} but {found} values")]
    WrongLength {
        /// The tensor.
        name: String,
        /// Its shape.
        shape: Vec<usize>,
        /// Values present.
        found: usize,
    },
    /// A NaN or infinite value.
    #[error("tensor `{name}`[{index}] is {value}: a checkpoint must be finite")]
    NonFinite {
        /// The tensor.
        name: String,
        /// Index of the first such value.
        index: usize,
        /// The value.
        value: f32,
    },
    /// The checkpoint was written with another optimizer.
    #[error("the checkpoint is of optimizer {found}, the trainer's is {expected}")]
    OptimizerMismatch {
        /// The trainer's optimizer.
        expected: String,
        /// The checkpoint's.
        found: String,
    },
    /// A metadata entry is missing or unreadable.
    #[error("metadata `{key}`: {problem}")]
    Metadata {
        /// The key.
        key: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The optimizer does not describe its state ([`Optimizer::state_blocks`]).
    #[error("optimizer {0} does not describe its state (Optimizer::state_blocks), so it cannot be checkpointed")]
    Undescribed(String),
}

fn listed(names: &[String]) -> String {
    if names.is_empty() {
        return "no tensors".into();
    }
    let shown: Vec<String> = names.iter().take(6).map(|n| format!("`{n}`")).collect();
    let more = if names.len() > 6 { ", …" } else { "" };
    format!("{}{more}", shown.join(", "))
}

/// How a [`Checkpoint`] becomes bytes and back: the seam between the training loop (nn-core) and
/// the file formats (nn-io's safetensors). A format only encodes and decodes; what the tensors
/// must be is checked by [`Checkpoint::restore`].
///
/// ```
/// use constnet::train::{Checkpoint, CheckpointFormat, RawCheckpoint};
/// fn round_trip(format: &dyn CheckpointFormat, c: &Checkpoint) -> Checkpoint {
///     format.decode(&format.encode(c).unwrap()).unwrap()
/// }
/// let c = Checkpoint { metadata: vec![("k".into(), "v".into())], tensors: vec![] };
/// assert_eq!(round_trip(&RawCheckpoint, &c), c);
/// ```
pub trait CheckpointFormat {
    /// The checkpoint as bytes.
    fn encode(&self, checkpoint: &Checkpoint) -> Result<Vec<u8>, CheckpointError>;

    /// A checkpoint from bytes; malformed bytes are an error, never a panic, and nothing is
    /// allocated beyond what `bytes` can hold.
    fn decode(&self, bytes: &[u8]) -> Result<Checkpoint, CheckpointError>;
}

impl<F: CheckpointFormat + ?Sized> CheckpointFormat for &F {
    fn encode(&self, checkpoint: &Checkpoint) -> Result<Vec<u8>, CheckpointError> {
        (**self).encode(checkpoint)
    }

    fn decode(&self, bytes: &[u8]) -> Result<Checkpoint, CheckpointError> {
        (**self).decode(bytes)
    }
}

/// constnet's own checkpoint file, for builds without nn-io: the magic `CNETCKPT`, a `u32`
/// version (1), the metadata (`u32` count, then `u32`-length-prefixed UTF-8 key and value), the
/// tensors (`u32` count, then per tensor its `u32`-prefixed name, a `u32` rank and `u64` dims),
/// then every tensor's values as little-endian `f32` in that order. All integers little-endian.
///
/// ```
/// use constnet::train::{CheckpointFormat, RawCheckpoint};
/// assert!(RawCheckpoint.decode(b"CNETCKPT\x01\0\0\0\xff\xff\xff\xff").is_err()); // 4 G entries? no
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RawCheckpoint;

const MAGIC: &[u8; 8] = b"CNETCKPT";

impl CheckpointFormat for RawCheckpoint {
    fn encode(&self, c: &Checkpoint) -> Result<Vec<u8>, CheckpointError> {
        let too_many = |what: &str| CheckpointError::Malformed(format!("too many {what} for u32"));
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&1u32.to_le_bytes());
        let put_str = |out: &mut Vec<u8>, s: &str| -> Result<(), CheckpointError> {
            let len = u32::try_from(s.len()).map_err(|_| too_many("bytes"))?;
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(s.as_bytes());
            Ok(())
        };
        let count = u32::try_from(c.metadata.len()).map_err(|_| too_many("entries"))?;
        out.extend_from_slice(&count.to_le_bytes());
        for (k, v) in &c.metadata {
            put_str(&mut out, k)?;
            put_str(&mut out, v)?;
        }
        let count = u32::try_from(c.tensors.len()).map_err(|_| too_many("tensors"))?;
        out.extend_from_slice(&count.to_le_bytes());
        for t in &c.tensors {
            if t.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) != Some(t.values.len()) {
                return Err(CheckpointError::WrongLength {
                    name: t.name.clone(),
                    shape: t.shape.clone(),
                    found: t.values.len(),
                });
            }
            put_str(&mut out, &t.name)?;
            let rank = u32::try_from(t.shape.len()).map_err(|_| too_many("dimensions"))?;
            out.extend_from_slice(&rank.to_le_bytes());
            for &d in &t.shape {
                out.extend_from_slice(&(d as u64).to_le_bytes());
            }
        }
        for t in &c.tensors {
            out.extend(t.values.iter().flat_map(|v| v.to_le_bytes()));
        }
        Ok(out)
    }

    fn decode(&self, bytes: &[u8]) -> Result<Checkpoint, CheckpointError> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(8)? != MAGIC {
            return Err(CheckpointError::Malformed(
                "the file does not start with CNETCKPT".into(),
            ));
        }
        let version = r.u32()?;
        if version != 1 {
            return Err(CheckpointError::Malformed(format!(
                "format version {version}; this build reads version 1"
            )));
        }
        // Every count is checked against the bytes left before anything is allocated for it.
        let entries = r.count(8)?;
        let mut metadata = Vec::with_capacity(entries);
        for _ in 0..entries {
            metadata.push((r.string()?, r.string()?));
        }
        let count = r.count(8)?;
        let mut heads = Vec::with_capacity(count);
        for _ in 0..count {
            let name = r.string()?;
            let rank = r.count(8)?;
            let mut shape = Vec::with_capacity(rank);
            for _ in 0..rank {
                let d = usize::try_from(r.u64()?).map_err(|_| {
                    CheckpointError::Malformed(format!("`{name}`: a huge dimension"))
                })?;
                shape.push(d);
            }
            heads.push((name, shape));
        }
        let mut tensors = Vec::with_capacity(count);
        for (name, shape) in heads {
            let len = shape
                .iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d))
                .filter(|&n| n <= r.left() / 4)
                .ok_or_else(|| {
                    CheckpointError::Malformed(format!(
                        "tensor `{name}` of shape {shape:?} is longer than the data left ({} bytes)",
                        r.left()
                    ))
                })?;
            let values = r
                .take(4 * len)?
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            tensors.push(CheckpointTensor {
                name,
                shape,
                values,
            });
        }
        if r.left() != 0 {
            return Err(CheckpointError::Malformed(format!(
                "{} bytes after the last tensor",
                r.left()
            )));
        }
        Ok(Checkpoint { metadata, tensors })
    }
}

/// A bounds-checked cursor over a raw checkpoint.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CheckpointError> {
        if n > self.left() {
            return Err(CheckpointError::Malformed(format!(
                "truncated: {n} bytes wanted at offset {}, {} left",
                self.at,
                self.left()
            )));
        }
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, CheckpointError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, CheckpointError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    /// A count of items of at least `min` bytes each, which the bytes left can hold.
    fn count(&mut self, min: usize) -> Result<usize, CheckpointError> {
        let n = self.u32()? as usize;
        if n > self.left() / min {
            return Err(CheckpointError::Malformed(format!(
                "{n} entries at offset {} cannot fit in the {} bytes left",
                self.at - 4,
                self.left()
            )));
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<String, CheckpointError> {
        let n = self.count(1)?;
        let at = self.at;
        String::from_utf8(self.take(n)?.to_vec())
            .map_err(|_| CheckpointError::Malformed(format!("a name at offset {at} is not UTF-8")))
    }
}

/// The tensors of a block of `len` values laid out as `layers`, named `<prefix><layer>.<tensor>`;
/// one tensor `<prefix>parameters` of shape `[len]` if the layers do not cover it exactly.
fn layout(layers: &[LayerInfo], len: usize, prefix: &str) -> Vec<(String, Vec<usize>, usize)> {
    let covered: usize = layers.iter().flat_map(|l| l.tensors).map(|t| t.len()).sum();
    if covered != len || layers.is_empty() {
        return vec![(format!("{prefix}parameters"), vec![len], len)];
    }
    layers
        .iter()
        .flat_map(|l| {
            l.tensors.iter().map(move |t| {
                (
                    format!("{prefix}{}.{}", l.name, t.name),
                    t.shape.to_vec(),
                    t.len(),
                )
            })
        })
        .collect()
}

fn split(layers: &[LayerInfo], values: &[f32], prefix: &str, out: &mut Vec<CheckpointTensor>) {
    let mut at = 0;
    for (name, shape, len) in layout(layers, values.len(), prefix) {
        out.push(CheckpointTensor {
            name,
            shape,
            values: values[at..at + len].to_vec(),
        });
        at += len;
    }
}

impl Checkpoint {
    /// The weights of `net` and the state of `trainer`.
    ///
    /// Fails only if the optimizer does not describe its state ([`CheckpointError::Undescribed`]).
    pub fn of<N, const IN: usize, const OUT: usize>(
        net: &N,
        trainer: &dyn TrainerAccess,
    ) -> Result<Self, CheckpointError>
    where
        N: Network<IN, OUT>,
    {
        Self::from_parts(&N::summary(), net.as_slice(), trainer)
    }

    /// [`of`](Checkpoint::of) from a network's summary and flat parameters (what a
    /// [`Control`] holds).
    pub fn from_parts(
        summary: &Summary<'_>,
        params: &[f32],
        trainer: &dyn TrainerAccess,
    ) -> Result<Self, CheckpointError> {
        let mut tensors = Vec::new();
        split(summary.layers, params, "", &mut tensors);
        let described = trainer.optimizer_state(&mut |name, block| {
            split(
                summary.layers,
                block,
                &format!("optimizer.{name}."),
                &mut tensors,
            );
        });
        if !described {
            return Err(CheckpointError::Undescribed(
                trainer.optimizer_name().into(),
            ));
        }
        let metadata = vec![
            (VERSION_KEY.into(), VERSION.into()),
            ("network".into(), summary.name.into()),
            ("optimizer".into(), trainer.optimizer_name().into()),
            (
                "optimizer.iterations".into(),
                trainer.optimizer_iterations().to_string(),
            ),
            ("trainer.steps".into(), trainer.steps().to_string()),
            ("trainer.epochs".into(), trainer.epochs().to_string()),
            // The bits: a decimal would have to round-trip exactly.
            (
                "trainer.learning_rate".into(),
                trainer.learning_rate().to_bits().to_string(),
            ),
            ("trainer.rng".into(), trainer.rng_state().to_string()),
        ];
        Ok(Checkpoint { metadata, tensors })
    }

    /// The value of metadata `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn number<T: core::str::FromStr>(&self, key: &str) -> Result<T, CheckpointError> {
        let value = self.get(key).ok_or_else(|| CheckpointError::Metadata {
            key: key.into(),
            problem: "missing".into(),
        })?;
        value.parse().map_err(|_| CheckpointError::Metadata {
            key: key.into(),
            problem: format!("`{value}` is not a number"),
        })
    }

    /// Puts the checkpoint's weights into `net` and its training state into `trainer`, after
    /// checking everything: the optimizer's kind, every tensor's name and shape (none missing,
    /// none extra), every value finite, every counter present. On an error neither is changed.
    pub fn restore<N, const IN: usize, const OUT: usize>(
        &self,
        net: &mut N,
        trainer: &mut dyn TrainerAccess,
    ) -> Result<(), CheckpointError>
    where
        N: Network<IN, OUT>,
    {
        self.restore_parts(&N::summary(), net.as_mut_slice(), trainer)
    }

    /// [`restore`](Checkpoint::restore) from a network's summary and flat parameters.
    pub fn restore_parts(
        &self,
        summary: &Summary<'_>,
        params: &mut [f32],
        trainer: &mut dyn TrainerAccess,
    ) -> Result<(), CheckpointError> {
        match self.get(VERSION_KEY) {
            Some(VERSION) => {}
            found => {
                return Err(CheckpointError::Metadata {
                    key: VERSION_KEY.into(),
                    problem: match found {
                        None => "missing (not a constnet checkpoint?)".into(),
                        Some(v) => format!("version {v}; this build reads version {VERSION}"),
                    },
                })
            }
        }
        let optimizer = self.get("optimizer").unwrap_or("(none)");
        if optimizer != trainer.optimizer_name() {
            return Err(CheckpointError::OptimizerMismatch {
                expected: trainer.optimizer_name().into(),
                found: optimizer.into(),
            });
        }
        let iterations: u64 = self.number("optimizer.iterations")?;
        let steps: u64 = self.number("trainer.steps")?;
        let epochs: u64 = self.number("trainer.epochs")?;
        let lr = f32::from_bits(self.number("trainer.learning_rate")?);
        let rng: u64 = self.number("trainer.rng")?;

        // What this network and optimizer hold, in order: (name, shape, len).
        let mut expected = layout(summary.layers, params.len(), "");
        let mut blocks: Vec<(&'static str, usize)> = Vec::new();
        if !trainer.optimizer_state(&mut |name, block| blocks.push((name, block.len()))) {
            return Err(CheckpointError::Undescribed(
                trainer.optimizer_name().into(),
            ));
        }
        for (name, len) in &blocks {
            expected.extend(layout(summary.layers, *len, &format!("optimizer.{name}.")));
        }
        let mut found = Vec::with_capacity(expected.len());
        for (name, shape, len) in &expected {
            let t = self
                .tensors
                .iter()
                .find(|t| t.name == *name)
                .ok_or_else(|| CheckpointError::MissingTensor {
                    name: name.clone(),
                    in_file: self.tensors.iter().map(|t| t.name.clone()).collect(),
                })?;
            if t.shape != *shape {
                return Err(CheckpointError::WrongShape {
                    name: name.clone(),
                    expected: shape.clone(),
                    found: t.shape.clone(),
                });
            }
            if t.values.len() != *len {
                return Err(CheckpointError::WrongLength {
                    name: name.clone(),
                    shape: shape.clone(),
                    found: t.values.len(),
                });
            }
            if let Some(index) = t.values.iter().position(|v| !v.is_finite()) {
                return Err(CheckpointError::NonFinite {
                    name: name.clone(),
                    index,
                    value: t.values[index],
                });
            }
            found.push(&t.values);
        }
        if let Some(t) = self
            .tensors
            .iter()
            .find(|t| !expected.iter().any(|(name, ..)| *name == t.name))
        {
            return Err(CheckpointError::UnexpectedTensor {
                name: t.name.clone(),
            });
        }

        // Everything checked: now write (the counters first: a trainer made in const evaluation
        // puts its state into its initial condition then, not after the state is restored).
        trainer.set_counters(steps, epochs);
        let mut values = found.into_iter();
        let mut fill = |dst: &mut [f32]| {
            let mut at = 0;
            while at < dst.len() {
                let src = values.next().expect("the layout covers the block");
                dst[at..at + src.len()].copy_from_slice(src);
                at += src.len();
            }
        };
        fill(params);
        trainer.optimizer_state_mut(&mut |_, block| fill(block));
        trainer.set_optimizer_iterations(iterations);
        trainer.set_learning_rate(lr);
        trainer.set_rng_state(rng);
        Ok(())
    }

    /// The checkpoint in `format`.
    pub fn to_bytes(&self, format: &dyn CheckpointFormat) -> Result<Vec<u8>, CheckpointError> {
        format.encode(self)
    }

    /// A checkpoint from bytes in `format`.
    pub fn from_bytes(
        bytes: &[u8],
        format: &dyn CheckpointFormat,
    ) -> Result<Self, CheckpointError> {
        format.decode(bytes)
    }

    /// Writes the checkpoint to `path` atomically: into a temporary file next to it, then renamed
    /// over it, so that an interrupted save never leaves a half-written checkpoint in its place.
    pub fn save(&self, path: &Path, format: &dyn CheckpointFormat) -> Result<(), CheckpointError> {
        write_atomically(path, &format.encode(self)?)
    }

    /// Reads a checkpoint from `path`, refusing files over `limit` bytes before reading them.
    pub fn load(
        path: &Path,
        format: &dyn CheckpointFormat,
        limit: u64,
    ) -> Result<Self, CheckpointError> {
        use std::io::Read;
        let io = |source| CheckpointError::Io {
            path: path.into(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let found = file.metadata().map_err(io)?.len();
        if found > limit {
            return Err(CheckpointError::TooLarge {
                path: path.into(),
                found,
                limit,
            });
        }
        let mut bytes = Vec::with_capacity(found as usize);
        // `take`: a file that grows while read still stops at the limit.
        file.take(limit).read_to_end(&mut bytes).map_err(io)?;
        format.decode(&bytes)
    }
}

/// The most bytes a checkpoint of `values` f32 values can take: the values and 1 MiB of names.
fn size_limit(values: usize) -> u64 {
    4 * values as u64 + (1 << 20)
}

/// Saves `net` and `trainer` to `path` in `format` ([`Checkpoint::save`]: atomically).
///
/// ```
/// use constnet::prelude::*;
/// use constnet::train::{load_checkpoint, save_checkpoint, RawCheckpoint};
/// network! { struct Line { Dense<1, 1> } }
/// let path = std::env::temp_dir().join(format!("line-{}.ckpt", std::process::id()));
/// let (net, trainer) = (Line::new(3), Trainer::<Line, _, 1>::new(Adam::default()));
/// save_checkpoint(&path, &net, &trainer, &RawCheckpoint)?;
/// let (mut back, mut fresh) = (Line::new(4), Trainer::<Line, _, 1>::new(Adam::default()));
/// load_checkpoint(&path, &mut back, &mut fresh, &RawCheckpoint)?;
/// assert_eq!(back.as_slice(), net.as_slice());
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), constnet::train::CheckpointError>(())
/// ```
pub fn save_checkpoint<N, const IN: usize, const OUT: usize>(
    path: &Path,
    net: &N,
    trainer: &dyn TrainerAccess,
    format: &dyn CheckpointFormat,
) -> Result<(), CheckpointError>
where
    N: Network<IN, OUT>,
{
    Checkpoint::of(net, trainer)?.save(path, format)
}

/// Restores `net` and `trainer` from a checkpoint file ([`Checkpoint::restore`]: all or
/// nothing), reading no file larger than a checkpoint of them can be.
pub fn load_checkpoint<N, const IN: usize, const OUT: usize>(
    path: &Path,
    net: &mut N,
    trainer: &mut dyn TrainerAccess,
    format: &dyn CheckpointFormat,
) -> Result<(), CheckpointError>
where
    N: Network<IN, OUT>,
{
    let mut blocks = 1;
    trainer.optimizer_state(&mut |_, _| blocks += 1);
    let limit = size_limit(N::LEN.saturating_mul(blocks));
    Checkpoint::load(path, format, limit)?.restore(net, trainer)
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    use std::io::Write;
    let io = |source| CheckpointError::Io {
        path: path.into(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// Whether a smaller or a larger monitored value is better, as Keras' `mode`.
///
/// ```
/// use constnet::train::{Mode, Monitor};
/// assert!(Mode::Auto.improves(Monitor::ValLoss, 0.1, 0.2));
/// assert!(Mode::Auto.improves(Monitor::ValAccuracy, 0.9, 0.8));
/// assert!(Mode::Max.improves(Monitor::Loss, 0.3, 0.2)); // as asked, however odd
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Smaller for the losses, larger for the accuracies (Keras' `"auto"`).
    #[default]
    Auto,
    /// Smaller is better.
    Min,
    /// Larger is better.
    Max,
}

impl Mode {
    /// Whether `current` is strictly better than `best` for `monitor` (NaN never is).
    pub fn improves(self, monitor: Monitor, current: f32, best: f32) -> bool {
        let smaller = match self {
            Mode::Min => true,
            Mode::Max => false,
            Mode::Auto => matches!(monitor, Monitor::Loss | Monitor::ValLoss),
        };
        if smaller {
            current < best
        } else {
            current > best
        }
    }
}

/// Saves a [`Checkpoint`] (weights and training state) after epochs, as Keras' `ModelCheckpoint`
/// with `save_weights_only=True` plus the optimizer: every epoch, or with
/// [`save_best_only`](ModelCheckpoint::save_best_only) only when the monitored value improves
/// (default monitor `val_loss`, mode auto). `{epoch}` (1-based, as Keras) and `{epoch:03}` in the
/// path are replaced by the epoch's number. Files are written atomically.
///
/// A save that fails stops training (Keras raises): the error is printed to stderr and kept in
/// [`error`](ModelCheckpoint::error).
///
/// `F` is the file format: [`RawCheckpoint`] by default here. In the `constnet` facade,
/// `constnet::train::ModelCheckpoint` is this type in safetensors when the `io` feature is on
/// (raw otherwise), and this generic type is `constnet::train::ModelCheckpointIn<F>`.
///
/// ```
/// use constnet::prelude::*;
/// use constnet::data::Dataset;
/// use constnet::train::{Fit, ModelCheckpointIn, Monitor, RawCheckpoint, Verbose};
/// network! { struct Line { Dense<1, 1> } }
/// let dir = std::env::temp_dir().join(format!("ckpt-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let data = Dataset::from_vecs(vec![[0.0], [1.0]], vec![[1.0], [3.0]])?;
/// let mut every = ModelCheckpointIn::<RawCheckpoint>::new(dir.join("line-{epoch:02}.ckpt"));
/// let mut best = ModelCheckpointIn::with_format(dir.join("best.ckpt"), RawCheckpoint)
///     .monitor(Monitor::Loss)
///     .save_best_only(true);
/// Fit::<2>::epochs(3).verbose(Verbose::Silent).run_with(
///     &mut Line::new(0), Mse, &mut Trainer::new(Sgd::new(0.1)), &data, None,
///     &mut [&mut every, &mut best],
/// )?;
/// assert!(dir.join("line-03.ckpt").exists() && dir.join("best.ckpt").exists());
/// assert_eq!(every.saved().len(), 3);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ModelCheckpoint<F = RawCheckpoint> {
    filepath: PathBuf,
    format: F,
    monitor: Monitor,
    mode: Mode,
    save_best_only: bool,
    best: Option<f32>,
    saved: Vec<PathBuf>,
    error: Option<CheckpointError>,
    warned: bool,
}

impl<F: CheckpointFormat + Default> ModelCheckpoint<F> {
    /// Saves to `filepath` after every epoch, in format `F`'s default.
    pub fn new(filepath: impl Into<PathBuf>) -> Self {
        Self::with_format(filepath, F::default())
    }
}

impl<F: CheckpointFormat> ModelCheckpoint<F> {
    /// Saves to `filepath` in `format` after every epoch.
    pub fn with_format(filepath: impl Into<PathBuf>, format: F) -> Self {
        ModelCheckpoint {
            filepath: filepath.into(),
            format,
            monitor: Monitor::ValLoss,
            mode: Mode::Auto,
            save_best_only: false,
            best: None,
            saved: Vec::new(),
            error: None,
            warned: false,
        }
    }

    /// The value [`save_best_only`](ModelCheckpoint::save_best_only) watches.
    pub fn monitor(mut self, monitor: Monitor) -> Self {
        self.monitor = monitor;
        self
    }

    /// Whether smaller or larger is better.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Saves only when the monitored value beats the best so far (over all runs with this
    /// callback, as in Keras).
    pub fn save_best_only(mut self, best_only: bool) -> Self {
        self.save_best_only = best_only;
        self
    }

    /// The files written, in order (a path reused by a later epoch appears again).
    pub fn saved(&self) -> &[PathBuf] {
        &self.saved
    }

    /// The best monitored value seen when saving the best only.
    pub fn best(&self) -> Option<f32> {
        self.best
    }

    /// The error that stopped training, if a save failed.
    pub fn error(&self) -> Option<&CheckpointError> {
        self.error.as_ref()
    }

    /// The path of epoch `epoch` (0-based): `{epoch}` and `{epoch:0N}` (also Keras' `{epoch:0Nd}`)
    /// replaced by `epoch + 1`.
    ///
    /// ```
    /// use constnet::train::ModelCheckpoint;
    /// let c = ModelCheckpoint::new("run/w-{epoch:03d}-{epoch}.ckpt");
    /// assert_eq!(c.path_of(4), std::path::PathBuf::from("run/w-005-5.ckpt"));
    /// ```
    pub fn path_of(&self, epoch: u64) -> PathBuf {
        let text = self.filepath.to_string_lossy();
        let number = epoch + 1;
        let mut out = String::with_capacity(text.len());
        let mut rest: &str = &text;
        while let Some(start) = rest.find("{epoch") {
            out.push_str(&rest[..start]);
            let after = &rest[start + "{epoch".len()..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let spec = &after[..end];
            let width = spec
                .strip_prefix(":0")
                .map(|w| w.trim_end_matches('d'))
                .and_then(|w| w.parse::<usize>().ok());
            match (spec, width) {
                ("", _) => out.push_str(&number.to_string()),
                (_, Some(w)) => out.push_str(&format!("{number:0w$}")),
                // Not a placeholder this callback knows: kept as written.
                _ => out.push_str(&rest[start..start + "{epoch".len() + end + 1]),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        PathBuf::from(out)
    }
}

impl<N: Parameters, F: CheckpointFormat> Callback<N> for ModelCheckpoint<F> {
    fn on_train_begin(&mut self, _: &mut Control<'_, N>) {
        self.error = None;
    }

    fn on_epoch_end(&mut self, epoch: u64, logs: &Epoch, ctl: &mut Control<'_, N>) {
        if self.save_best_only {
            let Some(current) = self.monitor.read(logs, &mut self.warned, "ModelCheckpoint") else {
                return;
            };
            let better = match self.best {
                None => !current.is_nan(),
                Some(best) => self.mode.improves(self.monitor, current, best),
            };
            if !better {
                return;
            }
            self.best = Some(current);
        }
        let path = self.path_of(epoch);
        let result = ctl.checkpoint().and_then(|c| c.save(&path, &self.format));
        match result {
            Ok(()) => self.saved.push(path),
            Err(e) => {
                std::eprintln!("ModelCheckpoint: could not save epoch {}: {e}", epoch + 1);
                self.error = Some(e);
                ctl.stop_training();
            }
        }
    }
}

impl<N, O, const B: usize, S> Trainer<N, O, B, S>
where
    N: TrainBuffers<B>,
    O: Optimizer<N>,
{
    /// The optimizer's type name without its path (`Adam`), as checkpoints record it.
    pub(crate) fn optimizer_type_name() -> &'static str {
        let full = core::any::type_name::<O>();
        // `a::b::Name<c::D>` → `Name<c::D>`: the path before any generic arguments.
        let base = full.split('<').next().unwrap_or(full);
        let start = base.rfind("::").map_or(0, |i| i + 2);
        &full[start..]
    }

    /// Sets the step and epoch counters (restoring a checkpoint), making sure a trainer made in
    /// const evaluation does not reset the restored state at its first step.
    pub(crate) fn restore_counters(&mut self, steps: u64, epochs: u64) {
        self.prepare();
        self.steps = steps;
        self.epochs = epochs;
    }

    /// The dropout generator's state.
    pub(crate) fn rng_state(&self) -> u64 {
        self.rng.state()
    }

    /// Continues the dropout generator from `state`.
    pub(crate) fn set_rng_state(&mut self, state: u64) {
        self.rng = Rng::new(state);
    }
}
