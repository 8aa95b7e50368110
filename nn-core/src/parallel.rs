//! Data-parallel gradients over the samples of a batch (std only), with results that do not depend
//! on the number of threads.
use std::prelude::rust_2021::*;

use rayon::prelude::*;

use crate::optim::{BlockUpdate, StateSlices};
use crate::{Loss, Rng, Train, TrainBuffers, Zeroed};

/// Parameters summed, then updated, at a time (16 KB of each array; 1,024 measured 2 % slower).
const BLOCK: usize = 4096;

/// Computes a batch's gradient on several threads.
///
/// The batch is cut into chunks of `C` samples (a const, like the batch size). Each chunk's gradient
/// is computed into its own buffer (the first one's into the output), by whichever thread is free,
/// and the buffers are then summed in chunk order, each thread summing (and, in
/// [`train_step`](Self::train_step), updating) its own run of parameters. The chunking does not
/// depend on the threads, so the result is bit-for-bit the same with 1, 2 or 16 threads. (On a
/// pool of two threads each takes half of the chunks and the two meet at a spin barrier before
/// the sums: one fork per step instead of two.) (It
/// differs in the last bits from one unchunked `gradient` call over the whole batch, whose sums run
/// in another order.)
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
    /// One gradient per chunk after the first (which goes into the caller's `grads`); grown
    /// (once) to the largest batch seen.
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
    /// A target is not valid for the network's outputs ([`Loss::valid_target`]: a class label
    /// at or above the number of outputs).
    #[error("target {index} is out of range for the network's outputs")]
    InvalidTarget {
        /// Its position in the batch.
        index: usize,
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
        let k = self.check::<L, OUT>(x.len(), target)?;
        Ok(self.parallel_step::<L, NoUpdate, IN, OUT>(k, Work::Gradient(net), x, target, grads))
    }

    /// One training step: the gradient as [`gradient`](Self::gradient) computes it, then the
    /// optimizer's update — both on the pool's threads, each thread summing and updating its own
    /// blocks of parameters right after the chunks' gradients are in (instead of one thread
    /// updating the whole network afterwards). Returns the mean loss.
    ///
    /// The result is bit-for-bit that of [`gradient`](Self::gradient) followed by
    /// [`Optimizer::step`](crate::Optimizer::step), for any number of threads.
    ///
    /// ```
    /// use constnet::prelude::*;
    /// use constnet::parallel::DataParallel;
    /// network! { struct Net { Dense<4, 8, Tanh>, Dense<8, 3, Softmax> } }
    /// let (x, labels) = ([[0.5f32, -1.0, 0.25, 2.0]; 8], [0usize, 1, 2, 0, 1, 2, 0, 1]);
    /// let (mut one, mut two) = (Net::new(1), Net::new(1));
    /// let (mut adam1, mut adam2) = (Adam::new(0.01), Adam::new(0.01));
    /// let (mut s1, mut s2) = (adam1.new_state(), adam2.new_state());
    /// let mut grads = Net::zeroed();
    /// let mut dp = DataParallel::<Net, 2>::new(2)?;
    /// for _ in 0..3 {
    ///     dp.train_step(&mut one, SparseCategoricalCrossEntropy, &x, &labels, &mut grads, &mut adam1, &mut s1)?;
    ///     dp.gradient(&two, SparseCategoricalCrossEntropy, &x, &labels, &mut grads)?;
    ///     adam2.step(&mut two, &grads, &mut s2);
    /// }
    /// assert_eq!(one.as_slice(), two.as_slice());
    /// # Ok::<(), constnet::parallel::ParallelError>(())
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn train_step<L, O, const IN: usize, const OUT: usize>(
        &mut self,
        net: &mut N,
        loss: L,
        x: &[[f32; IN]],
        target: &[L::Target],
        grads: &mut N,
        opt: &mut O,
        state: &mut O::State,
    ) -> Result<f32, ParallelError>
    where
        N: Train<IN, OUT, C>,
        L: Loss<OUT>,
        L::Target: Sync,
        O: BlockUpdate<N>,
    {
        let _ = loss;
        // Checked before the optimizer's step counter moves.
        let k = self.check::<L, OUT>(x.len(), target)?;
        let step = opt.begin_step();
        let work = Work::Step(net, O::state_slices(state), step);
        Ok(self.parallel_step::<L, O, IN, OUT>(k, work, x, target, grads))
    }

    /// The number of chunks, or why the batch cannot be cut into them or trained on (a bad label
    /// is the caller's data: a typed error here, not a panic on a worker thread).
    fn check<L: Loss<OUT>, const OUT: usize>(
        &self,
        samples: usize,
        target: &[L::Target],
    ) -> Result<usize, ParallelError> {
        let targets = target.len();
        if samples != targets {
            return Err(ParallelError::CountMismatch { samples, targets });
        }
        if samples == 0 || !samples.is_multiple_of(C) {
            return Err(ParallelError::NotWholeChunks { samples, chunk: C });
        }
        if let Some(index) = target.iter().position(|t| !L::valid_target(t)) {
            return Err(ParallelError::InvalidTarget { index });
        }
        Ok(samples / C)
    }

    /// The `k` chunks' gradients ([`check`](Self::check)ed), then their sum per block of
    /// parameters and, for a training step, the optimizer's step on that block.
    fn parallel_step<L, O, const IN: usize, const OUT: usize>(
        &mut self,
        k: usize,
        work: Work<'_, N, O::Step>,
        x: &[[f32; IN]],
        target: &[L::Target],
        grads: &mut N,
    ) -> f32
    where
        N: Train<IN, OUT, C>,
        L: Loss<OUT>,
        L::Target: Sync,
        O: BlockUpdate<N>,
    {
        let (xs, _) = x.as_chunks::<C>();
        let (ts, _) = target.as_chunks::<C>();
        // The first chunk's gradient goes straight into `grads`, the others into buffers of their own.
        while self.chunks.len() < k - 1 {
            self.chunks.push(N::boxed_zeroed());
        }
        while self.buffers.len() < k {
            self.buffers.push(N::Buffers::boxed_zeroed());
        }
        self.losses.resize(self.losses.len().max(k), 0.0);
        let (chunks, losses) = (&mut self.chunks[..k - 1], &mut self.losses[..k]);
        let buffers = &mut self.buffers[..k];
        let threads = self.pool.current_num_threads();
        if threads == 2 && k >= 2 {
            let pool = std::sync::Arc::clone(&self.pool);
            pool.install(|| {
                two_threads::<N, L, O, IN, OUT, C>(work, xs, ts, grads, chunks, buffers, losses)
            });
            return self.losses[..k].iter().sum::<f32>() / k as f32;
        }
        let parallel = threads > 1;
        let run = || {
            let net: &N = match &work {
                Work::Gradient(net) => net,
                Work::Step(net, ..) => net,
            };
            let chunk = |i: usize, grad: &mut N, buf: &mut Box<N::Buffers>, l: &mut f32, x, t| {
                *l = chunk_gradient::<N, L, IN, OUT, C>(net, i, x, t, buf, grad);
            };
            if parallel {
                let rest = chunks.par_iter_mut().map(|g| &mut **g);
                rayon::iter::once(&mut *grads)
                    .chain(rest)
                    .zip(buffers.par_iter_mut())
                    .zip(losses.par_iter_mut())
                    .zip(xs.par_iter().zip(ts.par_iter()))
                    .enumerate()
                    .for_each(|(i, (((g, b), l), (x, t)))| chunk(i, g, b, l, x, t));
            } else {
                let rest = chunks.iter_mut().map(|g| &mut **g);
                let items = core::iter::once(&mut *grads)
                    .chain(rest)
                    .zip(buffers.iter_mut())
                    .zip(losses.iter_mut());
                for (i, (((g, b), l), (x, t))) in items.zip(xs.iter().zip(ts)).enumerate() {
                    chunk(i, g, b, l, x, t);
                }
            }
            let blocks = Blocks {
                chunks,
                start: 0,
                grads: grads.as_mut_slice(),
                update: match work {
                    Work::Gradient(_) => None,
                    Work::Step(net, state, step) => Some((net.as_mut_slice(), state, step)),
                },
                scale: 1.0 / k as f32,
            };
            blocks.run::<O>(threads);
        };
        if parallel {
            self.pool.install(run);
        } else {
            // On the calling thread: handing the work to the pool's one thread and waiting cost
            // two context switches per call (a quarter of a 784-64-10 step at batch 128).
            run();
        }
        self.losses[..k].iter().sum::<f32>() / k as f32
    }
}

