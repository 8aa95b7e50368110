use constnet::prelude::*;

network! {
    pub struct Net { Dense<2, 4, Sigmod>, Dense<4, 1, ReLU> }
}

fn main() {}
