//! The inner loops: the Dense layer's three matrix products and the optimizers' element-wise
//! updates.
//!
//! Every kernel is written once, generic over [`Math`], and blocked over the batch so that a batch is
//! a matrix product rather than `B` matrix-vector products. The Dense products take their sizes at
//! run time (`gemm::Rows`) so that nn-core compiles them once (see `gemm::AffineDyn` for where
//! each version is compiled); their tiles are const generics, and the vector tiles check a tile's
//! bounds once rather than at every load.
//!
//! Release builds target SSE2 only unless the user sets `RUSTFLAGS`, which a library cannot count on.
//! So, with `std` on x86-64, [`run`] checks the CPU once and executes the kernel inside a function
//! compiled for AVX2 + FMA (256-bit registers, fused multiply-adds), or, where the CPU has AVX-512,
//! for AVX-512 with 512-bit dense products; elsewhere (no_std, other targets, old CPUs) the same
//! source runs with [`Portable`] arithmetic.

#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod avx2;
pub(crate) mod conv;
mod gemm;

pub(crate) use gemm::{Affine, AffineBackward};

/// The arithmetic a kernel uses.
pub(crate) trait Math {
    /// Whether this arithmetic has wide vector registers (AVX2): it picks the larger tiles.
    const WIDE: bool = false;
    /// Whether this arithmetic has 32 vector registers of 16 floats (AVX-512): the forward tile
    /// takes twice the samples.
    const ZMM: bool = false;

    /// `a · b + c`.
    fn mul_add(a: f32, b: f32, c: f32) -> f32;
    /// `√x`.
    fn sqrt(x: f32) -> f32;

    /// `v[i] = libm::expf(v[i])` for every value, bit for bit (the vector versions compute
    /// libm's algorithm lane by lane, so that host and microcontroller agree).
    #[inline(always)]
    fn exp_in_place(v: &mut [f32]) {
        for v in v {
            *v = libm::expf(*v);
        }
    }

    /// [`SoftmaxRows`] on 16 rows of `width` values (`z.len() = 16 · width`) at once, one row per
    /// lane, if this arithmetic can (AVX-512, `width ≤ 16`, no NaN): each row's values, in the same
    /// order, as one row at a time gives them. `false` (nothing changed) otherwise.
    #[inline(always)]
    fn softmax16(z: &mut [f32], width: usize) -> bool {
        let _ = (z, width);
        false
    }

    /// `dst[j·ds + i] = src[i·ss + j]` for `i, j < 8`: an 8 × 8 block transposed (data movement
    /// only, so every arithmetic gives the same result).
    #[inline(always)]
    fn transpose8(src: &[f32], ss: usize, dst: &mut [f32], ds: usize)
    where
        Self: Sized,
    {
        for i in 0..8 {
            for j in 0..8 {
                dst[j * ds + i] = src[i * ss + j];
            }
        }
    }

    /// `RB × RC` dot products of the first `n` values of the rows (see `gemm::dot_tile_n`).
    #[inline(always)]
    fn dot_tile_n<const RB: usize, const RC: usize>(
        x: [&[f32]; RB],
        w: [&[f32]; RC],
        n: usize,
    ) -> [[f32; RC]; RB]
    where
        Self: Sized,
    {
        gemm::dot_tile_n::<Self, RB, RC>(x, w, n)
    }

    /// `acc[r][v] += Σ_{k < kn} coef(k, r) · rows(k)[v·V..][..V]` (`RT × NV` vectors of `V` accumulators),
    /// each sum in order of `k`: the convolutions' products (see `conv::combine`).
    #[inline(always)]
    fn axpy_tile<const RT: usize, const NV: usize, const V: usize>(
        acc: &mut [[[f32; V]; NV]; RT],
        kn: usize,
        rows: SrcTile,
        coef: CoefTile,
    ) where
        Self: Sized,
    {
        gemm::axpy_tile::<Self, RT, NV, V>(acc, kn, rows, coef)
    }

