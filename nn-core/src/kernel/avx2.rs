//! AVX2 + FMA arithmetic: the `Fused` math and its GEMM tiles, with `__m256` accumulators that LLVM
//! keeps in registers. Same tiles, same summation order as the portable versions in `gemm.rs`, with
//! fused multiply-adds.
//!
//! The safety of everything here rests on one invariant: AVX2 instructions run only on a CPU that
//! has them. Privacy enforces it: `Fused` (the only way to reach the intrinsics) is private to this
//! module, and the only code that names it is [`run`], which checks the CPU first. No other code in
//! the crate can instantiate a kernel with `Fused`, so no safe call can reach an AVX2 instruction on
//! a CPU without AVX2.

use core::arch::x86_64::*;

use super::gemm::{LANES, STRIP};
use super::{CoefTile, Kernel, Math, SrcTile};

/// Runs `kernel` with AVX2 + FMA arithmetic if this CPU has both (and `CONSTNET_PORTABLE` is not
/// set); otherwise hands it back.
#[inline]
pub(super) fn run<K: Kernel>(kernel: K) -> Result<(), K> {
    if !super::avx2_fma() {
        return Err(kernel);
    }
    // SAFETY: the CPU supports AVX2 and FMA (checked just above), which is all that
    // `#[target_feature(enable = "avx2,fma")]` requires of the caller.
    unsafe { run_avx2_fma(kernel) };
    Ok(())
}

#[target_feature(enable = "avx2,fma")]
fn run_avx2_fma<K: Kernel>(kernel: K) {
    kernel.run::<Fused>()
}

/// Fused multiply-add and the hardware square root, and the AVX2 tiles. Private: only
/// `run_avx2_fma` (so only after the CPU check in [`run`]) executes code with it.
struct Fused;

impl Math for Fused {
    const WIDE: bool = true;

    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
    #[inline(always)]
    fn sqrt(x: f32) -> f32 {
        x.sqrt()
    }

    #[inline(always)]
    fn dot_tile<const RB: usize, const RC: usize, const I: usize>(
        x: [&[f32; I]; RB],
        w: [&[f32; I]; RC],
    ) -> [[f32; RC]; RB] {
        // SAFETY: `Fused` runs only inside `run_avx2_fma`, after the CPU check (module docs).
        unsafe { dot_tile(x, w) }
    }

    #[inline(always)]
    fn transpose8(src: &[f32], ss: usize, dst: &mut [f32], ds: usize) {
        // SAFETY: as above; `transpose8` checks the bounds.
        unsafe { transpose8(src, ss, dst, ds) }
    }

    #[inline(always)]
    fn dot_tile_n<const RB: usize, const RC: usize>(
        x: [&[f32]; RB],
        w: [&[f32]; RC],
        n: usize,
    ) -> [[f32; RC]; RB] {
        // SAFETY: as above; `dot_tile_n` checks the rows' lengths.
        unsafe { dot_tile_n(x, w, n) }
    }

    #[inline(always)]
    fn axpy_tile<const RT: usize, const NV: usize, const V: usize>(
        acc: &mut [[[f32; V]; NV]; RT],
        kn: usize,
        rows: SrcTile,
        coef: CoefTile,
    ) {
        if V == LANES {
            // SAFETY: as above; V = 8 is checked.
            unsafe { axpy_tile::<RT, NV, V>(acc, kn, rows, coef) }
        } else {
            super::gemm::axpy_tile::<Self, RT, NV, V>(acc, kn, rows, coef)
        }
    }

    #[inline(always)]
    fn combine_tile<const RR: usize, const N: usize, const K: usize, const R: usize>(
        rows: &[[f32; N]; K],
        coef: impl Fn(usize, usize) -> f32,
        out: &mut [[f32; N]; R],
        r0: usize,
        col: usize,
    ) {
        // SAFETY: as above; `combine_tile` checks its own bounds.
        unsafe { combine_tile::<RR, N, K, R>(rows, coef, out, r0, col) }
    }
}

