//! Tells the int8 kernels whether the target has the Armv7E-M DSP instructions (`SXTB16`,
//! `SMLAD`): every `thumbv7em` target (Cortex-M4, M7) has them. Stable Rust does not report Arm
//! target features to `cfg(target_feature)`, so the target's name decides; an Armv7-M core
//! (thumbv7m, Cortex-M3) gets `constnet_armv7m` (its sparse kernel uses `LDRSB` with immediate
//! offsets and `MLA`, in `asm!`), Armv6-M (thumbv6m, Cortex-M0) `constnet_armv6m` (its sparse
//! kernel: `LDRSB`, `MULS`); their dense products stay portable. If DSP is
//! switched off by hand (`-C target-feature=-dsp`), the assembler rejects the instructions: a
//! compile-time error, never a fault on the device.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(constnet_arm_dsp)");
    println!("cargo::rustc-check-cfg=cfg(constnet_armv7m)");
    println!("cargo::rustc-check-cfg=cfg(constnet_armv6m)");
    println!("cargo::rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("thumbv7em-") {
        println!("cargo::rustc-cfg=constnet_arm_dsp");
    } else if target.starts_with("thumbv7m-") {
        // Armv7-M without DSP: `LDRSB` with 12-bit immediate offsets and `MLA`.
        println!("cargo::rustc-cfg=constnet_armv7m");
    } else if target.starts_with("thumbv6m-") {
        // Armv6-M: `LDRSB` with a register offset, `MULS`.
        println!("cargo::rustc-cfg=constnet_armv6m");
    }
}