    /// Rows `r0..r0 + RR`, `NS` column strips from `col`, of `out[r] = Σ_k coef(k, r) · rows[k]`
    /// over the pass's `k` (see `gemm::combine_tile`).
    #[inline(always)]
    fn combine_tile<const RR: usize, const NS: usize>(
        rows: gemm::Rows,
        coef: gemm::Coef,
        out: &mut gemm::RowsMut,
        r0: usize,
        col: usize,
        pass: &gemm::Pass,
    ) where
        Self: Sized,
    {
        for s in 0..NS {
            gemm::combine_tile::<Self, RR>(rows, coef, out, r0, col + s * gemm::STRIP, pass)
        }
    }
}

/// The coefficients of an `RT`-row [`Math::axpy_tile`]: `coef(k, r) = data[k·ks + r·rs]` (a
/// slice and strides rather than a closure, so that the AVX2 tile broadcasts straight from memory
/// and the bounds are checked once per tile).
#[derive(Clone, Copy)]
pub(crate) struct CoefTile<'a> {
    pub data: &'a [f32],
    pub ks: usize,
    pub rs: usize,
}

impl CoefTile<'_> {
    /// Panics unless every `coef(k, r)` with `k < kn`, `r < rt` lies inside `data`.
    #[inline(always)]
    pub(crate) fn check(&self, kn: usize, rt: usize) {
        if kn > 0 && rt > 0 {
            let last = (kn - 1)
                .checked_mul(self.ks)
                .and_then(|a| (rt - 1).checked_mul(self.rs).and_then(|b| a.checked_add(b)));
            assert!(
                last.is_some_and(|l| l < self.data.len()),
                "coefficients out of bounds"
            );
        }
    }
}

/// The source rows of a [`Math::axpy_tile`]: row `k` is `data[base + off(k)..]`, with `off(k)`
/// from a table (the input runs of a convolution's taps) or `k·ks`; checked once per tile.
#[derive(Clone, Copy)]
pub(crate) struct SrcTile<'a> {
    pub data: &'a [f32],
    pub base: usize,
    pub offsets: Option<Table<'a>>,
    pub ks: usize,
    /// Distance between a row's vectors; `None`: contiguous.
    pub vs: Option<usize>,
}

/// A table of row offsets and its largest entry, found once (checking every tile against the
/// whole table was a tenth of the first LeNet convolution's forward pass).
#[derive(Clone, Copy)]
pub(crate) struct Table<'a> {
    // Private: only `new` makes a table, so `max` is the largest entry.
    offsets: &'a [usize],
    // The bounds checks of the AVX2 tiles read it; the portable tiles index safely instead.
    #[cfg_attr(not(all(feature = "std", target_arch = "x86_64")), allow(dead_code))]
    max: usize,
}

impl<'a> Table<'a> {
    pub(crate) fn new(offsets: &'a [usize]) -> Self {
        let max = offsets.iter().fold(0, |m, &o| m.max(o));
        Table { offsets, max }
    }
    #[inline(always)]
    pub(crate) fn get(&self, k: usize) -> usize {
        self.offsets[k]
    }
    /// Entry `k`, which must be below the table's length.
    ///
    /// # Safety
    /// `k < self.len()`.
    #[inline(always)]
    #[cfg_attr(not(all(feature = "std", target_arch = "x86_64")), allow(dead_code))]
    pub(crate) unsafe fn get_unchecked(&self, k: usize) -> usize {
        // SAFETY: the caller's contract.
        unsafe { *self.offsets.get_unchecked(k) }
    }
    #[inline(always)]
    #[cfg_attr(not(all(feature = "std", target_arch = "x86_64")), allow(dead_code))]
    pub(crate) fn len(&self) -> usize {
        self.offsets.len()
    }
}

