//! The Dense layer's three products for a batch, register-blocked:
//! forward `Y = X·Wᵀ + b`, and backward `dW = dZᵀ·X`, `dX = dZ·W`.
//!
//! Tiles are sized so that the accumulators fill most of the registers while every loaded vector
//! feeds several multiply-adds: with AVX2 (`avx2.rs`) 12 `__m256` accumulators of 8 floats; on the
//! portable path (SSE2, or a microcontroller's scalar FPU) smaller tiles of 4-float accumulators.

use super::{CoefTile, Kernel, Math, SrcTile};

pub(super) const LANES: usize = 8;
/// Partial sums of the portable dot product: one SSE2 register, a quarter of an M4F's FPU registers.
const PORTABLE_LANES: usize = 4;
/// Forward tile: samples × outputs of dot products in flight (12 accumulators). Measured on
/// 784-64-10 against 4×3, 6×2, 2×6, 8×1, 2×4, 4×2, 5×2 and 1×8: 3×4 was fastest for batch 1, batch
/// 128 and training alike (4 divides the common widths, so no output falls to the 1-wide tail).
const FWD_ROWS: usize = 3;
const FWD_COLS: usize = 4;
/// With AVX-512's 32 registers: 6 × 4 accumulators, the 6 inputs' vectors and one weight vector
/// (31 registers); each pass over the weights (200 KB for 784×64, from L2) serves twice the samples.
const ZMM_FWD_ROWS: usize = 6;
/// Then tiles of 2: batches of 32 and 128 leave 2 samples (a 3-sample tile would take none, and
/// single samples load a weight vector for each multiply-add).
const ZMM_FWD_REST: usize = 2;
/// Backward tiles: output rows × one strip of `2 · LANES` columns (8 accumulators).
const AXPY_ROWS: usize = 4;
/// With AVX-512's 32 registers: output rows × strips of the backward tiles (16 accumulators), each
/// broadcast coefficient feeding `ZMM_STRIPS` multiply-adds.
const ZMM_AXPY_ROWS: usize = 8;
const ZMM_STRIPS: usize = 2;
/// Columns of one such tile.
const ZMM_WIDTH: usize = ZMM_STRIPS * STRIP;
/// The portable path's tiles are smaller: its registers are narrower (SSE2: 16 × 4 floats; a
/// Cortex-M4F: 32 scalars), and an AVX2-sized tile would spill its accumulators to the stack.
const PORTABLE_FWD_ROWS: usize = 1;
const PORTABLE_AXPY_ROWS: usize = 2;

/// A row-major matrix whose shape is known at run time: `count` rows, row `k` being
/// `data[k·width..][..width]`. The products take their operands in this form so that they are
/// compiled once, in nn-core, instead of for every layer size in every crate that names a network
/// (there, they were most of a rebuild's LLVM time: BENCHMARKS.md, session 14).
#[derive(Clone, Copy)]
pub(crate) struct Rows<'a> {
    data: &'a [f32],
    width: usize,
    count: usize,
}

impl<'a> Rows<'a> {
    /// `count` rows of `width` values; panics unless `data` holds exactly that.
    #[inline(always)]
    pub(crate) fn new(data: &'a [f32], width: usize, count: usize) -> Self {
        assert!(
            width.checked_mul(count) == Some(data.len()),
            "matrix of the wrong size"
        );
        Rows { data, width, count }
    }
    /// Row `k`'s values.
    #[inline(always)]
    pub(crate) fn row(&self, k: usize) -> &'a [f32] {
        &self.data[k * self.width..][..self.width]
    }
}

// What the vector tiles (x86-64 with std only) read.
#[cfg_attr(not(all(feature = "std", target_arch = "x86_64")), allow(dead_code))]
impl Rows<'_> {
    /// Values per row.
    #[inline(always)]
    pub(crate) fn width(&self) -> usize {
        self.width
    }
    /// How many rows.
    #[inline(always)]
    pub(crate) fn count(&self) -> usize {
        self.count
    }
    /// The first row's first value; row `k` starts `k · width` values on.
    #[inline(always)]
    pub(crate) fn as_ptr(&self) -> *const f32 {
        self.data.as_ptr()
    }
}

