"""TFLite and ONNX Runtime int8 on the MNIST MLP, one thread: one-sample latency and batch-128
throughput. Run through int8.sh, which makes the float weights, constnet's ONNX export and the
virtualenv.

    python int8.py OUT_DIR MNIST_DIR
"""
import gzip
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import tensorflow as tf  # noqa: E402
from ai_edge_litert.interpreter import Interpreter  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402


def idx(path):
    with gzip.open(path) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def best_of(f, reps, rounds=15):
    for _ in range(reps // 10):
        f()
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(reps):
            f()
        best = min(best, (time.perf_counter() - t) / reps)
    return best


def main():
    out, mnist = Path(sys.argv[1]), Path(sys.argv[2])
    train = idx(mnist / "train-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255
    test = idx(mnist / "t10k-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255
    labels = idx(mnist / "t10k-labels-idx1-ubyte.gz")

    w = load_file(out / "mnist.safetensors")
    model = tf.keras.Sequential([
        tf.keras.Input((784,)),
        tf.keras.layers.Dense(64, activation="relu"),
        tf.keras.layers.Dense(10, activation="softmax"),
    ])
    model.layers[0].set_weights([w["hidden.weight"].T, w["hidden.bias"]])
    model.layers[1].set_weights([w["out.weight"].T, w["out.bias"]])

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([x[None]] for x in train[:500])
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    tflite = conv.convert()
    (out / "mnist_int8.tflite").write_bytes(tflite)

    rows = []
    for batch in (1, 128):
        it = Interpreter(model_content=tflite, num_threads=1)
        inp, outp = it.get_input_details()[0], it.get_output_details()[0]
        it.resize_tensor_input(inp["index"], [batch, 784])
        it.allocate_tensors()
        scale, zp = inp["quantization"]
        xq = np.clip(np.round(test[:batch] / scale) + zp, -128, 127).astype(np.int8)
        it.set_tensor(inp["index"], xq)
        t = best_of(it.invoke, 20_000 if batch == 1 else 200)
        rows.append((f"TFLite int8 (ai-edge-litert), batch {batch}", t, batch))
        if batch == 1:
            correct = 0
            for x, y in zip(test, labels):
                q = np.clip(np.round(x / scale) + zp, -128, 127).astype(np.int8)[None]
                it.set_tensor(inp["index"], q)
                it.invoke()
                correct += int(it.get_tensor(outp["index"]).argmax() == y)
            tflite_acc = correct / len(labels)

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(str(out / "mnist_int8.onnx"), opts, providers=["CPUExecutionProvider"])
    for batch in (1, 128):
        x = test[:batch]
        t = best_of(lambda: sess.run(["logits"], {"input": x}), 20_000 if batch == 1 else 200)
        rows.append((f"ONNX Runtime {ort.__version__} int8 QDQ, batch {batch}", t, batch))
    ort_acc = float((sess.run(["logits"], {"input": test})[0].argmax(1) == labels).mean())

    print(f"TFLite int8 test accuracy {100 * tflite_acc:.2f} %, ORT (constnet's QDQ) {100 * ort_acc:.2f} %")
    for name, t, batch in rows:
        if batch == 1:
            print(f"{name:<45} {t * 1e6:9.3f} µs")
        else:
            print(f"{name:<45} {t * 1e6:9.2f} µs  {batch / t / 1e6:6.2f} M samples/s")


if __name__ == "__main__":
    main()
