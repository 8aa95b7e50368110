use constnet::prelude::*;

network! {
    pub struct Nothing {}
}

fn main() {}
