use constnet::prelude::*;

const WIDTH: usize = 0;

network! {
    pub struct Net { Dense<2, WIDTH, Relu> }
}

fn main() {}
