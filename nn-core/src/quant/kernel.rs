//! The int8 products: `out[b][r] = Σ_k x[b][k] · w[r][k]` with i8 activations and weights and
//! i32 sums, chosen at run time as the f32 kernels are (`crate::kernel::simd`):
//!
//! - [`Isa::Portable`]: plain Rust, everywhere (no_std, other targets).
//! - [`Isa::Avx2`]: `vpmaddubsw` needs one unsigned operand; it gets `|x|` and the other `w` with
//!   the sign of `x` (`vpsignb`). With weights in `[-127, 127]` (the symmetric scheme never uses
//!   -128) `|x| ≤ 128` and `|w| ≤ 127`, so a pair of products, at most 2 · 16 256 = 32 512, never
//!   saturates the i16 sum: the result is exact. Measured against sign-extending both operands to
//!   i16 for `vpmaddwd` (AVX2 Zen 5 EPYC, 784 × 64): 0.63 against 0.82 µs for one sample, 75
//!   against 93 µs for 128.
//! - [`Isa::AvxVnni`] (256-bit, e.g. Alder Lake, Zen 5) and [`Isa::Avx512Vnni`] (512-bit):
//!   `vpdpbusd` multiplies u8 by i8 and adds four products straight into i32, without
//!   saturation. The activations are offset by 128 (`x ^ 0x80` = `x + 128` as u8) and the
//!   offset removed with the row sums: `Σ w·x = Σ w·(x + 128) − 128 · Σ w`.
//!
//! - Column kernels ([`matmul_packed`], x86-64 hosts): the same instruction sets on weights
//!   packed per four inputs × every row ([`Packed`], XNNPACK's layout), four broadcast
//!   activations against 16 (or 8) rows per vector, each output one lane of an accumulator: no
//!   horizontal sums, each weight vector loaded once for 4 (or 2) samples. The layers use them
//!   for batches (and, with AVX-512 VNNI, for one sample too). AVX2 batches of 4 samples or more
//!   take `vpmaddwd` on a 16-bit copy of the weights instead, by Winograd's inner product
//!   (`x86::wide`).
//!
//! - On Cortex-M4/M7 (`thumbv7em`, the `constnet_arm_dsp` cfg of the build script) the portable
//!   kernel is replaced by [`dsp`]: `SXTB16` and `SMLAD`, two 16-bit products per instruction.
//!
//! All sums wrap (as `vpdpbusd`, `vpaddd` and `SMLAD` do), so every kernel gives the same i32 as
//! the portable one for any length; within `2^31 / (128 · 127) ≈ 132 000` inputs nothing wraps at
//! all.

use super::QuantizedMultiplier;

/// The instruction set of an int8 product.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Isa {
    /// Plain Rust.
    Portable,
    /// AVX2: `vpsignb`, `vpmaddubsw`, `vpmaddwd`.
    #[cfg_attr(not(all(feature = "std", target_arch = "x86_64")), allow(dead_code))]
    Avx2,
    /// AVX-VNNI: 256-bit `vpdpbusd`.
    #[cfg_attr(not(all(feature = "std", target_arch = "x86_64")), allow(dead_code))]
    AvxVnni,
    /// AVX-512 VNNI (with F and BW): 512-bit `vpdpbusd`.
    #[cfg_attr(not(all(feature = "std", target_arch = "x86_64")), allow(dead_code))]
    Avx512Vnni,
}

impl Isa {
    /// Every instruction set, weakest first.
    #[cfg(test)]
    pub(crate) const ALL: [Isa; 4] = [Isa::Portable, Isa::Avx2, Isa::AvxVnni, Isa::Avx512Vnni];

    /// Whether this CPU runs it (the environment aside).
    pub(crate) fn available(self) -> bool {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        {
            use std::is_x86_feature_detected as has;
            match self {
                Isa::Portable => true,
                Isa::Avx2 => has!("avx2"),
                Isa::AvxVnni => has!("avx2") && has!("avxvnni"),
                Isa::Avx512Vnni => has!("avx512f") && has!("avx512bw") && has!("avx512vnni"),
            }
        }
        #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
        {
            self == Isa::Portable
        }
    }

    /// The best this CPU has, within what the environment allows (`crate::kernel::simd`):
    /// `CONSTNET_PORTABLE=1` / `CONSTNET_KERNEL=portable` give the portable kernel and
    /// `CONSTNET_KERNEL=avx2` plain AVX2 (no VNNI), so the paths can be compared; otherwise the
    /// VNNI kernels wherever the CPU has them.
    pub(crate) fn best() -> Isa {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        {
            use std::sync::atomic::{AtomicU8, Ordering};
            // 0: not chosen yet; else the index in `CHOICES` plus one. The choice is cached
            // because a one-sample product takes well under a microsecond.
            const CHOICES: [Isa; 4] = [Isa::Portable, Isa::Avx2, Isa::AvxVnni, Isa::Avx512Vnni];
            static STATE: AtomicU8 = AtomicU8::new(0);
            match STATE.load(Ordering::Relaxed) {
                0 => {
                    let isa = Isa::detect();
                    let index = CHOICES.iter().position(|&c| c == isa).unwrap_or(0);
                    STATE.store(index as u8 + 1, Ordering::Relaxed);
                    isa
                }
                s => CHOICES[usize::from(s - 1) % CHOICES.len()],
            }
        }
        #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
        {
            Isa::Portable
        }
    }

    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    fn detect() -> Isa {
        use crate::kernel::{simd, Simd};
        if simd() == Simd::None {
            return Isa::Portable;
        }
        let plain_avx2 = std::env::var("CONSTNET_KERNEL").is_ok_and(|k| k == "avx2");
        if !plain_avx2 {
            if Isa::Avx512Vnni.available() {
                return Isa::Avx512Vnni;
            }
            // Also on CPUs that have no AVX-512 for the f32 kernels (Alder Lake).
            if Isa::AvxVnni.available() {
                return Isa::AvxVnni;
            }
        }
        if Isa::Avx2.available() {
            Isa::Avx2
        } else {
            Isa::Portable
        }
    }
}

/// The weights of a product: `rows` rows of `n` values in `data`, each in `[-127, 127]`, and each
/// row's (wrapping) sum, which the VNNI kernels need. Both are preconditions of the results, not
/// of memory safety: with a -128 or a wrong sum the kernels stay in bounds but disagree. Checking
/// them would read every weight once more per call (as much as a one-sample product), so only
/// debug builds do; the layers establish them when they are built.
#[derive(Clone, Copy)]
pub(crate) struct Weights<'a> {
    data: &'a [i8],
    sums: &'a [i32],
    n: usize,
}

impl<'a> Weights<'a> {
    /// Panics unless `data` holds `sums.len()` rows of `n > 0` values (and, in debug builds,
    /// unless the values and sums are as above).
    pub(crate) fn new(data: &'a [i8], sums: &'a [i32], n: usize) -> Self {
        assert!(n > 0, "rows must not be empty");
        assert_eq!(data.len(), sums.len() * n, "weights: rows × n values");
        debug_assert!(
            data.chunks_exact(n)
                .zip(sums)
                .all(|(row, &sum)| row_sum(row) == sum && !row.contains(&i8::MIN)),
            "weights: a wrong row sum or a -128"
        );
        Weights { data, sums, n }
    }

    /// Rows.
    pub(crate) fn rows(&self) -> usize {
        self.sums.len()
    }
}

/// The wrapping sum of a row, as [`Weights::new`] wants it.
pub(crate) const fn row_sum(row: &[i8]) -> i32 {
    let mut s = 0i32;
    let mut i = 0;
    while i < row.len() {
        s = s.wrapping_add(row[i] as i32);
        i += 1;
    }
    s
}

/// `out[b · rows + r] = Σ_k x[b · n + k] · w[r][k]` for every sample `b` of `x`, with the best
/// kernel ([`Isa::best`]). Panics unless `x` holds whole samples and `out` one i32 per sample
/// and row.
#[inline]
pub(crate) fn matmul(x: &[i8], w: Weights, out: &mut [i32]) {
    matmul_with(Isa::best(), x, w, out)
}

/// [`matmul`] for activations whose zero point is `zp`. The same sums; off x86-64 (on
/// microcontrollers), a sample in which few values differ from `zp` — the background of an
/// image, a ReLU layer's zeros — is computed from those values only:
/// `Σ_k x·w = zp·Σ_k w + Σ_{x_k ≠ zp} (x_k − zp)·w`, exact in wrapping i32 arithmetic, so every
/// path gives the same integers. On x86-64 the vector kernels are faster than skipping.
/// `N` is the row length `w.n` as a constant (the Cortex-M4 kernel, `dsp::sparse`, addresses
/// four rows with immediate offsets); panics unless they agree.
#[inline]
pub(crate) fn matmul_zp<const N: usize>(x: &[i8], zp: i32, w: Weights, out: &mut [i32]) {
    assert_eq!(w.n, N, "matmul_zp: N is the row length");
    #[cfg(any(constnet_arm_dsp, constnet_armv7m, constnet_armv6m))]
    {
        assert_eq!(x.len() % N, 0, "x: whole samples of n values");
        let rows = w.rows();
        assert_eq!(
            out.len(),
            x.len() / N * rows,
            "out: one value per sample and row"
        );
        for (x, out) in x.chunks_exact(N).zip(out.chunks_exact_mut(rows)) {
            #[cfg(constnet_arm_dsp)]
            let answer = dsp::sparse::<N>(x, zp, &w, out);
            #[cfg(constnet_armv7m)]
            let answer = v7m::sparse::<N>(x, zp, &w, out);
            #[cfg(constnet_armv6m)]
            let answer = v6m::sparse(x, zp, &w, out);
            match answer {
                Sparse::Done => {}
                Sparse::Dense => matmul(x, w, out),
                // The M0's kernel declines a single row only: the dense kernel (the portable
                // sparse one would cost 1.9 KB of flash for it).
                #[cfg(constnet_armv6m)]
                Sparse::Unsuited => matmul(x, w, out),
                #[cfg(not(constnet_armv6m))]
                Sparse::Unsuited => matmul_zp_any(x, zp, w, out),
            }
        }
    }
    #[cfg(not(any(constnet_arm_dsp, constnet_armv7m, constnet_armv6m)))]
    matmul_zp_any(x, zp, w, out)
}

/// One pass of the value lists of the Cortex-M3 and M0 sparse kernels: from word `*j` of `x` on,
/// writes `entry(k, x[k] − zp)` into `list` for each value off the zero point — four values at a
/// time, a word compared with four zero points — until the next word might not fit (the last
/// entry of `list` stays free for the caller's end mark) or the words end; then the 0-3 values
/// after them, once they fit (else in the next pass). Returns how many it wrote: 0 when `x` is
/// done. Panics unless `list` has at least 5 entries.
#[cfg(any(constnet_armv7m, constnet_armv6m))]
#[inline(always)]
fn list_values<E>(
    x: &[i8],
    zp: i32,
    j: &mut usize,
    list: &mut [core::mem::MaybeUninit<E>],
    entry: impl Fn(usize, i32) -> E,
) -> usize {
    assert!(
        list.len() >= 5,
        "list_values: room for a word and the end mark"
    );
    let max = list.len() - 1;
    let zp4 = u32::from_ne_bytes([zp as u8; 4]);
    let (words, tail) = x.as_chunks::<4>();
    let mut m = 0;
    let mut put = |m: &mut usize, k: usize, v: i8| {
        let d = i32::from(v).wrapping_sub(zp);
        if d != 0 {
            list[*m].write(entry(k, d));
            *m += 1;
        }
    };
    let mut w = *j;
    while w < words.len() && m + 4 <= max {
        let v = words[w];
        if u32::from_ne_bytes(v.map(|b| b as u8)) != zp4 {
            for (i, &v) in v.iter().enumerate() {
                put(&mut m, 4 * w + i, v);
            }
        }
        w += 1;
    }
    if w == words.len() && m + tail.len() <= max {
        for (i, &v) in tail.iter().enumerate() {
            put(&mut m, 4 * w + i, v);
        }
        w += 1;
    }
    *j = w;
    m
}

#[cfg(constnet_armv6m)]
mod v6m {
    //! Armv6-M (Cortex-M0): `LDRSB` only with a register offset, `MULS` and a 16-bit `ADD`
    //! into high registers, in `asm!` (Rust lets Thumb-1 `asm!` use r8-r12 only as clobbers:
    //! the two sums live there during the loop and move to and from low registers around it).

    use super::{Sparse, Weights};

    /// Values the list holds at most: 2 KB of stack (12 bytes per entry).
    const MAX: usize = 169;

    /// One sample's sums from its values off the zero point, two rows at a time: the values are
    /// listed once as (column, column + row length, value − zero point), then each costs per
    /// row one `LDRSB`, one `MULS` and one `ADD` — about 4.5 instructions per product against
    /// 7.4 for the portable dense kernel, so every sample takes it, in passes of at most
    /// [`MAX`] values. An odd last row is paired with the one before (recomputed, not added
    /// twice). Answers `Unsuited` for fewer than two rows or rows over 2^30 values. Not
    /// inlined: one copy for every layer (inlined into the MLP's two, 2.2 KB more flash).
    #[inline(never)]
    pub(super) fn sparse(x: &[i8], zp: i32, w: &Weights, out: &mut [i32]) -> Sparse {
        let rows = w.rows();
        let n = w.n;
        if rows < 2 || n >= 1 << 30 || x.len() != n || out.len() != rows {
            return Sparse::Unsuited;
        }
        for (o, &sum) in out.iter_mut().zip(w.sums) {
            *o = zp.wrapping_mul(sum);
        }
        // One entry more than `MAX`: the loop loads the entry after the last value. Not zeroed
        // (2 KB per call); only written entries are read.
        let mut list = [core::mem::MaybeUninit::<[u32; 3]>::uninit(); MAX + 1];
        let mut j = 0;
        loop {
            let m = super::list_values(x, zp, &mut j, &mut list, |k, d| {
                [k as u32, (k + n) as u32, d as u32]
            });
            if m == 0 {
                return Sparse::Done;
            }
            list[m].write([0; 3]);
            // SAFETY: the loops above wrote the first `m + 1` entries.
            let list: &[[u32; 3]] =
                unsafe { core::slice::from_raw_parts(list.as_ptr().cast(), m + 1) };
            let mut r = 0;
            while r < rows {
                let g = r.min(rows - 2);
                let s = rows2(list, &w.data[g * n..(g + 2) * n], n);
                for (o, s) in out[g..g + 2].iter_mut().zip(s).skip(r - g) {
                    *o = o.wrapping_add(s);
                }
                r += 2;
            }
        }
    }

    /// `Σ d · w[i][k]` for the two rows of `n` values in `w` over `list`'s values
    /// `(k, k + n, d)`, all but its last entry (at least one before it).
    #[inline(always)]
    fn rows2(list: &[[u32; 3]], w: &[i8], n: usize) -> [i32; 2] {
        assert!(list.len() >= 2 && w.len() == 2 * n, "rows2: lengths");
        debug_assert!(list[..list.len() - 1]
            .iter()
            .all(|e| (e[0] as usize) < n && e[1] as usize == e[0] as usize + n));
        let end = list.as_ptr_range().end;
        let (s0, s1): (i32, i32);
        // SAFETY: the loop reads `list` from its start, one 3-word entry per `LDM`
        // (word-aligned), and stops when the pointer reaches `list`'s end, having loaded its
        // last entry: it reads exactly `list`. Per value it reads the bytes at `w + k` and
        // `w + k + n`, within `w`'s `2·n` bytes (`k < n` as `sparse` builds the entries;
        // asserted length). Nothing is written to memory; the registers it uses and the flags
        // are declared; the instructions are Armv6-M's.
        unsafe {
            core::arch::asm!(
                "mov r12, r0",
                "movs r0, #0",
                "mov r8, r0",
                "mov r10, r0",
                "ldm r3!, {{r0, r1, r2}}",
                "2:",
                "ldrsb r5, [r4, r0]",
                "muls r5, r2, r5",
                "add r8, r5",
                "ldrsb r5, [r4, r1]",
                "muls r5, r2, r5",
                "add r10, r5",
                "ldm r3!, {{r0, r1, r2}}",
                "cmp r3, r12",
                "bne 2b",
                "mov r0, r8",
                "mov r1, r10",
                inout("r3") list.as_ptr() => _,
                in("r4") w.as_ptr(),
                inout("r0") end => s0,
                out("r1") s1,
                out("r2") _,
                out("r5") _,
                out("r8") _,
                out("r10") _,
                out("r12") _,
                options(nostack, readonly),
            );
        }
        [s0, s1]
    }
}

/// A microcontroller sparse kernel's answer for one sample (`dsp::sparse`, `v7m::sparse`,
/// `v6m::sparse`).
#[cfg(any(constnet_arm_dsp, constnet_armv7m, constnet_armv6m))]
enum Sparse {
    /// The sums are in `out`.
    Done,
    /// Too many values off the zero point: the dense kernel is cheaper.
    #[cfg_attr(not(constnet_arm_dsp), allow(dead_code))]
    Dense,
    /// A shape or zero point it does not take: the portable paths decide.
    Unsuited,
}

#[cfg(constnet_armv7m)]
mod v7m {
    //! Armv7-M without the DSP instructions (Cortex-M3): `LDRSB` with an immediate offset and
    //! `MLA`, in `asm!` (LLVM's loop for the same took 16 instructions per value and four rows
    //! instead of 12, and its bounds checks could not be removed without `unsafe` anyway).

    use super::{Sparse, Weights};

    /// Values the list holds at most: 2 KB of stack (8 bytes per entry).
    const MAX: usize = 255;

    /// Marks the end of the list: no row is that long.
    const LAST: u32 = u32::MAX;

