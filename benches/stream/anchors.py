"""The anchors of issue 14's benchmark, on the same files as constnet (benches/stream/run.sh):

- training: pandas `read_csv` of the whole CSV, then a PyTorch `DataLoader` (batch 128, file
  order) training the same 28-128-128-1 network (ReLU, sigmoid, BCE, Adam 1e-3) for one epoch on
  the training rows (all but the last --test-rows);
- scoring: polars and DuckDB reading the Parquet file into NumPy and running the same network's
  forward pass in PyTorch (no grad, all threads), and DuckDB / polars reading alone.

Prints one `name: rows/s` line per measurement. Run with /work/venv-torch/bin/python (torch,
numpy) with a venv of scripts/reference/requirements-arrow.txt on PYTHONPATH, as run.sh does.
"""
import argparse
import time

import numpy as np
import torch

p = argparse.ArgumentParser()
p.add_argument("--csv", required=True)
p.add_argument("--parquet", required=True)
p.add_argument("--test-rows", type=int, default=500_000)
a = p.parse_args()

torch.manual_seed(1)
net = torch.nn.Sequential(
    torch.nn.Linear(28, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128), torch.nn.ReLU(), torch.nn.Linear(128, 1), torch.nn.Sigmoid()
)
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")


def report(name, rows, secs):
    print(f"{name}: {rows / secs:.0f} rows/s ({rows} rows in {secs:.2f} s)", flush=True)


import pandas as pd

t0 = time.perf_counter()
df = pd.read_csv(a.csv, header=None, dtype=np.float32)
t1 = time.perf_counter()
report("pandas read_csv", len(df), t1 - t0)
data = df.to_numpy(dtype=np.float32)
del df
train = data[: len(data) - a.test_rows]
x = torch.from_numpy(np.ascontiguousarray(train[:, 1:]))
y = torch.from_numpy(np.ascontiguousarray(train[:, :1]))
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=128, shuffle=False, drop_last=True)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
loss_fn = torch.nn.BCELoss()
t2 = time.perf_counter()
for xb, yb in loader:
    opt.zero_grad()
    loss = loss_fn(net(xb), yb)
    loss.backward()
    opt.step()
t3 = time.perf_counter()
report("torch DataLoader train epoch", len(train), t3 - t2)
report("pandas read_csv + torch train epoch", len(train), (t1 - t0) + (t3 - t2))
del data, train, x, y

cols = [f"f{j}" for j in range(28)]


def score(xs):
    with torch.no_grad():
        return net(torch.from_numpy(xs)).numpy()[:, 0]


import polars as pl

t0 = time.perf_counter()
pf = pl.read_parquet(a.parquet)
t1 = time.perf_counter()
xs = pf.select(cols).to_numpy().astype(np.float32, copy=False)
labels = pf["label"].to_numpy()
s = score(np.ascontiguousarray(xs))
t2 = time.perf_counter()
report("polars read_parquet", len(pf), t1 - t0)
report("polars read_parquet + torch forward", len(pf), t2 - t0)
del pf, xs

import duckdb

con = duckdb.connect()
t0 = time.perf_counter()
n = con.sql(f"SELECT count(*), sum({' + '.join(cols)}) FROM '{a.parquet}'").fetchall()[0][0]
t1 = time.perf_counter()
report("duckdb scan (sum of all features)", n, t1 - t0)
t0 = time.perf_counter()
res = con.sql(f"SELECT {', '.join(cols)} FROM '{a.parquet}'").fetchnumpy()
xs = np.stack([res[c] for c in cols], axis=1).astype(np.float32)
s = score(xs)
t1 = time.perf_counter()
report("duckdb fetchnumpy + torch forward", len(xs), t1 - t0)
