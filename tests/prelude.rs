//! What a first program writes, compiled with nothing but `use constnet::prelude::*;`, and samples
//! that arrive as slices (`try_forward` / `try_predict`).
#![deny(warnings)]
use constnet::prelude::*;

network! { struct Mlp { Dense<4, 3, Relu>, Dense<3, 2, Softmax> } }

network! {
    #[input(1, 4, 4)]
    struct Cnn { Conv2d<2, 3, Relu>, Flatten, Dense<8, 3, Softmax> }
}

/// A slice of the right length gives what the array gives; any other length an error with both
/// lengths, also for a network whose input is an image (its flattened size).
#[test]
fn slices_of_the_wrong_length_name_both_lengths() {
    let net = Mlp::new(5);
    let sample: Vec<f32> = vec![0.1, -0.4, 0.9, 0.3];
    assert_eq!(
        net.try_forward(&sample),
        Ok(net.forward(&[0.1, -0.4, 0.9, 0.3]))
    );
    assert_eq!(
        net.try_predict(&sample),
        Ok(net.predict(&[0.1, -0.4, 0.9, 0.3]))
    );
    for found in [0, 3, 5, 100] {
        let long = vec![0.5; found];
        let want = InputLength { expected: 4, found };
        assert_eq!(net.try_forward(&long), Err(want));
        assert_eq!(net.try_predict(&long), Err(want));
    }
    assert_eq!(
        net.try_predict(&[1.0; 3]).unwrap_err().to_string(),
        "the network takes 4 inputs, but the sample has 3 values"
    );

    let cnn = Cnn::new(2);
    let image = [0.25; 16];
    assert_eq!(cnn.try_predict(&image), Ok(cnn.predict(&image)));
    let err = cnn.try_forward(&image[..15]).unwrap_err();
    assert_eq!(
        err,
        InputLength {
            expected: 16,
            found: 15
        }
    );
    // An `std::error::Error`, so `?` takes it into a boxed error.
    let boxed: Box<dyn std::error::Error> = err.into();
    assert_eq!(
        boxed.to_string(),
        "the network takes 16 inputs, but the sample has 15 values"
    );
}

/// Load, train, evaluate and report, every name from the prelude.
#[test]
fn a_first_program_needs_only_the_prelude() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("constnet-prelude-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("points.csv");
    let mut text = String::from("a,b,c,d,side\n");
    for i in 0..40 {
        let x = i as f32 / 20.0 - 1.0;
        let side = if x > 0.0 { "right" } else { "left" };
        text += &format!("{x},{},{},0.5,{side}\n", -x, x * 0.5);
    }
    std::fs::write(&path, text)?;
    let data: Dataset<4> = Csv::new().label("side").load(&path)?;
    assert_eq!(data.class_names().unwrap(), &["left", "right"]);

    let mut net = Mlp::new(3);
    let mut trainer = Trainer::new(Adam::new(0.05));
    let history: History = Fit::<8>::epochs(100).verbose(Verbose::Silent).run(
        &mut net,
        SparseCategoricalCrossEntropy,
        &mut trainer,
        &data,
        None,
    )?;
    let last: &Epoch = history.epochs.last().unwrap();
    assert!(last.loss.is_finite());
    let e: Evaluation = evaluate(&net, SparseCategoricalCrossEntropy, &data)?;
    let predicted = predict_all(&net, data.features());
    assert_eq!(accuracy(&predicted, data.labels())?, e.accuracy);
    let cm = ConfusionMatrix::new(&predicted, data.labels(), data.classes())?
        .with_class_names(data.class_names().unwrap())?;
    assert_eq!(cm.accuracy(), e.accuracy);
    let report = cm.report().to_string();
    assert!(
        report.lines().any(|l| l.starts_with("       right  ")),
        "{report}"
    );
    assert!(cm
        .to_string()
        .starts_with("true \\ predicted  left  right\n"));
    Ok(())
}