/// The coefficients of [`combine_rows`]: `coef(k, r) = data[(k − k0)·ks + (r − r0)·rs]` for `k`
/// in `k0..k_end` and `r` in `r0..r_end`, all checked to lie inside `data` when it is made (a slice
/// and strides rather than a closure: with the sizes known only at run time, a closure's index
/// was bounds-checked at every multiply-add; the vector tiles compare a tile's ranges with the
/// checked ones instead, four comparisons, which batch-1 training's one-row tiles notice).
#[derive(Clone, Copy)]
pub(crate) struct Coef<'a> {
    // Private: only `new` makes one, so every index in the ranges lies inside `data`.
    data: &'a [f32],
    ks: usize,
    rs: usize,
    k0: usize,
    r0: usize,
    k_end: usize,
    r_end: usize,
}

impl<'a> Coef<'a> {
    /// Coefficients for `k` in `k0..k_end` and `r` in `r0..r_end`; panics unless every one lies
    /// inside `data`.
    #[inline(always)]
    pub(crate) fn new(
        data: &'a [f32],
        (ks, rs): (usize, usize),
        (k0, k_end): (usize, usize),
        (r0, r_end): (usize, usize),
    ) -> Self {
        if k_end > k0 && r_end > r0 {
            let last = (k_end - 1 - k0).checked_mul(ks).and_then(|a| {
                (r_end - 1 - r0)
                    .checked_mul(rs)
                    .and_then(|b| a.checked_add(b))
            });
            assert!(
                last.is_some_and(|l| l < data.len()),
                "coefficients out of bounds"
            );
        }
        Coef {
            data,
            ks,
            rs,
            k0,
            r0,
            k_end,
            r_end,
        }
    }
    /// `coef(k, r)`; panics outside `data`.
    #[inline(always)]
    pub(crate) fn get(&self, k: usize, r: usize) -> f32 {
        self.data[(k - self.k0) * self.ks + (r - self.r0) * self.rs]
    }
    /// Panics unless every `k` in `ks` and `r` in `r0..r0 + rn` lies in the ranges `new` checked.
    // This and `get_unchecked`: the vector tiles (x86-64 with std) only.
    #[cfg_attr(not(all(feature = "std", target_arch = "x86_64")), allow(dead_code))]
    #[inline(always)]
    pub(crate) fn check(&self, ks: &core::ops::Range<usize>, r0: usize, rn: usize) {
        assert!(
            ks.is_empty()
                || rn == 0
                || (ks.start >= self.k0
                    && ks.end <= self.k_end
                    && r0 >= self.r0
                    && r0 + rn <= self.r_end),
            "coefficients out of bounds"
        );
    }
    /// `coef(k, r)` without a bounds check.
    ///
    /// # Safety
    /// [`check`](Self::check) passed for a range of `k` and of `r` holding these.
    #[cfg_attr(not(all(feature = "std", target_arch = "x86_64")), allow(dead_code))]
    #[inline(always)]
    pub(crate) unsafe fn get_unchecked(&self, k: usize, r: usize) -> f32 {
        // SAFETY: the caller's contract: `check` found (k, r) in the ranges `new` checked, so the
        // index lies inside `data`.
        unsafe {
            *self
                .data
                .get_unchecked((k - self.k0) * self.ks + (r - self.r0) * self.rs)
        }
    }
}

/// [`Rows`] to write.
pub(crate) struct RowsMut<'a> {
    data: &'a mut [f32],
    width: usize,
    count: usize,
}