/// # Safety
/// The CPU must support AVX2 and FMA, and the caller must be compiled with them (inlined into a
/// `#[target_feature(enable = "avx2,fma")]` function).
#[inline(always)]
unsafe fn dot_tile<const RB: usize, const RC: usize, const I: usize>(
    x: [&[f32; I]; RB],
    w: [&[f32; I]; RC],
) -> [[f32; RC]; RB] {
    let mut acc = [[_mm256_setzero_ps(); RC]; RB];
    let mut k = 0;
    while k + LANES <= I {
        // SAFETY: k + 8 ≤ I, so every 8-float load stays inside its row.
        let xv: [__m256; RB] =
            core::array::from_fn(|r| unsafe { _mm256_loadu_ps(x[r].as_ptr().add(k)) });
        for c in 0..RC {
            // SAFETY: k + 8 ≤ I, as above.
            let wv = unsafe { _mm256_loadu_ps(w[c].as_ptr().add(k)) };
            for r in 0..RB {
                acc[r][c] = _mm256_fmadd_ps(xv[r], wv, acc[r][c]);
            }
        }
        k += LANES;
    }
    let mut out = [[0.0f32; RC]; RB];
    for r in 0..RB {
        for c in 0..RC {
            // SAFETY: AVX2 is available (this function's contract); `hsum` reads registers only.
            let mut sum = unsafe { hsum(acc[r][c]) };
            for i in k..I {
                sum = x[r][i].mul_add(w[c][i], sum);
            }
            out[r][c] = sum;
        }
    }
    out
}

/// `((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7))`, the portable order.
///
/// # Safety
/// As [`dot_tile`].
#[inline(always)]
unsafe fn hsum(a: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps::<1>(a)); // a_i + a_{i+4}
    let t = _mm_add_ps(s, _mm_movehl_ps(s, s)); // (s0+s2, s1+s3, ..)
    _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps::<0b01>(t, t)))
}

