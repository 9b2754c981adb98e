//! `.ci/bench app`: the field app in headless Chromium at a phone's size, against the
//! demo township (`fieldvisit demo` on `DATABASE_URL`, the release build in
//! `FIELDVISIT_BIN`). Two measures:
//!
//! 1. **First load on slow 3G.** A new browser profile each run (an empty cache),
//!    signed in, then Chromium's network throttling at DevTools' "Slow 3G" (2,000 ms
//!    latency, 50 KB/s each way): from the navigation to `/app` until this month's
//!    places show (after the bootstrap pull), and the bytes that crossed the wire (the
//!    Resource Timing `transferSize` of the page and all it loaded) against the
//!    150 KB budget of the shell. A reload then opens from the service worker.
//! 2. **A full outbox.** 50 check-ins and a finding with 10 photos (2,560 × 1,920
//!    JPEGs, so the phone sends them as they are) queued with no signal; then the
//!    signal returns: the time from the `online` event until the outbox is empty and
//!    every photo's bytes are on the server. The reference is the Rust reference
//!    device (`sync::client`) doing the same work through the same proxy in the same
//!    run; the figure is the ratio.
//!
//! Usage: `app_bench [--runs N] [--smoke]`.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use fieldvisit_sync::client::{Connection, Device, DeviceSettings};
use fieldvisit_sync::protocol::{CheckInCreateV1, PhotoTarget, ReportedPosition};
use fieldvisit_tests::Server;
use fieldvisit_tests::bench::{self, median};
use fieldvisit_tests::browser::Browser;
use fieldvisit_tests::proxy::Proxy;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

const BUDGET: f64 = 150_000.0;
const MEASURE: &str =
    "const entries = [performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')];
    const shell = entries.filter((e) => !new URL(e.name).pathname.startsWith('/v1/'));
    return { shown: Number(document.body.dataset.monthShownMs),
      transferred: entries.reduce((a, e) => a + (e.transferSize || 0), 0),
      shell: shell.reduce((a, e) => a + (e.transferSize || 0), 0),
      decoded: entries.reduce((a, e) => a + (e.decodedBodySize || 0), 0), requests: entries.length };";

async fn sign_in(b: &Browser, base: &str, username: &str) {
    let c = &b.client;
    // Signed in at the form, which then goes on to a small page of ours (not the app:
    // the app itself is then loaded from nothing).
    c.goto(&format!("{base}/login?next=/assets/vendor/idb-8.0.4/LICENSE")).await.unwrap();
    c.find(Locator::Id("username")).await.unwrap().send_keys(username).await.unwrap();
    c.find(Locator::Id("password")).await.unwrap().send_keys("fieldvisit").await.unwrap();
    c.find(Locator::Id("login-submit")).await.unwrap().click().await.unwrap();
    b.wait_for("location.pathname.endsWith('/LICENSE')", 20).await;
}

async fn first_load(base: &str, runs: usize) {
    let (mut shown, mut bytes, mut shell, mut warm) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let b = Browser::phone().await;
        sign_in(&b, base, "rep001").await;
        b.clear_cache().await;
        b.throttle(2000.0, 50_000.0, 50_000.0).await;
        b.client.goto(&format!("{base}/app")).await.unwrap();
        b.wait_for("document.body.dataset.monthShownMs", 300).await;
        let cold: Value = b.client.execute(MEASURE, vec![]).await.unwrap();
        b.wait_for("navigator.serviceWorker.controller !== null && document.body.dataset.sync === 'idle'", 300).await;
        b.client.refresh().await.unwrap();
        b.wait_for("document.body.dataset.monthShownMs", 300).await;
        let again: Value = b.client.execute(MEASURE, vec![]).await.unwrap();
        println!(
            "  slow 3G: this month's list at {:.1} s, {:.0} KB on the wire ({:.0} KB of it the shell, {:.0} KB decoded, {} requests); \
             reopened from the service worker: {:.2} s",
            cold["shown"].as_f64().unwrap() / 1000.0,
            cold["transferred"].as_f64().unwrap() / 1000.0,
            cold["shell"].as_f64().unwrap() / 1000.0,
            cold["decoded"].as_f64().unwrap() / 1000.0,
            cold["requests"],
            again["shown"].as_f64().unwrap() / 1000.0,
        );
        shown.push(cold["shown"].as_f64().unwrap());
        bytes.push(cold["transferred"].as_f64().unwrap());
        shell.push(cold["shell"].as_f64().unwrap());
        warm.push(again["shown"].as_f64().unwrap());
        b.close().await;
    }
    let shell_bytes = median(shell);
    println!(
        "first load on slow 3G (median of {runs}): this month's list at {:.1} s; {:.0} KB compressed in all, \
         the shell {:.0} KB = {:.2} × the 150 KB budget; reopened offline-first in {:.2} s",
        median(shown) / 1000.0,
        median(bytes) / 1000.0,
        shell_bytes / 1000.0,
        shell_bytes / BUDGET,
        median(warm) / 1000.0,
    );
}