impl<'a> RowsMut<'a> {
    /// As [`Rows::new`].
    #[inline(always)]
    pub(crate) fn new(data: &'a mut [f32], width: usize, count: usize) -> Self {
        assert!(
            width.checked_mul(count) == Some(data.len()),
            "matrix of the wrong size"
        );
        RowsMut { data, width, count }
    }
    /// Row `k`'s values.
    #[inline(always)]
    pub(crate) fn row(&mut self, k: usize) -> &mut [f32] {
        &mut self.data[k * self.width..][..self.width]
    }
}

// What the vector tiles (x86-64 with std only) read.
#[cfg_attr(not(all(feature = "std", target_arch = "x86_64")), allow(dead_code))]
impl RowsMut<'_> {
    /// Values per row.
    #[inline(always)]
    pub(crate) fn width(&self) -> usize {
        self.width
    }
    /// How many rows.
    #[inline(always)]
    pub(crate) fn count(&self) -> usize {
        self.count
    }
}

/// `y[b] = W · x[b] + bias` for a batch (before the activation), at the sizes a layer's types
/// give; [`launch`](Self::launch) runs it as an [`AffineDyn`].
pub(crate) struct Affine<'a, const I: usize, const O: usize, const B: usize> {
    pub weight: &'a [[f32; I]; O],
    pub bias: &'a [f32; O],
    pub x: &'a [[f32; I]; B],
    pub y: &'a mut [[f32; O]; B],
}

impl<'a, const I: usize, const O: usize, const B: usize> Affine<'a, I, O, B> {
    /// Runs the product: see [`AffineDyn`] for where it is compiled.
    #[inline(always)]
    pub(crate) fn launch(self) {
        // The AVX-512 version at this layer's sizes, compiled here in the network's crate;
        // AVX2 and portable from nn-core.
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        if let Err(product) = super::avx2::run_zmm(self.sized()) {
            product.launch();
        }
        #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
        super::run(self.sized());
    }

    #[inline(always)]
    fn sized(self) -> AffineDyn<'a> {
        AffineDyn {
            weight: Rows::new(self.weight.as_flattened(), I, O),
            bias: self.bias,
            x: Rows::new(self.x.as_flattened(), I, B),
            y: RowsMut::new(self.y.as_flattened_mut(), O, B),
        }
    }
}

// The tests run the products on each path in turn.
#[cfg(test)]
impl<const I: usize, const O: usize, const B: usize> Kernel for Affine<'_, I, O, B> {
    #[inline(always)]
    fn run<M: Math>(self) {
        self.sized().run::<M>()
    }
}

/// [`Affine`] with its sizes as values: `weight` is `O` rows of `I`, `bias` `O` values, `x` `B`
/// rows of `I` and `y` `B` rows of `O` (checked when it runs).
///
/// On x86-64 with std every product has three versions (AVX-512, AVX2 and portable, chosen at
/// run time). Compiled at every layer's sizes in every crate that names a network, they were most
/// of a rebuild (the MNIST example's after a width change: 2.2–3.2 s, Intel Xeon, session 14), so
/// they are compiled once, here, on sizes known only at run time, with one exception: the
/// AVX-512 forward product is still compiled at the layer's sizes, in the network's crate (on run-
/// time sizes batch-1 and batch-128 inference ran 8–13 % slower there). The rebuild is then
/// 1.3–1.9 s, for training 2–4 % slower (BENCHMARKS.md, session 14). Without std, or on other
/// targets, the one portable version is compiled at the layer's sizes, which LLVM folds in: the
/// small layers of a microcontroller's models keep their unrolled loops (the sine model's
/// 1-16-16-1 on a Cortex-M4F: 1.4 k instructions per inference, against 2.8 k on run-time sizes).
pub(crate) struct AffineDyn<'a> {
    weight: Rows<'a>,
    bias: &'a [f32],
    x: Rows<'a>,
    y: RowsMut<'a>,
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
super::compiled_once!(AffineDyn, AffineBackwardDyn);

/// Bytes of weights one pass of the forward product keeps in L2 while every sample of the batch
/// goes through them (half of a 1 MB L2; a 512 KB one still holds most of it).
const L2_BUDGET: usize = 512 * 1024;

