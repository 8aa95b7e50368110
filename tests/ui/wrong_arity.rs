use constnet::prelude::*;

network! {
    pub struct Net { Dense<2>, Dense<2, 1, Sigmoid, Relu> }
}

fn main() {}
