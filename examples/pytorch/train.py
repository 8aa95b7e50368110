# Train the MNIST MLP in PyTorch and save it for constnet:
#   python examples/pytorch/train.py   (torch, safetensors, numpy; see README "Train in PyTorch")
import gzip, pathlib, numpy as np, torch, torch.nn as nn
from safetensors.torch import save_file

def idx(name):  # the bundled IDX files, gzipped or not
    p = pathlib.Path("data/mnist-10k") / name
    raw = gzip.open(f"{p}.gz").read() if p.with_name(p.name + ".gz").exists() else p.read_bytes()
    return np.frombuffer(raw, np.uint8, offset=16 if raw[3] == 3 else 8)

x = torch.tensor(idx("train-images-idx3-ubyte").reshape(-1, 784) / 255, dtype=torch.float32)
y = torch.tensor(idx("train-labels-idx1-ubyte"), dtype=torch.long)

class Mnist(nn.Module):  # attribute names = constnet's layer names: hidden.weight, out.bias, ...
    def __init__(self):
        super().__init__()
        self.hidden, self.out = nn.Linear(784, 64), nn.Linear(64, 10)
    def forward(self, x):  # logits; constnet's `out` layer applies the softmax itself
        return self.out(torch.relu(self.hidden(x)))

torch.manual_seed(0)
net = Mnist()
opt = torch.optim.Adam(net.parameters(), lr=2e-3)
for epoch in range(5):
    for i in torch.randperm(len(x)).split(32):
        opt.zero_grad(); nn.functional.cross_entropy(net(x[i]), y[i]).backward(); opt.step()
save_file(net.state_dict(), "mnist.safetensors")
print("saved mnist.safetensors")