impl Kernel for AffineDyn<'_> {
    #[inline(always)]
    fn run<M: Math>(self) {
        let AffineDyn {
            weight,
            bias,
            x,
            mut y,
        } = self;
        let (i, o) = (weight.width, weight.count);
        assert!(
            bias.len() == o && x.width == i && y.width == o && y.count == x.count,
            "operands of different sizes"
        );
        // Outputs in blocks whose weights fit L2 (784-64-10: one block); within a block, tiles of
        // samples. Without the blocks, a 512×784 layer (1.6 MB) streamed its weights from L3 once
        // per tile of samples. Each dot product is computed the same way in any block.
        let rows = (L2_BUDGET / (i.max(1) * 4)).max(FWD_COLS) / FWD_COLS * FWD_COLS;
        let mut o0 = 0;
        while o0 < o {
            let os = o0..(o0 + rows).min(o);
            let mut b = 0;
            let y = &mut y;
            if M::ZMM {
                affine_tiles::<M, ZMM_FWD_ROWS>(weight, bias, x, y, &mut b, &os);
                affine_tiles::<M, ZMM_FWD_REST>(weight, bias, x, y, &mut b, &os);
            } else if M::WIDE {
                affine_tiles::<M, FWD_ROWS>(weight, bias, x, y, &mut b, &os);
            } else {
                affine_tiles::<M, PORTABLE_FWD_ROWS>(weight, bias, x, y, &mut b, &os);
            }
            affine_tiles::<M, 1>(weight, bias, x, y, &mut b, &os);
            o0 = os.end;
        }
    }
}

/// Tiles of `RB` samples from `*b` on, while a whole tile fits, over the outputs `os`; advances
/// `*b`.
#[inline(always)]
fn affine_tiles<M: Math, const RB: usize>(
    weight: Rows,
    bias: &[f32],
    x: Rows,
    y: &mut RowsMut,
    b: &mut usize,
    os: &core::ops::Range<usize>,
) {
    while *b + RB <= x.count {
        affine_rows::<M, RB>(weight, bias, x, y, *b, os.clone());
        *b += RB;
    }
}

#[inline(always)]
fn affine_rows<M: Math, const RB: usize>(
    weight: Rows,
    bias: &[f32],
    x: Rows,
    y: &mut RowsMut,
    b0: usize,
    os: core::ops::Range<usize>,
) {
    let i = x.width;
    // Loops, not `array::from_fn`: its closure was not always inlined (`try_from_fn` in a profile
    // of batch-1 inference).
    let mut xs: [&[f32]; RB] = [&[]; RB];
    for (r, xs) in xs.iter_mut().enumerate() {
        *xs = x.row(b0 + r);
    }
    let mut o = os.start;
    while o + FWD_COLS <= os.end {
        let mut ws: [&[f32]; FWD_COLS] = [&[]; FWD_COLS];
        for (c, ws) in ws.iter_mut().enumerate() {
            *ws = weight.row(o + c);
        }
        let dots = M::dot_tile_n::<RB, FWD_COLS>(xs, ws, i);
        for (r, dots) in dots.iter().enumerate() {
            let y = &mut y.row(b0 + r)[o..o + FWD_COLS];
            for ((y, d), b) in y.iter_mut().zip(dots).zip(&bias[o..o + FWD_COLS]) {
                *y = b + d;
            }
        }
        o += FWD_COLS;
    }
    while o < os.end {
        let dots = M::dot_tile_n::<RB, 1>(xs, [weight.row(o)], i);
        for (r, d) in dots.iter().enumerate() {
            y.row(b0 + r)[o] = bias[o] + d[0];
        }
        o += 1;
    }
}

