//! AVX2 + FMA arithmetic: the `Fused` math and its GEMM tiles, with `__m256` accumulators that LLVM
//! keeps in registers. Same tiles, same summation order as the portable versions in `gemm.rs`, with
//! fused multiply-adds. Where the CPU has AVX-512, `Fused<true>` runs the same kernels compiled for
//! AVX-512 (LLVM's own loops get 512-bit registers and 32 of them), with 16-wide dense-product tiles
//! (`dot_tile16_n`, `combine_tile16` below, masked tails); the convolution tiles stay 8 wide.
//!
//! The safety of everything here rests on one invariant: AVX2 (AVX-512) instructions run only on a
//! CPU that has them. Privacy enforces it: `Fused` (the only way to reach the intrinsics) is private
//! to this module, and the only code that names it is [`run`], which checks the CPU first and names
//! `Fused<true>` (the only one that reaches AVX-512 instructions) only after finding AVX-512. No
//! other code in the crate can instantiate a kernel with `Fused`, so no safe call can reach an
//! instruction the CPU lacks.

use core::arch::x86_64::*;

use super::gemm::{Coef, Pass, Rows, RowsMut, LANES, STRIP};
use super::{CoefTile, Kernel, Math, Simd, SrcTile};

/// Runs `kernel` with AVX-512 or AVX2 + FMA arithmetic, the best this CPU has (and the environment
/// allows, see `super::simd`); otherwise hands it back.
#[inline]
pub(super) fn run<K: Kernel>(kernel: K) -> Result<(), K> {
    match super::simd() {
        Simd::None => return Err(kernel),
        // SAFETY: `simd` answers `Avx2` only if the CPU supports AVX2 and FMA, which is all that
        // `#[target_feature(enable = "avx2,fma")]` requires of the caller.
        Simd::Avx2 => unsafe { run_avx2_fma(kernel) },
        // SAFETY: `simd` answers `Avx512` only if the CPU supports AVX-512 F, VL and BW as well as
        // AVX2 and FMA: everything `run_avx512` enables.
        Simd::Avx512 => unsafe { run_avx512(kernel) },
    }
    Ok(())
}

/// Runs `kernel` with AVX-512 if [`run`] would (the CPU has it and the environment allows);
/// otherwise hands it back. For a kernel compiled, for AVX-512 only, in the caller's crate.
#[inline(always)]
pub(super) fn run_zmm<K: Kernel>(kernel: K) -> Result<(), K> {
    if super::simd() != Simd::Avx512 {
        return Err(kernel);
    }
    // SAFETY: `simd` answered `Avx512`: the CPU supports everything `run_avx512` enables (as in
    // `run`).
    unsafe { run_avx512(kernel) };
    Ok(())
}

#[target_feature(enable = "avx2,fma")]
fn run_avx2_fma<K: Kernel>(kernel: K) {
    kernel.run::<Fused<false>>()
}

#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx2,fma")]
fn run_avx512<K: Kernel>(kernel: K) {
    kernel.run::<Fused<true>>()
}

/// Fused multiply-add and the hardware square root, and the AVX2 tiles; with `ZMM`, the 16-wide
/// AVX-512 tiles for the dense products. Private: only `run_avx2_fma` and `run_avx512` (so only
/// after the CPU check in [`run`]) execute code with it, and only `run_avx512` with `Fused<true>`.
struct Fused<const ZMM: bool>;

impl<const ZMM: bool> Math for Fused<ZMM> {
    const WIDE: bool = true;
    const ZMM: bool = ZMM;

    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
    #[inline(always)]
    fn sqrt(x: f32) -> f32 {
        x.sqrt()
    }

    #[inline(always)]
    fn exp_in_place(v: &mut [f32]) {
        if ZMM {
            // SAFETY: `Fused<true>` runs only inside `run_avx512`, after the CPU check found
            // AVX-512 (module docs); `exp16_in_place` checks its own bounds.
            unsafe { exp16_in_place(v) }
        } else {
            for v in v {
                *v = libm::expf(*v);
            }
        }
    }

    #[inline(always)]
    fn softmax16(z: &mut [f32], width: usize) -> bool {
        // SAFETY: as in `exp_in_place` above; `softmax16` checks its own bounds.
        ZMM && unsafe { softmax16(z, width) }
    }

    #[inline(always)]
    fn transpose8(src: &[f32], ss: usize, dst: &mut [f32], ds: usize) {
        // SAFETY: `Fused` runs only inside `run_avx2_fma` or `run_avx512`, after the CPU check
        // (module docs); `transpose8` checks the bounds.
        unsafe { transpose8(src, ss, dst, ds) }
    }

    #[inline(always)]
    fn dot_tile_n<const RB: usize, const RC: usize>(
        x: [&[f32]; RB],
        w: [&[f32]; RC],
        n: usize,
    ) -> [[f32; RC]; RB] {
        if ZMM {
            // SAFETY: as in `exp_in_place` above; `dot_tile16_n` checks the rows' lengths.
            unsafe { dot_tile16_n(x, w, n) }
        } else {
            // SAFETY: as in `transpose8` above; `dot_tile_n` checks the rows' lengths.
            unsafe { dot_tile_n(x, w, n) }
        }
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
    fn combine_tile<const RR: usize, const NS: usize>(
        rows: Rows,
        coef: Coef,
        out: &mut RowsMut,
        r0: usize,
        col: usize,
        pass: &Pass,
    ) {
        if ZMM {
            // SAFETY: as in `exp_in_place` above; `combine_tile16` checks its own bounds.
            unsafe { combine_tile16::<RR, NS>(rows, coef, out, r0, col, pass) }
        } else {
            for s in 0..NS {
                // SAFETY: as above; `combine_tile` checks its own bounds.
                unsafe { combine_tile::<RR>(rows, coef, out, r0, col + s * STRIP, pass) }
            }
        }
    }
}

/// `((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7))`, the portable order.
///
/// # Safety
/// As [`dot_tile_n`].
#[inline(always)]
unsafe fn hsum(a: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps::<1>(a)); // a_i + a_{i+4}
    let t = _mm_add_ps(s, _mm_movehl_ps(s, s)); // (s0+s2, s1+s3, ..)
    _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps::<0b01>(t, t)))
}

