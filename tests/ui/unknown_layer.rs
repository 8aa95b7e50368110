use constnet::prelude::*;

network! {
    pub struct Net { Dense<784, 64, Relu>, Lstm<64, 10> }
}

fn main() {}