/// Gradients of `y = W·x + b` for a batch, given `dz = dL/dy`: overwrites `dW = dzᵀ·X` and
/// `db = Σ_b dz[b]` and, if asked, writes `dx = dz·W`. With `continues`, `dW` and `db` go on from
/// the sums stored (the batch is a later part of a larger one): part after part is then one chain
/// of operations in sample order, bit for bit the sums over the whole batch. At the sizes a
/// layer's types give; [`launch`](Self::launch) runs it as an [`AffineBackwardDyn`].
pub(crate) struct AffineBackward<'a, const I: usize, const O: usize, const B: usize> {
    pub weight: &'a [[f32; I]; O],
    pub x: &'a [[f32; I]; B],
    pub dz: &'a [[f32; O]; B],
    pub d_weight: &'a mut [[f32; I]; O],
    pub d_bias: &'a mut [f32; O],
    pub dx: Option<&'a mut [[f32; I]; B]>,
    pub continues: bool,
}

impl<'a, const I: usize, const O: usize, const B: usize> AffineBackward<'a, I, O, B> {
    /// Runs the products: see [`AffineDyn`] for where they are compiled.
    #[inline(always)]
    pub(crate) fn launch(self) {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        self.sized().launch();
        #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
        super::run(self.sized());
    }

    #[inline(always)]
    fn sized(self) -> AffineBackwardDyn<'a> {
        AffineBackwardDyn {
            weight: Rows::new(self.weight.as_flattened(), I, O),
            x: Rows::new(self.x.as_flattened(), I, B),
            dz: Rows::new(self.dz.as_flattened(), O, B),
            d_weight: RowsMut::new(self.d_weight.as_flattened_mut(), I, O),
            d_bias: self.d_bias,
            dx: self.dx.map(|dx| RowsMut::new(dx.as_flattened_mut(), I, B)),
            continues: self.continues,
        }
    }
}

#[cfg(test)]
impl<const I: usize, const O: usize, const B: usize> Kernel for AffineBackward<'_, I, O, B> {
    #[inline(always)]
    fn run<M: Math>(self) {
        self.sized().run::<M>()
    }
}

/// [`AffineBackward`] with its sizes as values (checked when it runs).
pub(crate) struct AffineBackwardDyn<'a> {
    weight: Rows<'a>,
    x: Rows<'a>,
    dz: Rows<'a>,
    d_weight: RowsMut<'a>,
    d_bias: &'a mut [f32],
    dx: Option<RowsMut<'a>>,
    continues: bool,
}

impl Kernel for AffineBackwardDyn<'_> {
    #[inline(always)]
    fn run<M: Math>(self) {
        let AffineBackwardDyn {
            weight,
            x,
            dz,
            mut d_weight,
            d_bias,
            dx,
            continues,
        } = self;
        let (i, o, b) = (weight.width, weight.count, x.count);
        assert!(
            x.width == i
                && dz.width == o
                && dz.count == b
                && d_weight.width == i
                && d_weight.count == o
                && d_bias.len() == o
                && dx.as_ref().is_none_or(|dx| dx.width == i && dx.count == b),
            "operands of different sizes"
        );
        // db[o] = Σ_b dz[b][o] in sample order, as `Iterator::sum` adds (from -0.0), but a row
        // at a time so that the outputs vectorise (a column at a time, each load was a new line
        // of `dz`: 7 % of 784-512-512-10's training).
        if !continues {
            d_bias.fill(-0.0);
        }
        for k in 0..b {
            for (db, d) in d_bias.iter_mut().zip(dz.row(k)) {
                *db += d;
            }
        }
        // dW[o] = Σ_b dz[b][o] · x[b]
        let coef = Coef::new(dz.data, (o, 1), (0, b), (0, o));
        combine_rows::<M>(x, coef, &mut d_weight, continues);
        // dx[b] = Σ_o dz[b][o] · W[o]
        if let Some(mut dx) = dx {
            let coef = Coef::new(dz.data, (1, o), (0, o), (0, b));
            combine_rows::<M>(weight, coef, &mut dx, false);
        }
    }
}

/// Width of the column strips of [`combine_tile`]: two vectors.
pub(super) const STRIP: usize = 2 * LANES;

