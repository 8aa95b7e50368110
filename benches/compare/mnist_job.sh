#!/usr/bin/env bash
# The README's first command against PyTorch doing the same job (Adam, batch 32, 10 epochs, the
# 8,000 bundled digits, one thread), in one run: constnet's example, then torch_mnist_job.py,
# then constnet again, and the ratio of the samples per second (the best of each).
# Installs torch from PyPI into a virtualenv (large: PyPI's wheel pulls the CUDA libraries too).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${VENV:-$here/.venv}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import torch" 2>/dev/null || "$venv/bin/pip" install --quiet torch numpy
grep -m1 'model name' /proc/cpuinfo
uptime
(cd "$root" && cargo build --quiet --release --example mnist)
ours() { (cd "$root" && cargo run --quiet --release --example mnist | grep -E "^trained|^test accuracy"); }
a=$(ours)
torch=$("$venv/bin/python" "$here/torch_mnist_job.py")
b=$(ours)
echo "constnet: $a"; echo "$torch" | tail -n 1; echo "constnet: $b"
rate() { sed -n 's/.*(\([0-9]*\) samples\/s).*/\1/p' <<<"$1" | head -n 1; }
c=$(printf '%s\n%s\n' "$(rate "$a")" "$(rate "$b")" | sort -n | tail -n 1)
t=$(rate "$torch")
awk -v c="$c" -v t="$t" 'BEGIN { printf "MNIST job: constnet %d samples/s, torch %d: constnet / torch = %.1fx (goal: 8x)\n", c, t, c / t }'
