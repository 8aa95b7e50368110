//! Request bodies of both protocols, parsed straight into one flat `Vec<f32>` (no
//! `serde_json::Value` per number: at 784 values a request, that tree would cost more than the
//! inference), and checked against the model's width.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;

use crate::Error;

/// How a tensor's `data` was nested: the lengths of the lists at each depth.
#[derive(Debug, Default)]
struct Nesting {
    /// `dims[d]`: the length of every list at depth `d` (they must agree).
    dims: Vec<usize>,
    /// The depth at which numbers were found (they must all be at one depth).
    leaf_depth: Option<usize>,
    /// Lists of different lengths at one depth, or numbers at different depths.
    ragged: bool,
}

impl Nesting {
    fn list(&mut self, depth: usize, len: usize) {
        if self.dims.len() <= depth {
            self.dims.resize(depth + 1, usize::MAX);
        }
        if self.dims[depth] == usize::MAX {
            self.dims[depth] = len;
        } else if self.dims[depth] != len {
            self.ragged = true;
        }
    }

    fn leaf(&mut self, depth: usize) {
        match self.leaf_depth {
            None => self.leaf_depth = Some(depth),
            Some(d) if d != depth => self.ragged = true,
            Some(_) => {}
        }
    }

    /// The nested shape, when the data was a list of lists; `None` for a flat list.
    fn shape(&self) -> Option<&[usize]> {
        match self.leaf_depth {
            Some(d) if d >= 2 => Some(&self.dims[..d]),
            // An empty list has no leaves: treat it as flat (and empty).
            _ => None,
        }
    }
}

/// Pushes every number of a (possibly nested) list onto `out`.
struct Flatten<'a> {
    out: &'a mut Vec<f32>,
    nesting: &'a mut Nesting,
    depth: usize,
}

impl Flatten<'_> {
    fn push<E: de::Error>(&mut self, v: f32, shown: &dyn fmt::Display) -> Result<(), E> {
        // `as f32` rounds a finite f64 beyond FP32's range to infinity: that is the check. JSON
        // has no NaN or infinity token, so the f64 itself is always finite.
        if !v.is_finite() {
            return Err(E::custom(format_args!(
                "value {shown} at index {} does not fit in FP32 (largest magnitude 3.4028235e38)",
                self.out.len()
            )));
        }
        if self.depth == 0 {
            return Err(E::custom(
                "expected a list of numbers, found a single number",
            ));
        }
        self.nesting.leaf(self.depth);
        self.out.push(v);
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Flatten<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Flatten<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number or a list of numbers")
    }

    fn visit_f64<E: de::Error>(mut self, v: f64) -> Result<(), E> {
        self.push(v as f32, &v)
    }

    fn visit_i64<E: de::Error>(mut self, v: i64) -> Result<(), E> {
        self.push(v as f32, &v)
    }

    fn visit_u64<E: de::Error>(mut self, v: u64) -> Result<(), E> {
        self.push(v as f32, &v)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let depth = self.depth;
        let mut len = 0;
        while seq
            .next_element_seed(Flatten {
                out: &mut *self.out,
                nesting: &mut *self.nesting,
                depth: depth + 1,
            })?
            .is_some()
        {
            len += 1;
        }
        self.nesting.list(depth, len);
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        Err(E::custom(format_args!(
            "expected a number at index {}, found the string {v:?}",
            self.out.len()
        )))
    }
}

/// A tensor's `data`: flat or nested, as the Open Inference Protocol allows.
#[derive(Debug, Default)]
pub(crate) struct Tensor {
    values: Vec<f32>,
    nesting: Nesting,
}

impl<'de> Deserialize<'de> for Tensor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Room for a 28x28 image up front: growing from empty reallocates ten times.
        let mut t = Tensor {
            values: Vec::with_capacity(1024),
            nesting: Nesting::default(),
        };
        Flatten {
            out: &mut t.values,
            nesting: &mut t.nesting,
            depth: 0,
        }
        .deserialize(deserializer)?;
        if t.nesting.ragged {
            return Err(de::Error::custom(
                "nested data is ragged: lists at one depth must have one length",
            ));
        }
        Ok(t)
    }
}

/// `POST /v2/models/{name}/infer`.
#[derive(Deserialize)]
struct InferRequest {
    #[serde(default)]
    id: Option<String>,
    inputs: Vec<InferInput>,
    // `outputs` and `parameters` (requested outputs, binary data) are ignored: the model has
    // one output, always returned as JSON.
}