/// Bytes of `rows` that one column block of [`combine_rows`] may span: a quarter of a 32 KB L1
/// (measured against 4, 16 and 32 KB on batch 1, 64 and 128).
const L1_BUDGET: usize = 8 * 1024;

/// Most rows of the inner dimension one pass of [`combine_rows`] takes. Every output tile reads
/// `coef` for all of a pass's rows (for `dW`, the batch's `dz`: 32 KB at batch 128, 64 KB at 256,
/// beside the input block): with more than 64 they no longer stay in a 48 KB L1, and batch 128
/// ran slower per sample than batch 64. Passes continue each sum where the last one stored it, in
/// the same order, so the results are bit-for-bit those of one pass.
const K_PASS: usize = 64;
/// The largest output (bytes) that [`combine_rows`] takes in passes.
const OUT_BUDGET: usize = 256 * 1024;

/// `out[r] = Σ_k coef(k, r) · rows[k]` for every output row `r`: a product whose inner dimension is
/// `rows.count`, vectorised along the rows' length (`rows.width`, `out.width`).
///
/// Columns are cut into blocks whose rows fit in `L1_BUDGET`; within a block, output rows are the
/// outer loop. With many rows (a batch of 128 inputs) the block of inputs stays in L1 while every
/// output row is computed from it; with one row a block is a whole row and each output row is
/// written front to back. (Measured: rows outer over whole rows made batch 128 slower per sample
/// than batch 32; strips outer made batch 1 slower by a quarter.) More rows than [`K_PASS`] are
/// taken in passes; with `continues`, the first pass too goes on from what `out` holds (a later
/// part of a batch).
#[inline(always)]
fn combine_rows<M: Math>(rows: Rows, coef: Coef, out: &mut RowsMut, continues: bool) {
    assert!(rows.width == out.width, "operands of different sizes");
    let (n, k_all, r_all) = (rows.width, rows.count, out.count);
    let full = n / STRIP * STRIP;
    // Passes re-read and re-write `out`: worth it only while it stays in L2 (784×64: 200 KB), not
    // for a wide layer's 1.6 MB.
    let rows_per_pass = if r_all * n * 4 <= OUT_BUDGET {
        K_PASS
    } else {
        k_all
    };
    let mut k0 = 0;
    loop {
        let ks = k0..(k0 + rows_per_pass).min(k_all);
        let add = continues || k0 > 0;
        // Columns per block: a multiple of `width` whose rows of this pass fit `L1_BUDGET`.
        let block = |width: usize| (L1_BUDGET / (ks.len().max(1) * 4)).max(width) / width * width;
        let pass = Pass {
            ks: ks.clone(),
            add,
        };
        // AVX-512: the columns that fill whole wide tiles first, the rest in single strips. A
        // pass deeper than the L1 budget for wide tiles (784-512-512-10's weight gradients, 128
        // samples deep) goes through `combine_deep`'s packed coefficients instead of column
        // blocks. (AVX2's 4-row tiles gained nothing measurable from the panels on an Emerald
        // Rapids Xeon: 18.1-21.1 k against 17.4-19.7 k samples/s.)
        let wide = if M::ZMM { n / ZMM_WIDTH * ZMM_WIDTH } else { 0 };
        if M::ZMM && ks.len() * ZMM_WIDTH * 4 > L1_BUDGET {
            combine_deep::<M, ZMM_AXPY_ROWS, ZMM_STRIPS>(rows, coef, out, 0..wide, &pass);
        } else if M::ZMM {
            let cols = (0..wide, block(ZMM_WIDTH));
            combine_columns::<M, ZMM_AXPY_ROWS, ZMM_STRIPS>(rows, coef, out, cols, &pass);
        }
        let cols = (wide..full, block(STRIP));
        if M::WIDE {
            combine_columns::<M, AXPY_ROWS, 1>(rows, coef, out, cols, &pass);
        } else {
            combine_columns::<M, PORTABLE_AXPY_ROWS, 1>(rows, coef, out, cols, &pass);
        }
        // Fewer than a strip of columns left: one column at a time.
        for col in full..n {
            for r in 0..r_all {
                let out = out.row(r);
                let mut acc = if add { out[col] } else { 0.0 };
                for k in ks.clone() {
                    acc = M::mul_add(coef.get(k, r), rows.row(k)[col], acc);
                }
                out[col] = acc;
            }
        }
        k0 = ks.end;
        if k0 >= k_all {
            break;
        }
    }
}

