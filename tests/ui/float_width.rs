use constnet::prelude::*;

network! {
    pub struct Net { Dense<2.5, 4, Tanh> }
}

fn main() {}
