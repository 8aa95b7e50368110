use constnet::prelude::*;

network! {
    #[input(1, 4, 4)]
    pub struct Net { norm: Normalization<16>, f: Flatten, out: Dense<16, 2> }
}

fn main() {}