/// Rows of the inner dimension in one coefficient panel of [`combine_deep`] (4 KB).
const PANEL_K: usize = 128;

/// The columns `cols` (whole tiles of `NS` strips) of one deep pass of [`combine_rows`]: tiles
/// of `RR` output rows outer, each tile's coefficients first copied into a panel read front to
/// back, then every column tile from it. Read in place, a tile's coefficients are a column of
/// `dz` whose rows lie 2 KB apart in a 512-wide layer: every one in the same two sets of L1, so
/// each sample's load missed (784-512-512-10 trained at half the FMA peak). The sums go in the
/// same order, so the results are bit for bit those of the other tiles.
#[inline(always)]
fn combine_deep<M: Math, const RR: usize, const NS: usize>(
    rows: Rows,
    coef: Coef,
    out: &mut RowsMut,
    cols: core::ops::Range<usize>,
    pass: &Pass,
) {
    let mut r0 = 0;
    if !cols.is_empty() {
        let mut panel = [[0.0f32; RR]; PANEL_K];
        while r0 + RR <= out.count {
            let mut k0 = pass.ks.start;
            while k0 < pass.ks.end {
                let part = Pass {
                    ks: k0..(k0 + PANEL_K).min(pass.ks.end),
                    add: pass.add || k0 > pass.ks.start,
                };
                for (k, row) in part.ks.clone().zip(panel.iter_mut()) {
                    for (r, c) in row.iter_mut().enumerate() {
                        *c = coef.get(k, r0 + r);
                    }
                }
                let packed = Coef::new(
                    panel.as_flattened(),
                    (RR, 1),
                    (k0, part.ks.end),
                    (r0, r0 + RR),
                );
                for col in cols.clone().step_by(NS * STRIP) {
                    M::combine_tile::<RR, NS>(rows, packed, out, r0, col, &part);
                }
                k0 = part.ks.end;
            }
            r0 += RR;
        }
    }
    // The last rows, fewer than a tile, one at a time.
    combine_block::<M, 1, NS>(rows, coef, out, &mut r0, cols, pass);
}

/// The columns `cols.0` (whole tiles of `NS` strips) of one pass of [`combine_rows`], in blocks of
/// `cols.1` columns; within a block, tiles of `RR` output rows, then single rows.
#[inline(always)]
fn combine_columns<M: Math, const RR: usize, const NS: usize>(
    rows: Rows,
    coef: Coef,
    out: &mut RowsMut,
    (cols, block): (core::ops::Range<usize>, usize),
    pass: &Pass,
) {
    let mut start = cols.start;
    while start < cols.end {
        let end = (start + block).min(cols.end);
        let mut r = 0;
        combine_block::<M, RR, NS>(rows, coef, out, &mut r, start..end, pass);
        combine_block::<M, 1, NS>(rows, coef, out, &mut r, start..end, pass);
        start = end;
    }
}

/// One pass of [`combine_rows`] over the inner dimension: rows `ks`, added to what the earlier
/// passes stored (`add`) or from zero.
#[derive(Clone)]
pub(crate) struct Pass {
    pub(crate) ks: core::ops::Range<usize>,
    pub(crate) add: bool,
}

/// Tiles of `RR` output rows from `*r` on, while a whole tile fits, over the column block `cols`
/// (whole tiles of `NS` strips); advances `*r`.
#[inline(always)]
fn combine_block<M: Math, const RR: usize, const NS: usize>(
    rows: Rows,
    coef: Coef,
    out: &mut RowsMut,
    r: &mut usize,
    cols: core::ops::Range<usize>,
    pass: &Pass,
) {
    while *r + RR <= out.count {
        for col in cols.clone().step_by(NS * STRIP) {
            M::combine_tile::<RR, NS>(rows, coef, out, *r, col, pass);
        }
        *r += RR;
    }
}