#[derive(Deserialize)]
struct InferInput {
    name: String,
    shape: Vec<i64>,
    datatype: String,
    data: Tensor,
    #[serde(default)]
    #[allow(dead_code)]
    parameters: Option<IgnoredAny>,
}

/// A checked batch: `samples` rows of the model's `IN` values, back to back.
#[derive(Debug)]
pub(crate) struct Batch {
    pub values: Vec<f32>,
    pub samples: usize,
    /// The request's `id`, echoed in the response as the protocol asks.
    pub id: Option<String>,
}

/// Name of the model's only input and output in the v2 metadata and responses (ONNX export's
/// names too).
pub(crate) const INPUT_NAME: &str = "input";
pub(crate) const OUTPUT_NAME: &str = "output";

fn bad(msg: impl Into<String>) -> Error {
    Error::BadRequest(msg.into())
}

fn invalid_json(e: serde_json::Error) -> Error {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => bad(format!("malformed JSON: {e}")),
        Category::Data => bad(format!("invalid request: {e}")),
    }
}

/// Parses and checks a KServe v2 inference request for a model of `width` inputs.
pub(crate) fn parse_v2(body: &[u8], width: usize) -> Result<Batch, Error> {
    let req: InferRequest = serde_json::from_slice(body).map_err(invalid_json)?;
    let mut inputs = req.inputs.into_iter();
    let input = inputs
        .next()
        .ok_or_else(|| bad("'inputs' is empty: send one input named 'input'"))?;
    if inputs.next().is_some() {
        return Err(bad(
            "the model has one input ('input'); the request has more than one",
        ));
    }
    if input.name != INPUT_NAME {
        return Err(bad(format!(
            "unknown input '{}'; the model's input is '{INPUT_NAME}'",
            input.name
        )));
    }
    if input.datatype != "FP32" {
        return Err(bad(format!(
            "datatype '{}' is not supported; the input is FP32",
            input.datatype
        )));
    }
    let shape = &input.shape;
    let (&rows, rest) = shape
        .split_first()
        .ok_or_else(|| bad(format!("shape [] is not a batch; send [N, {width}]")))?;
    if shape.iter().any(|&d| d < 0) {
        return Err(bad(format!(
            "shape {shape:?} has a negative dimension; send [N, {width}]"
        )));
    }
    // [N, 784], or any [N, ...] whose sample has 784 values ([N, 1, 28, 28] for a CNN).
    let per_sample = rest
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
    if rest.is_empty() || per_sample != Some(width as u64) {
        return Err(bad(format!(
            "shape {shape:?} does not hold samples of {width} values: the model takes [N, {width}]"
        )));
    }
    if rows == 0 {
        return Err(bad("shape has N = 0: send at least one sample"));
    }
    let total = (rows as u64).checked_mul(width as u64);
    let data = input.data;
    if total != Some(data.values.len() as u64) {
        return Err(bad(format!(
            "shape {shape:?} holds {} values but 'data' has {}: each sample has {width} values",
            total.map_or("too many".to_string(), |t| t.to_string()),
            data.values.len()
        )));
    }
    if let Some(nested) = data.nesting.shape() {
        if nested.len() != shape.len() || nested.iter().zip(shape).any(|(&a, &b)| a as i64 != b) {
            return Err(bad(format!(
                "nested 'data' has shape {nested:?} but 'shape' says {shape:?}"
            )));
        }
    }
    Ok(Batch {
        values: data.values,
        samples: rows as usize,
        id: req.id,
    })
}

/// `POST /v1/models/{name}:predict`, TF Serving's row format.
#[derive(Deserialize)]
struct PredictRequest {
    instances: Instances,
}

/// Every instance flattened into one vector, with each instance's length.
#[derive(Default)]
struct Instances {
    values: Vec<f32>,
    lengths: Vec<usize>,
}

impl<'de> Deserialize<'de> for Instances {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Instances;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of instances, each a list of numbers")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Instances, A::Error> {
                let mut all = Instances {
                    values: Vec::with_capacity(1024),
                    lengths: Vec::new(),
                };
                loop {
                    let before = all.values.len();
                    let mut nesting = Nesting::default();
                    let seed = Flatten {
                        out: &mut all.values,
                        nesting: &mut nesting,
                        depth: 0,
                    };
                    if seq.next_element_seed(seed)?.is_none() {
                        break;
                    }
                    if nesting.ragged {
                        return Err(de::Error::custom(format_args!(
                            "instance {} is ragged: lists at one depth must have one length",
                            all.lengths.len()
                        )));
                    }
                    all.lengths.push(all.values.len() - before);
                }
                Ok(all)
            }
        }
        deserializer.deserialize_seq(V)
    }
}