/// # Safety
/// As [`dot_tile`]. The column range is checked here (`col + STRIP ≤ N`, once per tile), so a wrong
/// `col` panics, as in the portable twin, instead of reading out of bounds.
#[inline(always)]
unsafe fn combine_tile<const RR: usize, const N: usize, const K: usize, const R: usize>(
    rows: &[[f32; N]; K],
    coef: impl Fn(usize, usize) -> f32,
    out: &mut [[f32; N]; R],
    r0: usize,
    col: usize,
) {
    assert!(col + STRIP <= N, "column strip out of bounds");
    let mut acc = [[_mm256_setzero_ps(); 2]; RR];
    for (k, row) in rows.iter().enumerate() {
        // SAFETY: col + 16 ≤ N (asserted above), so both 8-float loads stay inside `row`.
        let v = unsafe {
            [
                _mm256_loadu_ps(row.as_ptr().add(col)),
                _mm256_loadu_ps(row.as_ptr().add(col + LANES)),
            ]
        };
        for (r, acc) in acc.iter_mut().enumerate() {
            let s = _mm256_set1_ps(coef(k, r0 + r));
            acc[0] = _mm256_fmadd_ps(s, v[0], acc[0]);
            acc[1] = _mm256_fmadd_ps(s, v[1], acc[1]);
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        let dst = &mut out[r0 + r];
        // SAFETY: col + 16 ≤ N (asserted above), so both 8-float stores stay inside `dst`.
        unsafe {
            _mm256_storeu_ps(dst.as_mut_ptr().add(col), acc[0]);
            _mm256_storeu_ps(dst.as_mut_ptr().add(col + LANES), acc[1]);
        }
    }
}

/// The accumulators of `Math::axpy_tile` in `__m256` registers (LLVM kept the array version's in
/// registers for 4 × 2 tiles only, and spilled 6 × 2).
///
/// # Safety
/// As [`dot_tile`]. `V` must be 8 (asserted).
#[inline(always)]
unsafe fn axpy_tile<const RT: usize, const NV: usize, const V: usize>(
    acc: &mut [[[f32; V]; NV]; RT],
    kn: usize,
    rows: SrcTile,
    coef: CoefTile,
) {
    assert!(V == LANES, "vectors of 8");
    coef.check(kn, RT);
    rows.check::<NV, LANES>(kn);
    // Plain loops, not `array::from_fn`: a closure returning `__m256` that is not inlined would
    // pass it through memory.
    let mut a = [[_mm256_setzero_ps(); NV]; RT];
    for r in 0..RT {
        for v in 0..NV {
            // SAFETY: every `acc[r][v]` is 8 floats (V = 8, asserted above).
            a[r][v] = unsafe { _mm256_loadu_ps(acc[r][v].as_ptr()) };
        }
    }
    let cp = coef.data.as_ptr();
    // SAFETY: `base` ≤ the data's length (checked above, with every row).
    let sp = unsafe { rows.data.as_ptr().add(rows.base) };
    // One loop per kind of row offset, so that the inner loop does not test it.
    match rows.offsets {
        // SAFETY (both): the rows and coefficients were checked above; in the first, k < kn ≤
        // the table's length (checked above).
        Some(t) => unsafe {
            axpy_loop::<RT, NV>(&mut a, kn, |k| t.get_unchecked(k), sp, rows, cp, coef)
        },
        None => unsafe { axpy_loop::<RT, NV>(&mut a, kn, |k| k * rows.ks, sp, rows, cp, coef) },
    }
    for r in 0..RT {
        for v in 0..NV {
            // SAFETY: as for the loads.
            unsafe { _mm256_storeu_ps(acc[r][v].as_mut_ptr(), a[r][v]) };
        }
    }
}

/// [`dot_tile`] of a length known only at run time.
///
/// # Safety
/// As [`dot_tile`]. Every row must hold `n` values (asserted once per tile).
#[inline(always)]
unsafe fn dot_tile_n<const RB: usize, const RC: usize>(
    x: [&[f32]; RB],
    w: [&[f32]; RC],
    n: usize,
) -> [[f32; RC]; RB] {
    assert!(
        x.iter().chain(&w).all(|row| row.len() >= n),
        "rows shorter than the dot product"
    );
    let mut acc = [[_mm256_setzero_ps(); RC]; RB];
    let mut k = 0;
    while k + LANES <= n {
        let mut xv = [_mm256_setzero_ps(); RB];
        for r in 0..RB {
            // SAFETY: k + 8 ≤ n ≤ the row's length (asserted above).
            xv[r] = unsafe { _mm256_loadu_ps(x[r].as_ptr().add(k)) };
        }
        for c in 0..RC {
            // SAFETY: as above.
            let wv = unsafe { _mm256_loadu_ps(w[c].as_ptr().add(k)) };
            for r in 0..RB {
                acc[r][c] = _mm256_fmadd_ps(xv[r], wv, acc[r][c]);
            }
        }
        k += LANES;
    }
    let mut out = [[0.0f32; RC]; RB];
    for r in 0..RB {
        for c in 0..RC {
            // SAFETY: AVX2 is available (this function's contract); `hsum` reads registers only.
            let mut sum = unsafe { hsum(acc[r][c]) };
            for i in k..n {
                sum = x[r][i].mul_add(w[c][i], sum);
            }
            out[r][c] = sum;
        }
    }
    out
}

/// The inner loop of [`axpy_tile`].
///
/// # Safety
/// As [`axpy_tile`], whose checks make every row's vectors from `sp + off(k)`, and every
/// coefficient readable for `k < kn`.
#[inline(always)]
unsafe fn axpy_loop<const RT: usize, const NV: usize>(
    a: &mut [[__m256; NV]; RT],
    kn: usize,
    off: impl Fn(usize) -> usize,
    sp: *const f32,
    rows: SrcTile,
    cp: *const f32,
    coef: CoefTile,
) {
    for k in 0..kn {
        let row = off(k);
        let mut xv = [_mm256_setzero_ps(); NV];
        for (v, xv) in xv.iter_mut().enumerate() {
            // SAFETY: row k holds 8·NV floats from `sp + off(k)` (checked by the caller).
            *xv = unsafe { _mm256_loadu_ps(sp.add(row + rows.vector::<LANES>(v))) };
        }
        #[allow(clippy::needless_range_loop)] // indices: the form that measured fastest
        for r in 0..RT {
            // SAFETY: k < kn and r < RT, inside `coef.data` (checked by the caller).
            let s = unsafe { _mm256_broadcast_ss(&*cp.add(k * coef.ks + r * coef.rs)) };
            for v in 0..NV {
                a[r][v] = _mm256_fmadd_ps(s, xv[v], a[r][v]);
            }
        }
    }
}

/// `Math::transpose8` with shuffles: pairs of rows interleaved, then pairs of pairs, then the
/// 128-bit halves exchanged.
///
/// # Safety
/// As [`dot_tile`]. The bounds are checked here, once.
#[inline(always)]
unsafe fn transpose8(src: &[f32], ss: usize, dst: &mut [f32], ds: usize) {
    assert!(
        ss.checked_mul(7).and_then(|e| e.checked_add(LANES)) <= Some(src.len())
            && ds.checked_mul(7).and_then(|e| e.checked_add(LANES)) <= Some(dst.len()),
        "8 x 8 block out of bounds"
    );
    let mut r = [_mm256_setzero_ps(); LANES];
    for (i, r) in r.iter_mut().enumerate() {
        // SAFETY: i·ss + 8 ≤ 7·ss + 8 ≤ src.len() (asserted above).
        *r = unsafe { _mm256_loadu_ps(src.as_ptr().add(i * ss)) };
    }
    let t = [
        _mm256_unpacklo_ps(r[0], r[1]),
        _mm256_unpackhi_ps(r[0], r[1]),
        _mm256_unpacklo_ps(r[2], r[3]),
        _mm256_unpackhi_ps(r[2], r[3]),
        _mm256_unpacklo_ps(r[4], r[5]),
        _mm256_unpackhi_ps(r[4], r[5]),
        _mm256_unpacklo_ps(r[6], r[7]),
        _mm256_unpackhi_ps(r[6], r[7]),
    ];
    let u = [
        _mm256_shuffle_ps::<0x44>(t[0], t[2]),
        _mm256_shuffle_ps::<0xEE>(t[0], t[2]),
        _mm256_shuffle_ps::<0x44>(t[1], t[3]),
        _mm256_shuffle_ps::<0xEE>(t[1], t[3]),
        _mm256_shuffle_ps::<0x44>(t[4], t[6]),
        _mm256_shuffle_ps::<0xEE>(t[4], t[6]),
        _mm256_shuffle_ps::<0x44>(t[5], t[7]),
        _mm256_shuffle_ps::<0xEE>(t[5], t[7]),
    ];
    let out = [
        _mm256_permute2f128_ps::<0x20>(u[0], u[4]),
        _mm256_permute2f128_ps::<0x20>(u[1], u[5]),
        _mm256_permute2f128_ps::<0x20>(u[2], u[6]),
        _mm256_permute2f128_ps::<0x20>(u[3], u[7]),
        _mm256_permute2f128_ps::<0x31>(u[0], u[4]),
        _mm256_permute2f128_ps::<0x31>(u[1], u[5]),
        _mm256_permute2f128_ps::<0x31>(u[2], u[6]),
        _mm256_permute2f128_ps::<0x31>(u[3], u[7]),
    ];
    for (j, o) in out.iter().enumerate() {
        // SAFETY: j·ds + 8 ≤ 7·ds + 8 ≤ dst.len() (asserted above).
        unsafe { _mm256_storeu_ps(dst.as_mut_ptr().add(j * ds), *o) };
    }
}