/// # Safety
/// As [`dot_tile_n`]. The column range is checked here (`col + STRIP` within the rows of both
/// matrices, once per tile), so a wrong `col` panics, as in the portable twin, instead of reading
/// out of bounds.
#[inline(always)]
unsafe fn combine_tile<const RR: usize>(
    rows: Rows,
    coef: Coef,
    out: &mut RowsMut,
    r0: usize,
    col: usize,
    pass: &Pass,
) {
    let n = rows.width();
    assert!(
        col + STRIP <= n
            && out.width() == n
            && pass.ks.end <= rows.count()
            && r0 + RR <= out.count(),
        "tile out of bounds"
    );
    coef.check(&pass.ks, r0, RR);
    let mut acc = [[_mm256_setzero_ps(); 2]; RR];
    if pass.add {
        for (r, acc) in acc.iter_mut().enumerate() {
            let src = out.row(r0 + r);
            // SAFETY: col + 16 ≤ n, the row's length (asserted above), so both 8-float loads
            // stay inside `src`.
            unsafe {
                acc[0] = _mm256_loadu_ps(src.as_ptr().add(col));
                acc[1] = _mm256_loadu_ps(src.as_ptr().add(col + LANES));
            }
        }
    }
    for k in pass.ks.clone() {
        // SAFETY: k < ks.end ≤ the row count and col + 16 ≤ n, the rows' length (asserted
        // above), and `rows` holds count · n values (`Rows::new`, the only way to make one), so
        // both 8-float loads stay inside row k.
        let v = unsafe {
            let row = rows.as_ptr().add(k * n + col);
            [_mm256_loadu_ps(row), _mm256_loadu_ps(row.add(LANES))]
        };
        for (r, acc) in acc.iter_mut().enumerate() {
            // SAFETY: `coef.check` above covered this k and r.
            let s = _mm256_set1_ps(unsafe { coef.get_unchecked(k, r0 + r) });
            acc[0] = _mm256_fmadd_ps(s, v[0], acc[0]);
            acc[1] = _mm256_fmadd_ps(s, v[1], acc[1]);
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        let dst = out.row(r0 + r);
        // SAFETY: col + 16 ≤ n, the row's length (asserted above), so both 8-float stores stay
        // inside `dst`.
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
/// As [`dot_tile_n`]. `V` must be 8 (asserted).
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

/// `RB × RC` dot products of the rows' first `n` values with 8-float accumulators, each
/// reduced by [`hsum`] in the portable order, then the tail: the same sums as `gemm::dot_tile_n`,
/// fused.
///
/// # Safety
/// The CPU must support AVX2 and FMA, and the caller must be compiled with them (inlined into a
/// `#[target_feature(enable = "avx2,fma")]` function). Every row must hold `n` values (asserted
/// once per tile).
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
    // Two steps per iteration, as in `dot16`.
    while k + 2 * LANES <= n {
        // SAFETY: k + 16 ≤ n ≤ the row's length (asserted above).
        unsafe {
            dot8_step(&x, &w, k, &mut acc);
            dot8_step(&x, &w, k + LANES, &mut acc);
        }
        k += 2 * LANES;
    }
    if k + LANES <= n {
        // SAFETY: k + 8 ≤ n ≤ the row's length (asserted above).
        unsafe { dot8_step(&x, &w, k, &mut acc) };
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

/// One 8-value step of [`dot_tile_n`]: values `k..k + 8` of every row into the accumulators.
///
/// # Safety
/// As [`dot_tile_n`], and every row holds at least `k + 8` values.
#[inline(always)]
unsafe fn dot8_step<const RB: usize, const RC: usize>(
    x: &[&[f32]; RB],
    w: &[&[f32]; RC],
    k: usize,
    acc: &mut [[__m256; RC]; RB],
) {
    let mut xv = [_mm256_setzero_ps(); RB];
    for r in 0..RB {
        // SAFETY: k + 8 ≤ the row's length (the contract).
        xv[r] = unsafe { _mm256_loadu_ps(x[r].as_ptr().add(k)) };
    }
    for c in 0..RC {
        // SAFETY: as above.
        let wv = unsafe { _mm256_loadu_ps(w[c].as_ptr().add(k)) };
        for r in 0..RB {
            acc[r][c] = _mm256_fmadd_ps(xv[r], wv, acc[r][c]);
        }
    }
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
/// As [`dot_tile_n`]. The bounds are checked here, once.
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

/// Floats in a 512-bit register.
const LANES16: usize = 16;

/// The first `n` (< 16) lanes.
#[inline(always)]
fn tail_mask(n: usize) -> __mmask16 {
    debug_assert!(n < LANES16);
    ((1u32 << n) - 1) as __mmask16
}

/// [`dot_tile_n`] with 16-float vectors: the last `n mod 16` values through masked loads
/// (masked-off lanes are neither read nor faulted on, and add zeros), then one horizontal sum per
/// dot product. The order of the sums is fixed by `n` alone, so a dot product gives the same
/// result in every tile and on every thread, but not the same as the 8-wide version.
///
/// # Safety
/// The CPU must support AVX-512 F, and the caller must be compiled with it (inlined into
/// `run_avx512`). Every row must hold `n` values (asserted once per tile).
#[inline(always)]
unsafe fn dot_tile16_n<const RB: usize, const RC: usize>(
    x: [&[f32]; RB],
    w: [&[f32]; RC],
    n: usize,
) -> [[f32; RC]; RB] {
    assert!(
        x.iter().chain(&w).all(|row| row.len() >= n),
        "rows shorter than the dot product"
    );
    // SAFETY: the caller's contract, and the rows' lengths just asserted.
    unsafe { dot16::<RB, RC>(x, w, n) }
}

/// The body of [`dot_tile16_n`].
///
/// # Safety
/// As [`dot_tile16_n`], and every row holds at least `n` values.
#[inline(always)]
unsafe fn dot16<const RB: usize, const RC: usize>(
    x: [&[f32]; RB],
    w: [&[f32]; RC],
    n: usize,
) -> [[f32; RC]; RB] {
    let mut acc = [[_mm512_setzero_ps(); RC]; RB];
    let mut k = 0;
    // Two steps per iteration: with `n` known only at run time LLVM no longer unrolled the loop
    // itself (batch-1 inference 10 % slower than at a constant length). Same order of sums.
    while k + 2 * LANES16 <= n {
        // SAFETY: k + 32 ≤ n ≤ every row's length (the contract).
        unsafe {
            dot16_step(&x, &w, k, &mut acc);
            dot16_step(&x, &w, k + LANES16, &mut acc);
        }
        k += 2 * LANES16;
    }
    if k + LANES16 <= n {
        // SAFETY: k + 16 ≤ n ≤ the row's length (the contract).
        unsafe { dot16_step(&x, &w, k, &mut acc) };
        k += LANES16;
    }
    if k < n {
        let m = tail_mask(n - k);
        let mut xv = [_mm512_setzero_ps(); RB];
        for r in 0..RB {
            // SAFETY: the mask selects lanes k..n, inside the row (the contract); masked-off lanes
            // are not accessed.
            xv[r] = unsafe { _mm512_maskz_loadu_ps(m, x[r].as_ptr().add(k)) };
        }
        for c in 0..RC {
            // SAFETY: as above.
            let wv = unsafe { _mm512_maskz_loadu_ps(m, w[c].as_ptr().add(k)) };
            for r in 0..RB {
                acc[r][c] = _mm512_fmadd_ps(xv[r], wv, acc[r][c]);
            }
        }
    }
    let mut out = [[0.0f32; RC]; RB];
    for r in 0..RB {
        let mut c = 0;
        while c + 4 <= RC {
            // SAFETY: this function's contract (AVX-512 F).
            let sums = unsafe { reduce4(acc[r][c], acc[r][c + 1], acc[r][c + 2], acc[r][c + 3]) };
            out[r][c..c + 4].copy_from_slice(&sums);
            c += 4;
        }
        while c < RC {
            out[r][c] = _mm512_reduce_add_ps(acc[r][c]);
            c += 1;
        }
    }
    out
}

/// One 16-value step of [`dot16`]: values `k..k + 16` of every row into the accumulators.
///
/// # Safety
/// As [`dot16`], and every row holds at least `k + 16` values.
#[inline(always)]
unsafe fn dot16_step<const RB: usize, const RC: usize>(
    x: &[&[f32]; RB],
    w: &[&[f32]; RC],
    k: usize,
    acc: &mut [[__m512; RC]; RB],
) {
    let mut xv = [_mm512_setzero_ps(); RB];
    for r in 0..RB {
        // SAFETY: k + 16 ≤ n ≤ the row's length (the contract).
        xv[r] = unsafe { _mm512_loadu_ps(x[r].as_ptr().add(k)) };
    }
    for c in 0..RC {
        // SAFETY: as above.
        let wv = unsafe { _mm512_loadu_ps(w[c].as_ptr().add(k)) };
        for r in 0..RB {
            acc[r][c] = _mm512_fmadd_ps(xv[r], wv, acc[r][c]);
        }
    }
}

/// The sums of four vectors, each by `_mm512_reduce_add_ps`'s tree (lane `i` + lane `i + 8`,
/// then `+ 4`, `+ 2`, `+ 1`), so bit-for-bit what it gives, but the four trees share their
/// shuffles and adds: 13 instructions instead of ~36 (a 6 × 4 forward tile ends in 24 sums).
/// Tested against it in `reduce4_is_four_reduce_add_ps`.
///
/// # Safety
/// As [`dot_tile16_n`].
#[inline(always)]
unsafe fn reduce4(a: __m512, b: __m512, c: __m512, d: __m512) -> [f32; 4] {
    // SAFETY (the whole body): registers only, but for the store into `sums`, which holds the
    // 4 floats stored.
    unsafe { reduce4_body(a, b, c, d) }
}

/// The body of [`reduce4`].
///
/// # Safety
/// As [`dot_tile16_n`].
#[inline(always)]
unsafe fn reduce4_body(a: __m512, b: __m512, c: __m512, d: __m512) -> [f32; 4] {
    // [a 0..8 | b 0..8] + [a 8..16 | b 8..16], as four 128-bit quarters each.
    let ab = _mm512_add_ps(
        _mm512_shuffle_f32x4::<0b01_00_01_00>(a, b),
        _mm512_shuffle_f32x4::<0b11_10_11_10>(a, b),
    );
    let cd = _mm512_add_ps(
        _mm512_shuffle_f32x4::<0b01_00_01_00>(c, d),
        _mm512_shuffle_f32x4::<0b11_10_11_10>(c, d),
    );
    // Quarter q: lanes 0..4 + lanes 4..8 of vector q's 8 partial sums.
    let t = _mm512_add_ps(
        _mm512_shuffle_f32x4::<0b10_00_10_00>(ab, cd),
        _mm512_shuffle_f32x4::<0b11_01_11_01>(ab, cd),
    );
    // Within each quarter: lane 0 + lane 2 and 1 + 3, then those two.
    let u = _mm512_add_ps(t, _mm512_permute_ps::<0b01_00_11_10>(t));
    let r = _mm512_add_ps(u, _mm512_permute_ps::<0b10_11_00_01>(u));
    let mut sums = [0.0f32; 4];
    let packed = _mm512_castps512_ps128(_mm512_maskz_compress_ps(0x1111, r));
    // SAFETY: `sums` holds the 4 floats stored.
    unsafe { _mm_storeu_ps(sums.as_mut_ptr(), packed) };
    sums
}

/// [`combine_tile`] with one 16-float vector per row and strip instead of two of 8 (same sums,
/// so the same results), over `NS` strips at once: each broadcast coefficient then feeds `NS`
/// multiply-adds and each loaded row vector `RR` (with `NS = 1`, four loads for four
/// multiply-adds, and four accumulators, too few chains to hide the latency).
///
/// # Safety
/// As [`dot_tile16_n`]. The column range is checked here, as in [`combine_tile`].
#[inline(always)]
unsafe fn combine_tile16<const RR: usize, const NS: usize>(
    rows: Rows,
    coef: Coef,
    out: &mut RowsMut,
    r0: usize,
    col: usize,
    pass: &Pass,
) {
    const { assert!(STRIP == LANES16) };
    let n = rows.width();
    assert!(
        col + NS * STRIP <= n
            && out.width() == n
            && pass.ks.end <= rows.count()
            && r0 + RR <= out.count(),
        "tile out of bounds"
    );
    coef.check(&pass.ks, r0, RR);
    let mut acc = [[_mm512_setzero_ps(); NS]; RR];
    if pass.add {
        for (r, acc) in acc.iter_mut().enumerate() {
            let src = out.row(r0 + r);
            for (s, acc) in acc.iter_mut().enumerate() {
                // SAFETY: col + NS · 16 ≤ n, the row's length (asserted above), so the load
                // stays inside `src`.
                *acc = unsafe { _mm512_loadu_ps(src.as_ptr().add(col + s * STRIP)) };
            }
        }
    }
    for k in pass.ks.clone() {
        // A loop, not `array::from_fn`: its closure was not always inlined into `run_avx512` (a
        // call per row, 784-512-512-10 training 30 % slower).
        let mut v = [_mm512_setzero_ps(); NS];
        for (s, v) in v.iter_mut().enumerate() {
            // SAFETY: k < ks.end ≤ the row count and col + NS · 16 ≤ n, the rows' length
            // (asserted above), and `rows` holds count · n values (`Rows::new`, the only way to
            // make one), so every load stays inside row k.
            *v = unsafe { _mm512_loadu_ps(rows.as_ptr().add(k * n + col + s * STRIP)) };
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            // SAFETY: `coef.check` above covered this k and r.
            let c = _mm512_set1_ps(unsafe { coef.get_unchecked(k, r0 + r) });
            for (acc, v) in acc.iter_mut().zip(v) {
                *acc = _mm512_fmadd_ps(c, v, *acc);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        let dst = out.row(r0 + r);
        for (s, acc) in acc.iter().enumerate() {
            // SAFETY: col + NS · 16 ≤ n, the row's length (asserted above), so the store stays
            // inside `dst`.
            unsafe { _mm512_storeu_ps(dst.as_mut_ptr().add(col + s * STRIP), *acc) };
        }
    }
}

/// `libm::expf` on every value, 16 at a time (batch-128 inference of 784-64-10 spent a tenth of its
/// time in the scalar softmax), through [`exp16`].
///
/// # Safety
/// As [`dot_tile16_n`].
#[inline(always)]
unsafe fn exp16_in_place(v: &mut [f32]) {
    let mut i = 0;
    while i < v.len() {
        let t = (v.len() - i).min(LANES16);
        let m = ((1u32 << t) - 1) as __mmask16;
        // SAFETY: `i + t ≤ v.len()`, and the masked lanes `t..` are neither read nor written
        // (they hold 0 in between).
        unsafe {
            let p = v.as_mut_ptr().add(i);
            _mm512_mask_storeu_ps(p, m, exp16(_mm512_maskz_loadu_ps(m, p)));
        }
        i += t;
    }
}

/// `libm::expf` of every lane: [`expf16`], and libm itself for the lanes it declines.
///
/// # Safety
/// As [`dot_tile16_n`].
#[inline(always)]
unsafe fn exp16(x: __m512) -> __m512 {
    let (y, fine) = expf16(x);
    if fine == u16::MAX {
        return y;
    }
    let (mut xs, mut ys) = ([0.0f32; LANES16], [0.0f32; LANES16]);
    // SAFETY: both arrays hold 16 floats.
    unsafe {
        _mm512_storeu_ps(xs.as_mut_ptr(), x);
        _mm512_storeu_ps(ys.as_mut_ptr(), y);
    }
    for (l, y) in ys.iter_mut().enumerate() {
        if fine & (1 << l) == 0 {
            *y = libm::expf(xs[l]);
        }
    }
    // SAFETY: as above.
    unsafe { _mm512_loadu_ps(ys.as_ptr()) }
}

/// `Math::softmax16`: 16 rows of `width ≤ 16` values, row `r` in lane `r` (gathered by column),
/// every step the scalar row's: the maximum (exact in any order; NaN rows go back to the caller,
/// as `vmaxps` treats NaN unlike `f32::max`), the differences, [`exp16`], the sum from `0.0` in
/// column order, one division, the products.
///
/// # Safety
/// As [`dot_tile16_n`].
#[inline(always)]
unsafe fn softmax16(z: &mut [f32], width: usize) -> bool {
    if width == 0 || width > LANES16 || z.len() != LANES16 * width {
        return false;
    }
    // Lane r reads and writes `z[r · width + j]` for column j < width: below 16 · width = z.len().
    let idx = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(width as i32),
    );
    let mut col = [_mm512_setzero_ps(); LANES16];
    let mut max = _mm512_set1_ps(f32::NEG_INFINITY);
    let mut nan = 0;
    for (j, col) in col.iter_mut().enumerate().take(width) {
        // SAFETY: every lane's index is in bounds (above).
        *col = unsafe { _mm512_i32gather_ps::<4>(idx, z.as_ptr().add(j).cast()) };
        nan |= _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(*col, *col);
        max = _mm512_max_ps(max, *col);
    }
    if nan != 0 {
        return false;
    }
    let mut sum = _mm512_setzero_ps();
    for col in col.iter_mut().take(width) {
        let x = _mm512_sub_ps(*col, max);
        // SAFETY: as this function's.
        let e = unsafe { exp16(x) };
        sum = _mm512_add_ps(sum, e);
        *col = e;
    }
    let inv = _mm512_div_ps(_mm512_set1_ps(1.0), sum);
    for (j, col) in col.iter().enumerate().take(width) {
        // SAFETY: as for the gathers.
        unsafe {
            _mm512_i32scatter_ps::<4>(z.as_mut_ptr().add(j).cast(), idx, _mm512_mul_ps(*col, inv))
        };
    }
    true
}

/// libm's `expf` (FreeBSD's `e_expf.c`) in 16 lanes: the same f32 operations in the same order
/// (no fused multiply-adds), its branches as masks, so each lane is `libm::expf`'s value bit for
/// bit. Valid for `|x| < 87.33655` (the second result's lanes); beyond, where libm's special
/// cases for overflow, underflow and NaN begin, the caller asks libm.
///
/// # Safety
/// As [`dot_tile16_n`].
#[inline(always)]
unsafe fn expf16(x: __m512) -> (__m512, __mmask16) {
    // e_expf.c's constants by their bits (`exp_is_libms_bit_for_bit` checks its decimals).
    const LN2_HI: f32 = f32::from_bits(0x3f31_7200);
    const LN2_LO: f32 = f32::from_bits(0x35bf_be8e);
    const INV_LN2: f32 = f32::from_bits(0x3fb8_aa3b);
    const P1: f32 = f32::from_bits(0x3e2a_aa8f);
    const P2: f32 = f32::from_bits(0xbb35_5215);
    let f = _mm512_set1_ps;
    let i = _mm512_set1_epi32;
    let bits = _mm512_castps_si512(x);
    let hx = _mm512_and_si512(bits, i(0x7fff_ffff));
    let fine = _mm512_cmplt_epi32_mask(hx, i(0x42ae_ac50));
    let neg = _mm512_cmplt_epi32_mask(bits, _mm512_setzero_si512());
    // Argument reduction: k = trunc(x / ln 2 ± ½) where |x| > 1.5 ln 2, ±1 where |x| > ½ ln 2,
    // else 0 (then hi = x and lo = 0, as libm's own branch has them).
    let half = _mm512_mask_blend_ps(neg, f(0.5), f(-0.5));
    let k_far = _mm512_cvttps_epi32(_mm512_add_ps(_mm512_mul_ps(f(INV_LN2), x), half));
    let k_near = _mm512_mask_blend_epi32(neg, i(1), i(-1));
    let far = _mm512_cmpgt_epi32_mask(hx, i(0x3f85_1592));
    let near = _mm512_cmpgt_epi32_mask(hx, i(0x3eb1_7218));
    let k = _mm512_mask_blend_epi32(far, _mm512_maskz_mov_epi32(near, k_near), k_far);
    let kf = _mm512_cvtepi32_ps(k);
    let hi = _mm512_sub_ps(x, _mm512_mul_ps(kf, f(LN2_HI)));
    let lo = _mm512_mul_ps(kf, f(LN2_LO));
    let r = _mm512_sub_ps(hi, lo);
    let rr = _mm512_mul_ps(r, r);
    let c = _mm512_sub_ps(
        r,
        _mm512_mul_ps(rr, _mm512_add_ps(f(P1), _mm512_mul_ps(rr, f(P2)))),
    );
    let q = _mm512_div_ps(_mm512_mul_ps(r, c), _mm512_sub_ps(f(2.0), c));
    let y = _mm512_add_ps(f(1.0), _mm512_add_ps(_mm512_sub_ps(q, lo), hi));
    // scalbnf(y, k) for -126 ≤ k ≤ 126: one multiplication by 2^k (by 1 where k = 0).
    let scale = _mm512_castsi512_ps(_mm512_slli_epi32::<23>(_mm512_add_epi32(k, i(0x7f))));
    let y = _mm512_mul_ps(y, scale);
    // |x| ≤ 2^-14: 1 + x.
    let tiny = _mm512_cmple_epi32_mask(hx, i(0x3900_0000));
    (
        _mm512_mask_blend_ps(tiny, y, _mm512_add_ps(f(1.0), x)),
        fine,
    )
}

#[cfg(test)]
mod tests {
    //! The AVX2 and AVX-512 kernels against the portable ones, in one process whatever the
    //! environment says (the test names `run_avx2_fma` and `run_avx512` itself, after the same CPU
    //! check as [`run`]).

    use super::super::{detect_simd, Affine, AffineBackward, Kernel, Math, Portable, Simd};
    use super::{run_avx2_fma, run_avx512};
    use crate::rng::Rng;
    use std::prelude::rust_2021::*;
    use std::{format, println, vec};

    /// `RB × RC` dot products of random rows of length `n`, through `Math::dot_tile_n`.
    struct Dots<'a> {
        x: &'a [f32],
        w: &'a [f32],
        n: usize,
        out: &'a mut [[f32; 4]; 3],
    }

    impl Kernel for Dots<'_> {
        #[inline(always)]
        fn run<M: Math>(self) {
            let n = self.n;
            let x = core::array::from_fn(|r| &self.x[r * n..][..n]);
            let w = core::array::from_fn(|c| &self.w[c * n..][..n]);
            *self.out = M::dot_tile_n::<3, 4>(x, w, n);
        }
    }

    /// The arithmetics this CPU has: 0 portable, 1 AVX2, 2 AVX-512.
    /// `R` rows of `N` values drawn uniformly from [-1, 1).
    fn uniform_rows<const N: usize, const R: usize>(rng: &mut Rng) -> Box<[[f32; N]; R]> {
        Box::new(core::array::from_fn(|_| {
            core::array::from_fn(|_| rng.uniform(-1.0, 1.0))
        }))
    }

    fn paths() -> Vec<usize> {
        match detect_simd() {
            Simd::None => vec![0],
            Simd::Avx2 => vec![0, 1],
            Simd::Avx512 => vec![0, 1, 2],
        }
    }

    const NAMES: [&str; 3] = ["portable", "avx2", "avx512"];

    /// Runs `kernel` with arithmetic `path`, which must be one of [`paths`].
    fn run_on<K: Kernel>(path: usize, kernel: K) {
        assert!(paths().contains(&path), "this CPU lacks {}", NAMES[path]);
        match path {
            0 => kernel.run::<Portable>(),
            // SAFETY: `detect_simd` found AVX2 and FMA (asserted above).
            1 => unsafe { run_avx2_fma(kernel) },
            // SAFETY: `detect_simd` found AVX-512 F/VL/BW, AVX2 and FMA (asserted above).
            _ => unsafe { run_avx512(kernel) },
        }
    }

    fn random(rng: &mut Rng, n: usize) -> Vec<f32> {
        (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
    }

    /// `got` within rounding of `want`, both sums of `n` products whose absolute values sum to
    /// `mag`: each ordering's error is below `n · ε · mag` (ε: f32's machine epsilon).
    #[track_caller]
    fn close(got: f32, want: f32, n: usize, mag: f32, what: &str) {
        let tol = (n.max(1) as f32) * f32::EPSILON * mag + f32::MIN_POSITIVE;
        assert!(
            (got - want).abs() <= tol,
            "{what}: {got} vs portable {want} (tolerance {tol})"
        );
    }

    fn note_missing() {
        match detect_simd() {
            Simd::Avx512 => {}
            Simd::Avx2 => println!("note: this CPU has no AVX-512; only AVX2 compared"),
            Simd::None => println!("note: this CPU has neither AVX2 nor AVX-512; nothing compared"),
        }
    }

    #[test]
    fn dot_tiles_match_portable_on_random_lengths() {
        note_missing();
        let mut rng = Rng::new(17);
        let mut lengths: Vec<usize> = (0..40).collect();
        lengths.extend([47, 63, 64, 65, 100, 255, 784, 785, 799]);
        lengths.extend((0..20).map(|_| rng.below(1000)));
        for n in lengths {
            let x = random(&mut rng, 3 * n);
            let w = random(&mut rng, 4 * n);
            let mut p = [[0.0; 4]; 3];
            run_on(
                0,
                Dots {
                    x: &x,
                    w: &w,
                    n,
                    out: &mut p,
                },
            );
            for path in paths().into_iter().skip(1) {
                let mut got = [[0.0; 4]; 3];
                run_on(
                    path,
                    Dots {
                        x: &x,
                        w: &w,
                        n,
                        out: &mut got,
                    },
                );
                for r in 0..3 {
                    for c in 0..4 {
                        let mag = (0..n).map(|i| (x[r * n + i] * w[c * n + i]).abs()).sum();
                        let what = format!("{} n={n} ({r},{c})", NAMES[path]);
                        close(got[r][c], p[r][c], n, mag, &what);
                    }
                }
            }
        }
    }

    /// The dense layer's forward and backward kernels, whole, on sizes with every kind of tail
    /// (inputs not a multiple of 16 or 8, outputs not a multiple of 4, batches not of 3).
    fn dense_case<const I: usize, const O: usize, const B: usize>(seed: u64) {
        let mut rng = Rng::new(seed);
        let weight: Box<[[f32; I]; O]> = uniform_rows(&mut rng);
        let bias: [f32; O] = core::array::from_fn(|_| rng.uniform(-1.0, 1.0));
        let x: Box<[[f32; I]; B]> = uniform_rows(&mut rng);
        let dz: Box<[[f32; O]; B]> = uniform_rows(&mut rng);
        type Outs<const I: usize, const O: usize, const B: usize> =
            (Box<[[f32; O]; B]>, Box<[[f32; I]; O]>, Box<[[f32; I]; B]>);
        let mut outs: Vec<Outs<I, O, B>> = Vec::new();
        let paths = paths();
        for &path in &paths {
            let mut y = Box::new([[0.0f32; O]; B]);
            let mut dw = Box::new([[0.0f32; I]; O]);
            let mut db = [0.0f32; O];
            let mut dx = Box::new([[0.0f32; I]; B]);
            let fwd = Affine {
                weight: &weight,
                bias: &bias,
                x: &x,
                y: &mut y,
            };
            let bwd = AffineBackward {
                weight: &weight,
                x: &x,
                dz: &dz,
                d_weight: &mut dw,
                d_bias: &mut db,
                dx: Some(&mut dx),
                continues: false,
            };
            run_on(path, fwd);
            run_on(path, bwd);
            outs.push((y, dw, dx));
        }
        let (py, pdw, pdx) = &outs[0];
        for (&path, (y, dw, dx)) in paths.iter().zip(&outs).skip(1) {
            let name = NAMES[path];
            for b in 0..B {
                for o in 0..O {
                    let mag =
                        bias[o].abs() + (0..I).map(|i| (x[b][i] * weight[o][i]).abs()).sum::<f32>();
                    close(
                        y[b][o],
                        py[b][o],
                        I + 1,
                        mag,
                        &format!("{name} y[{b}][{o}] I={I}"),
                    );
                }
            }
            for o in 0..O {
                for i in 0..I {
                    let mag = (0..B).map(|b| (dz[b][o] * x[b][i]).abs()).sum();
                    close(
                        dw[o][i],
                        pdw[o][i],
                        B,
                        mag,
                        &format!("{name} dW[{o}][{i}] I={I}"),
                    );
                }
            }
            for b in 0..B {
                for i in 0..I {
                    let mag = (0..O).map(|o| (dz[b][o] * weight[o][i]).abs()).sum();
                    close(
                        dx[b][i],
                        pdx[b][i],
                        O,
                        mag,
                        &format!("{name} dx[{b}][{i}] I={I}"),
                    );
                }
            }
        }
    }

    #[test]
    fn dense_kernels_match_portable_with_tails() {
        note_missing();
        dense_case::<1, 1, 1>(1);
        dense_case::<7, 3, 2>(2);
        dense_case::<16, 4, 3>(3);
        dense_case::<37, 5, 7>(4);
        dense_case::<100, 10, 1>(5);
        dense_case::<250, 13, 20>(6);
        dense_case::<784, 64, 4>(7);
        dense_case::<64, 10, 128>(8);
        dense_case::<37, 5, 130>(9);
    }

    /// The four-at-once horizontal sums are `_mm512_reduce_add_ps`'s, bit for bit, on values of
    /// every magnitude (where the order of the additions shows).
    #[test]
    fn reduce4_is_four_reduce_add_ps() {
        if detect_simd() != Simd::Avx512 {
            return note_missing();
        }
        #[target_feature(enable = "avx512f")]
        fn check(v: &[[f32; 16]; 4]) {
            use core::arch::x86_64::{_mm512_loadu_ps, _mm512_reduce_add_ps};
            let load = |i: usize| {
                // SAFETY: 16 floats.
                unsafe { _mm512_loadu_ps(v[i].as_ptr()) }
            };
            // SAFETY: AVX-512 F is there (the caller checked).
            let got = unsafe { super::reduce4(load(0), load(1), load(2), load(3)) };
            for (i, got) in got.iter().enumerate() {
                assert_eq!(
                    got.to_bits(),
                    _mm512_reduce_add_ps(load(i)).to_bits(),
                    "{v:?}"
                );
            }
        }
        let mut rng = Rng::new(5);
        for _ in 0..10_000 {
            let v: [[f32; 16]; 4] = core::array::from_fn(|_| {
                core::array::from_fn(|_| {
                    rng.uniform(-1.0, 1.0) * 10f32.powi(rng.below(15) as i32 - 7)
                })
            });
            // SAFETY: AVX-512 F is there (checked above).
            unsafe { check(&v) };
        }
    }

    /// `a · b + c` as path `path` computes it: rounded twice on the portable path (`NAMES[0]`),
    /// fused on AVX2 and AVX-512.
    fn mul_add(path: usize, a: f32, b: f32, c: f32) -> f32 {
        if path == 0 {
            a * b + c
        } else {
            a.mul_add(b, c)
        }
    }

    /// `dW` over a batch of more than `K_PASS` samples, taken in passes, is exactly one chain of
    /// multiply-adds in sample order per weight, on every path (fused on AVX2/AVX-512, `a·b + c`
    /// portable): the passes change no bit.
    #[test]
    fn weight_gradient_in_passes_is_one_chain() {
        fn case<const I: usize, const O: usize, const B: usize>(seed: u64) {
            let mut rng = Rng::new(seed);
            let weight: Box<[[f32; I]; O]> = Box::new([[0.5; I]; O]);
            let x: Box<[[f32; I]; B]> = uniform_rows(&mut rng);
            let dz: Box<[[f32; O]; B]> = uniform_rows(&mut rng);
            for path in paths() {
                let mut dw = Box::new([[0.0f32; I]; O]);
                let mut db = [0.0f32; O];
                let bwd = AffineBackward {
                    weight: &weight,
                    x: &x,
                    dz: &dz,
                    d_weight: &mut dw,
                    d_bias: &mut db,
                    dx: None,
                    continues: false,
                };
                run_on(path, bwd);
                for o in 0..O {
                    for i in 0..I {
                        let chain =
                            (0..B).fold(0.0f32, |acc, b| mul_add(path, dz[b][o], x[b][i], acc));
                        assert_eq!(
                            dw[o][i].to_bits(),
                            chain.to_bits(),
                            "{} B={B} dW[{o}][{i}]",
                            NAMES[path]
                        );
                    }
                }
            }
        }
        case::<37, 5, 130>(1);
        case::<64, 3, 200>(2);
        case::<784, 2, 64>(3);
        // Tiles of 8 rows × 2 strips and single rows, 16-wide strips and one column at a time.
        case::<100, 17, 70>(4);
        case::<784, 64, 32>(5);
        // An output over 256 KB in one pass of 130 samples: AVX-512's packed panels (128 samples,
        // then 2; 11 tiles of 8 rows, then 2 single rows), a 16-wide strip and single columns.
        case::<790, 90, 130>(6);
    }

    /// A second part of a batch with `continues` goes on with each weight's and bias's chain where
    /// the first part stored it, on every path: the parts of `network!`'s training in parts give
    /// the sums of one pass.
    #[test]
    fn weight_gradient_continued_over_parts_is_one_chain() {
        fn case<const I: usize, const O: usize, const B: usize>(seed: u64) {
            let mut rng = Rng::new(seed);
            let weight: Box<[[f32; I]; O]> = Box::new([[0.5; I]; O]);
            type Part<const I: usize, const O: usize, const B: usize> =
                (Box<[[f32; I]; B]>, Box<[[f32; O]; B]>);
            let parts: [Part<I, O, B>; 2] =
                core::array::from_fn(|_| (uniform_rows(&mut rng), uniform_rows(&mut rng)));
            for path in paths() {
                let mut dw = Box::new([[0.0f32; I]; O]);
                let mut db = [0.0f32; O];
                for (p, (x, dz)) in parts.iter().enumerate() {
                    let bwd = AffineBackward {
                        weight: &weight,
                        x,
                        dz,
                        d_weight: &mut dw,
                        d_bias: &mut db,
                        dx: None,
                        continues: p > 0,
                    };
                    run_on(path, bwd);
                }
                let samples = || parts.iter().flat_map(|(x, dz)| x.iter().zip(dz.iter()));
                for o in 0..O {
                    let first: f32 = parts[0].1.iter().map(|d| d[o]).sum();
                    let bias = parts[1].1.iter().fold(first, |acc, d| acc + d[o]);
                    assert_eq!(db[o].to_bits(), bias.to_bits(), "{} db[{o}]", NAMES[path]);
                    for i in 0..I {
                        let chain =
                            samples().fold(0.0f32, |acc, (x, dz)| mul_add(path, dz[o], x[i], acc));
                        assert_eq!(
                            dw[o][i].to_bits(),
                            chain.to_bits(),
                            "{} B={B} dW[{o}][{i}]",
                            NAMES[path]
                        );
                    }
                }
            }
        }
        case::<784, 64, 64>(6);
        case::<100, 17, 37>(7);
        case::<37, 5, 130>(8);
        // Deep passes (over 256 KB of output) continued from part to part.
        case::<790, 90, 70>(9);
    }

    /// `v[i] = expf(v[i])` through `Math::exp_in_place`.
    struct Exp<'a>(&'a mut [f32]);

    impl Kernel for Exp<'_> {
        #[inline(always)]
        fn run<M: Math>(self) {
            M::exp_in_place(self.0)
        }
    }

    /// The vectorised `expf` is libm's, bit for bit: on every 997th f32 (all signs, magnitudes,
    /// NaNs and infinities), densely over softmax's range [-90, 0] and around each branch's
    /// threshold, in slices of every length up to 16 and beyond (masked tails).
    #[test]
    // The decimals as e_expf.c (and libm) spell them.
    #[allow(clippy::excessive_precision)]
    fn exp_is_libms_bit_for_bit() {
        // The constants of libm's e_expf.c, from its decimals.
        assert_eq!(6.9314575195e-01_f32.to_bits(), 0x3f31_7200);
        assert_eq!(1.4286067653e-06_f32.to_bits(), 0x35bf_be8e);
        assert_eq!(1.4426950216e+00_f32.to_bits(), 0x3fb8_aa3b);
        assert_eq!(1.6666625440e-1_f32.to_bits(), 0x3e2a_aa8f);
        assert_eq!((-2.7667332906e-3_f32).to_bits(), 0xbb35_5215);
        let mut values: Vec<f32> = (0..=u32::MAX / 997)
            .map(|i| f32::from_bits(i * 997))
            .collect();
        values.extend((0..200_000).map(|i| -90.0 + i as f32 * 90.0 / 200_000.0));
        for t in [
            0x42ae_ac50u32,
            0x3f85_1592,
            0x3eb1_7218,
            0x3900_0000,
            0x42b1_7218,
            0x42cf_f1b5,
        ] {
            for d in 0..64 {
                for sign in [0, 0x8000_0000] {
                    values.push(f32::from_bits((t - 32 + d) | sign));
                }
            }
        }
        let want: Vec<u32> = values.iter().map(|&v| libm::expf(v).to_bits()).collect();
        for path in paths() {
            let mut got = values.clone();
            let mut start = 0;
            for len in (1..40).cycle() {
                if start >= got.len() {
                    break;
                }
                let end = (start + len).min(got.len());
                run_on(path, Exp(&mut got[start..end]));
                start = end;
            }
            for ((v, g), w) in values.iter().zip(&got).zip(&want) {
                // NaN in, NaN out: libm returns its input, so the bits match too.
                assert_eq!(
                    g.to_bits(),
                    *w,
                    "{} expf({v:e}) bits {:#x}",
                    NAMES[path],
                    v.to_bits()
                );
            }
        }
    }

    /// The softmax kernel on every path gives the scalar formula's values bit for bit (rows of 1,
    /// 3, 10, 16, 17 and 40 values: masked tails, several vectors, one row per lane; logits up to
    /// ±120 apart, so some exponentials take libm's own underflow branch).
    #[test]
    fn softmax_rows_are_the_scalar_formula() {
        let mut rng = Rng::new(5);
        for width in [1, 3, 10, 16, 17, 40] {
            // 37 rows: two groups of 16 (one row per lane) and five alone; a NaN in the second
            // group sends it back to one row at a time.
            let mut z: Vec<f32> = (0..width * 37).map(|_| rng.uniform(-60.0, 60.0)).collect();
            z[20 * width] = f32::NAN;
            let want: Vec<u32> = z
                .chunks(width)
                .flat_map(|row| {
                    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let e: Vec<f32> = row.iter().map(|v| libm::expf(v - max)).collect();
                    let inv = 1.0 / e.iter().fold(0.0f32, |s, v| s + v);
                    e.into_iter().map(move |v| (v * inv).to_bits())
                })
                .collect();
            for path in paths() {
                let mut got = z.clone();
                run_on(path, super::super::SoftmaxRows { z: &mut got, width });
                // NaN's payload aside (a NaN row stays NaN).
                let got: Vec<u32> = got.iter().map(|v| v.to_bits()).collect();
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    let nan = f32::from_bits(*g).is_nan() && f32::from_bits(*w).is_nan();
                    assert!(nan || g == w, "{} width {width} z[{i}]", NAMES[path]);
                }
            }
        }
    }

    /// A sample's outputs do not depend on the tile it lands in: a batch (tiles of 6, 2 and 1
    /// samples on AVX-512, 3 and 1 on AVX2) gives, bit for bit, each sample's batch-1 outputs.
    #[test]
    fn forward_of_a_batch_is_each_sample_alone() {
        fn case<const I: usize, const O: usize, const B: usize>(seed: u64) {
            let mut rng = Rng::new(seed);
            let weight: Box<[[f32; I]; O]> = uniform_rows(&mut rng);
            let bias: [f32; O] = core::array::from_fn(|_| rng.uniform(-1.0, 1.0));
            let x: Box<[[f32; I]; B]> = uniform_rows(&mut rng);
            for path in paths() {
                let mut y = Box::new([[0.0f32; O]; B]);
                let (weight, bias) = (&weight, &bias);
                run_on(
                    path,
                    Affine {
                        weight,
                        bias,
                        x: &x,
                        y: &mut y,
                    },
                );
                for b in 0..B {
                    let mut alone = [[0.0f32; O]; 1];
                    let x = &[x[b]];
                    run_on(
                        path,
                        Affine {
                            weight,
                            bias,
                            x,
                            y: &mut alone,
                        },
                    );
                    for o in 0..O {
                        assert_eq!(
                            y[b][o].to_bits(),
                            alone[0][o].to_bits(),
                            "{} B={B} y[{b}][{o}]",
                            NAMES[path]
                        );
                    }
                }
            }
        }
        case::<37, 5, 32>(1);
        case::<784, 64, 32>(2);
        case::<100, 17, 11>(3);
    }
}
