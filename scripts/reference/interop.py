#!/usr/bin/env python3
"""PyTorch reference files for constnet's safetensors and ONNX import/export tests.

Trains the two reference networks briefly on the bundled MNIST digits (data/mnist-10k/) and writes,
into tests/data/interop/:

    mlp.safetensors, cnn.safetensors    the eval state dicts (float32, contiguous, without
                                        BatchNorm's num_batches_tracked, which constnet does not store)
    mlp.onnx, cnn.onnx                  torch.onnx.export (TorchScript exporter), opset 13, input
                                        `input`, output `output`, symbolic batch dimension `batch`
    mlp_sequential.safetensors          the MLP's weights under nn.Sequential names (0.*, 2.*)
    keras_style_mlp.onnx                the same MLP written with onnx.helper the way tf2onnx writes a
                                        Keras Dense model (MatMul with a [in, out] kernel, Add, ...)
    mlp_io.safetensors, cnn_io.safetensors
                                        `input`: the first 200 test digits; `output`: torch's eval
                                        outputs for them, [200, 10]
    mlp_state_dict.json, cnn_state_dict.json
                                        state-dict names -> shapes, for scripts/interop/check_exports.py

The networks match these constnet declarations exactly:

    network! { pub struct Mlp { hidden: Dense<784, 64, Relu>, out: Dense<64, 10, Softmax> } }
    network! { #[input(1, 28, 28)] pub struct SmallCnn {
        conv1: Conv2d<8, 3, Relu>, pool1: MaxPool2d<2>, conv2: Conv2d<16, 4>, bn: BatchNorm2d,
        pool2: AvgPool2d<2>, flat: Flatten, out: Dense<400, 10, Softmax>,
    } }

Run (versions in scripts/reference/requirements-torch.txt; CPU, one thread, so the files are the same
on every run):
    /work/venv-torch/bin/python scripts/reference/interop.py
"""

import gzip
import json
import os
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper
from safetensors.torch import load_file, save_file

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "mnist-10k"
OUT = ROOT / "tests" / "data" / "interop"
OPSET = 13
N_IO = 200
EPOCHS = 2
BATCH = 32
LR = 1e-3

torch.set_num_threads(1)
torch.manual_seed(0)


# ---------------------------------------------------------------------------------------------
# Data


def read_idx(stem):
    """An IDX file (`stem` or `stem.gz`) as a uint8 numpy array of its declared shape."""
    path = DATA / stem
    raw = gzip.open(path.with_name(stem + ".gz")).read() if not path.exists() else path.read_bytes()
    magic = int.from_bytes(raw[0:4], "big")
    assert magic >> 8 == 0x08, f"{stem}: not unsigned-byte IDX (magic {magic:#010x})"
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    assert data.size == int(np.prod(dims)), f"{stem}: {data.size} bytes for dims {dims}"
    return data.reshape(dims)


def load_mnist():
    xtr = read_idx("train-images-idx3-ubyte").astype(np.float32) / 255.0
    ytr = read_idx("train-labels-idx1-ubyte").astype(np.int64)
    xte = read_idx("t10k-images-idx3-ubyte").astype(np.float32) / 255.0
    yte = read_idx("t10k-labels-idx1-ubyte").astype(np.int64)
    assert xtr.shape == (8000, 28, 28) and xte.shape == (2000, 28, 28), (xtr.shape, xte.shape)
    return torch.from_numpy(xtr), torch.from_numpy(ytr), torch.from_numpy(xte), torch.from_numpy(yte)


# ---------------------------------------------------------------------------------------------
# The two reference networks (attribute names = constnet layer names = tensor name prefixes)


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(784, 64)
        self.out = nn.Linear(64, 10)

    def logits(self, x):  # x: [N, 784]
        return self.out(F.relu(self.hidden(x)))

    def forward(self, x):
        return torch.softmax(self.logits(x), dim=-1)


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3)  # 1x28x28 -> 8x26x26 (valid, stride 1)
        self.pool1 = nn.MaxPool2d(2)  # -> 8x13x13
        self.conv2 = nn.Conv2d(8, 16, 4)  # -> 16x10x10, no activation (constnet pools need exact division)
        self.bn = nn.BatchNorm2d(16)  # eps 1e-5
        self.pool2 = nn.AvgPool2d(2)  # -> 16x5x5
        self.flat = nn.Flatten()  # -> 400
        self.out = nn.Linear(400, 10)

    def logits(self, x):  # x: [N, 1, 28, 28]
        x = self.pool1(F.relu(self.conv1(x)))
        x = self.pool2(self.bn(self.conv2(x)))
        return self.out(self.flat(x))

    def forward(self, x):
        return torch.softmax(self.logits(x), dim=-1)