/// Chunk `i`'s gradient into `grad`, and its mean loss: both paths of
/// [`DataParallel::parallel_step`] call this, so that they give the same bits. Dropout masks come
/// from the chunk's index: the same for any number of threads.
fn chunk_gradient<N, L, const IN: usize, const OUT: usize, const C: usize>(
    net: &N,
    i: usize,
    x: &[[f32; IN]; C],
    target: &[L::Target; C],
    buf: &mut N::Buffers,
    grad: &mut N,
) -> f32
where
    N: Train<IN, OUT, C>,
    L: Loss<OUT>,
{
    net.backprop_with::<L>(x, target, buf, grad, &mut Rng::new(i as u64))
}

/// A gradient of a network, or a training step of it: the network, the optimizer's state and the
/// step's scalars.
enum Work<'a, N, S> {
    Gradient(&'a N),
    Step(&'a mut N, StateSlices<'a>, S),
}

/// The optimizer of [`DataParallel::gradient`]: none. (Its methods are never called.)
enum NoUpdate {}

impl<P: crate::Parameters> crate::Optimizer<P> for NoUpdate {
    type State = ();
    fn learning_rate(&self) -> f32 {
        match *self {}
    }
    fn set_learning_rate(&mut self, _: f32) {
        match *self {}
    }
    fn step(&mut self, _: &mut P, _: &P, _: &mut ()) {
        match *self {}
    }
}