    /// One sample's sums from its values off the zero point, four rows at a time with their
    /// sums in registers: the values are listed once (column, value − zero point), then each
    /// costs per row one `LDRSB` (immediate offsets 0, N, 2N, 3N from one pointer, hence
    /// `3·N ≤ 4095`) and one `MLA`, about 3 instructions per product against 4.1 for the
    /// portable dense kernel: so every sample takes it, in passes of at most [`MAX`] values (a
    /// digit without background: see BENCHMARKS.md). A last partial group of rows overlaps the
    /// one before. Answers `Unsuited` for fewer than four rows or longer rows (never `Dense`).
    pub(super) fn sparse<const N: usize>(
        x: &[i8],
        zp: i32,
        w: &Weights,
        out: &mut [i32],
    ) -> Sparse {
        let rows = w.rows();
        if N == 0 || 3 * N > 4095 || rows < 4 || w.n != N || x.len() != N || out.len() != rows {
            return Sparse::Unsuited;
        }
        for (o, &sum) in out.iter_mut().zip(w.sums) {
            *o = zp.wrapping_mul(sum);
        }
        let mut list = [core::mem::MaybeUninit::<[u32; 2]>::uninit(); MAX + 1];
        let mut j = 0;
        loop {
            let m = super::list_values(x, zp, &mut j, &mut list, |k, d| [k as u32, d as u32]);
            if m == 0 {
                return Sparse::Done;
            }
            list[m].write([LAST, 0]);
            // SAFETY: the loop above wrote the first `m + 1` entries.
            let list: &[[u32; 2]] =
                unsafe { core::slice::from_raw_parts(list.as_ptr().cast(), m + 1) };
            let mut r = 0;
            while r < rows {
                // The last group may overlap the one before: its rows below `r` are done.
                let g = r.min(rows - 4);
                let s = rows4::<N>(list, &w.data[g * N..(g + 4) * N], [0; 4]);
                for (o, s) in out[g..g + 4].iter_mut().zip(s).skip(r - g) {
                    *o = o.wrapping_add(s);
                }
                r += 4;
            }
        }
    }

    /// `s[i] + Σ d · w[i][k]` over `list`'s `(k, d)` up to its [`LAST`] entry (at least one
    /// before it), for four rows of `N` values in `w`. Per value: `LDM` of the entry, the
    /// address, 4 × (`LDRSB`, `MLA`), compare, branch — 12 instructions for 4 products.
    #[inline(always)]
    fn rows4<const N: usize>(list: &[[u32; 2]], w: &[i8], s: [i32; 4]) -> [i32; 4] {
        assert!(
            list.len() >= 2 && list[list.len() - 1][0] == LAST && w.len() == 4 * N,
            "rows4: lengths"
        );
        debug_assert!(list[..list.len() - 1].iter().all(|e| (e[0] as usize) < N));
        let [mut s0, mut s1, mut s2, mut s3] = s;
        // SAFETY: the loop reads `list` from its start, one 2-word entry per `LDM` (`list` is
        // word-aligned), and stops after loading the entry whose column is `LAST` (asserted
        // present; the columns before it are below `N`, as `sparse` builds them): it reads
        // exactly `list`. Per value it reads the bytes at `w + k + {0, N, 2N, 3N}`, within
        // `w`'s `4·N` bytes (asserted). Nothing is written to memory; r0, r1 and the flags are
        // clobbered and declared; the instructions are Armv7-M's (the build script's cfg).
        unsafe {
            core::arch::asm!(
                "ldm {l}!, {{r0, r1}}",
                "2:",
                "add r0, {w}",
                "ldrsb {t}, [r0]",
                "mla {s0}, {t}, r1, {s0}",
                "ldrsb {t}, [r0, #{o1}]",
                "mla {s1}, {t}, r1, {s1}",
                "ldrsb {t}, [r0, #{o2}]",
                "mla {s2}, {t}, r1, {s2}",
                "ldrsb {t}, [r0, #{o3}]",
                "mla {s3}, {t}, r1, {s3}",
                "ldm {l}!, {{r0, r1}}",
                "cmn r0, #1",
                "bne 2b",
                l = inout(reg) list.as_ptr() => _,
                w = in(reg) w.as_ptr(),
                s0 = inout(reg) s0,
                s1 = inout(reg) s1,
                s2 = inout(reg) s2,
                s3 = inout(reg) s3,
                t = out(reg) _,
                o1 = const N,
                o2 = const 2 * N,
                o3 = const 3 * N,
                out("r0") _,
                out("r1") _,
                options(nostack, readonly),
            );
        }
        [s0, s1, s2, s3]
    }
}

/// [`matmul_zp`] for any row length: off x86-64, samples with at most a third of their values
/// off the zero point take [`sparse`].
#[inline]
#[cfg_attr(constnet_armv6m, allow(dead_code))]
fn matmul_zp_any(x: &[i8], zp: i32, w: Weights, out: &mut [i32]) {
    #[cfg(not(target_arch = "x86_64"))]
    {
        assert_eq!(x.len() % w.n, 0, "x: whole samples of n values");
        assert_eq!(
            out.len(),
            x.len() / w.n * w.rows(),
            "out: one value per sample and row"
        );
        let rows = w.rows();
        for (x, out) in x.chunks_exact(w.n).zip(out.chunks_exact_mut(rows)) {
            let active = x.iter().filter(|&&v| i32::from(v) != zp).count();
            if active * 3 <= w.n {
                sparse(x, zp, &w, out);
            } else {
                matmul(x, w, out);
            }
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        let _ = zp;
        matmul(x, w, out)
    }
}

/// One sample's sums from its values that differ from `zp` (see [`matmul_zp`]): the columns of
/// those values, two at a time, added into every row's sum. The fallback where the
/// microcontroller kernels (`dsp`, `v7m`, `v6m`) do not apply. It was the path of all three
/// cores before them; measured on the int8 MNIST MLP under QEMU (digit 0), instructions per
/// inference, one column / two at a time: Cortex-M4F 60.6 k / 61.4 k, M3 68.0 k / 63.8 k,
/// M0 117 k / 94.6 k (listing the values first and summing row by row, so that each sum stays
/// in a register: 98 k on the M4F; the kernels that replaced it keep four or two sums in
/// registers).
/// Panics unless `x` is one sample of `w.n` values and `out` one value per row.
#[cfg(any(not(target_arch = "x86_64"), test))]
#[cfg_attr(constnet_armv6m, allow(dead_code))]
fn sparse(x: &[i8], zp: i32, w: &Weights, out: &mut [i32]) {
    assert!(x.len() == w.n && out.len() == w.rows());
    for (acc, &sum) in out.iter_mut().zip(w.sums) {
        *acc = zp.wrapping_mul(sum);
    }
    let mut active = x
        .iter()
        .enumerate()
        .map(|(k, &v)| (k, i32::from(v) - zp))
        .filter(|&(_, d)| d != 0);
    loop {
        match (active.next(), active.next()) {
            (Some((k0, d0)), Some((k1, d1))) => {
                for (acc, row) in out.iter_mut().zip(w.data.chunks_exact(w.n)) {
                    let (a, b) = (i32::from(row[k0]), i32::from(row[k1]));
                    *acc = acc.wrapping_add(d0 * a).wrapping_add(d1 * b);
                }
            }
            (Some((k, d)), None) => {
                for (acc, row) in out.iter_mut().zip(w.data.chunks_exact(w.n)) {
                    *acc = acc.wrapping_add(d * i32::from(row[k]));
                }
            }
            _ => break,
        }
    }
}

/// [`matmul`] with a given kernel; panics if the CPU lacks it.
pub(crate) fn matmul_with(isa: Isa, x: &[i8], w: Weights, out: &mut [i32]) {
    assert_eq!(x.len() % w.n, 0, "x: whole samples of n values");
    assert_eq!(
        out.len(),
        x.len() / w.n * w.rows(),
        "out: one value per sample and row"
    );
    assert!(isa.available(), "{isa:?} is not available on this CPU");
    match isa {
        #[cfg(not(constnet_arm_dsp))]
        Isa::Portable => portable(x, w, out),
        #[cfg(constnet_arm_dsp)]
        Isa::Portable => dsp::matmul(x, w, out),
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        // SAFETY: `available` found AVX2 just above; the lengths are checked above, the weight
        // range and row sums by `Weights::new`.
        Isa::Avx2 => unsafe { x86::matmul_avx2(x, w, out) },
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        // SAFETY: as above, with AVX2 and AVX-VNNI found.
        Isa::AvxVnni => unsafe { x86::matmul_avxvnni(x, w, out) },
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        // SAFETY: as above, with AVX-512 F, BW and VNNI found.
        Isa::Avx512Vnni => unsafe { x86::matmul_avx512vnni(x, w, out) },
        #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
        _ => unreachable!("only the portable kernel is available here"),
    }
}

/// The weights of a product packed for the column kernels of x86-64 hosts ([`matmul_packed`]):
/// groups of four inputs, each holding every row's four weights, `body[(g · rows + r) · 4 + j] =
/// w[r][4g + j] + 128` (as u8) for the `n / 4` whole groups, and the last `n % 4` inputs the
/// same way in `tail` (padded with the weight 0, i.e. 128). A kernel then loads 16 (or 8) rows'
/// weights of one group in one vector and multiplies them by one sample's four inputs broadcast,
/// so that each output is one lane of an accumulator, with no horizontal sums (XNNPACK's layout).
/// Offset to u8 because `vpdpbusd` wants its unsigned operand in a register and its signed one
/// may then be the broadcast activations: `Σ w·x = Σ (w + 128)·x − 128 · Σ x`.
///
/// The AVX2 batch kernel (`x86::wide`) reads a second copy, `wide`, of 16-bit pairs for
/// Winograd's inner product (1968), which halves the multiplies: `Σ w·x = Σ_g [(x₀ + w₁)(x₁ +
/// w₀) + (x₂ + w₃)(x₃ + w₂)] − Σ_g (x₀x₁ + x₂x₃) − Σ_g (w₀w₁ + w₂w₃)` over the groups of four
/// inputs (`x₀ = x[4g]`, `w₁ = w[r][4g + 1]`, …). Per group two vectors of `rows` pairs:
/// `wide[(2g · rows + r) · 2..]` holds `(w₁, w₃)` and `wide[((2g + 1) · rows + r) · 2..]` holds
/// `(w₀, w₂)`, for the `n / 4` whole groups, and the last `n % 4` inputs (padded with 0) the
/// same way in `wide_tail`; `wide_corr[r]` is row `r`'s `Σ w[2k]·w[2k + 1]` ([`pack_wide`]).
///
/// Lengths are checked by [`Packed::new`]; the contents (that they are `w`'s) by the layer that
/// owns both ([`pack`] and [`pack_wide`] at construction), as with [`Weights`]' sums.
#[derive(Clone, Copy)]
#[cfg_attr(not(all(feature = "std", target_arch = "x86_64")), allow(dead_code))]
pub(crate) struct Packed<'a> {
    body: &'a [u8],
    tail: &'a [u8],
    wide: &'a [i16],
    wide_tail: &'a [i16],
    wide_corr: &'a [i32],
    n: usize,
    rows: usize,
}

#[cfg_attr(not(all(feature = "std", target_arch = "x86_64")), allow(dead_code))]
impl<'a> Packed<'a> {
    /// Panics unless `n > 0`, `rows > 0`, `body` holds at least `n / 4` groups of `rows × 4`
    /// bytes (only those are used) and `tail` exactly `rows × 4`, `wide` at least `n / 4` groups
    /// of `rows × 4` values, `wide_tail` exactly `rows × 4` and `wide_corr` `rows`.
    pub(crate) fn new(
        body: &'a [u8],
        tail: &'a [u8],
        wide: &'a [i16],
        wide_tail: &'a [i16],
        wide_corr: &'a [i32],
        n: usize,
        rows: usize,
    ) -> Self {
        assert!(n > 0 && rows > 0, "packed: empty product");
        let len = n / 4 * rows * 4;
        assert!(body.len() >= len, "packed: n / 4 groups of rows × 4 bytes");
        assert_eq!(tail.len(), rows * 4, "packed: a tail of rows × 4 bytes");
        assert!(wide.len() >= len, "packed: n / 4 groups of rows × 4 values");
        assert_eq!(wide_tail.len(), rows * 4, "packed: a wide tail of rows × 4");
        assert_eq!(wide_corr.len(), rows, "packed: one correction per row");
        Packed {
            body: &body[..len],
            tail,
            wide: &wide[..len],
            wide_tail,
            wide_corr,
            n,
            rows,
        }
    }
}

/// Packs `rows` rows of `n` weights (`w`, row-major) as [`Packed`] describes into `body` (at
/// least `n / 4 · rows · 4` bytes) and `tail` (`rows · 4` bytes). A `const fn`, so that a layer
/// built in a `static` has its packed copy too. Panics unless the lengths are as stated.
#[cfg_attr(not(all(feature = "std", target_arch = "x86_64")), allow(dead_code))]
pub(crate) const fn pack(w: &[i8], n: usize, rows: usize, body: &mut [u8], tail: &mut [u8]) {
    assert!(w.len() == n * rows && body.len() >= n / 4 * rows * 4 && tail.len() == rows * 4);
    let whole = n / 4 * 4;
    let mut r = 0;
    while r < rows {
        let mut k = 0;
        while k < n {
            let v = (w[r * n + k] as u8) ^ 0x80;
            if k < whole {
                body[((k / 4) * rows + r) * 4 + k % 4] = v;
            } else {
                tail[r * 4 + k % 4] = v;
            }
            k += 1;
        }
        // The padding of the tail: weight 0.
        let mut j = n - whole;
        while j < 4 {
            tail[r * 4 + j] = 0x80;
            j += 1;
        }
        r += 1;
    }
}

/// Packs `rows` rows of `n` weights (`w`, row-major) into the 16-bit copy [`Packed`] describes:
/// `body` (at least `n / 4 · rows · 4` values), `tail` (`rows · 4`; zeros for `n % 4 = 0`) and
/// `corr` (`rows`). A `const fn`, as [`pack`]. Panics unless the lengths are as stated.
#[cfg_attr(not(all(feature = "std", target_arch = "x86_64")), allow(dead_code))]
pub(crate) const fn pack_wide(
    w: &[i8],
    n: usize,
    rows: usize,
    body: &mut [i16],
    tail: &mut [i16],
    corr: &mut [i32],
) {
    assert!(w.len() == n * rows && body.len() >= n / 4 * rows * 4);
    assert!(tail.len() == rows * 4 && corr.len() == rows);
    let whole = n / 4 * 4;
    let mut r = 0;
    while r < rows {
        let mut k = 0;
        let mut c = 0i32;
        while k < whole.div_ceil(4) * 4 + (n - whole).div_ceil(4) * 4 {
            // Padded with 0 past `n`.
            let v = if k < n { w[r * n + k] as i16 } else { 0 };
            // Input j of the group: (w₁, w₃) in the first vector, (w₀, w₂) in the second.
            let (half, t) = match k % 4 {
                0 => (1, 0),
                1 => (0, 0),
                2 => (1, 1),
                _ => (0, 1),
            };
            if k < whole {
                body[((2 * (k / 4) + half) * rows + r) * 2 + t] = v;
            } else {
                tail[(half * rows + r) * 2 + t] = v;
            }
            if k % 2 == 1 {
                let prev = if k - 1 < n {
                    w[r * n + k - 1] as i32
                } else {
                    0
                };
                c += prev * v as i32;
            }
            k += 1;
        }
        corr[r] = c;
        if whole == n {
            let mut j = 0;
            while j < 4 {
                tail[r * 4 + j] = 0;
                j += 1;
            }
        }
        r += 1;
    }
}

/// [`matmul`] from packed weights: the column kernel of [`Isa::best`] where it is the faster,
/// or `None` (nothing written) where the caller should take [`matmul_zp`]: on the portable
/// kernel, and for one sample on the 256-bit ones (784 × 64 on a Zen 5 EPYC, one sample /
/// 128: AVX-512 VNNI 0.63 → 0.49 µs / 17.8 → 13.1 µs; AVX-VNNI 0.68 → 0.83 µs / 37.5 → 27.7
/// µs; AVX2 0.64 → 0.65 µs / 69.5 → 63.1 µs, and 52.8 µs at 128 by the 16-bit copy,
/// `x86::wide`, from 4 samples on). The same wrapping i32 sums as every other kernel. Panics
/// unless `x` holds whole samples of `n` values and `out` one value per sample and row.
#[cfg_attr(not(all(feature = "std", target_arch = "x86_64")), allow(dead_code))]
pub(crate) fn matmul_packed(x: &[i8], p: Packed, out: &mut [i32]) -> Option<()> {
    match Isa::best() {
        Isa::Portable => None,
        Isa::Avx2 | Isa::AvxVnni if x.len() <= p.n => None,
        isa => {
            matmul_packed_with(isa, x, p, out);
            Some(())
        }
    }
}

/// [`matmul_packed`] with a given kernel; panics if the CPU lacks it or it is the portable one.
#[cfg_attr(not(all(feature = "std", target_arch = "x86_64")), allow(dead_code))]
pub(crate) fn matmul_packed_with(isa: Isa, x: &[i8], p: Packed, out: &mut [i32]) {
    assert_eq!(x.len() % p.n, 0, "x: whole samples of n values");
    assert_eq!(
        out.len(),
        x.len() / p.n * p.rows,
        "out: one value per sample and row"
    );
    assert!(isa.available(), "{isa:?} is not available on this CPU");
    match isa {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        // SAFETY: `available` found AVX2 just above; the lengths are checked above and by
        // `Packed::new`.
        Isa::Avx2 => unsafe { x86::packed_avx2(x, p, out) },
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        // SAFETY: as above, with AVX2 and AVX-VNNI found.
        Isa::AvxVnni => unsafe { x86::packed_avxvnni(x, p, out) },
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        // SAFETY: as above, with AVX-512 F, BW and VNNI found.
        Isa::Avx512Vnni => unsafe { x86::packed_avx512vnni(x, p, out) },
        _ => panic!("no column kernel for {isa:?}"),
    }
}

/// A layer's output stage: `y = clamp(zero_point + M_o · (acc + offset[o]), lo, hi)` per row `o`.
pub(crate) struct Requant<'a> {
    pub multiplier: &'a [QuantizedMultiplier],
    pub offset: &'a [i32],
    pub zero_point: i32,
    pub lo: i8,
    pub hi: i8,
}

/// The output stage on every sample of `acc` (rows of `offset.len()` values) into `y`: for
/// batches on x86-64 written by hand for AVX-512 or AVX2 (with AVX2, LLVM's vectorisation of the
/// scalar code took 6.5 µs of the 784-64-10 MLP's 70 µs at batch 128 in a perf profile, the hand
/// version 2.8 µs), else the scalar code compiled for [`Isa::best`]'s instructions (on the MNIST
/// MLP the scalar SSE2 version took as long as the int8 products themselves). The same integers
/// on every path. Panics unless the lengths agree and every multiplier's shift is in
/// `[-31, 31]` (as [`QuantizedMultiplier::from_scale`] makes them).
pub(crate) fn requantize(r: Requant, acc: &[i32], y: &mut [i8]) {
    let rows = r.offset.len();
    assert!(
        rows > 0 && r.multiplier.len() == rows,
        "requantize: one multiplier per row"
    );
    assert!(
        acc.len() == y.len() && acc.len().is_multiple_of(rows),
        "requantize: whole samples"
    );
    assert!(
        r.multiplier.iter().all(|m| (-31..=31).contains(&m.shift)),
        "requantize: shifts within 31"
    );
    match Isa::best() {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        // SAFETY: `best` answers `Avx512Vnni` only where `available` found AVX-512 F and BW.
        Isa::Avx512Vnni => unsafe { x86::requantize_avx512(r, acc, y) },
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        // SAFETY: `best` answers these only where `available` found AVX2.
        Isa::Avx2 | Isa::AvxVnni => unsafe { x86::requantize_avx2(r, acc, y) },
        _ => requantize_rows(r, acc, y),
    }
}

