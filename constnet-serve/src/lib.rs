//! An inference server for any constnet network.
//!
//! It speaks the KServe v2 / Open Inference Protocol (what Triton and KServe speak) and TF
//! Serving's REST predict API, reports Prometheus metrics, and serves a page on which a person
//! draws a digit for a 784-input classifier to read.
//!
//! ```no_run
//! use constnet::prelude::*;
//! use constnet_serve::Server;
//!
//! network! {
//!     pub struct Mnist { hidden: Dense<784, 64, Relu>, out: Dense<64, 10, Softmax> }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let net = Mnist::load_safetensors_boxed(std::path::Path::new("m.safetensors"))?;
//!     // Until SIGINT or SIGTERM; then in-flight requests finish and it returns.
//!     Server::new("mnist", net).addr("127.0.0.1:8080".parse()?).serve().await?;
//!     Ok(())
//! }
//! ```
//!
//! | endpoint | answer |
//! |---|---|
//! | `GET /v2/health/live`, `GET /v2/health/ready` | `{"live": true}`, `{"ready": true}` (503 while shutting down) |
//! | `GET /v2`, `GET /v2/models/{name}`, `GET /v2/models/{name}/ready` | server and model metadata: input `input` FP32 `[-1, IN]`, output `output` FP32 `[-1, OUT]` |
//! | `POST /v2/models/{name}/infer` | `{"inputs": [{"name": "input", "shape": [N, IN], "datatype": "FP32", "data": [...]}]}`, data flat or nested → `{"model_name", "id", "outputs": [{"name": "output", "shape": [N, OUT], "datatype": "FP32", "data": [...]}]}` |
//! | `POST /v1/models/{name}:predict`, `GET /v1/models/{name}` | TF Serving: `{"instances": [[...IN...], ...]}` → `{"predictions": [[...OUT...], ...]}`; model status |
//! | `GET /metrics` | Prometheus text: requests by endpoint and status, latency histograms, batch sizes, rejections, queue depth |
//! | `GET /` | the drawing page (for 784 inputs, 28×28), embedded in the binary |
//!
//! Every refusal is a status with a JSON body `{"error": "..."}` that says what is wrong:
//! 400 for a body that is not JSON, does not follow the protocol, or does not fit the model
//! (a wrong count names the model's width; values beyond FP32's range and non-numbers are
//! refused, never turned into infinities), 404 for an unknown model or path, 405 for a wrong
//! method, 408 past the timeout, 413 past the body limit and 503 when the inference queue is full.
//!
//! Inference runs on worker threads of its own, never on the async runtime's threads; requests
//! wait in one queue bounded by [`Server::queue`]. With [`Batching::Dynamic`] a worker runs the
//! requests that are waiting together, as one batched forward pass (Triton's dynamic batcher).

#![warn(missing_docs)]

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use nn_core::Network;
use serde::Serialize;
use tokio::net::TcpListener;

mod engine;
mod error;
mod json;
mod metrics;

pub use error::Error;

use engine::Engine;
use metrics::Metrics;

/// The drawing page; `__MODEL__` is replaced by the model's name (as a JSON string).
const PAGE: &str = include_str!("page.html");

/// Whether requests that wait at the same time share one forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batching {
    /// Each request is its own forward pass (its `N` samples batched together).
    Off,
    /// A worker takes the request at the head of the queue together with those queued behind it,
    /// up to `max_batch` samples, waiting up to `window` for more to arrive (`Duration::ZERO`:
    /// only those already waiting), and runs them as one batch.
    Dynamic {
        /// Most samples in one forward pass (a larger request still runs, alone).
        max_batch: usize,
        /// How long to wait for more requests once one is taken.
        window: Duration,
    },
}

/// A server for one network, named `model` in the URLs; configure it, then
/// [`serve`](Server::serve) it or [`bind`](Server::bind) it first.
///
/// Generic over any network `N` that `network!` generates (`Network<IN, OUT>`); `IN` and `OUT`
/// are inferred from it.
///
/// ```
/// use constnet::prelude::*;
/// use constnet_serve::{Batching, Server};
/// use std::time::Duration;
///
/// network! { pub struct Xor { hidden: Dense<2, 4, Tanh>, out: Dense<4, 1, Sigmoid> } }
///
/// let server = Server::new("xor", Box::new(Xor::new(1)))
///     .addr("127.0.0.1:0".parse().unwrap()) // an ephemeral port
///     .body_limit(64 * 1024)
///     .queue(256)
///     .timeout(Duration::from_secs(2))
///     .batching(Batching::Off);
/// # let _ = server;
/// ```
pub struct Server<N, const IN: usize, const OUT: usize> {
    model: String,
    net: Arc<N>,
    addr: SocketAddr,
    body_limit: usize,
    queue: usize,
    timeout: Duration,
    workers: usize,
    batching: Batching,
    grace: Duration,
}