def train(model, x, y):
    """EPOCHS of Adam on cross-entropy over shuffled mini-batches (train mode throughout, so batch
    norm's running statistics are updated by every batch)."""
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    gen = torch.Generator().manual_seed(1)
    model.train()
    for epoch in range(EPOCHS):
        perm = torch.randperm(len(x), generator=gen)
        total = 0.0
        for i in range(0, len(x), BATCH):
            idx = perm[i : i + BATCH]
            loss = F.cross_entropy(model.logits(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        print(f"  epoch {epoch + 1}: mean training loss {total / len(x):.4f}")
    model.eval()


def accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(dim=1) == y).float().mean().item()


# ---------------------------------------------------------------------------------------------
# Writers


def state_dict_for_constnet(model):
    """The eval state dict as constnet stores it: float32, contiguous, no num_batches_tracked."""
    return {
        k: v.detach().to(torch.float32).contiguous().clone()
        for k, v in model.state_dict().items()
        if not k.endswith("num_batches_tracked")
    }


def export_onnx(model, example, path):
    with warnings.catch_warnings():
        # dynamo=False is the legacy TorchScript exporter; torch 2.15 warns that it is deprecated.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (example,),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            do_constant_folding=False,  # keeps BatchNormalization a node of its own
            export_params=True,
        )
    m = onnx.load(str(path))
    onnx.checker.check_model(m, full_check=True)
    return m


def keras_style_mlp(sd, path):
    """The MLP as tf2onnx exports a Keras `Sequential([Dense(64, relu), Dense(10, softmax)])`:
    input `dense_input` [unk__6, 784], MatMul by a [in, out] kernel (torch's weight transposed),
    Add of the bias, Relu / Softmax, TF-style tensor names; output `dense_1`."""
    k0 = sd["hidden.weight"].numpy().T.copy()  # [784, 64]
    b0 = sd["hidden.bias"].numpy().copy()
    k1 = sd["out.weight"].numpy().T.copy()  # [64, 10]
    b1 = sd["out.bias"].numpy().copy()
    inits = [
        numpy_helper.from_array(k0, "sequential/dense/MatMul/ReadVariableOp:0"),
        numpy_helper.from_array(b0, "sequential/dense/BiasAdd/ReadVariableOp:0"),
        numpy_helper.from_array(k1, "sequential/dense_1/MatMul/ReadVariableOp:0"),
        numpy_helper.from_array(b1, "sequential/dense_1/BiasAdd/ReadVariableOp:0"),
    ]
    nodes = [
        helper.make_node(
            "MatMul",
            ["dense_input", "sequential/dense/MatMul/ReadVariableOp:0"],
            ["sequential/dense/MatMul:0"],
            name="sequential/dense/MatMul",
        ),
        helper.make_node(
            "Add",
            ["sequential/dense/MatMul:0", "sequential/dense/BiasAdd/ReadVariableOp:0"],
            ["sequential/dense/BiasAdd:0"],
            name="sequential/dense/BiasAdd",
        ),
        helper.make_node(
            "Relu", ["sequential/dense/BiasAdd:0"], ["sequential/dense/Relu:0"], name="sequential/dense/Relu"
        ),
        helper.make_node(
            "MatMul",
            ["sequential/dense/Relu:0", "sequential/dense_1/MatMul/ReadVariableOp:0"],
            ["sequential/dense_1/MatMul:0"],
            name="sequential/dense_1/MatMul",
        ),
        helper.make_node(
            "Add",
            ["sequential/dense_1/MatMul:0", "sequential/dense_1/BiasAdd/ReadVariableOp:0"],
            ["sequential/dense_1/BiasAdd:0"],
            name="sequential/dense_1/BiasAdd",
        ),
        helper.make_node(
            "Softmax", ["sequential/dense_1/BiasAdd:0"], ["dense_1"], name="sequential/dense_1/Softmax", axis=-1
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "sequential",
        [helper.make_tensor_value_info("dense_input", TensorProto.FLOAT, ["unk__6", 784])],
        [helper.make_tensor_value_info("dense_1", TensorProto.FLOAT, ["unk__7", 10])],
        initializer=inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="constnet scripts/reference/interop.py (tf2onnx-style)",
        ir_version=7,  # the IR version of opset 13, as tf2onnx writes it for that opset
    )
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))
    return model


def ort_run(path, x):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def describe(model, title):
    """Print the graph's inputs, outputs, nodes (op, inputs -> outputs, attributes) and initializers."""
    g = model.graph

    def dims(vi):
        return [d.dim_param if d.HasField("dim_param") else d.dim_value for d in vi.type.tensor_type.shape.dim]

    print(f"  {title}: ir_version {model.ir_version}, opset {[(o.domain or 'ai.onnx', o.version) for o in model.opset_import]}, producer {model.producer_name} {model.producer_version}")
    for vi in g.input:
        print(f"    input  {vi.name} {dims(vi)}")
    for vi in g.output:
        print(f"    output {vi.name} {dims(vi)}")
    for n in g.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in attrs.items()}
        print(f"    node   {n.op_type:<20} {list(n.input)} -> {list(n.output)} {attrs}")
    for t in g.initializer:
        print(f"    init   {t.name} {list(t.dims)} {TensorProto.DataType.Name(t.data_type)}")


