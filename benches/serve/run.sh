#!/usr/bin/env bash
# Load on the serving example, over loopback, with wrk on the same machine:
#   constnet (dynamic batching on, then off) and the FastAPI + uvicorn + numpy reference, each
#   64 connections for 10 s of single-digit KServe v2 requests, then 1,000 connections for 10 s.
# Prints requests/s, p99 latency and errors for each, and the ratio to Python. Not run by CI.
#
#   benches/serve/run.sh            # DURATION=10s CONNECTIONS=64 MANY=1000 VENV=/work/venv-serve
set -euo pipefail
cd "$(dirname "$0")/../.."
here=benches/serve
duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}
many=${MANY:-1000}
venv=${VENV:-/work/venv-serve}
port=18080
pyport=18081
out=target/serve-bench
mkdir -p "$out"
ulimit -n 8192 2>/dev/null || true

if ! command -v wrk >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
if [ ! -x "$venv/bin/uvicorn" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi

CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} cargo build --release -p constnet-serve --example serve
CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} cargo build --release --example mnist --features io
weights=${WEIGHTS:-$out/m.safetensors}
[ -f "$weights" ] || target/release/examples/mnist --save "$weights" >/dev/null
weights_abs=$(realpath "$weights")

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores;" \
  "flags: $(grep -m1 -o -w -E 'avx2|avx512f|avx512bw|avx512vl|avx512_vnni' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), $duration per run, body: one test digit ($(wc -c < $here/digit.json) bytes)"

server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    local status=0
    wait "$server_pid" || status=$?
    [ "$status" -eq 0 ] || echo "  (server exited with $status)"
    server_pid=""
  fi
}
trap stop_server EXIT

wait_ready() { # port; the server just started must be the one answering
  for _ in $(seq 100); do
    kill -0 "$server_pid" 2>/dev/null || { echo "the server on port $1 exited" >&2; return 1; }
    curl -sf "http://127.0.0.1:$1/v2/health/ready" >/dev/null && return 0
    sleep 0.1
  done
  echo "server on port $1 did not become ready" >&2
  return 1
}

# One wrk run; prints "req/s p99 errors" and keeps wrk's output in $out.
load() { # name port connections
  local log="$out/$1-c$3.txt"
  (cd "$here" && wrk -t2 -c"$3" -d"$duration" --timeout 5s --latency -s infer.lua \
    "http://127.0.0.1:$2/v2/models/mnist/infer") > "$log"
  python3 - "$log" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\b", text, re.M)
p99 = float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
total = int(re.search(r"(\d+) requests in", text).group(1))
print(f"{rps:.0f} {p99:.2f} {errors} {total}")
EOF
}

for p in $port $pyport; do
  if curl -s -o /dev/null "http://127.0.0.1:$p/"; then echo "port $p is in use" >&2; exit 1; fi
done

declare -A result
run_rust() { # name batching
  target/release/examples/serve --weights "$weights" --addr "127.0.0.1:$port" --batching "$2" >/dev/null &
  server_pid=$!
  wait_ready $port
  (cd "$here" && wrk -t2 -c"$connections" -d2s -s infer.lua "http://127.0.0.1:$port/v2/models/mnist/infer" >/dev/null) # warm-up
  result[$1]=$(load "$1" $port "$connections")
  result[$1-many]=$(load "$1" $port "$many")
  curl -s "http://127.0.0.1:$port/metrics" > "$out/$1-metrics.txt"
  stop_server
}

run_rust constnet-batching on
run_rust constnet-no-batching off

# Python: two uvicorn worker processes (one per core), uvloop and httptools, numpy on one thread
# per process. OPENBLAS_CORETYPE/L2_SIZE are unset for this process only: they slow a current numpy.
(cd "$here" && exec env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
  WEIGHTS="$weights_abs" "$venv/bin/uvicorn" reference_server:app --host 127.0.0.1 --port $pyport \
  --workers 2 --no-access-log --log-level warning) &
server_pid=$!
wait_ready $pyport
(cd "$here" && wrk -t2 -c"$connections" -d2s -s infer.lua "http://127.0.0.1:$pyport/v2/models/mnist/infer" >/dev/null)
result[python]=$(load python $pyport "$connections")
result[python-many]=$(load python $pyport "$many")
stop_server

printf '\n%-22s %12s %10s %8s %10s   %s\n' server connections "req/s" "p99 ms" errors requests
for name in constnet-batching constnet-no-batching python; do
  for key in "$name" "$name-many"; do
    read -r rps p99 errors total <<< "${result[$key]}"
    c=$connections; [ "$key" = "$name" ] || c=$many
    printf '%-22s %12s %10s %8s %10s   %s\n' "$name" "$c" "$rps" "$p99" "$errors" "$total"
  done
done
py=$(cut -d' ' -f1 <<< "${result[python]}")
for name in constnet-batching constnet-no-batching; do
  rs=$(cut -d' ' -f1 <<< "${result[$name]}")
  echo "$name / python at $connections connections: $(python3 -c "print(f'{$rs / $py:.1f}x')")"
done
echo "wrk outputs and /metrics in $out/"
