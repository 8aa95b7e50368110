use constnet::prelude::*;

network! {
    pub struct Net<const H: usize> { Dense<4, H, Relu>, Dense<H, 2> }
}

fn main() {}
