"""Trains small networks with real Keras 3 (PyTorch backend) for every optimizer and loss that
constnet has, and writes what tests/keras_parity.rs needs to repeat the same training in constnet:
the starting weights, the data, the batch order, the hyper-parameters, the loss of every step and
the final weights.

    KERAS_BACKEND=torch python scripts/reference/keras_parity.py

writes tests/data/keras/keras_parity.json (versions in requirements-keras.txt, results in
keras_parity.md). Everything is float32 on the CPU, one thread, no shuffling: step i trains on
samples [8·(i mod 8), 8·(i mod 8) + 8).
"""

import json
import os
import pathlib
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

if keras.backend.backend() != "torch":
    sys.exit(f"KERAS_BACKEND must be torch, not {keras.backend.backend()}")
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
keras.backend.set_floatx("float32")

OUT = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data" / "keras" / "keras_parity.json"

IN, HIDDEN, SAMPLES, BATCH, STEPS = 8, 16, 64, 8, 100

# Hyper-parameters, every one written out (constnet's defaults are Keras', but the test must not
# depend on that): the Rust side builds its optimizers from these numbers.
OPTIMIZERS = {
    "sgd": {"lr": 0.1},
    "momentum": {"lr": 0.05, "momentum": 0.9},
    "nesterov": {"lr": 0.05, "momentum": 0.9},
    "adam": {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-7},
    "rmsprop": {"lr": 0.01, "rho": 0.9, "epsilon": 1e-7},
    "adagrad": {"lr": 0.1, "initial_accumulator": 0.1, "epsilon": 1e-7},
    # Keras 3 adds ε under the root, sqrt(a + ε); with Keras' initial accumulator 0.1 that hardly
    # matters, from 0 it does wherever gradients are small.
    "adagrad_acc0": {"lr": 0.1, "initial_accumulator": 0.0, "epsilon": 1e-7},
}


def keras_optimizer(name):
    h = OPTIMIZERS[name]
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=h["lr"])
    if name in ("momentum", "nesterov"):
        return keras.optimizers.SGD(
            learning_rate=h["lr"], momentum=h["momentum"], nesterov=name == "nesterov"
        )
    if name == "adam":
        return keras.optimizers.Adam(
            learning_rate=h["lr"], beta_1=h["beta1"], beta_2=h["beta2"], epsilon=h["epsilon"]
        )
    if name == "rmsprop":
        return keras.optimizers.RMSprop(
            learning_rate=h["lr"], rho=h["rho"], momentum=0.0, epsilon=h["epsilon"], centered=False
        )
    if name in ("adagrad", "adagrad_acc0"):
        return keras.optimizers.Adagrad(
            learning_rate=h["lr"],
            initial_accumulator_value=h["initial_accumulator"],
            epsilon=h["epsilon"],
        )
    raise ValueError(name)


# The networks: 8-16-OUT, ReLU hidden layer, the output activation the loss goes with.
NETWORKS = {
    "softmax": (4, "softmax"),
    "sigmoid": (4, "sigmoid"),
    "sigmoid1": (1, "sigmoid"),
    "linear": (4, "linear"),
}

# (network, loss, target set): each loss with the output it is meant for, plus categorical
# cross-entropy on sigmoid outputs (Keras normalises them by their sum).
LOSSES = [
    ("linear", "mse", "regression"),
    ("linear", "mae", "regression"),
    ("linear", "huber", "regression"),
    ("sigmoid1", "bce", "binary"),
    ("softmax", "cce", "onehot"),
    ("softmax", "sparse_cce", "labels"),
    ("sigmoid", "cce", "onehot"),
]


def keras_loss(name):
    return {
        "mse": keras.losses.MeanSquaredError(),
        "mae": keras.losses.MeanAbsoluteError(),
        "huber": keras.losses.Huber(delta=1.0),
        "bce": keras.losses.BinaryCrossentropy(),
        "cce": keras.losses.CategoricalCrossentropy(),
        "sparse_cce": keras.losses.SparseCategoricalCrossentropy(),
    }[name]


