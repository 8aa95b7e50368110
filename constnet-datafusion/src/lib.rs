//! Any constnet network as a DataFusion scalar UDF: score a table inside SQL, batch by batch, on
//! every partition (so every core) at once.
//!
//! ```
//! use constnet::prelude::*;
//! use constnet_datafusion::predict_udf;
//! use datafusion::prelude::*;
//!
//! network! { pub struct Tiny { Dense<2, 4, Relu>, Dense<4, 1, Sigmoid> } }
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let ctx = SessionContext::new();
//! ctx.register_udf(predict_udf::<Tiny, _, _>("tiny", Tiny::new(1)));
//! let df = ctx.sql("SELECT tiny(x, y) AS p FROM (VALUES (0.5, 1.0), (2.0, -1.0)) AS t(x, y)").await?;
//! let batches = df.collect().await?;
//! assert_eq!(batches[0].num_rows(), 2);
//! # Ok::<(), datafusion::error::DataFusionError>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Arguments and result
//! - `f(c1, …, cIN)`: `IN` numeric columns (integers and Float64 are cast to Float32 by the
//!   planner), or
//! - `f(features)`: one `FixedSizeList<Float32, IN>` column (Float64 lists are cast).
//!
//! A network with one output (a binary classifier) returns that output as `Float32` — for a
//! sigmoid output layer, the probability of class 1; with `OUT > 1` outputs the function returns
//! all of them as `FixedSizeList<Float32, OUT>` (a softmax network's class probabilities), from
//! which SQL takes what it needs (the class is the position of the largest value). Returning the
//! outputs rather than a class keeps the scores for thresholds, AUC and calibration.
//!
//! Any other number or type of arguments is a planning error that says what is expected, before
//! any data is read.
//!
//! # Nulls
//! SQL's rule for a scalar function: a row with a null in any argument (or a null list, or a null
//! inside a list) scores as null; the other rows of the batch are scored as usual.
//!
//! # How it evaluates
//! Each batch's rows go through the network's batched forward ([`Network::forward_batch`]) in
//! blocks of 64. A `FixedSizeList<Float32, IN>` column without nulls is already laid out as rows
//! of `IN` floats: the blocks are read in place from the Arrow buffer, nothing is copied. `IN`
//! separate columns are interleaved into a 64-row block on the stack first (one pass over the
//! values; a row-major copy is what a batched matrix product needs). DataFusion calls the UDF
//! for every batch of every partition, in parallel across partitions.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, FixedSizeListArray, Float32Array};
use datafusion::arrow::buffer::{NullBuffer, ScalarBuffer};
use datafusion::arrow::datatypes::{DataType, Field, Float32Type};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use nn_core::Network;

/// Rows per call of the batched forward.
const BLOCK: usize = 64;

/// The scalar UDF `name(…)` that runs `net` on its arguments (see the [crate] documentation for
/// the argument forms, the result type and the null policy).
///
/// The network is shared by all partitions (`Arc`), read-only. Rust cannot infer the network's
/// input and output sizes from a type argument alone, so name the network with two `_` for them
/// (`predict_udf::<Higgs, _, _>`), or let the argument tell (`predict_udf("higgs", net)`).
///
/// ```
/// use constnet::prelude::*;
/// network! { pub struct Three { Dense<4, 3, Softmax> } }
/// let udf = constnet_datafusion::predict_udf("three", Three::new(1));
/// assert_eq!(udf.name(), "three");
/// ```
pub fn predict_udf<N, const IN: usize, const OUT: usize>(name: &str, net: N) -> ScalarUDF
where
    N: Network<IN, OUT> + Send + Sync + 'static,
{
    ScalarUDF::new_from_impl(Predict::<N, IN, OUT> {
        name: name.to_string(),
        signature: Signature::user_defined(Volatility::Immutable),
        net: Arc::new(net),
    })
}

/// The UDF's implementation: a network and a name.
struct Predict<N, const IN: usize, const OUT: usize> {
    name: String,
    signature: Signature,
    net: Arc<N>,
}

impl<N, const IN: usize, const OUT: usize> fmt::Debug for Predict<N, IN, OUT> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Predict({}: {IN} inputs, {OUT} outputs)", self.name)
    }
}

// DataFusion compares UDFs to deduplicate expressions: two are the same when they have the same
// name and share the very same network.
impl<N, const IN: usize, const OUT: usize> PartialEq for Predict<N, IN, OUT> {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && Arc::ptr_eq(&self.net, &other.net)
    }
}

impl<N, const IN: usize, const OUT: usize> Eq for Predict<N, IN, OUT> {}

impl<N, const IN: usize, const OUT: usize> Hash for Predict<N, IN, OUT> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        Arc::as_ptr(&self.net).hash(state);
    }
}

fn output_type<const OUT: usize>() -> DataType {
    if OUT == 1 {
        DataType::Float32
    } else {
        DataType::FixedSizeList(
            Arc::new(Field::new_list_field(DataType::Float32, false)),
            OUT as i32,
        )
    }
}