def max_diff(a, b):
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


# ---------------------------------------------------------------------------------------------


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    xtr, ytr, xte, yte = load_mnist()
    print(f"torch {torch.__version__}, numpy {np.__version__}, onnx {onnx.__version__}, onnxruntime {ort.__version__}")
    print(f"MNIST: {len(xtr)} train, {len(xte)} test")

    nets = {
        "mlp": (Mlp(), lambda x: x.reshape(len(x), 784)),
        "cnn": (SmallCnn(), lambda x: x.reshape(len(x), 1, 28, 28)),
    }
    sds = {}
    for name, (model, shape) in nets.items():
        print(f"{name}: training {EPOCHS} epochs (Adam, lr {LR}, batch {BATCH})")
        train(model, shape(xtr), ytr)
        acc = accuracy(model, shape(xte), yte)
        print(f"{name}: test accuracy {acc * 100:.2f}% on {len(xte)} digits")

        sd = state_dict_for_constnet(model)
        sds[name] = sd
        save_file(sd, str(OUT / f"{name}.safetensors"))
        shapes = {k: list(v.shape) for k, v in sd.items()}
        (OUT / f"{name}_state_dict.json").write_text(json.dumps(shapes, indent=2) + "\n")

        x_io = shape(xte[:N_IO]).contiguous()
        with torch.no_grad():
            y_io = model(x_io).contiguous()
        save_file({"input": x_io, "output": y_io}, str(OUT / f"{name}_io.safetensors"))

        m = export_onnx(model, x_io[:1], OUT / f"{name}.onnx")
        describe(m, f"{name}.onnx")
        d = max_diff(ort_run(OUT / f"{name}.onnx", x_io.numpy()), y_io.numpy())
        print(f"  {name}.onnx: onnxruntime vs torch, max abs diff {d:.3g} over {N_IO} digits")
        assert d < 1e-5, d

        # A torch user loads the file back as it is: strict=True accepts the missing
        # num_batches_tracked, since a plain dict (no `_metadata`, as safetensors' load_file returns)
        # counts as a pre-version-2 batch-norm state, for which torch keeps the module's own counter.
        fresh = type(model)().eval()
        fresh.load_state_dict(load_file(str(OUT / f"{name}.safetensors")), strict=True)
        with torch.no_grad():
            assert torch.equal(fresh(x_io), y_io)
        if name == "cnn":
            bn = model.bn
            print(f"  bn running_mean in [{bn.running_mean.min():.3f}, {bn.running_mean.max():.3f}], "
                  f"running_var in [{bn.running_var.min():.3f}, {bn.running_var.max():.3f}], "
                  f"{int(bn.num_batches_tracked)} batches tracked (not saved)")

    # The MLP under nn.Sequential names: 0 = Linear, 1 = ReLU, 2 = Linear, 3 = Softmax.
    mlp, _ = nets["mlp"]
    seq = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10), nn.Softmax(dim=-1)).eval()
    rename = {"hidden.weight": "0.weight", "hidden.bias": "0.bias", "out.weight": "2.weight", "out.bias": "2.bias"}
    seq.load_state_dict({rename[k]: v for k, v in sds["mlp"].items()}, strict=True)
    x_mlp = xte[:N_IO].reshape(N_IO, 784)
    with torch.no_grad():
        assert torch.equal(seq(x_mlp), mlp(x_mlp))
    save_file(state_dict_for_constnet(seq), str(OUT / "mlp_sequential.safetensors"))
    print(f"mlp_sequential.safetensors: {list(seq.state_dict())}")

    # The MLP as tf2onnx would write it from Keras.
    km = keras_style_mlp(sds["mlp"], OUT / "keras_style_mlp.onnx")
    describe(km, "keras_style_mlp.onnx")
    with torch.no_grad():
        y_mlp = mlp(x_mlp).numpy()
    d = max_diff(ort_run(OUT / "keras_style_mlp.onnx", x_mlp.numpy()), y_mlp)
    print(f"  keras_style_mlp.onnx: onnxruntime vs torch, max abs diff {d:.3g} over {N_IO} digits")
    assert d < 1e-5, d

    print("files:")
    total = 0
    for p in sorted(OUT.iterdir()):
        total += p.stat().st_size
        print(f"  {p.relative_to(ROOT)}: {p.stat().st_size:,} bytes")
    print(f"  total {total:,} bytes")


if __name__ == "__main__":
    main()
