//! The Keras tutorial's MLP, one-to-one:
//!
//! ```python
//! model = Sequential([Dense(64, activation="relu", input_shape=(784,)),
//!                     Dense(64, activation="relu"),
//!                     Dense(10, activation="softmax")])
//! sgd = SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True)
//! model.compile(loss="categorical_crossentropy", optimizer=sgd, metrics=["accuracy"])
//! model.fit(x_train, y_train, validation_data=(x_test, y_test), epochs=10, batch_size=32)
//! ```
//!
//! `cargo run --release --example keras_mlp [-- --data DIR]`
use constnet::data::{load_mnist, Split};
use constnet::prelude::*;
use constnet::train::{Fit, Verbose};

network! {
    pub struct Mlp {
        dense_1: Dense<784, 64, Relu>,
        dense_2: Dense<64, 64, Relu>,
        dense_3: Dense<64, 10, Softmax>,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist-10k").to_string(),
        [flag, dir] if flag == "--data" => dir.clone(),
        _ => return Err("usage: keras_mlp [--data DIR]".into()),
    };
    let train = load_mnist::<784>(&dir, Split::Train)?;
    let test = load_mnist::<784>(&dir, Split::Test)?;
    println!("{}\n", Mlp::summary());

    let mut model = Mlp::boxed_zeroed();
    model.init(1);
    let sgd = Sgd::new(0.01).decay(1e-6).momentum(0.9).nesterov(true);
    let mut trainer = Trainer::boxed(sgd);
    // One-hot targets from the labels, as Keras' `to_categorical` + categorical cross-entropy.
    let history = Fit::<32>::epochs(10).verbose(Verbose::Lines).run(
        &mut *model,
        CategoricalCrossEntropy,
        &mut trainer,
        &train,
        Some(&test),
    )?;
    let last = history.epochs.last().expect("10 epochs ran");
    let val = last.validation.expect("validation data was given");
    println!(
        "\ntest accuracy {:.2} % after {} epochs ({:.2} s)",
        100.0 * val.accuracy,
        history.epochs.len(),
        history.duration().as_secs_f64()
    );
    Ok(())
}