impl<P: crate::Parameters> BlockUpdate<P> for NoUpdate {
    type Step = ();
    fn begin_step(&mut self) {
        match *self {}
    }
    fn state_slices(_: &mut ()) -> StateSlices<'_> {
        StateSlices::none()
    }
    fn update_block(_: &(), _: &mut [f32], _: &[f32], _: StateSlices<'_>) {}
}

/// Parameters `start..start + grads.len()`: their gradient summed over the chunks and, if there
/// is an update, the optimizer's step on them.
struct Blocks<'a, N, S> {
    chunks: &'a [Box<N>],
    start: usize,
    grads: &'a mut [f32],
    update: Option<(&'a mut [f32], StateSlices<'a>, S)>,
    scale: f32,
}

impl<N: crate::Parameters + Sync, S: Copy + Send + Sync> Blocks<'_, N, S> {
    /// In `parts` contiguous runs of about equal length (cut at 64-byte lines), one per thread
    /// (`rayon::join` on halves), each run [`BLOCK`] by [`BLOCK`]: no allocation, and a sum's
    /// order does not depend on the cuts. (A task per block made two threads slower than one:
    /// each stolen block could put a thread to sleep and wake it.)
    fn run<O: BlockUpdate<N, Step = S>>(self, parts: usize) {
        let len = self.grads.len();
        if parts > 1 && len > 16 {
            let left = parts / 2;
            let mid = (len * left / parts).next_multiple_of(16).min(len);
            let (a, b) = self.split_at(mid);
            rayon::join(|| a.run::<O>(left), || b.run::<O>(parts - left));
            return;
        }
        let mut rest = self;
        while rest.grads.len() > BLOCK {
            let (a, b) = rest.split_at(BLOCK);
            a.block::<O>();
            rest = b;
        }
        rest.block::<O>();
    }

    fn block<O: BlockUpdate<N, Step = S>>(self) {
        if !self.chunks.is_empty() {
            crate::kernel::run(SumChunks {
                out: &mut *self.grads,
                chunks: self.chunks,
                start: self.start,
                scale: self.scale,
            });
        }
        if let Some((params, state, step)) = self.update {
            O::update_block(&step, params, self.grads, state);
        }
    }

    fn split_at(self, mid: usize) -> (Self, Self) {
        let (g0, g1) = self.grads.split_at_mut(mid);
        let (u0, u1) = match self.update {
            Some((params, state, step)) => {
                let (p0, p1) = params.split_at_mut(mid);
                let (s0, s1) = state.split_at(mid);
                (Some((p0, s0, step)), Some((p1, s1, step)))
            }
            None => (None, None),
        };
        let (chunks, scale) = (self.chunks, self.scale);
        (
            Blocks {
                chunks,
                start: self.start,
                grads: g0,
                update: u0,
                scale,
            },
            Blocks {
                chunks,
                start: self.start + mid,
                grads: g1,
                update: u1,
                scale,
            },
        )
    }
}

/// `out = (out + Σ_c chunks[c][start..]) · scale` — `out` holds the first chunk's gradient —,
/// the chunks added in order for every parameter, with the vector instructions of
/// [`crate::kernel::run`] (the plain loop compiled for SSE2).
struct SumChunks<'a, N> {
    out: &'a mut [f32],
    chunks: &'a [Box<N>],
    start: usize,
    scale: f32,
}

