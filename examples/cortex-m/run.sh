#!/usr/bin/env bash
# constnet on microcontrollers, end to end:
#  1. on the host: train MNIST, the sine model and the CNN, save their weights, quantise the MNIST
#     network to int8, write 20 test digits (as bytes and int8-quantised) and the lines the
#     firmware must print (host portable arithmetic = the MCU's, so bit-exact);
#  2. build the firmware for Cortex-M4F (mps2-an386), Cortex-M3 (lm3s6965evb) and Cortex-M0
#     (micro:bit, thumbv6m: no FPU, no atomics, 16 KB RAM), run each binary under QEMU and compare
#     its output with the host's, exactly (the CNN on the M4F only, see `bins` below);
#  3. print flash/RAM sizes, stack and instruction counts.
# Needs: rustup targets thumbv7em-none-eabihf thumbv7m-none-eabi thumbv6m-none-eabi, qemu-system-arm.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
data=$here/data
mkdir -p "$data"

echo "== host: training and reference output"
# MNIST_WEIGHTS=file.safetensors (or .onnx): flash those weights (e.g. trained in PyTorch,
# examples/pytorch/train.py) instead of training the MLP here.
if [ -n "${MNIST_WEIGHTS:-}" ]; then
  (cd "$root" && cargo run --quiet --release --example mnist --features io -- --load "$(realpath "$MNIST_WEIGHTS")" --epochs 0 --save "$data/mnist.bin" | tail -n 2)
else
  (cd "$root" && cargo run --quiet --release --example mnist -- --save "$data/mnist.bin" | tail -n 2)
fi
(cd "$root" && cargo run --quiet --release --example sine -- --save "$data/sine.bin" | tail -n 1)
(cd "$root" && cargo run --quiet --release --example mnist_cnn -- --save "$data/cnn.bin" | tail -n 1)
# The int8 twin of the same MNIST network (calibrated on 500 training digits): the firmware's
# `mnist_int8` flashes it, and firmware_reference below quantises the test digits with it.
rm -f "$data/mnist.q8"
(cd "$root" && cargo run --quiet --release --example mnist_int8 -- --load "$data/mnist.bin" --save "$data/mnist.q8" | grep -E '^(test accuracy|int8 network)')
(cd "$root" && CONSTNET_PORTABLE=1 cargo run --quiet --release --example firmware_reference -- "$data") > "$data/expected.txt"
# The host's default (AVX2 + FMA) path must predict the same classes.
(cd "$root" && cargo run --quiet --release --example firmware_reference -- "$data") > "$data/expected-fma.txt"
if ! diff <(grep -E '^(digit|cnn)' "$data/expected.txt" | cut -d' ' -f1-2) <(grep -E '^(digit|cnn)' "$data/expected-fma.txt" | cut -d' ' -f1-2); then
  echo "FAIL: host FMA and portable paths predict different classes" >&2; exit 1
fi
# Integers: the host's int8 kernels (AVX2/VNNI) must agree with the portable one exactly.
if ! diff <(grep '^int8' "$data/expected.txt") <(grep '^int8' "$data/expected-fma.txt"); then
  echo "FAIL: host int8 kernels and the portable one give different outputs" >&2; exit 1
fi

