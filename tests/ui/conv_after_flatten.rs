use constnet::prelude::*;

network! {
    #[input(1, 12, 12)]
    pub struct Net {
        f: Flatten,
        c1: Conv2d<6, 5, Relu>,
        out: Dense<864, 10>,
    }
}

fn main() {}
