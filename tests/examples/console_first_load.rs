//! `.ci/bench console`: the console's first load in headless Chromium, against the
//! demo township (`fieldvisit demo` on `DATABASE_URL`, the release build in
//! `FIELDVISIT_BIN`). Each run is a new browser profile (an empty cache): sign in,
//! then measure from the home page's navigation until places show on the map, and
//! the bytes that crossed the wire (the Resource Timing `transferSize` of the page
//! and everything it loaded, compressed as sent) against their decoded size. A
//! reload then shows what the cache saves.
//!
//! Usage: `console_first_load [--runs N] [--smoke]`.

use std::time::Duration;

use fantoccini::Locator;
use fieldvisit_tests::bench::{self, median};
use fieldvisit_tests::browser::Browser;
use serde_json::Value;

const MEASURE: &str = "const entries = [performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')];
    return { shown: Number(document.body.dataset.placesShownMs), transferred: entries.reduce((a, e) => a + (e.transferSize || 0), 0),
      decoded: entries.reduce((a, e) => a + (e.decodedBodySize || 0), 0), requests: entries.length };";

async fn load(browser: &Browser, base: &str, sign_in: bool) -> Value {
    let c = &browser.client;
    if sign_in {
        c.goto(&format!("{base}/login")).await.unwrap();
        c.find(Locator::Id("username")).await.unwrap().send_keys("presidium").await.unwrap();
        c.find(Locator::Id("password")).await.unwrap().send_keys("fieldvisit").await.unwrap();
        c.find(Locator::Id("login-submit")).await.unwrap().click().await.unwrap();
    } else {
        c.refresh().await.unwrap();
    }
    browser.wait_for("document.body.dataset.placesShownMs", 60).await;
    // Let the last tiles land before counting bytes.
    tokio::time::sleep(Duration::from_millis(500)).await;
    c.execute(MEASURE, vec![]).await.unwrap()
}

#[tokio::main]
async fn main() {
    let args = bench::args(5);
    let runs = args.runs;
    let (server, _) = bench::demo(args).await;
    let (mut shown, mut transferred, mut decoded, mut warm) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let browser = Browser::start(1366, 768).await;
        let cold = load(&browser, &server.base, true).await;
        let again = load(&browser, &server.base, false).await;
        shown.push(cold["shown"].as_f64().unwrap());
        transferred.push(cold["transferred"].as_f64().unwrap());
        decoded.push(cold["decoded"].as_f64().unwrap());
        warm.push(again["transferred"].as_f64().unwrap());
        browser.close().await;
    }
    let kb = |b: f64| b / 1024.0;
    println!("console first load, {runs} runs (a new browser profile each), medians:");
    println!("  time from the home page's navigation until places show: {:.0} ms", median(shown.clone()));
    println!(
        "  bytes transferred (compressed): {:.0} KiB; decoded: {:.0} KiB ({:.1}× smaller on the wire)",
        kb(median(transferred.clone())),
        kb(median(decoded.clone())),
        median(decoded) / median(transferred).max(1.0)
    );
    println!("  a reload with the cache warm: {:.0} KiB transferred", kb(median(warm)));
    println!(
        "  (range of the time to places: {:.0}–{:.0} ms)",
        shown.iter().copied().fold(f64::MAX, f64::min),
        shown.iter().copied().fold(0.0, f64::max)
    );
}
