use constnet::prelude::*;

network! {
    pub struct Binary { Dense<4, 1, Sigmoid> }
}

fn main() {
    let net = Binary::new(0);
    let _ = net.gradient(SparseCategoricalCrossEntropy, &[[0.0; 4]], &[1], &mut Binary::zeroed());
}
