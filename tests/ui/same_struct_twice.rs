use constnet::prelude::*;

network! {
    pub struct Net { Dense<4, 8, Relu>, Dense<8, 2> }
    pub struct Net { Dense<4, 2> }
}

fn main() {}
