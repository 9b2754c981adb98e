//! The field app (`/app`) on a phone-sized headless Chromium, tapped as a
//! representative would: positions set through the DevTools protocol, the signal taken
//! away both in the browser (`navigator.onLine`, the `online` event) and on the wire (a
//! proxy that drops every request, as the hills do), uploads cut mid-body, photos from a
//! file input standing in for the camera. What is checked is what the person sees and
//! what the server ends up holding. Screenshots at 360×640 are kept in
//! `target/test-artifacts/`. Then, without a browser, how the app is served.

use std::io::Cursor;
use std::time::Duration;

use fantoccini::Locator;
use fieldvisit_tests::Server;
use fieldvisit_tests::browser::Browser;
use fieldvisit_tests::proxy::Proxy;
use reqwest::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

/// A representative of 东阳 with a place of their own station, and a point inside it.
struct Rep {
    username: String,
    id: Uuid,
    place: Uuid,
    lon: f64,
    lat: f64,
}

async fn rep(pool: &PgPool) -> Rep {
    let (username, id, place, lon, lat): (String, Uuid, Uuid, f64, f64) = sqlx::query_as(
        "SELECT p.username, p.id, a.place_id, ST_X(ST_PointOnSurface(pl.geom)), ST_Y(ST_PointOnSurface(pl.geom))
         FROM people p JOIN assignments a ON a.person_id = p.id
         JOIN stations s ON s.id = p.station_id JOIN places pl ON pl.id = a.place_id AND pl.station_id = p.station_id
         WHERE p.role = 'representative' AND s.code = 'dongyang' ORDER BY p.username, a.place_id LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    Rep { username, id, place, lon, lat }
}

/// Taps the element `css` finds, once it is there: scrolled into view first, as a thumb
/// would, then clicked through WebDriver (so a covering element would intercept it). A
/// screen redrawn by a sync between finding and tapping (or a button whose words changed
/// under the thumb) is tapped again, as a person would.
async fn tap(b: &Browser, css: &str) {
    b.wait_for(&format!("document.querySelector({})", json!(css)), 30).await;
    for attempt in 0..3 {
        let e = b.client.find(Locator::Css(css)).await.unwrap();
        let tapped = match b.client.execute("arguments[0].scrollIntoView({block: 'center'});", vec![json!(e)]).await {
            Ok(_) => e.click().await,
            Err(err) => Err(err),
        };
        match tapped {
            Ok(()) => return,
            // Redrawn, or the badge's words changed width under the thumb: tap again.
            Err(err)
                if attempt < 2
                    && ["StaleElementReference", "ElementClickIntercepted"]
                        .iter()
                        .any(|e| format!("{err:?}").contains(e)) =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(err) => panic!("tapping {css}: {err:?}"),
        }
    }
}

async fn text(b: &Browser, css: &str) -> String {
    b.wait_for(&format!("document.querySelector({})", json!(css)), 30).await;
    for _ in 0..3 {
        if let Ok(text) = b.client.find(Locator::Css(css)).await.unwrap().text().await {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the text of {css} kept changing under the reader");
}

/// The sync has finished a round and nothing waits to be sent.
const SYNCED: &str = "document.body.dataset.sync === 'idle' && document.body.dataset.pending === '0'";

/// Opens the app at `base`, which sends the browser to the sign-in form, and signs in;
/// waits for this month's list after the first sync.
async fn sign_in(b: &Browser, base: &str, username: &str) {
    let c = &b.client;
    c.goto(&format!("{base}/app")).await.unwrap();
    b.wait_for("location.pathname === '/login' && document.getElementById('username')", 20).await;
    c.find(Locator::Id("username")).await.unwrap().send_keys(username).await.unwrap();
    c.find(Locator::Id("password")).await.unwrap().send_keys("fieldvisit").await.unwrap();
    c.find(Locator::Id("login-submit")).await.unwrap().click().await.unwrap();
    b.wait_for(&format!("location.pathname === '/app' && document.querySelector('#month-list') && {SYNCED}"), 30).await;
    // The service worker has taken the page: the app now opens with no signal.
    b.wait_for("navigator.serviceWorker.controller !== null", 30).await;
}

/// The signal goes (or comes back): in the browser and on the wire.
async fn signal(b: &Browser, proxy: &Proxy, on: bool) {
    proxy.set_offline(!on);
    b.set_offline(!on).await;
}

async fn check_ins(pool: &PgPool, person: Uuid, place: Uuid) -> Vec<(Uuid, String)> {
    sqlx::query_as(
        "SELECT id, verdict::text FROM check_ins WHERE person_id = $1 AND place_id = $2 ORDER BY received_at",
    )
    .bind(person)
    .bind(place)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_check_in_made_offline_survives_a_reload_and_a_restart_and_reaches_the_server_once(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let proxy = Proxy::start(&server.base).await;
    let r = rep(&pool).await;
    let profile = tempdir("fieldvisit-phone-profile");
    let b = Browser::phone_with_profile(&profile).await;
    b.set_geolocation(r.lat, r.lon, 8.0).await;
    sign_in(&b, &proxy.url(), &r.username).await;
    // Nobody visited last month in the fixture: the place is overdue from it.
    let due = text(&b, &format!("[data-place='{}'] .state", r.place)).await;
    assert!(due.contains("上月未走访"), "{due}");

    // In the hills: no signal. The check-in is taken at once and shown as pending.
    signal(&b, &proxy, false).await;
    tap(&b, &format!("[data-place='{}']", r.place)).await;
    tap(&b, "#check-in").await;
    assert_eq!(text(&b, ".visit.pending .verdict").await, "待上传核实");
    b.wait_for("document.body.dataset.sync === 'offline' && document.body.dataset.pending === '1'", 20).await;
    assert!(text(&b, "#sync-badge").await.contains("离线"), "the badge says offline");
    b.screenshot("app-offline-check-in").await;

    // A reload with no signal: the shell comes from the service worker, the check-in from
    // the outbox in IndexedDB.
    b.client.refresh().await.unwrap();
    b.wait_for("document.body.dataset.ready === 'true' && document.querySelector('.visit.pending')", 20).await;
    assert_eq!(text(&b, "body").await.matches("待上传核实").count(), 1);

    // The phone restarts (the browser closes and opens again on the same profile),
    // still without a signal, and the app opens from its start URL.
    b.close().await;
    let b = Browser::phone_with_profile(&profile).await;
    signal(&b, &proxy, false).await;
    b.client.goto(&format!("{}/app", proxy.url())).await.unwrap();
    b.wait_for("document.body.dataset.ready === 'true' && document.querySelector('#month-list')", 30).await;
    assert_eq!(b.client.execute("return document.body.dataset.pending;", vec![]).await.unwrap(), json!("1"));
    let pending = text(&b, &format!("[data-place='{}'] .state", r.place)).await;
    assert!(pending.contains("1 次签到待核实"), "{pending}");
    assert!(check_ins(&pool, r.id, r.place).await.is_empty(), "nothing reached the server while offline");

    // The signal returns: the outbox goes by itself, and the verdict comes back in words.
    signal(&b, &proxy, true).await;
    b.wait_for(SYNCED, 30).await;
    tap(&b, &format!("[data-place='{}']", r.place)).await;
    assert_eq!(text(&b, ".visit .verdict").await, "签到有效（距走访点 0 米）");
    let month = text(&b, "#tab-month").await;
    assert_eq!(month, "本月走访");
    let stored = check_ins(&pool, r.id, r.place).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].1, "verified");
    b.screenshot("app-check-in-verified").await;

    // Syncing again sends nothing twice.
    tap(&b, "#sync-badge").await;
    tap(&b, "#sync-now").await;
    b.wait_for(SYNCED, 30).await;
    assert_eq!(check_ins(&pool, r.id, r.place).await.len(), 1);
    tap(&b, "#tab-month").await;
    let visited = text(&b, &format!("[data-place='{}'] .state", r.place)).await;
    assert!(visited.contains("本月已走访"), "{visited}");
    assert!(text(&b, "#month-counts").await.contains("已走访 1"));
    b.close().await;
    let _ = std::fs::remove_dir_all(profile);
}

fn tempdir(prefix: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A JPEG of `w`×`h` with enough detail that it does not shrink to nothing.
fn photo_file(dir: &std::path::Path, name: &str, w: u32, h: u32) -> std::path::PathBuf {
    let img =
        image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 251) as u8, (y % 241) as u8, (x ^ y).to_le_bytes()[0]]));
    let path = dir.join(name);
    img.save_with_format(&path, image::ImageFormat::Jpeg).unwrap();
    path
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_finding_with_two_photos_survives_an_upload_cut_mid_body(pool: PgPool) {
    // The phones reach the server through the proxy, so the upload URLs name it too.
    let proxy = Proxy::bind().await;
    let server = Server::in_process_with(&pool, &[("FIELDVISIT_PUBLIC_URL", proxy.url().as_str())]).await;
    proxy.set_upstream(&server.base);
    let r = rep(&pool).await;
    let dir = tempdir("fieldvisit-camera");
    // A phone camera's 12 megapixels, and a small one.
    let big = photo_file(&dir, "big.jpg", 4000, 3000);
    let small = photo_file(&dir, "small.jpg", 800, 600);
    let b = Browser::phone().await;
    b.set_geolocation(r.lat, r.lon, 8.0).await;
    sign_in(&b, &proxy.url(), &r.username).await;
    tap(&b, &format!("[data-place='{}']", r.place)).await;
    tap(&b, "#check-in").await;
    b.wait_for(&format!("document.querySelector('.visit.good') && {SYNCED}"), 30).await;

    // The first upload loses its connection 20 KB into the body.
    proxy.cut_next_uploads(1, 20_000);
    tap(&b, "[data-finding-for]").await;
    b.wait_for("document.getElementById('finding-form')", 20).await;
    b.client.find(Locator::Id("finding-category")).await.unwrap().select_by_value("power").await.unwrap();
    b.client.find(Locator::Id("finding-severity")).await.unwrap().select_by_value("high").await.unwrap();
    b.client
        .find(Locator::Id("finding-description"))
        .await
        .unwrap()
        .send_keys("村口三盏路灯不亮，夜间通行不便")
        .await
        .unwrap();
    let files = format!("{}\n{}", big.display(), small.display());
    b.client.find(Locator::Id("finding-photos")).await.unwrap().send_keys(&files).await.unwrap();
    b.wait_for("document.querySelectorAll('#picked img').length === 2", 20).await;
    b.screenshot("app-finding-form").await;
    tap(&b, "#finding-submit").await;
    b.wait_for("document.body.dataset.screen === 'place'", 30).await;
    // The cut upload is mended by the sync's retry, with nothing declared twice.
    b.wait_for(SYNCED, 60).await;
    assert_eq!(proxy.cuts_done(), 1, "the first upload was cut");

    let finding: Uuid = sqlx::query_scalar("SELECT id FROM findings WHERE person_id = $1 AND description LIKE '村口%'")
        .bind(r.id)
        .fetch_one(&pool)
        .await
        .unwrap();
    let photos: Vec<(Uuid, String, Vec<u8>, i64)> =
        sqlx::query_as("SELECT id, status::text, sha256, size FROM photos WHERE finding_id = $1 ORDER BY size")
            .bind(finding)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(photos.len(), 2, "two photos declared, once each");
    let puts = proxy.requests().iter().filter(|(m, _)| m == "PUT").count();
    assert_eq!(puts, 3, "the cut photo went again, the other once: {:?}", proxy.requests());
    let token = server.login(&r.username).await;
    let mut sides = Vec::new();
    for (id, status, sha, size) in &photos {
        assert_eq!(status, "uploaded");
        // The bytes the server keeps hash to what the phone declared.
        let (_, meta) = server.get(&token, &format!("/v1/photos/{id}")).await;
        let url = meta["url"].as_str().unwrap_or_else(|| panic!("a download URL: {meta}"));
        let url = if url.starts_with('/') { format!("{}{url}", server.base) } else { url.to_owned() };
        let bytes = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
        assert_eq!(i64::try_from(bytes.len()).unwrap(), *size);
        assert_eq!(Sha256::digest(&bytes).to_vec(), *sha);
        let img = image::load_from_memory(&bytes).unwrap();
        sides.push(img.width().max(img.height()));
    }
    // The 4000 px photo was made 2,560 px on the phone (the server's setting); the
    // small one went as taken.
    sides.sort_unstable();
    assert_eq!(sides, vec![800, 2560]);

    // Once the server has made the thumbnails, the next sync brings them to the screen.
    for _ in 0..100 {
        let ready: i64 =
            sqlx::query_scalar("SELECT count(*) FROM photos WHERE finding_id = $1 AND thumbnail_key IS NOT NULL")
                .bind(finding)
                .fetch_one(&pool)
                .await
                .unwrap();
        if ready == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tap(&b, "#sync-badge").await;
    tap(&b, "#sync-now").await;
    b.wait_for(SYNCED, 30).await;
    b.client.goto(&format!("{}/app#place/{}", proxy.url(), r.place)).await.unwrap();
    b.wait_for(
        "document.querySelectorAll('#findings img[data-server=\"true\"]').length === 2 \
         && [...document.querySelectorAll('#findings img[data-server=\"true\"]')].every(i => i.complete && i.naturalWidth > 0)",
        30,
    )
    .await;
    assert!(text(&b, "#findings").await.contains("服务器已收到"));
    b.screenshot("app-finding-with-photos").await;
    b.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn verdicts_and_location_troubles_are_told_in_words(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let r = rep(&pool).await;
    let b = Browser::phone().await;
    // About 3 km north of the place.
    b.set_geolocation(r.lat + 0.027, r.lon, 8.0).await;
    sign_in(&b, &server.base, &r.username).await;
    tap(&b, &format!("[data-place='{}']", r.place)).await;
    tap(&b, "#check-in").await;
    b.wait_for(&format!("document.querySelector('.visit.bad') && {SYNCED}"), 30).await;
    let verdict = text(&b, ".visit.bad .verdict").await;
    assert!(verdict.starts_with("不在走访点范围内：距走访点 "), "{verdict}");
    assert!(verdict.contains("公里") && verdict.contains("本次不计入走访"), "{verdict}");
    let stored = check_ins(&pool, r.id, r.place).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].1, "outside_geofence");
    b.screenshot("app-outside-geofence-zh").await;

    // The same in English, by the switch.
    tap(&b, "#tab-me").await;
    tap(&b, "[data-lang='en']").await;
    b.wait_for("document.documentElement.lang === 'en'", 10).await;
    b.client.goto(&format!("{}/app#place/{}", server.base, r.place)).await.unwrap();
    let verdict = text(&b, ".visit.bad .verdict").await;
    assert!(verdict.starts_with("Outside the place: ") && verdict.contains("km away"), "{verdict}");
    assert_eq!(text(&b, "#check-in").await, "Check in here");
    b.screenshot("app-outside-geofence-en").await;

    // A coarse fix (where the first was taken, so the speed between them is no
    // concern): the app waits for a better one, then says what it has, and lets the
    // person send it anyway.
    b.set_geolocation(r.lat + 0.027, r.lon, 450.0).await;
    tap(&b, "#check-in").await;
    b.wait_for("document.getElementById('poor-fix')", 20).await;
    let poor = text(&b, "#poor-fix").await;
    assert!(poor.contains("±450 m") && poor.contains("within 100 m"), "{poor}");
    tap(&b, "#send-anyway").await;
    b.wait_for(&format!("document.querySelectorAll('.visit.bad').length === 2 && {SYNCED}"), 30).await;
    let newest = text(&b, ".visit .verdict").await;
    assert!(newest.starts_with("Location too imprecise: ±450 m"), "{newest}");

    // Permission refused: a clear message, and nothing queued.
    b.deny_geolocation().await;
    tap(&b, "#check-in").await;
    b.wait_for("document.querySelector('#checkin-status .notice.bad')", 20).await;
    let refused = text(&b, "#checkin-status").await;
    assert!(refused.starts_with("Location is blocked"), "{refused}");
    assert_eq!(b.client.execute("return document.body.dataset.pending;", vec![]).await.unwrap(), json!("0"));
    assert_eq!(check_ins(&pool, r.id, r.place).await.len(), 2);
    b.screenshot("app-location-refused-en").await;
    b.close().await;
}