/// [`requantize`]'s loops; `#[inline(always)]`, so the x86 entry points compile it with their
/// features.
#[inline(always)]
fn requantize_rows(r: Requant, acc: &[i32], y: &mut [i8]) {
    let rows = r.offset.len();
    for (acc, y) in acc.chunks_exact(rows).zip(y.chunks_exact_mut(rows)) {
        for (((&a, y), &off), m) in acc.iter().zip(y).zip(r.offset).zip(r.multiplier) {
            // Microcontrollers: `mbqm32`, one 32×32→64 multiply and 32-bit rounding (tests
            // check it and `mbqm` against TFLite's reference); `mbqm`'s branch-free 64-bit
            // shifts suit vectors, not 32-bit cores.
            #[cfg(target_arch = "arm")]
            let v = mbqm32(a.wrapping_add(off), m.multiplier, m.shift);
            #[cfg(not(target_arch = "arm"))]
            let v = mbqm(a.wrapping_add(off), m.multiplier, m.shift);
            // Saturating: near i32::MAX the sum must clamp to 127, not wrap.
            let v = v.saturating_add(r.zero_point);
            *y = v.clamp(i32::from(r.lo), i32::from(r.hi)) as i8;
        }
    }
}

/// [`multiply_by_quantized_multiplier`](super::multiply_by_quantized_multiplier) for 32-bit
/// cores, for shifts in `[-31, 31]` (a test checks that they agree). The doubling high multiply
/// `trunc((x·m + nudge) / 2^31)`, nudge `2^30` for a non-negative product and `1 − 2^30` for a
/// negative one, is `floor((x·m + 2^30) / 2^31)` in both cases (for a negative sum `s`,
/// `trunc(s / 2^31) = floor((s + 2^31 − 1) / 2^31)`), so: one `SMULL`/`SMLAL`-shaped product
/// plus a constant, the high word doubled — saturating, which gives `i32::MAX` for the one
/// product that does not fit, `i32::MIN · i32::MIN` — and the low word's top bit. Then the
/// rounding right shift in 32 bits. On the int8 MNIST MLP on a Cortex-M4 (74 outputs): see
/// BENCHMARKS.md.
#[inline(always)]
#[cfg_attr(not(target_arch = "arm"), allow(dead_code))]
fn mbqm32(x: i32, m: i32, shift: i32) -> i32 {
    let left = shift.max(0);
    let right = (-shift).max(0) & 31;
    let x = x.wrapping_shl(left as u32);
    let sum = i64::from(x) * i64::from(m) + (1 << 30);
    let hi = (sum >> 32) as i32;
    let high = hi.saturating_add(hi) | ((sum as u32) >> 31) as i32;
    let mask = ((1u32 << right) - 1) as i32;
    let threshold = (mask >> 1) + i32::from(high < 0);
    (high >> right) + i32::from((high & mask) > threshold)
}

/// [`multiply_by_quantized_multiplier`](super::multiply_by_quantized_multiplier) without
/// branches or panics, for shifts in `[-31, 31]`, so that LLVM can vectorise it (a test checks
/// that they agree).
#[inline(always)]
#[cfg_attr(target_arch = "arm", allow(dead_code))]
fn mbqm(x: i32, m: i32, shift: i32) -> i32 {
    let left = shift.max(0);
    let right = (-shift).max(0) & 31;
    let x = x.wrapping_shl(left as u32);
    let ab = i64::from(x) * i64::from(m);
    let nudge = if ab >= 0 {
        1i64 << 30
    } else {
        1 - (1i64 << 30)
    };
    let sum = ab + nudge;
    // Division by 2^31 truncating toward zero: add 2^31 − 1 to negative sums before shifting.
    let high = ((sum + ((sum >> 63) & ((1i64 << 31) - 1))) >> 31) as i32;
    let high = if x == i32::MIN && m == i32::MIN {
        i32::MAX
    } else {
        high
    };
    let mask = ((1i64 << right) - 1) as i32;
    let threshold = (mask >> 1) + i32::from(high < 0);
    (high >> right) + i32::from((high & mask) > threshold)
}

/// The int8 product with the kernel this target uses ([`matmul`]) into `out` and with the plain
/// Rust reference into `reference`, for a test on the device itself (the firmware's
/// `kernel_check`): `weights` holds `rows ≤ 64` rows of `n` values in `[-127, 127]`. Panics
/// unless the lengths agree. Not API: a test hook.
///
/// ```
/// let (mut out, mut reference) = ([0; 2], [0; 2]);
/// nn_core::quant::matmul_against_portable(&[1, -2], &[3, 4, -127, 5], 2, &mut out, &mut reference);
/// assert_eq!((out, reference), ([-5, -137], [-5, -137]));
/// ```
pub fn matmul_against_portable(
    x: &[i8],
    weights: &[i8],
    n: usize,
    out: &mut [i32],
    reference: &mut [i32],
) {
    assert!(
        n > 0 && weights.len().is_multiple_of(n) && weights.len() / n <= 64,
        "at most 64 rows of n > 0 values"
    );
    let mut sums = [0i32; 64];
    let rows = weights.len() / n;
    for (s, row) in sums.iter_mut().zip(weights.chunks_exact(n)) {
        *s = row_sum(row);
    }
    let w = Weights::new(weights, &sums[..rows], n);
    assert_eq!(
        out.len(),
        reference.len(),
        "out and reference: equal lengths"
    );
    matmul(x, w, out);
    assert_eq!(x.len() % n, 0, "x: whole samples of n values");
    portable(x, w, reference);
}

/// [`matmul_against_portable`] for activations whose zero point is `zp`: the product with the
/// kernels that skip values at the zero point (as a quantised layer runs it; on a Cortex-M4 the
/// `SXTB16`/`SMLAD` block kernel, which takes the row length `N` as a constant) into `out`, the
/// plain Rust reference into `reference`. Panics unless the lengths agree (`weights` holds
/// `rows ≤ 64` rows of `N` values in `[-127, 127]`). Not API: a test hook.
///
/// ```
/// let (mut out, mut reference) = ([0; 2], [0; 2]);
/// nn_core::quant::matmul_zp_against_portable::<2>(&[-128, 1], -128, &[3, 4, -127, 5], &mut out, &mut reference);
/// assert_eq!((out, reference), ([-380, 16261], [-380, 16261]));
/// ```
pub fn matmul_zp_against_portable<const N: usize>(
    x: &[i8],
    zp: i32,
    weights: &[i8],
    out: &mut [i32],
    reference: &mut [i32],
) {
    assert!(
        N > 0 && weights.len().is_multiple_of(N) && weights.len() / N <= 64,
        "at most 64 rows of N > 0 values"
    );
    let mut sums = [0i32; 64];
    let rows = weights.len() / N;
    for (s, row) in sums.iter_mut().zip(weights.chunks_exact(N)) {
        *s = row_sum(row);
    }
    let w = Weights::new(weights, &sums[..rows], N);
    assert_eq!(
        out.len(),
        reference.len(),
        "out and reference: equal lengths"
    );
    matmul_zp::<N>(x, zp, w, out);
    portable(x, w, reference);
}

/// The reference: one wrapping i32 sum per sample and row.
#[cfg_attr(constnet_arm_dsp, allow(dead_code))]
fn portable(x: &[i8], w: Weights, out: &mut [i32]) {
    let rows = w.rows();
    for (x, out) in x.chunks_exact(w.n).zip(out.chunks_exact_mut(rows)) {
        // Elsewhere than x86-64 (microcontrollers), rows in pairs: each activation loaded once
        // for two rows: MNIST int8 on a Cortex-M3 (lm3s6965) in 210 k instead of 248 k
        // instructions (no change on the M0).
        #[cfg(not(target_arch = "x86_64"))]
        let (out, x) = {
            let mut rows = w.data.chunks_exact(w.n);
            let mut out = out.chunks_exact_mut(2);
            for (o, (r0, r1)) in
                (&mut out).zip(core::iter::from_fn(|| Some((rows.next()?, rows.next()?))))
            {
                [o[0], o[1]] = dot2(x, r0, r1);
            }
            (out.into_remainder(), x)
        };
        let done = rows - out.len();
        for (row, out) in w.data.chunks_exact(w.n).skip(done).zip(out) {
            *out = dot(x, row);
        }
    }
}

/// `[Σ x[k] · w0[k], Σ x[k] · w1[k]]`, wrapping: [`dot`] for two rows at once.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn dot2(x: &[i8], w0: &[i8], w1: &[i8]) -> [i32; 2] {
    x.iter()
        .zip(w0)
        .zip(w1)
        .fold([0i32; 2], |[a, b], ((&x, &p), &q)| {
            let x = i32::from(x);
            [
                a.wrapping_add(x * i32::from(p)),
                b.wrapping_add(x * i32::from(q)),
            ]
        })
}

/// `Σ x[k] · w[k]`, wrapping. On x86-64, sixteen independent sums of i16 products (an i8
/// product always fits an i16), a shape LLVM turns into `pmaddwd` on SSE2: 1.7× the simple
/// loop. Microcontrollers keep the simple loop (sixteen sums would not fit their registers).
#[cfg(target_arch = "x86_64")]
#[inline]
fn dot(x: &[i8], w: &[i8]) -> i32 {
    let (xc, xt) = x.as_chunks::<16>();
    let (wc, wt) = w.as_chunks::<16>();
    let mut acc = [0i32; 16];
    for (x, w) in xc.iter().zip(wc) {
        for l in 0..16 {
            let p = i16::from(x[l]) * i16::from(w[l]);
            acc[l] = acc[l].wrapping_add(i32::from(p));
        }
    }
    let tail = xt.iter().zip(wt).fold(0i32, |s, (&a, &b)| {
        s.wrapping_add(i32::from(i16::from(a) * i16::from(b)))
    });
    acc.iter().fold(tail, |s, &a| s.wrapping_add(a))
}

/// `Σ x[k] · w[k]`, wrapping.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn dot(x: &[i8], w: &[i8]) -> i32 {
    x.iter().zip(w).fold(0i32, |s, (&a, &b)| {
        s.wrapping_add(i32::from(a) * i32::from(b))
    })
}

#[cfg(constnet_arm_dsp)]
mod dsp {
    //! The Armv7E-M kernel (Cortex-M4, M7). `SMLAD acc, a, b` adds the products of the two signed
    //! 16-bit halves of `a` and `b` to `acc` (wrapping, as the portable sums); `SXTB16 d, v`
    //! sign-extends bytes 0 and 2 of `v` into the halves of `d`, and `SXTB16 d, v, ROR #8`
    //! bytes 1 and 3. So four int8 weights read as one word become two pairs for two `SMLAD`s.
    //! The activations are extended once per sample into a buffer of the same pairs — `(x0, x2)`,
    //! `(x1, x3)` per four values — and each row then costs, per four weights, one load (paired
    //! with the next word's as `LDRD`), two `SXTB16` and two `SMLAD`; two rows share each load
    //! of activations. The instructions are in `asm!` (the `core::arch::arm` intrinsics are
    //! unstable), register-only and pure; LLVM allocates registers and schedules the loads.

    use super::{Sparse, Weights};

    /// Columns extended per pass: `CHUNK / 2` words (2 KB) of stack, one pass for inputs up to
    /// 1,024 values.
    const CHUNK: usize = 1024;

    /// `sxtb16(v)`: bytes 0 and 2 of `v`, sign-extended to the two halves.
    #[inline(always)]
    fn sxtb16(v: u32) -> u32 {
        let d: u32;
        // SAFETY: one register-only instruction of every Armv7E-M core (the build script sets
        // `constnet_arm_dsp` only for thumbv7em targets); no memory, stack or flags touched.
        unsafe {
            core::arch::asm!("sxtb16 {d}, {v}", d = lateout(reg) d, v = in(reg) v,
                options(pure, nomem, nostack, preserves_flags));
        }
        d
    }

    /// `sxtb16(v ror 8)`: bytes 1 and 3 of `v`, sign-extended to the two halves.
    #[inline(always)]
    fn sxtb16_ror8(v: u32) -> u32 {
        let d: u32;
        // SAFETY: as in `sxtb16`.
        unsafe {
            core::arch::asm!("sxtb16 {d}, {v}, ror #8", d = lateout(reg) d, v = in(reg) v,
                options(pure, nomem, nostack, preserves_flags));
        }
        d
    }

    /// `acc + a.lo · b.lo + a.hi · b.hi` (signed halves, the sum wrapping).
    #[inline(always)]
    fn smlad(a: u32, b: u32, acc: i32) -> i32 {
        let d: i32;
        // SAFETY: as in `sxtb16`, except that SMLAD sets the sticky Q flag on a signed
        // overflow: Rust counts Q among the flags on Arm, so this block does not claim
        // `preserves_flags`.
        unsafe {
            core::arch::asm!("smlad {d}, {a}, {b}, {acc}", d = lateout(reg) d, a = in(reg) a,
                b = in(reg) b, acc = in(reg) acc, options(pure, nomem, nostack));
        }
        d
    }

    /// `acc + Σ` of one word of weights (four int8) times its activation pairs `(x0, x2)`,
    /// `(x1, x3)`.
    #[inline(always)]
    fn mac4(acc: i32, w: u32, even: u32, odd: u32) -> i32 {
        smlad(sxtb16_ror8(w), odd, smlad(sxtb16(w), even, acc))
    }

    /// Marks the end of the extended activations: a pair word is two sign-extended int8, each
    /// half `0xFF80..=0xFFFF` or `0x0000..=0x007F`, never `0x8080`.
    const END: u32 = 0x8080_8080;

    /// Words of extended activations per 16 values.
    const GROUP: usize = 8;

    /// `(Σ w0 · x, Σ w1 · x)` over the first `groups` groups of 16 values: `xe` holds their
    /// extended activations (8 words per group) followed by 4 words of [`END`], `w0` and `w1` at
    /// least `4 · groups` words of weights each; `groups ≥ 1`. Per 32 products: 2 `LDM` of
    /// activations (shared by the rows), 4 `LDRD` of weights, 16 `SXTB16`, 16 `SMLAD` and the
    /// loop's compare and branch — 1.25 instructions per product, against about 2.2 for the same
    /// loop in Rust (LLVM spilled the sums to the stack).
    #[inline(always)]
    fn dot2(xe: &[u32], w0: &[u32], w1: &[u32], groups: usize) -> (i32, i32) {
        assert!(
            groups >= 1
                && xe.len() >= groups * GROUP + 4
                && xe[groups * GROUP] == END
                && w0.len() >= groups * 4
                && w1.len() >= groups * 4,
            "dot2: lengths"
        );
        debug_assert!(xe[..groups * GROUP].iter().step_by(4).all(|&v| v != END));
        let (mut s0, mut s1) = (0i32, 0i32);
        // SAFETY: the loop reads `xe` from its start in `LDM`s of 4 words until one starts with
        // `END`: the words before `groups · 8` never do (they are extended activations), the
        // word there does (asserted), so it reads `groups · 8 + 4 ≤ xe.len()` words; each
        // iteration reads 4 words of `w0` and of `w1`, `4 · groups` in all (asserted). Every
        // pointer is word-aligned (slices of u32), as `LDM`/`LDRD` require. Nothing is written
        // to memory; r0-r3 and the flags are clobbered and declared; the instructions are
        // Armv7E-M's (the build script's cfg).
        unsafe {
            core::arch::asm!(
                "ldm {xp}!, {{r0, r1, r2, r3}}",
                "2:",
                // Values 0-7 (pairs (x0,x2) (x1,x3) (x4,x6) (x5,x7) in r0-r3), row 0 then row 1.
                "ldrd {a}, {b}, [{w0}], #8",
                "sxtb16 {t}, {a}",
                "smlad {s0}, {t}, r0, {s0}",
                "sxtb16 {a}, {a}, ror #8",
                "smlad {s0}, {a}, r1, {s0}",
                "sxtb16 {t}, {b}",
                "smlad {s0}, {t}, r2, {s0}",
                "sxtb16 {b}, {b}, ror #8",
                "smlad {s0}, {b}, r3, {s0}",
                "ldrd {a}, {b}, [{w1}], #8",
                "sxtb16 {t}, {a}",
                "smlad {s1}, {t}, r0, {s1}",
                "sxtb16 {a}, {a}, ror #8",
                "smlad {s1}, {a}, r1, {s1}",
                "sxtb16 {t}, {b}",
                "smlad {s1}, {t}, r2, {s1}",
                "sxtb16 {b}, {b}, ror #8",
                "smlad {s1}, {b}, r3, {s1}",
                // Values 8-15.
                "ldm {xp}!, {{r0, r1, r2, r3}}",
                "ldrd {a}, {b}, [{w0}], #8",
                "sxtb16 {t}, {a}",
                "smlad {s0}, {t}, r0, {s0}",
                "sxtb16 {a}, {a}, ror #8",
                "smlad {s0}, {a}, r1, {s0}",
                "sxtb16 {t}, {b}",
                "smlad {s0}, {t}, r2, {s0}",
                "sxtb16 {b}, {b}, ror #8",
                "smlad {s0}, {b}, r3, {s0}",
                "ldrd {a}, {b}, [{w1}], #8",
                "sxtb16 {t}, {a}",
                "smlad {s1}, {t}, r0, {s1}",
                "sxtb16 {a}, {a}, ror #8",
                "smlad {s1}, {a}, r1, {s1}",
                "sxtb16 {t}, {b}",
                "smlad {s1}, {t}, r2, {s1}",
                "sxtb16 {b}, {b}, ror #8",
                "smlad {s1}, {b}, r3, {s1}",
                // The next group's first half, or the end mark.
                "ldm {xp}!, {{r0, r1, r2, r3}}",
                "cmp r0, #0x80808080",
                "bne 2b",
                xp = inout(reg) xe.as_ptr() => _,
                w0 = inout(reg) w0.as_ptr() => _,
                w1 = inout(reg) w1.as_ptr() => _,
                s0 = inout(reg) s0,
                s1 = inout(reg) s1,
                a = out(reg) _,
                b = out(reg) _,
                t = out(reg) _,
                out("r0") _,
                out("r1") _,
                out("r2") _,
                out("r3") _,
                options(nostack, readonly),
            );
        }
        (s0, s1)
    }

