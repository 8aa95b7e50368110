//! A Keras tabular tutorial on Fisher's iris flowers: the CSV's label column by name, a
//! `Normalization` layer adapted to the training split, then a small classifier:
//!
//! ```python
//! norm = keras.layers.Normalization()
//! norm.adapt(x_train)
//! model = keras.Sequential([keras.Input((4,)), norm,
//!                           keras.layers.Dense(16, activation="relu"),
//!                           keras.layers.Dense(3, activation="softmax")])
//! model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
//!               metrics=["accuracy"])
//! model.fit(x_train, y_train, batch_size=8, epochs=40, validation_data=(x_test, y_test))
//! ```
//!
//! `cargo run --release --example iris [-- --seed N]`; the mean and variance travel with the
//! weights, so a saved network scales its own inputs.
use constnet::data::Csv;
use constnet::prelude::*;

network! {
    /// Four measurements in, three species out; the first layer scales the measurements.
    pub struct Iris {
        norm: Normalization<4>,
        hidden: Dense<4, 16, Relu>,
        out: Dense<16, 3, Softmax>,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seed = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => 1,
        [flag, n] if flag == "--seed" => n.parse()?,
        _ => return Err("usage: iris [--seed N]".into()),
    };
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/iris/iris.csv");
    let mut data = Csv::new().label("species").load::<4>(path)?;
    // The file lists the species in order: shuffle before holding out a fifth for testing.
    data.shuffle(seed);
    let (train, test) = data.split_fraction(0.2);
    println!("{}\n", Iris::summary());

    let mut net = Iris::new(seed);
    net.norm.adapt(train.features())?;
    println!(
        "adapted: mean {:?}\n         variance {:?}\n",
        net.norm.mean, net.norm.variance
    );
    let mut trainer = Trainer::new(Adam::new(0.01));
    let history = Fit::<8>::epochs(40)
        .seed(seed)
        .verbose(Verbose::Silent)
        .run(
            &mut net,
            SparseCategoricalCrossEntropy,
            &mut trainer,
            &train,
            Some(&test),
        )?;
    let last = history.epochs.last().expect("40 epochs ran");
    let val = last.validation.expect("test data was given");
    println!(
        "after {} epochs: loss {:.4}, accuracy {:.2} %; on the {} held-out flowers {:.2} %",
        history.epochs.len(),
        last.loss,
        100.0 * last.accuracy,
        test.len(),
        100.0 * val.accuracy
    );
    Ok(())
}
