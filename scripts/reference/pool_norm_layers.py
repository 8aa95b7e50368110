#!/usr/bin/env python3
"""PyTorch reference values for the tests of nn-core's pool, flatten and batch-norm layers.

Generated with torch 2.15.0+cu132 (CPU), numpy 2.4.6:
    /work/venv-torch/bin/python scripts/reference/pool_norm_layers.py

Inputs and loss weights are dyadic fractions (k / 8, k / 16) built from index formulas, so the
Rust tests rebuild them bit for bit without literals; only the results are pasted, as printed
here. The loss of every case is `(y * r).sum()`, so the printed input gradient is dL/dx for
dL/dy = r.
"""

import numpy as np
import torch

torch.manual_seed(0)
torch.set_default_dtype(torch.float32)


def lit(t):
    """A tensor as a (nested) Rust array literal of f32s, shortest round-tripping form."""
    return lit_np(t.detach().cpu().numpy())


def lit_np(a):
    if a.ndim == 0:
        return str(np.float32(a))
    return "[" + ", ".join(lit_np(s) for s in a) + "]"


def pattern(shape, mul, mod, sub, div):
    """x[i] = ((i * mul) % mod - sub) / div over the flat index i (Rust: `pattern` in the tests)."""
    n = int(np.prod(shape))
    i = torch.arange(n, dtype=torch.int64)
    return (((i * mul) % mod - sub).to(torch.float32) / div).reshape(shape)


def show(name, t):
    print(f"// {name}: shape {list(t.shape)}")
    print(f"{lit(t)}")


def run(name, module, x, r):
    x = x.clone().requires_grad_(True)
    y = module(x)
    (y * r).sum().backward()
    show(f"{name} y", y)
    show(f"{name} dx", x.grad)
    return y


print(f"// torch {torch.__version__}")

# Pools: x[2, 2, 4, 6] with distinct values (37 is coprime with 96), window 2.
x2 = pattern((2, 2, 4, 6), 37, 96, 48, 8)
r2 = pattern((2, 2, 2, 3), 13, 24, 12, 4)
run("MaxPool2d(2)", torch.nn.MaxPool2d(2), x2, r2)
run("AvgPool2d(2)", torch.nn.AvgPool2d(2), x2, r2)

# Ties: which element of the window receives the gradient?
tie = torch.tensor([[[[1.0, 3.0], [3.0, 0.0]]]])
run("MaxPool2d(2) tie", torch.nn.MaxPool2d(2), tie, torch.ones(1, 1, 1, 1))
tie1 = torch.tensor([[[2.0, 2.0, 5.0, 5.0]]])
run("MaxPool1d(2) tie", torch.nn.MaxPool1d(2), tie1, torch.ones(1, 1, 2))

# 1-d pools: x[2, 3, 6], window 3.
x1 = pattern((2, 3, 6), 11, 36, 18, 8)
r1 = pattern((2, 3, 2), 5, 12, 6, 4)
run("MaxPool1d(3)", torch.nn.MaxPool1d(3), x1, r1)
run("AvgPool1d(3)", torch.nn.AvgPool1d(3), x1, r1)

# Global average pools, then flatten to [B, C] as GlobalAvgPool*d does.
rg = pattern((2, 2), 3, 4, 2, 4)
run("AdaptiveAvgPool2d(1)+Flatten", torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()), x2, rg)
rg1 = pattern((2, 3), 5, 6, 3, 4)
run("AdaptiveAvgPool1d(1)+Flatten", torch.nn.Sequential(torch.nn.AdaptiveAvgPool1d(1), torch.nn.Flatten()), x1, rg1)

# Flatten is a reshape: y is x row-major, dx is r reshaped. Printed to show the order.
xf = pattern((2, 2, 2, 3), 5, 24, 12, 8)
rf = pattern((2, 12), 7, 24, 12, 16)
run("Flatten", torch.nn.Flatten(), xf, rf)


def batch_norm(name, module, x, r, weight, bias):
    with torch.no_grad():
        module.weight.copy_(torch.tensor(weight))
        module.bias.copy_(torch.tensor(bias))
    module.train()
    xg = x.clone().requires_grad_(True)
    y = module(xg)
    (y * r).sum().backward()
    show(f"{name} train y", y)
    show(f"{name} train dx", xg.grad)
    show(f"{name} d_weight", module.weight.grad)
    show(f"{name} d_bias", module.bias.grad)
    show(f"{name} running_mean after one step", module.running_mean)
    show(f"{name} running_var after one step", module.running_var)
    module.eval()
    with torch.no_grad():
        show(f"{name} eval y (running stats after the step)", module(x))


# BatchNorm2d: x[3, 2, 2, 3] (batch 3, 2 channels, 2×3 pixels).
xb = pattern((3, 2, 2, 3), 7, 36, 10, 8)
rb = pattern((3, 2, 2, 3), 11, 36, 18, 16)
batch_norm("BatchNorm2d(2)", torch.nn.BatchNorm2d(2), xb, rb, [1.5, -0.5], [0.25, -1.0])

# BatchNorm1d on [B, C, L]: x[2, 3, 4].
xb1 = pattern((2, 3, 4), 5, 24, 8, 8)
rb1 = pattern((2, 3, 4), 7, 24, 12, 16)
batch_norm("BatchNorm1d(3) on [B, C, L]", torch.nn.BatchNorm1d(3), xb1, rb1, [0.5, 2.0, -1.0], [0.0, 0.5, 1.0])

# BatchNorm1d on [B, N] (BatchNormDense): x[4, 3].
xd = pattern((4, 3), 5, 12, 4, 8)
rd = pattern((4, 3), 7, 11, 5, 16)
batch_norm("BatchNorm1d(3) on [B, N]", torch.nn.BatchNorm1d(3), xd, rd, [1.0, -2.0, 0.75], [0.5, 0.0, -0.25])
