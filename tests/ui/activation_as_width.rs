use constnet::prelude::*;

network! {
    pub struct Net { Dense<784, Relu>, Dense<64, 10, Softmax> }
}

fn main() {}
