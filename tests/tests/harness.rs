//! The browser harness itself, without the app: a tiny server in this process
//! (a page that records the network's comings and goings and asks for a
//! position; an upload that counts its bytes), headless Chromium at a phone's
//! size, and the proxy in front. DevTools' geolocation and network emulation
//! do what the page can see (and a service worker's own fetches go offline and
//! slow with the page), a phone restarted on its profile keeps its service
//! worker and storage, the proxy passes answers through as they are, its lost
//! signal is a network error and never an HTTP status, and a cut upload fails
//! in the browser while the server never gets the whole body.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::Html;
use axum::routing::{get, put};
use fieldvisit_tests::browser::Browser;
use fieldvisit_tests::proxy::Proxy;
use futures_util::StreamExt;
use serde_json::{Value, json};

const PAGE: &str = r#"<!doctype html>
<meta charset=utf-8><title>harness</title>
<meta name=viewport content="width=device-width, initial-scale=1">
<script>
window.events = [];
addEventListener('online', () => events.push('online ' + navigator.onLine));
addEventListener('offline', () => events.push('offline ' + navigator.onLine));
window.position = () => new Promise(resolve => navigator.geolocation.getCurrentPosition(
  p => resolve({lat: p.coords.latitude, lon: p.coords.longitude, accuracy: p.coords.accuracy}),
  e => resolve({code: e.code, message: e.message}),
  {timeout: 10000, maximumAge: 0}));
window.attempt = (url, init) => fetch(url, init).then(
  async r => ({status: r.status, text: await r.text()}),
  e => ({error: e.name, message: e.message}));
window.upload = () => attempt('/upload', {method: 'PUT', body: new Uint8Array(200 * 1024).fill(7)});
</script>
<p>harness</p>"#;

/// A service worker that answers `?worker` itself and fetches everything else.
const WORKER: &str = "
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', e => e.waitUntil(clients.claim()));
self.addEventListener('fetch', e => e.respondWith(new URL(e.request.url).search === '?worker'
  ? new Response('from the worker') : fetch(e.request)));
";

/// What the upload handler saw of each body: `Ok(bytes)` for a whole one,
/// `Err(bytes)` for one that broke off after `bytes`.
type Seen = Arc<Mutex<Vec<Result<usize, usize>>>>;

async fn upload(State(seen): State<Seen>, body: Body) -> String {
    let mut stream = body.into_data_stream();
    let mut bytes = 0;
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            seen.lock().unwrap().push(Err(bytes));
            return String::new();
        };
        bytes += chunk.len();
    }
    seen.lock().unwrap().push(Ok(bytes));
    bytes.to_string()
}

/// A redirect with the headers a proxy must pass through, echoing the request's.
async fn moved(headers: axum::http::HeaderMap, uri: axum::http::Uri) -> impl axum::response::IntoResponse {
    let host = headers[header::HOST].to_str().unwrap().to_owned();
    let echo = |name| headers.get(name).map_or("", |v| v.to_str().unwrap()).to_owned();
    (
        axum::http::StatusCode::SEE_OTHER,
        // Appended, not inserted: both cookies.
        axum::response::AppendHeaders([
            (header::LOCATION, format!("http://{host}/there?{}", uri.query().unwrap_or_default())),
            (header::SET_COOKIE, "a=1; Path=/; HttpOnly".to_owned()),
            (header::SET_COOKIE, "b=2; Path=/".to_owned()),
            (header::ETAG, "\"v1\"".to_owned()),
            (header::CACHE_CONTROL, "no-cache".to_owned()),
            (header::CONTENT_ENCODING, echo(header::ACCEPT_ENCODING)),
        ]),
        format!("cookie={}", echo(header::COOKIE)),
    )
}

/// The tiny server, on a free port: its base URL and what its uploads saw.
async fn upstream() -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/upload", put(upload))
        .route("/moved", get(moved))
        .route("/sw.js", get(|| async { ([(header::CONTENT_TYPE, "text/javascript")], WORKER) }))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

async fn js(browser: &Browser, script: &str) -> Value {
    browser.client.execute(script, vec![]).await.unwrap_or_else(|e| panic!("{script}: {e}"))
}

/// Latitude, longitude and accuracy of a position the page read.
fn coords(position: &Value) -> (f64, f64, f64) {
    let number = |key: &str| position[key].as_f64().unwrap_or_else(|| panic!("no {key} in {position}"));
    (number("lat"), number("lon"), number("accuracy"))
}

#[tokio::test]
async fn the_page_reads_the_position_it_is_given_and_a_refusal() {
    let started = Instant::now();
    let (base, _) = upstream().await;
    let browser = Browser::phone().await;
    browser.client.goto(&format!("{base}/")).await.unwrap();
    let screen = js(&browser, "return [innerWidth, innerHeight, devicePixelRatio, navigator.maxTouchPoints]").await;
    assert_eq!(screen, json!([360, 640, 2, 5]), "a phone's screen");

    browser.set_geolocation(29.561_3, 106.551_7, 12.5).await;
    assert_eq!(coords(&js(&browser, "return position()").await), (29.561_3, 106.551_7, 12.5));
    // Moved on: the page reads the new position.
    browser.set_geolocation(29.6, 106.6, 40.0).await;
    assert_eq!(coords(&js(&browser, "return position()").await), (29.6, 106.6, 40.0));

    browser.deny_geolocation().await;
    let refused = js(&browser, "return position()").await;
    assert_eq!(refused["code"], 1, "PERMISSION_DENIED: {refused}");
    browser.close().await;
    eprintln!("geolocation: {:?}", started.elapsed());
}

