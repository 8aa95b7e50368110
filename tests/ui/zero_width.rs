use constnet::prelude::*;

network! {
    pub struct Net { Dense<2, 0, Relu>, Dense<0, 1, Sigmoid> }
}

fn main() {}
