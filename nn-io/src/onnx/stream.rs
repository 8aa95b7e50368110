//! Reading an ONNX model without holding its weights twice.
//!
//! Protobuf has no index, so a plain decode needs the whole file in memory and then copies every
//! initializer's `raw_data` out of it: a network's weights three times over (file, message,
//! parameters). Here the model is walked field by field from a seekable source instead: every
//! field is decoded by prost as usual, except the large `raw_data` of the graph's initializers,
//! whose place in the source is noted and read later, a chunk at a time, straight into the
//! network. What is held is the graph without its weights (kilobytes for a network exported by
//! PyTorch, tf2onnx or constnet) plus one tensor while it is converted.

use std::cell::RefCell;
use std::io::{Read, Seek, SeekFrom};

use prost::encoding::{self, WireType};
use prost::Message;

use super::proto::{GraphProto, ModelProto, TensorProto};
use crate::{Float, IoError, WeightsError};

/// Tensor data of at most this many bytes stays in the message (shapes for `Reshape`, tiny
/// biases): deferring it would save nothing.
const INLINE: u64 = 4096;

/// The most bytes of the model held in memory besides deferred tensor data: a network's graph
/// takes kilobytes, so a file that needs more (weights in `Constant` nodes, or junk) is refused
/// rather than allowed to take memory in proportion to its size.
pub(crate) const MAX_HELD: u64 = 32 << 20;

/// Field numbers of the schema (`onnx.proto3`) on the path to the weights.
const MODEL_GRAPH: u32 = 7;
const GRAPH_INITIALIZER: u32 = 5;
const TENSOR_FLOAT_DATA: u32 = 4;
const TENSOR_RAW_DATA: u32 = 9;
const TENSOR_DOUBLE_DATA: u32 = 10;
const LEN: u8 = 2;

/// Where an initializer's data is in the source.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deferred {
    pub offset: u64,
    pub len: u64,
    pub field: Field,
}

/// The field of a `TensorProto` that deferred data came from; `float_data` and `double_data`
/// are packed, which is little-endian values like `raw_data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Raw,
    Float,
    Double,
}

/// A model whose large initializer data is still in `source`: `deferred[i]` belongs to
/// `model.graph.initializer[i]`.
pub(crate) struct Model<R> {
    pub model: ModelProto,
    pub deferred: Vec<Option<Deferred>>,
    source: RefCell<R>,
    io: IoError,
}

impl<R: Read + Seek> Model<R> {
    /// Reads `len` bytes of `source` as an ONNX model. `io` turns a read error into the caller's
    /// error (naming the file).
    pub fn read(mut source: R, len: u64, io: IoError) -> Result<Self, WeightsError> {
        let mut walk = Walk {
            src: &mut source,
            pos: 0,
            held: 0,
            io: &io,
        };
        let mut top = Vec::new();
        let mut graph = None;
        while walk.pos < len {
            let key = walk.key(len)?;
            if (key.0, key.1) == (MODEL_GRAPH, LEN) {
                if graph.is_some() {
                    return Err(malformed(key.2, "a second graph"));
                }
                let end = walk.len_end(len)?;
                graph = Some(walk.graph(end)?);
            } else {
                walk.copy_field(key, len, &mut top)?;
            }
        }
        let mut model = ModelProto::decode(&top[..]).map_err(prost_error)?;
        let mut deferred = Vec::new();
        if let Some((mut g, initializers)) = graph {
            (g.initializer, deferred) = initializers.into_iter().unzip();
            model.graph = Some(g);
        }
        Ok(Model {
            model,
            deferred,
            source: RefCell::new(source),
            io,
        })
    }
}

/// Reads deferred tensor data.
pub(crate) trait Fetch {
    /// Converts the deferred data `d`, of element type `kind`, into `out`, a chunk at a time.
    fn fill(&self, d: Deferred, kind: Float, out: &mut [f32]) -> Result<(), WeightsError>;
}

impl<R: Read + Seek> Fetch for Model<R> {
    fn fill(&self, d: Deferred, kind: Float, out: &mut [f32]) -> Result<(), WeightsError> {
        // The caller has checked `d.len` against `out` and `kind`.
        const CHUNK: usize = 1 << 16;
        let mut src = self.source.borrow_mut();
        src.seek(SeekFrom::Start(d.offset)).map_err(&self.io)?;
        let mut bytes = vec![0; CHUNK];
        for out in out.chunks_mut(CHUNK / kind.width()) {
            let bytes = &mut bytes[..out.len() * kind.width()];
            src.read_exact(bytes).map_err(&self.io)?;
            kind.decode_le(bytes, out);
        }
        Ok(())
    }
}

/// A position in the source while walking the message tree.
struct Walk<'a, R> {
    src: &'a mut R,
    pos: u64,
    /// Bytes copied out of the source so far (bounded by [`MAX_HELD`]).
    held: u64,
    io: &'a dyn Fn(std::io::Error) -> WeightsError,
}

