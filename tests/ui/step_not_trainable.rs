use constnet::prelude::*;

network! {
    /// A perceptron: runs, but has no gradient to train with.
    pub struct Perceptron { Dense<2, 1, Step> }
}

fn main() {
    let mut net = Perceptron::new(0);
    let _ = net.predict(&[1.0, 0.0]); // inference is fine
    let mut grads = Perceptron::zeroed();
    let _ = net.train_step(Mse, &[[1.0, 0.0]], &[[1.0]], &mut grads, &mut Sgd::new(0.1), &mut ());
}
