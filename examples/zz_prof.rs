use constnet::layer::{Backprop, Layer, Tensor};
use constnet::*;
use std::time::Instant;
fn t<L: Backprop<32> + Copy>(name: &str, l: &L) {
    let x: Box<[L::Input; 32]> = Box::new([L::Input::ZERO; 32]);
    let mut x = x;
    for (i, v) in x
        .iter_mut()
        .flat_map(|s| s.flat_mut().iter_mut().collect::<Vec<_>>())
        .enumerate()
    {
        *v = ((i * 7919) % 1000) as f32 / 1000.0 - 0.3;
    }
    let mut y: Box<[L::Output; 32]> = Box::new([L::Output::ZERO; 32]);
    let mut s = L::Scratch::zeroed();
    let mut rng = Rng::new(1);
    let mut g = L::zeroed();
    let mut dx: Box<[L::Input; 32]> = Box::new([L::Input::ZERO; 32]);
    let dz = y.clone();
    let n = 300;
    let st = Instant::now();
    for _ in 0..n {
        l.forward_train(&x, &mut y, &mut s, &mut rng);
        std::hint::black_box(&y);
    }
    let f = st.elapsed().as_secs_f64() / n as f64;
    let st = Instant::now();
    for _ in 0..n {
        l.backward(&x, &y, &dz, &s, &mut g, Some(&mut dx));
        std::hint::black_box(&dx);
    }
    let b = st.elapsed().as_secs_f64() / n as f64;
    let st = Instant::now();
    for _ in 0..n {
        let mut d = dz.clone();
        L::activation_backward(&y, &mut d);
        std::hint::black_box(&d);
    }
    let a = st.elapsed().as_secs_f64() / n as f64;
    println!(
        "{name:8} fwd {:7.1} us  bwd {:7.1} us  act_bwd {:6.1} us",
        f * 1e6,
        b * 1e6,
        a * 1e6
    );
}
fn main() {
    let mut c1 = Conv2d::<1, 28, 28, 6, 5, 1, false, 24, 24, Relu>::zeroed();
    c1.init(&mut Rng::new(1));
    let mut c2 = Conv2d::<6, 12, 12, 16, 5, 1, false, 8, 8, Relu>::zeroed();
    c2.init(&mut Rng::new(2));
    let p1 = MaxPool2d::<6, 24, 24, 2, 12, 12>::zeroed();
    let p2 = MaxPool2d::<16, 8, 8, 2, 4, 4>::zeroed();
    let f = Flatten2d::<16, 4, 4, 256>::zeroed();
    let d = Dropout::<[f32; 256], 25>::zeroed();
    let mut o = Dense::<256, 10, Softmax>::zeroed();
    o.init(&mut Rng::new(3));
    t("c1", &c1);
    t("p1", &p1);
    t("c2", &c2);
    t("p2", &p2);
    t("flat", &f);
    t("drop", &d);
    t("dense", &o);
}
