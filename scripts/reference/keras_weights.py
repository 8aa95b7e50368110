"""Trains small networks with real Keras 3 (PyTorch backend) using `class_weight` and
`sample_weight` in `model.fit`, and writes what tests/keras_weights.rs needs to repeat the same
training with constnet's `Fit::class_weight` / `Fit::sample_weight`: the starting weights, the
data, the weights, the loss of every epoch and the final weights.

    KERAS_BACKEND=torch python scripts/reference/keras_weights.py

writes tests/data/keras/keras_weights.json (versions in requirements-keras.txt). Float32 on the
CPU, one thread, no shuffling, 64 samples in batches of 8 (no partial batch), 5 epochs = 40 steps.
Keras' default reduction, "sum_over_batch_size", divides the weighted batch loss by the number of
samples, not by the sum of the weights.
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

OUT = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data" / "keras" / "keras_weights.json"

IN, HIDDEN, SAMPLES, BATCH, EPOCHS = 4, 8, 64, 8, 5
rng = np.random.default_rng(13)

x = rng.normal(size=(SAMPLES, IN)).astype(np.float32)
# Three classes of unequal size (about 60 %, 25 %, 15 %), so class weights matter.
score = x @ rng.normal(size=(IN,)).astype(np.float32)
labels = np.digitize(score, np.quantile(score, [0.6, 0.85])).astype(np.int64)
binary = (labels == 2).astype(np.float32)[:, None]
# Sample weights in [0, 2), a few exactly 0.
sample_weight = rng.uniform(0.0, 2.0, SAMPLES).astype(np.float32)
sample_weight[::9] = 0.0


def glorot(fan_in, fan_out):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)


def initial(out):
    return [
        (glorot(IN, HIDDEN), rng.uniform(-0.1, 0.1, HIDDEN).astype(np.float32)),
        (glorot(HIDDEN, out), rng.uniform(-0.1, 0.1, out).astype(np.float32)),
    ]


def flat(layers):
    """constnet's flat order: per layer the weight rows [out][in] (the kernel transposed), then
    the bias."""
    parts = []
    for kernel, bias in layers:
        parts += [np.asarray(kernel, np.float32).T.ravel(), np.asarray(bias, np.float32)]
    return np.concatenate(parts)


def f32s(a):
    return [float(str(v)) for v in np.asarray(a, np.float32).ravel()]


CASES = {
    # name: (outputs, activation, loss, optimizer, targets, class_weight, sample_weight)
    "softmax_class_weight_adam": (
        3, "softmax", "sparse_categorical_crossentropy", ("adam", 0.01), labels,
        {0: 1.0, 1: 3.0, 2: 0.25}, None,
    ),
    "softmax_sample_weight_momentum": (
        3, "softmax", "sparse_categorical_crossentropy", ("momentum", 0.05), labels,
        None, sample_weight,
    ),
    "sigmoid_class_weight_adam": (
        1, "sigmoid", "binary_crossentropy", ("adam", 0.01), binary, {0: 1.0, 1: 4.0}, None,
    ),
    # With validation_split=0.25: Keras trains on the first 48 samples and validates on the last
    # 16 with their sample weights (val_loss weighted, divided by 16).
    "softmax_sample_weight_validation_split_adam": (
        3, "softmax", "sparse_categorical_crossentropy", ("adam", 0.01), labels,
        None, sample_weight,
    ),
}
VALIDATION_SPLIT = {"softmax_sample_weight_validation_split_adam": 0.25}


def optimizer(kind, lr):
    if kind == "adam":
        return keras.optimizers.Adam(learning_rate=lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
    return keras.optimizers.SGD(learning_rate=lr, momentum=0.9)


def main():
    cases = {}
    for name, (out, activation, loss, (kind, lr), y, cw, sw) in CASES.items():
        start = initial(out)
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((IN,)),
                keras.layers.Dense(HIDDEN, activation="tanh"),
                keras.layers.Dense(out, activation=activation),
            ]
        )
        for layer, (kernel, bias) in zip(model.layers, start):
            layer.set_weights([kernel, bias])
        model.compile(optimizer=optimizer(kind, lr), loss=loss)
        split = VALIDATION_SPLIT.get(name, 0.0)
        history = model.fit(
            x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0,
            class_weight=cw, sample_weight=sw, validation_split=split,
        )
        final = [(layer.get_weights()[0], layer.get_weights()[1]) for layer in model.layers]
        cases[name] = {
            "outputs": out,
            "optimizer": kind,
            "lr": lr,
            "class_weight": None if cw is None else [[k, v] for k, v in cw.items()],
            "sample_weight": None if sw is None else f32s(sw),
            "initial": f32s(flat(start)),
            "final": f32s(flat(final)),
            "epoch_loss": f32s(history.history["loss"]),
            "validation_split": split,
            "epoch_val_loss": f32s(history.history.get("val_loss", [])),
        }
        print(f"{name}: epoch losses {history.history['loss']}")
    data = {
        "keras": keras.__version__,
        "torch": torch.__version__,
        "batch": BATCH,
        "epochs": EPOCHS,
        "x": f32s(x),
        "labels": [int(v) for v in labels],
        "cases": cases,
    }
    OUT.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
