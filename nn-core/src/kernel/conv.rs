//! Convolutions (`Conv1d`, `Conv2d`, depthwise) as matrix products over im2col blocks.
//!
//! For one sample and one group, a convolution is `Y = W · col(X)`: `W` is `F × Q` (`Q = C·KH·KW`
//! taps, a filter's weights), `col(X)` is `Q × P` (`P = OH·OW` output positions; column `p` holds
//! the input values under the kernel at position `p`, zeros in the padding). Padding and stride
//! are handled only where `col` is built (`im2col`) and scattered back (`col2im`); the products
//! themselves are plain, vectorised along the positions with register tiles as in `gemm.rs`:
//! `Y = W·col` and `dcol = Wᵀ·dZ` with broadcast coefficients (`combine`), `dW = dZ·colᵀ` with
//! `Math::dot_tile_n`, or, from 8 filters on, as `dWᵀ += col·dZᵀ` with broadcasts (no horizontal
//! sums). Unpadded stride-1 convolutions whose rows are mostly output (`Geometry::wide`) skip im2col:
//! each tap's values are then one contiguous run of the input.
//!
//! `col` is built in blocks of at most [`CAP`] values on the stack (positions × taps), so a large
//! layer does not need a large buffer. The same `CAP` on every target keeps the blocking, and so the
//! order of every sum, identical across targets; a forward sum runs over the taps in order whatever
//! the blocking. Sizes are runtime values here (one compiled kernel for every layer shape); the
//! loops that matter have constant trip counts (tile and lane sizes).

use super::{CoefTile, Kernel, Math, SrcTile, Table};

/// Lanes of one vector of accumulators: one `__m256` with AVX2 (two SSE2 registers otherwise).
const LANES: usize = 8;
/// Values of the im2col block buffer (48 KB): a whole sample of either LeNet convolution in one
/// block. 16 KB blocks cut the second one into blocks of 16 positions, and made it a third slower.
/// With the other buffers, the backward pass keeps about 76 KB on the stack.
const CAP: usize = 12288;

/// The shape of a convolution, for one sample: `groups` independent convolutions of `c` input
/// channels (`h × w`) into `f` output channels (`oh × ow`) each, with a `kh × kw` kernel, strides
/// `sh`, `sw` and zero padding `pt` rows above and `pl` columns left (any more padding below or right
/// is implied by the output size).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub groups: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub f: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub pt: usize,
    pub pl: usize,
    pub oh: usize,
    pub ow: usize,
}

/// Output length along one axis: 'valid' `(n − k)/s + 1` (0 if the kernel does not fit) or
/// TensorFlow's 'same' `⌈n/s⌉`.
pub(crate) const fn out_len(n: usize, k: usize, s: usize, same: bool) -> usize {
    if s == 0 {
        0
    } else if same {
        n.div_ceil(s)
    } else if k <= n {
        (n - k) / s + 1
    } else {
        0
    }
}

/// Zero padding before the input along one axis: none for 'valid'; for 'same' TensorFlow's
/// `⌊max((out − 1)·s + k − n, 0) / 2⌋` (an odd total puts the extra zero after).
pub(crate) const fn pad_before(n: usize, k: usize, s: usize, out: usize, same: bool) -> usize {
    if !same || out == 0 {
        return 0;
    }
    let need = (out - 1) * s + k;
    if need > n {
        (need - n) / 2
    } else {
        0
    }
}

/// Zero padding after the input along one axis ('same' puts the odd one here, as TensorFlow).
pub(crate) const fn pad_after(n: usize, k: usize, s: usize, out: usize, same: bool) -> usize {
    if !same || out == 0 {
        return 0;
    }
    let need = (out - 1) * s + k;
    if need > n {
        need - n - pad_before(n, k, s, out, same)
    } else {
        0
    }
}

impl Geometry {
    /// Weights per filter.
    fn q(&self) -> usize {
        self.c * self.kh * self.kw
    }
    /// Output positions per channel.
    fn p(&self) -> usize {
        self.oh * self.ow
    }
    fn group_x(&self) -> usize {
        self.c * self.h * self.w
    }
    fn group_y(&self) -> usize {
        self.f * self.p()
    }
    fn group_w(&self) -> usize {
        self.f * self.q()
    }
    /// Positions and kernel taps per im2col block (`≤ CAP` values together).
    fn blocks(&self) -> (usize, usize) {
        let (q, p) = (self.q(), self.p());
        if q * p <= CAP {
            return (p, q);
        }
        let np = (CAP / q / 16 * 16).clamp(16, p.max(16)).min(p);
        (np, q.min(CAP / np))
    }
}

/// `y = W ∗ x + bias` for a batch (before the activation); all slices flat, samples one after the
/// other.
pub(crate) struct ConvForward<'a> {
    pub geo: Geometry,
    pub weight: &'a [f32],
    pub bias: &'a [f32],
    pub x: &'a [f32],
    pub y: &'a mut [f32],
}