impl<N, const IN: usize, const OUT: usize> Server<N, IN, OUT>
where
    N: Network<IN, OUT> + Send + Sync + 'static,
{
    /// A server for `net` under the name `model`, with the defaults: address `127.0.0.1:8080`
    /// (loopback: reachable from this machine only), body limit 4 MiB, queue 1,024 requests,
    /// timeout 10 s, one worker per core, dynamic batching (up to 64 samples, no waiting) and 4 s
    /// to finish in-flight requests at shutdown.
    ///
    /// The network comes boxed, as the `_boxed` loaders and `new_boxed` return it (a large
    /// network does not fit the stack); `Box::new(net)` boxes one built by value.
    pub fn new(model: impl Into<String>, net: Box<N>) -> Self {
        Server {
            model: model.into(),
            net: Arc::from(net),
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            body_limit: 4 << 20,
            queue: 1024,
            timeout: Duration::from_secs(10),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            batching: Batching::Dynamic {
                max_batch: 64,
                window: Duration::ZERO,
            },
            grace: Duration::from_secs(4),
        }
    }

    /// The address to listen on; port 0 picks a free one ([`Bound::local_addr`] tells which).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// The largest request body accepted, in bytes; larger ones are answered 413.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// How many inference requests may wait for or be in inference at once; more are answered
    /// 503 at once instead of queueing without bound.
    pub fn queue(mut self, requests: usize) -> Self {
        self.queue = requests;
        self
    }

    /// How long a request may take, from its headers' first byte to the response (a slow body
    /// included); past it the answer is 408, or the connection is closed while headers are
    /// still arriving.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many threads run inference (at least one).
    pub fn workers(mut self, threads: usize) -> Self {
        self.workers = threads.max(1);
        self
    }

    /// Whether concurrent requests share forward passes.
    pub fn batching(mut self, batching: Batching) -> Self {
        self.batching = batching;
        self
    }

    /// How long in-flight requests get to finish after a shutdown signal before the server
    /// returns anyway.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Listens on the address and starts the inference workers; requests are answered once
    /// the result is served.
    pub async fn bind(self) -> io::Result<Bound> {
        let listener = TcpListener::bind(self.addr).await?;
        let local_addr = listener.local_addr()?;
        let metrics = Arc::new(Metrics::new());
        let engine = Engine::start::<N, IN, OUT>(
            self.net,
            self.workers,
            self.batching,
            self.queue,
            metrics.clone(),
        )?;
        let model_json = serde_json::to_string(&self.model).unwrap_or_default();
        let app = Arc::new(App {
            page: PAGE.replace("__MODEL__", &model_json),
            model: self.model,
            inputs: IN,
            outputs: OUT,
            body_limit: self.body_limit,
            timeout: self.timeout,
            engine,
            metrics,
            ready: AtomicBool::new(true),
        });
        Ok(Bound {
            listener,
            local_addr,
            router: router(app.clone()),
            app,
            grace: self.grace,
        })
    }

    /// [`bind`](Server::bind)s and serves until SIGINT (Ctrl-C) or SIGTERM
    /// ([`shutdown_signal`]).
    pub async fn serve(self) -> io::Result<()> {
        self.bind().await?.serve().await
    }
}

/// A server listening on its address, not yet answering.
pub struct Bound {
    listener: TcpListener,
    local_addr: SocketAddr,
    router: Router,
    app: Arc<App>,
    grace: Duration,
}

impl Bound {
    /// The address it listens on (with the port chosen, for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until SIGINT or SIGTERM.
    pub async fn serve(self) -> io::Result<()> {
        let signal = shutdown_signal()?;
        self.serve_until(signal).await;
        Ok(())
    }