/// A 2,560 × 1,920 JPEG with a photo's amount of detail, different per `seed`.
fn photo(seed: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(2560, 1920, |x, y| {
        let v = x.wrapping_mul(2_654_435_761).wrapping_add(y.wrapping_mul(40_503)).wrapping_add(seed * 97);
        image::Rgb([v.to_le_bytes()[1], v.to_le_bytes()[2], (x + y + seed).to_le_bytes()[0]])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&img).unwrap();
    out.into_inner()
}

/// A place of `username`'s and a point in it.
async fn place_of(pool: &PgPool, username: &str) -> (Uuid, f64, f64) {
    sqlx::query_as(
        "SELECT a.place_id, ST_X(ST_PointOnSurface(pl.geom)), ST_Y(ST_PointOnSurface(pl.geom)) FROM assignments a
         JOIN people p ON p.id = a.person_id JOIN places pl ON pl.id = a.place_id
         WHERE p.username = $1 AND a.valid_to IS NULL ORDER BY a.place_id LIMIT 1",
    )
    .bind(username)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn outbox_in_the_browser(proxy: &Proxy, pool: &PgPool, username: &str, photos: &[std::path::PathBuf]) -> f64 {
    let base = proxy.url();
    let (place, lon, lat) = place_of(pool, username).await;
    let b = Browser::phone().await;
    b.set_geolocation(lat, lon, 8.0).await;
    sign_in(&b, &base, username).await;
    b.client.goto(&format!("{base}/app")).await.unwrap();
    b.wait_for("document.body.dataset.sync === 'idle' && navigator.serviceWorker.controller !== null", 120).await;
    proxy.set_offline(true);
    b.set_offline(true).await;
    let queue = "const base = globalThis.fieldvisitConfig.base;
        const store = await import(`${base}/store.js`); const sync = await import(`${base}/sync.js`);
        const [place, lon, lat] = arguments;
        for (let i = 0; i < 50; i += 1) {
          await store.enqueue('checkin.create.v1', { id: crypto.randomUUID(), place_id: place,
            position: { lon, lat, crs: 'wgs84' }, accuracy_m: 8, device_time: sync.deviceTime(), mock_location: false });
        }
        return (await store.outbox())[0].args.id;";
    let script = format!("return (async () => {{ {queue} }})();");
    let first = b.client.execute(&script, vec![json!(place), json!(lon), json!(lat)]).await.unwrap();
    b.client.goto(&format!("{base}/app#finding/{}", first.as_str().unwrap())).await.unwrap();
    b.wait_for("document.getElementById('finding-form')", 30).await;
    b.client.find(Locator::Id("finding-description")).await.unwrap().send_keys("十张照片的问题").await.unwrap();
    let files = photos.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join("\n");
    b.client.find(Locator::Id("finding-photos")).await.unwrap().send_keys(&files).await.unwrap();
    b.wait_for(&format!("document.querySelectorAll('#picked img').length === {}", photos.len()), 30).await;
    let submit = b.client.find(Locator::Id("finding-submit")).await.unwrap();
    b.client.execute("arguments[0].scrollIntoView({block: 'center'});", vec![json!(submit)]).await.unwrap();
    submit.click().await.unwrap();
    b.wait_for(&format!("document.body.dataset.pending === '{}'", 50 + 1 + 2 * photos.len()), 120).await;
    // Times from the `online` event to the moment the outbox and the photos are done.
    let watch = "window.benchOnline = null; window.benchDone = null;
        window.addEventListener('online', () => { window.benchOnline = performance.now(); });
        new MutationObserver(() => {
          const d = document.body.dataset;
          if (window.benchOnline && d.pending === '0' && d.sync === 'idle' && !window.benchDone) window.benchDone = performance.now();
        }).observe(document.body, { attributes: true });";
    b.client.execute(watch, vec![]).await.unwrap();
    proxy.set_offline(false);
    b.set_offline(false).await;
    b.wait_for("window.benchDone", 600).await;
    let ms = b.client.execute("return window.benchDone - window.benchOnline;", vec![]).await.unwrap();
    b.close().await;
    let uploaded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM photos ph JOIN findings f ON f.id = ph.finding_id JOIN people p ON p.id = f.person_id
         WHERE p.username = $1 AND ph.status = 'uploaded'",
    )
    .bind(username)
    .fetch_one(pool)
    .await
    .unwrap();
    assert!(usize::try_from(uploaded).unwrap() >= photos.len(), "{uploaded} photos on the server");
    ms.as_f64().unwrap() / 1000.0
}

async fn outbox_in_the_reference_device(proxy: &Proxy, pool: &PgPool, username: &str, photos: &[Vec<u8>]) -> f64 {
    let (place, lon, lat) = place_of(pool, username).await;
    let conn = Connection::new(&proxy.url(), username, "fieldvisit", 7);
    let mut device = Device::install(conn, DeviceSettings::default());
    device.sync().await.unwrap();
    let mut first = None;
    for _ in 0..50 {
        let id = Uuid::now_v7();
        first.get_or_insert(id);
        device.queue_check_in(&CheckInCreateV1 {
            id,
            place_id: place,
            position: ReportedPosition { lon, lat, crs: fieldvisit_geodata::crs::Crs::Wgs84 },
            accuracy_m: 8.0,
            device_time: device.now(),
            mock_location: false,
            note: None,
        });
    }
    let finding = Uuid::now_v7();
    device.queue(
        "finding.create.v1",
        json!({"id": finding, "place_id": place, "check_in_id": first, "category": "other",
            "description": "十张照片的问题", "severity": "medium"}),
    );
    let ids: Vec<Uuid> = photos
        .iter()
        .map(|bytes| {
            let id = Uuid::now_v7();
            device.queue_photo(id, bytes, "image/jpeg", PhotoTarget::Finding(finding));
            id
        })
        .collect();
    let started = Instant::now();
    device.push().await.unwrap();
    for (id, bytes) in ids.iter().zip(photos) {
        device.upload_photo(*id, bytes).await.unwrap();
    }
    device.pull().await.unwrap();
    started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let args = bench::args(3);
    let (smoke, runs) = (args.smoke, args.runs);
    let (server, url) = bench::demo(args).await;
    let pool = PgPool::connect(&url).await.unwrap();
    println!("the field app, first load (headless Chromium, 360 × 640):");
    first_load(&server.base, runs).await;

    let n_photos = if smoke { 2 } else { 10 };
    let dir = std::env::temp_dir().join(format!("fieldvisit-app-bench-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let bytes: Vec<Vec<u8>> = (0..n_photos).map(photo).collect();
    let files: Vec<_> = bytes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let p = dir.join(format!("photo-{i}.jpg"));
            std::fs::write(&p, b).unwrap();
            p
        })
        .collect();
    let size: usize = bytes.iter().map(Vec::len).sum();
    // Both through the same proxy, the one the browser's signal is taken away at.
    drop(server);
    let proxy = Proxy::bind().await;
    let server =
        Server::start(&["serve"], &[("DATABASE_URL", url.as_str()), ("FIELDVISIT_PUBLIC_URL", proxy.url().as_str())])
            .await;
    proxy.set_upstream(&server.base);
    println!(
        "a full outbox: 50 check-ins and a finding with {n_photos} photos ({} MB), from `online` to synced:",
        size / 1_000_000
    );
    let (mut browser, mut reference) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let b = outbox_in_the_browser(&proxy, &pool, &format!("rep{:03}", 10 + run), &files).await;
        let r = outbox_in_the_reference_device(&proxy, &pool, &format!("rep{:03}", 20 + run), &bytes).await;
        println!("  the app {b:.2} s, the reference device {r:.2} s: {:.2} ×", b / r);
        browser.push(b);
        reference.push(r);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (b, r) = (median(browser), median(reference));
    println!(
        "a full outbox (median of {runs}): the app {b:.2} s, the reference device {r:.2} s: {:.2} × the reference",
        b / r
    );
    let _ = std::fs::remove_dir_all(dir);
}