impl SrcTile<'_> {
    /// Offset of row `k` from `base`.
    #[inline(always)]
    pub(crate) fn offset(&self, k: usize) -> usize {
        match self.offsets {
            Some(t) => t.get(k),
            None => k * self.ks,
        }
    }

    /// Offset of vector `v` (of `V` values) within a row.
    #[inline(always)]
    pub(crate) fn vector<const V: usize>(&self, v: usize) -> usize {
        v * self.vs.unwrap_or(V)
    }

    /// Panics unless rows `0..kn`, `NV` vectors of `V` values each, lie inside `data` (and the
    /// table has `kn` entries). The AVX2 tiles' unchecked loads rest on it.
    #[inline(always)]
    #[cfg_attr(not(all(feature = "std", target_arch = "x86_64")), allow(dead_code))]
    pub(crate) fn check<const NV: usize, const V: usize>(&self, kn: usize) {
        let len = if NV == 0 {
            0
        } else {
            match self.vs {
                None => NV * V,
                Some(vs) => (NV - 1) * vs + V,
            }
        };
        if kn == 0 {
            return;
        }
        let last = match self.offsets {
            Some(t) => {
                assert!(kn <= t.len(), "rows beyond the table");
                Some(t.max)
            }
            None => (kn - 1).checked_mul(self.ks),
        };
        let end = last.and_then(|l| l.checked_add(self.base)?.checked_add(len));
        assert!(
            end.is_some_and(|e| e <= self.data.len()),
            "source rows out of bounds"
        );
    }
}

/// Separate multiply and add (Rust never contracts them), `libm` square root: works everywhere and
/// gives bit-identical results on every target.
pub(crate) struct Portable;

impl Math for Portable {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
    #[inline(always)]
    fn sqrt(x: f32) -> f32 {
        libm::sqrtf(x)
    }
}

/// Softmax of every row of `width` values in `z` (see [`Softmax`](crate::Softmax)): the rows'
/// exponentials with [`Math::exp_in_place`], the rest as the scalar code always did.
pub(crate) struct SoftmaxRows<'a> {
    pub z: &'a mut [f32],
    pub width: usize,
}

impl Kernel for SoftmaxRows<'_> {
    #[inline(always)]
    fn run<M: Math>(self) {
        if self.width == 0 {
            return;
        }
        let width = self.width;
        for group in self.z.chunks_mut(16 * width) {
            // One row per lane (a row alone is a chain of dependent steps: 40 ns for 10 values).
            if group.len() == 16 * width && M::softmax16(group, width) {
                continue;
            }
            for z in group.chunks_exact_mut(width) {
                softmax_row::<M>(z);
            }
        }
    }
}

/// [`SoftmaxRows`] on one row.
#[inline(always)]
fn softmax_row<M: Math>(z: &mut [f32]) {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    z.iter_mut().for_each(|v| *v -= max);
    M::exp_in_place(z);
    let sum: f32 = z.iter().fold(0.0, |s, v| s + v);
    // sum ≥ 1: the max element contributes e⁰.
    let inv = 1.0 / sum;
    z.iter_mut().for_each(|v| *v *= inv);
}

/// Gives each listed kernel (none has const parameters) a `launch` method that runs it through
/// [`run`] from a function compiled once, in this crate. Called through `run` from a network's
/// generic code, a kernel's three versions (AVX-512, AVX2, portable) were compiled again in every
/// crate that names a network (the softmax and Adam's update: 8 % of the MNIST example's LLVM
/// function passes). The call costs nothing measurable: each runs over whole rows or blocks of
/// parameters. The convolution kernels are not listed: compiled here, they cost nn-core's build
/// 30 s more (10 → 40 s), for every user, with convolutions or without.
macro_rules! compiled_once {
    ($($kernel:ident),* $(,)?) => {$(
        impl $kernel<'_> {
            #[inline(never)]
            pub(crate) fn launch(self) {
                $crate::kernel::run(self)
            }
        }
    )*};
}
pub(crate) use compiled_once;

