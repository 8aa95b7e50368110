//! The server on an ephemeral loopback port, hit by a real HTTP client: every endpoint, every bad
//! input (and the server still ready after each), limits, overload, timeouts, batching, shutdown.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::{client, digits, start, trained, v2_body, Mnist};
use constnet::prelude::*;
use constnet_serve::{Batching, Server};
use serde_json::{json, Value};

/// A server for the trained MNIST network with the defaults.
fn mnist() -> Server<Mnist, 784, 10> {
    Server::new("mnist", trained())
}

async fn get(url: &str) -> (u16, String) {
    let r = client().get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn post(url: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let r = client()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert_eq!(ct, "application/json", "status {status}");
    (
        status,
        serde_json::from_str(&r.text().await.unwrap()).unwrap(),
    )
}

/// The `{"error": "..."}` message of a refusal.
fn error_of(body: &Value) -> &str {
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message in {body}"))
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

async fn assert_ready(server: &common::Running) {
    let (status, body) = get(&server.url("/v2/health/ready")).await;
    assert_eq!((status, body.as_str()), (200, r#"{"ready":true}"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metadata() {
    let server = start(mnist()).await;
    assert_eq!(
        get(&server.url("/v2/health/live")).await,
        (200, r#"{"live":true}"#.into())
    );
    assert_ready(&server).await;

    let (status, body) = get(&server.url("/v2/models/mnist")).await;
    assert_eq!(status, 200);
    let meta: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(meta["name"], "mnist");
    assert_eq!(
        meta["inputs"],
        json!([{ "name": "input", "datatype": "FP32", "shape": [-1, 784] }])
    );
    assert_eq!(
        meta["outputs"],
        json!([{ "name": "output", "datatype": "FP32", "shape": [-1, 10] }])
    );

    let (status, body) = get(&server.url("/v2/models/mnist/ready")).await;
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["ready"], true);
    let (status, body) = get(&server.url("/v2")).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["name"],
        "constnet-serve"
    );
    let (status, body) = get(&server.url("/v1/models/mnist")).await;
    assert_eq!(status, 200);
    assert!(body.contains("AVAILABLE"), "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_infer_answers_what_the_network_computes() {
    let server = start(mnist()).await;
    let net = trained();
    let (x, labels) = digits(40);

    // One digit, then a batch of 40 (two chunks of 16 through forward_batch and 8 one at a time).
    for n in [1, 40] {
        let (status, body) = post(&server.url("/v2/models/mnist/infer"), v2_body(&x[..n])).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["model_name"], "mnist");
        assert_eq!(body["id"], "t1");
        let out = &body["outputs"][0];
        assert_eq!(out["name"], "output");
        assert_eq!(out["datatype"], "FP32");
        assert_eq!(out["shape"], json!([n, 10]));
        let y = floats(&out["data"]);
        assert_eq!(y.len(), n * 10);
        let mut correct = 0;
        for (i, row) in y.chunks(10).enumerate() {
            let expected = net.forward(&x[i]);
            for (a, b) in row.iter().zip(expected) {
                assert!((a - b).abs() <= 1e-6, "sample {i}: {a} vs {b}");
            }
            correct += usize::from(index_of_max(row) == labels[i]);
        }
        // The torch-trained network reads real digits (93 % on the 2,000 test digits).
        assert!(correct * 10 >= n * 8, "{correct} of {n} right");
    }

    // Nested data, as the protocol allows, gives the same numbers as flat data.
    let flat = post(&server.url("/v2/models/mnist/infer"), v2_body(&x[..3]))
        .await
        .1;
    let nested = json!({ "inputs": [{ "name": "input", "shape": [3, 784], "datatype": "FP32",
        "data": x[..3].iter().map(|s| s.to_vec()).collect::<Vec<_>>() }] });
    let (status, nested) = post(&server.url("/v2/models/mnist/infer"), nested.to_string()).await;
    assert_eq!(status, 200, "{nested}");
    assert_eq!(nested["outputs"][0]["data"], flat["outputs"][0]["data"]);
    assert!(nested.get("id").is_none());

    // A CNN-style shape, [N, 1, 28, 28], with 28x28 nesting per sample.
    let image = json!({ "inputs": [{ "name": "input", "shape": [1, 1, 28, 28], "datatype": "FP32",
        "data": [[x[0].chunks(28).map(|r| r.to_vec()).collect::<Vec<_>>()]] }] });
    let (status, image) = post(&server.url("/v2/models/mnist/infer"), image.to_string()).await;
    assert_eq!(status, 200, "{image}");
    assert_eq!(
        image["outputs"][0]["data"].as_array().unwrap()[..],
        flat["outputs"][0]["data"].as_array().unwrap()[..10]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tf_serving_predict() {
    let server = start(mnist()).await;
    let net = trained();
    let (x, _) = digits(3);
    let body = json!({ "instances": x.iter().map(|s| s.to_vec()).collect::<Vec<_>>() });
    let (status, body) = post(&server.url("/v1/models/mnist:predict"), body.to_string()).await;
    assert_eq!(status, 200, "{body}");
    let predictions = body["predictions"].as_array().unwrap();
    assert_eq!(predictions.len(), 3);
    for (row, x) in predictions.iter().zip(&x) {
        let row = floats(row);
        assert_eq!(row.len(), 10);
        for (a, b) in row.iter().zip(net.forward(x)) {
            assert!((a - b).abs() <= 1e-6);
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_is_self_contained() {
    let server = start(mnist()).await;
    let r = client().get(server.url("/")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"));
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = r.text().await.unwrap();
    assert!(html.contains("<canvas id=\"pad\""));
    assert!(
        html.contains("const MODEL = \"mnist\";"),
        "the model's name is filled in"
    );
    // Nothing to load from anywhere: no external scripts, styles, fonts or images.
    for needle in ["http://", "https://", "src=", "<link", "@import", "url("] {
        assert!(!html.contains(needle), "the page contains {needle}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_are_400_with_a_reason_and_the_server_stays_ready() {
    let server = start(mnist()).await;
    let v2 = server.url("/v2/models/mnist/infer");
    let v1 = server.url("/v1/models/mnist:predict");
    let digit: Vec<String> = digits(1).0[0].iter().map(|v| v.to_string()).collect();
    let tensor = |shape: &str, data: &str| {
        format!(
            r#"{{"inputs":[{{"name":"input","shape":{shape},"datatype":"FP32","data":{data}}}]}}"#
        )
    };
    let values = |n: usize, last: &str| {
        let mut v = vec!["0.5".to_string(); n - 1];
        v.push(last.to_string());
        format!("[{}]", v.join(","))
    };
    let cases: Vec<(&str, &String, String, &str)> = vec![
        (
            "malformed JSON",
            &v2,
            r#"{"inputs": [{"name": "input""#.into(),
            "malformed JSON",
        ),
        ("not JSON", &v2, "hello".into(), "malformed JSON"),
        ("empty body", &v2, "".into(), "malformed JSON"),
        (
            "783 values",
            &v2,
            tensor("[1,783]", &values(783, "0")),
            "[N, 784]",
        ),
        (
            "785 values, shape [1,784]",
            &v2,
            tensor("[1,784]", &values(785, "0")),
            "each sample has 784 values",
        ),
        (
            "shape disagrees with data",
            &v2,
            tensor("[2,784]", &format!("[{}]", digit.join(","))),
            "holds 1568 values but 'data' has 784",
        ),
        (
            "a string",
            &v2,
            tensor("[1,784]", &values(784, "\"a\"")),
            "found the string \"a\"",
        ),
        (
            "a \"NaN\" string",
            &v2,
            tensor("[1,784]", &values(784, "\"NaN\"")),
            "found the string \"NaN\"",
        ),
        (
            "a NaN token",
            &v2,
            tensor("[1,784]", &values(784, "NaN")),
            "malformed JSON",
        ),
        (
            "Infinity",
            &v2,
            tensor("[1,784]", &values(784, "Infinity")),
            "malformed JSON",
        ),
        (
            "1e39",
            &v2,
            tensor("[1,784]", &values(784, "1e39")),
            "does not fit in FP32",
        ),
        (
            "-1e39",
            &v2,
            tensor("[1,784]", &values(784, "-1e39")),
            "does not fit in FP32",
        ),
        (
            "1e400",
            &v2,
            tensor("[1,784]", &values(784, "1e400")),
            "number out of range",
        ),
        ("null", &v2, tensor("[1,784]", &values(784, "null")), "null"),
        (
            "true",
            &v2,
            tensor("[1,784]", &values(784, "true")),
            "boolean",
        ),
        (
            "an object",
            &v2,
            tensor("[1,784]", &values(784, "{}")),
            "map",
        ),
        (
            "empty input list",
            &v2,
            r#"{"inputs": []}"#.into(),
            "'inputs' is empty",
        ),
        (
            "no inputs field",
            &v2,
            r#"{"instances": []}"#.into(),
            "missing field `inputs`",
        ),
        ("N = 0", &v2, tensor("[0,784]", "[]"), "N = 0"),
        (
            "negative shape",
            &v2,
            tensor("[-1,784]", &values(784, "0")),
            "negative",
        ),
        (
            "shape of floats",
            &v2,
            tensor("[1.5,784]", &values(784, "0")),
            "floating point",
        ),
        (
            "INT32",
            &v2,
            tensor("[1,784]", &values(784, "0")).replace("FP32", "INT32"),
            "is not supported; the input is FP32",
        ),
        (
            "wrong input name",
            &v2,
            tensor("[1,784]", &values(784, "0")).replace("\"input\"", "\"pixels\""),
            "unknown input 'pixels'",
        ),
        (
            "two inputs",
            &v2,
            {
                let one = tensor("[1,784]", &values(784, "0"));
                let t = &one[11..one.len() - 2];
                format!(r#"{{"inputs":[{t},{t}]}}"#)
            },
            "more than one",
        ),
        (
            "ragged nested data",
            &v2,
            tensor(
                "[2,392]",
                &format!("[{},{}]", values(392, "0"), values(391, "0")),
            ),
            "ragged",
        ),
        (
            "nesting disagrees with shape",
            &v2,
            tensor(
                "[1,784]",
                &format!("[{},{}]", values(392, "0"), values(392, "0")),
            ),
            "nested 'data' has shape [2, 392]",
        ),
        (
            "data not a list",
            &v2,
            tensor("[1,784]", "0.5"),
            "single number",
        ),
        (
            "v1: 783 values",
            &v1,
            format!(r#"{{"instances":[{}]}}"#, values(783, "0")),
            "instance 0 has 783 values; the model takes 784",
        ),
        (
            "v1: empty instances",
            &v1,
            r#"{"instances":[]}"#.into(),
            "'instances' is empty",
        ),
        (
            "v1: no instances",
            &v1,
            r#"{"signature_name":"x"}"#.into(),
            "missing field `instances`",
        ),
        (
            "v1: 1e39",
            &v1,
            format!(r#"{{"instances":[{}]}}"#, values(784, "1e39")),
            "does not fit in FP32",
        ),
        (
            "v1: a string",
            &v1,
            format!(r#"{{"instances":[{}]}}"#, values(784, "\"x\"")),
            "found the string \"x\"",
        ),
        (
            "v1: malformed",
            &v1,
            r#"{"instances":[[1,2"#.into(),
            "malformed JSON",
        ),
    ];
    for (what, url, body, reason) in cases {
        let (status, answer) = post(url, body).await;
        assert_eq!(status, 400, "{what}: {answer}");
        let message = error_of(&answer);
        assert!(
            message.contains(reason),
            "{what}: {message:?} should say {reason:?}"
        );
        assert_ready(&server).await;
    }
    // Every wrong count names the model's width.
    for body in [
        tensor("[1,783]", &values(783, "0")),
        tensor("[1,784]", &values(783, "0")),
    ] {
        assert!(error_of(&post(&v2, body).await.1).contains("784"));
    }

    // Inputs that are valid FP32 but so large that the network's output is not finite.
    let (status, answer) = post(
        &v2,
        tensor("[1,784]", &values(784, "3e38").replace("0.5", "3e38")),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(error_of(&answer).contains("not finite"));

    // The refusals are counted.
    let (_, metrics) = get(&server.url("/metrics")).await;
    let line = metrics
        .lines()
        .find(|l| l.starts_with("constnet_rejected_total{reason=\"bad_request\"}"))
        .unwrap();
    let n: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n >= 35, "{line}");
    assert_ready(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_models_and_paths_are_404() {
    let server = start(mnist()).await;
    let body = v2_body(&digits(1).0);
    let (status, answer) = post(&server.url("/v2/models/cifar/infer"), body.clone()).await;
    assert_eq!(status, 404);
    assert_eq!(
        error_of(&answer),
        "unknown model 'cifar'; this server serves 'mnist'"
    );
    let (status, answer) = post(
        &server.url("/v1/models/cifar:predict"),
        r#"{"instances":[]}"#,
    )
    .await;
    assert_eq!(status, 404);
    assert!(error_of(&answer).contains("'cifar'"));
    for path in [
        "/v2/models/cifar",
        "/v2/models/cifar/ready",
        "/v1/models/cifar",
        "/nothing",
        "/v2/models/mnist/explain",
    ] {
        let (status, text) = get(&server.url(path)).await;
        assert_eq!(status, 404, "{path}");
        assert!(
            serde_json::from_str::<Value>(&text).unwrap()["error"].is_string(),
            "{path}"
        );
    }
    let (status, _) = post(&server.url("/v1/models/mnist:classify"), "{}").await;
    assert_eq!(status, 404);
    // A name that is not UTF-8 once decoded.
    let (status, answer) = post(&server.url("/v2/models/%FF/infer"), body).await;
    assert_eq!(status, 400);
    assert!(error_of(&answer).contains("invalid path"), "{answer}");
    assert_ready(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_methods_are_405() {
    let server = start(mnist()).await;
    let c = client();
    for (method, path) in [
        ("GET", "/v2/models/mnist/infer"),
        ("PUT", "/v2/models/mnist/infer"),
        ("POST", "/v2/health/live"),
        ("POST", "/v2/health/ready"),
        ("DELETE", "/metrics"),
        ("POST", "/"),
        ("GET", "/v1/models/mnist:predict"),
        ("POST", "/v1/models/mnist"),
        ("PATCH", "/v1/models/mnist:predict"),
    ] {
        let r = c
            .request(method.parse().unwrap(), server.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 405, "{method} {path}");
        let body: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        assert!(error_of(&body).contains(method), "{method} {path}: {body}");
    }
    assert_ready(&server).await;
    server.stop().await;
}

/// Writes `request` on a fresh connection and reads until the server closes it or `wait`
/// passes; returns what came back.
fn raw(addr: SocketAddr, request: &[u8], wait: Duration) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(wait)).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_are_413() {
    let server = start(mnist().body_limit(64 * 1024)).await;
    let url = server.url("/v2/models/mnist/infer");
    // A valid request of 16 digits is about 100 KB.
    let (x, _) = digits(16);
    let big = v2_body(&x);
    assert!(big.len() > 64 * 1024);
    let (status, answer) = post(&url, big).await;
    assert_eq!(status, 413);
    assert_eq!(
        error_of(&answer),
        "request body larger than the limit of 65536 bytes"
    );
    // Under the limit it is answered.
    assert_eq!(post(&url, v2_body(&x[..4])).await.0, 200);
    let (status, _) = post(&server.url("/v1/models/mnist:predict"), vec![b' '; 70_000]).await;
    assert_eq!(status, 413);

    // A declared length over the limit is refused before the body is read; so is a chunked
    // body that grows past it.
    let addr = server.addr;
    let declared = tokio::task::spawn_blocking(move || {
        raw(addr, b"POST /v2/models/mnist/infer HTTP/1.1\r\nhost: t\r\ncontent-length: 100000000\r\n\r\n{", Duration::from_secs(5))
    });
    let declared = declared.await.unwrap();
    assert!(declared.starts_with("HTTP/1.1 413"), "{declared}");
    let chunked = tokio::task::spawn_blocking(move || {
        let mut req = b"POST /v1/models/mnist:predict HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..3 {
            req.extend_from_slice(format!("{:x}\r\n", 30_000).as_bytes());
            req.extend(std::iter::repeat_n(b' ', 30_000));
            req.extend_from_slice(b"\r\n");
        }
        raw(addr, &req, Duration::from_secs(5))
    });
    let chunked = chunked.await.unwrap();
    assert!(chunked.starts_with("HTTP/1.1 413"), "{chunked}");
    assert_ready(&server).await;
    server.stop().await;
}

network! {
    /// Slow enough (about 6 M multiply-adds a sample) to keep a worker busy while others queue.
    pub struct Heavy {
        a: Dense<784, 2048, Relu>,
        b: Dense<2048, 2048, Relu>,
        out: Dense<2048, 10, Softmax>,
    }
}

fn zeros_body(n: usize) -> String {
    let data = vec!["0"; n * 784].join(",");
    format!(
        r#"{{"inputs":[{{"name":"input","shape":[{n},784],"datatype":"FP32","data":[{data}]}}]}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_is_503_not_a_longer_queue() {
    let server = start(
        Server::new("heavy", Heavy::new_boxed(1))
            .workers(1)
            .queue(2),
    )
    .await;
    let url = server.url("/v2/models/heavy/infer");
    // Each request runs for tens of milliseconds; twelve at once cannot all fit in a queue of 2.
    let body = zeros_body(32);
    let requests = (0..12).map(|_| {
        let (url, body) = (url.clone(), body.clone());
        tokio::spawn(async move {
            let r = client().post(url).body(body).send().await.unwrap();
            let status = r.status().as_u16();
            let retry = r.headers().get("retry-after").is_some();
            let text = r.text().await.unwrap();
            (status, retry, text)
        })
    });
    let mut answered = 0;
    let mut refused = 0;
    for r in requests.collect::<Vec<_>>() {
        let (status, retry, text) = r.await.unwrap();
        match status {
            200 => answered += 1,
            503 => {
                refused += 1;
                assert!(retry, "a 503 says when to retry");
                assert!(text.contains("overloaded"), "{text}");
            }
            other => panic!("status {other}: {text}"),
        }
    }
    assert!(
        answered >= 1 && refused >= 1,
        "{answered} answered, {refused} refused"
    );
    // Once the queue drains, requests are answered again.
    assert_ready(&server).await;
    assert_eq!(post(&url, zeros_body(1)).await.0, 200);
    let (_, metrics) = get(&server.url("/metrics")).await;
    assert!(
        metrics.contains(&format!(
            "constnet_rejected_total{{reason=\"overload\"}} {refused}\n"
        )),
        "{metrics}"
    );
    assert!(metrics.contains("constnet_queue_depth{model=\"heavy\"} 0\n"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_time_out() {
    let server = start(mnist().timeout(Duration::from_millis(300))).await;
    let addr = server.addr;
    // Headers complete, body never finishes: 408 with a JSON reason.
    let slow_body = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let answer = raw(addr, b"POST /v2/models/mnist/infer HTTP/1.1\r\nhost: t\r\ncontent-length: 1000\r\n\r\n{\"inputs\"", Duration::from_secs(5));
        (answer, started.elapsed())
    });
    let (answer, took) = slow_body.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains(r#"{"error":"request not completed within 0.300 s"}"#),
        "{answer}"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
    // Headers that never finish: the connection is closed.
    let slow_headers = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let answer = raw(
            addr,
            b"POST /v2/models/mnist/infer HTTP/1.1\r\nhost: t\r\n",
            Duration::from_secs(5),
        );
        (answer, started.elapsed())
    });
    let (_, took) = slow_headers.await.unwrap();
    assert!(
        took < Duration::from_secs(3),
        "the connection stayed open {took:?}"
    );
    assert_ready(&server).await;
    let (_, metrics) = get(&server.url("/metrics")).await;
    assert!(
        metrics.contains("constnet_rejected_total{reason=\"timeout\"} 1\n"),
        "{metrics}"
    );
    server.stop().await;
}

/// The `constnet_batch_size` histogram's count and sum.
fn batches(metrics: &str) -> (u64, u64) {
    let value = |name: &str| -> u64 {
        let line = metrics.lines().find(|l| l.starts_with(name)).unwrap();
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    (
        value("constnet_batch_size_count"),
        value("constnet_batch_size_sum"),
    )
}

/// Sends each digit as its own request, all at once; checks each answer is its digit's.
async fn concurrent_digits(server: &common::Running) {
    let net = trained();
    let (x, _) = digits(12);
    let url = server.url("/v2/models/mnist/infer");
    let requests: Vec<_> = x
        .iter()
        .map(|d| {
            let (url, body) = (url.clone(), v2_body(std::slice::from_ref(d)));
            tokio::spawn(async move { post(&url, body).await })
        })
        .collect();
    for (r, d) in requests.into_iter().zip(&x) {
        let (status, body) = r.await.unwrap();
        assert_eq!(status, 200);
        let y = floats(&body["outputs"][0]["data"]);
        for (a, b) in y.iter().zip(net.forward(d)) {
            assert!((a - b).abs() <= 1e-6, "an answer went to the wrong request");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_batching_merges_waiting_requests_and_routes_each_answer() {
    // One worker that waits up to 200 ms for company: twelve requests sent at once share passes.
    let batching = Batching::Dynamic {
        max_batch: 64,
        window: Duration::from_millis(200),
    };
    let server = start(mnist().workers(1).batching(batching)).await;
    concurrent_digits(&server).await;
    let (passes, samples) = batches(&get(&server.url("/metrics")).await.1);
    assert_eq!(samples, 12);
    assert!(
        passes < 12,
        "{passes} forward passes for 12 requests: nothing was merged"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_batching_each_request_is_its_own_pass() {
    let server = start(mnist().batching(Batching::Off)).await;
    concurrent_digits(&server).await;
    assert_eq!(batches(&get(&server.url("/metrics")).await.1), (12, 12));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_latency_and_batches() {
    let server = start(mnist()).await;
    let url = server.url("/v2/models/mnist/infer");
    assert_eq!(post(&url, v2_body(&digits(5).0)).await.0, 200);
    assert_eq!(post(&url, "{").await.0, 400);
    assert_eq!(get(&server.url("/v2/health/live")).await.0, 200);
    let r = client().get(server.url("/metrics")).send().await.unwrap();
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let m = r.text().await.unwrap();
    for line in [
        "constnet_requests_total{endpoint=\"/v2/models/{name}/infer\",status=\"200\"} 1",
        "constnet_requests_total{endpoint=\"/v2/models/{name}/infer\",status=\"400\"} 1",
        "constnet_requests_total{endpoint=\"/v2/health/live\",status=\"200\"} 1",
        "constnet_request_duration_seconds_bucket{endpoint=\"/v2/models/{name}/infer\",le=\"+Inf\"} 2",
        "constnet_request_duration_seconds_count{endpoint=\"/v2/models/{name}/infer\"} 2",
        "constnet_batch_size_bucket{model=\"mnist\",le=\"4\"} 0",
        "constnet_batch_size_bucket{model=\"mnist\",le=\"8\"} 1",
        "constnet_batch_size_sum{model=\"mnist\"} 5",
        "constnet_rejected_total{reason=\"bad_request\"} 1",
        "constnet_rejected_total{reason=\"overload\"} 0",
        "# TYPE constnet_request_duration_seconds histogram",
    ] {
        assert!(m.lines().any(|l| l == line), "missing {line:?} in\n{m}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_requests_in_flight_then_refuses_connections() {
    let server = start(Server::new("heavy", Heavy::new_boxed(1)).workers(1)).await;
    let url = server.url("/v2/models/heavy/infer");
    let addr = server.addr;
    // About a quarter of a second of inference.
    let in_flight = tokio::spawn(async move { post(&url, zeros_body(128)).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    server.stop().await;
    let (status, body) = in_flight.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outputs"][0]["shape"], json!([128, 10]));
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(
        TcpStream::connect(addr).is_err(),
        "still accepting after shutdown"
    );
}

/// The index of the largest value.
fn index_of_max(row: &[f32]) -> usize {
    (0..row.len()).fold(0, |best, i| if row[i] > row[best] { i } else { best })
}
