#!/usr/bin/env bash
# Runs every fuzz target (one at a time) for SECONDS each, 30 by default, or until RUNS executions;
# exits non-zero if any target finds a crash, a timeout or an out-of-memory input (the input is then
# in fuzz/artifacts/<target>/). Needs the nightly toolchain and cargo-fuzz (see README.md); exits 2
# without them.
#
#   fuzz/smoke.sh                  # 30 s per target: CI's optional path
#   fuzz/smoke.sh 1800 10000000    # the long runs of README.md
#
# Environment: TARGETS="idx csv" runs only those; FUZZ_WORK (default /tmp/constnet-fuzz) holds the
# inputs found (work/corpus/<target>, the committed seeds in fuzz/corpus/<target> are only read) and
# a log per target (work/logs/<target>.log).
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-30}
runs=${2:--1}
work=${FUZZ_WORK:-${TMPDIR:-/tmp}/constnet-fuzz}

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "smoke.sh: needs the nightly toolchain and cargo-fuzz (cargo install cargo-fuzz)" >&2
  exit 2
fi
targets=${TARGETS:-$(cargo +nightly fuzz list)}
# Built once, without a sanitizer (safe Rust; ASan's quarantine would dominate the RSS that
# -rss_limit_mb measures), with debug assertions and overflow checks.
CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1} cargo +nightly fuzz build -s none
bin=target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release

status=0
for t in $targets; do
  mkdir -p "$work/corpus/$t" "$work/logs" "artifacts/$t"
  echo "== $t: ${seconds} s or ${runs} runs"
  start=$(date +%s)
  if "$bin/$t" "$work/corpus/$t" "corpus/$t" -artifact_prefix="artifacts/$t/" \
    -rss_limit_mb=256 -timeout=10 -max_total_time="$seconds" -runs="$runs" \
    -print_final_stats=1 >"$work/logs/$t.log" 2>&1; then
    grep -E '^(Done|stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb))' "$work/logs/$t.log"
    echo "wall time: $(($(date +%s) - start)) s"
  else
    echo "FAIL: $t found an input that crashes, hangs or takes too much memory:" >&2
    grep -E 'ERROR|panicked|Test unit written' "$work/logs/$t.log" >&2 || tail -20 "$work/logs/$t.log" >&2
    status=1
  fi
done
exit $status
