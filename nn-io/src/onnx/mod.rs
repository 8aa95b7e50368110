//! ONNX models in and out, through the official `onnx.proto3` schema compiled by prost.

mod export;
mod import;
#[allow(clippy::all, clippy::pedantic, missing_docs, rustdoc::all)]
mod proto;
pub(crate) mod qdq;
mod stream;

pub(crate) use export::export;
#[cfg(test)]
pub(crate) use import::import;
pub(crate) use import::import_from;

/// The largest ONNX file a network of `values` parameters is read from: every value as a double,
/// plus what the reader holds of the graph, names and attributes at most (a network's graph takes
/// a few kilobytes).
pub(crate) fn max_file_len(values: usize) -> u64 {
    8 * values as u64 + stream::MAX_HELD
}

/// ONNX's element type codes used here.
mod dtype {
    pub const FLOAT: i32 = 1;
    pub const INT64: i32 = 7;
    pub const FLOAT16: i32 = 10;
    pub const DOUBLE: i32 = 11;
    pub const BFLOAT16: i32 = 16;
}

#[cfg(test)]
mod tests;
