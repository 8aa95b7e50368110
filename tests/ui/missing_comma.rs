use constnet::prelude::*;

network! {
    pub struct Net { Dense<2, 4, Tanh> Dense<4, 1, Sigmoid> }
}

fn main() {}
