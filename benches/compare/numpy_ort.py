"""NumPy and ONNX Runtime anchors on the benchmarks' cases, one thread.

NumPy trains the benchmarks' MLPs with plain SGD, written as NumPy users do (float32 matrices,
one matmul per layer and direction through its BLAS); ONNX Runtime runs the same architectures'
inference (Gemm + Relu layers, Softmax at the end, built with `onnx.helper`; ORT fuses Gemm+Relu).
Prints samples per second in the format of torch_bench.py. Run through run.sh.
"""
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def rate(step, samples, seconds=2.0):
    for _ in range(20):
        step()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        n += 1
    return n * samples / (time.perf_counter() - start)


def sgd_case(hidden, batch, lr=0.01):
    rng = np.random.default_rng(0)
    widths = [784, *hidden, 10]
    ws = [rng.uniform(-0.05, 0.05, (a, b)).astype(np.float32) for a, b in zip(widths, widths[1:])]
    bs = [np.zeros(b, np.float32) for b in widths[1:]]
    x = rng.random((batch, 784), dtype=np.float32)
    y = np.arange(batch) % 10

    def step():
        acts = [x]
        for i, (w, b) in enumerate(zip(ws, bs)):
            z = acts[-1] @ w + b
            if i + 1 < len(ws):
                np.maximum(z, 0, out=z)
            acts.append(z)
        z = acts[-1]
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        z[np.arange(batch), y] -= 1  # softmax + cross-entropy gradient
        dz = z / batch
        for i in range(len(ws) - 1, -1, -1):
            a = acts[i]
            gw = a.T @ dz
            gb = dz.sum(axis=0)
            if i > 0:
                dz = dz @ ws[i].T
                dz *= a > 0
            ws[i] -= lr * gw
            bs[i] -= lr * gb

    return rate(step, batch)


def mlp_onnx(hidden):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    widths = [784, *hidden, 10]
    nodes, inits, current = [], [], "input"
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        w = rng.uniform(-0.05, 0.05, (b, a)).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(np.zeros(b, np.float32), f"b{i}")]
        nodes.append(helper.make_node("Gemm", [current, f"w{i}", f"b{i}"], [f"z{i}"], transB=1))
        current = f"z{i}"
        if i + 2 < len(widths):
            nodes.append(helper.make_node("Relu", [current], [f"a{i}"]))
            current = f"a{i}"
    nodes.append(helper.make_node("Softmax", [current], ["output"], axis=1))
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 784])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 10])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    return model.SerializeToString()


def ort_case(hidden, batch):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(mlp_onnx(hidden), so, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((batch, 784), dtype=np.float32)
    return rate(lambda: sess.run(None, {"input": x}), batch)


print(f"numpy {np.__version__}, 1 thread")
for name, hidden, batch in [
    ("784-64-10 train b32 sgd", [64], 32),
    ("784-64-10 train b128 sgd", [64], 128),
    ("784-64-64-10 train b128 sgd", [64, 64], 128),
    ("784-512-512-10 train b128 sgd", [512, 512], 128),
]:
    print(f"{name:32} {sgd_case(hidden, batch) / 1e3:9.1f} k samples/s")
import onnxruntime  # noqa: E402

print(f"onnxruntime {onnxruntime.__version__}, 1 thread")
b1 = ort_case([64], 1)
print(f"{'784-64-10 infer b1':32} {b1 / 1e3:9.1f} k samples/s ({1e6 / b1:.1f} us)")
print(f"{'784-64-10 infer b128':32} {ort_case([64], 128) / 1e3:9.1f} k samples/s")
print(f"{'784-512-512-10 infer b128':32} {ort_case([512, 512], 128) / 1e3:9.1f} k samples/s")
