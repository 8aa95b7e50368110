//! The int8 product on the device against plain Rust, bit for bit: the kernel the target uses
//! (on a Cortex-M4F the DSP one, `SXTB16`/`SMLAD`; on the M3 and M0 the portable one, two rows at
//! a time), nn-core's reference loop, and a triple loop written here must agree. Shapes around
//! the kernels' steps (16 values, 1,024-value passes, odd rows, rows that are not word-aligned)
//! with random and extreme values. Prints `kernel_check ok: N products` or exits 1 at the first
//! difference.
#![no_std]
#![no_main]

use constnet::quant::matmul_against_portable;
use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use panic_semihosting as _;

/// xorshift32: deterministic values without a dependency.
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
    /// Mostly uniform, often the extremes (where sign tricks break).
    fn i8(&mut self, lo: i8) -> i8 {
        match self.next() % 8 {
            0 => lo,
            1 => 127,
            // [lo, 127]: 128 - lo values.
            _ => (i32::from(lo) + (self.next() % (128 - i32::from(lo)) as u32) as i32) as i8,
        }
    }
}

/// Word-aligned storage: at offset 0 the rows take the DSP kernel (it needs word-aligned rows),
/// at offset 1 its fallback.
#[repr(C, align(4))]
struct Aligned<const N: usize>([i8; N]);

/// Largest case: 2 samples × 1,100 values (two passes), 5 rows × 1,100 (+3 for misalignment).
static mut X: Aligned<{ 2 * 1100 }> = Aligned([0; 2 * 1100]);
static mut W: Aligned<{ 5 * 1100 + 3 }> = Aligned([0; 5 * 1100 + 3]);

#[entry]
fn main() -> ! {
    // SAFETY: the only references to these statics, taken once in the single-threaded entry.
    let (xs, ws) = unsafe {
        (
            &mut (*core::ptr::addr_of_mut!(X)).0,
            &mut (*core::ptr::addr_of_mut!(W)).0,
        )
    };
    let mut rng = Rng(0x1234_5678);
    let mut products = 0;
    for &n in &[
        1, 3, 4, 8, 12, 16, 20, 28, 60, 64, 100, 784, 785, 1024, 1028, 1100,
    ] {
        for &(batch, rows) in &[(1, 1), (1, 2), (1, 5), (2, 3)] {
            for offset in [0, 1] {
                for extreme in [false, true] {
                    let x = &mut xs[..batch * n];
                    let w = &mut ws[offset..offset + rows * n];
                    if extreme {
                        // The largest sums: every product 128 · 127 with one sign.
                        x.fill(-128);
                        w.fill(if rng.next().is_multiple_of(2) {
                            127
                        } else {
                            -127
                        });
                    } else {
                        x.iter_mut().for_each(|v| *v = rng.i8(-128));
                        w.iter_mut().for_each(|v| *v = rng.i8(-127));
                    }
                    let mut out = [0i32; 10];
                    let mut reference = [0i32; 10];
                    let len = batch * rows;
                    matmul_against_portable(x, w, n, &mut out[..len], &mut reference[..len]);
                    // The definition, in the simplest form.
                    let mut naive = [0i32; 10];
                    for b in 0..batch {
                        for r in 0..rows {
                            naive[b * rows + r] = (0..n).fold(0i32, |s, k| {
                                s.wrapping_add(i32::from(x[b * n + k]) * i32::from(w[r * n + k]))
                            });
                        }
                    }
                    if out[..len] != reference[..len] || out[..len] != naive[..len] {
                        hprintln!(
                            "kernel_check FAIL: n {} batch {} rows {} offset {}: {:?}, {:?}, {:?}",
                            n,
                            batch,
                            rows,
                            offset,
                            &out[..len],
                            &reference[..len],
                            &naive[..len]
                        );
                        debug::exit(debug::EXIT_FAILURE);
                    }
                    products += len;
                }
            }
        }
    }
    hprintln!("kernel_check ok: {} products", products);
    debug::exit(debug::EXIT_SUCCESS);
    loop {
        cortex_m::asm::wfi();
    }
}
