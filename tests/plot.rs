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