#[tokio::test]
async fn devtools_takes_the_page_offline_and_back_and_throttles_it() {
    let started = Instant::now();
    let (base, _) = upstream().await;
    let browser = Browser::start(360, 640).await;
    browser.client.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(js(&browser, "return navigator.onLine").await, json!(true));

    browser.set_offline(true).await;
    browser.wait_for("!navigator.onLine && events.includes('offline false')", 5).await;
    let failed = js(&browser, "return attempt('/')").await;
    assert_eq!(failed["error"], "TypeError", "offline, a fetch rejects: {failed}");

    browser.set_offline(false).await;
    browser.wait_for("navigator.onLine && events.includes('online true')", 5).await;
    assert_eq!(js(&browser, "return attempt('/')").await["status"], 200);

    // Slow: each request waits out the latency.
    browser.throttle(600.0, 50_000.0, 50_000.0).await;
    browser.clear_cache().await;
    let took = js(
        &browser,
        "const t = performance.now(); return attempt('/?slow').then(r => [r.status, performance.now() - t])",
    )
    .await;
    assert_eq!(took[0], 200, "{took}");
    assert!(took[1].as_f64().unwrap() >= 550.0, "throttled to 600 ms of latency, took {took}");
    browser.set_offline(false).await;
    let took = js(
        &browser,
        "const t = performance.now(); return attempt('/?fast').then(r => [r.status, performance.now() - t])",
    )
    .await;
    assert!(took[1].as_f64().unwrap() < 550.0, "unthrottled again, took {took}");
    assert_eq!(js(&browser, "return events").await, json!(["offline false", "online true"]));
    browser.close().await;
    eprintln!("devtools network: {:?}", started.elapsed());
}

#[tokio::test]
async fn a_service_workers_own_fetches_go_offline_and_slow_with_the_page() {
    let started = Instant::now();
    let (base, _) = upstream().await;
    let browser = Browser::start(360, 640).await;
    browser.client.goto(&format!("{base}/")).await.unwrap();
    let scope =
        js(&browser, "return navigator.serviceWorker.register('/sw.js').then(r => r.scope, e => 'refused: ' + e)")
            .await;
    assert_eq!(scope, json!(format!("{base}/")), "service workers run on the loopback");
    browser.wait_for("navigator.serviceWorker.controller", 10).await;
    assert_eq!(js(&browser, "return attempt('/?worker')").await, json!({"status": 200, "text": "from the worker"}));
    assert_eq!(js(&browser, "return attempt('/?through')").await["status"], 200);

    browser.set_offline(true).await;
    let failed = js(&browser, "return attempt('/?through')").await;
    assert_eq!(failed["error"], "TypeError", "offline, the worker's own fetch fails too: {failed}");
    assert_eq!(js(&browser, "return attempt('/?worker')").await, json!({"status": 200, "text": "from the worker"}));

    browser.throttle(600.0, 50_000.0, 50_000.0).await;
    let took = js(
        &browser,
        "const t = performance.now(); return attempt('/?slow').then(r => [r.status, performance.now() - t])",
    )
    .await;
    assert_eq!(took[0], 200, "{took}");
    assert!(took[1].as_f64().unwrap() >= 550.0, "the worker's fetch waits out the latency, took {took}");
    browser.set_offline(false).await;
    assert_eq!(js(&browser, "return attempt('/?again')").await["status"], 200);
    browser.close().await;
    eprintln!("service worker: {:?}", started.elapsed());
}

#[tokio::test]
async fn the_proxy_passes_answers_through_as_they_are() {
    let (base, _) = upstream().await;
    // Bound first (a server may need the proxy's URL to start), then pointed at the server.
    let proxy = Proxy::bind().await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).no_gzip().build().unwrap();
    assert_eq!(http.get(proxy.url()).send().await.unwrap().status(), 502, "no upstream yet");
    proxy.set_upstream(&base);
    let answer = http
        .get(format!("{}/moved?x=1&y=2", proxy.url()))
        .header(header::COOKIE, "s=abc; t=def")
        .header(header::ACCEPT_ENCODING, "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    let h = answer.headers();
    // The upstream built its redirect from the Host it was sent (its own): the browser stays on the proxy.
    assert_eq!(h[header::LOCATION], format!("{}/there?x=1&y=2", proxy.url()));
    let cookies: Vec<_> = h.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap()).collect();
    assert_eq!(cookies, ["a=1; Path=/; HttpOnly", "b=2; Path=/"]);
    assert_eq!(h[header::ETAG], "\"v1\"");
    assert_eq!(h[header::CACHE_CONTROL], "no-cache");
    assert_eq!(h[header::CONTENT_ENCODING], "gzip, br", "Accept-Encoding reaches the upstream");
    assert_eq!(answer.text().await.unwrap(), "cookie=s=abc; t=def");
    assert_eq!(proxy.requests(), [("GET".to_owned(), "/moved".to_owned())]);
}