compiled_once!(SoftmaxRows);

/// A kernel: a computation generic over its arithmetic. Implementations must mark `run`
/// `#[inline(always)]` so that it is compiled inside the AVX2 + FMA function of [`run`].
pub(crate) trait Kernel {
    fn run<M: Math>(self);
}

/// Runs `kernel` with the best arithmetic this CPU offers.
#[inline]
pub(crate) fn run<K: Kernel>(kernel: K) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    let Err(kernel) = avx2::run(kernel) else {
        return;
    };
    kernel.run::<Portable>()
}

/// The vector instructions [`run`] may use on this CPU.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Simd {
    /// Neither: the portable arithmetic.
    None,
    /// AVX2 + FMA: 256-bit registers.
    Avx2,
    /// AVX-512 F/VL/BW as well: 512-bit registers for the dense products.
    Avx512,
}

/// What this CPU offers (std caches the CPUID answers; this is an atomic load after the first call).
/// `CONSTNET_PORTABLE=1` in the environment forces the portable path and `CONSTNET_KERNEL=avx2` the
/// AVX2 one (`CONSTNET_KERNEL=portable` is the same as `CONSTNET_PORTABLE=1`), for tests and
/// comparisons; neither can select instructions the CPU lacks. The int8 products of `crate::quant`
/// follow the same choice, with `CONSTNET_KERNEL=avx2` meaning AVX2 without VNNI.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[inline]
pub(crate) fn simd() -> Simd {
    use std::sync::atomic::{AtomicU8, Ordering};
    static STATE: AtomicU8 = AtomicU8::new(0); // 0 unknown, 1 none, 2 AVX2, 3 AVX-512
    match STATE.load(Ordering::Relaxed) {
        1 => Simd::None,
        2 => Simd::Avx2,
        3 => Simd::Avx512,
        _ => {
            let found = detect_simd();
            let chosen = choose(
                found,
                std::env::var_os("CONSTNET_PORTABLE").is_some_and(|v| !v.is_empty() && v != "0"),
                std::env::var("CONSTNET_KERNEL").ok().as_deref(),
            );
            STATE.store(chosen as u8 + 1, Ordering::Relaxed);
            chosen
        }
    }
}

/// The best the CPU has, ignoring the environment.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
pub(crate) fn detect_simd() -> Simd {
    use std::is_x86_feature_detected as has;
    if !(has!("avx2") && has!("fma")) {
        Simd::None
    } else if has!("avx512f") && has!("avx512vl") && has!("avx512bw") {
        Simd::Avx512
    } else {
        Simd::Avx2
    }
}

/// `found`, lowered (never raised) as the environment asks.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
fn choose(found: Simd, portable: bool, kernel: Option<&str>) -> Simd {
    let cap = match kernel {
        _ if portable => Simd::None,
        Some("portable") => Simd::None,
        Some("avx2") => Simd::Avx2,
        _ => Simd::Avx512,
    };
    // Declaration order is capability order.
    if (cap as u8) < (found as u8) {
        cap
    } else {
        found
    }
}

#[cfg(all(test, feature = "std", target_arch = "x86_64"))]
mod tests {
    use super::{choose, Simd};

    #[test]
    fn environment_only_lowers_the_choice() {
        assert_eq!(choose(Simd::Avx512, false, None), Simd::Avx512);
        assert_eq!(choose(Simd::Avx512, false, Some("avx2")), Simd::Avx2);
        assert_eq!(choose(Simd::Avx512, false, Some("portable")), Simd::None);
        assert_eq!(choose(Simd::Avx512, true, Some("avx512")), Simd::None);
        assert_eq!(choose(Simd::Avx2, false, Some("avx512")), Simd::Avx2);
        assert_eq!(choose(Simd::None, false, Some("avx2")), Simd::None);
        assert_eq!(choose(Simd::Avx2, false, Some("unknown")), Simd::Avx2);
    }
}
