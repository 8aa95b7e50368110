//! Charts of a training run (the `plot` feature): loss and accuracy per epoch, training and
//! validation, as Keras users draw them from `history.history`.
//!
//! SVG only: plotters draws a bitmap's text with a font file, which a machine may not have; an
//! SVG leaves the text to the viewer.
use std::fmt;
use std::format;
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::vec::Vec;

use nn_core::train::History;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Why a chart was not written.
///
/// ```
/// use constnet::plot::{history, PlotError};
/// use constnet::train::History;
/// let err = history(&History::default(), "empty.svg").unwrap_err();
/// assert!(matches!(err, PlotError::Empty));
/// assert_eq!(err.to_string(), "the history has no epochs to plot");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum PlotError {
    /// The history has no epochs.
    Empty,
    /// The file name does not end in `.svg`.
    Format {
        /// The path given.
        path: PathBuf,
    },
    /// The file could not be written.
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// plotters failed to draw the chart.
    Draw(String),
}

impl fmt::Display for PlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlotError::Empty => write!(f, "the history has no epochs to plot"),
            PlotError::Format { path } => write!(
                f,
                "{}: charts are written as SVG, to a file name ending in .svg",
                path.display()
            ),
            PlotError::Io { path, source } => {
                write!(f, "cannot write {}: {source}", path.display())
            }
            PlotError::Draw(message) => write!(f, "cannot draw the chart: {message}"),
        }
    }
}

impl std::error::Error for PlotError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PlotError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Writes `history` as an SVG chart to `path` (which must end in `.svg`): loss per epoch on the
/// left, accuracy on the right, each with the training values and, if the run had validation
/// data, the validation values. Non-finite values (a diverged epoch) are left out of the lines.
///
/// ```
/// use std::time::Duration;
/// use constnet::train::{Epoch, Evaluation, History};
/// let epochs = (1..=5)
///     .map(|i| Epoch {
///         loss: 1.0 / i as f32,
///         accuracy: 1.0 - 0.5 / i as f32,
///         validation: Some(Evaluation { loss: 1.2 / i as f32, accuracy: 0.9 - 0.5 / i as f32 }),
///         duration: Duration::from_millis(10),
///     })
///     .collect();
/// let path = std::env::temp_dir().join(format!("constnet-plot-doc-{}.svg", std::process::id()));
/// constnet::plot::history(&History { epochs }, &path)?;
/// assert!(std::fs::read_to_string(&path)?.starts_with("<svg"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn history(history: &History, path: impl AsRef<Path>) -> Result<(), PlotError> {
    let path = path.as_ref();
    if path.extension().and_then(|e| e.to_str()) != Some("svg") {
        return Err(PlotError::Format { path: path.into() });
    }
    let svg = history_svg(history)?;
    std::fs::write(path, svg).map_err(|source| PlotError::Io {
        path: path.into(),
        source,
    })
}

/// The chart of [`history`] as SVG text, e.g. to serve or embed.
///
/// ```
/// use std::time::Duration;
/// use constnet::train::{Epoch, History};
/// let epoch = Epoch { loss: 0.5, accuracy: 0.8, validation: None, duration: Duration::ZERO };
/// let svg = constnet::plot::history_svg(&History { epochs: vec![epoch; 3] })?;
/// assert!(svg.contains("accuracy") && !svg.contains("validation"));
/// # Ok::<(), constnet::plot::PlotError>(())
/// ```
pub fn history_svg(history: &History) -> Result<String, PlotError> {
    if history.epochs.is_empty() {
        return Err(PlotError::Empty);
    }
    let loss: Vec<f32> = history.epochs.iter().map(|e| e.loss).collect();
    let accuracy: Vec<f32> = history.epochs.iter().map(|e| e.accuracy).collect();
    // Validation lines only if every epoch was validated (it is all or nothing in `Fit`).
    let validation: Option<Vec<_>> = history.epochs.iter().map(|e| e.validation).collect();
    let val_loss = validation
        .as_ref()
        .map(|v| v.iter().map(|e| e.loss).collect::<Vec<_>>());
    let val_accuracy = validation
        .as_ref()
        .map(|v| v.iter().map(|e| e.accuracy).collect::<Vec<_>>());

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 400)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let (left, right) = root.split_horizontally(500);
        panel(&left, "loss", &loss, val_loss.as_deref()).map_err(draw_error)?;
        panel(&right, "accuracy", &accuracy, val_accuracy.as_deref()).map_err(draw_error)?;
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

fn draw_error<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> PlotError {
    PlotError::Draw(e.to_string())
}

/// Points `(epoch, value)` of a series, 1-based epochs, non-finite values left out.
fn points(values: &[f32]) -> Vec<(f32, f32)> {
    values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, &v)| ((i + 1) as f32, v))
        .collect()
}

/// A line's legend label, color and points.
type Series = (&'static str, RGBColor, Vec<(f32, f32)>);

/// One chart: the training series and, if given, the validation series, per epoch.
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    name: &str,
    train: &[f32],
    validation: Option<&[f32]>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let series: Vec<Series> = [("train", BLUE, Some(train))]
        .into_iter()
        .chain([("validation", RED, validation)])
        .filter_map(|(label, color, values)| Some((label, color, points(values?))))
        .collect();
    // Losses and accuracies are never negative: the axis starts at 0 and ends a little above the
    // largest value (at 1 or more for accuracy).
    let top = series
        .iter()
        .flat_map(|(_, _, p)| p.iter().map(|&(_, v)| v))
        .fold(0.0f32, f32::max);
    let top = if name == "accuracy" {
        top.max(1.0)
    } else {
        top * 1.05
    };
    let top = if top > 0.0 { top } else { 1.0 };
    let epochs = train.len() as f32;
    let mut chart = ChartBuilder::on(area)
        .caption(name, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(0.5f32..epochs + 0.5, 0.0f32..top)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(name)
        .x_labels(train.len().min(10))
        // Epochs are whole: no ticks between them.
        .x_label_formatter(&|x| {
            if x.fract() == 0.0 {
                format!("{x:.0}")
            } else {
                String::new()
            }
        })
        .draw()?;
    for (label, color, points) in series {
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
        // Dots, so that a run of one epoch shows too.
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
    }
    // Losses fall and accuracies rise: the legend goes where the lines usually are not.
    let corner = if name == "accuracy" {
        SeriesLabelPosition::LowerRight
    } else {
        SeriesLabelPosition::UpperRight
    };
    chart
        .configure_series_labels()
        .position(corner)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
}