impl Kernel for ConvForward<'_> {
    #[inline(always)]
    fn run<M: Math>(self) {
        let ConvForward {
            geo: g,
            weight,
            bias,
            x,
            y,
        } = self;
        let (gx, gy, gw) = (g.group_x(), g.group_y(), g.group_w());
        assert!(weight.len() == g.groups * gw && bias.len() == g.groups * g.f);
        assert!(x.len() / (g.groups * gx) == y.len() / (g.groups * gy));
        let mut col = [0.0f32; CAP];
        // One chunk per sample and group; the group is the chunk's index modulo `groups`.
        for (i, (x, y)) in x.chunks_exact(gx).zip(y.chunks_exact_mut(gy)).enumerate() {
            let grp = i % g.groups;
            let w = &weight[grp * gw..][..gw];
            let b = &bias[grp * g.f..][..g.f];
            forward_group::<M>(&g, w, b, x, y, &mut col);
        }
    }
}

#[inline(always)]
fn forward_group<M: Math>(
    g: &Geometry,
    w: &[f32],
    bias: &[f32],
    x: &[f32],
    y: &mut [f32],
    col: &mut [f32; CAP],
) {
    if let Some(l) = g.wide().filter(|&l| g.f * l <= CAP) {
        forward_wide::<M>(g, l, w, bias, x, y, col);
        return;
    }
    if g.windows() {
        let mut table = [0; WIDE_TAPS];
        let rows = Windows {
            x,
            offsets: Table::new(g.tap_offsets(&mut table)),
            w: g.w,
        };
        let (q, p) = (g.q(), g.p());
        let coef = FilterRows { w, q, q0: 0 };
        combine::<M>(&rows, q, &coef, y, p, g.f, p, Init::Bias(bias));
        return;
    }
    let (q, p) = (g.q(), g.p());
    let (np, qb) = g.blocks();
    let mut p0 = 0;
    while p0 < p {
        let n = np.min(p - p0);
        let mut q0 = 0;
        while q0 < q {
            let kq = qb.min(q - q0);
            let col = &mut col[..kq * n];
            im2col(g, x, p0, n, q0, kq, col);
            // y[f][p0..p0 + n] (+)= Σ_k W[f][q0 + k] · col[k]; each output's sum runs over k in
            // order, continued from block to block: the blocking does not change the result.
            let init = if q0 == 0 { Init::Bias(bias) } else { Init::Add };
            let coef = FilterRows { w, q, q0 };
            combine::<M>(
                &Strided {
                    data: col,
                    stride: n,
                },
                kq,
                &coef,
                &mut y[p0..],
                p,
                g.f,
                n,
                init,
            );
            q0 += kq;
        }
        p0 += n;
    }
}

/// Most kernel taps of a [wide](Geometry::wide) product (its table of input offsets is on the
/// stack).
const WIDE_TAPS: usize = 512;

impl Geometry {
    /// For an unpadded stride-1 convolution, `Some(l)` with `l = (oh − 1)·w + ow`: then tap `q`'s
    /// values for all positions are one contiguous run of the input, `x[offset(q)..][..l]`, if the
    /// positions are numbered `t = oh·w + ow` as in the input (the "wide" output, whose `w − ow`
    /// extra columns per row are computed and dropped). That needs no im2col at all, for a few
    /// wasted products (14 % on the first LeNet convolution).
    fn wide(&self) -> Option<usize> {
        let plain = self.pt == 0
            && self.pl == 0
            && self.sh == 1
            && self.sw == 1
            && self.oh - 1 + self.kh <= self.h
            && self.ow - 1 + self.kw <= self.w
            // At most a quarter wasted: on the second LeNet convolution (8 of 12 columns) the
            // extra products and the ragged row length cost more than im2col saves.
            && 4 * self.ow >= 3 * self.w
            && self.q() <= WIDE_TAPS;
        plain.then(|| (self.oh - 1) * self.w + self.ow)
    }

    /// Whether [`Windows`] applies: unpadded, stride 1, output rows of 8.
    fn windows(&self) -> bool {
        self.pt == 0
            && self.pl == 0
            && self.sh == 1
            && self.sw == 1
            && self.ow == LANES
            && self.oh - 1 + self.kh <= self.h
            && self.ow - 1 + self.kw <= self.w
            && self.q() <= WIDE_TAPS
    }

    /// The wide length `l` if [`backward_wide`] applies: wide, and `dz` (and for `dx` the taps'
    /// rows) fit in the buffer in wide rows.
    fn wide_backward(&self, dx: bool) -> Option<usize> {
        let taps = if dx { self.q() } else { 0 };
        self.wide().filter(|&l| (self.f + taps) * l <= CAP)
    }

    /// Input offset of every tap's run (see [`wide`](Geometry::wide)).
    fn tap_offsets<'a>(&self, table: &'a mut [usize; WIDE_TAPS]) -> &'a [usize] {
        let table = &mut table[..self.q()];
        let mut k = 0;
        for c in 0..self.c {
            for kh in 0..self.kh {
                for kw in 0..self.kw {
                    table[k] = (c * self.h + kh) * self.w + kw;
                    k += 1;
                }
            }
        }
        table
    }
}

