#!/usr/bin/env bash
# Cargo runner: runs a firmware ELF on the QEMU board that matches its target, with semihosting.
# -icount shift=0 makes one instruction take 1 ns of virtual time, so SysTick counts instructions.
set -euo pipefail
elf=$1
case "$elf" in
  *thumbv7em-none-eabihf*) machine=(-machine mps2-an386 -cpu cortex-m4) ;;
  *thumbv7m-none-eabi*) machine=(-machine lm3s6965evb -cpu cortex-m3) ;;
  # micro:bit v1 (nRF51822): Cortex-M0, 256 KB flash, 16 KB RAM.
  *thumbv6m-none-eabi*) machine=(-machine microbit -cpu cortex-m0) ;;
  *) echo "no QEMU board configured for $elf" >&2; exit 2 ;;
esac
exec timeout 120 qemu-system-arm "${machine[@]}" -nographic -monitor none -serial null \
  -icount shift=0 -semihosting-config enable=on,target=native -kernel "$elf"
