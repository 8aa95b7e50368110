"""Reference values for the convolution layer tests in nn-core/src/layer/{conv2d,conv1d,depthwise}.rs.

Run with a Python that has PyTorch (generated with torch 2.15.0+cu132, CPU):
    python scripts/reference/conv_layers.py
and paste the printed Rust literals into the tests. Every tensor is a fixed affine function of its
index (`arange(n) * a + b`, folded into [-1, 1) with a sine where it would grow), easy to rebuild in
Rust. The loss is `(y * r).sum()` for a fixed `r`, so dL/dy = r. TensorFlow's 'same' padding with
stride 2 (not available in PyTorch) is emulated with an asymmetric `F.pad`: half of the padding
before, the odd one after.
"""
import math
import struct

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def vals(shape, a, b):
    """sin(arange(n) * a + b) in the given shape: deterministic, in [-1, 1], no pattern."""
    n = math.prod(shape)
    return torch.sin(torch.arange(n, dtype=torch.float64) * a + b).reshape(shape)


def f32(v):
    """The shortest decimal that reads back as the same f32 (what clippy wants in Rust)."""
    x = struct.unpack("f", struct.pack("f", float(v)))[0]
    for digits in range(1, 10):
        text = f"{x:.{digits}e}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == x:
            mantissa, exponent = text.split("e")
            return f"{mantissa}e{int(exponent)}"
    raise AssertionError(v)


def lit(t):
    """A Rust array literal of `t` (f32 precision)."""
    if t.dim() == 1:
        return "[" + ", ".join(f32(v) for v in t) + "]"
    return "[" + ", ".join(lit(s) for s in t) + "]"


def same_pads(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def case(name, conv, x_shape, w_shape, b_shape, stride, same, groups=1):
    x = vals(x_shape, 0.37, 0.1).requires_grad_()
    w = vals(w_shape, 0.71, 0.3).requires_grad_()
    b = vals(b_shape, 1.3, 0.5).requires_grad_()
    xi = x
    if same:
        dims = x_shape[2:]
        k = w_shape[2:]
        pads = []
        for n, kk in reversed(list(zip(dims, k))):
            pads += list(same_pads(n, kk, stride))
        xi = F.pad(x, pads)
    y = conv(xi, w, b, stride=stride, groups=groups)
    r = vals(tuple(y.shape), 0.53, 0.7)
    (y * r).sum().backward()
    print(f"// {name}: x {list(x_shape)}, weight {list(w_shape)}, stride {stride}, "
          f"{'same' if same else 'valid'}, output {list(y.shape)}")
    print(f"const {name}_Y: {rust_type(y.shape)} = {lit(y.detach())};")
    # Parameter gradients flat, in the layer's memory order (PyTorch's layout).
    print(f"const {name}_DW: [f32; {w.numel()}] = {lit(w.grad.reshape(-1))};")
    print(f"const {name}_DB: [f32; {b.numel()}] = {lit(b.grad)};")
    print(f"const {name}_DX: {rust_type(x.shape)} = {lit(x.grad)};")
    print()


def rust_type(shape):
    t = "f32"
    for n in reversed(list(shape)):
        t = f"[{t}; {n}]"
    return t


print(f"// torch {torch.__version__}, float64, printed as f32")
# Conv2d<2, 5, 6, 3, 3, 1, false, 3, 4>, batch 2
case("CONV2D_VALID", F.conv2d, (2, 2, 5, 6), (3, 2, 3, 3), (3,), 1, False)
# Conv2d<2, 5, 6, 3, 3, 2, true, 3, 3>, batch 2 (pads: rows 0 + 1, columns 0 + 1)
case("CONV2D_SAME_S2", F.conv2d, (2, 2, 5, 6), (3, 2, 3, 3), (3,), 2, True)
# Conv1d<2, 9, 3, 4, 2, true, 5>, batch 2
case("CONV1D_SAME_S2", F.conv1d, (2, 2, 9), (3, 2, 4), (3,), 2, True)
# Conv1d<2, 9, 3, 3, 1, false, 7>, batch 2
case("CONV1D_VALID", F.conv1d, (2, 2, 9), (3, 2, 3), (3,), 1, False)
# DepthwiseConv2d<3, 5, 6, 3, 1, true, 5, 6>, batch 2
case("DEPTHWISE_SAME", F.conv2d, (2, 3, 5, 6), (3, 1, 3, 3), (3,), 1, True, groups=3)
# DepthwiseConv2d<3, 6, 5, 2, 2, false, 3, 2>, batch 2
case("DEPTHWISE_VALID_S2", F.conv2d, (2, 3, 6, 5), (3, 1, 2, 2), (3,), 2, False, groups=3)