cd "$here"
target_dir=${CARGO_TARGET_DIR:-$here/target}
fail=0
declare -A board=(
  [thumbv7em-none-eabihf]="mps2-an386 (Cortex-M4F)"
  [thumbv7m-none-eabi]="lm3s6965evb (Cortex-M3, soft float)"
  [thumbv6m-none-eabi]="microbit (Cortex-M0, soft float, 16 KB RAM)"
)
# Instructions per SysTick tick under `-icount shift=0` (1 instruction = 1 ns): the core clock's
# period in ns (25 MHz mps2, 12.5 MHz lm3s6965, 16 MHz nRF51: 62.5, an arithmetic expression;
# checked with a 200,000-instruction `subs`/`bne` loop: 3,200 ticks on the micro:bit).
declare -A instr_per_tick=([thumbv7em-none-eabihf]=40 [thumbv7m-none-eabi]=80 [thumbv6m-none-eabi]="125 / 2")
# Binaries per target. The CNN's `forward` needs about 135 KB of stack (its convolution kernel's
# 48 KB im2col buffer and the activations; 135,612 bytes measured on a 4 MB Cortex-M3, mps2-an385):
# it runs on the mps2-an386's 4 MB of RAM but not on the lm3s6965evb's 64 KB (there it would print
# that it does not fit and exit 1) nor on the micro:bit's 16 KB, so it is built and run for the
# Cortex-M4F only.
# `kernel_check` tests each core's int8 kernel (nn-core/src/quant/kernel.rs: SXTB16/SMLAD on the
# M4F, portable elsewhere) against plain loops on the device.
declare -A bins=(
  [thumbv7em-none-eabihf]="mnist mnist_int8 sine xor cnn kernel_check"
  [thumbv7m-none-eabi]="mnist mnist_int8 sine xor kernel_check"
  [thumbv6m-none-eabi]="mnist mnist_int8 sine xor kernel_check"
)
bin_args() { for b in ${bins[$1]}; do printf -- '--bin %s ' "$b"; done; }
for target in thumbv7em-none-eabihf thumbv7m-none-eabi thumbv6m-none-eabi; do
  echo "== ${board[$target]}"
  # shellcheck disable=SC2046 # one word per flag
  cargo build --quiet --release --target "$target" $(bin_args "$target")
  for bin in ${bins[$target]}; do
    out=$(cargo run --quiet --release --target "$target" --bin "$bin" 2>/dev/null) || {
      echo "FAIL: $bin exited with $?"; echo "$out"; fail=1; continue; }
    case $bin in
      mnist) want=$(grep '^digit' "$data/expected.txt" | cut -d' ' -f1-3); got=$(grep '^digit' <<<"$out") ;;
      mnist_int8) want=$(grep '^int8' "$data/expected.txt"); got=$(grep '^int8' <<<"$out") ;;
      sine) want=$(grep '^sine' "$data/expected.txt"); got=$(grep '^sine' <<<"$out") ;;
      cnn) want=$(grep '^cnn' "$data/expected.txt"); got=$(grep '^cnn' <<<"$out") ;;
      xor | kernel_check) want=""; got="" ;;
    esac
    if [ "$want" != "$got" ]; then
      echo "FAIL: $bin output differs from the host's"; diff <(echo "$want") <(echo "$got") || true; fail=1
    fi
    summary=$(grep -E '^(stack|xor|training|kernel_check)' <<<"$out" | tr '\n' ';')
    ticks=$(sed -n 's/.* \([0-9]*\) ticks per inference.*/\1/p' <<<"$out")
    all=$(sed -n 's/.* \([0-9]*\) ticks for the 20 digits/\1/p' <<<"$out")
    instr=""
    [ -n "$ticks" ] && instr=" ≈ $((ticks * ${instr_per_tick[$target]})) instructions per inference"
    # int8: the count depends on the digit (the background is skipped); the mean of the 20.
    [ -n "$all" ] && instr="$instr (digit 0), $((all * ${instr_per_tick[$target]} / 20)) on average over 20 digits"
    dense=$(sed -n 's/^dense input: \([0-9]*\) ticks/\1/p' <<<"$out")
    [ -n "$dense" ] && instr="$instr, $((dense * ${instr_per_tick[$target]})) for an input without background"
    echo "  $bin: ok  ${summary}${instr}"
  done
done

echo "== sizes (bytes; flash = .vector_table + .text + .rodata + .data, static RAM = .data + .bss)"
size=$(find "$(rustc --print sysroot)" -name llvm-size -type f 2>/dev/null | head -n 1)
if [ -z "$size" ]; then size=$(command -v arm-none-eabi-size || true); fi
if [ -n "$size" ]; then
  for target in thumbv7em-none-eabihf thumbv7m-none-eabi thumbv6m-none-eabi; do
    for bin in ${bins[$target]}; do
      "$size" -A "$target_dir/$target/release/$bin" | awk -v t="$target" -v b="$bin" '
        $1 ~ /^\.(vector_table|text|rodata)$/ { flash += $2 }
        $1 == ".rodata" { rodata = $2 }
        $1 == ".data" { flash += $2; ram += $2 }
        $1 == ".bss" || $1 == ".uninit" { ram += $2 }
        END { printf "  %-22s %-12s flash %7d (.rodata %7d)  static RAM %5d\n", t, b, flash, rodata, ram }'
    done
  done
else
  echo "  (no llvm-size: rustup component add llvm-tools)"
fi
exit $fail
