//! Serves the `mnist` example's network (784-64-10) under the model name `mnist`, from a weights
//! file; it trains nothing.
//!
//! ```text
//! cargo run --release --example mnist --features io -- --save m.safetensors
//! cargo run --release -p constnet-serve --example serve -- --weights m.safetensors [--addr 127.0.0.1:8080]
//!     [--batching on|off] [--workers N] [--queue N] [--body-limit BYTES] [--timeout SECONDS]
//! ```
//! Then open <http://127.0.0.1:8080/> and draw a digit, or post to `/v2/models/mnist/infer`
//! (KServe v2) or `/v1/models/mnist:predict` (TF Serving); `/metrics` for Prometheus. `--weights`
//! reads `.safetensors` (PyTorch state dict of a module with `hidden` and `out`) or `.onnx`.
//! SIGINT or SIGTERM: stops accepting, finishes the requests in flight, exits 0.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use constnet::prelude::*;
use constnet_serve::{Batching, Server};

network! {
    /// The MNIST classifier of the `mnist` example: 784 pixels, 64 ReLU units, 10 classes.
    pub struct Mnist {
        hidden: Dense<784, 64, Relu>,
        out: Dense<64, 10, Softmax>,
    }
}

const USAGE: &str = "use --weights PATH (.safetensors or .onnx), --addr HOST:PORT, \
    --batching on|off, --workers N, --queue N, --body-limit BYTES, --timeout SECONDS";

fn server(mut args: impl Iterator<Item = String>) -> Result<Server<Mnist, 784, 10>, String> {
    let mut weights: Option<PathBuf> = None;
    let mut settings = Vec::new();
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .ok_or(format!("{flag} needs a value; {USAGE}"))?;
        if flag == "--weights" {
            weights = Some(value.into());
        } else {
            settings.push((flag, value));
        }
    }
    let path = weights.ok_or(format!("--weights is required; {USAGE}"))?;
    let net = match path.extension().and_then(|e| e.to_str()) {
        Some("onnx") => Mnist::load_onnx_boxed(&path),
        _ => Mnist::load_safetensors_boxed(&path),
    }
    .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut server = Server::new("mnist", net);
    for (flag, value) in settings {
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        server = match flag.as_str() {
            "--addr" => server.addr(value.parse().map_err(|e| bad(&e))?),
            "--workers" => server.workers(value.parse().map_err(|e| bad(&e))?),
            "--queue" => server.queue(value.parse().map_err(|e| bad(&e))?),
            "--body-limit" => server.body_limit(value.parse().map_err(|e| bad(&e))?),
            "--timeout" => server.timeout(Duration::from_secs_f64(
                value
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| bad(&"expected a positive number of seconds"))?,
            )),
            "--batching" => server.batching(match value.as_str() {
                "on" => Batching::Dynamic {
                    max_batch: 64,
                    window: Duration::ZERO,
                },
                "off" => Batching::Off,
                _ => return Err(bad(&"expected on or off")),
            }),
            _ => return Err(format!("unknown argument `{flag}`; {USAGE}")),
        };
    }
    Ok(server)
}

#[tokio::main]
async fn main() -> ExitCode {
    let server = match server(std::env::args().skip(1)) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let bound = match server.bind().await {
        Ok(bound) => bound,
        Err(e) => {
            eprintln!("error: cannot listen: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Scripts wait for this line (with the port, when 0 was asked for).
    println!("serving model 'mnist' on http://{}/", bound.local_addr());
    match bound.serve().await {
        Ok(()) => {
            println!("shut down");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
