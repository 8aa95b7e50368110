#!/usr/bin/env bash
# constnet against PyTorch (CPU, one thread) on convolutional networks, in one run: the training
# step of LeNet and of the mnist_cnn example's network, then the example's whole job (10 epochs).
# Installs torch from PyPI into a virtualenv (large: PyPI's wheel pulls the CUDA libraries too).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${VENV:-$here/.venv}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import torch" 2>/dev/null || "$venv/bin/pip" install --quiet torch numpy
grep -m1 'model name' /proc/cpuinfo
(cd "$root" && cargo build --quiet --release --bench cnn --example mnist_cnn)
torch=$("$venv/bin/python" "$here/torch_cnn.py")
ours=$(cd "$root" && cargo bench --quiet --bench cnn 2>/dev/null)
job=$(cd "$root" && cargo run --quiet --release --example mnist_cnn | tail -n 2)
echo "$torch"; echo "$ours"; echo "$job"
rate() { sed -n "s/^$1 *\([0-9.]*\) k samples.*/\1/p" <<<"$2"; }
for case in "lenet train b32 adam step" "cnn train b32 adam step"; do
  t=$(rate "$case" "$torch"); c=$(rate "$case" "$ours")
  awk -v n="$case" -v t="$t" -v c="$c" 'BEGIN { printf "%-30s constnet / torch = %.2fx\n", n, c / t }'
done
t=$(rate "mnist_cnn job 10 epochs" "$torch")
c=$(sed -n 's/.*(\([0-9]*\) samples\/s).*/\1/p' <<<"$job")
awk -v t="$t" -v c="$c" 'BEGIN { printf "%-30s constnet / torch = %.2fx\n", "mnist_cnn job 10 epochs", c / 1000 / t }'
