//! Shared by the integration tests: the MNIST network with PyTorch-trained weights, test digits,
//! and a server on an ephemeral loopback port.
#![allow(dead_code)] // each test file uses a part

use std::net::SocketAddr;
use std::path::PathBuf;

use constnet::data::{load_mnist, Split};
use constnet::prelude::*;
use constnet_serve::{Bound, Server};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

network! {
    /// The `mnist` example's network.
    pub struct Mnist {
        hidden: Dense<784, 64, Relu>,
        out: Dense<64, 10, Softmax>,
    }
}

pub fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// A 784-64-10 MLP trained by PyTorch on the bundled digits (tests/data/interop, names
/// `hidden` and `out`): the tests train nothing.
pub fn trained() -> Box<Mnist> {
    Mnist::load_safetensors_boxed(&repo().join("tests/data/interop/mlp.safetensors"))
        .expect("the interop reference weights load")
}

/// The first `n` bundled test digits and their labels.
pub fn digits(n: usize) -> (Vec<[f32; 784]>, Vec<usize>) {
    let test = load_mnist::<784>(&repo().join("data/mnist-10k"), Split::Test).unwrap();
    let test = test.take(n);
    (test.features().to_vec(), test.labels().to_vec())
}

/// A running server and what stops it.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops the server gracefully and waits until it has returned.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

/// Binds `server` (whose address should be 127.0.0.1:0) and serves it on this runtime.
pub async fn start<
    N: Network<IN, OUT> + Send + Sync + 'static,
    const IN: usize,
    const OUT: usize,
>(
    server: Server<N, IN, OUT>,
) -> Running {
    let bound: Bound = server
        .addr("127.0.0.1:0".parse().unwrap())
        .bind()
        .await
        .unwrap();
    let addr = bound.local_addr();
    assert!(addr.ip().is_loopback());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(bound.serve_until(async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        stop: Some(stop),
        task: Some(task),
    }
}

/// A KServe v2 request body for these samples (flat data).
pub fn v2_body(samples: &[[f32; 784]]) -> String {
    let data: Vec<f32> = samples.iter().flatten().copied().collect();
    serde_json::json!({
        "id": "t1",
        "inputs": [{ "name": "input", "shape": [samples.len(), 784], "datatype": "FP32", "data": data }]
    })
    .to_string()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}
