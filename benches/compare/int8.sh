#!/usr/bin/env bash
# int8 inference of the MNIST MLP (784-64-10), one thread, in one run: TFLite (full-integer
# post-training quantisation of the same float weights, XNNPACK) and ONNX Runtime (constnet's own
# QDQ export) from Python, then constnet's int8 twin and its float network (benches/int8.rs).
# Installs tensorflow-cpu, ai-edge-litert and onnxruntime into a virtualenv (large).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${VENV:-$here/.venv-int8}
out=$root/target/int8-compare
mkdir -p "$out"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import tensorflow, ai_edge_litert, onnxruntime" 2>/dev/null ||
  "$venv/bin/pip" install --quiet -r "$here/requirements-int8.txt"
# The same trained float network for everyone; constnet's int8 twin of it as ONNX for ORT.
(cd "$root" && cargo run --quiet --release --example mnist_int8 --features io -- \
  --save "$out/mnist_int8.onnx" --save-float "$out/mnist.safetensors" | grep -E "accuracy|written")
grep -m1 "model name" /proc/cpuinfo
uptime
"$venv/bin/python" "$here/int8.py" "$out" "$root/data/mnist-10k"
echo
(cd "$root" && cargo bench --quiet --bench int8 2>/dev/null | grep -v "^$")
# The AVX2 kernels on this CPU (the choice is read from the environment once per process).
echo "CONSTNET_KERNEL=avx2:"
(cd "$root" && CONSTNET_KERNEL=avx2 cargo bench --quiet --bench int8 2>/dev/null |
  grep -E "kernel|^int8" | grep -v "over f32")
