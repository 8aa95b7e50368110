use constnet::prelude::*;

network! {
    pub struct Net { hidden: Dense<784, 64, Relu, init = Normal>, out: Dense<64, 10, Softmax> }
}

fn main() {}
