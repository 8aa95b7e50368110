"""Writes the small Parquet and Arrow IPC files that constnet-arrow/tests/sources.rs reads, with
pyarrow, and the same rows as CSV (read by constnet's in-memory `Csv` loader for comparison).

Run: /work/venv-arrow/bin/python scripts/reference/arrow_fixtures.py (pyarrow, numpy; versions
in scripts/reference/requirements-arrow.txt). The files are checked in (constnet-arrow/tests/data,
~20 KB), so CI needs no pyarrow.

Every feature is a multiple of 1/64 in [-4, 4): exact in f32, f64 and decimal text, so every
reader must give identical bits.
"""
import pathlib

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

out = pathlib.Path(__file__).resolve().parents[2] / "constnet-arrow" / "tests" / "data"
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(14)
ROWS, N = 50, 4
x = rng.integers(-256, 256, size=(ROWS, N)) / 64.0
y = rng.integers(0, 3, size=ROWS)

with open(out / "rows.csv", "w") as f:
    f.write("label,a,b,c,d\n")
    for label, row in zip(y, x):
        f.write(f"{label}," + ",".join(repr(float(v)) for v in row) + "\n")

# Scalar columns of mixed widths, a float label, a string column to ignore, 4 row groups.
scalar = pa.table(
    {
        "id": pa.array([f"r{i}" for i in range(ROWS)]),
        "a": pa.array(x[:, 0], pa.float32()),
        "b": pa.array(x[:, 1], pa.float64()),
        "label": pa.array(y.astype(np.float64)),
        "c": pa.array(x[:, 2], pa.float32()),
        "d": pa.array(x[:, 3], pa.float64()),
    }
)
pq.write_table(scalar, out / "scalar.parquet", row_group_size=16, compression="snappy")
with ipc.new_file(out / "scalar.arrow", scalar.schema) as w:
    for b in scalar.to_batches(max_chunksize=16):
        w.write_batch(b)

# The same table in the IPC *stream* format (`.arrows`), batches of 16 rows.
with ipc.new_stream(out / "scalar.arrows", scalar.schema) as w:
    for b in scalar.to_batches(max_chunksize=16):
        w.write_batch(b)

# One FixedSizeList<float32, 4> column and an int64 label (zstd, as polars writes).
lst = pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1), pa.float32()), N)
listed = pa.table({"label": pa.array(y, pa.int64()), "features": lst})
pq.write_table(listed, out / "list.parquet", row_group_size=20, compression="zstd")
with ipc.new_file(out / "list.arrow", listed.schema) as w:
    for b in listed.to_batches(max_chunksize=20):
        w.write_batch(b)
with ipc.new_stream(out / "list.arrows", listed.schema) as w:
    for b in listed.to_batches(max_chunksize=20):
        w.write_batch(b)

# Bad values: a null feature at row 37, an infinite one at row 5, a label 0.5 at row 12.
c = x[:, 2].astype(np.float32).tolist()
c[37] = None
pq.write_table(scalar.set_column(4, "c", pa.array(c, pa.float32())), out / "null.parquet", row_group_size=16)
b = x[:, 1].copy()
b[5] = np.inf
with ipc.new_file(out / "inf.arrow", scalar.schema) as w:
    w.write_table(scalar.set_column(2, "b", pa.array(b, pa.float64())))
lab = y.astype(np.float64)
lab[12] = 0.5
pq.write_table(scalar.set_column(3, "label", pa.array(lab)), out / "badlabel.parquet")
for p in sorted(out.iterdir()):
    print(p.name, p.stat().st_size)
