use constnet::prelude::*;

const H: usize = 8;

network! {
    pub struct Net { Dense<4, { 2 * H }, Relu>, Dense<{ H + 1 }, 2> }
}

fn main() {}
