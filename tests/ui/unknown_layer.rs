use constnet::prelude::*;

network! {
    pub struct Net { Dense<784, 64, Relu>, Conv2d<64, 10> }
}

fn main() {}