rng = np.random.default_rng(13)
x = rng.uniform(-1.0, 1.0, (SAMPLES, IN)).astype(np.float32)
# Targets that depend on x, so that the networks learn something in 100 steps. The regression
# targets reach ±2: Huber's residuals start on both sides of its threshold 1.
mix = rng.normal(size=(IN, 4)).astype(np.float32)
regression = (2.0 * np.sin(x @ mix)).astype(np.float32)
labels = np.argmax(x @ rng.normal(size=(IN, 4)), axis=1).astype(np.int64)
onehot = np.eye(4, dtype=np.float32)[labels]
binary = ((x[:, 0] * x[:, 1] + x[:, 2]) > 0).astype(np.float32)[:, None]
TARGETS = {"regression": regression, "labels": labels, "onehot": onehot, "binary": binary}


def glorot(fan_in, fan_out):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)


# Starting weights per network, Keras layout: kernel [in, out], bias [out]. Non-zero biases so
# that their updates are compared from a non-trivial start too.
INITIAL = {
    name: [
        (glorot(IN, HIDDEN), rng.uniform(-0.1, 0.1, HIDDEN).astype(np.float32)),
        (glorot(HIDDEN, out), rng.uniform(-0.1, 0.1, out).astype(np.float32)),
    ]
    for name, (out, _) in NETWORKS.items()
}


def flat(layers):
    """constnet's flat parameter order: per layer the weight rows [out][in] (Keras' kernel
    transposed), then the bias."""
    parts = []
    for kernel, bias in layers:
        parts += [np.asarray(kernel, np.float32).T.ravel(), np.asarray(bias, np.float32)]
    return np.concatenate(parts)


def f32s(a):
    # Shortest decimal that reads back as the same float32 (str of np.float32), as a JSON number.
    return [float(str(v)) for v in np.asarray(a, np.float32).ravel()]


def train(network, loss, targets, optimizer):
    out, activation = NETWORKS[network]
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((IN,)),
            keras.layers.Dense(HIDDEN, activation="relu"),
            keras.layers.Dense(out, activation=activation),
        ]
    )
    for layer, (kernel, bias) in zip(model.layers, INITIAL[network]):
        layer.set_weights([kernel, bias])
    model.compile(optimizer=keras_optimizer(optimizer), loss=keras_loss(loss))
    t = TARGETS[targets]
    losses = []
    for step in range(STEPS):
        batch = slice((step % (SAMPLES // BATCH)) * BATCH, (step % (SAMPLES // BATCH)) * BATCH + BATCH)
        # One optimizer step on exactly this batch; the loss returned is the batch's mean loss
        # before the update (train_on_batch resets the loss tracker first).
        losses.append(model.train_on_batch(x[batch], t[batch]))
    final = [(layer.get_weights()[0], layer.get_weights()[1]) for layer in model.layers]
    return losses, flat(final)


def main():
    cases = []
    for network, loss, targets in LOSSES:
        for optimizer in OPTIMIZERS:
            losses, final = train(network, loss, targets, optimizer)
            cases.append(
                {
                    "network": network,
                    "loss": loss,
                    "targets": targets,
                    "optimizer": optimizer,
                    "losses": f32s(losses),
                    "final": f32s(final),
                }
            )
            print(f"{network:8} {loss:10} {optimizer:12} loss {losses[0]:.6f} -> {losses[-1]:.6f}")
    data = {
        "generator": "scripts/reference/keras_parity.py",
        "keras": keras.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "backend": keras.backend.backend(),
        "steps": STEPS,
        "batch": BATCH,
        "layout": "per layer: weight rows [out][in] (Keras' kernel transposed), then bias",
        "x": [f32s(row) for row in x],
        "targets": {
            "regression": [f32s(row) for row in regression],
            "labels": labels.tolist(),
            "onehot": [f32s(row) for row in onehot],
            "binary": [f32s(row) for row in binary],
        },
        "optimizers": OPTIMIZERS,
        "initial": {name: f32s(flat(layers)) for name, layers in INITIAL.items()},
        "cases": cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(cases)} cases)")


if __name__ == "__main__":
    main()