/// Rows that are runs of the input, one per tap.
struct Taps<'a> {
    x: &'a [f32],
    offsets: Table<'a>,
}

impl Rows for Taps<'_> {
    #[inline(always)]
    fn row(&self, k: usize, j: usize, len: usize) -> &[f32] {
        &self.x[self.offsets.get(k) + j..][..len]
    }
    #[inline(always)]
    fn tile(&self, j: usize) -> SrcTile<'_> {
        SrcTile {
            data: self.x,
            base: j,
            offsets: Some(self.offsets),
            ks: 0,
            vs: None,
        }
    }
}

/// The input under the kernel for output rows of exactly 8 (the second LeNet convolution): tap
/// `k`'s values at output row `oh` are the run `x[offset(k) + oh·w..][..8]`, so a tile of vectors
/// (one per output row, `w` apart) reads the input directly, with no im2col copy.
struct Windows<'a> {
    x: &'a [f32],
    offsets: Table<'a>,
    w: usize,
}

impl Rows for Windows<'_> {
    #[inline(always)]
    fn row(&self, k: usize, j: usize, len: usize) -> &[f32] {
        assert!(j % LANES + len <= LANES, "within one output row");
        &self.x[self.offsets.get(k) + j / LANES * self.w + j % LANES..][..len]
    }
    #[inline(always)]
    fn tile(&self, j: usize) -> SrcTile<'_> {
        assert!(j.is_multiple_of(LANES), "whole output rows");
        SrcTile {
            data: self.x,
            base: j / LANES * self.w,
            offsets: Some(self.offsets),
            ks: 0,
            vs: Some(self.w),
        }
    }
}

/// [`forward_group`] of a [wide](Geometry::wide) convolution: the wide output in `buf`, then its
/// real columns into `y`. Each output's sum is the same as on the im2col path.
#[inline(always)]
fn forward_wide<M: Math>(
    g: &Geometry,
    l: usize,
    w: &[f32],
    bias: &[f32],
    x: &[f32],
    y: &mut [f32],
    buf: &mut [f32; CAP],
) {
    let q = g.q();
    let mut table = [0; WIDE_TAPS];
    let taps = Taps {
        x,
        offsets: Table::new(g.tap_offsets(&mut table)),
    };
    let wide = &mut buf[..g.f * l];
    let coef = FilterRows { w, q, q0: 0 };
    combine::<M>(&taps, q, &coef, wide, l, g.f, l, Init::Bias(bias));
    for (y, wide) in y.chunks_exact_mut(g.p()).zip(wide.chunks_exact(l)) {
        for (y, wide) in y.chunks_exact_mut(g.ow).zip(wide.chunks(g.w)) {
            copy(y, wide);
        }
    }
}

/// [`backward_group`] of a [wide](Geometry::wide) convolution: `dz` spread into wide rows (zeros in
/// the extra columns, so they add nothing), dot products with the input's runs for the weights;
/// for `dx`, each tap's wide row of `Wᵀ·dz` added onto its run.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn backward_wide<M: Math>(
    g: &Geometry,
    l: usize,
    w: &[f32],
    x: &[f32],
    dz: &[f32],
    dw: &mut [f32],
    dx: Option<&mut [f32]>,
    buf: &mut [f32; CAP],
) {
    let q = g.q();
    let mut table = [0; WIDE_TAPS];
    let offsets = g.tap_offsets(&mut table);
    let (wide, rest) = buf.split_at_mut(g.f * l);
    wide.fill(0.0);
    for (dz, wide) in dz.chunks_exact(g.p()).zip(wide.chunks_exact_mut(l)) {
        for (dz, wide) in dz.chunks_exact(g.ow).zip(wide.chunks_mut(g.w)) {
            copy(&mut wide[..g.ow], dz);
        }
    }
    let taps = Taps {
        x,
        offsets: Table::new(offsets),
    };
    weight_grad::<M>(wide, l, g.f, &taps, q, l, dw, q);
    if let Some(dx) = dx {
        let dcol = &mut rest[..q * l];
        let coef = FilterColumns { w, q, q0: 0 };
        let dz = Strided {
            data: wide,
            stride: l,
        };
        combine::<M>(&dz, g.f, &coef, dcol, l, q, l, Init::Zero);
        for (&at, dcol) in offsets.iter().zip(dcol.chunks_exact(l)) {
            add(&mut dx[at..at + l], dcol);
        }
    }
}

/// Gradients of a convolution for a batch, given `dz = dL/dy`: overwrites `d_weight` and `d_bias`
/// with the batch sums and, if asked, writes `dx`.
pub(crate) struct ConvBackward<'a> {
    pub geo: Geometry,
    pub weight: &'a [f32],
    pub x: &'a [f32],
    pub dz: &'a [f32],
    pub d_weight: &'a mut [f32],
    pub d_bias: &'a mut [f32],
    pub dx: Option<&'a mut [f32]>,
}