async fn step(server: &Server, token: &str, issue: &str, body: &Value) {
    let (status, res) =
        server.call(Method::POST, Some(token), &format!("/v1/issues/{issue}/actions"), Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{body}: {res}");
}

/// The desk's part: an issue `rep` raised, accepted, forwarded on the station's list of
/// `month` (a month of its own per list), and answered.
async fn answered_issue(server: &Server, pool: &PgPool, r: &Rep, title: &str, month: &str) -> String {
    let staff = server.login("staff02").await;
    let body = json!({"place_id": r.place, "title": title, "description": format!("{title}，夜间通行不便"),
        "category": "power", "raiser_ids": [r.id]});
    let (status, created) = server.call(Method::POST, Some(&staff), "/v1/issues", Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["issue"]["id"].as_str().unwrap().to_owned();
    step(server, &staff, &id, &json!({"action": "accept"})).await;
    let station: Uuid =
        sqlx::query_scalar("SELECT station_id FROM people WHERE id = $1").bind(r.id).fetch_one(pool).await.unwrap();
    let (status, list) = server
        .call(Method::POST, Some(&staff), "/v1/issue-lists", Some(&json!({"month": month, "station_id": station})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{list}");
    let issued = format!("/v1/issue-lists/{}/issue", list["id"].as_str().unwrap());
    assert_eq!(server.call(Method::POST, Some(&staff), &issued, None).await.0, StatusCode::OK);
    step(server, &staff, &id, &json!({"action": "answer", "note": "已更换路灯三盏，恢复照明"})).await;
    id
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_representative_confirms_an_answered_issue_with_a_rating(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let proxy = Proxy::start(&server.base).await;
    let r = rep(&pool).await;
    let id = answered_issue(&server, &pool, &r, "村口路灯不亮", "2061-01").await;
    let raced = answered_issue(&server, &pool, &r, "桥头路灯不亮", "2061-02").await;

    let b = Browser::phone().await;
    sign_in(&b, &proxy.url(), &r.username).await;
    tap(&b, "#tab-issues").await;
    tap(&b, &format!("[data-issue='{id}']")).await;
    assert_eq!(text(&b, "#issue-state").await, "已答复");
    assert!(text(&b, ".answer").await.contains("已更换路灯三盏"));
    // A comment first: it goes into the issue's history, which comes back with the pull.
    b.client.find(Locator::Id("issue-note")).await.unwrap().send_keys("请问什么时候能修好？").await.unwrap();
    tap(&b, "#issue-comment").await;
    b.wait_for(
        &format!("{SYNCED} && document.getElementById('issue-history')?.textContent.includes('请问什么时候能修好？')"),
        30,
    )
    .await;
    assert!(!text(&b, "#issue-history").await.contains("待上传"), "the comment is no longer waiting");
    // Confirming needs a rating first.
    tap(&b, "#issue-confirm").await;
    assert_eq!(text(&b, "#issue-error").await, "请先选择满意度（1–5 星）。");
    tap(&b, "[data-rating='4']").await;
    b.client.find(Locator::Id("issue-note")).await.unwrap().send_keys("路灯已经亮了，谢谢").await.unwrap();
    b.screenshot("app-issue-confirm").await;
    tap(&b, "#issue-confirm").await;
    // Sent, and the ledger's new state comes back with the pull.
    b.wait_for(&format!("{SYNCED} && document.getElementById('issue-state')?.textContent === '已销号'"), 30).await;
    assert!(text(&b, "#issue-history").await.contains("销号（验单）"));
    b.screenshot("app-issue-closed-out").await;

    // The ledger shows it closed out, with the rating.
    let presidium = server.login("presidium").await;
    let (_, ledger) = server.get(&presidium, "/v1/issues?state=closed_out").await;
    let row = ledger["items"]
        .as_array()
        .unwrap_or_else(|| panic!("the ledger: {ledger}"))
        .iter()
        .find(|i| i["id"] == json!(id))
        .cloned()
        .unwrap_or_else(|| panic!("closed out in the ledger: {ledger}"));
    assert_eq!(row["satisfaction"], json!(4));
    let (_, issue) = server.get(&presidium, &format!("/v1/issues/{id}")).await;
    let last = issue["history"].as_array().unwrap().last().unwrap();
    assert_eq!(last["action"], json!("confirm"));
    assert_eq!(last["note"], json!("路灯已经亮了，谢谢"));

    // Offline, the representative disputes the second answer; meanwhile the presidium
    // closes it out at the desk. The desk's state wins, and the phone says why its step
    // was not taken.
    tap(&b, "#tab-issues").await;
    tap(&b, &format!("[data-issue='{raced}']")).await;
    signal(&b, &proxy, false).await;
    b.client.find(Locator::Id("issue-note")).await.unwrap().send_keys("桥头还是黑的").await.unwrap();
    tap(&b, "#issue-dispute").await;
    b.wait_for("document.querySelector('#issue-history .pending')", 20).await;
    step(&server, &presidium, &raced, &json!({"action": "confirm", "rating": 3, "note": "主席团现场核实已修复"})).await;
    signal(&b, &proxy, true).await;
    b.wait_for(&format!("{SYNCED} && document.getElementById('issue-state')?.textContent === '已销号'"), 30).await;
    let refused = text(&b, "#screen .notice.bad").await;
    assert!(refused.starts_with("未能办理：该问题已有新的进展"), "{refused}");
    tap(&b, "#sync-badge").await;
    let problems = text(&b, "#problems").await;
    assert!(problems.contains("不认可答复未被接受：该问题已有新的进展"), "{problems}");
    b.screenshot("app-step-refused").await;
    tap(&b, "#problems button").await;
    b.wait_for("!document.getElementById('problems')", 20).await;
    let (_, issue) = server.get(&presidium, &format!("/v1/issues/{raced}")).await;
    assert_eq!(issue["state"], json!("closed_out"));
    assert_eq!(issue["satisfaction"], json!(3));
    b.close().await;
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn signing_out_clears_the_phone(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let r = rep(&pool).await;
    let b = Browser::phone().await;
    sign_in(&b, &server.base, &r.username).await;
    // The map of the month's places, drawn by MapLibre from the phone's store.
    tap(&b, "#tab-map").await;
    b.wait_for(
        "window.fieldvisitMap && window.fieldvisitMap.loaded() \
         && window.fieldvisitMap.queryRenderedFeatures({layers: ['points', 'cells-fill']}).length > 0",
        60,
    )
    .await;
    b.screenshot("app-map").await;
    // The console, which the same sign-in opens, sends a representative to the app.
    b.client.goto(&format!("{}/", server.base)).await.unwrap();
    b.wait_for("document.getElementById('nav-app')", 20).await;
    b.client.find(Locator::Id("nav-app")).await.unwrap().click().await.unwrap();
    b.wait_for("location.pathname === '/app' && document.querySelector('#month-list')", 20).await;
    let held = "return (async () => { const dbs = await indexedDB.databases(); return dbs.map(d => d.name); })();";
    assert_eq!(b.client.execute(held, vec![]).await.unwrap(), json!(["fieldvisit"]));
    tap(&b, "#tab-me").await;
    b.screenshot("app-me").await;
    tap(&b, "#sign-out").await;
    b.wait_for("location.pathname === '/login'", 20).await;
    assert_eq!(b.client.execute(held, vec![]).await.unwrap(), json!([]));
    // The sign-in is over on the server too: the app sends the browser to the form.
    b.client.goto(&format!("{}/app", server.base)).await.unwrap();
    b.wait_for("location.pathname === '/login'", 20).await;
    b.close().await;
}

// ---- how the app is served (no browser) ----

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn the_app_is_served_for_phones_and_for_caches(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let http = reqwest::Client::builder().gzip(false).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let get = |path: &str| http.get(format!("{}{path}", server.base));

    // The shell: the same for everyone, revalidated.
    let shell = get("/app").send().await.unwrap();
    assert_eq!(shell.status(), StatusCode::OK);
    assert_eq!(shell.headers()[CACHE_CONTROL], "no-cache");
    let etag = shell.headers()[ETAG].clone();
    let html = shell.text().await.unwrap();
    assert!(html.contains(r#"<link rel="manifest" href="/app/manifest.webmanifest">"#));
    let again = get("/app").header(IF_NONE_MATCH, etag).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let config: Value = {
        let start = html.find(r#"<script id="fv-config" type="application/json">"#).unwrap();
        let rest = &html[start..];
        let json_start = rest.find('>').unwrap() + 1;
        serde_json::from_str(&rest[json_start..rest.find("</script>").unwrap()]).unwrap()
    };
    assert_eq!(config["photoMaxPx"], json!(2560));
    let version = config["version"].as_str().unwrap().to_owned();

    // Hashed files: immutable under their release; an older release's URL is answered
    // but not promised forever.
    let main = get(&format!("/app/v/{version}/main.js")).send().await.unwrap();
    assert_eq!(main.status(), StatusCode::OK);
    assert_eq!(main.headers()[CACHE_CONTROL], "public, max-age=31536000, immutable");
    assert!(main.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/javascript"));
    let old = get("/app/v/000000000000/main.js").send().await.unwrap();
    assert_eq!(old.headers()[CACHE_CONTROL], "no-cache");
    let missing = get(&format!("/app/v/{version}/nothing.js")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.json::<Value>().await.unwrap()["error"]["code"], json!("not_found"));

    // The worker: its scope may be /app itself; it precaches this release.
    let sw = get("/app/sw.js").send().await.unwrap();
    assert_eq!(sw.headers()["service-worker-allowed"], "/app");
    let sw = sw.text().await.unwrap();
    assert!(sw.contains(&format!("/app/v/{version}/main.js")) && sw.contains("/assets/vendor/idb-8.0.4/index.js"));
    assert!(!sw.contains("maplibre-gl.mjs\""), "the map library is not precached");

    // What a phone installs it with.
    let manifest: Value = get("/app/manifest.webmanifest").send().await.unwrap().json().await.unwrap();
    assert_eq!(manifest["name"], json!("人大代表走访"));
    assert_eq!(manifest["start_url"], json!("/app"));
    for icon in manifest["icons"].as_array().unwrap() {
        let res = get(icon["src"].as_str().unwrap()).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{icon}");
        if icon["type"] == json!("image/png") {
            let img = image::ImageReader::new(Cursor::new(res.bytes().await.unwrap()))
                .with_guessed_format()
                .unwrap()
                .decode()
                .unwrap();
            assert_eq!(format!("{}x{}", img.width(), img.height()), icon["sizes"].as_str().unwrap());
        }
    }

    let no_icon = get("/app/icons/icon-64.png").send().await.unwrap();
    assert_eq!(no_icon.status(), StatusCode::NOT_FOUND);
    assert_eq!(no_icon.json::<Value>().await.unwrap()["error"]["code"], json!("not_found"));
    // The console's assets are revalidated the same way.
    let css = get("/assets/console.css").send().await.unwrap();
    let etag = css.headers()[ETAG].clone();
    assert_eq!(
        get("/assets/console.css").header(IF_NONE_MATCH, etag).send().await.unwrap().status(),
        StatusCode::NOT_MODIFIED
    );

    // The budget: the shell, its modules, styles and words, and the IndexedDB wrapper,
    // as they cross the wire compressed, under 150 KB (the map library excluded).
    let mut files = vec!["/app".to_owned(), "/assets/vendor/idb-8.0.4/index.js".to_owned()];
    for name in ["main.js", "store.js", "net.js", "sync.js", "photos.js", "locate.js", "month.js", "i18n.js", "map.js"]
    {
        files.push(format!("/app/v/{version}/{name}"));
    }
    for name in ["app.css", "i18n/zh.json", "i18n/en.json"] {
        files.push(format!("/app/v/{version}/{name}"));
    }
    let mut wire = 0;
    for f in &files {
        let res = get(f).header(ACCEPT_ENCODING, "br, gzip").send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{f}");
        wire += res.bytes().await.unwrap().len();
    }
    println!("the app shell on the wire: {wire} bytes in {} files", files.len());
    assert!(wire < 150_000, "the app shell is {wire} bytes compressed");
}
