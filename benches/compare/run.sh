#!/usr/bin/env bash
# Re-runnable comparison, in one run, on the cases of benches/train.rs, one thread: PyTorch CPU
# (torch_bench.py), NumPy SGD and ONNX Runtime inference (numpy_ort.py), then constnet on the
# kernels this CPU picks (AVX-512 where it has it) and on the AVX2 + FMA path
# (CONSTNET_KERNEL=avx2, the code an AVX2-only CPU runs); then two threads against one and against
# two independent networks, interleaved (benches/threads.rs).
# Installs torch, numpy, onnx and onnxruntime from PyPI into a virtualenv (large: PyPI's torch
# wheel pulls the CUDA libraries too).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${VENV:-$here/.venv}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import torch, numpy, onnx, onnxruntime" 2>/dev/null ||
  "$venv/bin/pip" install --quiet torch numpy onnx onnxruntime
grep -m1 'model name' /proc/cpuinfo
grep -o -w -E 'avx2|fma|avx512f|avx512bw|avx512vl' /proc/cpuinfo | sort -u | tr '\n' ' '; echo
uptime
(cd "$root" && cargo bench --quiet -p constnet-benches --bench train --no-run 2>/dev/null)
ours() {
  (cd "$root" && cargo bench --quiet -p constnet-benches --bench train -- --noplot 2>/dev/null) |
    awk '/\/(constnet|naive)/ { name = $0; sub(/ +time:.*/, "", name) }
         /thrpt:/ && name != "" { printf "%-48s %s %s\n", name, $(NF-3), $(NF-2); name = "" }'
}
"$venv/bin/python" "$here/torch_bench.py"
echo
"$venv/bin/python" "$here/numpy_ort.py"
echo
echo "constnet (kernels picked at run time):"
ours
echo
echo "constnet, CONSTNET_KERNEL=avx2:"
CONSTNET_KERNEL=avx2 ours
echo
echo "constnet, two threads against one and against two independent networks (interleaved):"
(cd "$root" && cargo bench --quiet -p constnet-benches --bench threads 2>/dev/null) | tail -n +2
uptime