impl Kernel for ConvBackward<'_> {
    #[inline(always)]
    fn run<M: Math>(self) {
        let ConvBackward {
            geo: g,
            weight,
            x,
            dz,
            d_weight,
            d_bias,
            mut dx,
        } = self;
        let (gx, gy, gw) = (g.group_x(), g.group_y(), g.group_w());
        assert!(weight.len() == g.groups * gw && d_weight.len() == weight.len());
        assert!(d_bias.len() == g.groups * g.f);
        assert!(x.len() / (g.groups * gx) == dz.len() / (g.groups * gy));
        d_weight.fill(0.0);
        d_bias.fill(0.0);
        let p = g.p();
        if let Some(dx) = dx.as_deref_mut() {
            assert!(dx.len() == x.len());
            dx.fill(0.0);
        }
        let mut col = [0.0f32; CAP];
        // With 8 filters or more, the weight gradient is accumulated transposed, as a product
        // vectorised along the filters: no horizontal sums, which cost as much as the products on
        // the second LeNet convolution (dot products of 64).
        let (q, f) = (g.q(), g.f);
        let transposed = g.groups == 1
            && f >= LANES
            && q * f <= DWT_CAP
            && g.blocks().0 * f <= DZT_CAP
            && g.wide_backward(dx.is_some()).is_none();
        let mut dwt = [0.0f32; DWT_CAP];
        let mut dzt = [0.0f32; DZT_CAP];
        for (i, (x, dz)) in x.chunks_exact(gx).zip(dz.chunks_exact(gy)).enumerate() {
            let grp = i % g.groups;
            // The bias gradient here, sample by sample in the same order as a separate pass
            // would add them, while this sample's `dz` is in cache for the products below (a
            // separate pass read LeNet c1's 442 KB of `dz` from memory once more).
            for (db, dz) in d_bias[grp * g.f..][..g.f]
                .iter_mut()
                .zip(dz.chunks_exact(p))
            {
                *db += sum(dz);
            }
            let w = &weight[grp * gw..][..gw];
            let dw = &mut d_weight[grp * gw..][..gw];
            let dx = dx.as_deref_mut().map(|dx| &mut dx[i * gx..][..gx]);
            let dw = if transposed {
                WeightGrad::Transposed(&mut dwt[..q * f], &mut dzt)
            } else {
                WeightGrad::Direct(dw)
            };
            backward_group::<M>(&g, w, x, dz, dw, dx, &mut col);
        }
        if transposed {
            for (k, dwt) in dwt[..q * f].chunks_exact(f).enumerate() {
                for (f, &v) in dwt.iter().enumerate() {
                    d_weight[f * q + k] = v;
                }
            }
        }
    }
}

/// Values of the transposed weight gradient (`Q × F`) and of a transposed block of `dz`.
const DWT_CAP: usize = 4096;
const DZT_CAP: usize = 2048;

/// Where [`backward_group`] accumulates the weight gradient: `dw[f][q]` by dot products, or
/// `dwt[q][f]` (with a buffer for `dzᵀ`).
enum WeightGrad<'a> {
    Direct(&'a mut [f32]),
    Transposed(&'a mut [f32], &'a mut [f32; DZT_CAP]),
}

#[inline(always)]
fn backward_group<M: Math>(
    g: &Geometry,
    w: &[f32],
    x: &[f32],
    dz: &[f32],
    mut dw: WeightGrad,
    mut dx: Option<&mut [f32]>,
    col: &mut [f32; CAP],
) {
    if let (Some(l), WeightGrad::Direct(dw)) = (g.wide_backward(dx.is_some()), &mut dw) {
        backward_wide::<M>(g, l, w, x, dz, dw, dx, col);
        return;
    }
    let (q, p) = (g.q(), g.p());
    let (np, qb) = g.blocks();
    let mut p0 = 0;
    while p0 < p {
        let n = np.min(p - p0);
        let mut q0 = 0;
        while q0 < q {
            let kq = qb.min(q - q0);
            let col = &mut col[..kq * n];
            im2col(g, x, p0, n, q0, kq, col);
            match &mut dw {
                // dW[f][q0 + k] += Σ_j dz[f][p0 + j] · col[k][j]
                WeightGrad::Direct(dw) => {
                    let col = Strided {
                        data: col,
                        stride: n,
                    };
                    weight_grad::<M>(&dz[p0..], p, g.f, &col, kq, n, &mut dw[q0..], q);
                }
                // dWᵀ[q0 + k][f] += Σ_j col[k][j] · dzᵀ[j][f]
                WeightGrad::Transposed(dwt, dzt) => {
                    let dzt = &mut dzt[..n * g.f];
                    if g.f.is_multiple_of(LANES) && n.is_multiple_of(LANES) {
                        // In 8 × 8 blocks (AVX2: shuffles; the scalar loop below was a
                        // tenth of LeNet c2's weight gradient).
                        for f0 in (0..g.f).step_by(LANES) {
                            for j0 in (0..n).step_by(LANES) {
                                M::transpose8(
                                    &dz[f0 * p + p0 + j0..],
                                    p,
                                    &mut dzt[j0 * g.f + f0..],
                                    g.f,
                                );
                            }
                        }
                    } else {
                        for (f, dz) in dz.chunks_exact(p).enumerate() {
                            for (j, &v) in dz[p0..p0 + n].iter().enumerate() {
                                dzt[j * g.f + f] = v;
                            }
                        }
                    }
                    let coef = FilterRows {
                        w: col,
                        q: n,
                        q0: 0,
                    };
                    let dzt = Strided {
                        data: dzt,
                        stride: g.f,
                    };
                    let out = &mut dwt[q0 * g.f..];
                    combine::<M>(&dzt, n, &coef, out, g.f, kq, g.f, Init::Add);
                }
            }
            if let Some(dx) = dx.as_deref_mut() {
                // dcol[k][j] = Σ_f W[f][q0 + k] · dz[f][p0 + j], then scattered onto dx.
                let coef = FilterColumns { w, q, q0 };
                let dz = Strided {
                    data: &dz[p0..],
                    stride: p,
                };
                combine::<M>(&dz, g.f, &coef, col, n, kq, n, Init::Zero);
                col2im(g, col, p0, n, q0, kq, dx);
            }
            q0 += kq;
        }
        p0 += n;
    }
}

