use constnet::prelude::*;

network! {
    #[input(3, 16, 16)]
    pub struct Net {
        c1: Conv2d<8, 3, Relu, in_channels = 1>,
        g: GlobalAvgPool,
        out: Dense<8, 2>,
    }
}

fn main() {}
