"""PyTorch CPU, one thread, doing the bundled MNIST job of examples/mnist.rs: 784-64-10 (ReLU,
softmax with cross-entropy), Adam lr 0.002 (eps 1e-7, Keras' default, as constnet's), batch 32,
10 epochs over the 8,000 bundled digits, shuffled each epoch, then the test accuracy on the 2,000
held out. Prints the time of each epoch and the samples per second of the whole job, as the
example does. Run through mnist_job.sh, which runs constnet's example in the same go.
"""
import gzip
import os
import time

import numpy as np
import torch

torch.set_num_threads(1)
torch.manual_seed(1)
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def idx(name):
    with gzip.open(os.path.join(ROOT, "data", "mnist-10k", name)) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


x = torch.tensor(idx("train-images-idx3-ubyte.gz").reshape(-1, 784) / 255, dtype=torch.float32)
y = torch.tensor(idx("train-labels-idx1-ubyte.gz"), dtype=torch.long)
xt = torch.tensor(idx("t10k-images-idx3-ubyte.gz").reshape(-1, 784) / 255, dtype=torch.float32)
yt = torch.tensor(idx("t10k-labels-idx1-ubyte.gz"), dtype=torch.long)

model = torch.nn.Sequential(torch.nn.Linear(784, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
opt = torch.optim.Adam(model.parameters(), lr=0.002, eps=1e-7)
n = len(x) // 32 * 32
start = time.perf_counter()
for epoch in range(10):
    t = time.perf_counter()
    for i in torch.randperm(len(x))[:n].split(32):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x[i]), y[i]).backward()
        opt.step()
    print(f"torch epoch {epoch + 1}/10 ({(time.perf_counter() - t) * 1e3:.1f} ms)")
elapsed = time.perf_counter() - start
with torch.no_grad():
    acc = (model(xt).argmax(1) == yt).float().mean().item()
print(f"torch mnist job 10 epochs {elapsed:.2f} s ({10 * n / elapsed:.0f} samples/s), "
      f"test accuracy {100 * acc:.2f} %")