impl<N: crate::Parameters> crate::kernel::Kernel for SumChunks<'_, N> {
    #[inline(always)]
    fn run<M: crate::kernel::Math>(self) {
        // 64 parameters at a time, summed in registers: one pass over `out` instead of a copy,
        // an add per chunk and a scaling pass (two threads: 3.2–3.6 µs per half of 784-64-10's
        // parameters before).
        const W: usize = 64;
        let (chunks, scale) = (self.chunks, self.scale);
        let at = |j: usize, n: usize| self.start + j * W..self.start + j * W + n;
        let (body, tail) = self.out.as_chunks_mut::<W>();
        for (j, out) in body.iter_mut().enumerate() {
            let mut acc = *out;
            for c in chunks {
                let v: &[f32; W] = c.as_slice()[at(j, W)].try_into().unwrap();
                for (a, v) in acc.iter_mut().zip(v) {
                    *a += v;
                }
            }
            for (o, a) in out.iter_mut().zip(acc) {
                *o = a * scale;
            }
        }
        let range = at(body.len(), tail.len());
        for c in chunks {
            for (o, v) in tail.iter_mut().zip(&c.as_slice()[range.clone()]) {
                *o += v;
            }
        }
        tail.iter_mut().for_each(|o| *o *= scale);
    }
}

/// A pointer to the caller's data that both halves of [`two_threads`] hold (see the SAFETY notes
/// there). Private to this module.
struct Shared<T>(*mut T);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Shared<T> {}
// SAFETY: only `two_threads` makes these, and it shares the data between its two halves under the
// phase rule written there; `T`'s own `Send`/`Sync` are required by its bounds.
unsafe impl<T> Send for Shared<T> {}
unsafe impl<T> Sync for Shared<T> {}

impl<T> Shared<T> {
    // A method, so that closures capture the wrapper and not its raw field.
    fn get(&self) -> *mut T {
        self.0
    }
}

/// Neither half has taken the barrier yet / the first half gave up waiting / the second half
/// started while the first was still computing.
const OPEN: u8 = 0;
const GAVE_UP: u8 = 1;
const STARTED: u8 = 2;