    /// Serves until `shutdown` completes; then it stops accepting connections, closes idle
    /// ones, lets requests in flight finish (up to the grace period) and returns.
    ///
    /// ```no_run
    /// # use constnet::prelude::*;
    /// # network! { pub struct Xor { hidden: Dense<2, 4, Tanh>, out: Dense<4, 1, Sigmoid> } }
    /// # async fn run() -> std::io::Result<()> {
    /// let server = constnet_serve::Server::new("xor", Box::new(Xor::new(1)))
    ///     .addr("127.0.0.1:0".parse().unwrap())
    ///     .bind()
    ///     .await?;
    /// println!("listening on {}", server.local_addr());
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// let running = tokio::spawn(server.serve_until(async { stopped.await.ok(); }));
    /// // ... send requests ...
    /// stop.send(()).ok();
    /// running.await.ok();
    /// # Ok(()) }
    /// ```
    pub async fn serve_until(self, shutdown: impl Future<Output = ()> + Send) {
        let Bound {
            listener,
            router,
            app,
            grace,
            ..
        } = self;
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut shutdown = pin!(shutdown);
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => {
                        // Out of file descriptors or a connection reset before accept: keep
                        // serving the connections there are, and retry shortly.
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            // Responses are small and complete: send them without waiting for an ACK.
            let _ = stream.set_nodelay(true);
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(app.timeout);
            let connection = http.serve_connection(
                TokioIo::new(stream),
                TowerToHyperService::new(router.clone()),
            );
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                // A connection's I/O errors (a reset, a timeout) concern that client only.
                let _ = connection.await;
            });
        }
        drop(listener);
        app.ready.store(false, Ordering::Release);
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(grace) => {}
        }
    }
}

/// Completes on the first SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this is
/// called, so a signal that arrives before the future is polled still counts.
pub fn shutdown_signal() -> io::Result<impl Future<Output = ()> + Send> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// What every handler shares; not generic: the network lives in the engine's workers.
struct App {
    model: String,
    page: String,
    inputs: usize,
    outputs: usize,
    body_limit: usize,
    timeout: Duration,
    engine: Engine,
    metrics: Arc<Metrics>,
    ready: AtomicBool,
}

impl App {
    fn check_model(&self, name: &str) -> Result<(), Error> {
        if name == self.model {
            Ok(())
        } else {
            Err(Error::ModelNotFound {
                requested: name.to_string(),
                served: self.model.clone(),
            })
        }
    }

    /// Reads the body up to the limit; a declared length over it is refused before reading.
    async fn read_body(&self, headers: &HeaderMap, body: Body) -> Result<Bytes, Error> {
        let too_large = Error::TooLarge {
            limit: self.body_limit,
        };
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > self.body_limit as u64) {
            return Err(too_large);
        }
        match Limited::new(body, self.body_limit).collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(e) if e.is::<LengthLimitError>() => Err(too_large),
            Err(e) => Err(Error::BadRequest(format!(
                "could not read the request body: {e}"
            ))),
        }
    }
}

/// The `{name}` (or `{spec}`) segment of a path; a segment that is not UTF-8 once
/// percent-decoded is a 400 with the JSON body every other refusal has.
struct Name(String);

impl<S: Send + Sync> FromRequestParts<S> for Name {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(name)) => Ok(Name(name)),
            Err(e) => Err(Error::BadRequest(format!(
                "invalid path: {}",
                e.body_text()
            ))),
        }
    }
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/metrics", get(metrics))
        .route("/v2", get(server_metadata))
        .route("/v2/health/live", get(live))
        .route("/v2/health/ready", get(ready))
        .route("/v2/models/{name}", get(model_metadata))
        .route("/v2/models/{name}/ready", get(model_ready))
        .route("/v2/models/{name}/infer", post(infer))
        // `{name}:predict` is one path segment, and the router matches parameters only as whole
        // segments: the handlers split it.
        .route("/v1/models/{spec}", get(v1_status).post(v1_predict))
        .fallback(|uri: Uri| async move { Error::NotFound(uri.path().to_string()) })
        .method_not_allowed_fallback(|method: Method, uri: Uri| async move {
            Error::MethodNotAllowed {
                method: method.to_string(),
                path: uri.path().to_string(),
            }
        })
        .layer(middleware::from_fn_with_state(app.clone(), track))
        .with_state(app)
}

/// Times every request out, and counts it.
async fn track(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let endpoint = metrics::endpoint(request.uri().path());
    let response = match tokio::time::timeout(app.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Error::Timeout(app.timeout).into_response(),
    };
    app.metrics
        .request(endpoint, response.status().as_u16(), started.elapsed());
    response
}

fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        Err(e) => Error::Internal(format!("could not write the response: {e}")).into_response(),
    }
}