impl<N, const IN: usize, const OUT: usize> ScalarUDFImpl for Predict<N, IN, OUT>
where
    N: Network<IN, OUT> + Send + Sync + 'static,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(output_type::<OUT>())
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let name = &self.name;
        if let [DataType::FixedSizeList(item, len)] = arg_types {
            if *len as usize != IN {
                return plan_err!(
                    "{name}() takes {IN} features, but its list argument has {len} values"
                );
            }
            if !item.data_type().is_numeric() {
                return plan_err!(
                    "{name}() takes a list of {IN} numbers, but the list holds {}",
                    item.data_type()
                );
            }
            return Ok(vec![DataType::FixedSizeList(
                Arc::new(Field::new_list_field(DataType::Float32, true)),
                IN as i32,
            )]);
        }
        if arg_types.len() != IN {
            return plan_err!(
                "{name}() takes {IN} numeric feature columns or one FixedSizeList<Float32, {IN}> column, \
                 but was given {} argument(s)",
                arg_types.len()
            );
        }
        for (i, t) in arg_types.iter().enumerate() {
            if !(t.is_numeric() || *t == DataType::Null) {
                return plan_err!(
                    "{name}() argument {} is of type {t}, where a number is expected",
                    i + 1
                );
            }
        }
        Ok(vec![DataType::Float32; IN])
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let mut out = vec![[0.0f32; OUT]; rows];
        let nulls = if let [list] = arrays.as_slice() {
            let DataType::FixedSizeList(..) = list.data_type() else {
                return exec_err!("{}: expected a FixedSizeList argument", self.name);
            };
            self.score_list(list.as_fixed_size_list(), &mut out)?
        } else {
            self.score_columns(&arrays, &mut out)?
        };
        let values = ScalarBuffer::from(out.into_flattened());
        let result: ArrayRef = if OUT == 1 {
            Arc::new(Float32Array::new(values, nulls))
        } else {
            let values = Float32Array::new(values, None);
            Arc::new(FixedSizeListArray::try_new(
                Arc::new(Field::new_list_field(DataType::Float32, false)),
                OUT as i32,
                Arc::new(values),
                nulls,
            )?)
        };
        Ok(ColumnarValue::Array(result))
    }
}

impl<N, const IN: usize, const OUT: usize> Predict<N, IN, OUT>
where
    N: Network<IN, OUT> + Send + Sync + 'static,
{
    /// Runs rows (row-major, a whole number of `IN`-float rows) through the network into `out`.
    fn forward_rows(&self, rows: &[[f32; IN]], out: &mut [[f32; OUT]]) {
        let mut blocks = rows.chunks_exact(BLOCK);
        let mut outs = out.chunks_exact_mut(BLOCK);
        for (x, y) in (&mut blocks).zip(&mut outs) {
            let x: &[[f32; IN]; BLOCK] = x.try_into().expect("chunks of BLOCK");
            let y: &mut [[f32; OUT]; BLOCK] = y.try_into().expect("chunks of BLOCK");
            self.net.forward_batch(x, y);
        }
        for (x, y) in blocks.remainder().iter().zip(outs.into_remainder()) {
            *y = self.net.forward(x);
        }
    }

    fn score_list(
        &self,
        list: &FixedSizeListArray,
        out: &mut [[f32; OUT]],
    ) -> Result<Option<NullBuffer>> {
        let values = list.values().as_primitive::<Float32Type>();
        // The list's own rows start at its offset within the child array.
        let start = list.offset() * IN;
        let flat = &values.values()[start..start + list.len() * IN];
        let (rows, rest) = flat.as_chunks::<IN>();
        debug_assert!(rest.is_empty());
        if values.null_count() == 0 {
            self.forward_rows(rows, out);
            return Ok(list.nulls().cloned());
        }
        // Nulls inside lists: those rows score null, the others are scored one by one.
        let mut valid = Vec::with_capacity(list.len());
        for (i, (x, y)) in rows.iter().zip(out.iter_mut()).enumerate() {
            let ok = list.is_valid(i) && (0..IN).all(|j| values.is_valid(start + i * IN + j));
            if ok {
                *y = self.net.forward(x);
            }
            valid.push(ok);
        }
        Ok(Some(NullBuffer::from(valid)))
    }

    fn score_columns(
        &self,
        arrays: &[ArrayRef],
        out: &mut [[f32; OUT]],
    ) -> Result<Option<NullBuffer>> {
        if arrays.len() != IN {
            return exec_err!(
                "{}: {} arguments, where {IN} are expected",
                self.name,
                arrays.len()
            );
        }
        let columns: Vec<&Float32Array> = arrays
            .iter()
            .map(|a| a.as_primitive::<Float32Type>())
            .collect();
        let nulls = columns
            .iter()
            .fold(None, |acc, c| NullBuffer::union(acc.as_ref(), c.nulls()));
        let rows = out.len();
        let mut block = [[0.0f32; IN]; BLOCK];
        let mut y = [[0.0f32; OUT]; BLOCK];
        let mut start = 0;
        while start < rows {
            let n = BLOCK.min(rows - start);
            for (j, c) in columns.iter().enumerate() {
                for (row, &v) in block[..n].iter_mut().zip(&c.values()[start..start + n]) {
                    row[j] = v;
                }
            }
            if n == BLOCK {
                self.net.forward_batch(&block, &mut y);
                out[start..start + n].copy_from_slice(&y);
            } else {
                for (x, o) in block[..n].iter().zip(&mut out[start..start + n]) {
                    *o = self.net.forward(x);
                }
            }
            start += n;
        }
        // Null rows were scored from whatever their slots hold; the null mask hides them.
        Ok(nulls)
    }
}
