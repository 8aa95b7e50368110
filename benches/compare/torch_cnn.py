"""PyTorch CPU, one thread, on the CNNs of benches/cnn.rs: the LeNet of the layer-contract issue and
the network of examples/mnist_cnn.rs.

Prints (1) training steps per second at batch 32 with Adam on a fixed batch, for both networks, and
(2) the example's whole job: 10 epochs over the bundled 8,000 digits, shuffled, batch 32, Adam
lr 0.004 with cosine decay to 0, then the test accuracy on the 2,000 held out. Run through cnn.sh,
which runs constnet's side in the same go and prints the ratios.
"""
import gzip
import os
import sys
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


def lenet():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Dropout(0.25), torch.nn.Linear(256, 10),
    )


def cnn():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Dropout(0.5), torch.nn.Linear(800, 10),
    )


def step_rate(make, seconds=3.0):
    model = make()
    opt = torch.optim.Adam(model.parameters(), lr=0.002, eps=1e-7)
    x = torch.rand(32, 1, 28, 28)
    y = torch.arange(32) % 10

    def step():
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(20):
        step()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        n += 1
    return n * 32 / (time.perf_counter() - start)


def job(epochs=10):
    images = idx("train-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    labels = idx("train-labels-idx1-ubyte.gz").astype(np.int64)
    x = torch.from_numpy(images[:8000]).reshape(-1, 1, 28, 28)
    y = torch.from_numpy(labels[:8000])
    test_x = torch.from_numpy(idx("t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    test_y = torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
    model = cnn()
    opt = torch.optim.Adam(model.parameters(), lr=0.004, eps=1e-7)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * (len(x) // 32))
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x))
        for b in range(len(x) // 32):
            i = order[b * 32:(b + 1) * 32]
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(x[i]), y[i]).backward()
            opt.step()
            schedule.step()
    seconds = time.perf_counter() - start
    model.eval()
    with torch.inference_mode():
        accuracy = (model(test_x).argmax(1) == test_y).float().mean().item()
    return seconds, epochs * (len(x) // 32) * 32 / seconds, accuracy


print(f"torch {torch.__version__}, 1 thread")
for name, make in [("lenet", lenet), ("cnn", cnn)]:
    r = step_rate(make)
    print(f"{name + ' train b32 adam step':30} {r / 1e3:8.1f} k samples/s ({32e6 / r:.0f} us per step)")
if "--no-job" not in sys.argv:
    seconds, rate, accuracy = job()
    print(f"{'mnist_cnn job 10 epochs':30} {rate / 1e3:8.1f} k samples/s ({seconds:.2f} s, test accuracy {100 * accuracy:.2f} %)")
