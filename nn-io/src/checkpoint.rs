//! Training checkpoints ([`nn_core::train::Checkpoint`]) as safetensors files.

use std::collections::HashMap;

use nn_core::train::{Checkpoint, CheckpointError, CheckpointFormat, CheckpointTensor};
use safetensors::tensor::{Dtype, SafeTensors};

use crate::safetensors::F32Tensor;

/// Checkpoints as safetensors: every tensor `F32` under its checkpoint name
/// (`hidden.weight`, `optimizer.m.hidden.weight`, …), the counters in the header's
/// `__metadata__`, so that `safetensors.torch.load_file` or any other reader can open them.
/// The format of `constnet::train::ModelCheckpoint`.
///
/// ```
/// use constnet::prelude::*;
/// use constnet::io::SafetensorsCheckpoint;
/// use constnet::train::Checkpoint;
/// network! { struct Net { hidden: Dense<2, 3, Relu>, out: Dense<3, 1> } }
/// let (net, trainer) = (Net::new(1), Trainer::<Net, _, 1>::new(Adam::default()));
/// let bytes = Checkpoint::of(&net, &trainer)?.to_bytes(&SafetensorsCheckpoint)?;
/// let back = Checkpoint::from_bytes(&bytes, &SafetensorsCheckpoint)?;
/// assert_eq!(back.get("optimizer"), Some("Adam"));
/// let mut fresh = Net::new(2);
/// back.restore(&mut fresh, &mut Trainer::<Net, _, 1>::new(Adam::default()))?;
/// assert_eq!(fresh.as_slice(), net.as_slice());
/// # Ok::<(), constnet::train::CheckpointError>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SafetensorsCheckpoint;

impl CheckpointFormat for SafetensorsCheckpoint {
    fn encode(&self, c: &Checkpoint) -> Result<Vec<u8>, CheckpointError> {
        for t in &c.tensors {
            if t.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) != Some(t.values.len()) {
                return Err(CheckpointError::WrongLength {
                    name: t.name.clone(),
                    shape: t.shape.clone(),
                    found: t.values.len(),
                });
            }
        }
        let views = c.tensors.iter().map(|t| {
            let view = F32Tensor {
                shape: &t.shape,
                values: &t.values,
            };
            (t.name.as_str(), view)
        });
        let metadata: HashMap<String, String> = c.metadata.iter().cloned().collect();
        safetensors::serialize(views, Some(metadata))
            .map_err(|e| CheckpointError::Malformed(e.to_string()))
    }

    fn decode(&self, bytes: &[u8]) -> Result<Checkpoint, CheckpointError> {
        let malformed = |e: safetensors::SafeTensorError| CheckpointError::Malformed(e.to_string());
        // The crate checks the header's length and every tensor's byte range against `bytes`.
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(malformed)?;
        let file = SafeTensors::deserialize(bytes).map_err(malformed)?;
        let mut metadata: Vec<(String, String)> = header
            .metadata()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        metadata.sort();
        let mut tensors = Vec::new();
        for (name, view) in file.iter() {
            if view.dtype() != Dtype::F32 {
                return Err(CheckpointError::Malformed(format!(
                    "tensor `{name}` is {:?}; checkpoints are F32",
                    view.dtype()
                )));
            }
            let values = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            tensors.push(CheckpointTensor {
                name: name.to_string(),
                shape: view.shape().to_vec(),
                values,
            });
        }
        tensors.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Checkpoint { metadata, tensors })
    }
}
