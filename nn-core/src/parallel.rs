//! Data-parallel gradients over the samples of a batch (std only), with results that do not depend
//! on the number of threads.
use std::prelude::rust_2021::*;

use rayon::prelude::*;

use crate::{Loss, Rng, Train, TrainBuffers, Zeroed};

/// Parameters per reduction task (16 KB): enough work to amortise a task, several tasks per thread.
const BLOCK: usize = 4096;

/// Computes a batch's gradient on several threads.
///
/// The batch is cut into chunks of `C` samples (a const, like the batch size). Each chunk's gradient
/// is computed into its own buffer, by whichever thread is free, and the buffers are then summed in
/// chunk order. The chunking does not depend on the threads, so the result is bit-for-bit the same
/// with 1, 2 or 16 threads. (It differs in the last bits from one unchunked `gradient` call over the
/// whole batch, whose sums run in another order.)
///
/// ```
/// use constnet::prelude::*;
/// use constnet::parallel::DataParallel;
/// network! { struct Net { Dense<4, 8, Tanh>, Dense<8, 3, Softmax> } }
/// let net = Net::new(1);
/// let x = [[0.5f32; 4]; 8];
/// let labels = [0usize, 1, 2, 0, 1, 2, 0, 1];
/// let (mut one, mut two) = (Net::zeroed(), Net::zeroed());
/// DataParallel::<Net, 2>::new(1)?.gradient(&net, SparseCategoricalCrossEntropy, &x, &labels, &mut one)?;
/// DataParallel::<Net, 2>::new(2)?.gradient(&net, SparseCategoricalCrossEntropy, &x, &labels, &mut two)?;
/// assert_eq!(one.as_slice(), two.as_slice());
/// # Ok::<(), constnet::parallel::ParallelError>(())
/// ```
pub struct DataParallel<N: TrainBuffers<C>, const C: usize> {
    pool: std::sync::Arc<rayon::ThreadPool>,
    /// One gradient per chunk; grown (once) to the largest batch seen.
    chunks: Vec<Box<N>>,
    /// One set of batch buffers per chunk, on the heap: a convolutional network's activations
    /// would not fit a worker thread's stack.
    buffers: Vec<Box<N::Buffers>>,
    losses: Vec<f32>,
}

/// Why a parallel gradient could not be computed.
///
/// ```
/// use constnet::prelude::*;
/// use constnet::parallel::{DataParallel, ParallelError};
/// network! { struct Net { Dense<2, 2, Softmax> } }
/// let mut dp = DataParallel::<Net, 4>::new(2)?;
/// let err = dp.gradient(&Net::new(0), SparseCategoricalCrossEntropy, &[[0.0; 2]; 6], &[0; 6], &mut Net::zeroed());
/// assert_eq!(err, Err(ParallelError::NotWholeChunks { samples: 6, chunk: 4 }));
/// # Ok::<(), ParallelError>(())
/// ```
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParallelError {
    /// Samples and targets differ in number.
    #[error("{samples} samples but {targets} targets")]
    CountMismatch {
        /// Number of samples.
        samples: usize,
        /// Number of targets.
        targets: usize,
    },
    /// The batch is empty or not a whole number of chunks.
    #[error("{samples} samples are not a positive whole number of chunks of {chunk}")]
    NotWholeChunks {
        /// Number of samples.
        samples: usize,
        /// Chunk size.
        chunk: usize,
    },
    /// The thread pool could not be started.
    #[error("cannot start {threads} threads: {message}")]
    Threads {
        /// Threads asked for.
        threads: usize,
        /// The operating system's reason.
        message: String,
    },
}