/// Rows `r0..r0 + RR`, columns `col..col + STRIP` of [`combine_rows`], over the pass's rows.
#[inline(always)]
pub(super) fn combine_tile<M: Math, const RR: usize>(
    rows: Rows,
    coef: Coef,
    out: &mut RowsMut,
    r0: usize,
    col: usize,
    pass: &Pass,
) {
    let mut acc = [[0.0f32; STRIP]; RR];
    if pass.add {
        for (r, acc) in acc.iter_mut().enumerate() {
            acc.copy_from_slice(&out.row(r0 + r)[col..col + STRIP]);
        }
    }
    for k in pass.ks.clone() {
        let v: &[f32; STRIP] = rows.row(k)[col..col + STRIP]
            .try_into()
            .expect("a full strip");
        for (r, acc) in acc.iter_mut().enumerate() {
            let s = coef.get(k, r0 + r);
            for l in 0..STRIP {
                acc[l] = M::mul_add(s, v[l], acc[l]);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        out.row(r0 + r)[col..col + STRIP].copy_from_slice(acc);
    }
}

/// The portable [`Math::axpy_tile`](super::Math::axpy_tile).
#[inline(always)]
pub(super) fn axpy_tile<M: Math, const RT: usize, const NV: usize, const V: usize>(
    acc: &mut [[[f32; V]; NV]; RT],
    kn: usize,
    rows: SrcTile,
    coef: CoefTile,
) {
    coef.check(kn, RT);
    for k in 0..kn {
        let row = &rows.data[rows.base + rows.offset(k)..];
        let xs: [&[f32; V]; NV] = core::array::from_fn(|v| {
            row[rows.vector::<V>(v)..][..V]
                .try_into()
                .expect("V values")
        });
        for (r, acc) in acc.iter_mut().enumerate() {
            let c = coef.data[k * coef.ks + r * coef.rs];
            for (acc, x) in acc.iter_mut().zip(xs) {
                for (a, x) in acc.iter_mut().zip(x) {
                    *a = M::mul_add(c, *x, *a);
                }
            }
        }
    }
}

/// `RB × RC` dot products of the rows' first `n` values, each with `PORTABLE_LANES` partial sums
/// combined in a fixed order, then the tail (results do not depend on the tile a dot product lands
/// in, or on the thread that computes it). The vector versions are `avx2::dot_tile_n` and
/// `avx2::dot_tile16_n`.
#[inline(always)]
pub(super) fn dot_tile_n<M: Math, const RB: usize, const RC: usize>(
    x: [&[f32]; RB],
    w: [&[f32]; RC],
    n: usize,
) -> [[f32; RC]; RB] {
    const L: usize = PORTABLE_LANES;
    let xs = x.map(|row| row[..n].as_chunks::<L>().0);
    let ws = w.map(|row| row[..n].as_chunks::<L>().0);
    let mut acc = [[[0.0f32; L]; RC]; RB];
    for k in 0..n / L {
        for r in 0..RB {
            for c in 0..RC {
                let (xv, wv) = (&xs[r][k], &ws[c][k]);
                for l in 0..L {
                    acc[r][c][l] = M::mul_add(xv[l], wv[l], acc[r][c][l]);
                }
            }
        }
    }
    let tail = n / L * L;
    let mut out = [[0.0f32; RC]; RB];
    for r in 0..RB {
        for c in 0..RC {
            let a = &acc[r][c];
            let mut sum = (a[0] + a[2]) + (a[1] + a[3]);
            for i in tail..n {
                sum = M::mul_add(x[r][i], w[c][i], sum);
            }
            out[r][c] = sum;
        }
    }
    out
}
