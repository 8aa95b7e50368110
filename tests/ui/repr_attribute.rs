use constnet::prelude::*;

network! {
    #[repr(packed)]
    pub struct Net { Dense<2, 1, Sigmoid> }
}

fn main() {}
