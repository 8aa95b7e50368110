//! Optimizer steps applied block by block: what lets a data-parallel step update the parameters
//! on every thread instead of on one after the gradient (`DataParallel::train_step`, std).

use super::Optimizer;
use crate::Parameters;

/// An optimizer whose update treats every parameter on its own, so that one step can be applied
/// to disjoint blocks of the flat parameter slice — in any order, on any thread — with exactly
/// the result of [`Optimizer::step`]. Every optimizer of this crate implements it, and its `step`
/// is [`begin_step`](BlockUpdate::begin_step) followed by one
/// [`update_block`](BlockUpdate::update_block) over everything.
///
/// ```
/// use nn_core::{Adam, BlockUpdate, Dense, Identity, Optimizer, Parameters};
/// type L = Dense<2, 2, Identity>;
/// let start = L::new([[1.0, 2.0], [3.0, 4.0]], [5.0, 6.0]);
/// let g = L::new([[0.5, -1.0], [0.25, 2.0]], [-3.0, 0.125]);
/// let (mut whole, mut halves) = (start, start);
/// let (mut a, mut b) = (Adam::new(0.1), Adam::new(0.1));
/// let (mut sa, mut sb) = (a.new_state(), b.new_state());
/// a.step(&mut whole, &g, &mut sa);
///
/// // The same step in two blocks, the second one first.
/// let step = BlockUpdate::<L>::begin_step(&mut b);
/// let (p0, p1) = halves.as_mut_slice().split_at_mut(3);
/// let (g0, g1) = g.as_slice().split_at(3);
/// let (s0, s1) = <Adam as BlockUpdate<L>>::state_slices(&mut sb).split_at(3);
/// <Adam as BlockUpdate<L>>::update_block(&step, p1, g1, s1);
/// <Adam as BlockUpdate<L>>::update_block(&step, p0, g0, s0);
/// assert_eq!(whole.as_slice(), halves.as_slice());
/// assert_eq!((sa, a.iterations), (sb, b.iterations));
/// ```
pub trait BlockUpdate<P: Parameters>: Optimizer<P> {
    /// What a step computes once for all blocks: the decayed learning rate, Adam's bias
    /// correction.
    type Step: Copy + Send + Sync;

    /// Starts a step: returns its scalars and advances the step counter as
    /// [`Optimizer::step`] does.
    fn begin_step(&mut self) -> Self::Step;

    /// The state's tensors as slices parallel to [`Parameters::as_slice`].
    fn state_slices(state: &mut Self::State) -> StateSlices<'_>;

    /// One step on one block: `params`, `grads` and every slice of `state` cover the same
    /// parameters (equal lengths; a panic otherwise).
    fn update_block(step: &Self::Step, params: &mut [f32], grads: &[f32], state: StateSlices<'_>);
}

/// [`Optimizer::step`] of every optimizer here: one step on the whole network as one block.
pub(crate) fn step_whole<P: Parameters, O: BlockUpdate<P>>(
    opt: &mut O,
    params: &mut P,
    grads: &P,
    state: &mut O::State,
) {
    let step = opt.begin_step();
    let state = O::state_slices(state);
    O::update_block(&step, params.as_mut_slice(), grads.as_slice(), state);
}

/// Up to two optimizer-state tensors (Adam's `m` and `v`; one for momentum, RMSprop and
/// Adagrad; none for plain SGD), each a slice parallel to the parameters or to a block of them.
///
/// ```
/// use nn_core::optim::StateSlices;
/// let (mut m, mut v) = ([1.0f32, 2.0, 3.0], [4.0f32, 5.0, 6.0]);
/// let (left, right) = StateSlices::two(&mut m, &mut v).split_at(1);
/// assert_eq!(left.len(), Some(1));
/// let [m1, v1] = right.into_parts();
/// assert_eq!((&*m1, &*v1), (&[2.0, 3.0][..], &[5.0, 6.0][..]));
/// assert_eq!(StateSlices::none().split_at(0).0.len(), None);
/// ```
#[derive(Debug)]
pub struct StateSlices<'a> {
    parts: [&'a mut [f32]; 2],
    used: usize,
}

impl<'a> StateSlices<'a> {
    /// No state (plain SGD).
    pub fn none() -> Self {
        StateSlices {
            parts: [&mut [], &mut []],
            used: 0,
        }
    }

    /// One tensor.
    pub fn one(a: &'a mut [f32]) -> Self {
        StateSlices {
            parts: [a, &mut []],
            used: 1,
        }
    }

