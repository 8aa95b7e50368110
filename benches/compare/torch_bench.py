"""PyTorch CPU on the benchmarks' cases, one thread: 784-64-10 (ReLU, softmax + cross-entropy).

Prints samples per second for the same networks, batch sizes and optimizers as benches/train.rs.
Run through run.sh, which makes the virtualenv.
"""
import time

import torch

torch.set_num_threads(1)
torch.manual_seed(0)


def net(hidden):
    layers, width = [], 784
    for h in hidden:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    layers.append(torch.nn.Linear(width, 10))  # softmax is fused into cross_entropy
    return torch.nn.Sequential(*layers)


def rate(step, samples, seconds=2.0):
    for _ in range(20):
        step()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        n += 1
    return n * samples / (time.perf_counter() - start)


def train_case(hidden, batch, optimizer):
    model = net(hidden)
    opt = (torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7) if optimizer == "adam"
           else torch.optim.SGD(model.parameters(), lr=0.01))
    x = torch.rand(batch, 784)
    y = torch.arange(batch) % 10

    def step():
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    return rate(step, batch)


def infer_case(batch, hidden=(64,)):
    model = net(list(hidden))
    x = torch.rand(batch, 784)

    def step():
        with torch.inference_mode():
            torch.softmax(model(x), dim=1)

    return rate(step, batch)


print(f"torch {torch.__version__}, 1 thread")
for name, hidden, batch, opt in [
    ("784-64-10 train b1 sgd", [64], 1, "sgd"),
    ("784-64-10 train b32 adam", [64], 32, "adam"),
    ("784-64-10 train b32 sgd", [64], 32, "sgd"),
    ("784-64-10 train b128 sgd", [64], 128, "sgd"),
    ("784-64-10 train b128 adam", [64], 128, "adam"),
    ("784-64-64-10 train b32 adam", [64, 64], 32, "adam"),
    ("784-64-64-10 train b128 sgd", [64, 64], 128, "sgd"),
    ("784-64-64-10 train b128 adam", [64, 64], 128, "adam"),
    ("784-512-512-10 train b128 sgd", [512, 512], 128, "sgd"),
    ("784-512-512-10 train b128 adam", [512, 512], 128, "adam"),
]:
    print(f"{name:32} {train_case(hidden, batch, opt) / 1e3:9.1f} k samples/s")
b1 = infer_case(1)
print(f"{'784-64-10 infer b1':32} {b1 / 1e3:9.1f} k samples/s ({1e6 / b1:.1f} us)")
print(f"{'784-64-10 infer b128':32} {infer_case(128) / 1e3:9.1f} k samples/s")
print(f"{'784-512-512-10 infer b128':32} {infer_case(128, (512, 512)) / 1e3:9.1f} k samples/s")
