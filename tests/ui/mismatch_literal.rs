use constnet::prelude::*;

network! {
    pub struct Mnist {
        hidden: Dense<784, 64, Relu>,
        out: Dense<32, 10, Softmax>,
    }
}

fn main() {}
