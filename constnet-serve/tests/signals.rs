//! The `serve` example binary (`constnet-serve/examples/serve.rs`) under SIGTERM and SIGINT:
//! it stops accepting, finishes the request in flight and exits 0 within 5 s.
#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `target/<profile>/examples/serve`, which `cargo test --workspace` builds beside the tests.
fn example() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.parent()?.join("examples/serve");
    path.exists().then_some(path)
}

struct Served {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Served {
    fn drop(&mut self) {
        // Only if a check failed before the server exited.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve() -> Option<Served> {
    let Some(binary) = example() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "the serve example is not built: run `cargo test --workspace` (it builds examples)"
        );
        eprintln!(
            "SKIPPED: target/*/examples/serve is not built; `cargo test --workspace` builds it"
        );
        return None;
    };
    let weights = common::repo().join("tests/data/interop/mlp.safetensors");
    let mut child = Command::new(binary)
        .args([
            "--weights",
            weights.to_str().unwrap(),
            "--addr",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("serving model 'mnist' on http://")
        .and_then(|rest| rest.strip_suffix('/'))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    Some(Served { child, addr })
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits up to `limit` for the process to exit.
fn exit_within(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(started.elapsed() < limit, "still running after {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn sigterm_finishes_the_request_in_flight_and_exits_0() {
    let Some(mut served) = serve() else { return };
    assert!(get(served.addr, "/v2/health/ready").starts_with("HTTP/1.1 200"));

    // A request whose body is half sent when the signal arrives.
    let (x, _) = common::digits(2);
    let body = common::v2_body(&x);
    let mut s = TcpStream::connect(served.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "POST /v2/models/mnist/infer HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    let (first, second) = body.as_bytes().split_at(body.len() / 2);
    s.write_all(first).unwrap();
    std::thread::sleep(Duration::from_millis(200));

    let signalled = Instant::now();
    signal(&served.child, "TERM");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        served.child.try_wait().unwrap().is_none(),
        "exited with a request in flight"
    );
    // No new connections once the signal is in.
    assert!(TcpStream::connect(served.addr).is_err(), "still accepting");

    s.write_all(second).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""shape":[2,10]"#), "{answer}");

    let status = exit_within(
        &mut served.child,
        Duration::from_secs(5) - signalled.elapsed(),
    );
    assert!(status.success(), "{status}");
    let mut rest = String::new();
    served
        .child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut rest)
        .unwrap();
    assert_eq!(rest, "shut down\n");
}

#[test]
fn sigint_with_idle_connections_exits_0_at_once() {
    let Some(mut served) = serve() else { return };
    // An idle keep-alive connection does not hold the shutdown up.
    let mut idle = TcpStream::connect(served.addr).unwrap();
    write!(idle, "GET /v2/health/live HTTP/1.1\r\nhost: t\r\n\r\n").unwrap();
    let mut buf = [0; 512];
    assert!(idle.read(&mut buf).unwrap() > 0);

    signal(&served.child, "INT");
    let status = exit_within(&mut served.child, Duration::from_secs(2));
    assert!(status.success(), "{status}");
}
