use constnet::prelude::*;

network! {
    pub struct Net {
        hidden: Dense<2, 4, Relu>,
        hidden: Dense<4, 1, Sigmoid>,
    }
}

fn main() {}
