//! Picks the board's memory map for the target: cortex-m-rt's `link.x` includes `memory.x`.
use std::path::PathBuf;

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    // Memory maps as QEMU reports them (`info mtree -f`).
    let memory = if target.starts_with("thumbv7em") {
        // mps2-an386 (Cortex-M4F)
        "MEMORY { FLASH : ORIGIN = 0x00000000, LENGTH = 4M\n RAM : ORIGIN = 0x20000000, LENGTH = 4M }\n"
    } else if target.starts_with("thumbv7m") {
        // lm3s6965evb (Cortex-M3, no FPU)
        "MEMORY { FLASH : ORIGIN = 0x00000000, LENGTH = 256K\n RAM : ORIGIN = 0x20000000, LENGTH = 64K }\n"
    } else {
        // micro:bit v1 (nRF51, Cortex-M0): QEMU `-machine microbit`
        "MEMORY { FLASH : ORIGIN = 0x00000000, LENGTH = 256K\n RAM : ORIGIN = 0x20000000, LENGTH = 16K }\n"
    };
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("memory.x"), memory).expect("OUT_DIR is writable");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=data");
}
