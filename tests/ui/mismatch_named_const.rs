use constnet::prelude::*;

const HIDDEN: usize = 64;
const NARROW: usize = 32;

network! {
    pub struct Mnist {
        hidden: Dense<784, HIDDEN, Relu>,
        out: Dense<NARROW, 10, Softmax>,
    }
}

fn main() {}
