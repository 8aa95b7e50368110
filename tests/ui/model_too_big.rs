use constnet::prelude::*;

network! {
    pub struct Big { Dense<784, 256, Relu>, Dense<256, 10, Softmax> }
}

// The chip has 256 KB of flash.
const _: () = assert!(Big::WEIGHT_BYTES <= 256 * 1024, "the model does not fit in 256 KB of flash");

fn main() {}