/// A piece of one im2col row: the input under one kernel tap for the output positions
/// `j..j + len` of the block, which lie in one output row.
struct Piece {
    /// Offset of the piece within the block's row.
    j: usize,
    len: usize,
    /// Where the input values are, if the piece is not entirely in the padding rows: the input
    /// offset of piece element `lo`, and the range `lo..hi` of the piece that is inside the input
    /// row (the rest is padding).
    inside: Option<(usize, usize, usize)>,
}

/// Calls `each(k, piece)` for the pieces of taps `q0..q0 + kq` over positions `p0..p0 + n`,
/// walking taps and rows by counting (no divisions: they were a quarter of the time).
#[inline(always)]
fn pieces(
    g: &Geometry,
    p0: usize,
    n: usize,
    q0: usize,
    kq: usize,
    mut each: impl FnMut(usize, Piece),
) {
    let (oh_start, ow_start) = (p0 / g.ow, p0 % g.ow);
    let (mut c, mut kh, mut kw) = (q0 / (g.kh * g.kw), q0 / g.kw % g.kh, q0 % g.kw);
    for k in 0..kq {
        let (mut oh, mut ow0, mut j) = (oh_start, ow_start, 0);
        while j < n {
            let len = (g.ow - ow0).min(n - j);
            let inside = (oh * g.sh + kh)
                .checked_sub(g.pt)
                .filter(|&ih| ih < g.h)
                .map(|ih| {
                    // Input column of element t: base + t·sw − pl, inside iff pl ≤ … < w + pl.
                    let base = ow0 * g.sw + kw;
                    let (lo, hi) = if g.sw == 1 {
                        let lo = g.pl.saturating_sub(base).min(len);
                        (lo, (g.w + g.pl).saturating_sub(base).clamp(lo, len))
                    } else {
                        let lo = g.pl.saturating_sub(base).div_ceil(g.sw).min(len);
                        (
                            lo,
                            (g.w + g.pl)
                                .saturating_sub(base)
                                .div_ceil(g.sw)
                                .clamp(lo, len),
                        )
                    };
                    (
                        (c * g.h + ih) * g.w + (base + lo * g.sw).saturating_sub(g.pl),
                        lo,
                        hi,
                    )
                });
            each(k, Piece { j, len, inside });
            j += len;
            oh += 1;
            ow0 = 0;
        }
        kw += 1;
        if kw == g.kw {
            kw = 0;
            kh += 1;
            if kh == g.kh {
                kh = 0;
                c += 1;
            }
        }
    }
}

/// Calls `each(k, x_offset)` for every tap of the block, with the input offset of its first
/// output row, if the block is whole output rows, the stride along rows is 1 and there is no
/// padding: then tap `k`'s im2col row is `n / ow` plain copies of `ow` values, `sh·w` apart in the
/// input, and per-piece bookkeeping would cost more than the copies (the second LeNet convolution
/// copies 8 values per piece).
#[inline(always)]
fn plain_rows(
    g: &Geometry,
    p0: usize,
    n: usize,
    q0: usize,
    kq: usize,
    mut each: impl FnMut(usize, usize),
) -> bool {
    let unpadded = g.pt == 0
        && g.pl == 0
        && (g.oh - 1) * g.sh + g.kh <= g.h
        && (g.ow - 1) * g.sw + g.kw <= g.w;
    if !(unpadded && g.sw == 1 && p0.is_multiple_of(g.ow) && n.is_multiple_of(g.ow)) {
        return false;
    }
    let oh0 = p0 / g.ow;
    let (mut c, mut kh, mut kw) = (q0 / (g.kh * g.kw), q0 / g.kw % g.kh, q0 % g.kw);
    for k in 0..kq {
        each(k, (c * g.h + oh0 * g.sh + kh) * g.w + kw);
        kw += 1;
        if kw == g.kw {
            kw = 0;
            kh += 1;
            if kh == g.kh {
                kh = 0;
                c += 1;
            }
        }
    }
    true
}