impl<N: TrainBuffers<C> + Send + Sync, const C: usize> DataParallel<N, C>
where
    N::Buffers: Send,
{
    /// A pool of `threads` worker threads (at least one).
    pub fn new(threads: usize) -> Result<Self, ParallelError> {
        let threads = threads.max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| ParallelError::Threads {
                threads,
                message: e.to_string(),
            })?;
        Ok(DataParallel {
            pool: std::sync::Arc::new(pool),
            chunks: Vec::new(),
            buffers: Vec::new(),
            losses: Vec::new(),
        })
    }

    /// Runs `f` — a training loop that calls [`gradient`](Self::gradient) — on one of the
    /// pool's threads, so that each call splits its work among threads that are already awake
    /// instead of handing it over from the caller and sleeping until it is done (two context
    /// switches per call; on 2 vCPUs a fifth of a 784-64-10 step at batch 128).
    ///
    /// ```
    /// use constnet::prelude::*;
    /// use constnet::parallel::DataParallel;
    /// network! { struct Net { Dense<4, 8, Tanh>, Dense<8, 3, Softmax> } }
    /// let mut net = Net::new(1);
    /// let (x, labels) = ([[0.5f32; 4]; 8], [0usize, 1, 2, 0, 1, 2, 0, 1]);
    /// let mut grads = Net::zeroed();
    /// let mut dp = DataParallel::<Net, 2>::new(2)?;
    /// let mut sgd = Sgd::new(0.1);
    /// let losses = dp.run(|dp| {
    ///     (0..3)
    ///         .map(|_| {
    ///             let loss = dp.gradient(&net, SparseCategoricalCrossEntropy, &x, &labels, &mut grads)?;
    ///             sgd.step(&mut net, &grads, &mut ());
    ///             Ok(loss)
    ///         })
    ///         .collect::<Result<Vec<f32>, _>>()
    /// })?;
    /// assert!(losses[2] < losses[0]);
    /// # Ok::<(), constnet::parallel::ParallelError>(())
    /// ```
    pub fn run<R: Send>(&mut self, f: impl FnOnce(&mut Self) -> R + Send) -> R {
        let pool = std::sync::Arc::clone(&self.pool);
        pool.install(|| f(self))
    }

    /// Overwrites `grads` with the gradient of the mean `loss` over all samples and returns that
    /// mean loss. `x.len()` must be a positive multiple of `C`.
    ///
    /// The first call with a given number of chunks allocates their buffers; later calls with at
    /// most as many chunks allocate nothing.
    pub fn gradient<L, const IN: usize, const OUT: usize>(
        &mut self,
        net: &N,
        loss: L,
        x: &[[f32; IN]],
        target: &[L::Target],
        grads: &mut N,
    ) -> Result<f32, ParallelError>
    where
        N: Train<IN, OUT, C>,
        L: Loss<OUT>,
        L::Target: Sync,
    {
        let _ = loss;
        if x.len() != target.len() {
            return Err(ParallelError::CountMismatch {
                samples: x.len(),
                targets: target.len(),
            });
        }
        let (xs, x_rest) = x.as_chunks::<C>();
        let (ts, _) = target.as_chunks::<C>();
        if xs.is_empty() || !x_rest.is_empty() {
            return Err(ParallelError::NotWholeChunks {
                samples: x.len(),
                chunk: C,
            });
        }
        let k = xs.len();
        while self.chunks.len() < k {
            self.chunks.push(N::boxed_zeroed());
            self.buffers.push(N::Buffers::boxed_zeroed());
        }
        self.losses.resize(self.losses.len().max(k), 0.0);
        let (chunks, losses) = (&mut self.chunks[..k], &mut self.losses[..k]);
        let buffers = &mut self.buffers[..k];
        // Dropout masks from the chunk's index: the same for any number of threads.
        let chunk = |i: usize, grad: &mut Box<N>, buf: &mut Box<N::Buffers>, l: &mut f32, x, t| {
            *l = net.backprop_with::<L>(x, t, buf, grad, &mut Rng::new(i as u64));
        };
        // Mean of the chunk means, summed in chunk order for every parameter; the parameters
        // are split across threads, which does not change any single sum.
        let scale = 1.0 / k as f32;
        let sum = |chunks: &[Box<N>], block: usize, out: &mut [f32]| {
            crate::kernel::run(SumChunks {
                out,
                chunks,
                start: block * BLOCK,
                scale,
            })
        };
        if self.pool.current_num_threads() == 1 {
            // On the calling thread: handing the work to the pool's one thread and waiting cost
            // two context switches per call (a quarter of a 784-64-10 step at batch 128).
            let items = chunks
                .iter_mut()
                .zip(buffers.iter_mut())
                .zip(losses.iter_mut());
            for (i, (((g, b), l), (x, t))) in items.zip(xs.iter().zip(ts)).enumerate() {
                chunk(i, g, b, l, x, t);
            }
            let chunks: &[Box<N>] = chunks;
            for (block, out) in grads.as_mut_slice().chunks_mut(BLOCK).enumerate() {
                sum(chunks, block, out);
            }
        } else {
            self.pool.install(|| {
                chunks
                    .par_iter_mut()
                    .zip(buffers.par_iter_mut())
                    .zip(losses.par_iter_mut())
                    .zip(xs.par_iter().zip(ts.par_iter()))
                    .enumerate()
                    .for_each(|(i, (((g, b), l), (x, t)))| chunk(i, g, b, l, x, t));
                let chunks: &[Box<N>] = chunks;
                grads
                    .as_mut_slice()
                    .par_chunks_mut(BLOCK)
                    .enumerate()
                    .for_each(|(block, out)| sum(chunks, block, out));
            });
        }
        Ok(self.losses[..k].iter().sum::<f32>() / k as f32)
    }
}

/// `out = (Σ_c chunks[c][start..]) · scale`, the chunks added in order for every parameter, with
/// the vector instructions of [`crate::kernel::run`] (the plain loop compiled for SSE2).
struct SumChunks<'a, N> {
    out: &'a mut [f32],
    chunks: &'a [Box<N>],
    start: usize,
    scale: f32,
}

impl<N: crate::Parameters> crate::kernel::Kernel for SumChunks<'_, N> {
    #[inline(always)]
    fn run<M: crate::kernel::Math>(self) {
        let range = self.start..self.start + self.out.len();
        self.out
            .copy_from_slice(&self.chunks[0].as_slice()[range.clone()]);
        // Whole-slice adds, chunk after chunk: vectorised, same order per parameter.
        for c in &self.chunks[1..] {
            for (o, v) in self.out.iter_mut().zip(&c.as_slice()[range.clone()]) {
                *o += v;
            }
        }
        self.out.iter_mut().for_each(|o| *o *= self.scale);
    }
}