/// Parses and checks a TF Serving predict request for a model of `width` inputs.
pub(crate) fn parse_v1(body: &[u8], width: usize) -> Result<Batch, Error> {
    let req: PredictRequest = serde_json::from_slice(body).map_err(invalid_json)?;
    let instances = req.instances;
    if instances.lengths.is_empty() {
        return Err(bad("'instances' is empty: send at least one instance"));
    }
    if let Some((i, &len)) = instances
        .lengths
        .iter()
        .enumerate()
        .find(|(_, &len)| len != width)
    {
        return Err(bad(format!(
            "instance {i} has {len} values; the model takes {width}"
        )));
    }
    Ok(Batch {
        samples: instances.lengths.len(),
        values: instances.values,
        id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(data: &str, shape: &str) -> Result<Batch, Error> {
        let body = format!(
            r#"{{"inputs":[{{"name":"input","shape":{shape},"datatype":"FP32","data":{data}}}]}}"#
        );
        parse_v2(body.as_bytes(), 4)
    }

    fn message(r: Result<Batch, Error>) -> String {
        match r {
            Err(Error::BadRequest(m)) => m,
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn flat_and_nested_data_give_the_same_batch() {
        let flat = v2("[1,2,3,4,5,6,7,8]", "[2,4]").unwrap();
        let nested = v2("[[1,2,3,4],[5,6,7,8.0]]", "[2,4]").unwrap();
        assert_eq!(flat.values, nested.values);
        assert_eq!(flat.samples, 2);
        let deep = v2("[[[1,2],[3,4]]]", "[1,2,2]").unwrap();
        assert_eq!(deep.values, [1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn each_bad_tensor_names_its_fault() {
        assert!(message(v2("[1,2,3]", "[1,3]")).contains("[N, 4]"));
        assert!(message(v2("[1,2,3]", "[1,4]")).contains("'data' has 3"));
        assert!(message(v2("[[1,2],[3,4]]", "[1,4]")).contains("nested"));
        assert!(message(v2("[[1,2,3,4],[5,6,7]]", "[2,4]")).contains("ragged"));
        assert!(message(v2("[1,[2,3],4]", "[1,4]")).contains("ragged"));
        assert!(message(v2("[1,2,\"x\",4]", "[1,4]")).contains("\"x\""));
        assert!(message(v2("[1,2,1e39,4]", "[1,4]")).contains("FP32"));
        assert!(message(v2("[1,2,-1e39,4]", "[1,4]")).contains("FP32"));
        assert!(message(v2("[1,2,NaN,4]", "[1,4]")).contains("malformed JSON"));
        assert!(message(v2("[1,2,null,4]", "[1,4]")).contains("null"));
        assert!(message(v2("[]", "[0,4]")).contains("N = 0"));
        assert!(message(v2("1", "[1,4]")).contains("single number"));
        assert!(message(v2("[1,2,3,4]", "[-1,4]")).contains("negative"));
        assert!(message(v2("[1,2,3,4]", "[4]")).contains("[N, 4]"));
    }

    #[test]
    fn huge_shapes_do_not_overflow() {
        let m = message(v2("[1,2,3,4]", "[9223372036854775807,4]"));
        assert!(m.contains("'data' has 4"), "{m}");
        let m = message(v2("[1,2,3,4]", "[1,4294967296,4294967296,4]"));
        assert!(m.contains("[N, 4]"), "{m}");
    }

    #[test]
    fn v1_instances() {
        let b = parse_v1(br#"{"instances":[[1,2,3,4],[[5,6],[7,8]]]}"#, 4).unwrap();
        assert_eq!(b.samples, 2);
        assert_eq!(b.values, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        let m = message(parse_v1(br#"{"instances":[[1,2,3,4],[1,2,3]]}"#, 4));
        assert!(
            m.contains("instance 1 has 3 values; the model takes 4"),
            "{m}"
        );
        assert!(message(parse_v1(br#"{"instances":[]}"#, 4)).contains("empty"));
        assert!(message(parse_v1(br#"{"inputs":[]}"#, 4)).contains("instances"));
    }
}