/// `Σ v` with `LANES` partial sums (one running sum would wait on each add's latency), added in a
/// fixed order.
#[inline(always)]
fn sum(v: &[f32]) -> f32 {
    const { assert!(LANES == 8, "the sum below adds 8 lanes") };
    let (chunks, tail) = v.as_chunks::<LANES>();
    let mut acc = [0.0f32; LANES];
    for c in chunks {
        for (a, c) in acc.iter_mut().zip(c) {
            *a += c;
        }
    }
    let total = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
    tail.iter().fold(total, |s, &t| s + t)
}

/// `dst = src` for short rows, in vectors of 8 (a `copy_from_slice` of 8 values is a call to
/// `memcpy`).
#[inline(always)]
fn copy(dst: &mut [f32], src: &[f32]) {
    let src = &src[..dst.len()];
    let (d8, dt) = dst.as_chunks_mut::<8>();
    let (s8, st) = src.as_chunks::<8>();
    for (d, s) in d8.iter_mut().zip(s8) {
        *d = *s;
    }
    for (d, s) in dt.iter_mut().zip(st) {
        *d = *s;
    }
}

/// `dst += src`, as [`copy`].
#[inline(always)]
fn add(dst: &mut [f32], src: &[f32]) {
    let src = &src[..dst.len()];
    let (d8, dt) = dst.as_chunks_mut::<8>();
    let (s8, st) = src.as_chunks::<8>();
    for (d, s) in d8.iter_mut().zip(s8) {
        let mut v = *d;
        for (v, s) in v.iter_mut().zip(s) {
            *v += s;
        }
        *d = v;
    }
    for (d, s) in dt.iter_mut().zip(st) {
        *d += s;
    }
}

/// Plain im2col rows (see [`plain_rows`]) of a common width `N`: one bounds check and one copy
/// of a constant size per row. The generic loop spent more on bookkeeping than on copying, a third
/// of the second LeNet convolution's forward pass.
#[inline(always)]
fn copy_rows<const N: usize>(col: &mut [f32], x: &[f32], from: usize, stride: usize) {
    for (r, dst) in col.as_chunks_mut::<N>().0.iter_mut().enumerate() {
        *dst = *x[from + r * stride..].first_chunk().expect("a whole row");
    }
}

/// The transpose of [`copy_rows`].
#[inline(always)]
fn add_rows<const N: usize>(col: &[f32], dx: &mut [f32], to: usize, stride: usize) {
    for (r, src) in col.as_chunks::<N>().0.iter().enumerate() {
        let dst: &mut [f32; N] = dx[to + r * stride..]
            .first_chunk_mut()
            .expect("a whole row");
        let mut sum = *dst;
        for (d, s) in sum.iter_mut().zip(src) {
            *d += s;
        }
        *dst = sum;
    }
}

/// `col[k][j]` = the input under tap `q0 + k` at position `p0 + j` (0 in the padding).
#[inline(always)]
fn im2col(g: &Geometry, x: &[f32], p0: usize, n: usize, q0: usize, kq: usize, col: &mut [f32]) {
    let ow = g.ow;
    let stride = g.sh * g.w;
    let plain = plain_rows(
        g,
        p0,
        n,
        q0,
        kq,
        #[inline(always)]
        |k, from| {
            let col = &mut col[k * n..][..n];
            match ow {
                8 => copy_rows::<8>(col, x, from, stride),
                16 => copy_rows::<16>(col, x, from, stride),
                24 => copy_rows::<24>(col, x, from, stride),
                32 => copy_rows::<32>(col, x, from, stride),
                _ => {
                    for (dst, src) in col.chunks_exact_mut(ow).zip(x[from..].chunks(stride)) {
                        copy(dst, src);
                    }
                }
            }
        },
    );
    if plain {
        return;
    }
    pieces(
        g,
        p0,
        n,
        q0,
        kq,
        #[inline(always)]
        |k, piece| {
            let dst = &mut col[k * n + piece.j..][..piece.len];
            let Some((start, lo, hi)) = piece.inside else {
                dst.fill(0.0);
                return;
            };
            dst[..lo].fill(0.0);
            dst[hi..].fill(0.0);
            if g.sw == 1 {
                dst[lo..hi].copy_from_slice(&x[start..start + (hi - lo)]);
            } else {
                for (d, &v) in dst[lo..hi].iter_mut().zip(x[start..].iter().step_by(g.sw)) {
                    *d = v;
                }
            }
        },
    );
}