    /// One block of four activations with a value off the zero point: its byte offset `k` in a
    /// row and its pairs `(x0 − zp, x2 − zp)`, `(x1 − zp, x3 − zp)` as [`mac4`] wants them.
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Block {
        k: u32,
        even: u32,
        odd: u32,
    }

    /// Marks the end of the block list: no row is that long.
    const LAST: u32 = u32::MAX;

    /// Blocks the list holds at most: with its end mark 2 KB of stack (12 bytes per entry), as
    /// the dense kernel's buffer; rows of up to 908 values can list their three quarters.
    const MAX_BLOCKS: usize = 170;

    /// `(lo − b.lo, hi − b.hi)` on signed 16-bit halves.
    #[inline(always)]
    fn ssub16(a: u32, b: u32) -> u32 {
        let d: u32;
        // SAFETY: as in `sxtb16`, except that SSUB16 sets the GE flags (not preserved).
        unsafe {
            core::arch::asm!("ssub16 {d}, {a}, {b}", d = lateout(reg) d, a = in(reg) a,
                b = in(reg) b, options(pure, nomem, nostack));
        }
        d
    }

    /// One sample's sums from the blocks of four values that are not all at the zero point,
    /// `Σ x·w = zp·Σ w + Σ (x − zp)·w` (exact in wrapping arithmetic, as every kernel). The
    /// blocks are listed once — word-at-a-time compares against the zero point — and then, four
    /// rows at a time with their sums in registers, each block costs one `LDR`, two `SXTB16`
    /// and two `SMLAD` per row: the rows lie `N` bytes apart, immediate offsets of one pointer
    /// (`LDR` reaches 4,095 bytes, hence `3·N ≤ 4095`). A last partial group of rows overlaps
    /// the one before (it recomputes up to three rows). Answers `Dense` when more than three
    /// quarters of the blocks are listed (the dense kernel then costs less), `Unsuited` for
    /// rows it cannot address as words, fewer than four rows, or a zero point outside int8.
    /// Measured on the int8 MNIST MLP under QEMU: see BENCHMARKS.md.
    pub(super) fn sparse<const N: usize>(
        x: &[i8],
        zp: i32,
        w: &Weights,
        out: &mut [i32],
    ) -> Sparse {
        // SAFETY: every bit pattern is a valid u32; `align_to` only reinterprets the aligned
        // middle of the slice.
        let (head, _, _) = unsafe { w.data.align_to::<u32>() };
        let rows = w.rows();
        if N == 0
            || !N.is_multiple_of(4)
            || 3 * N > 4095
            || w.n != N
            || !head.is_empty()
            || rows < 4
            || !(-128..=127).contains(&zp)
            || x.len() != N
            || out.len() != rows
        {
            return Sparse::Unsuited;
        }
        let zp4 = u32::from_ne_bytes([zp as u8; 4]);
        let zpp = u32::from(zp as u16) * 0x0001_0001;
        let cap = (3 * (N / 4) / 4).min(MAX_BLOCKS);
        let mut list = [core::mem::MaybeUninit::<Block>::uninit(); MAX_BLOCKS + 1];
        let mut m = 0;
        for (j, v) in x.as_chunks::<4>().0.iter().enumerate() {
            let v = u32::from_le_bytes(v.map(|b| b as u8));
            if v != zp4 {
                if m == cap {
                    return Sparse::Dense;
                }
                list[m].write(Block {
                    k: 4 * j as u32,
                    even: ssub16(sxtb16(v), zpp),
                    odd: ssub16(sxtb16_ror8(v), zpp),
                });
                m += 1;
            }
        }
        list[m].write(Block {
            k: LAST,
            even: 0,
            odd: 0,
        });
        // SAFETY: the loop above wrote the first `m + 1` entries.
        let list: &[Block] = unsafe { core::slice::from_raw_parts(list.as_ptr().cast(), m + 1) };
        let mut r = 0;
        while r < rows {
            let g = r.min(rows - 4);
            let sums = &w.sums[g..g + 4];
            let mut s = [0i32; 4];
            for (s, &sum) in s.iter_mut().zip(sums) {
                *s = zp.wrapping_mul(sum);
            }
            if m > 0 {
                s = rows4::<N>(list, &w.data[g * N..(g + 4) * N], s);
            }
            out[g..g + 4].copy_from_slice(&s);
            r += 4;
        }
        Sparse::Done
    }

    /// `s[i] + Σ_blocks` of row `i`'s word at the block's offset times its pairs, for four rows
    /// of `N` values in `w` (word-aligned), over `list` up to its [`LAST`] entry (at least one
    /// block before it). Per block: `LDM` of the entry, the address, 4 × (`LDR`, 2 `SXTB16`,
    /// 2 `SMLAD`), compare, branch — 24 instructions for 16 products.
    #[inline(always)]
    fn rows4<const N: usize>(list: &[Block], w: &[i8], s: [i32; 4]) -> [i32; 4] {
        assert!(
            list.len() >= 2
                && list[list.len() - 1].k == LAST
                && w.len() == 4 * N
                && (w.as_ptr() as usize).is_multiple_of(4),
            "rows4: lengths"
        );
        debug_assert!(list[..list.len() - 1]
            .iter()
            .all(|b| b.k as usize + 4 <= N && b.k.is_multiple_of(4)));
        let [mut s0, mut s1, mut s2, mut s3] = s;
        // SAFETY: the loop reads `list` from its start, one 3-word entry per `LDM`, and stops
        // after loading the entry whose `k` is `LAST` (asserted present; the entries before it
        // are blocks, `k + 4 ≤ N`, a multiple of 4, as `sparse` builds them): it reads exactly
        // `list`. Per block it reads the words at `w + k + {0, N, 2N, 3N}`, within `w`'s `4·N`
        // bytes (asserted), word-aligned (`w` asserted aligned, `k` and `N` multiples of 4;
        // `sparse` checks `N`). Nothing is written to memory; r0-r2 and the flags (GE, Q, NZCV)
        // are clobbered and declared; the instructions are Armv7E-M's (the build script's cfg).
        unsafe {
            core::arch::asm!(
                "ldm {l}!, {{r0, r1, r2}}",
                "2:",
                "add r0, {w}",
                "ldr {a}, [r0]",
                "sxtb16 {t}, {a}",
                "smlad {s0}, {t}, r1, {s0}",
                "sxtb16 {a}, {a}, ror #8",
                "smlad {s0}, {a}, r2, {s0}",
                "ldr {a}, [r0, #{o1}]",
                "sxtb16 {t}, {a}",
                "smlad {s1}, {t}, r1, {s1}",
                "sxtb16 {a}, {a}, ror #8",
                "smlad {s1}, {a}, r2, {s1}",
                "ldr {a}, [r0, #{o2}]",
                "sxtb16 {t}, {a}",
                "smlad {s2}, {t}, r1, {s2}",
                "sxtb16 {a}, {a}, ror #8",
                "smlad {s2}, {a}, r2, {s2}",
                "ldr {a}, [r0, #{o3}]",
                "sxtb16 {t}, {a}",
                "smlad {s3}, {t}, r1, {s3}",
                "sxtb16 {a}, {a}, ror #8",
                "smlad {s3}, {a}, r2, {s3}",
                "ldm {l}!, {{r0, r1, r2}}",
                "cmn r0, #1",
                "bne 2b",
                l = inout(reg) list.as_ptr() => _,
                w = in(reg) w.as_ptr(),
                s0 = inout(reg) s0,
                s1 = inout(reg) s1,
                s2 = inout(reg) s2,
                s3 = inout(reg) s3,
                a = out(reg) _,
                t = out(reg) _,
                o1 = const N,
                o2 = const 2 * N,
                o3 = const 3 * N,
                out("r0") _,
                out("r1") _,
                out("r2") _,
                options(nostack, readonly),
            );
        }
        [s0, s1, s2, s3]
    }