async fn page(State(app): State<Arc<App>>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // Everything the page needs is in it; the browser may fetch from this server only.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                 connect-src 'self'; img-src 'self' data:",
            ),
        ],
        app.page.clone(),
    )
        .into_response()
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.render(&app.model, app.engine.queued()),
    )
        .into_response()
}

async fn server_metadata() -> Response {
    json_response(
        StatusCode::OK,
        &serde_json::json!({
            "name": "constnet-serve",
            "version": env!("CARGO_PKG_VERSION"),
            "extensions": [],
        }),
    )
}

async fn live() -> Response {
    json_response(StatusCode::OK, &serde_json::json!({ "live": true }))
}

async fn ready(State(app): State<Arc<App>>) -> Response {
    let ready = app.ready.load(Ordering::Acquire);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json_response(status, &serde_json::json!({ "ready": ready }))
}

#[derive(Serialize)]
struct TensorMetadata {
    name: &'static str,
    datatype: &'static str,
    shape: [i64; 2],
}

async fn model_metadata(State(app): State<Arc<App>>, Name(name): Name) -> Result<Response, Error> {
    app.check_model(&name)?;
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({
            "name": app.model,
            "versions": ["1"],
            "platform": "constnet",
            "inputs": [TensorMetadata { name: json::INPUT_NAME, datatype: "FP32", shape: [-1, app.inputs as i64] }],
            "outputs": [TensorMetadata { name: json::OUTPUT_NAME, datatype: "FP32", shape: [-1, app.outputs as i64] }],
        }),
    ))
}

async fn model_ready(State(app): State<Arc<App>>, Name(name): Name) -> Result<Response, Error> {
    app.check_model(&name)?;
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "name": app.model, "ready": app.ready.load(Ordering::Acquire) }),
    ))
}

#[derive(Serialize)]
struct InferResponse<'a> {
    model_name: &'a str,
    model_version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    outputs: [OutputTensor<'a>; 1],
}

#[derive(Serialize)]
struct OutputTensor<'a> {
    name: &'static str,
    datatype: &'static str,
    shape: [usize; 2],
    data: &'a [f32],
}

async fn infer(
    State(app): State<Arc<App>>,
    Name(name): Name,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Error> {
    app.check_model(&name)?;
    let body = app.read_body(&headers, body).await?;
    let batch = json::parse_v2(&body, app.inputs)?;
    let samples = batch.samples;
    let y = app.engine.infer(batch.values, samples).await?;
    Ok(json_response(
        StatusCode::OK,
        &InferResponse {
            model_name: &app.model,
            model_version: "1",
            id: batch.id,
            outputs: [OutputTensor {
                name: json::OUTPUT_NAME,
                datatype: "FP32",
                shape: [samples, app.outputs],
                data: &y,
            }],
        },
    ))
}

/// `mnist:predict` → (`mnist`, `Some("predict")`); `mnist` → (`mnist`, `None`).
fn split_spec(spec: &str) -> (&str, Option<&str>) {
    match spec.rsplit_once(':') {
        Some((name, verb)) => (name, Some(verb)),
        None => (spec, None),
    }
}

async fn v1_status(
    State(app): State<Arc<App>>,
    Name(spec): Name,
    uri: Uri,
) -> Result<Response, Error> {
    let (name, verb) = split_spec(&spec);
    if verb.is_some() {
        return Err(Error::MethodNotAllowed {
            method: "GET".into(),
            path: uri.path().to_string(),
        });
    }
    app.check_model(name)?;
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "model_version_status": [{
            "version": "1",
            "state": "AVAILABLE",
            "status": { "error_code": "OK", "error_message": "" },
        }]}),
    ))
}

async fn v1_predict(
    State(app): State<Arc<App>>,
    Name(spec): Name,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Error> {
    let (name, verb) = split_spec(&spec);
    match verb {
        Some("predict") => {}
        None => {
            return Err(Error::MethodNotAllowed {
                method: "POST".into(),
                path: uri.path().to_string(),
            })
        }
        // TF Serving's classify and regress take tf.Example protos: not for this model.
        Some(_) => return Err(Error::NotFound(uri.path().to_string())),
    }
    app.check_model(name)?;
    let body = app.read_body(&headers, body).await?;
    let batch = json::parse_v1(&body, app.inputs)?;
    let y = app.engine.infer(batch.values, batch.samples).await?;
    let predictions: Vec<&[f32]> = y.chunks(app.outputs.max(1)).collect();
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "predictions": predictions }),
    ))
}
