//! The int8 product on the device against plain Rust, bit for bit: the kernel the target uses
//! (on a Cortex-M4F the DSP one, `SXTB16`/`SMLAD`; on the M3 and M0 the portable one, two rows at
//! a time), nn-core's reference loop, and a triple loop written here must agree. Shapes around
//! the kernels' steps (16 values, 1,024-value passes, odd rows, rows that are not word-aligned)
//! with random and extreme values; the same for the kernels that skip values at a zero point
//! (mostly-background inputs). Prints `kernel_check ok: N products` or exits 1 at the first
//! difference.
#![no_std]
#![no_main]

use constnet::quant::{matmul_against_portable, matmul_zp_against_portable};
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

/// `matmul_zp_against_portable` on one sample of `N` values for each row count in `rows`, at
/// word-aligned and odd weight addresses, zero points -128, -3, 0 and 127, and from none to
/// every value off the zero point (with the extremes); exits 1 at the first difference from the
/// reference or from a triple loop. Returns the sums checked.
fn check_zp<const N: usize>(xs: &mut [i8], ws: &mut [i8], rng: &mut Rng, rows: &[usize]) -> usize {
    let mut checked = 0;
    for &rows in rows {
        for offset in [0, 1] {
            for zp in [-128i8, -3, 0, 127] {
                // Out of 16: how many values are off the zero point.
                for density in [0, 1, 4, 11, 13, 16] {
                    let x = &mut xs[..N];
                    let w = &mut ws[offset..offset + rows * N];
                    x.iter_mut().for_each(|v| {
                        *v = if rng.next() % 16 < density {
                            rng.i8(-128)
                        } else {
                            zp
                        }
                    });
                    w.iter_mut().for_each(|v| *v = rng.i8(-127));
                    let mut out = [0i32; 10];
                    let mut reference = [0i32; 10];
                    matmul_zp_against_portable::<N>(
                        x,
                        i32::from(zp),
                        w,
                        &mut out[..rows],
                        &mut reference[..rows],
                    );
                    let mut naive = [0i32; 10];
                    for (r, naive) in naive[..rows].iter_mut().enumerate() {
                        *naive = (0..N).fold(0i32, |s, k| {
                            s.wrapping_add(i32::from(x[k]) * i32::from(w[r * N + k]))
                        });
                    }
                    if out[..rows] != reference[..rows] || out[..rows] != naive[..rows] {
                        hprintln!(
                            "kernel_check FAIL (zero point {}): n {} rows {} offset {} density {}/16: {:?}, {:?}, {:?}",
                            zp,
                            N,
                            rows,
                            offset,
                            density,
                            &out[..rows],
                            &reference[..rows],
                            &naive[..rows]
                        );
                        debug::exit(debug::EXIT_FAILURE);
                    }
                    checked += rows;
                }
            }
        }
    }
    checked
}

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
    // The kernels that skip values at the zero point (`QDense`'s path; on the M4F the block
    // kernel with four rows per pass, on the M3 and M0 theirs): row lengths a multiple of 4 up to
    // the 4,095-byte reach of the loads (1,364) and past it (1,368, another path), 3, 33 and
    // 1,023 (not words; the last dense enough for several passes of the M3's and M0's value
    // lists), 4-10 rows (a last group overlapping the one before) and 1-3 (too few for some).
    let mut sparse = 0;
    sparse += check_zp::<4>(xs, ws, &mut rng, &[1, 2, 3, 4, 5, 10]);
    sparse += check_zp::<3>(xs, ws, &mut rng, &[4, 5]);
    sparse += check_zp::<16>(xs, ws, &mut rng, &[4, 7, 10]);
    sparse += check_zp::<33>(xs, ws, &mut rng, &[4, 6]);
    sparse += check_zp::<64>(xs, ws, &mut rng, &[4, 10]);
    sparse += check_zp::<100>(xs, ws, &mut rng, &[5, 8]);
    sparse += check_zp::<784>(xs, ws, &mut rng, &[4, 6, 7]);
    sparse += check_zp::<1023>(xs, ws, &mut rng, &[4, 5]);
    sparse += check_zp::<1364>(xs, ws, &mut rng, &[4]);
    sparse += check_zp::<1368>(xs, ws, &mut rng, &[4]);
    hprintln!(
        "kernel_check ok: {} products, {} with a zero point",
        products,
        sparse
    );
    debug::exit(debug::EXIT_SUCCESS);
    loop {
        cortex_m::asm::wfi();
    }
}