/// The transpose of [`im2col`]: adds `col[k][j]` onto the input position it came from.
#[inline(always)]
fn col2im(g: &Geometry, col: &[f32], p0: usize, n: usize, q0: usize, kq: usize, dx: &mut [f32]) {
    let ow = g.ow;
    let stride = g.sh * g.w;
    let plain = plain_rows(
        g,
        p0,
        n,
        q0,
        kq,
        #[inline(always)]
        |k, to| {
            let col = &col[k * n..][..n];
            match ow {
                8 => add_rows::<8>(col, dx, to, stride),
                16 => add_rows::<16>(col, dx, to, stride),
                24 => add_rows::<24>(col, dx, to, stride),
                32 => add_rows::<32>(col, dx, to, stride),
                _ => {
                    for (src, dst) in col.chunks_exact(ow).zip(dx[to..].chunks_mut(stride)) {
                        add(&mut dst[..ow], src);
                    }
                }
            }
        },
    );
    if plain {
        return;
    }
    pieces(
        g,
        p0,
        n,
        q0,
        kq,
        #[inline(always)]
        |k, piece| {
            let Some((start, lo, hi)) = piece.inside else {
                return;
            };
            let src = &col[k * n + piece.j + lo..][..hi - lo];
            if g.sw == 1 {
                for (d, &v) in dx[start..start + src.len()].iter_mut().zip(src) {
                    *d += v;
                }
            } else {
                for (d, &v) in dx[start..].iter_mut().step_by(g.sw).zip(src) {
                    *d += v;
                }
            }
        },
    );
}

/// The source rows of a product: `row(k, j, len)` is row `k` from column `j`, `len` values.
trait Rows {
    fn row(&self, k: usize, j: usize, len: usize) -> &[f32];
    /// The rows from column `j`, for `Math::axpy_tile`.
    fn tile(&self, j: usize) -> SrcTile<'_>;
}

/// Rows one after the other, `stride` apart.
struct Strided<'a> {
    data: &'a [f32],
    stride: usize,
}

impl Rows for Strided<'_> {
    #[inline(always)]
    fn row(&self, k: usize, j: usize, len: usize) -> &[f32] {
        &self.data[k * self.stride + j..][..len]
    }
    #[inline(always)]
    fn tile(&self, j: usize) -> SrcTile<'_> {
        SrcTile {
            data: self.data,
            base: j,
            offsets: None,
            ks: self.stride,
            vs: None,
        }
    }
}

/// How a [`combine`] tile starts its sums.
#[derive(Clone, Copy)]
enum Init<'a> {
    Zero,
    /// From `bias[row]`.
    Bias(&'a [f32]),
    /// From the values already in the output.
    Add,
}

/// The coefficients of a [`combine`]: for a tile of `RT` output rows from `r0`, the `RT`
/// coefficients of source row `k`.
trait Coefficients {
    fn tile(&self, r0: usize) -> CoefTile<'_>;
}

/// Forward: output row `f`, source row `k` → `W[f][q0 + k]` (rows of `W`).
struct FilterRows<'a> {
    w: &'a [f32],
    q: usize,
    q0: usize,
}

impl Coefficients for FilterRows<'_> {
    #[inline(always)]
    fn tile(&self, r0: usize) -> CoefTile<'_> {
        CoefTile {
            data: &self.w[r0 * self.q + self.q0..],
            ks: 1,
            rs: self.q,
        }
    }
}

/// Input gradient: output row `k` (a tap), source row `f` → `W[f][q0 + k]` (columns of `W`).
struct FilterColumns<'a> {
    w: &'a [f32],
    q: usize,
    q0: usize,
}

impl Coefficients for FilterColumns<'_> {
    #[inline(always)]
    fn tile(&self, r0: usize) -> CoefTile<'_> {
        CoefTile {
            data: &self.w[self.q0 + r0..],
            ks: self.q,
            rs: 1,
        }
    }
}

/// `out[r·os + j] = init + Σ_k coef(k, r) · src[k][j]` for rows `r < rows`, columns `j < n`,
/// `k < kn`: each output's sum in order of `k`, whatever the tile.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn combine<M: Math>(
    src: &impl Rows,
    kn: usize,
    coef: &impl Coefficients,
    out: &mut [f32],
    os: usize,
    rows: usize,
    n: usize,
    init: Init,
) {
    let mut r = 0;
    // Tiles of 6 (AVX2 only: 12 accumulators in 16 registers), 4, 2, then 1 rows, as the row
    // count allows.
    if M::WIDE {
        combine_rows::<M, 6, 2>(src, kn, coef, out, os, rows, n, init, &mut r);
    }
    combine_rows::<M, 4, 2>(src, kn, coef, out, os, rows, n, init, &mut r);
    combine_rows::<M, 2, 3>(src, kn, coef, out, os, rows, n, init, &mut r);
    combine_rows::<M, 1, 4>(src, kn, coef, out, os, rows, n, init, &mut r);
}

