//! This core's own limits, to judge the other benchmarks against: peak 256-bit FMA throughput (and
//! 512-bit where the CPU has AVX-512), and
//! read bandwidth from L2 (a 200 KB buffer, the size of the 784-64-10 weights).
//!
//! `cargo bench --bench limits` (x86-64 with AVX2 + FMA).
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

    /// `n` rounds of 12 independent vector FMAs (enough in flight to cover the latency).
    #[target_feature(enable = "avx2,fma")]
    pub fn fma_peak(n: u64) -> f32 {
        let (a, b) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
        let mut acc = [_mm256_set1_ps(1.0); 12];
        for _ in 0..n {
            for v in acc.iter_mut() {
                *v = _mm256_fmadd_ps(*v, a, b);
            }
        }
        let mut s = _mm256_setzero_ps();
        for v in acc {
            s = _mm256_add_ps(s, v);
        }
        _mm256_cvtss_f32(s)
    }

    /// `n` rounds of 12 independent 512-bit FMAs.
    #[target_feature(enable = "avx512f")]
    pub fn fma_peak_512(n: u64) -> f32 {
        let (a, b) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
        let mut acc = [_mm512_set1_ps(1.0); 12];
        for _ in 0..n {
            for v in acc.iter_mut() {
                *v = _mm512_fmadd_ps(*v, a, b);
            }
        }
        let mut s = _mm512_setzero_ps();
        for v in acc {
            s = _mm512_add_ps(s, v);
        }
        _mm512_reduce_add_ps(s)
    }

    /// Sums `data` with 8 vector accumulators: a pure streaming read.
    #[target_feature(enable = "avx2,fma")]
    pub fn read_sum(data: &[f32]) -> f32 {
        let mut acc = [_mm256_setzero_ps(); 8];
        for chunk in data.chunks_exact(64) {
            for (i, v) in acc.iter_mut().enumerate() {
                // SAFETY: 8 floats at 8·i inside a 64-float chunk.
                *v = _mm256_add_ps(*v, unsafe { _mm256_loadu_ps(chunk.as_ptr().add(8 * i)) });
            }
        }
        let mut s = _mm256_setzero_ps();
        for v in acc {
            s = _mm256_add_ps(s, v);
        }
        _mm256_cvtss_f32(s)
    }
}

#[cfg(target_arch = "x86_64")]
fn limits(c: &mut Criterion) {
    if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
        return;
    }
    const ROUNDS: u64 = 100_000;
    let mut g = c.benchmark_group("limits");
    // Elements = 8-wide FMAs, so criterion's elem/s is vector FMAs per second.
    g.throughput(Throughput::Elements(ROUNDS * 12));
    // SAFETY (both): the CPU has AVX2 and FMA (checked above).
    g.bench_function("vector FMAs", |b| {
        b.iter(|| unsafe { x86::fma_peak(std::hint::black_box(ROUNDS)) })
    });
    if is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F (checked just above).
        g.bench_function("512-bit FMAs", |b| {
            b.iter(|| unsafe { x86::fma_peak_512(std::hint::black_box(ROUNDS)) })
        });
    }
    let weights = vec![1.0f32; 50_890 / 64 * 64]; // ≈ 203 KB, in L2 after the first pass
    g.throughput(Throughput::Bytes((weights.len() * 4) as u64));
    g.bench_function("L2 read 203 KB", |b| {
        b.iter(|| unsafe { x86::read_sum(std::hint::black_box(&weights)) })
    });
    g.finish();
}

#[cfg(not(target_arch = "x86_64"))]
fn limits(_: &mut Criterion) {}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = limits
}
criterion_main!(benches);
