//! `constnet::plot::history` writes the loss and accuracy of every epoch as an SVG chart.
use std::time::Duration;

use constnet::plot::{history, history_svg, PlotError};
use constnet::train::{Epoch, Evaluation, History};

/// Six epochs with validation, the fourth's validation loss NaN (left out of its line).
fn run() -> History {
    let epochs = (1..=6)
        .map(|i| {
            let i = i as f32;
            Epoch {
                loss: 2.0 / i,
                accuracy: 1.0 - 0.6 / i,
                validation: Some(Evaluation {
                    loss: if i == 4.0 { f32::NAN } else { 2.4 / i },
                    accuracy: 0.95 - 0.6 / i,
                }),
                duration: Duration::from_millis(5),
            }
        })
        .collect();
    History { epochs }
}

/// The `points` of the SVG's polylines drawn in `color` (the series; the axes are black).
fn polylines<'a>(svg: &'a str, color: &str) -> Vec<Vec<&'a str>> {
    svg.lines()
        .filter(|l| l.starts_with("<polyline") && l.contains(&format!("stroke=\"{color}\"")))
        .filter_map(|l| l.split("points=\"").nth(1)?.split('"').next())
        .map(|p| p.split_whitespace().collect())
        .collect()
}

#[test]
fn writes_an_svg_with_both_series_of_both_charts() {
    let dir = std::env::temp_dir().join(format!("constnet-plot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("history.svg");
    history(&run(), &path).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg, history_svg(&run()).unwrap());
    for text in ["loss", "accuracy", "epoch", "train", "validation"] {
        assert!(svg.contains(&format!("\n{text}\n")), "no text `{text}`");
    }
    // Training (blue): a line of 6 points in each chart, then each legend's 2-point sample.
    let train = polylines(&svg, "#0000FF");
    let lengths: Vec<usize> = train.iter().map(Vec::len).collect();
    assert_eq!(lengths, [6, 2, 6, 2], "{train:?}");
    // Validation (red): the NaN loss is left out, 5 points; accuracy has all 6.
    let validation = polylines(&svg, "#FF0000");
    let lengths: Vec<usize> = validation.iter().map(Vec::len).collect();
    assert_eq!(lengths, [5, 2, 6, 2], "{validation:?}");
    // The loss falls from epoch to epoch: SVG's y grows downwards.
    let ys: Vec<f32> = train[0]
        .iter()
        .map(|p| p.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert!(ys.windows(2).all(|w| w[1] > w[0]), "{ys:?}");
    // A dot per point: 6 + 6 training, 5 + 6 validation.
    assert_eq!(svg.matches("<circle").count(), 23);
}

#[test]
fn without_validation_there_is_no_validation_series() {
    let mut h = run();
    h.epochs.iter_mut().for_each(|e| e.validation = None);
    let svg = history_svg(&h).unwrap();
    assert!(!svg.contains("validation"));
    assert_eq!(polylines(&svg, "#FF0000").len(), 0);
    assert_eq!(polylines(&svg, "#0000FF").len(), 4);
    // One epoch is a chart too (a dot, no line to speak of).
    h.epochs.truncate(1);
    assert_eq!(history_svg(&h).unwrap().matches("<circle").count(), 2);
}

#[test]
fn errors() {
    assert!(matches!(
        history_svg(&History::default()),
        Err(PlotError::Empty)
    ));
    let err = history(&run(), "history.png").unwrap_err();
    assert!(matches!(err, PlotError::Format { .. }));
    assert_eq!(
        err.to_string(),
        "history.png: charts are written as SVG, to a file name ending in .svg"
    );
    let err = history(&run(), "/no/such/dir/history.svg").unwrap_err();
    assert!(matches!(err, PlotError::Io { .. }), "{err}");
    assert!(std::error::Error::source(&err).is_some());
}

constnet::network! {
    struct Mnist { hidden: constnet::Dense<784, 64, constnet::Relu>, out: constnet::Dense<64, 10, constnet::Softmax> }
}

/// The README's picture, docs/mnist-history.svg, is the history of the MNIST job as
/// `examples/mnist.rs --plot` trains it (seed 1, Adam 0.002, batches of 32, 10 epochs, validated
/// on the 2,000 held-out digits). Regenerate it with
/// `cargo run --release --example mnist --features plot -- --plot docs/mnist-history.svg`.
#[test]
fn the_readme_picture_is_the_mnist_jobs_history() {
    use constnet::data::{load_mnist, Split};
    use constnet::train::{Fit, Verbose};
    use constnet::{Adam, Network, SparseCategoricalCrossEntropy, Trainer};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist-10k");
    let train = load_mnist::<784>(dir, Split::Train).unwrap();
    let test = load_mnist::<784>(dir, Split::Test).unwrap();
    let mut net = Mnist::new_boxed(1);
    let h = Fit::<32>::epochs(10)
        .seed(1)
        .verbose(Verbose::Silent)
        .run(
            &mut *net,
            SparseCategoricalCrossEntropy,
            &mut Trainer::boxed(Adam::new(0.002)),
            &train,
            Some(&test),
        )
        .unwrap();
    let picture = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/mnist-history.svg");
    let checked_in = std::fs::read_to_string(picture).unwrap();
    let drawn = history_svg(&h).unwrap();
    // Byte for byte only where the picture was drawn: training rounds differently on the AVX2,
    // AVX-512 and portable kernels (each deterministic), and the picture comes from one of them.
    // Everywhere, it must be this chart of this job: the same elements (10 epochs, 4 series,
    // the same axes and labels) and a final accuracy close to this run's.
    let shape = |svg: &str| {
        ["<circle", "<polyline", "<text", "<line", "<rect"].map(|tag| svg.matches(tag).count())
    };
    assert_eq!(
        shape(&checked_in),
        shape(&drawn),
        "docs/mnist-history.svg is not this job's chart; regenerate it (see the test's comment)"
    );
    let accuracy = 100.0 * h.epochs[9].validation.unwrap().accuracy;
    // The README's 94.55 % (AVX-512 path), within what another kernel's rounding moves it.
    assert!(
        (accuracy - 94.55).abs() < 0.5,
        "final accuracy {accuracy:.2} %"
    );
}