/// Tiles of `RT` rows from `*r` on while they fit, each over the columns in strips of `NV`
/// vectors, then single vectors, then single values; advances `*r`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn combine_rows<M: Math, const RT: usize, const NV: usize>(
    src: &impl Rows,
    kn: usize,
    coef: &impl Coefficients,
    out: &mut [f32],
    os: usize,
    rows: usize,
    n: usize,
    init: Init,
    r: &mut usize,
) {
    while *r + RT <= rows {
        let c = coef.tile(*r);
        let mut j = 0;
        while j + NV * LANES <= n {
            combine_tile::<M, RT, NV, LANES>(src, kn, &c, out, os, *r, j, init);
            j += NV * LANES;
        }
        while j + LANES <= n {
            combine_tile::<M, RT, 1, LANES>(src, kn, &c, out, os, *r, j, init);
            j += LANES;
        }
        while j < n {
            combine_tile::<M, RT, 1, 1>(src, kn, &c, out, os, *r, j, init);
            j += 1;
        }
        *r += RT;
    }
}

/// Rows `r0..r0 + RT`, columns `j0..j0 + NV·V` of [`combine`]: `RT·NV` vectors of accumulators.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn combine_tile<M: Math, const RT: usize, const NV: usize, const V: usize>(
    src: &impl Rows,
    kn: usize,
    coef: &CoefTile,
    out: &mut [f32],
    os: usize,
    r0: usize,
    j0: usize,
    init: Init,
) {
    let mut acc = [[[0.0f32; V]; NV]; RT];
    for (r, acc) in acc.iter_mut().enumerate() {
        let row = &out[(r0 + r) * os + j0..][..NV * V];
        for (v, acc) in acc.iter_mut().enumerate() {
            *acc = match init {
                Init::Zero => [0.0; V],
                Init::Bias(b) => [b[r0 + r]; V],
                Init::Add => row[v * V..][..V].try_into().expect("V values"),
            };
        }
    }
    M::axpy_tile::<RT, NV, V>(&mut acc, kn, src.tile(j0), *coef);
    for (r, acc) in acc.iter().enumerate() {
        let row = &mut out[(r0 + r) * os + j0..][..NV * V];
        for (v, acc) in acc.iter().enumerate() {
            row[v * V..][..V].copy_from_slice(acc);
        }
    }
}

/// `dw[f·q + k] += Σ_j dz[f·ds + j] · col[k][j]` for filters `f < nf`, taps `k < kq`,
/// positions `j < n`: dot products of rows, in tiles of 3 filters × 4 taps (12 accumulators, as
/// the Dense forward tile).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn weight_grad<M: Math>(
    dz: &[f32],
    ds: usize,
    nf: usize,
    col: &impl Rows,
    kq: usize,
    n: usize,
    dw: &mut [f32],
    q: usize,
) {
    let mut f = 0;
    while f + 3 <= nf {
        weight_grad_rows::<M, 3>(dz, ds, f, col, kq, n, dw, q);
        f += 3;
    }
    while f < nf {
        weight_grad_rows::<M, 1>(dz, ds, f, col, kq, n, dw, q);
        f += 1;
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn weight_grad_rows<M: Math, const RA: usize>(
    dz: &[f32],
    ds: usize,
    f0: usize,
    col: &impl Rows,
    kq: usize,
    n: usize,
    dw: &mut [f32],
    q: usize,
) {
    let a: [&[f32]; RA] = core::array::from_fn(|r| &dz[(f0 + r) * ds..][..n]);
    let mut k = 0;
    while k + 4 <= kq {
        let d = dots::<M, RA, 4>(a, core::array::from_fn(|t| col.row(k + t, 0, n)));
        add_tile(d, dw, q, f0, k);
        k += 4;
    }
    while k < kq {
        let d = dots::<M, RA, 1>(a, [col.row(k, 0, n)]);
        add_tile(d, dw, q, f0, k);
        k += 1;
    }
}

#[inline(always)]
fn add_tile<const RA: usize, const RB: usize>(
    d: [[f32; RB]; RA],
    dw: &mut [f32],
    q: usize,
    f0: usize,
    k0: usize,
) {
    for (r, d) in d.iter().enumerate() {
        for (t, d) in d.iter().enumerate() {
            dw[(f0 + r) * q + k0 + t] += d;
        }
    }
}

/// `RA × RB` dot products of rows of equal length, by `Math::dot_tile_n`: one pass over the
/// whole rows, so one horizontal sum per dot product. (Pieces of constant length, 256, 64, 8 and
/// 1, took as many horizontal sums as there were pieces: on the first LeNet convolution, rows of
/// 668, the sums cost about as much as the products.)
#[inline(always)]
fn dots<M: Math, const RA: usize, const RB: usize>(
    a: [&[f32]; RA],
    b: [&[f32]; RB],
) -> [[f32; RB]; RA] {
    M::dot_tile_n::<RA, RB>(a, b, a[0].len())
}
