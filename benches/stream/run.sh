#!/usr/bin/env bash
# Issue 14's throughput and memory benchmark, in one run on the same files: constnet's higgs
# example (CSV and Parquet), ParquetSource's reading speed, the DataFusion UDF against constnet's
# streaming scorer, and the Python anchors (pandas + PyTorch DataLoader; polars, DuckDB).
# Not in CI (multi-GB files). Usage: benches/stream/run.sh [ROWS] [DIR]  (default 3000000, target/stream)
# TEST_ROWS (default 500000, HIGGS' convention) are held out at the end; EPOCHS default 2.
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=${1:-3000000}
dir=${2:-target/stream}
# PyTorch from its venv, pandas/polars/DuckDB from a venv made from
# scripts/reference/requirements-arrow.txt (same Python), on its path.
py=${PYTHON:-/work/venv-torch/bin/python}
export PYTHONPATH=${ANCHOR_SITE:-/work/venv-arrow/lib/python3.11/site-packages}
mkdir -p "$dir"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), $(nproc) cores"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
cargo build --release -q -p constnet-arrow --example higgs --example parquet_read
# DataFusion's release build is long (~10 min on 2 cores): SQL=0 leaves the UDF part out.
[ "${SQL:-1}" = 0 ] || cargo build --release -q -p constnet-datafusion --example higgs_sql
bin=target/release/examples
[ -f "$dir/higgs-$rows.csv" ] || $bin/higgs --make-synthetic "$dir/higgs-$rows.csv" --rows "$rows"
[ -f "$dir/higgs-$rows.parquet" ] || $bin/higgs --make-synthetic "$dir/higgs-$rows.parquet" --rows "$rows"
ls -l "$dir/higgs-$rows.csv" "$dir/higgs-$rows.parquet"
flags=(--epochs "${EPOCHS:-2}" --test-rows "${TEST_ROWS:-500000}")
echo "== constnet higgs, Parquet"; $bin/higgs --parquet "$dir/higgs-$rows.parquet" "${flags[@]}"
echo "== constnet higgs, CSV"; $bin/higgs --csv "$dir/higgs-$rows.csv" "${flags[@]}"
echo "== ParquetSource reading"; $bin/parquet_read "$dir/higgs-$rows.parquet"
[ "${SQL:-1}" = 0 ] || { echo "== DataFusion UDF vs streaming scorer"; $bin/higgs_sql "$dir/higgs-$rows.parquet"; }
echo "== anchors"; $py benches/stream/anchors.py --csv "$dir/higgs-$rows.csv" --parquet "$dir/higgs-$rows.parquet" --test-rows "${TEST_ROWS:-500000}"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
