use constnet::prelude::*;

network! {
    pub struct Net { Dense<[f32; 2], 4, Tanh> }
}

fn main() {}
