use constnet::prelude::*;

network! {
    #[input(1, 28, 28)]
    pub struct Net {
        c1: Conv2d<6, 5, Relu>,
        p1: MaxPool2d<2>,
        out: Dense<864, 10>,
    }
}

fn main() {}
