//! Scores a HIGGS-shaped Parquet file with SQL — `SELECT higgs(f0, …, f27) FROM 'file'` through
//! the constnet UDF in DataFusion, on every core — and with constnet's own streaming scorer
//! (`ParquetSource` and the batched forward, one thread), and prints the accuracy and rows/s of
//! both.
//!
//! ```text
//! cargo run --release --example higgs -- --make-synthetic higgs.parquet --rows 3000000
//! cargo run --release -p constnet-datafusion --example higgs_sql -- higgs.parquet
//! ```
//!
//! The network is trained here first, one pass over the file's first 500,000 rows (a few
//! seconds), so that the accuracy means something; its label column is `label` and the features
//! `f0`…`f27`, as `higgs --make-synthetic` writes them.

use std::error::Error;
use std::time::Instant;

use constnet::prelude::*;
use constnet_arrow::ParquetSource;
use constnet_datafusion::predict_udf;
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Int64Type;
use datafusion::prelude::*;

network! {
    /// The `higgs` example's network.
    #[derive(Clone)]
    pub struct Higgs {
        h1: Dense<28, 64, Relu>,
        h2: Dense<64, 64, Relu>,
        out: Dense<64, 1, Sigmoid>,
    }
}

const BATCH: usize = 128;

fn features() -> Vec<String> {
    (0..28).map(|j| format!("f{j}")).collect()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: higgs_sql FILE.parquet (write one with `higgs --make-synthetic`)")?;

    // Train briefly on the first rows.
    let mut net = Higgs::new(1);
    let mut trainer = Trainer::<Higgs, _, BATCH>::boxed(Adam::new(0.001));
    let mut src = ParquetSource::<28>::open(&path)?.features(features())?;
    let rows = src.rows();
    let mut x = vec![[0.0f32; 28]; BATCH];
    let mut t = vec![0usize; BATCH];
    let mut trained = 0u64;
    let start = Instant::now();
    while trained < 500_000 {
        let mut filled = 0;
        while filled < BATCH {
            let n = src.read(&mut x[filled..], &mut t[filled..])?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled < BATCH {
            break;
        }
        let xb: &[[f32; 28]; BATCH] = x.as_slice().try_into()?;
        let tb: [[f32; 1]; BATCH] = std::array::from_fn(|i| [t[i] as f32]);
        trainer.step(&mut net, BinaryCrossEntropy, xb, &tb);
        trained += BATCH as u64;
    }
    println!(
        "trained on {trained} rows in {:.1} s; scoring all {rows} rows",
        start.elapsed().as_secs_f64()
    );

    // constnet's own streaming scorer: one thread, row groups in order, batched forward.
    let start = Instant::now();
    let mut src = ParquetSource::<28>::open(&path)?.features(features())?;
    let mut y = [[0.0f32; 1]; BATCH];
    let (mut hits, mut scored) = (0u64, 0u64);
    loop {
        let n = src.read(&mut x, &mut t)?;
        if n == 0 {
            break;
        }
        if n == BATCH {
            let xb: &[[f32; 28]; BATCH] = x.as_slice().try_into()?;
            net.forward_batch(xb, &mut y);
        } else {
            for (o, row) in y.iter_mut().zip(&x[..n]) {
                *o = net.forward(row);
            }
        }
        hits += y[..n]
            .iter()
            .zip(&t[..n])
            .filter(|(o, &l)| usize::from(o[0] > 0.5) == l)
            .count() as u64;
        scored += n as u64;
    }
    let own = start.elapsed().as_secs_f64();
    println!(
        "constnet streaming scorer (1 thread): accuracy {:.4}, {scored} rows in {own:.2} s, {:.0} rows/s",
        hits as f64 / scored as f64,
        scored as f64 / own
    );

    // The same inside DataFusion, every core.
    // `enable_url_table`: a file's path in quotes is a table, as in DataFusion's CLI.
    let ctx = SessionContext::new().enable_url_table();
    ctx.register_udf(predict_udf::<Higgs, _, _>("higgs", net.clone()));
    let args = features().join(", ");
    let sql = format!(
        "SELECT count(*) AS n, sum(CASE WHEN (higgs({args}) > 0.5) = (label = 1.0) THEN 1 ELSE 0 END) AS hits FROM '{path}'"
    );
    let start = Instant::now();
    let batches = ctx.sql(&sql).await?.collect().await?;
    let secs = start.elapsed().as_secs_f64();
    let n = batches[0].column(0).as_primitive::<Int64Type>().value(0);
    let hits = batches[0].column(1).as_primitive::<Int64Type>().value(0);
    println!(
        "DataFusion SQL ({} partitions): accuracy {:.4}, {n} rows in {secs:.2} s, {:.0} rows/s ({:.2}x the streaming scorer)",
        ctx.copied_config().target_partitions(),
        hits as f64 / n as f64,
        n as f64 / secs,
        own / secs
    );
    // The scores themselves, for a look.
    let head = ctx
        .sql(&format!(
            "SELECT label, higgs({args}) AS p FROM '{path}' LIMIT 5"
        ))
        .await?
        .collect()
        .await?;
    datafusion::arrow::util::pretty::print_batches(&head)?;
    Ok(())
}