#[tokio::test]
async fn a_phone_restarted_on_its_profile_keeps_its_worker_and_storage() {
    let started = Instant::now();
    let (base, _) = upstream().await;
    let profile = std::env::temp_dir().join(format!("fieldvisit-harness-profile-{}", std::process::id()));
    let browser = Browser::phone_with_profile(&profile).await;
    browser.client.goto(&format!("{base}/")).await.unwrap();
    js(&browser, "return navigator.serviceWorker.register('/sw.js').then(r => r.scope)").await;
    browser.wait_for("navigator.serviceWorker.controller", 10).await;
    let stored = "localStorage.setItem('kept', 'yes'); return new Promise((resolve, reject) => {
        const open = indexedDB.open('outbox', 1);
        open.onupgradeneeded = () => open.result.createObjectStore('items');
        open.onsuccess = () => { const tx = open.result.transaction('items', 'readwrite');
            tx.objectStore('items').put('a check-in', 1); tx.oncomplete = () => resolve('stored'); tx.onerror = reject; };
        open.onerror = reject; })";
    assert_eq!(js(&browser, stored).await, "stored");
    browser.close().await;

    let browser = Browser::phone_with_profile(&profile).await;
    browser.client.goto(&format!("{base}/")).await.unwrap();
    // Controlled from the first load, without registering again.
    browser.wait_for("navigator.serviceWorker.controller", 10).await;
    let read = "return new Promise((resolve, reject) => { const open = indexedDB.open('outbox', 1);
        open.onsuccess = () => { const get = open.result.transaction('items').objectStore('items').get(1);
            get.onsuccess = () => resolve([localStorage.getItem('kept'), get.result]); get.onerror = reject; };
        open.onerror = reject; })";
    assert_eq!(js(&browser, read).await, json!(["yes", "a check-in"]));
    browser.close().await;
    let _ = std::fs::remove_dir_all(&profile);
    eprintln!("profile: {:?}", started.elapsed());
}

#[tokio::test]
async fn the_proxy_loses_the_signal_as_a_network_error() {
    let started = Instant::now();
    let (base, _) = upstream().await;
    let proxy = Proxy::start(&base).await;
    let browser = Browser::start(360, 640).await;
    browser.client.goto(&format!("{}/", proxy.url())).await.unwrap();
    assert_eq!(js(&browser, "return attempt('/')").await["status"], 200);

    proxy.set_offline(true);
    let failed = js(&browser, "return attempt('/?lost')").await;
    assert_eq!(failed["error"], "TypeError", "no signal, a fetch rejects: {failed}");
    // The browser itself still believes it is online (as a phone with one bar does).
    assert_eq!(js(&browser, "return navigator.onLine").await, json!(true));

    proxy.set_offline(false);
    let back = js(&browser, "return attempt('/?back')").await;
    assert_eq!(back["status"], 200, "{back}");
    assert!(back["text"].as_str().unwrap().contains("harness"));
    // Forwarded: the page, its first fetch and the last (the lost one never got through).
    let requests = proxy.requests();
    let pages = requests.iter().filter(|(method, path)| method == "GET" && path == "/").count();
    assert_eq!(pages, 3, "{requests:?}");
    browser.close().await;
    eprintln!("proxy offline: {:?}", started.elapsed());
}

#[tokio::test]
async fn an_upload_cut_mid_body_fails_and_the_server_keeps_nothing() {
    let started = Instant::now();
    let (base, seen) = upstream().await;
    let proxy = Proxy::start(&base).await;
    let browser = Browser::start(360, 640).await;
    browser.client.goto(&format!("{}/", proxy.url())).await.unwrap();

    proxy.cut_next_uploads(1, 1000);
    let cut = js(&browser, "return upload()").await;
    assert_eq!(cut["error"], "TypeError", "a cut upload rejects: {cut}");
    assert_eq!(proxy.cuts_done(), 1);
    // The server saw the body break off (and never the whole of it).
    let deadline = Instant::now() + Duration::from_secs(5);
    while seen.lock().unwrap().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let first = seen.lock().unwrap().clone();
    assert!(matches!(first[..], [Err(bytes)] if bytes <= 1000), "the server saw {first:?}");

    let whole = js(&browser, "return upload()").await;
    assert_eq!(whole, json!({"status": 200, "text": "204800"}));
    assert_eq!(proxy.cuts_done(), 1);
    assert_eq!(seen.lock().unwrap().last(), Some(&Ok(204_800)));
    // Two uploads, no silent resend of the cut one.
    let puts = proxy.requests().iter().filter(|(method, path)| method == "PUT" && path == "/upload").count();
    assert_eq!(puts, 2, "{:?}", proxy.requests());
    browser.close().await;
    eprintln!("cut upload: {:?}", started.elapsed());
}