impl<R: Read + Seek> Walk<'_, R> {
    fn byte(&mut self, end: u64) -> Result<u8, WeightsError> {
        if self.pos >= end {
            return Err(malformed(
                self.pos,
                "a field runs past the end of its message",
            ));
        }
        let mut b = [0];
        self.src.read_exact(&mut b).map_err(self.io)?;
        self.pos += 1;
        Ok(b[0])
    }

    fn varint(&mut self, end: u64) -> Result<u64, WeightsError> {
        let start = self.pos;
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte(end)?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(malformed(start, "a varint longer than 10 bytes"))
    }

    /// A field's number and wire type, and where its key starts.
    fn key(&mut self, end: u64) -> Result<(u32, u8, u64), WeightsError> {
        let start = self.pos;
        let key = self.varint(end)?;
        let field = u32::try_from(key >> 3)
            .ok()
            .filter(|f| (encoding::MIN_TAG..=encoding::MAX_TAG).contains(f))
            .ok_or_else(|| malformed(start, "an invalid field number"))?;
        Ok((field, (key & 7) as u8, start))
    }

    /// Reads a length prefix and returns where the payload ends, checked against `end`.
    fn len_end(&mut self, end: u64) -> Result<u64, WeightsError> {
        let start = self.pos;
        let n = self.varint(end)?;
        self.pos
            .checked_add(n)
            .filter(|&e| e <= end)
            .ok_or_else(|| malformed(start, "a length beyond the end of its message"))
    }

    /// Appends a field whose key (`field`, `wire`, read at `start`) has just been read to `out`,
    /// re-encoded as prost reads it.
    fn copy_field(
        &mut self,
        (field, wire, start): (u32, u8, u64),
        end: u64,
        out: &mut Vec<u8>,
    ) -> Result<(), WeightsError> {
        let wire_type = match wire {
            0 => WireType::Varint,
            1 => WireType::SixtyFourBit,
            LEN => WireType::LengthDelimited,
            5 => WireType::ThirtyTwoBit,
            _ => return Err(malformed(start, "a group or unknown wire type")),
        };
        encoding::encode_key(field, wire_type, out);
        let n = match wire_type {
            WireType::Varint => {
                let value = self.varint(end)?;
                encoding::encode_varint(value, out);
                return Ok(());
            }
            WireType::SixtyFourBit => 8,
            WireType::ThirtyTwoBit => 4,
            _ => {
                let payload_end = self.len_end(end)?;
                let n = payload_end - self.pos;
                encoding::encode_varint(n, out);
                n
            }
        };
        if self.pos + n > end {
            return Err(malformed(start, "a field runs past the end of its message"));
        }
        self.held += n;
        if self.held > MAX_HELD {
            return Err(malformed(
                start,
                "more than 32 MiB of graph besides the initializers' data (weights in nodes?)",
            ));
        }
        let n = usize::try_from(n).map_err(|_| malformed(start, "a field too large"))?;
        let at = out.len();
        out.resize(at + n, 0);
        self.src.read_exact(&mut out[at..]).map_err(self.io)?;
        self.pos += n as u64;
        Ok(())
    }

    /// A `GraphProto` ending at `end`, its initializers' large data deferred.
    #[allow(clippy::type_complexity)]
    fn graph(
        &mut self,
        end: u64,
    ) -> Result<(GraphProto, Vec<(TensorProto, Option<Deferred>)>), WeightsError> {
        let mut rest = Vec::new();
        let mut initializers = Vec::new();
        while self.pos < end {
            let key = self.key(end)?;
            if (key.0, key.1) == (GRAPH_INITIALIZER, LEN) {
                let tensor_end = self.len_end(end)?;
                initializers.push(self.tensor(tensor_end)?);
            } else {
                self.copy_field(key, end, &mut rest)?;
            }
        }
        let graph = GraphProto::decode(&rest[..]).map_err(prost_error)?;
        Ok((graph, initializers))
    }

    /// A `TensorProto` ending at `end`, with its data deferred if large.
    fn tensor(&mut self, end: u64) -> Result<(TensorProto, Option<Deferred>), WeightsError> {
        let mut rest = Vec::new();
        let mut deferred = None;
        while self.pos < end {
            let key = self.key(end)?;
            let field = match (key.0, key.1) {
                (TENSOR_RAW_DATA, LEN) => Field::Raw,
                (TENSOR_FLOAT_DATA, LEN) => Field::Float,
                (TENSOR_DOUBLE_DATA, LEN) => Field::Double,
                _ => {
                    self.copy_field(key, end, &mut rest)?;
                    continue;
                }
            };
            // Peek at the length without consuming the field: small data is copied as is.
            let (pos, len) = (self.pos, self.len_end(end)? - self.pos);
            if len > INLINE {
                let skip = i64::try_from(len).map_err(|_| malformed(key.2, "a field too large"))?;
                self.src.seek_relative(skip).map_err(self.io)?;
                // A field given twice keeps the last; the length check that follows refuses a
                // tensor whose values were split between fields.
                deferred = Some(Deferred {
                    offset: self.pos,
                    len,
                    field,
                });
                self.pos += len;
            } else {
                // Step back over the length prefix just read, so `copy_field` reads it again.
                let back = (self.pos - pos) as i64;
                self.src.seek_relative(-back).map_err(self.io)?;
                self.pos = pos;
                self.copy_field(key, end, &mut rest)?;
            }
        }
        let tensor = TensorProto::decode(&rest[..]).map_err(prost_error)?;
        Ok((tensor, deferred))
    }
}

fn malformed(at: u64, what: &str) -> WeightsError {
    WeightsError::MalformedOnnx(format!("{what} at byte {at}"))
}

fn prost_error(e: prost::DecodeError) -> WeightsError {
    WeightsError::MalformedOnnx(e.to_string())
}
