use constnet::prelude::*;

network! {
    #[input(1, 28, 28)]
    pub struct LeNet {
        c1: Conv2d<6, 5, Relu>,
        p1: MaxPool2d<2>,
        c2: Conv2d<16, 5, Relu>,
        p2: MaxPool2d<2>,
        f: Flatten,
        out: Dense<400, 10, Softmax>,
    }
}

fn main() {}
