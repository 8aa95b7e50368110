use constnet::prelude::*;

network! {
    #[input(1, 8, 8)]
    pub struct Net {
        c1: Conv2d<4, 5, Relu>,
        p1: MaxPool2d<2>,
        c2: Conv2d<8, 3, Relu>,
        f: Flatten,
        out: Dense<8, 2>,
    }
}

fn main() {}
