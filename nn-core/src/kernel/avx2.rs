//! AVX2 + FMA versions of the GEMM tiles, with `__m256` accumulators that LLVM keeps in registers.
//! Same tiles, same summation order as the portable versions in `gemm.rs`, with fused
//! multiply-adds. Only reached through `Fused`, i.e. inside `run_avx2_fma` after the CPU check.

use core::arch::x86_64::*;

use super::gemm::{LANES, STRIP};

/// # Safety
/// The CPU must support AVX2 and FMA, and the caller must be compiled with them (inlined into a
/// `#[target_feature(enable = "avx2,fma")]` function).
#[inline(always)]
pub(super) unsafe fn dot_tile<const RB: usize, const RC: usize, const I: usize>(
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
/// As [`dot_tile`]; and `col + STRIP ≤ N`.
#[inline(always)]
pub(super) unsafe fn combine_tile<
    const RR: usize,
    const N: usize,
    const K: usize,
    const R: usize,
>(
    rows: &[[f32; N]; K],
    coef: impl Fn(usize, usize) -> f32,
    out: &mut [[f32; N]; R],
    r0: usize,
    col: usize,
) {
    debug_assert!(col + STRIP <= N);
    let mut acc = [[_mm256_setzero_ps(); 2]; RR];
    for (k, row) in rows.iter().enumerate() {
        // SAFETY: col + 16 ≤ N.
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
        // SAFETY: col + 16 ≤ N.
        unsafe {
            _mm256_storeu_ps(dst.as_mut_ptr().add(col), acc[0]);
            _mm256_storeu_ps(dst.as_mut_ptr().add(col + LANES), acc[1]);
        }
    }
}
