//! The drawing page in a real browser: Debian's headless Chromium driven through chromedriver
//! (WebDriver, by fantoccini). Trusted pointer input draws strokes with a mouse and with a
//! finger; the page must show ten bars and the predicted digit, and read a vertical stroke as 1.
//!
//! Skipped, with a message, only when Chromium or chromedriver is missing and `CI` is unset;
//! under CI a missing browser is a failure (`.ci/run` installs `chromium chromium-driver`).
//! `CONSTNET_UPDATE_SCREENSHOT=1` also writes the screenshot to `docs/serve.png` (the README's).

mod common;

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{start, trained};
use constnet_serve::Server;
use fantoccini::actions::{
    InputSource, MouseActions, PointerAction, TouchActions, MOUSE_BUTTON_LEFT,
};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// The first of `candidates` (or the path in `$var`) that exists.
fn find(var: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(var) {
        return Some(path.into());
    }
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

/// Kills the chromedriver this test started (by its handle) and removes the profile directory.
struct Driver {
    child: Child,
    profile: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn text(client: &Client, script: &str) -> Value {
    client.execute(script, vec![]).await.unwrap()
}

/// Waits until the page shows a prediction different from `before`; returns it.
async fn prediction_after(client: &Client, before: &str) -> String {
    let started = Instant::now();
    loop {
        let shown = text(
            client,
            "return document.getElementById('prediction').textContent",
        )
        .await;
        let shown = shown.as_str().unwrap_or("").to_string();
        if !shown.is_empty() && shown != before {
            return shown;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no prediction on the page; status: {}",
            text(
                client,
                "return document.getElementById('status').textContent"
            )
            .await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The bars' heights in percent, the index of the highlighted one, and how many pixels of the
/// 28x28 preview are lit.
async fn chart(client: &Client) -> (Vec<f64>, Vec<usize>, u64) {
    let v = text(
        client,
        "const bars = [...document.querySelectorAll('#bars .bar')];
         const p = document.getElementById('preview').getContext('2d').getImageData(0, 0, 28, 28).data;
         let lit = 0; for (let i = 0; i < p.length; i += 4) if (p[i] > 0) lit++;
         return { heights: bars.map(b => parseFloat(b.querySelector('.fill').style.height)),
                  top: bars.flatMap((b, i) => b.classList.contains('top') ? [i] : []), lit };",
    )
    .await;
    let heights = v["heights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_f64().unwrap())
        .collect();
    let top = v["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_u64().unwrap() as usize)
        .collect();
    (heights, top, v["lit"].as_u64().unwrap())
}

fn check_chart(heights: &[f64], top: &[usize], lit: u64, digit: &str) {
    assert_eq!(heights.len(), 10, "ten bars");
    let sum: f64 = heights.iter().sum();
    assert!(
        (sum - 100.0).abs() < 1.0,
        "the probabilities add up to {sum} %"
    );
    let best = (0..10).fold(0, |b, i| if heights[i] > heights[b] { i } else { b });
    assert_eq!(top, [best], "the tallest bar is highlighted");
    assert_eq!(
        best.to_string(),
        digit,
        "the shown digit is the tallest bar's"
    );
    assert!(
        lit > 10,
        "the 28x28 preview shows the digit ({lit} pixels lit)"
    );
}

/// A pointer path through `points` (offsets from the pad's centre, in CSS pixels), in steps.
fn stroke(pad: &fantoccini::elements::Element, points: &[(f64, f64)]) -> Vec<PointerAction> {
    let at = |(x, y): (f64, f64), ms| PointerAction::MoveToElement {
        element: pad.clone(),
        duration: Some(Duration::from_millis(ms)),
        x,
        y,
    };
    let mut actions = vec![
        at(points[0], 0),
        PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        },
    ];
    for pair in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
        for i in 1..=12 {
            let t = f64::from(i) / 12.0;
            actions.push(at((x0 + t * (x1 - x0), y0 + t * (y1 - y0)), 8));
        }
    }
    actions.push(PointerAction::Up {
        button: MOUSE_BUTTON_LEFT,
    });
    actions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drawn_one_is_read_as_one() {
    let chromium = find(
        "CHROMIUM",
        &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
    );
    let chromedriver = find("CHROMEDRIVER", &["/usr/bin/chromedriver"]);
    let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the browser test: apt-get install chromium chromium-driver"
        );
        eprintln!(
            "SKIPPED: Chromium or chromedriver not found (apt-get install chromium chromium-driver, \
             or set CHROMIUM / CHROMEDRIVER)"
        );
        return;
    };

    let server = start(Server::new("mnist", trained())).await;
    let port = free_port();
    let profile =
        std::env::temp_dir().join(format!("constnet-browser-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&profile).unwrap();
    let _driver = Driver {
        child: Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        profile: profile.clone(),
    };
    let started = Instant::now();
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=760,860",
        &format!("--user-data-dir={}", profile.display()),
    ];
    let caps = json!({ "goog:chromeOptions": { "binary": chromium, "args": args } });
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps.as_object().unwrap().clone())
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session with Chromium");

    client.goto(&server.url("/")).await.unwrap();
    let bars = client.find_all(Locator::Css("#bars .bar")).await.unwrap();
    assert_eq!(bars.len(), 10);
    let pad = client.find(Locator::Css("#pad")).await.unwrap();

    // A vertical stroke with the mouse, down the middle of the pad: a 1.
    let one = stroke(&pad, &[(0.0, -95.0), (0.0, 95.0)]);
    let mouse = one
        .into_iter()
        .fold(MouseActions::new("mouse".into()), |m, a| m.then(a));
    client.perform_actions(mouse).await.unwrap();
    let digit = prediction_after(&client, "").await;
    let (heights, top, lit) = chart(&client).await;
    check_chart(&heights, &top, lit, &digit);
    assert_eq!(digit, "1", "a vertical stroke; bars {heights:?}");

    // Cleared, then a 7 drawn with a finger (touch pointer events).
    client
        .find(Locator::Css("#clear"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(
        text(
            &client,
            "return document.getElementById('prediction').textContent"
        )
        .await,
        ""
    );
    let seven = stroke(&pad, &[(-75.0, -90.0), (75.0, -90.0), (-5.0, 100.0)]);
    let finger = seven
        .into_iter()
        .fold(TouchActions::new("finger".into()), |t, a| t.then(a));
    client.perform_actions(finger).await.unwrap();
    let digit = prediction_after(&client, "").await;
    let (heights, top, lit) = chart(&client).await;
    check_chart(&heights, &top, lit, &digit);
    assert_eq!(digit, "7", "bars {heights:?}");

    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve.png");
    std::fs::write(&shot, &png).unwrap();
    eprintln!("screenshot: {}", shot.display());
    if std::env::var_os("CONSTNET_UPDATE_SCREENSHOT").is_some() {
        let docs = common::repo().join("docs");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::write(docs.join("serve.png"), &png).unwrap();
    }
    client.close().await.unwrap();
    server.stop().await;
}
