use constnet::prelude::*;

network! {
    pub struct Xor { Dense<2, 4, Tanh>, Dense<4, 1, Sigmoid> }
}

fn main() {
    let net = Xor::new(0);
    let mut grads = Xor::zeroed();
    let _ = net.gradient(Mse, &[[0.0, 1.0]], &[[0.0, 1.0]], &mut grads);
}
