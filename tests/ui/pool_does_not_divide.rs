use constnet::prelude::*;

network! {
    #[input(1, 28, 28)]
    pub struct Net {
        c1: Conv2d<6, 4, Relu>,
        p1: MaxPool2d<2>,
        f: Flatten,
        out: Dense<900, 10>,
    }
}

fn main() {}