    /// Two tensors of equal length; panics otherwise.
    pub fn two(a: &'a mut [f32], b: &'a mut [f32]) -> Self {
        assert_eq!(a.len(), b.len(), "state tensors of different lengths");
        StateSlices {
            parts: [a, b],
            used: 2,
        }
    }

    /// The length of the tensors, `None` without any.
    pub fn len(&self) -> Option<usize> {
        (self.used > 0).then(|| self.parts[0].len())
    }

    /// Whether the tensors (if any) are empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// Every tensor split at `mid`, as `slice::split_at_mut` (which panics if `mid > len`).
    pub fn split_at(self, mid: usize) -> (Self, Self) {
        let used = self.used;
        let [a, b] = self.parts;
        let ((a0, a1), (b0, b1)) = match used {
            0 => ((a, &mut [][..]), (b, &mut [][..])),
            1 => (a.split_at_mut(mid), (b, &mut [][..])),
            _ => (a.split_at_mut(mid), b.split_at_mut(mid)),
        };
        (
            StateSlices {
                parts: [a0, b0],
                used,
            },
            StateSlices {
                parts: [a1, b1],
                used,
            },
        )
    }

    /// The two slots; unused ones are empty.
    pub fn into_parts(self) -> [&'a mut [f32]; 2] {
        self.parts
    }
}

#[cfg(test)]
mod tests {
    use super::BlockUpdate;
    use crate::{AdaGrad, Adam, Dense, Identity, Optimizer, Parameters, RmsProp, Sgd, Zeroed};

    type L = Dense<7, 5, Identity>;

    fn states_of<O: Optimizer<L>>(o: &O, s: &O::State) -> std::vec::Vec<f32> {
        let mut v = std::vec::Vec::new();
        o.state_blocks(s, &mut |_, b| v.extend_from_slice(b));
        v
    }

    /// Three steps of `opt` in blocks of 1, 3, 16 and 40 parameters (in reverse order) against
    /// three whole steps: the same bits, the same state and step counter.
    fn blocks_are_one_step<O: BlockUpdate<L> + Clone + PartialEq + core::fmt::Debug>(opt: O) {
        let mut p = L::zeroed();
        let mut g = L::zeroed();
        for (i, (p, g)) in p
            .as_mut_slice()
            .iter_mut()
            .zip(g.as_mut_slice())
            .enumerate()
        {
            *p = (i as f32 * 0.37).sin();
            *g = (i as f32 * 1.3).cos() * 0.5;
        }
        let (mut whole, mut parts) = (p, p);
        let (mut a, mut b) = (opt.clone(), opt);
        let (mut sa, mut sb) = (a.new_state(), b.new_state());
        for _ in 0..3 {
            a.step(&mut whole, &g, &mut sa);
            let step = b.begin_step();
            let mut params = parts.as_mut_slice();
            let mut grads = g.as_slice();
            let mut state = O::state_slices(&mut sb);
            let mut cuts = std::vec::Vec::new();
            for n in [1, 3, 16] {
                let (p0, p1) = params.split_at_mut(n);
                let (g0, g1) = grads.split_at(n);
                let (s0, s1) = state.split_at(n);
                cuts.push((p0, g0, s0));
                (params, grads, state) = (p1, g1, s1);
            }
            cuts.push((params, grads, state));
            for (p, g, s) in cuts.into_iter().rev() {
                O::update_block(&step, p, g, s);
            }
        }
        assert_ne!(whole.as_slice(), p.as_slice());
        assert_eq!(whole.as_slice(), parts.as_slice(), "{a:?}");
        assert_eq!(states_of(&a, &sa), states_of(&b, &sb));
        assert_eq!(a, b);
    }

    #[test]
    fn every_optimizer_in_blocks_is_one_step() {
        blocks_are_one_step(Sgd::new(0.1).decay(0.5));
        blocks_are_one_step(Sgd::new(0.1).momentum(0.9));
        blocks_are_one_step(Sgd::new(0.1).momentum(0.9).nesterov(true).decay(0.1));
        blocks_are_one_step(Adam::new(0.01));
        blocks_are_one_step(RmsProp::new(0.01));
        blocks_are_one_step(AdaGrad::new(0.1));
    }

    #[test]
    #[should_panic(expected = "a gradient and two moments per parameter")]
    fn mismatched_block_lengths_panic() {
        let mut adam = Adam::new(0.1);
        let mut s = Optimizer::<L>::new_state(&adam);
        let step = BlockUpdate::<L>::begin_step(&mut adam);
        let mut p = [0.0f32; 4];
        let (s0, _) = <Adam as BlockUpdate<L>>::state_slices(&mut s).split_at(4);
        <Adam as BlockUpdate<L>>::update_block(&step, &mut p, &[0.0; 3], s0);
    }
}
