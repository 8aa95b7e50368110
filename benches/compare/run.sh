#!/usr/bin/env bash
# Re-runnable comparison with PyTorch (CPU, one thread) on the cases of benches/train.rs.
# Installs torch from PyPI into a virtualenv (large: PyPI's wheel pulls the CUDA libraries too).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${VENV:-$here/.venv}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import torch" 2>/dev/null || "$venv/bin/pip" install --quiet torch
"$venv/bin/python" "$here/torch_bench.py"
echo
echo "constnet, same cases: cargo bench --bench train"
