//! Reading speed of `ParquetSource`: every row of a file into a 64 K-row buffer, one thread.
//!
//! ```text
//! cargo run --release --example parquet_read -- higgs.parquet
//! ```

use std::time::Instant;

use constnet_arrow::ParquetSource;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: parquet_read FILE.parquet")?;
    let features: Vec<String> = (0..28).map(|j| format!("f{j}")).collect();
    let mut x = vec![[0.0f32; 28]; 65_536];
    let mut t = vec![0usize; 65_536];
    for pass in 1..=3 {
        let mut src = ParquetSource::<28>::open(&path)?.features(&features)?;
        let start = Instant::now();
        let (mut rows, mut sum) = (0u64, 0.0f64);
        loop {
            let n = src.read(&mut x, &mut t)?;
            if n == 0 {
                break;
            }
            rows += n as u64;
            // Touch what was read, so that nothing can be skipped.
            sum += f64::from(x[n - 1][27]) + t[n - 1] as f64;
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "pass {pass}: {rows} rows in {secs:.3} s, {:.2} M rows/s (checksum {sum:.3})",
            rows as f64 / secs / 1e6
        );
    }
    Ok(())
}