/// [`DataParallel::parallel_step`] on a pool of two threads: one fork per step instead of two.
///
/// Each half computes its chunks' gradients (the first `⌈k/2⌉` chunks, the rest), then both meet
/// at a spin barrier and each sums and updates its half of the parameters — the same blocks, in
/// the same order, as [`Blocks::run`]. With a second fork-join for the update, the idle thread had
/// to notice the new task (~1.2 µs per hand-off): two threads ran at 1.95–1.99 M samples/s at
/// batch 128 (784-64-10, SGD), 1.99–2.02 M with the barrier (AMD EPYC Zen 5, interleaved runs).
///
/// The barrier cannot deadlock: the second half only waits at it if it started while the first
/// was still computing (so both run at once); if the first finishes before the second was stolen,
/// it says so ([`GAVE_UP`]) and returns, the second runs without waiting, and the sums and updates
/// run after the join.
#[allow(clippy::too_many_arguments)]
fn two_threads<N, L, O, const IN: usize, const OUT: usize, const C: usize>(
    work: Work<'_, N, O::Step>,
    xs: &[[[f32; IN]; C]],
    ts: &[[L::Target; C]],
    grads: &mut N,
    chunks: &mut [Box<N>],
    buffers: &mut [Box<N::Buffers>],
    losses: &mut [f32],
) where
    N: Train<IN, OUT, C> + Send + Sync,
    N::Buffers: Send,
    L: Loss<OUT>,
    L::Target: Sync,
    O: BlockUpdate<N>,
{
    use core::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::*};
    let k = xs.len();
    // The indexing below relies on these: chunk 0 is `grads`, chunk `i > 0` is `chunks[i - 1]`.
    assert!(k >= 2 && ts.len() == k && chunks.len() == k - 1);
    assert!(buffers.len() == k && losses.len() == k);
    let half = k.div_ceil(2);
    let len = N::LEN;
    // Cut at a 64-byte line (as `Blocks::run`): the halves never write to one line.
    let mid = (len / 2).next_multiple_of(16).min(len);
    let scale = 1.0 / k as f32;
    let (net, update) = match work {
        Work::Gradient(net) => (Shared(net as *const N as *mut N), None),
        Work::Step(net, state, step) => (Shared(net as *mut N), Some((state.split_at(mid), step))),
    };
    let (update_a, update_b) = match update {
        Some(((s0, s1), step)) => (Some((s0, step)), Some((s1, step))),
        None => (None, None),
    };
    let grads = Shared(grads as *mut N);
    let chunks = Shared(chunks.as_mut_ptr());
    let (buf_a, buf_b) = buffers.split_at_mut(half);
    let (loss_a, loss_b) = losses.split_at_mut(half);
    let state = AtomicU8::new(OPEN);
    let arrived = AtomicUsize::new(0);
    // Set by a half that panics, so that the other stops waiting at the barrier (and the join
    // passes the panic on) instead of spinning for ever.
    let panicked = AtomicBool::new(false);
    struct OnPanic<'a>(&'a AtomicBool);
    impl Drop for OnPanic<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                self.0.store(true, Release);
            }
        }
    }

    // SAFETY (both closures): the pointers come from `&mut`/`&` borrows held for this whole
    // function, and the data they reach is used in two phases.
    // 1. Gradients: both halves read the network; chunk `i`'s gradient is written only by the half
    //    that owns `i` (`grads` for 0, `chunks[i - 1]` otherwise; `i < k` by the asserts). Nothing
    //    writes the network.
    // 2. Sums and updates: a half starts them only after both halves finished phase 1 (the
    //    barrier's AcqRel count), or after the join. Then both read every chunk's gradient, and
    //    each writes only its own parameters `lo..hi` of `grads` and the network (`0..mid` or
    //    `mid..len`, `len` = `N::LEN` floats, which is all of `N`: `Parameters`' contract).
    let chunk = |i: usize, buf: &mut Box<N::Buffers>, loss: &mut f32| {
        let (net, grad) = unsafe {
            let grad = if i == 0 {
                grads.get()
            } else {
                &mut **chunks.get().add(i - 1)
            };
            (&*net.get(), &mut *grad)
        };
        *loss = chunk_gradient::<N, L, IN, OUT, C>(net, i, &xs[i], &ts[i], buf, grad);
    };
    let sums = |lo: usize, hi: usize, update: Option<(StateSlices<'_>, O::Step)>| {
        let (all, grads, params) = unsafe {
            (
                core::slice::from_raw_parts(chunks.get().cast_const(), k - 1),
                core::slice::from_raw_parts_mut(grads.get().cast::<f32>().add(lo), hi - lo),
                update.is_some().then(|| {
                    core::slice::from_raw_parts_mut(net.get().cast::<f32>().add(lo), hi - lo)
                }),
            )
        };
        let update = params
            .zip(update)
            .map(|(p, (state, step))| (p, state, step));
        let blocks = Blocks {
            chunks: all,
            start: lo,
            grads,
            update,
            scale,
        };
        blocks.run::<O>(1);
    };
    // Whether both halves arrived (false: the other one panicked).
    let barrier = || {
        arrived.fetch_add(1, AcqRel);
        while arrived.load(Acquire) < 2 {
            if panicked.load(Acquire) {
                return false;
            }
            core::hint::spin_loop();
        }
        true
    };
    // Each half hands back its update if the barrier was not taken.
    let (left_a, left_b) = rayon::join(
        || {
            let _flag = OnPanic(&panicked);
            for (i, (buf, loss)) in buf_a.iter_mut().zip(loss_a.iter_mut()).enumerate() {
                chunk(i, buf, loss);
            }
            if state
                .compare_exchange(OPEN, GAVE_UP, AcqRel, Acquire)
                .is_ok()
            {
                return Some(update_a);
            }
            if barrier() {
                sums(0, mid, update_a);
            }
            None
        },
        || {
            let _flag = OnPanic(&panicked);
            let started = state
                .compare_exchange(OPEN, STARTED, AcqRel, Acquire)
                .is_ok();
            for (i, (buf, loss)) in buf_b.iter_mut().zip(loss_b.iter_mut()).enumerate() {
                chunk(half + i, buf, loss);
            }
            if !started {
                return Some(update_b);
            }
            if barrier() {
                sums(mid, len, update_b);
            }
            None
        },
    );
    if let (Some(a), Some(b)) = (left_a, left_b) {
        sums(0, mid, a);
        sums(mid, len, b);
    }
}
