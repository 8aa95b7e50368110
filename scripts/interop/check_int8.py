#!/usr/bin/env python3
"""Checks constnet's int8 MNIST networks (the MLP and the CNN) against onnxruntime, an
independent implementation.

    python scripts/interop/check_int8.py DIR

DIR holds what `cargo test -p constnet-tests --test quant int8_exports_for_the_python_check` writes with
CONSTNET_EXPORT_DIR=DIR:

    NAME.onnx              QuantizeLinear/DequantizeLinear form: passes onnx.checker (full_check),
                           opset >= 13, input `input`, outputs `output`, `logits`
    NAME.safetensors       the stored tensors: weights int8, biases int32, scales float32, zero
                           points int8 (read by safetensors.numpy)
    NAME_io.safetensors    `input` (200 test digits), constnet's dequantised int8 outputs `logits`,
                           its probabilities `output`, and `output_scale`

for NAME = mnist_int8 (784-64-10), cnn_int8 (the bundled CNN: Conv, MaxPool, Flatten) and
mobile_int8 (Conv, depthwise Conv with stride 2 and 'same' padding, AveragePool; random inputs).

Tolerance: one step, except mobile_int8's two: ONNX's QuantizeLinear rounds ties to even where
TFLite's (and constnet's) average pooling rounds them away from zero, and a 2×2 average is a tie
whenever the sum of its four codes is 2 mod 4, so a pooled code may differ by one, which the next
layer can turn into up to two output steps. Class agreement is required wherever the two largest
outputs are further apart than twice the tolerance.

onnxruntime (CPUExecutionProvider, all graph optimisations: it fuses the Q/DQ pattern into its own
integer kernels where it can, otherwise runs it in float) must give `logits` within one
quantisation step of constnet's on every value, and the same predicted class on every digit
but those whose two largest outputs are within a step. Exits 1 naming each failure.
"""

import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from safetensors.numpy import load_file


WANT = {
    "mnist_int8": {
        "hidden.weight": (np.int8, (64, 784)),
        "hidden.bias": (np.int32, (64,)),
        "hidden.weight_scale": (np.float32, (64,)),
        "out.weight": (np.int8, (10, 64)),
        "input.zero_point": (np.int8, ()),
        "out.output_zero_point": (np.int8, ()),
    },
    "cnn_int8": {
        "c1.weight": (np.int8, (16, 1, 5, 5)),
        "c1.bias": (np.int32, (16,)),
        "c2.weight": (np.int8, (32, 16, 3, 3)),
        "c2.weight_scale": (np.float32, (32,)),
        "out.weight": (np.int8, (10, 800)),
        "out.output_zero_point": (np.int8, ()),
    },
    "mobile_int8": {
        "c.weight": (np.int8, (4, 3, 3, 3)),
        "dw.weight": (np.int8, (4, 1, 3, 3)),
        "dw.bias": (np.int32, (4,)),
        "out.weight": (np.int8, (3, 16)),
    },
}


STEPS = {"mnist_int8": 1, "cnn_int8": 1, "mobile_int8": 2}


def check(d, name, failures):
    tol = STEPS[name]
    print(f"== {name}")
    model = onnx.load(d / f"{name}.onnx")
    onnx.checker.check_model(model, full_check=True)
    opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    if opset < 13:
        failures.append(f"{name}: opset {opset} < 13")
    ops = sorted({n.op_type for n in model.graph.node})
    print(f"onnx: opset {opset}, ops {ops}")

    stored = load_file(d / f"{name}.safetensors")
    for tensor, (dtype, shape) in WANT[name].items():
        t = stored.get(tensor)
        if t is None or t.dtype != dtype or t.shape != shape:
            got = None if t is None else (t.dtype, t.shape)
            failures.append(f"{name}.safetensors {tensor}: {got}, expected {(np.dtype(dtype), shape)}")
    for tensor, t in stored.items():
        if tensor.endswith(".weight") and t.min() < -127:
            failures.append(f"{name}: {tensor} holds -128")

    io = load_file(d / f"{name}_io.safetensors")
    x, logits, probs, step = io["input"], io["logits"], io["output"], float(io["output_scale"])
    n = len(x)
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    out, ort_logits = sess.run(["output", "logits"], {"input": x})
    diff = np.abs(ort_logits - logits) / step
    steps = np.round(diff).astype(int)
    print(
        f"onnxruntime {ort.__version__}: logits differ by at most {diff.max():.3f} steps "
        f"(step {step:.6f}); {np.count_nonzero(steps)} of {steps.size} values differ"
    )
    if diff.max() > tol + 1e-3:
        failures.append(f"{name}: logits differ by {diff.max():.3f} quantisation steps (> {tol})")
    pdiff = np.abs(out - probs).max()
    print(f"probabilities: max difference {pdiff:.2e}")
    ours, theirs = logits.argmax(1), ort_logits.argmax(1)
    top2 = np.sort(logits, 1)[:, -2:]
    # Each of the two largest may move by the tolerance: the gap by twice it.
    close = (top2[:, 1] - top2[:, 0]) <= step * (2 * tol + 0.001)
    disagree = np.flatnonzero((ours != theirs) & ~close)
    print(f"classes: {np.count_nonzero(ours == theirs)} of {n} agree")
    if len(disagree):
        failures.append(f"{name}: classes differ on digits {disagree.tolist()}")


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    d = Path(sys.argv[1])
    failures = []
    for name in WANT:
        check(d, name, failures)
    for f in failures:
        print(f"FAIL {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
