//! One mistake gives one error: the struct is still emitted, so the code that uses it adds none.
use constnet::prelude::*;

network! {
    pub struct Mnist { hidden: Dense<784, 64, Relu>, out: Dense<32, 10, Softmax> }
}

fn main() {
    let net = Mnist::new(1);
    let y: [f32; 10] = net.forward(&[0.0; 784]);
    println!("{} {:?} {}", net.predict(&[0.0; 784]), y, Mnist::summary());
}
