use constnet::prelude::*;

network! {
    #[cfg_attr(all(), repr(C, align(64)))]
    pub struct Net { Dense<4, 8, Relu>, Dense<8, 2> }
}

fn main() {}
