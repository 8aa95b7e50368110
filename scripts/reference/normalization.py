"""Keras 3 reference values for constnet's `Normalization` layer (tests/normalization.rs).

    KERAS_BACKEND=torch /work/venv-keras/bin/python scripts/reference/normalization.py

(versions in requirements-keras.txt: keras 3.15.1 on torch 2.15.0, numpy 2.4.6). Prints Rust
literals: the adapt data, the mean and variance Keras' `adapt` stores, the layer's outputs on test
samples and the input gradient of `(y * r).sum()`. Four features of different kinds: a large
offset (~100), a tiny spread (~0.01), a constant (variance 0: Keras floors √var at 1e-7), and a
negative mean.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

if keras.backend.backend() != "torch":
    sys.exit(f"KERAS_BACKEND must be torch, not {keras.backend.backend()}")
keras.backend.set_floatx("float32")


def lit(a):
    """An array as a (nested) Rust array literal of f32s, shortest round-tripping form."""
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == 0:
        s = str(np.float32(a))
        return s if any(c in s for c in ".en") else s + ".0"
    return "[" + ", ".join(lit(s) for s in a) + "]"


rng = np.random.default_rng(13)
SAMPLES = 24
data = np.stack(
    [
        rng.normal(100.0, 15.0, SAMPLES),
        rng.normal(0.0, 0.01, SAMPLES),
        np.full(SAMPLES, 3.5),
        rng.normal(-5.0, 2.0, SAMPLES),
    ],
    axis=1,
).astype(np.float32)

layer = keras.layers.Normalization()  # axis=-1: one mean and variance per feature
layer.adapt(data)
mean, variance = (np.asarray(w) for w in layer.get_weights()[:2])

x = np.array(
    [
        [112.5, 0.0125, 3.5, -4.0],
        [80.25, -0.02, 3.75, -9.5],
        [100.0, 0.0, 3.5, 0.5],
    ],
    dtype=np.float32,
)
r = np.array(
    [[1.0, -0.5, 0.25, 2.0], [-1.5, 0.75, 1.0, -0.25], [0.5, 1.25, -2.0, 1.0]],
    dtype=np.float32,
)
xt = torch.tensor(x, requires_grad=True)
y = layer(xt)
(y * torch.tensor(r)).sum().backward()

print(f"// keras {keras.__version__}, torch {torch.__version__}, numpy {np.__version__}")
print(f"const DATA: [[f32; 4]; {SAMPLES}] = {lit(data)};")
print(f"const KERAS_MEAN: [f32; 4] = {lit(mean)};")
print(f"const KERAS_VARIANCE: [f32; 4] = {lit(variance)};")
print(f"const X: [[f32; 4]; 3] = {lit(x)};")
print(f"const R: [[f32; 4]; 3] = {lit(r)};")
print(f"const KERAS_Y: [[f32; 4]; 3] = {lit(y.detach().numpy())};")
print(f"const KERAS_DX: [[f32; 4]; 3] = {lit(xt.grad.numpy())};")