    /// [`super::matmul_with`]'s product (lengths checked there). Rows that are not word-aligned
    /// (`n` not a multiple of 4, or weights at an odd address) take the portable kernel.
    pub(super) fn matmul(x: &[i8], w: Weights, out: &mut [i32]) {
        // SAFETY: every bit pattern is a valid u32; `align_to` only reinterprets the aligned
        // middle of the slice.
        let (head, words, _) = unsafe { w.data.align_to::<u32>() };
        if !head.is_empty() || !w.n.is_multiple_of(4) {
            return super::portable(x, w, out);
        }
        let per_row = w.n / 4;
        let rows = w.rows();
        // Extended activations of one pass and the end mark's 4 words. Not zeroed: clearing
        // 2 KB cost 1,900 instructions per MNIST inference; only written words are read.
        let mut buf = [core::mem::MaybeUninit::<u32>::uninit(); CHUNK / 2 + 4];
        for (x, out) in x.chunks_exact(w.n).zip(out.chunks_exact_mut(rows)) {
            out.fill(0);
            let (xw, _) = x.as_chunks::<4>();
            let mut start = 0;
            // Four int8 as their pairs `[(x0, x2), (x1, x3)]`.
            let extend = |v: &[i8; 4]| {
                let v = u32::from_le_bytes(v.map(|b| b as u8));
                [sxtb16(v), sxtb16_ror8(v)]
            };
            while start < per_row {
                let len = (per_row - start).min(CHUNK / 4);
                let groups = len / 4;
                let xw = &xw[start..][..len];
                // Whole groups of 16 values into `buf`, then the end mark; the last 1-3 words
                // of the pass into `rest`.
                let (whole, last) = xw.split_at(groups * 4);
                for (pair, v) in buf.as_chunks_mut::<2>().0.iter_mut().zip(whole) {
                    let [e, o] = extend(v);
                    pair[0].write(e);
                    pair[1].write(o);
                }
                for m in &mut buf[groups * GROUP..][..4] {
                    m.write(END);
                }
                // SAFETY: the loops above wrote the first `groups · 8 + 4` words (`whole` has
                // `groups · 4` words of 4 values, two pair words each), and `u32` has no
                // invalid values.
                let xe: &[u32] =
                    unsafe { core::slice::from_raw_parts(buf.as_ptr().cast(), groups * GROUP + 4) };
                let mut rest = [[0u32; 2]; 3];
                for (pair, v) in rest.iter_mut().zip(last) {
                    *pair = extend(v);
                }
                let row = |r: usize| &words[r * per_row + start..][..len];
                let tail = |r: usize, s: i32| {
                    row(r)[groups * 4..]
                        .iter()
                        .zip(&rest)
                        .fold(s, |s, (&wv, p)| mac4(s, wv, p[0], p[1]))
                };
                let mut r = 0;
                while r < rows {
                    // Rows in pairs; an odd last row is paired with itself.
                    let r1 = (r + 1).min(rows - 1);
                    let (s0, s1) = if groups > 0 {
                        dot2(xe, row(r), row(r1), groups)
                    } else {
                        (0, 0)
                    };
                    out[r] = out[r].wrapping_add(tail(r, s0));
                    if r1 != r {
                        out[r1] = out[r1].wrapping_add(tail(r1, s1));
                    }
                    r += 2;
                }
                start += len;
            }
        }
    }
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod x86 {
    //! The x86-64 kernels. Each entry point (`matmul_*`) is an `unsafe fn` compiled with its
    //! features; its contract is that the CPU has them and that `x`, `w` and `out` have the
    //! lengths [`super::matmul_with`] checks. Everything below it is `#[inline(always)]`, so it
    //! is compiled into the entry point with those features, and reads memory only at offsets
    //! below the lengths the driver checks.

    use core::arch::x86_64::*;

    use super::Weights;

    /// Samples × rows per tile: every sample's chunk is loaded once for `RC` rows, every row's
    /// chunk once for `RB` samples.
    const RC: usize = 4;

    /// One instruction set's inner step, on one chunk of `LANES` bytes.
    trait Step {
        /// Bytes per chunk.
        const LANES: usize;
        /// The accumulator register.
        type Acc: Copy;
        /// The activation chunk, prepared once for all rows.
        type X: Copy;
        /// The weight chunk, loaded once for all samples.
        type W: Copy;
        /// # Safety
        /// The CPU has the instruction set; `p` points to `LANES` readable bytes.
        unsafe fn load_x(p: *const i8) -> Self::X;
        /// # Safety
        /// As `load_x`.
        unsafe fn load_w(p: *const i8) -> Self::W;
        /// The first `t` bytes at `p` as a chunk, zero-padded (a zero weight adds nothing,
        /// whatever the activation beside it).
        ///
        /// # Safety
        /// The CPU has the instruction set; `t < LANES ≤ 64` and `p` points to `t` readable bytes.
        #[inline(always)]
        unsafe fn load_x_part(p: *const i8, t: usize) -> Self::X {
            let mut buf = [0i8; 64];
            // SAFETY: the contract: `t` bytes to read at `p`, and `t ≤ 64` fit `buf`.
            unsafe {
                core::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), t);
                Self::load_x(buf.as_ptr())
            }
        }
        /// As `load_x_part`, for weights.
        ///
        /// # Safety
        /// As `load_x_part`.
        #[inline(always)]
        unsafe fn load_w_part(p: *const i8, t: usize) -> Self::W {
            let mut buf = [0i8; 64];
            // SAFETY: as in `load_x_part`.
            unsafe {
                core::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), t);
                Self::load_w(buf.as_ptr())
            }
        }
        /// # Safety
        /// The CPU has the instruction set.
        unsafe fn step(acc: Self::Acc, x: Self::X, w: Self::W) -> Self::Acc;
        /// # Safety
        /// The CPU has the instruction set.
        unsafe fn zero() -> Self::Acc;
        /// The final i32 from an accumulator and the row's weight sum.
        ///
        /// # Safety
        /// The CPU has the instruction set.
        unsafe fn finish(acc: Self::Acc, row_sum: i32) -> i32;
        /// [`finish`](Step::finish) of four accumulators at once (one sample, four rows), for
        /// sets that can share the horizontal sums' shuffles among them.
        ///
        /// # Safety
        /// The CPU has the instruction set.
        #[inline(always)]
        unsafe fn finish4(acc: [Self::Acc; 4], row_sums: [i32; 4]) -> [i32; 4] {
            // SAFETY: the contract.
            core::array::from_fn(|j| unsafe { Self::finish(acc[j], row_sums[j]) })
        }
    }

    /// The tile of `RB` samples × `R` rows, starting at sample `b` and row `r`.
    ///
    /// # Safety
    /// The CPU has `S`'s instruction set, and `S::LANES ≤ 64`.
    #[inline(always)]
    unsafe fn tile<S: Step, const RB: usize, const R: usize>(
        x: &[i8],
        w: Weights,
        b: usize,
        r: usize,
    ) -> [[i32; R]; RB] {
        let n = w.n;
        // Sliced, so checked: a tile outside `x` or the weights panics.
        let xs: [*const i8; RB] = core::array::from_fn(|i| x[(b + i) * n..][..n].as_ptr());
        let ws: [*const i8; R] = core::array::from_fn(|j| w.data[(r + j) * n..][..n].as_ptr());
        // SAFETY (all of this function): the CPU has the instruction set (the contract); each
        // pointer starts `n` readable bytes (checked above); full chunks read `k..k + LANES`
        // with `k + LANES ≤ n`, the tail `t = n − k < LANES ≤ 64` bytes.
        unsafe {
            let mut acc = [[S::zero(); R]; RB];
            let mut k = 0;
            while k + S::LANES <= n {
                let xv: [S::X; RB] = core::array::from_fn(|i| S::load_x(xs[i].add(k)));
                for j in 0..R {
                    let wv = S::load_w(ws[j].add(k));
                    for i in 0..RB {
                        acc[i][j] = S::step(acc[i][j], xv[i], wv);
                    }
                }
                k += S::LANES;
            }
            if k < n {
                let t = n - k;
                let xv: [S::X; RB] = core::array::from_fn(|i| S::load_x_part(xs[i].add(k), t));
                for j in 0..R {
                    let wv = S::load_w_part(ws[j].add(k), t);
                    for i in 0..RB {
                        acc[i][j] = S::step(acc[i][j], xv[i], wv);
                    }
                }
            }
            let mut out = [[0i32; R]; RB];
            for i in 0..RB {
                let mut j = 0;
                while j + 4 <= R {
                    let four = S::finish4(
                        [acc[i][j], acc[i][j + 1], acc[i][j + 2], acc[i][j + 3]],
                        [
                            w.sums[r + j],
                            w.sums[r + j + 1],
                            w.sums[r + j + 2],
                            w.sums[r + j + 3],
                        ],
                    );
                    out[i][j..j + 4].copy_from_slice(&four);
                    j += 4;
                }
                for j in j..R {
                    out[i][j] = S::finish(acc[i][j], w.sums[r + j]);
                }
            }
            out
        }
    }

    /// Tiles of `RB` samples (then single samples) × `RC` rows (then single rows).
    ///
    /// # Safety
    /// The CPU has `S`'s instruction set; `x` holds whole samples and `out` one value per sample
    /// and row (as `matmul_with` checks); `S::LANES ≤ 64` (the tail buffers).
    #[inline(always)]
    unsafe fn drive<S: Step, const RB: usize>(x: &[i8], w: Weights, out: &mut [i32]) {
        const { assert!(S::LANES <= 64) };
        let rows = w.rows();
        let batch = x.len() / w.n;
        let mut b = 0;
        // SAFETY (all tile calls): the CPU has S's set (the contract); b + RB ≤ batch (or
        // b < batch for one sample) and r + RC ≤ rows (or r < rows) by the loop bounds.
        unsafe {
            while b + RB <= batch {
                let mut r = 0;
                while r + RC <= rows {
                    let t = tile::<S, RB, RC>(x, w, b, r);
                    for i in 0..RB {
                        out[(b + i) * rows + r..][..RC].copy_from_slice(&t[i]);
                    }
                    r += RC;
                }
                for r in r..rows {
                    let t = tile::<S, RB, 1>(x, w, b, r);
                    for i in 0..RB {
                        out[(b + i) * rows + r] = t[i][0];
                    }
                }
                b += RB;
            }
            for b in b..batch {
                let mut r = 0;
                while r + RC <= rows {
                    let t = tile::<S, 1, RC>(x, w, b, r);
                    out[b * rows + r..][..RC].copy_from_slice(&t[0]);
                    r += RC;
                }
                for r in r..rows {
                    out[b * rows + r] = tile::<S, 1, 1>(x, w, b, r)[0][0];
                }
            }
        }
    }

    /// # Safety
    /// The CPU has AVX2; lengths as `super::matmul_with` checks.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn matmul_avx2(x: &[i8], w: Weights, out: &mut [i32]) {
        // SAFETY: the contract; Avx2Sign's LANES = 32.
        unsafe { drive::<Avx2Sign, 2>(x, w, out) }
    }

    /// # Safety
    /// The CPU has AVX2 and AVX-VNNI; lengths as `super::matmul_with` checks.
    #[target_feature(enable = "avx2,avxvnni")]
    pub(super) unsafe fn matmul_avxvnni(x: &[i8], w: Weights, out: &mut [i32]) {
        // SAFETY: the contract; LANES = 32.
        unsafe { drive::<AvxVnni, 2>(x, w, out) }
    }

    /// # Safety
    /// The CPU has AVX-512 F, BW and VNNI; lengths as `super::matmul_with` checks.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn matmul_avx512vnni(x: &[i8], w: Weights, out: &mut [i32]) {
        // SAFETY: the contract; LANES = 64.
        unsafe { drive::<Avx512Vnni, 4>(x, w, out) }
    }

    /// One instruction set's step of the column kernels ([`super::Packed`]): an accumulator
    /// holds `WIDTH` rows' sums of one sample.
    trait Col {
        /// i32 lanes (rows) per vector.
        const WIDTH: usize;
        /// The accumulator, also a vector of packed weights (prepared once for every sample).
        type Acc: Copy;
        /// One sample's four activations broadcast, prepared once for every vector of rows.
        type X: Copy;
        /// The mask of a vector's first `t` lanes (`0 < t ≤ WIDTH`).
        type Mask: Copy;
        /// # Safety
        /// The CPU has the instruction set.
        unsafe fn mask(t: usize) -> Self::Mask;
        /// # Safety
        /// The CPU has the instruction set; `p` points to `4 · WIDTH` readable bytes.
        unsafe fn load_w(p: *const u8) -> Self::Acc;
        /// The first lanes only (the others 0): they are neither read nor faulted on.
        ///
        /// # Safety
        /// The CPU has the instruction set; `p` points to `4 · t` readable bytes, `t` the mask's.
        unsafe fn load_w_part(p: *const u8, m: Self::Mask) -> Self::Acc;
        /// # Safety
        /// The CPU has the instruction set.
        unsafe fn x(four: i32) -> Self::X;
        /// # Safety
        /// The CPU has the instruction set.
        unsafe fn step(acc: Self::Acc, w: Self::Acc, x: Self::X) -> Self::Acc;
        /// # Safety
        /// The CPU has the instruction set.
        unsafe fn zero() -> Self::Acc;
        /// What to subtract from every sum of a sample (the offset of the weights).
        ///
        /// # Safety
        /// The CPU has the instruction set.
        unsafe fn offset(x: &[i8]) -> i32;
        /// Stores `acc − offset` to `WIDTH` i32.
        ///
        /// # Safety
        /// The CPU has the instruction set; `p` points to `WIDTH` writable i32.
        unsafe fn store(p: *mut i32, acc: Self::Acc, offset: i32);
        /// Stores the mask's lanes of `acc − offset`.
        ///
        /// # Safety
        /// The CPU has the instruction set; `p` points to `t` writable i32, `t` the mask's.
        unsafe fn store_part(p: *mut i32, acc: Self::Acc, offset: i32, m: Self::Mask);
    }

    /// Rows per block of a column tile: `NV` vectors.
    const NV: usize = 4;

    /// Tiles of `NB` samples (then single samples) × blocks of `4 · WIDTH` rows (then the rest).
    ///
    /// # Safety
    /// The CPU has `S`'s instruction set; `x` holds whole samples and `out` one value per sample
    /// and row (as `matmul_packed_with` checks).
    #[inline(always)]
    unsafe fn drive_packed<S: Col, const NB: usize>(x: &[i8], p: super::Packed, out: &mut [i32]) {
        let batch = x.len() / p.n;
        let mut b = 0;
        // SAFETY (all calls): the contract; `b + NB ≤ batch` (or `b < batch`).
        unsafe {
            while b + NB <= batch {
                samples::<S, NB>(x, p, out, b);
                b += NB;
            }
            while b < batch {
                samples::<S, 1>(x, p, out, b);
                b += 1;
            }
        }
    }

    /// Every row of samples `b..b + NB`.
    ///
    /// # Safety
    /// As `drive_packed`, and `b + NB ≤ batch`.
    #[inline(always)]
    unsafe fn samples<S: Col, const NB: usize>(
        x: &[i8],
        p: super::Packed,
        out: &mut [i32],
        b: usize,
    ) {
        let n = p.n;
        // Sliced, so checked.
        let xs: [&[i8]; NB] = core::array::from_fn(|i| &x[(b + i) * n..][..n]);
        // SAFETY (all of this function): the contract; the blocks' rows are `c..rows`.
        unsafe {
            let mut offset = [0i32; NB];
            for (o, x) in offset.iter_mut().zip(xs) {
                *o = S::offset(x);
            }
            let mut c = 0;
            while c + NV * S::WIDTH <= p.rows {
                block::<S, NB, NV, false>(xs, offset, p, out, b, c);
                c += NV * S::WIDTH;
            }
            let left = p.rows - c;
            let full = left.is_multiple_of(S::WIDTH);
            match (left.div_ceil(S::WIDTH), full) {
                (0, _) => {}
                (1, true) => block::<S, NB, 1, false>(xs, offset, p, out, b, c),
                (1, false) => block::<S, NB, 1, true>(xs, offset, p, out, b, c),
                (2, true) => block::<S, NB, 2, false>(xs, offset, p, out, b, c),
                (2, false) => block::<S, NB, 2, true>(xs, offset, p, out, b, c),
                (3, true) => block::<S, NB, 3, false>(xs, offset, p, out, b, c),
                (3, false) => block::<S, NB, 3, true>(xs, offset, p, out, b, c),
                _ => block::<S, NB, 4, true>(xs, offset, p, out, b, c),
            }
        }
    }

    /// Rows `c..c + V · WIDTH` (`PART`: the last vector only up to `rows`) of `NB` samples.
    ///
    /// # Safety
    /// As `samples`; each of `xs` is one sample of `n` values; `c + V · WIDTH ≤ rows`, or, with
    /// `PART`, `c + (V − 1) · WIDTH < rows < c + V · WIDTH`.
    #[inline(always)]
    unsafe fn block<S: Col, const NB: usize, const V: usize, const PART: bool>(
        xs: [&[i8]; NB],
        offset: [i32; NB],
        p: super::Packed,
        out: &mut [i32],
        b: usize,
        c: usize,
    ) {
        let (n, rows) = (p.n, p.rows);
        let lanes = if PART {
            rows - c - (V - 1) * S::WIDTH
        } else {
            S::WIDTH
        };
        // SAFETY (all of this function): the CPU has S's set. Group `g < n / 4` of rows
        // `c + v · WIDTH..` starts at byte `(g · rows + c + v · WIDTH) · 4` of the body, which
        // holds `n / 4 · rows · 4` bytes (`Packed::new`), so a vector's `4 · lanes` bytes end at
        // or before `(g + 1) · rows · 4`; the tail has `rows · 4` bytes, read the same way.
        // Activations are read 4 at a time at `4g + 4 ≤ n`; the tail's `n % 4` by copy.
        unsafe {
            let m = S::mask(lanes);
            // Loops, not `array::from_fn`: its closures were not inlined into the
            // `target_feature` entry points (a call per vector).
            let load = |q: *const u8| {
                let mut w = [S::zero(); V];
                for (v, w) in w.iter_mut().enumerate() {
                    let q = q.add(v * S::WIDTH * 4);
                    *w = if PART && v == V - 1 {
                        S::load_w_part(q, m)
                    } else {
                        S::load_w(q)
                    };
                }
                w
            };
            let mut acc = [[S::zero(); V]; NB];
            for g in 0..n / 4 {
                // Offset from the start each time: a running pointer would step past the end.
                let w = load(p.body.as_ptr().add((g * rows + c) * 4));
                for i in 0..NB {
                    let four = xs[i].as_ptr().add(4 * g).cast::<i32>().read_unaligned();
                    let xv = S::x(four);
                    for v in 0..V {
                        acc[i][v] = S::step(acc[i][v], w[v], xv);
                    }
                }
            }
            if !n.is_multiple_of(4) {
                let w = load(p.tail.as_ptr().add(c * 4));
                for i in 0..NB {
                    // The last n % 4 values, zero-padded: a 0 adds nothing.
                    let mut four = [0u8; 4];
                    for (d, &v) in four.iter_mut().zip(&xs[i][n / 4 * 4..]) {
                        *d = v as u8;
                    }
                    let xv = S::x(i32::from_le_bytes(four));
                    for v in 0..V {
                        acc[i][v] = S::step(acc[i][v], w[v], xv);
                    }
                }
            }
            for i in 0..NB {
                // Sliced, so checked.
                let o = &mut out[(b + i) * rows + c..][..(V - 1) * S::WIDTH + lanes];
                for (v, &a) in acc[i].iter().enumerate() {
                    let q = o.as_mut_ptr().add(v * S::WIDTH);
                    if PART && v == V - 1 {
                        S::store_part(q, a, offset[i], m);
                    } else {
                        S::store(q, a, offset[i]);
                    }
                }
            }
        }
    }

    /// `vpdpbusd` of the packed weights (u8) by four broadcast activations (i8), 16 rows.
    struct ColAvx512;

    impl Col for ColAvx512 {
        const WIDTH: usize = 16;
        type Acc = __m512i;
        type X = __m512i;
        type Mask = u16;
        #[inline(always)]
        unsafe fn mask(t: usize) -> u16 {
            ((1u32 << t) - 1) as u16
        }
        #[inline(always)]
        unsafe fn load_w(p: *const u8) -> __m512i {
            // SAFETY: the trait's contract.
            unsafe { _mm512_loadu_si512(p.cast()) }
        }
        #[inline(always)]
        unsafe fn load_w_part(p: *const u8, m: u16) -> __m512i {
            // SAFETY: the trait's contract; masked lanes are not accessed.
            unsafe { _mm512_maskz_loadu_epi32(m, p.cast()) }
        }
        #[inline(always)]
        unsafe fn x(four: i32) -> __m512i {
            // SAFETY: the trait's contract.
            unsafe { _mm512_set1_epi32(four) }
        }
        #[inline(always)]
        unsafe fn step(acc: __m512i, w: __m512i, x: __m512i) -> __m512i {
            // SAFETY: the trait's contract.
            unsafe { _mm512_dpbusd_epi32(acc, w, x) }
        }
        #[inline(always)]
        unsafe fn zero() -> __m512i {
            // SAFETY: the trait's contract.
            unsafe { _mm512_setzero_si512() }
        }
        #[inline(always)]
        unsafe fn offset(x: &[i8]) -> i32 {
            // SAFETY: the trait's contract; full loads at `k + 64 ≤ len`, the rest masked.
            unsafe {
                let ones = _mm512_set1_epi8(1);
                let mut s = _mm512_setzero_si512();
                let mut k = 0;
                while k + 64 <= x.len() {
                    s = _mm512_dpbusd_epi32(s, ones, _mm512_loadu_si512(x.as_ptr().add(k).cast()));
                    k += 64;
                }
                if k < x.len() {
                    let m = (1u64 << (x.len() - k)) - 1;
                    let v = _mm512_maskz_loadu_epi8(m, x.as_ptr().add(k));
                    s = _mm512_dpbusd_epi32(s, ones, v);
                }
                _mm512_reduce_add_epi32(s).wrapping_mul(128)
            }
        }
        #[inline(always)]
        unsafe fn store(p: *mut i32, acc: __m512i, offset: i32) {
            // SAFETY: the trait's contract.
            unsafe {
                _mm512_storeu_si512(p.cast(), _mm512_sub_epi32(acc, _mm512_set1_epi32(offset)))
            }
        }
        #[inline(always)]
        unsafe fn store_part(p: *mut i32, acc: __m512i, offset: i32, m: u16) {
            // SAFETY: the trait's contract; masked lanes are not accessed.
            unsafe {
                _mm512_mask_storeu_epi32(p, m, _mm512_sub_epi32(acc, _mm512_set1_epi32(offset)))
            }
        }
    }

    /// 256-bit `vpdpbusd` (AVX-VNNI), 8 rows.
    struct ColAvxVnni;

    impl Col for ColAvxVnni {
        const WIDTH: usize = 8;
        type Acc = __m256i;
        type X = __m256i;
        type Mask = __m256i;
        #[inline(always)]
        unsafe fn mask(t: usize) -> __m256i {
            // SAFETY: the trait's contract.
            unsafe { mask256(t) }
        }
        #[inline(always)]
        unsafe fn load_w(p: *const u8) -> __m256i {
            // SAFETY: the trait's contract.
            unsafe { _mm256_loadu_si256(p.cast()) }
        }
        #[inline(always)]
        unsafe fn load_w_part(p: *const u8, m: __m256i) -> __m256i {
            // SAFETY: the trait's contract; `vpmaskmovd` does not access masked lanes.
            unsafe { _mm256_maskload_epi32(p.cast(), m) }
        }
        #[inline(always)]
        unsafe fn x(four: i32) -> __m256i {
            // SAFETY: the trait's contract.
            unsafe { _mm256_set1_epi32(four) }
        }
        #[inline(always)]
        unsafe fn step(acc: __m256i, w: __m256i, x: __m256i) -> __m256i {
            // SAFETY: the trait's contract.
            unsafe { _mm256_dpbusd_avx_epi32(acc, w, x) }
        }
        #[inline(always)]
        unsafe fn zero() -> __m256i {
            // SAFETY: the trait's contract.
            unsafe { _mm256_setzero_si256() }
        }
        #[inline(always)]
        unsafe fn offset(x: &[i8]) -> i32 {
            // SAFETY: the trait's contract; full loads at `k + 32 ≤ len`, the rest by
            // `load256_part`.
            unsafe {
                let ones = _mm256_set1_epi8(1);
                let mut s = _mm256_setzero_si256();
                let mut k = 0;
                while k + 32 <= x.len() {
                    let v = _mm256_loadu_si256(x.as_ptr().add(k).cast());
                    s = _mm256_dpbusd_avx_epi32(s, ones, v);
                    k += 32;
                }
                if k < x.len() {
                    let v = load256_part(x.as_ptr().add(k), x.len() - k);
                    s = _mm256_dpbusd_avx_epi32(s, ones, v);
                }
                hsum256(s).wrapping_mul(128)
            }
        }
        #[inline(always)]
        unsafe fn store(p: *mut i32, acc: __m256i, offset: i32) {
            // SAFETY: the trait's contract.
            unsafe {
                _mm256_storeu_si256(p.cast(), _mm256_sub_epi32(acc, _mm256_set1_epi32(offset)))
            }
        }
        #[inline(always)]
        unsafe fn store_part(p: *mut i32, acc: __m256i, offset: i32, m: __m256i) {
            // SAFETY: the trait's contract; `vpmaskmovd` does not access masked lanes.
            unsafe {
                _mm256_maskstore_epi32(p, m, _mm256_sub_epi32(acc, _mm256_set1_epi32(offset)))
            }
        }
    }

    /// AVX2, 8 rows: the weights back to i8 (`^ 0x80`, once per tile), then the sign trick of
    /// `Avx2Sign`: `vpmaddubsw(|x|, sign(w, x))`, exact since `|w| ≤ 127`. No offset.
    struct ColAvx2;

    impl Col for ColAvx2 {
        const WIDTH: usize = 8;
        type Acc = __m256i;
        /// `(x, |x|)`.
        type X = (__m256i, __m256i);
        type Mask = __m256i;
        #[inline(always)]
        unsafe fn mask(t: usize) -> __m256i {
            // SAFETY: the trait's contract.
            unsafe { mask256(t) }
        }
        #[inline(always)]
        unsafe fn load_w(p: *const u8) -> __m256i {
            // SAFETY: the trait's contract.
            unsafe { _mm256_xor_si256(_mm256_loadu_si256(p.cast()), _mm256_set1_epi8(-128)) }
        }
        #[inline(always)]
        unsafe fn load_w_part(p: *const u8, m: __m256i) -> __m256i {
            // SAFETY: the trait's contract; `vpmaskmovd` does not access masked lanes. Masked
            // lanes become 0 ^ 0x80 = -128 as weights: their sums are never stored.
            unsafe { _mm256_xor_si256(_mm256_maskload_epi32(p.cast(), m), _mm256_set1_epi8(-128)) }
        }
        #[inline(always)]
        unsafe fn x(four: i32) -> Self::X {
            // SAFETY: the trait's contract.
            unsafe {
                let x = _mm256_set1_epi32(four);
                (x, _mm256_abs_epi8(x))
            }
        }
        #[inline(always)]
        unsafe fn step(acc: __m256i, w: __m256i, (x, ax): Self::X) -> __m256i {
            // SAFETY: the trait's contract.
            unsafe {
                let pairs = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(w, x));
                _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)))
            }
        }
        #[inline(always)]
        unsafe fn zero() -> __m256i {
            // SAFETY: the trait's contract.
            unsafe { _mm256_setzero_si256() }
        }
        #[inline(always)]
        unsafe fn offset(_: &[i8]) -> i32 {
            0
        }
        #[inline(always)]
        unsafe fn store(p: *mut i32, acc: __m256i, _: i32) {
            // SAFETY: the trait's contract.
            unsafe { _mm256_storeu_si256(p.cast(), acc) }
        }
        #[inline(always)]
        unsafe fn store_part(p: *mut i32, acc: __m256i, _: i32, m: __m256i) {
            // SAFETY: the trait's contract; `vpmaskmovd` does not access masked lanes.
            unsafe { _mm256_maskstore_epi32(p, m, acc) }
        }
    }

    /// Lanes `0..t` of a 256-bit mask (all bits set), `0 < t ≤ 8`.
    ///
    /// # Safety
    /// The CPU has AVX2.
    #[inline(always)]
    unsafe fn mask256(t: usize) -> __m256i {
        // SAFETY: the contract; registers only.
        unsafe {
            _mm256_cmpgt_epi32(
                _mm256_set1_epi32(t as i32),
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
            )
        }
    }

    /// # Safety
    /// The CPU has AVX-512 F, BW and VNNI; lengths as `super::matmul_packed_with` checks.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn packed_avx512vnni(x: &[i8], p: super::Packed, out: &mut [i32]) {
        // SAFETY: the contract.
        unsafe { drive_packed::<ColAvx512, 4>(x, p, out) }
    }

    /// # Safety
    /// The CPU has AVX2 and AVX-VNNI; lengths as `super::matmul_packed_with` checks.
    #[target_feature(enable = "avx2,avxvnni")]
    pub(super) unsafe fn packed_avxvnni(x: &[i8], p: super::Packed, out: &mut [i32]) {
        // SAFETY: the contract.
        unsafe { drive_packed::<ColAvxVnni, 2>(x, p, out) }
    }

    /// Batches from this size take [`wide`] on AVX2, smaller ones `ColAvx2`: `wide` prepares
    /// each sample's activations and correction, which a tile of 2 samples does not repay
    /// (784 × 64 on a Zen 5 EPYC, `ColAvx2` / `wide`: batch 2 0.96 / 1.00 µs, 4 1.92 / 1.83,
    /// 16 7.60 / 6.73, 128 60.6 / 52.8; the ignored test `measure_kernels`).
    const WIDE_BATCH: usize = 4;

    /// # Safety
    /// The CPU has AVX2; lengths as `super::matmul_packed_with` checks.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn packed_avx2(x: &[i8], p: super::Packed, out: &mut [i32]) {
        // SAFETY: the contract.
        unsafe {
            if x.len() / p.n >= WIDE_BATCH {
                wide::product(x, p, out)
            } else {
                drive_packed::<ColAvx2, 2>(x, p, out)
            }
        }
    }

    /// [`packed_avx2`] by `ColAvx2` at any batch size, for the tests.
    ///
    /// # Safety
    /// As [`packed_avx2`].
    #[cfg(test)]
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn packed_avx2_sign(x: &[i8], p: super::Packed, out: &mut [i32]) {
        // SAFETY: the contract.
        unsafe { drive_packed::<ColAvx2, 2>(x, p, out) }
    }

    /// [`packed_avx2`] by [`wide`] at any batch size, for the tests.
    ///
    /// # Safety
    /// As [`packed_avx2`].
    #[cfg(test)]
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn packed_avx2_wide(x: &[i8], p: super::Packed, out: &mut [i32]) {
        // SAFETY: the contract.
        unsafe { wide::product(x, p, out) }
    }

    mod wide {
        //! The AVX2 batch product by Winograd's inner product on 16-bit values (see `Packed`):
        //! per group of four inputs and 8 rows, two `vpaddw` form `(x₀ + w₁, x₂ + w₃)` and
        //! `(x₁ + w₀, x₃ + w₂)` (in `[-255, 254]`), one `vpmaddwd` multiplies them into i32 —
        //! four products' worth in two multiplies per lane — and one `vpaddd` accumulates; the
        //! sums start at `−Σ w₀w₁ − Σ x₀x₁` (the rows' part stored with the weights, the
        //! samples' computed with their activations). Two multiplies and two additions per 32
        //! products before, one and three now: the additions run on more of a core's vector
        //! pipes than the multiplies (784 × 64 at batch 128 on the Zen 5 EPYC, with the output
        //! stage: 59.1–59.6 → 58.0–58.3 µs, 3 interleaved rounds; the MLP 61.4 → 60.7 µs,
        //! medians of 5). Exact: products below 2^16 in magnitude into i32 (no saturation), and
        //! the wrapping sums are congruent to the dot product modulo 2^32: every kernel's i32.
        //!
        //! The weights are the layer's 16-bit copy ([`super::super::pack_wide`], built with the
        //! layer: widening them per call cost 1.5–2 µs of the 784-64-10 MLP's batch of 128),
        //! taken in chunks of up to `GROUPS` groups × `8 · PASS` rows, at most 32 KB, kept in L1
        //! while every sample passes; per tile of `NB` samples their activations of the chunk are
        //! widened and reordered. The i32 sums go to `out` after the first chunk and are read
        //! back for the next.

        use core::arch::x86_64::*;
        use core::mem::MaybeUninit;

        /// Groups of four inputs per chunk, at most (256 inputs); the groups are split into
        /// chunks of about equal size, multiples of 4.
        const GROUPS: usize = 64;
        /// Vectors of 8 rows per chunk (64 rows).
        const PASS: usize = 8;
        /// Samples per tile.
        const NB: usize = 2;
        /// Vectors per tile: `NB · NV` accumulators and `2 · NB` activations in the 16
        /// registers, the weights read as memory operands.
        const NV: usize = 4;

        /// The inputs of one chunk: `groups` groups of weights, group `g`'s two vectors at
        /// `w[2g · rows · 2..]` and `w[(2g + 1) · rows · 2..]` (`rows` × 2 values each),
        /// multiplying the activations `x0..x0 + 4 · groups` of each sample (those past `n`
        /// are 0).
        #[derive(Clone, Copy)]
        struct Chunk<'a> {
            w: &'a [i16],
            groups: usize,
            x0: usize,
            /// The sums start at `−corr` (else at `out`).
            first: bool,
            corr: &'a [i32],
        }

        /// `out = x · wᵀ` for every sample of `x`.
        ///
        /// # Safety
        /// The CPU has AVX2; `x` holds whole samples of `p.n` and `out` one i32 per sample and
        /// row (as `matmul_packed_with` checks).
        #[inline(always)]
        pub(super) unsafe fn product(x: &[i8], p: super::super::Packed, out: &mut [i32]) {
            let (n, rows) = (p.n, p.rows);
            let groups = n / 4;
            // Whole vectors of 16 activations per chunk but in the last (`widen_x`'s
            // remainder is scalar): 196 groups as 52 + 3 × 48.
            let size = groups
                .div_ceil(groups.div_ceil(GROUPS).max(1))
                .next_multiple_of(4);
            let corr = p.wide_corr;
            let mut g0 = 0;
            // SAFETY (both): AVX2 (the contract); each chunk's slice of `p.wide` holds its
            // groups (sliced, so checked) of `rows × 4` values, as `Packed::new` checked for
            // `n / 4` groups and `rows × 4` values of the tail.
            unsafe {
                while g0 < groups {
                    let gc = size.min(groups - g0);
                    let w = &p.wide[g0 * rows * 4..(g0 + gc) * rows * 4];
                    let (x0, first) = (4 * g0, g0 == 0);
                    chunk(
                        x,
                        n,
                        rows,
                        Chunk {
                            w,
                            groups: gc,
                            x0,
                            first,
                            corr,
                        },
                        out,
                    );
                    g0 += gc;
                }
                if !n.is_multiple_of(4) {
                    let (w, x0, first) = (p.wide_tail, 4 * groups, groups == 0);
                    chunk(
                        x,
                        n,
                        rows,
                        Chunk {
                            w,
                            groups: 1,
                            x0,
                            first,
                            corr,
                        },
                        out,
                    );
                }
            }
        }

        /// Every sample and row through one chunk.
        ///
        /// # Safety
        /// AVX2; as `product`, and `k.w` holds `k.groups` groups of `rows × 4` values, `0 <
        /// k.groups ≤ GROUPS`, `k.x0 < n`, `k.corr` `rows` values.
        #[inline(always)]
        unsafe fn chunk(x: &[i8], n: usize, rows: usize, k: Chunk, out: &mut [i32]) {
            let batch = x.len() / n;
            let mut c = 0;
            while c < rows {
                let nvp = (rows - c).div_ceil(8).min(PASS);
                let last = (rows - c - 8 * (nvp - 1)).min(8);
                let mut b = 0;
                // SAFETY (all): the contract; vectors `< nvp` of rows `c..c + 8 · (nvp − 1) +
                // last ≤ rows`, the tiles' samples below `batch`.
                unsafe {
                    while b + NB <= batch {
                        tile::<NB>(x, n, rows, k, nvp, last, c, out, b);
                        b += NB;
                    }
                    while b < batch {
                        tile::<1>(x, n, rows, k, nvp, last, c, out, b);
                        b += 1;
                    }
                }
                c += 8 * PASS;
            }
        }

        /// Samples `b..b + T` against the chunk `k` (`nvp` vectors of rows from `c`, the last
        /// with `last` rows): their activations widened and reordered, then blocks of up to
        /// `NV` vectors.
        ///
        /// # Safety
        /// As `chunk`; `b + T ≤ batch`, `0 < nvp ≤ PASS`, `0 < last ≤ 8`, `c + 8 · (nvp − 1) +
        /// last ≤ rows`.
        #[inline(always)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn tile<const T: usize>(
            x: &[i8],
            n: usize,
            rows: usize,
            k: Chunk,
            nvp: usize,
            last: usize,
            c: usize,
            out: &mut [i32],
            b: usize,
        ) {
            // Not zeroed (2 KB per tile and chunk); `widen_x` writes the first `2 · k.groups`
            // of each.
            let mut xw = [[MaybeUninit::<i32>::uninit(); 2 * GROUPS]; T];
            let mut cx = [0i32; T];
            // A loop, not in `array::from_fn`'s closure: not inlined there, `widen_x`'s
            // intrinsics were calls (17 % of the batch).
            for (i, dst) in xw.iter_mut().enumerate() {
                // Sliced, so checked.
                let src = &x[(b + i) * n..][..n][k.x0..(k.x0 + 4 * k.groups).min(n)];
                // SAFETY: AVX2 (the contract); `src` has at most `4 · k.groups` values.
                cx[i] = unsafe { widen_x(src, &mut dst[..2 * k.groups]) };
            }
            // SAFETY: `widen_x` initialised the first `2 · k.groups` words of each (`k.groups
            // ≤ GROUPS`: `chunk`'s contract).
            let xs: [&[i32]; T] = core::array::from_fn(|i| unsafe {
                core::slice::from_raw_parts(xw[i].as_ptr().cast::<i32>(), 2 * k.groups)
            });
            let mut v0 = 0;
            while v0 < nvp {
                let nv = (nvp - v0).min(NV);
                let lanes = if v0 + nv == nvp { last } else { 8 };
                let cc = c + 8 * v0;
                // SAFETY: AVX2; vectors `v0..v0 + nv ≤ nvp` of rows from `cc`, the last with
                // `lanes` rows, within `rows`.
                unsafe {
                    match (nv, lanes == 8) {
                        (4, true) => block::<T, 4, false>(xs, cx, k, lanes, rows, cc, out, b),
                        (4, false) => block::<T, 4, true>(xs, cx, k, lanes, rows, cc, out, b),
                        (3, true) => block::<T, 3, false>(xs, cx, k, lanes, rows, cc, out, b),
                        (3, false) => block::<T, 3, true>(xs, cx, k, lanes, rows, cc, out, b),
                        (2, true) => block::<T, 2, false>(xs, cx, k, lanes, rows, cc, out, b),
                        (2, false) => block::<T, 2, true>(xs, cx, k, lanes, rows, cc, out, b),
                        (_, true) => block::<T, 1, false>(xs, cx, k, lanes, rows, cc, out, b),
                        (_, false) => block::<T, 1, true>(xs, cx, k, lanes, rows, cc, out, b),
                    }
                }
                v0 += nv;
            }
        }

        /// `src` (groups of four, the last zero-padded to `2 · dst.len()` values) as i16 pairs
        /// in i32 words, each group's `(x₀, x₂)` then `(x₁, x₃)`: every word of `dst` written.
        /// Returns `Σ x[2k] · x[2k + 1]`.
        ///
        /// # Safety
        /// AVX2; `src.len() ≤ 2 · dst.len()`, `dst.len()` even.
        #[inline(always)]
        unsafe fn widen_x(src: &[i8], dst: &mut [MaybeUninit<i32>]) -> i32 {
            assert!(src.len() <= 2 * dst.len() && dst.len().is_multiple_of(2));
            let d = dst.as_mut_ptr().cast::<i16>();
            // Where input `j` of a group goes among its four i16.
            const AT: [usize; 4] = [0, 2, 1, 3];
            // SAFETY: AVX2 (the contract); reads within `src`, writes the `2 · dst.len()` i16
            // of `dst`: 16 at a time where 16 values are left, then one by one, then zeros.
            unsafe {
                // Per group of four bytes: x₀, x₂, x₁, x₃ (reordered before widening: one
                // byte shuffle, where LLVM made two of the 16-bit one).
                let order = _mm_setr_epi8(0, 2, 1, 3, 4, 6, 5, 7, 8, 10, 9, 11, 12, 14, 13, 15);
                let mut sum = _mm256_setzero_si256();
                let mut k = 0;
                while k + 16 <= src.len() {
                    let v = _mm_loadu_si128(src.as_ptr().add(k).cast());
                    let v = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(v, order));
                    // (x₀, x₂)·(x₁, x₃) = x₀x₁ + x₂x₃, in both words of a group.
                    let swapped = _mm256_shuffle_epi32::<0b10_11_00_01>(v);
                    sum = _mm256_add_epi32(sum, _mm256_madd_epi16(v, swapped));
                    _mm256_storeu_si256(d.add(k).cast(), v);
                    k += 16;
                }
                // Twice the sum, and at most 16 384 · values: no wrap.
                let mut cx = super::hsum256(sum) / 2;
                for (j, &v) in src.iter().enumerate().skip(k) {
                    d.add(j / 4 * 4 + AT[j % 4]).write(i16::from(v));
                    if j % 2 == 1 {
                        cx += i32::from(src[j - 1]) * i32::from(v);
                    }
                }
                for j in src.len()..2 * dst.len() {
                    d.add(j / 4 * 4 + AT[j % 4]).write(0);
                }
                cx
            }
        }

        /// A vector of 8 i32 at `q`, or with `PART` and `last` only the mask's lanes (the
        /// others 0).
        ///
        /// # Safety
        /// AVX2; `q` points to 8 readable i32, or with `PART` and `last` to the mask's.
        #[inline(always)]
        unsafe fn load<const PART: bool>(q: *const i32, last: bool, m: __m256i) -> __m256i {
            // SAFETY: the contract; `vpmaskmovd` does not touch the masked lanes.
            unsafe {
                if PART && last {
                    _mm256_maskload_epi32(q, m)
                } else {
                    _mm256_loadu_si256(q.cast())
                }
            }
        }

        /// `V` vectors of rows from `c` for `T` samples against the chunk `k` (`PART`: the
        /// last vector has `lanes < 8` rows, loaded and stored masked): the sums start at
        /// `−corr` in the first chunk and at `out` after it, less each sample's `cx`, and go to
        /// `out`.
        ///
        /// # Safety
        /// AVX2; as `tile`, with `c + 8 · (V − 1) + lanes ≤ rows`, `lanes = 8` unless `PART`;
        /// `xs` of `2 · k.groups` words each.
        #[inline(always)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn block<const T: usize, const V: usize, const PART: bool>(
            xs: [&[i32]; T],
            cx: [i32; T],
            k: Chunk,
            lanes: usize,
            rows: usize,
            c: usize,
            out: &mut [i32],
            b: usize,
        ) {
            // SAFETY: AVX2 (the contract). `out` and `k.corr` are sliced (checked) to the `8 ·
            // (V − 1) + lanes` sums of each sample; a last vector of fewer lanes is loaded and
            // stored masked (`vpmaskmovd` does not touch the other lanes). Vector `v` of half
            // `h` of group `g < k.groups` is read at `((2g + h) · rows + c + 8v) · 2`, `2 ·
            // lanes` values (16 unless the part vector), which end at or before `((2g + h) ·
            // rows + rows) · 2 ≤ k.w.len()` (asserted), and `xs[i][2g + h]`, within the `2 ·
            // k.groups` words of each `xs[i]` (asserted: once per block).
            unsafe {
                assert!(
                    xs.iter().all(|x| x.len() == 2 * k.groups)
                        && k.w.len() >= k.groups * rows * 4
                        && c + 8 * (V - 1) + lanes <= rows
                        && (PART || lanes == 8)
                );
                let m = super::mask256(lanes);
                let load = |q: *const i32, v: usize| load::<PART>(q, v == V - 1, m);
                let mut acc = [[_mm256_setzero_si256(); V]; T];
                let corr = &k.corr[c..][..8 * (V - 1) + lanes];
                for (i, acc) in acc.iter_mut().enumerate() {
                    let o = &out[(b + i) * rows + c..][..8 * (V - 1) + lanes];
                    let cxv = _mm256_set1_epi32(cx[i]);
                    for (v, a) in acc.iter_mut().enumerate() {
                        *a = if k.first {
                            let w = load(corr.as_ptr().add(8 * v), v);
                            _mm256_sub_epi32(_mm256_setzero_si256(), w)
                        } else {
                            load(o.as_ptr().add(8 * v), v)
                        };
                        *a = _mm256_sub_epi32(*a, cxv);
                    }
                }
                let base = k.w.as_ptr().add(2 * c);
                let half = rows * 2;
                // Index loops: `array::from_fn`'s closures were not inlined into the
                // `target_feature` entry points (as in the column kernels' `block`).
                #[allow(clippy::needless_range_loop)]
                for g in 0..k.groups {
                    let mut xa = [_mm256_setzero_si256(); T];
                    let mut xb = [_mm256_setzero_si256(); T];
                    for i in 0..T {
                        xa[i] = _mm256_set1_epi32(*xs[i].get_unchecked(2 * g));
                        xb[i] = _mm256_set1_epi32(*xs[i].get_unchecked(2 * g + 1));
                    }
                    // Offset from the start each time: a running pointer would step past the
                    // end.
                    let q = base.add(2 * g * half);
                    for v in 0..V {
                        let wa = load(q.add(16 * v).cast(), v);
                        let wb = load(q.add(half + 16 * v).cast(), v);
                        for i in 0..T {
                            let a = _mm256_add_epi16(xa[i], wa);
                            let bb = _mm256_add_epi16(xb[i], wb);
                            acc[i][v] = _mm256_add_epi32(acc[i][v], _mm256_madd_epi16(a, bb));
                        }
                    }
                }
                for (i, acc) in acc.iter().enumerate() {
                    let o = &mut out[(b + i) * rows + c..][..8 * (V - 1) + lanes];
                    for (v, &a) in acc.iter().enumerate() {
                        let q = o.as_mut_ptr().add(8 * v);
                        if PART && v == V - 1 {
                            _mm256_maskstore_epi32(q, m, a);
                        } else {
                            _mm256_storeu_si256(q.cast(), a);
                        }
                    }
                }
            }
        }
    }

    /// The vector requantisations' per-row parameters for up to `L` rows: multipliers, left
    /// shifts and right shifts (`mbqm`'s split of the shift), zero past the rows given.
    #[inline(always)]
    fn row_params<const L: usize>(m: &[super::QuantizedMultiplier]) -> [[i32; L]; 3] {
        let mut p = [[0i32; L]; 3];
        for (j, q) in m.iter().take(L).enumerate() {
            p[0][j] = q.multiplier;
            p[1][j] = q.shift.max(0);
            p[2][j] = (-q.shift).max(0);
        }
        p
    }

    /// # Safety
    /// The CPU has AVX-512 F and BW.
    #[target_feature(enable = "avx512f,avx512bw")]
    pub(super) unsafe fn requantize_avx512(r: super::Requant, acc: &[i32], y: &mut [i8]) {
        // `mbqm` by hand, 16 rows at a time, their parameters prepared once for every sample
        // (LLVM's vectorisation of the scalar code took a fifth of a 784-64 layer's batch):
        // - `(x · m + nudge) / 2^31` truncating is `⌊(x · m + 2^30) / 2^31⌋` for either sign
        //   of the nudge, one 64-bit add and arithmetic shift, on even and odd lanes apart;
        // - `clamp(sat(v + zp), lo, hi) = clamp(v, lo − zp, hi − zp) + zp`, exactly.
        let rows = r.offset.len();
        let batch = acc.len() / rows;
        if batch == 1 {
            // One sample: preparing the parameters would not pay (MNIST MLP, 0.35 against
            // 0.40 µs per inference).
            return super::requantize_rows(r, acc, y);
        }
        // SAFETY: the CPU has AVX-512 F and BW (the contract); every load and store is masked
        // to the `t` lanes of slices checked to hold them; the rest is registers.
        unsafe {
            let zp = _mm512_set1_epi32(r.zero_point);
            let lo = _mm512_set1_epi32(i32::from(r.lo) - r.zero_point);
            let hi = _mm512_set1_epi32(i32::from(r.hi) - r.zero_point);
            let half = _mm512_set1_epi64(1 << 30);
            let min = _mm512_set1_epi32(i32::MIN);
            let mut c = 0;
            while c < rows {
                let t = (rows - c).min(16);
                let k = ((1u32 << t) - 1) as u16;
                let [mul, left, right] = row_params::<16>(&r.multiplier[c..c + t]);
                let off = _mm512_maskz_loadu_epi32(k, r.offset[c..c + t].as_ptr());
                let m = _mm512_loadu_si512(mul.as_ptr().cast());
                let m_odd = _mm512_srli_epi64::<32>(m);
                let m_min = _mm512_cmpeq_epi32_mask(m, min);
                let left = _mm512_loadu_si512(left.as_ptr().cast());
                let right = _mm512_loadu_si512(right.as_ptr().cast());
                let mask = _mm512_sub_epi32(
                    _mm512_sllv_epi32(_mm512_set1_epi32(1), right),
                    _mm512_set1_epi32(1),
                );
                let threshold = _mm512_srai_epi32::<1>(mask);
                for b in 0..batch {
                    let a = &acc[b * rows + c..][..t];
                    let out = &mut y[b * rows + c..][..t];
                    let x = _mm512_maskz_loadu_epi32(k, a.as_ptr());
                    let x = _mm512_sllv_epi32(_mm512_add_epi32(x, off), left);
                    let even = _mm512_mul_epi32(x, m);
                    let odd = _mm512_mul_epi32(_mm512_srli_epi64::<32>(x), m_odd);
                    let even = _mm512_srai_epi64::<31>(_mm512_add_epi64(even, half));
                    let odd = _mm512_srai_epi64::<31>(_mm512_add_epi64(odd, half));
                    let high = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64::<32>(odd));
                    // x = m = i32::MIN: the only product beyond i32, saturated.
                    let sat = _mm512_cmpeq_epi32_mask(x, min) & m_min;
                    let high = _mm512_mask_mov_epi32(high, sat, _mm512_set1_epi32(i32::MAX));
                    // Rounding right shift: up where the remainder exceeds half (or half, below 0).
                    let rem = _mm512_and_si512(high, mask);
                    let thr = _mm512_sub_epi32(threshold, _mm512_srai_epi32::<31>(high));
                    let up = _mm512_cmpgt_epi32_mask(rem, thr);
                    let v = _mm512_srav_epi32(high, right);
                    let v = _mm512_mask_add_epi32(v, up, v, _mm512_set1_epi32(1));
                    let v = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(v, lo), hi), zp);
                    _mm512_mask_cvtepi32_storeu_epi8(out.as_mut_ptr(), k, v);
                }
                c += 16;
            }
        }
    }

    /// # Safety
    /// The CPU has AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn requantize_avx2(r: super::Requant, acc: &[i32], y: &mut [i8]) {
        // `requantize_avx512`'s stage in 8 lanes. AVX2 has no 64-bit arithmetic shift, but the
        // quotient `⌊(x · m + 2^30) / 2^31⌋` fits in i32 (but for the one saturating product),
        // so its low 32 bits are bits 31..62 of the 64-bit sum: a logical shift right by 31
        // for even lanes, left by 1 (into the high half) for odd ones.
        let rows = r.offset.len();
        let batch = acc.len() / rows;
        if batch == 1 {
            return super::requantize_rows(r, acc, y);
        }
        let min = _mm256_set1_epi32(i32::MIN);
        let mut c = 0;
        while c < rows {
            let t = (rows - c).min(8);
            let [mul, left, right] = row_params::<8>(&r.multiplier[c..c + t]);
            let mut off = [0i32; 8];
            off[..t].copy_from_slice(&r.offset[c..c + t]);
            // SAFETY: the contract; the parameters are arrays of 8.
            let s = unsafe {
                let one = _mm256_set1_epi32(1);
                let right_v = _mm256_loadu_si256(right.as_ptr().cast());
                let mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, right_v), one);
                let m = _mm256_loadu_si256(mul.as_ptr().cast());
                Stage {
                    zp: _mm256_set1_epi32(r.zero_point),
                    lo: _mm256_set1_epi32(i32::from(r.lo) - r.zero_point),
                    hi: _mm256_set1_epi32(i32::from(r.hi) - r.zero_point),
                    off: _mm256_loadu_si256(off.as_ptr().cast()),
                    m,
                    m_odd: _mm256_shuffle_epi32::<0b11_11_01_01>(m),
                    m_min: _mm256_cmpeq_epi32(m, min),
                    left: _mm256_loadu_si256(left.as_ptr().cast()),
                    right: right_v,
                    mask,
                    threshold: _mm256_srai_epi32::<1>(mask),
                }
            };
            // The left shift and the saturating product only where a row needs them (MNIST
            // MLP: neither; 4 of about 25 instructions per 8 outputs).
            let shifts = left.iter().any(|&l| l != 0);
            let saturates = mul.contains(&i32::MIN);
            // SAFETY: the contract; rows `c..c + t` of every sample.
            unsafe {
                match (shifts, saturates) {
                    (false, false) => stage_rows::<false, false>(&s, acc, y, rows, c, t, batch),
                    (true, false) => stage_rows::<true, false>(&s, acc, y, rows, c, t, batch),
                    (false, true) => stage_rows::<false, true>(&s, acc, y, rows, c, t, batch),
                    (true, true) => stage_rows::<true, true>(&s, acc, y, rows, c, t, batch),
                }
            }
            c += 8;
        }
    }

    /// One block of 8 rows' parameters of `requantize_avx2`.
    struct Stage {
        zp: __m256i,
        lo: __m256i,
        hi: __m256i,
        off: __m256i,
        m: __m256i,
        m_odd: __m256i,
        m_min: __m256i,
        left: __m256i,
        right: __m256i,
        mask: __m256i,
        threshold: __m256i,
    }

    /// Rows `c..c + t` of every sample through the stage `s` (`LEFT`: some left shift is not
    /// 0; `SAT`: some multiplier is `i32::MIN`).
    ///
    /// # Safety
    /// The CPU has AVX2; `0 < t ≤ 8`, `c + t ≤ rows`; `acc` and `y` hold `batch` samples of
    /// `rows`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn stage_rows<const LEFT: bool, const SAT: bool>(
        s: &Stage,
        acc: &[i32],
        y: &mut [i8],
        rows: usize,
        c: usize,
        t: usize,
        batch: usize,
    ) {
        // SAFETY: the contract; loads and stores are of slices checked to hold them (masked
        // or copied for a last part vector); the rest is registers.
        unsafe {
            let k = mask256(t);
            let half = _mm256_set1_epi64x(1 << 30);
            let min = _mm256_set1_epi32(i32::MIN);
            // Bytes 0, 4, 8, 12 of each 128-bit lane first, then those two dwords together.
            let bytes = _mm256_setr_epi8(
                0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12, -1, -1,
                -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
            );
            let dwords = _mm256_setr_epi32(0, 4, 1, 1, 1, 1, 1, 1);
            for b in 0..batch {
                let a = &acc[b * rows + c..][..t];
                let out = &mut y[b * rows + c..][..t];
                let x = if t == 8 {
                    _mm256_loadu_si256(a.as_ptr().cast())
                } else {
                    _mm256_maskload_epi32(a.as_ptr(), k)
                };
                let x = _mm256_add_epi32(x, s.off);
                // A shift by 0 is the identity.
                let x = if LEFT {
                    _mm256_sllv_epi32(x, s.left)
                } else {
                    x
                };
                let even = _mm256_add_epi64(_mm256_mul_epi32(x, s.m), half);
                let odd = _mm256_mul_epi32(_mm256_shuffle_epi32::<0b11_11_01_01>(x), s.m_odd);
                let odd = _mm256_add_epi64(odd, half);
                let high = _mm256_blend_epi32::<0b1010_1010>(
                    _mm256_srli_epi64::<31>(even),
                    _mm256_slli_epi64::<1>(odd),
                );
                // x = m = i32::MIN: the product 2^62 gives 2^31, i.e. i32::MIN; minus one is
                // the saturated i32::MAX. No multiplier i32::MIN: never.
                let high = if SAT {
                    let sat = _mm256_and_si256(_mm256_cmpeq_epi32(x, min), s.m_min);
                    _mm256_add_epi32(high, sat)
                } else {
                    high
                };
                let rem = _mm256_and_si256(high, s.mask);
                let thr = _mm256_sub_epi32(s.threshold, _mm256_srai_epi32::<31>(high));
                let up = _mm256_cmpgt_epi32(rem, thr);
                let v = _mm256_sub_epi32(_mm256_srav_epi32(high, s.right), up);
                let v = _mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(v, s.lo), s.hi), s.zp);
                // In [-128, 127] now: the low byte of each lane is the output.
                let v = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(v, bytes), dwords);
                if t == 8 {
                    _mm_storel_epi64(out.as_mut_ptr().cast(), _mm256_castsi256_si128(v));
                } else {
                    let v = _mm256_extract_epi64::<0>(v).to_le_bytes();
                    for (o, &b) in out.iter_mut().zip(&v) {
                        *o = b as i8;
                    }
                }
            }
        }
    }

    /// `Σ` of the eight i32 lanes (wrapping).
    ///
    /// # Safety
    /// The CPU has AVX2.
    #[inline(always)]
    unsafe fn hsum256(a: __m256i) -> i32 {
        // SAFETY: the contract; registers only.
        unsafe {
            let s = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256::<1>(a));
            let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
            let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
            _mm_cvtsi128_si32(s)
        }
    }

    /// The first `t < 32` bytes at `p`, zero-padded to 32: one 16-byte load where 16 fit, and a
    /// copy of the rest (a 784-long row ends in exactly 16 bytes, so it copies nothing).
    ///
    /// # Safety
    /// The CPU has AVX2; `t < 32` and `p` points to `t` readable bytes.
    #[inline(always)]
    unsafe fn load256_part(p: *const i8, t: usize) -> __m256i {
        // SAFETY: the contract: the loads and the copy read `t` bytes from `p`; the copy writes
        // at most 15 bytes into a 16-byte buffer.
        unsafe {
            let (lo, rest) = if t >= 16 {
                (_mm_loadu_si128(p.cast()), t - 16)
            } else {
                (_mm_setzero_si128(), t)
            };
            let mut buf = [0i8; 16];
            core::ptr::copy_nonoverlapping(p.add(t - rest), buf.as_mut_ptr(), rest);
            let last = _mm_loadu_si128(buf.as_ptr().cast());
            if t >= 16 {
                _mm256_set_m128i(last, lo)
            } else {
                _mm256_set_m128i(lo, last)
            }
        }
    }

    /// AVX2: `vpmaddubsw(|x|, sign(w, x))`, exact for `w ≠ -128` (module docs of `super`).
    struct Avx2Sign;

    impl Step for Avx2Sign {
        const LANES: usize = 32;
        type Acc = __m256i;
        /// `(x, |x|)`.
        type X = (__m256i, __m256i);
        type W = __m256i;
        #[inline(always)]
        unsafe fn load_x(p: *const i8) -> Self::X {
            // SAFETY: the trait's contract.
            unsafe {
                let x = _mm256_loadu_si256(p.cast());
                (x, _mm256_abs_epi8(x))
            }
        }
        #[inline(always)]
        unsafe fn load_w(p: *const i8) -> __m256i {
            // SAFETY: the trait's contract.
            unsafe { _mm256_loadu_si256(p.cast()) }
        }
        #[inline(always)]
        unsafe fn load_x_part(p: *const i8, t: usize) -> Self::X {
            // SAFETY: the trait's contract (t < LANES = 32).
            unsafe {
                let x = load256_part(p, t);
                (x, _mm256_abs_epi8(x))
            }
        }
        #[inline(always)]
        unsafe fn load_w_part(p: *const i8, t: usize) -> __m256i {
            // SAFETY: the trait's contract (t < LANES = 32).
            unsafe { load256_part(p, t) }
        }
        #[inline(always)]
        unsafe fn step(acc: __m256i, (x, ax): Self::X, w: __m256i) -> __m256i {
            // SAFETY: the trait's contract.
            unsafe {
                // |x| · (w · sign x) = x · w; pairs summed in i16 without saturation (|w| ≤ 127).
                let pairs = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(w, x));
                _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)))
            }
        }
        #[inline(always)]
        unsafe fn zero() -> __m256i {
            // SAFETY: the trait's contract.
            unsafe { _mm256_setzero_si256() }
        }
        #[inline(always)]
        unsafe fn finish(acc: __m256i, _: i32) -> i32 {
            // SAFETY: the trait's contract.
            unsafe { hsum256(acc) }
        }
    }

    /// The offset trick's activations: `x + 128` as u8 (flipping the sign bit).
    struct AvxVnni;

    impl Step for AvxVnni {
        const LANES: usize = 32;
        type Acc = __m256i;
        type X = __m256i;
        type W = __m256i;
        #[inline(always)]
        unsafe fn load_x(p: *const i8) -> __m256i {
            // SAFETY: the trait's contract.
            unsafe { _mm256_xor_si256(_mm256_loadu_si256(p.cast()), _mm256_set1_epi8(-128)) }
        }
        #[inline(always)]
        unsafe fn load_w(p: *const i8) -> __m256i {
            // SAFETY: the trait's contract.
            unsafe { _mm256_loadu_si256(p.cast()) }
        }
        #[inline(always)]
        unsafe fn load_x_part(p: *const i8, t: usize) -> __m256i {
            // SAFETY: the trait's contract (t < LANES = 32).
            unsafe { _mm256_xor_si256(load256_part(p, t), _mm256_set1_epi8(-128)) }
        }
        #[inline(always)]
        unsafe fn load_w_part(p: *const i8, t: usize) -> __m256i {
            // SAFETY: the trait's contract (t < LANES = 32).
            unsafe { load256_part(p, t) }
        }
        #[inline(always)]
        unsafe fn step(acc: __m256i, x: __m256i, w: __m256i) -> __m256i {
            // SAFETY: the trait's contract.
            unsafe { _mm256_dpbusd_avx_epi32(acc, x, w) }
        }
        #[inline(always)]
        unsafe fn zero() -> __m256i {
            // SAFETY: the trait's contract.
            unsafe { _mm256_setzero_si256() }
        }
        #[inline(always)]
        unsafe fn finish(acc: __m256i, row_sum: i32) -> i32 {
            // SAFETY: the trait's contract.
            unsafe { hsum256(acc).wrapping_sub(row_sum.wrapping_mul(128)) }
        }
    }

    struct Avx512Vnni;

    impl Step for Avx512Vnni {
        const LANES: usize = 64;
        type Acc = __m512i;
        type X = __m512i;
        type W = __m512i;
        #[inline(always)]
        unsafe fn load_x(p: *const i8) -> __m512i {
            // SAFETY: the trait's contract.
            unsafe { _mm512_xor_si512(_mm512_loadu_si512(p.cast()), _mm512_set1_epi8(-128)) }
        }
        #[inline(always)]
        unsafe fn load_w(p: *const i8) -> __m512i {
            // SAFETY: the trait's contract.
            unsafe { _mm512_loadu_si512(p.cast()) }
        }
        /// A masked load: the bytes beyond `t` are neither read (AVX-512 masked loads do not
        /// access disabled lanes, which is also how LLVM defines them) nor copied.
        #[inline(always)]
        unsafe fn load_x_part(p: *const i8, t: usize) -> __m512i {
            // SAFETY: the trait's contract: `t < 64`, and the `t` enabled bytes are readable.
            unsafe {
                let x = _mm512_maskz_loadu_epi8((1u64 << t) - 1, p);
                // Disabled lanes become 128; their weights are 0.
                _mm512_xor_si512(x, _mm512_set1_epi8(-128))
            }
        }
        #[inline(always)]
        unsafe fn load_w_part(p: *const i8, t: usize) -> __m512i {
            // SAFETY: as in `load_x_part`.
            unsafe { _mm512_maskz_loadu_epi8((1u64 << t) - 1, p) }
        }
        #[inline(always)]
        unsafe fn step(acc: __m512i, x: __m512i, w: __m512i) -> __m512i {
            // SAFETY: the trait's contract.
            unsafe { _mm512_dpbusd_epi32(acc, x, w) }
        }
        #[inline(always)]
        unsafe fn zero() -> __m512i {
            // SAFETY: the trait's contract.
            unsafe { _mm512_setzero_si512() }
        }
        #[inline(always)]
        unsafe fn finish(acc: __m512i, row_sum: i32) -> i32 {
            // SAFETY: the trait's contract.
            unsafe { _mm512_reduce_add_epi32(acc).wrapping_sub(row_sum.wrapping_mul(128)) }
        }
        /// The four sums by a transposing tree (13 shuffles and adds, against four separate
        /// reductions' 36): pairs of lanes interleaved and added, then pairs of pairs, leaving
        /// `[a, b, c, d]` partial sums in each 128-bit lane, whose four lanes are added last.
        #[inline(always)]
        unsafe fn finish4(acc: [__m512i; 4], row_sums: [i32; 4]) -> [i32; 4] {
            // SAFETY: the trait's contract; registers only, the store goes to a local array.
            unsafe {
                let [a, b, c, d] = acc;
                let ab = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
                let cd = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));
                let abcd =
                    _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));
                let half = _mm256_add_epi32(
                    _mm512_castsi512_si256(abcd),
                    _mm512_extracti64x4_epi64::<1>(abcd),
                );
                let quarter = _mm_add_epi32(
                    _mm256_castsi256_si128(half),
                    _mm256_extracti128_si256::<1>(half),
                );
                let offset = _mm_set_epi32(
                    row_sums[3].wrapping_mul(128),
                    row_sums[2].wrapping_mul(128),
                    row_sums[1].wrapping_mul(128),
                    row_sums[0].wrapping_mul(128),
                );
                let mut out = [0i32; 4];
                _mm_storeu_si128(out.as_mut_ptr().cast(), _mm_sub_epi32(quarter, offset));
                out
            }
        }
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::Rng;
    use std::vec::Vec;

    #[test]
    fn sums_over_the_values_off_the_zero_point_are_the_dense_sums() {
        let mut rng = Rng::new(21);
        check::<1>(&mut rng, 1);
        check::<7>(&mut rng, 3);
        check::<784>(&mut rng, 64);
        check::<64>(&mut rng, 10);
        check::<33>(&mut rng, 5);
        fn check<const N: usize>(rng: &mut Rng, rows: usize) {
            let n = N;
            let data = random_i8(rng, n * rows, -127);
            let sums: Vec<i32> = data.chunks_exact(n).map(row_sum).collect();
            let w = Weights::new(&data, &sums, n);
            for zp in [-128, -3, 0, 127] {
                // Mostly the zero point, as an image's background.
                let x: Vec<i8> = random_i8(rng, n, -128)
                    .into_iter()
                    .map(|v| if rng.below(4) == 0 { v } else { zp as i8 })
                    .collect();
                let (mut dense, mut skip) = (std::vec![0; rows], std::vec![0; rows]);
                portable(&x, w, &mut dense);
                sparse(&x, zp, &w, &mut skip);
                assert_eq!(dense, skip, "n {n}, rows {rows}, zp {zp}");
                let mut either = std::vec![0; rows];
                matmul_zp::<N>(&x, zp, w, &mut either);
                assert_eq!(dense, either);
            }
        }
    }

    fn random_i8(rng: &mut Rng, len: usize, lo: i8) -> Vec<i8> {
        (0..len)
            .map(|_| match rng.below(8) {
                // Extremes often: they are where saturation and sign tricks break.
                0 => lo,
                1 => 127,
                _ => (i32::from(lo) + rng.below(256 - (i32::from(lo) + 128) as usize) as i32) as i8,
            })
            .collect()
    }

    #[test]
    fn every_kernel_matches_the_portable_one_bit_for_bit() {
        let mut rng = Rng::new(16);
        let mut tested = std::collections::BTreeSet::new();
        // Lengths around every vector width (32, 64) and the tails; batches and row counts
        // around the tiles (2 or 4 samples × 4 rows).
        for &n in &[1, 3, 31, 32, 33, 63, 64, 65, 100, 127, 129, 784] {
            for &(batch, rows) in &[(1, 1), (1, 4), (2, 5), (3, 7), (5, 9), (8, 10)] {
                let x = random_i8(&mut rng, batch * n, -128);
                let wd = random_i8(&mut rng, rows * n, -127);
                let sums: Vec<i32> = wd.chunks(n).map(row_sum).collect();
                let w = Weights::new(&wd, &sums, n);
                let mut want = std::vec![0; batch * rows];
                portable(&x, w, &mut want);
                // The portable kernel against the definition, in i64.
                for b in 0..batch {
                    for r in 0..rows {
                        let exact: i64 = (0..n)
                            .map(|k| i64::from(x[b * n + k]) * i64::from(wd[r * n + k]))
                            .sum();
                        assert_eq!(i64::from(want[b * rows + r]), exact);
                    }
                }
                for isa in Isa::ALL.into_iter().filter(|i| i.available()) {
                    let mut got = std::vec![0; batch * rows];
                    matmul_with(isa, &x, w, &mut got);
                    assert_eq!(got, want, "{isa:?}, n {n}, batch {batch}, rows {rows}");
                    tested.insert(std::format!("{isa:?}"));
                }
            }
        }
        std::println!("kernels tested: {tested:?} (best: {:?})", Isa::best());
    }

    /// [`pack`] and [`pack_wide`] into fresh buffers.
    struct Copies {
        body: Vec<u8>,
        tail: Vec<u8>,
        wide: Vec<i16>,
        wide_tail: Vec<i16>,
        wide_corr: Vec<i32>,
        n: usize,
        rows: usize,
    }

    impl Copies {
        fn packed(&self) -> Packed<'_> {
            Packed::new(
                &self.body,
                &self.tail,
                &self.wide,
                &self.wide_tail,
                &self.wide_corr,
                self.n,
                self.rows,
            )
        }
    }

    fn packed_copy(wd: &[i8], n: usize, rows: usize) -> Copies {
        let (mut body, mut tail) = (std::vec![0; n / 4 * rows * 4], std::vec![0; rows * 4]);
        pack(wd, n, rows, &mut body, &mut tail);
        let (mut wide, mut wide_tail) = (std::vec![0; n / 4 * rows * 4], std::vec![0; rows * 4]);
        let mut wide_corr = std::vec![0; rows];
        pack_wide(wd, n, rows, &mut wide, &mut wide_tail, &mut wide_corr);
        Copies {
            body,
            tail,
            wide,
            wide_tail,
            wide_corr,
            n,
            rows,
        }
    }

    #[test]
    fn column_kernels_match_the_portable_one_bit_for_bit() {
        let mut rng = Rng::new(61);
        let mut tested = std::collections::BTreeSet::new();
        // Lengths around the groups of 4 and the vectors; rows around the vectors (8, 16) and
        // blocks (32, 64); batches around the tiles (2 or 4 samples).
        for &n in &[1, 2, 3, 4, 5, 7, 63, 64, 65, 67, 783, 784, 785] {
            for &(batch, rows) in &[
                (1, 1),
                (2, 7),
                (3, 10),
                (5, 15),
                (7, 16),
                (4, 17),
                (9, 33),
                (6, 64),
                (5, 65),
                (3, 70),
                (2, 130),
                // Around the AVX2 kernels' switch (4 samples) and its chunks (n 785: 52 + 52 +
                // 52 + 40 groups, and the tail).
                (4, 9),
                (32, 9),
                (35, 66),
            ] {
                let x = random_i8(&mut rng, batch * n, -128);
                let wd = random_i8(&mut rng, rows * n, -127);
                let sums: Vec<i32> = wd.chunks(n).map(row_sum).collect();
                let mut want = std::vec![0; batch * rows];
                portable(&x, Weights::new(&wd, &sums, n), &mut want);
                let copies = packed_copy(&wd, n, rows);
                let p = copies.packed();
                for isa in [Isa::Avx2, Isa::AvxVnni, Isa::Avx512Vnni] {
                    if !isa.available() {
                        continue;
                    }
                    let mut got = std::vec![0; batch * rows];
                    matmul_packed_with(isa, &x, p, &mut got);
                    assert_eq!(got, want, "{isa:?}, n {n}, batch {batch}, rows {rows}");
                    tested.insert(std::format!("{isa:?}"));
                }
                #[cfg(all(feature = "std", target_arch = "x86_64"))]
                if Isa::Avx2.available() {
                    // Both AVX2 kernels at every batch size, whichever `packed_avx2` picks.
                    for (name, kernel) in [
                        (
                            "sign",
                            x86::packed_avx2_sign as unsafe fn(&[i8], Packed, &mut [i32]),
                        ),
                        ("wide", x86::packed_avx2_wide),
                    ] {
                        let mut got = std::vec![0; batch * rows];
                        // SAFETY: AVX2 found; the lengths as `matmul_packed_with` checks them.
                        unsafe { kernel(&x, p, &mut got) };
                        assert_eq!(got, want, "AVX2 {name}, n {n}, batch {batch}, rows {rows}");
                        tested.insert(std::format!("Avx2 {name}"));
                    }
                }
            }
        }
        std::println!("column kernels tested: {tested:?}");
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            assert!(!tested.is_empty());
        }
    }

    #[test]
    fn packing_puts_every_weight_in_its_group() {
        // 2 rows of 5: groups of 4 inputs, each all rows' four, then the tail padded with 0.
        let w = [1, 2, 3, 4, 5, -1, -2, -3, -4, -5];
        let c = packed_copy(&w, 5, 2);
        let back = |v: &[u8]| v.iter().map(|&b| (b ^ 0x80) as i8).collect::<Vec<_>>();
        assert_eq!(back(&c.body), [1, 2, 3, 4, -1, -2, -3, -4]);
        assert_eq!(back(&c.tail), [5, 0, 0, 0, -5, 0, 0, 0]);
        // 16-bit, per group: (w₁, w₃) of both rows, then (w₀, w₂); the fifth input padded
        // with 0. Corrections: 1·2 + 3·4 + 5·0 for both rows.
        assert_eq!(c.wide, [2, 4, -2, -4, 1, 3, -1, -3]);
        assert_eq!(c.wide_tail, [0, 0, 0, 0, 5, 0, -5, 0]);
        assert_eq!(c.wide_corr, [14, 14]);
        // Whole groups leave the tail zero (two rows of four here).
        let c = packed_copy(&[1, 2, 3, 4, 5, 6, 7, 8], 4, 2);
        assert_eq!(c.wide, [2, 4, 6, 8, 1, 3, 5, 7]);
        assert_eq!(c.wide_tail, [0; 8]);
        assert_eq!(c.wide_corr, [14, 86]);
    }

    #[test]
    fn branch_free_and_32_bit_requantisation_are_tflites() {
        use crate::quant::multiply_by_quantized_multiplier;
        let mut rng = Rng::new(31);
        let edges = [
            0,
            1,
            -1,
            2,
            -2,
            3,
            -3,
            i32::MAX,
            i32::MIN,
            i32::MIN + 1,
            1 << 30,
            -(1 << 30),
        ];
        let mut xs: Vec<i32> = edges.to_vec();
        xs.extend((0..2000).map(|_| rng.next_u64() as i32));
        xs.extend((0..2000).map(|_| (rng.next_u64() as i32) >> rng.below(31)));
        let mut ms: Vec<QuantizedMultiplier> = [i32::MAX, i32::MIN, 0, 1 << 30, 1518500250]
            .iter()
            .flat_map(|&m| {
                (-31..=31).map(move |shift| QuantizedMultiplier {
                    multiplier: m,
                    shift,
                })
            })
            .collect();
        ms.extend((0..200).map(|_| QuantizedMultiplier {
            multiplier: rng.next_u64() as i32,
            shift: rng.below(63) as i32 - 31,
        }));
        for m in &ms {
            for &x in &xs {
                let want = multiply_by_quantized_multiplier(x, *m);
                assert_eq!(mbqm(x, m.multiplier, m.shift), want, "{x} · {m:?}");
                assert_eq!(
                    mbqm32(x, m.multiplier, m.shift),
                    want,
                    "32-bit: {x} · {m:?}"
                );
            }
        }
    }

    #[test]
    fn requantisation_of_every_kernel_is_the_scalar_one() {
        let mut rng = Rng::new(32);
        // Rows around the 16-lane vectors; every shift, extreme multipliers and sums. Kinds
        // 0, 1 with `i32::MIN` multipliers, 2, 3 without; 1, 3 with right shifts only (as
        // layers have them), where `i32::MIN · i32::MIN` saturates.
        for (rows, kind) in [1usize, 5, 16, 17, 37, 64]
            .into_iter()
            .flat_map(|r| [(r, 0), (r, 1), (r, 2), (r, 3)])
        {
            let multiplier: Vec<QuantizedMultiplier> = (0..rows)
                .map(|o| QuantizedMultiplier {
                    multiplier: match (o % 5, kind < 2) {
                        (0, true) => i32::MIN,
                        (0, false) => i32::MIN + 1,
                        (1, _) => i32::MAX,
                        _ => rng.next_u64() as i32,
                    },
                    shift: match kind % 2 {
                        0 => rng.below(63) as i32 - 31,
                        _ => -(rng.below(32) as i32),
                    },
                })
                .collect();
            let offset: Vec<i32> = (0..rows)
                .map(|o| {
                    if o % 3 == 0 {
                        0
                    } else {
                        rng.next_u64() as i32 >> rng.below(31)
                    }
                })
                .collect();
            let batch = 9;
            let acc: Vec<i32> = (0..batch * rows)
                .map(|k| match k % 7 {
                    0 => i32::MIN,
                    1 => i32::MAX,
                    2 => 0,
                    _ => (rng.next_u64() as i32) >> rng.below(31),
                })
                .collect();
            for (zero_point, lo, hi) in [
                (0, -128, 127),
                (-128, -128, 127),
                (127, -5, 127),
                (-3, -3, 90),
            ] {
                let stage = || Requant {
                    multiplier: &multiplier,
                    offset: &offset,
                    zero_point,
                    lo,
                    hi,
                };
                let mut want = std::vec![0i8; acc.len()];
                requantize_rows(stage(), &acc, &mut want);
                let mut got = std::vec![0i8; acc.len()];
                requantize(stage(), &acc, &mut got);
                assert_eq!(got, want, "rows {rows}, zp {zero_point}, {:?}", Isa::best());
                #[cfg(all(feature = "std", target_arch = "x86_64"))]
                if Isa::Avx2.available() {
                    // SAFETY: AVX2 found; the lengths as `requantize` checks them.
                    unsafe { x86::requantize_avx2(stage(), &acc, &mut got) };
                    assert_eq!(got, want, "AVX2, rows {rows}, zp {zero_point}");
                }
                #[cfg(all(feature = "std", target_arch = "x86_64"))]
                if Isa::Avx512Vnni.available() {
                    // SAFETY: AVX-512 F and BW found; the lengths as `requantize` checks them.
                    unsafe { x86::requantize_avx512(stage(), &acc, &mut got) };
                    assert_eq!(got, want, "AVX-512, rows {rows}, zp {zero_point}");
                }
            }
        }
    }

    #[test]
    fn extreme_values_everywhere() {
        // All -128 activations against all ±127 weights: the largest products, every pair
        // at the i16 limit of the AVX2 trick.
        let n = 97;
        for (xv, wv) in [(-128i8, -127i8), (-128, 127), (127, 127), (127, -127)] {
            let x = std::vec![xv; 3 * n];
            let wd = std::vec![wv; 5 * n];
            let sums: Vec<i32> = wd.chunks(n).map(row_sum).collect();
            let w = Weights::new(&wd, &sums, n);
            let want = i32::from(xv) * i32::from(wv) * n as i32;
            for isa in Isa::ALL.into_iter().filter(|i| i.available()) {
                let mut got = [0; 15];
                matmul_with(isa, &x, w, &mut got);
                assert_eq!(got, [want; 15], "{isa:?}, {xv} · {wv}");
                if isa != Isa::Portable {
                    let copies = packed_copy(&wd, n, 5);
                    let mut got = [0; 15];
                    matmul_packed_with(isa, &x, copies.packed(), &mut got);
                    assert_eq!(got, [want; 15], "{isa:?} packed, {xv} · {wv}");
                    #[cfg(all(feature = "std", target_arch = "x86_64"))]
                    if isa == Isa::Avx2 {
                        let mut got = [0; 15];
                        // SAFETY: AVX2 found; 3 samples of n, 3 × 5 sums.
                        unsafe { x86::packed_avx2_wide(&x, copies.packed(), &mut got) };
                        assert_eq!(got, [want; 15], "AVX2 wide, {xv} · {wv}");
                    }
                }
            }
        }
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "a wrong row sum or a -128")]
    fn weights_reject_minus_128() {
        let _ = Weights::new(&[-128, 0], &[-128], 2);
    }

    #[test]
    #[should_panic(expected = "out: one value per sample and row")]
    fn matmul_checks_lengths() {
        let sums = [0];
        matmul(&[0; 4], Weights::new(&[0; 2], &sums, 2), &mut [0; 1]);
    }

    #[test]
    #[ignore = "a measurement: cargo test --release -p nn-core --lib quant::kernel -- --ignored --nocapture"]
    fn measure_kernels() {
        use std::time::Instant;
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| {
                c.lines()
                    .find(|l| l.starts_with("model name"))
                    .map(std::string::String::from)
            })
            .unwrap_or_default();
        std::println!("{cpu}");
        let (n, rows) = (784, 64);
        let mut rng = Rng::new(1);
        let wd = random_i8(&mut rng, rows * n, -127);
        let sums: Vec<i32> = wd.chunks(n).map(row_sum).collect();
        let w = Weights::new(&wd, &sums, n);
        for batch in [1usize, 128] {
            let x = random_i8(&mut rng, batch * n, -128);
            let mut out = std::vec![0; batch * rows];
            let mut run = |name: &str, f: &mut dyn FnMut(&mut [i32])| {
                let reps = if batch == 1 { 200_000 } else { 2_000 };
                let mut best = f64::MAX;
                for _ in 0..5 {
                    let t = Instant::now();
                    for _ in 0..reps {
                        f(core::hint::black_box(&mut out));
                    }
                    best = best.min(t.elapsed().as_secs_f64() / reps as f64);
                }
                std::println!(
                    "{name:>12} batch {batch:>3}: {:8.3} µs/call, {:7.2} M samples/s",
                    best * 1e6,
                    batch as f64 / best / 1e6
                );
            };
            let copies = packed_copy(&wd, n, rows);
            let p = copies.packed();
            for isa in Isa::ALL.into_iter().filter(|i| i.available()) {
                run(&std::format!("{isa:?}"), &mut |o| {
                    matmul_with(isa, &x, w, o)
                });
                if isa != Isa::Portable {
                    run(&std::format!("{isa:?} cols"), &mut |o| {
                        matmul_packed_with(isa, &x, p, o)
                    });
                }
            }
        }
        // The two AVX2 batch kernels around `WIDE_BATCH`.
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        if Isa::Avx2.available() {
            let copies = packed_copy(&wd, n, rows);
            let p = copies.packed();
            for batch in [2usize, 4, 8, 16, 32, 128] {
                let x = random_i8(&mut rng, batch * n, -128);
                let mut out = std::vec![0; batch * rows];
                for (name, kernel) in [
                    (
                        "sign",
                        x86::packed_avx2_sign as unsafe fn(&[i8], Packed, &mut [i32]),
                    ),
                    ("wide", x86::packed_avx2_wide),
                ] {
                    let reps = 200_000 / batch;
                    let mut best = f64::MAX;
                    for _ in 0..7 {
                        let t = Instant::now();
                        for _ in 0..reps {
                            // SAFETY: AVX2 found; whole samples and one sum per sample and row.
                            unsafe { kernel(&x, p, core::hint::black_box(&mut out)) };
                        }
                        best = best.min(t.elapsed().as_secs_f64() / reps as f64);
                    }
                    std::println!("AVX2 {name} batch {batch:>3}: {:8.3} µs/call", best * 1e6);
                }
            }
        }
    }
}
