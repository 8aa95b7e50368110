#!/usr/bin/env python3
"""Checks safetensors and ONNX files that constnet exported, without PyTorch.

    python scripts/interop/check_exports.py DIR [--models mlp,cnn] [--tol 1e-5]

For each model NAME (default: mlp and cnn), DIR must hold:

    NAME.safetensors     loads with safetensors.numpy; every tensor float32; tensor names and shapes
                         exactly those of tests/data/interop/NAME_state_dict.json (PyTorch's state
                         dict of the same network, without BatchNorm's num_batches_tracked)
    NAME.onnx            passes onnx.checker.check_model(full_check=True); default-domain opset >= 13;
                         one graph input, named `input`, whose first dimension is symbolic (dim_param);
                         one graph output, named `output`
    NAME_io.safetensors  tensors `input` and `output`: onnxruntime (CPUExecutionProvider) on `input`
                         must give `output` within --tol (max abs diff), one sample at a time for a few
                         samples and for the whole batch at once

tests/data/interop/ (written by PyTorch, scripts/reference/interop.py) satisfies this contract itself.
Prints a short report per model; exits 1 naming every failure, 2 on bad arguments.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from safetensors.numpy import load_file

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = ROOT / "tests" / "data" / "interop"
MIN_OPSET = 13


class Check:
    """Collects the failures of one model, so that one run reports all of them."""

    def __init__(self, name):
        self.name = name
        self.failures = []

    def fail(self, msg):
        self.failures.append(msg)
        print(f"  FAIL {msg}")

    def info(self, msg):
        print(f"  {msg}")


def dims_of(value_info):
    """A graph input's or output's dimensions: dim_param strings, dim_value ints, None if neither."""
    out = []
    for d in value_info.type.tensor_type.shape.dim:
        if d.HasField("dim_param") and d.dim_param:
            out.append(d.dim_param)
        elif d.HasField("dim_value"):
            out.append(d.dim_value)
        else:
            out.append(None)
    return out


def check_state_dict(c, path, expected_path):
    if not path.is_file():
        c.fail(f"{path}: missing")
        return
    try:
        tensors = load_file(str(path))
    except Exception as e:  # noqa: BLE001 - any load error is a failure to report
        c.fail(f"{path.name}: safetensors.numpy.load_file failed: {type(e).__name__}: {e}")
        return
    expected = {k: tuple(v) for k, v in json.loads(expected_path.read_text()).items()}
    for k, v in tensors.items():
        if v.dtype != np.float32:
            c.fail(f"{path.name}: tensor {k!r} is {v.dtype}, not float32")
    missing = [k for k in expected if k not in tensors]
    unexpected = [k for k in tensors if k not in expected]
    if missing:
        c.fail(f"{path.name}: missing tensors {missing}")
    if unexpected:
        hint = " (num_batches_tracked is not part of the contract)" if any(
            k.endswith("num_batches_tracked") for k in unexpected
        ) else ""
        c.fail(f"{path.name}: unexpected tensors {unexpected}{hint}")
    for k, shape in expected.items():
        if k in tensors and tuple(tensors[k].shape) != shape:
            c.fail(f"{path.name}: tensor {k!r} has shape {list(tensors[k].shape)}, expected {list(shape)}")
    n_params = sum(v.size for v in tensors.values())
    c.info(f"{path.name}: {len(tensors)} tensors, {n_params:,} values")


def check_onnx_structure(c, path):
    """Returns True if the model is sound enough to run."""
    if not path.is_file():
        c.fail(f"{path}: missing")
        return False
    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as e:  # noqa: BLE001
        c.fail(f"{path.name}: onnx.checker.check_model(full_check=True) failed: {type(e).__name__}: {e}")
        return False
    model = onnx.load(str(path))
    g = model.graph
    opsets = {(o.domain or "ai.onnx"): o.version for o in model.opset_import}
    default = opsets.get("ai.onnx")
    if default is None:
        c.fail(f"{path.name}: no default-domain (ai.onnx) opset import: {opsets}")
    elif default < MIN_OPSET:
        c.fail(f"{path.name}: opset {default} < {MIN_OPSET}")

    inits = {t.name for t in g.initializer}
    inputs = [i for i in g.input if i.name not in inits]
    if len(inputs) != 1 or inputs[0].name != "input":
        c.fail(f"{path.name}: graph inputs {[i.name for i in inputs]}, expected exactly ['input']")
    for i in inputs:
        if i.name == "input":
            d = dims_of(i)
            if not d:
                c.fail(f"{path.name}: input 'input' has no shape (rank unknown)")
            elif not isinstance(d[0], str):
                c.fail(f"{path.name}: input 'input' has a fixed first dimension {d[0]!r} (shape {d}); "
                       "the batch dimension must be symbolic (dim_param)")
    if len(g.output) != 1 or g.output[0].name != "output":
        c.fail(f"{path.name}: graph outputs {[o.name for o in g.output]}, expected exactly ['output']")

    ops = [n.op_type for n in g.node]
    c.info(f"{path.name}: ir_version {model.ir_version}, opsets {opsets}, "
           f"input {[(i.name, dims_of(i)) for i in inputs]}, output {[(o.name, dims_of(o)) for o in g.output]}")
    c.info(f"{path.name}: {len(ops)} nodes: {' -> '.join(ops)}")
    c.info(f"{path.name}: initializers {[(t.name, list(t.dims)) for t in g.initializer]}")
    return True


def check_onnx_outputs(c, onnx_path, io_path, tol):
    if not io_path.is_file():
        c.fail(f"{io_path}: missing")
        return
    try:
        io = load_file(str(io_path))
    except Exception as e:  # noqa: BLE001
        c.fail(f"{io_path.name}: safetensors.numpy.load_file failed: {type(e).__name__}: {e}")
        return
    if set(io) != {"input", "output"}:
        c.fail(f"{io_path.name}: tensors {sorted(io)}, expected exactly ['input', 'output']")
        return
    x, y = io["input"], io["output"]
    for k, v in io.items():
        if v.dtype != np.float32:
            c.fail(f"{io_path.name}: {k!r} is {v.dtype}, not float32")
            return
    if x.ndim < 1 or y.ndim < 1 or len(x) != len(y) or len(x) == 0:
        c.fail(f"{io_path.name}: input {list(x.shape)} and output {list(y.shape)} differ in batch size or are empty")
        return
    try:
        sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001
        c.fail(f"{onnx_path.name}: onnxruntime could not load it: {type(e).__name__}: {e}")
        return
    in_name, out_name = sess.get_inputs()[0].name, sess.get_outputs()[0].name

    def run(xb, yb, what):
        try:
            got = sess.run([out_name], {in_name: xb})[0]
        except Exception as e:  # noqa: BLE001
            c.fail(f"{onnx_path.name}: onnxruntime failed on {what} (input {list(xb.shape)}): {type(e).__name__}: {e}")
            return None
        if got.shape != yb.shape:
            c.fail(f"{onnx_path.name}: {what}: output shape {list(got.shape)}, expected {list(yb.shape)}")
            return None
        d = float(np.max(np.abs(got.astype(np.float64) - yb.astype(np.float64))))
        if not d <= tol:  # also catches NaN
            c.fail(f"{onnx_path.name}: {what}: max abs diff {d:.3g} > {tol:g}")
        return d

    n = len(x)
    singles = sorted({0, 1, 2, n // 2, n - 1} & set(range(n)))
    diffs = [run(x[i : i + 1], y[i : i + 1], f"sample {i} alone (batch 1)") for i in singles]
    full = run(x, y, f"the full batch of {n}")
    shown = ", ".join("error" if d is None else f"{d:.3g}" for d in diffs)
    c.info(f"onnxruntime vs {io_path.name} (input {list(x.shape)}): batch-1 samples {singles} max abs diff "
           f"[{shown}]; full batch of {n}: {'error' if full is None else f'{full:.3g}'} (tolerance {tol:g})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", type=Path, help="directory holding NAME.safetensors, NAME.onnx, NAME_io.safetensors")
    ap.add_argument("--models", default="mlp,cnn", help="comma-separated model names (default: mlp,cnn)")
    ap.add_argument("--onnx-only", default="", help="comma-separated models whose ONNX export alone is "
                    "checked against NAME_io.safetensors (no state-dict reference), e.g. every layer kind")
    ap.add_argument("--tol", type=float, default=1e-5, help="max abs diff allowed (default: 1e-5)")
    args = ap.parse_args()
    if not args.dir.is_dir():
        ap.error(f"{args.dir}: not a directory")

    print(f"check_exports: {args.dir} against {EXPECTED.relative_to(ROOT)}/*_state_dict.json "
          f"(numpy {np.__version__}, onnx {onnx.__version__}, onnxruntime {ort.__version__})")
    failed = []
    for name in [m for m in args.models.split(",") if m]:
        expected = EXPECTED / f"{name}_state_dict.json"
        if not expected.is_file():
            ap.error(f"no reference {expected} for model {name!r}")
        print(f"{name}:")
        c = Check(name)
        check_state_dict(c, args.dir / f"{name}.safetensors", expected)
        if check_onnx_structure(c, args.dir / f"{name}.onnx"):
            check_onnx_outputs(c, args.dir / f"{name}.onnx", args.dir / f"{name}_io.safetensors", args.tol)
        print(f"  {name}: {'FAILED (' + str(len(c.failures)) + ')' if c.failures else 'ok'}")
        failed += [f"{name}: {f}" for f in c.failures]

    for name in [m for m in args.onnx_only.split(",") if m]:
        print(f"{name} (ONNX only):")
        c = Check(name)
        if check_onnx_structure(c, args.dir / f"{name}.onnx"):
            check_onnx_outputs(c, args.dir / f"{name}.onnx", args.dir / f"{name}_io.safetensors", args.tol)
        print(f"  {name}: {'FAILED (' + str(len(c.failures)) + ')' if c.failures else 'ok'}")
        failed += [f"{name}: {f}" for f in c.failures]

    if failed:
        sys.stdout.flush()
        print(f"\ncheck_exports: {len(failed)} failure(s) in {args.dir}:", file=sys.stderr)
        for f in failed:
            print(f"  {f}", file=sys.stderr)
        sys.exit(1)
    print("check_exports: all checks passed")


if __name__ == "__main__":
    main()
