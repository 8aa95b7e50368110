//! The inner loops of the Dense layer. Every bound is a const generic, so each loop has a constant
//! trip count; LLVM unrolls and vectorises them without bounds checks.

/// Lanes of independent partial sums in a dot product. Rust does not reassociate f32 additions, so
/// a single accumulator would serialise on the add latency and never vectorise.
const LANES: usize = 8;

/// `Σ a[i]·b[i]` with `LANES` partial sums, combined in a fixed order (deterministic).
#[inline(always)]
pub(crate) fn dot<const N: usize>(a: &[f32; N], b: &[f32; N]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let (a_body, a_tail) = a.as_chunks::<LANES>();
    let (b_body, b_tail) = b.as_chunks::<LANES>();
    for (ca, cb) in a_body.iter().zip(b_body) {
        for k in 0..LANES {
            acc[k] += ca[k] * cb[k];
        }
    }
    let mut tail = 0.0;
    for (x, y) in a_tail.iter().zip(b_tail) {
        tail += x * y;
    }
    let pairs = [
        acc[0] + acc[4],
        acc[1] + acc[5],
        acc[2] + acc[6],
        acc[3] + acc[7],
    ];
    (pairs[0] + pairs[2]) + (pairs[1] + pairs[3]) + tail
}

/// `y += alpha · x`.
#[inline(always)]
pub(crate) fn axpy<const N: usize>(alpha: f32, x: &[f32; N], y: &mut [f32; N]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// `y[b] = W · x[b] + bias` for every sample `b` (before the activation).
#[inline]
pub(crate) fn affine<const I: usize, const O: usize, const B: usize>(
    weight: &[[f32; I]; O],
    bias: &[f32; O],
    x: &[[f32; I]; B],
    y: &mut [[f32; O]; B],
) {
    for (x, y) in x.iter().zip(y.iter_mut()) {
        for ((y, w), b) in y.iter_mut().zip(weight).zip(bias) {
            *y = b + dot(w, x);
        }
    }
}

/// Gradients of `y = W·x + b` for a batch, given `dz = dL/dy`:
/// `dW = dzᵀ · X`, `db = Σ_b dz[b]` (both overwritten) and, if asked, `dx = dz · W`.
#[inline]
pub(crate) fn affine_backward<const I: usize, const O: usize, const B: usize>(
    weight: &[[f32; I]; O],
    x: &[[f32; I]; B],
    dz: &[[f32; O]; B],
    d_weight: &mut [[f32; I]; O],
    d_bias: &mut [f32; O],
    dx: Option<&mut [[f32; I]; B]>,
) {
    for (o, (dw, db)) in d_weight.iter_mut().zip(d_bias.iter_mut()).enumerate() {
        *dw = [0.0; I];
        *db = 0.0;
        for (x, dz) in x.iter().zip(dz) {
            axpy(dz[o], x, dw);
            *db += dz[o];
        }
    }
    if let Some(dx) = dx {
        for (dx, dz) in dx.iter_mut().zip(dz) {
            *dx = [0.0; I];
            for (w, &d) in weight.iter().zip(dz) {
                axpy(d, w, dx);
            }
        }
    }
}
