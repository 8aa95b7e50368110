//! Inference off the async threads: a few worker threads take jobs from one bounded queue and,
//! with dynamic batching, run the jobs that are waiting together as one batched forward pass.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use nn_core::Network;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use crate::metrics::Metrics;
use crate::{Batching, Error};

/// Samples per `forward_batch` call: what the kernels' register blocking needs to pay off,
/// and still a small stack frame for most networks (it is on the worker's own stack).
const CHUNK: usize = 16;

struct Job {
    x: Vec<f32>,
    samples: usize,
    reply: oneshot::Sender<Result<Vec<f32>, Error>>,
    // Held until the job is answered (or dropped), so the queue bound covers running jobs too.
    _permit: OwnedSemaphorePermit,
}

struct Queue {
    jobs: Mutex<VecDeque<Job>>,
    ready: Condvar,
    closed: AtomicBool,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, VecDeque<Job>> {
        // A poisoned lock only means a worker panicked while holding it; the deque itself is
        // still consistent (push/pop do not unwind halfway).
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The inference side of a server: shared by every connection, owned through an `Arc`.
pub(crate) struct Engine {
    queue: Arc<Queue>,
    permits: Arc<Semaphore>,
    capacity: usize,
}

impl Engine {
    /// Starts `workers` threads running `net`.
    pub(crate) fn start<N, const IN: usize, const OUT: usize>(
        net: Arc<N>,
        workers: usize,
        batching: Batching,
        capacity: usize,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Engine>
    where
        N: Network<IN, OUT> + Send + Sync + 'static,
    {
        let queue = Arc::new(Queue {
            jobs: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
            closed: AtomicBool::new(false),
        });
        // The generated forward pass keeps its activations on the stack: room for a chunk of
        // them, a convolution's patch buffer, and margin.
        let stack = (2 << 20) + 2 * CHUNK * N::INFERENCE_BYTES;
        for i in 0..workers.max(1) {
            let (net, queue, metrics) = (net.clone(), queue.clone(), metrics.clone());
            std::thread::Builder::new()
                .name(format!("constnet-infer-{i}"))
                .stack_size(stack)
                .spawn(move || worker::<N, IN, OUT>(&net, &queue, batching, &metrics))?;
        }
        Ok(Engine {
            queue,
            permits: Arc::new(Semaphore::new(capacity)),
            capacity,
        })
    }

    /// Runs `samples` samples (`x` holds them back to back) and returns their outputs back to
    /// back, or [`Error::Overloaded`] at once when the queue is full.
    pub(crate) async fn infer(&self, x: Vec<f32>, samples: usize) -> Result<Vec<f32>, Error> {
        let permit = self
            .permits
            .clone()
            .try_acquire_owned()
            .map_err(|_| Error::Overloaded {
                queue: self.capacity,
            })?;
        let (reply, answer) = oneshot::channel();
        self.queue.lock().push_back(Job {
            x,
            samples,
            reply,
            _permit: permit,
        });
        self.queue.ready.notify_one();
        answer
            .await
            .map_err(|_| Error::Internal("the inference worker stopped".into()))?
    }

    /// Requests waiting for or in inference.
    pub(crate) fn queued(&self) -> usize {
        self.capacity - self.permits.available_permits()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Workers finish what is queued, then exit.
        self.queue.closed.store(true, Ordering::Release);
        self.queue.ready.notify_all();
    }
}

/// Takes the next job and, with dynamic batching, the jobs queued behind it up to the batch
/// limit (waiting up to the window for more); `None` once the queue is closed and empty.
fn next_jobs(queue: &Queue, batching: Batching) -> Option<Vec<Job>> {
    let mut jobs = queue.lock();
    let first = loop {
        if let Some(job) = jobs.pop_front() {
            break job;
        }
        if queue.closed.load(Ordering::Acquire) {
            return None;
        }
        jobs = queue.ready.wait(jobs).unwrap_or_else(|e| e.into_inner());
    };
    let Batching::Dynamic { max_batch, window } = batching else {
        return Some(vec![first]);
    };
    let mut samples = first.samples;
    let mut taken = vec![first];
    let deadline = Instant::now() + window;
    loop {
        while let Some(job) = jobs.front() {
            if samples + job.samples > max_batch {
                return Some(taken);
            }
            samples += job.samples;
            taken.extend(jobs.pop_front());
        }
        let now = Instant::now();
        if now >= deadline || samples >= max_batch || queue.closed.load(Ordering::Acquire) {
            return Some(taken);
        }
        jobs = queue
            .ready
            .wait_timeout(jobs, deadline - now)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

fn worker<N: Network<IN, OUT>, const IN: usize, const OUT: usize>(
    net: &N,
    queue: &Queue,
    batching: Batching,
    metrics: &Metrics,
) {
    let mut x = Vec::new();
    while let Some(jobs) = next_jobs(queue, batching) {
        let samples: usize = jobs.iter().map(|j| j.samples).sum();
        metrics.batch(samples);
        if let [job] = &jobs[..] {
            let y = run(net, &job.x);
            answer::<OUT>(jobs, y);
            continue;
        }
        x.clear();
        for job in &jobs {
            x.extend_from_slice(&job.x);
        }
        let y = run(net, &x);
        answer::<OUT>(jobs, y);
    }
}

/// Splits the batch's outputs among its jobs, in order; a job whose outputs are not all finite
/// gets a 400 of its own (the others in its batch are answered as usual).
fn answer<const OUT: usize>(jobs: Vec<Job>, y: Result<Vec<f32>, Error>) {
    let y = match y {
        Ok(y) => y,
        Err(e) => {
            for Job { reply, _permit, .. } in jobs {
                drop(_permit);
                let _ = reply.send(Err(e.clone()));
            }
            return;
        }
    };
    let mut at = 0;
    let single = jobs.len() == 1;
    let mut y = Some(y);
    for job in jobs {
        let len = job.samples * OUT;
        let out = if single {
            y.take()
        } else {
            y.as_ref()
                .and_then(|y| y.get(at..at + len))
                .map(<[f32]>::to_vec)
        };
        at += len;
        let result = match out {
            // `run` returns `OUT` values for each sample it was given: this cannot happen.
            None => Err(Error::Internal("the batch's outputs are short".into())),
            Some(out) if out.len() != len => Err(Error::Internal("wrong output length".into())),
            Some(out) => match out.iter().position(|v| !v.is_finite()) {
                None => Ok(out),
                Some(i) => Err(Error::BadRequest(format!(
                    "the network's output for sample {} is not finite: its inputs are far outside \
                 the range it was trained on",
                    i / OUT
                ))),
            },
        };
        // The slot is free before the answer is: a client that got its answer finds its slot
        // released (queue depth 0 when nothing else runs).
        let Job { reply, _permit, .. } = job;
        drop(_permit);
        // The receiver is gone if the request timed out: nothing to do then.
        let _ = reply.send(result);
    }
}

/// The network's outputs for the samples in `x` (their count times `IN` values, as the parser
/// checked), in chunks of [`CHUNK`] through `forward_batch`, the rest one at a time.
fn run<N: Network<IN, OUT>, const IN: usize, const OUT: usize>(
    net: &N,
    x: &[f32],
) -> Result<Vec<f32>, Error> {
    let (rows, rest) = x.as_chunks::<IN>();
    if !rest.is_empty() {
        return Err(Error::Internal(format!(
            "{} values are not whole samples of {IN}",
            x.len()
        )));
    }
    let mut y = vec![0.0f32; rows.len() * OUT];
    let (outs, _) = y.as_chunks_mut::<OUT>();
    // A panic in a forward pass (a bug, not an input: inputs are checked) answers this batch
    // with a 500 and leaves the worker running.
    catch_unwind(AssertUnwindSafe(|| {
        let mut ins = rows.chunks_exact(CHUNK);
        let mut outs_iter = outs.chunks_exact_mut(CHUNK);
        for (xs, ys) in (&mut ins).zip(&mut outs_iter) {
            if let (Ok(xs), Ok(ys)) = (
                <&[[f32; IN]; CHUNK]>::try_from(xs),
                <&mut [[f32; OUT]; CHUNK]>::try_from(ys),
            ) {
                net.forward_batch(xs, ys);
            }
        }
        for (x, y) in ins.remainder().iter().zip(outs_iter.into_remainder()) {
            *y = net.forward(x);
        }
    }))
    .map_err(|_| Error::Internal("the forward pass panicked".into()))?;
    Ok(y)
}
