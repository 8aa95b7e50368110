//! The baseline of the benchmarks: the plain fixed-array Rust a user would write by hand for a
//! two-layer ReLU/softmax network (issue #5's "plain Rust fixed arrays"): per-sample loops, the
//! straightforward loop order, no blocking, no dispatch.
// Index loops on purpose: this is the straightforward code being compared against.
#![allow(dead_code, clippy::needless_range_loop)]

pub struct Naive<const I: usize, const H: usize, const O: usize> {
    pub w1: [[f32; I]; H],
    pub b1: [f32; H],
    pub w2: [[f32; H]; O],
    pub b2: [f32; O],
}

impl<const I: usize, const H: usize, const O: usize> Naive<I, H, O> {
    pub fn boxed(seed: u64) -> Box<Self> {
        let mut s = seed;
        let mut next = move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.1
        };
        let mut n: Box<Self> = zeroed_box();
        n.w1.iter_mut().flatten().for_each(|w| *w = next());
        n.w2.iter_mut().flatten().for_each(|w| *w = next());
        n
    }

    pub fn forward(&self, x: &[f32; I], h: &mut [f32; H], y: &mut [f32; O]) {
        for j in 0..H {
            let mut s = self.b1[j];
            for i in 0..I {
                s += self.w1[j][i] * x[i];
            }
            h[j] = s.max(0.0);
        }
        let mut max = f32::NEG_INFINITY;
        for k in 0..O {
            let mut s = self.b2[k];
            for j in 0..H {
                s += self.w2[k][j] * h[j];
            }
            y[k] = s;
            max = max.max(s);
        }
        let mut sum = 0.0;
        for v in y.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        y.iter_mut().for_each(|v| *v /= sum);
    }

    /// Accumulates the gradient of one sample (softmax + cross-entropy) into `g`, scaled by `scale`.
    pub fn backward(&self, x: &[f32; I], label: usize, scale: f32, g: &mut Self) {
        let (mut h, mut y) = ([0.0; H], [0.0; O]);
        self.forward(x, &mut h, &mut y);
        let mut dy = y;
        dy[label] -= 1.0;
        let mut dh = [0.0; H];
        for k in 0..O {
            let d = dy[k] * scale;
            g.b2[k] += d;
            for j in 0..H {
                g.w2[k][j] += d * h[j];
                dh[j] += d * self.w2[k][j];
            }
        }
        for j in 0..H {
            let d = if h[j] > 0.0 { dh[j] } else { 0.0 };
            g.b1[j] += d;
            for i in 0..I {
                g.w1[j][i] += d * x[i];
            }
        }
    }

    pub fn params(&mut self) -> [&mut [f32]; 4] {
        [
            self.w1.as_flattened_mut(),
            &mut self.b1,
            self.w2.as_flattened_mut(),
            &mut self.b2,
        ]
    }

    pub fn zero(&mut self) {
        self.params().into_iter().for_each(|p| p.fill(0.0));
    }

    pub fn sgd(&mut self, g: &mut Self, lr: f32) {
        for (p, g) in self.params().into_iter().zip(g.params()) {
            for (p, g) in p.iter_mut().zip(g.iter()) {
                *p -= lr * g;
            }
        }
    }

    pub fn adam(&mut self, g: &mut Self, m: &mut Self, v: &mut Self, t: i32) {
        let (lr, b1, b2, eps) = (0.001f32, 0.9f32, 0.999f32, 1e-7f32);
        let lr_t = lr * (1.0 - b2.powi(t)).sqrt() / (1.0 - b1.powi(t));
        let groups = self
            .params()
            .into_iter()
            .zip(g.params())
            .zip(m.params())
            .zip(v.params());
        for (((p, g), m), v) in groups {
            for i in 0..p.len() {
                m[i] = b1 * m[i] + (1.0 - b1) * g[i];
                v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
                p[i] -= lr_t * m[i] / (v[i].sqrt() + eps);
            }
        }
    }

    pub fn train_sgd(&mut self, g: &mut Self, x: &[[f32; I]], labels: &[usize], lr: f32) {
        g.zero();
        let scale = 1.0 / x.len() as f32;
        for (x, &l) in x.iter().zip(labels) {
            self.backward(x, l, scale, g);
        }
        self.sgd(g, lr);
    }
}

pub fn zeroed_box<T>() -> Box<T> {
    // SAFETY: only used for structs of f32 arrays, for which all-zero bits are valid.
    unsafe { Box::<T>::new_zeroed().assume_init() }
}
