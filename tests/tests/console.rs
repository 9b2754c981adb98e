//! The web console in a real browser (headless Chromium over WebDriver), clicking as a
//! person would: signing in, the month's map with its places drawn from the tiles, the
//! overdue list beside it against the API, the language switch (remembered), and a
//! planner reviewing and applying the nearby rule's proposal. Screenshots are kept in
//! `target/test-artifacts/`. Then the console's session without a browser: its cookies,
//! CSRF on every change, scope, renewal and sign-out.

use std::collections::BTreeSet;
use std::time::Duration;

use fantoccini::Locator;
use fieldvisit_tests::Server;
use fieldvisit_tests::browser::Browser;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode, redirect};
use serde_json::{Value, json};
use sqlx::PgPool;

async fn sign_in(browser: &Browser, server: &Server, username: &str) {
    let c = &browser.client;
    c.goto(&format!("{}/", server.base)).await.unwrap();
    // Not signed in: the home page sends the browser to the sign-in form.
    assert!(c.current_url().await.unwrap().path().starts_with("/login"));
    c.find(Locator::Id("username")).await.unwrap().send_keys(username).await.unwrap();
    c.find(Locator::Id("password")).await.unwrap().send_keys("fieldvisit").await.unwrap();
    c.find(Locator::Id("login-submit")).await.unwrap().click().await.unwrap();
    browser.wait_for("document.body.classList.contains('home')", 20).await;
}

/// The places the map has drawn (points and cells) in the visible area.
const RENDERED: &str = "window.fieldvisitMap && window.fieldvisitMap.loaded() \
    && window.fieldvisitMap.queryRenderedFeatures({layers: ['points', 'cells-fill']}).length";

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn the_presidium_reads_the_months_map_in_both_languages(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let browser = Browser::start(1366, 768).await;
    let c = &browser.client;
    // A wrong password first: the form says so, in Chinese.
    c.goto(&format!("{}/login", server.base)).await.unwrap();
    c.find(Locator::Id("username")).await.unwrap().send_keys("presidium").await.unwrap();
    c.find(Locator::Id("password")).await.unwrap().send_keys("wrong").await.unwrap();
    c.find(Locator::Id("login-submit")).await.unwrap().click().await.unwrap();
    browser.wait_for("document.getElementById('login-error')", 20).await;
    let error = c.find(Locator::Id("login-error")).await.unwrap().text().await.unwrap();
    assert_eq!(error, "用户名或密码错误");

    sign_in(&browser, &server, "presidium").await;
    browser.wait_for("document.body.dataset.coverageLoaded", 20).await;
    browser.wait_for(&format!("({RENDERED}) > 0"), 30).await;
    let drawn = c.execute(&format!("return {RENDERED};"), vec![]).await.unwrap();
    assert!(drawn.as_u64().unwrap() > 10, "places drawn on the map: {drawn}");
    // The counts the township reports, from the ledger's statistics.
    browser.wait_for("document.getElementById('count-raised').textContent !== '–'", 20).await;
    browser.wait_for("document.body.dataset.trendLoaded", 20).await;

    // Last month: nobody visited in the fixture, so every place is overdue, as the API says.
    c.execute(
        "const m = document.getElementById('month'); m.value = '2026-11'; m.dispatchEvent(new Event('change'));",
        vec![],
    )
    .await
    .unwrap();
    browser.wait_for("document.body.dataset.coverageLoaded === '2026-11'", 20).await;
    let listed: BTreeSet<String> = c
        .execute("return [...document.querySelectorAll('#gaps li[data-place]')].map(li => li.dataset.place);", vec![])
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let presidium = server.login("presidium").await;
    let (_, api) = server.get(&presidium, "/v1/coverage?month=2026-11").await;
    let expected: BTreeSet<String> = api["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| ["overdue", "unassigned"].contains(&f["properties"]["status"].as_str().unwrap()))
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(listed, expected, "the list beside the map is the API's overdue and unassigned places");
    // A click on one flies there and opens its panel.
    c.find(Locator::Css("#gaps li[data-place] button")).await.unwrap().click().await.unwrap();
    browser.wait_for("!document.getElementById('panel').hidden && document.querySelector('#panel-body h3')", 10).await;
    browser.screenshot("console-presidium-zh").await;

    // English by the switch, remembered on the next visit.
    c.find(Locator::Id("lang-switch")).await.unwrap().click().await.unwrap();
    browser.wait_for("document.documentElement.lang === 'en' && document.body.classList.contains('home')", 20).await;
    c.goto(&format!("{}/", server.base)).await.unwrap();
    browser.wait_for("document.documentElement.lang === 'en'", 20).await;
    let heading = c.find(Locator::Css(".gaps h2")).await.unwrap().text().await.unwrap();
    assert_eq!(heading, "Overdue and unassigned");
    browser.wait_for(&format!("({RENDERED}) > 0"), 30).await;
    browser.screenshot("console-presidium-en").await;
    browser.close().await;
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_planner_compares_and_applies_the_rules_proposal_on_the_map(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let planner = server.login("planner").await;
    // One representative per village and site, each within its station: fewer than in force.
    let (status, proposal) = server
        .call(Method::POST, Some(&planner), "/v1/assignment-proposals", Some(&json!({"within_station": true})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{proposal}");
    let removed = proposal["diff"]["removed"].as_array().unwrap().len();
    assert!(removed > 0, "the proposal changes something");

    let browser = Browser::start(1366, 768).await;
    let c = &browser.client;
    sign_in(&browser, &server, "planner").await;
    browser.wait_for("document.getElementById('rule-removed')", 20).await;
    let shown = c.find(Locator::Id("rule-removed")).await.unwrap().text().await.unwrap();
    assert_eq!(shown, removed.to_string());
    browser.wait_for(&format!("({RENDERED}) > 0"), 30).await;
    browser.wait_for("window.fieldvisitMap.queryRenderedFeatures({layers: ['assignments']}).length > 0", 30).await;
    // Before and after on the map.
    c.find(Locator::Id("rule-compare")).await.unwrap().click().await.unwrap();
    browser.wait_for("window.fieldvisitMap.getLayer('proposal') && window.fieldvisitMap.queryRenderedFeatures({layers: ['proposal']}).length > 0", 30).await;
    browser.screenshot("console-planner-proposal").await;
    c.find(Locator::Id("rule-apply")).await.unwrap().click().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.accept_alert().await.unwrap();
    browser.wait_for("document.getElementById('rule-applied')", 30).await;
    let in_force: i64 =
        sqlx::query_scalar("SELECT count(*) FROM assignments WHERE valid_to IS NULL").fetch_one(&pool).await.unwrap();
    assert_eq!(in_force, i64::try_from(proposal["assignments"].as_array().unwrap().len()).unwrap());
    // The map's lines follow: fewer of them once the rule's proposal is in force.
    browser.wait_for("window.fieldvisitMap.loaded() && window.fieldvisitMap.queryRenderedFeatures({layers: ['assignments']}).length > 0", 30).await;
    browser.screenshot("console-planner-applied").await;
    browser.close().await;
}

/// The cookies an answer sets, as `name=value` pairs for the next request.
fn cookies(res: &reqwest::Response) -> Vec<(String, String, String)> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| {
            let text = v.to_str().unwrap().to_owned();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            (name.to_owned(), value.to_owned(), text)
        })
        .collect()
}

fn jar(set: &[(String, String, String)]) -> String {
    set.iter().filter(|(_, v, _)| !v.is_empty()).map(|(n, v, _)| format!("{n}={v}")).collect::<Vec<_>>().join("; ")
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn the_console_session_is_cookies_with_csrf_on_every_change(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let http = reqwest::Client::builder().redirect(redirect::Policy::none()).build().unwrap();
    let url = |p: &str| format!("{}{p}", server.base);

    // Not signed in: the console sends you to the form; the form hands out a CSRF cookie.
    let res = http.get(url("/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/login?next=/");
    let res = http.get(url("/login")).send().await.unwrap();
    let form_cookies = cookies(&res);
    let csrf = form_cookies.iter().find(|(n, _, _)| n == "fv_csrf").unwrap().1.clone();

    // A form posted without the matching token is refused; with it, the session starts.
    let res = http
        .post(url("/login"))
        .header(COOKIE, format!("fv_csrf={csrf}"))
        .form(&[("username", "rep013"), ("password", "fieldvisit"), ("csrf", "forged"), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = http
        .post(url("/login"))
        .header(COOKIE, format!("fv_csrf={csrf}"))
        .form(&[
            ("username", "rep013"),
            ("password", "fieldvisit"),
            ("csrf", csrf.as_str()),
            ("next", "//evil.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/", "never off the site");
    let session = cookies(&res);
    for (name, _, text) in &session {
        assert!(text.contains("SameSite=Strict"), "{text}");
        assert_eq!(text.contains("HttpOnly"), name != "fv_csrf", "{text}");
    }
    let cookie = jar(&session);
    let csrf = session.iter().find(|(n, _, _)| n == "fv_csrf").unwrap().1.clone();

    // The cookie reads like a bearer token, within the same reach: a representative's station.
    let res = http.get(url("/v1/coverage?month=2026-11")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let stations: BTreeSet<&str> =
        body["features"].as_array().unwrap().iter().map(|f| f["properties"]["station_id"].as_str().unwrap()).collect();
    assert_eq!(stations.len(), 1, "a representative's station only");
    let res = http.get(url("/")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("fv-config"));

    // A change with the cookie but without the header (what a forged form could send) is
    // refused and changes nothing; a check-in push with it goes through.
    let push = json!({"client_id": uuid::Uuid::now_v7(), "schema_version": 1, "client_time": chrono::Utc::now().to_rfc3339(), "mutations": []});
    let res = http.post(url("/v1/sync/push")).header(COOKIE, &cookie).json(&push).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = http
        .post(url("/v1/sync/push"))
        .header(COOKIE, &cookie)
        .header("x-csrf-token", "not-it")
        .json(&push)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = http
        .post(url("/v1/sync/push"))
        .header(COOKIE, &cookie)
        .header("x-csrf-token", &csrf)
        .json(&push)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // Renewal spends the refresh cookie once; the old one then fails.
    let res = http.post(url("/console/refresh")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "renewal needs the CSRF header too");
    let res =
        http.post(url("/console/refresh")).header(COOKIE, &cookie).header("x-csrf-token", &csrf).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let renewed = jar(&cookies(&res));
    let res = http.get(url("/v1/me")).header(COOKIE, &renewed).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // Signing out ends the sign-in: its cookies are cleared and its refresh token is dead.
    let res = http.post(url("/logout")).header(COOKIE, &renewed).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(cookies(&res).iter().all(|(_, v, t)| v.is_empty() && t.contains("Max-Age=0")));
    let res =
        http.post(url("/console/refresh")).header(COOKIE, &renewed).header("x-csrf-token", &csrf).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // The assets: ours revalidated by ETag, the vendored ones immutable, nothing else.
    let res = http.get(url("/assets/console.js")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-cache");
    let etag = res.headers()["etag"].clone();
    let res = http.get(url("/assets/console.js")).header("if-none-match", etag).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    let res = http.get(url("/assets/vendor/maplibre-gl-6.20.0/maplibre-gl.mjs")).send().await.unwrap();
    assert!(res.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    let res = http.get(url("/assets/../Cargo.toml")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

/// A representative's finding at `place`, pushed from their phone.
async fn finding(server: &Server, username: &str, place: uuid::Uuid, description: &str) -> uuid::Uuid {
    let token = server.login(username).await;
    let id = uuid::Uuid::now_v7();
    let args = json!({"id": id, "place_id": place, "category": "traffic_safety", "description": description, "severity": "medium"});
    let body = json!({"client_id": uuid::Uuid::now_v7(), "schema_version": 1,
        "mutations": [{"id": 1, "name": "finding.create.v1", "args": args}]});
    let (status, res) = server.call(Method::POST, Some(&token), "/v1/sync/push", Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["results"][0]["status"], "applied", "{res}");
    id
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn station_staff_take_two_findings_into_one_issue_and_accept_it(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    // Two representatives of 东阳 report the same broken road at one of its places; an
    // older open issue about that place is already in the ledger.
    let (place, reps): (uuid::Uuid, Vec<String>) = {
        let place: uuid::Uuid = sqlx::query_scalar(
            "SELECT p.id FROM places p JOIN stations s ON s.id = p.station_id WHERE s.code = 'dongyang' AND p.kind = 'grid_cell' ORDER BY p.id LIMIT 1",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        let reps: Vec<String> = sqlx::query_scalar(
            "SELECT p.username FROM people p JOIN stations s ON s.id = p.station_id WHERE s.code = 'dongyang' AND p.role = 'representative' ORDER BY p.username LIMIT 2",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        (place, reps)
    };
    let older = finding(&server, &reps[0], place, "村口道路破损，去年已反映").await;
    let staff = server.login("staff02").await;
    let (status, made) = server
        .call(
            Method::POST,
            Some(&staff),
            "/v1/issues",
            Some(&json!({"finding_ids": [older], "title": "村口道路破损（旧）", "category": "traffic_safety"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let older_issue = made["issue"]["id"].as_str().unwrap().to_owned();
    finding(&server, &reps[0], place, "村口道路破损，雨天积水").await;
    finding(&server, &reps[1], place, "村口路面塌陷，车辆难行").await;

    let browser = Browser::start(1366, 768).await;
    let c = &browser.client;
    sign_in(&browser, &server, "staff02").await;
    c.find(Locator::Id("nav-inbox")).await.unwrap().click().await.unwrap();
    browser.wait_for("document.body.dataset.loaded === 'yes'", 20).await;
    let boxes = c.find_all(Locator::Css("#inbox-list input[type=checkbox]")).await.unwrap();
    assert_eq!(boxes.len(), 2, "the two findings not yet in an issue");
    for b in &boxes {
        b.click().await.unwrap();
    }
    // The older issue at the same place is suggested before anything is made.
    browser.wait_for("document.getElementById('inbox-form').dataset.findings === '2'", 20).await;
    browser.wait_for(&format!("document.querySelector('#similar li[data-similar=\"{older_issue}\"]')"), 20).await;
    browser.screenshot("console-inbox").await;
    let title = c.find(Locator::Id("issue-title")).await.unwrap();
    title.clear().await.unwrap();
    title.send_keys("村口道路破损积水").await.unwrap();
    c.find(Locator::Id("issue-create")).await.unwrap().click().await.unwrap();
    browser.wait_for("document.body.classList.contains('issue') && document.body.dataset.loaded === 'new'", 20).await;
    c.find(Locator::Id("action-accept")).await.unwrap().click().await.unwrap();
    browser.wait_for("document.body.dataset.loaded === 'accepted'", 20).await;
    let state = c.find(Locator::Id("issue-state")).await.unwrap().text().await.unwrap();
    assert_eq!(state, "已受理");
    browser.screenshot("console-issue-accepted").await;
    // The ledger has it, with both findings, accepted.
    let (_, ledger) = server.get(&staff, "/v1/issues?state=accepted").await;
    let items = ledger["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["title"], "村口道路破损积水");
    assert_eq!(items[0]["findings"], 2);
    // The ledger page lists it too.
    c.find(Locator::Id("nav-ledger")).await.unwrap().click().await.unwrap();
    browser.wait_for("document.body.dataset.loaded === 'yes'", 20).await;
    let rows = c.find_all(Locator::Css("#ledger-rows tr[data-issue]")).await.unwrap();
    assert_eq!(rows.len(), 2);

    // The month's list: drafted with the accepted issue on it, issued (it freezes), downloaded.
    c.find(Locator::Id("nav-lists")).await.unwrap().click().await.unwrap();
    browser.wait_for("document.body.dataset.loaded === 'index'", 20).await;
    c.find(Locator::Id("list-draft-submit")).await.unwrap().click().await.unwrap();
    browser.wait_for("document.body.dataset.loaded === 'draft'", 20).await;
    let lines = c.find_all(Locator::Css("#list-rows tr[data-issue]")).await.unwrap();
    assert_eq!(lines.len(), 1, "the accepted issue is on the draft");
    c.find(Locator::Id("list-issue")).await.unwrap().click().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.accept_alert().await.unwrap();
    browser.wait_for("document.body.dataset.loaded === 'issued'", 20).await;
    browser.screenshot("console-list-issued").await;
    c.find(Locator::Id("download-xlsx")).await.unwrap().click().await.unwrap();
    let xlsx = browser.downloaded(".xlsx", 30).await;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).expect("an XLSX workbook");
    let sheet = calamine::Reader::worksheet_range_at(&mut book, 0).unwrap().unwrap();
    let text: Vec<String> = sheet.rows().flat_map(|r| r.iter().map(ToString::to_string)).collect();
    assert!(text.iter().any(|c| c.contains("村口道路破损积水")), "the issue's row is in the downloaded list: {text:?}");
    browser.close().await;

    // A representative has no inbox: the page answers 404, as if it did not exist.
    let http = reqwest::Client::builder().redirect(redirect::Policy::none()).build().unwrap();
    let res = http.get(format!("{}/login", server.base)).send().await.unwrap();
    let csrf = cookies(&res).into_iter().find(|(n, _, _)| n == "fv_csrf").unwrap().1;
    let res = http
        .post(format!("{}/login", server.base))
        .header(COOKIE, format!("fv_csrf={csrf}"))
        .form(&[("username", reps[1].as_str()), ("password", "fieldvisit"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let cookie = jar(&cookies(&res));
    let res = http.get(format!("{}/inbox", server.base)).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = http.get(format!("{}/ledger/{older_issue}", server.base)).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "an issue they did not raise is outside their reach");
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_planner_imports_a_register_and_applies_the_rule(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    // An enterprise register with a row that has no name (line 3, the header being line 1).
    let (lon, lat): (f64, f64) =
        sqlx::query_as("SELECT ST_X(location), ST_Y(location) FROM stations WHERE code = 'dongyang'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let csv = format!(
        "名称,统一社会信用代码,经度,纬度\n东阳新材料有限公司,91419001MA00000001,{:.6},{:.6}\n,91419001MA00000002,{:.6},{:.6}\n东阳农机合作社,91419001MA00000003,{:.6},{:.6}\n",
        lon + 0.002,
        lat + 0.001,
        lon + 0.003,
        lat,
        lon - 0.002,
        lat - 0.001
    );
    let file = std::env::temp_dir().join(format!("register-{}.csv", uuid::Uuid::now_v7()));
    std::fs::write(&file, csv).unwrap();

    let browser = Browser::start(1366, 768).await;
    let c = &browser.client;
    sign_in(&browser, &server, "planner").await;
    c.find(Locator::Id("nav-import")).await.unwrap().click().await.unwrap();
    browser.wait_for("document.body.dataset.loaded === 'form'", 20).await;
    c.find(Locator::Id("import-file")).await.unwrap().send_keys(&file.to_string_lossy()).await.unwrap();
    let source = c.find(Locator::Id("import-source")).await.unwrap();
    source.clear().await.unwrap();
    source.send_keys("工商登记").await.unwrap();
    c.find(Locator::Id("import-dry")).await.unwrap().click().await.unwrap();
    browser.wait_for("document.body.dataset.loaded === 'dry'", 30).await;
    // The report names the bad row's line, and nothing is written yet.
    c.find(Locator::Css("#import-refusals tr[data-line='3']")).await.unwrap();
    assert_eq!(c.find(Locator::Id("import-created")).await.unwrap().text().await.unwrap(), "2");
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM places WHERE source = '工商登记'")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert_eq!(count().await, 0, "a dry run writes nothing");
    browser.screenshot("console-import-dry-run").await;
    c.find(Locator::Id("import-run")).await.unwrap().click().await.unwrap();
    browser.wait_for("document.body.dataset.loaded === 'imported'", 30).await;
    assert_eq!(count().await, 2);

    // The rule, run and applied from its page: the new places get representatives.
    c.find(Locator::Id("nav-rule")).await.unwrap().click().await.unwrap();
    browser.wait_for("document.body.classList.contains('rule') && document.body.dataset.loaded", 20).await;
    c.find(Locator::Id("rule-run")).await.unwrap().click().await.unwrap();
    browser
        .wait_for("document.getElementById('rule-review') && !document.getElementById('rule-apply').disabled", 60)
        .await;
    browser.screenshot("console-rule-review").await;
    c.find(Locator::Id("rule-apply")).await.unwrap().click().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.accept_alert().await.unwrap();
    browser.wait_for("document.getElementById('rule-applied')", 30).await;
    let served: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT a.place_id) FROM assignments a JOIN places p ON p.id = a.place_id
         WHERE p.source = '工商登记' AND a.valid_to IS NULL AND a.source = 'rule'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(served, 2, "both imported places are assigned by the rule");
    // The map shows their lines.
    c.goto(&format!("{}/", server.base)).await.unwrap();
    browser.wait_for("window.fieldvisitMap && window.fieldvisitMap.loaded() && window.fieldvisitMap.queryRenderedFeatures({layers: ['assignments']}).length > 0", 30).await;
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT id::text FROM places WHERE source = '工商登记'").fetch_all(&pool).await.unwrap();
    let drawn = c
        .execute(
            "return window.fieldvisitMap.queryRenderedFeatures({layers: ['assignments']}).map(f => f.properties.place_id);",
            vec![],
        )
        .await
        .unwrap();
    let drawn: Vec<&str> = drawn.as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(ids.iter().any(|id| drawn.contains(&id.as_str())), "a line to an imported place is on the map");
    browser.screenshot("console-planner-map-after-import").await;
    browser.close().await;
    let _ = std::fs::remove_file(file);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn an_admin_creates_a_representative_who_can_then_sign_in(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let browser = Browser::start(1366, 768).await;
    let c = &browser.client;
    sign_in(&browser, &server, "admin").await;
    c.find(Locator::Id("nav-people")).await.unwrap().click().await.unwrap();
    browser.wait_for("document.body.classList.contains('people') && document.body.dataset.loaded", 20).await;
    // A password that is too short: the server's error shows next to its field, nothing is made.
    c.find(Locator::Id("person-name")).await.unwrap().send_keys("王新代表").await.unwrap();
    c.find(Locator::Id("person-username")).await.unwrap().send_keys("rep200").await.unwrap();
    c.find(Locator::Id("person-password")).await.unwrap().send_keys("short").await.unwrap();
    c.execute("document.querySelector('#person-create [name=station_id]').selectedIndex = 2;", vec![]).await.unwrap();
    c.find(Locator::Id("person-create-submit")).await.unwrap().click().await.unwrap();
    browser
        .wait_for("document.querySelector('#person-create [data-error-for=password]').textContent.length > 0", 20)
        .await;
    let exists = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM people WHERE username = 'rep200'")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert_eq!(exists().await, 0);
    let password = c.find(Locator::Id("person-password")).await.unwrap();
    password.clear().await.unwrap();
    password.send_keys("a-good-password").await.unwrap();
    c.find(Locator::Id("person-create-submit")).await.unwrap().click().await.unwrap();
    browser.wait_for("document.getElementById('person-created')", 20).await;
    browser.wait_for("document.querySelector('#people-rows tr td') && [...document.querySelectorAll('#people-rows td')].some(td => td.textContent === 'rep200')", 20).await;
    assert_eq!(exists().await, 1);
    browser.screenshot("console-admin-people").await;
    // A department renamed, through the browser's prompt.
    c.find(Locator::Css("#departments summary")).await.unwrap().click().await.unwrap();
    let first: String = c
        .execute("return document.querySelector('#department-list li').dataset.department;", vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    c.find(Locator::Css("#department-list li button")).await.unwrap().click().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.send_alert_text("镇农业农村服务中心").await.unwrap();
    c.accept_alert().await.unwrap();
    let renamed = || async {
        sqlx::query_scalar::<_, String>("SELECT name_zh FROM departments WHERE id = $1::uuid")
            .bind(&first)
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    for _ in 0..50 {
        if renamed().await == "镇农业农村服务中心" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(renamed().await, "镇农业农村服务中心");
    browser.close().await;
    // The new representative signs in with it.
    let (status, body) = server.login_full("rep200", "a-good-password").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["role"], "representative");
    // Pages of other roles are not theirs: 404.
    let staff = reqwest::Client::builder().redirect(redirect::Policy::none()).build().unwrap();
    let res = staff.get(format!("{}/login", server.base)).send().await.unwrap();
    let csrf = cookies(&res).into_iter().find(|(n, _, _)| n == "fv_csrf").unwrap().1;
    let res = staff
        .post(format!("{}/login", server.base))
        .header(COOKIE, format!("fv_csrf={csrf}"))
        .form(&[("username", "staff02"), ("password", "fieldvisit"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let cookie = jar(&cookies(&res));
    for page in ["/people", "/rule", "/places", "/places/import"] {
        let res = staff.get(format!("{}{page}", server.base)).header(COOKIE, &cookie).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{page} for station staff");
    }
}

/// On the places page, once it has loaded: the table narrowed to `kind`, and its first
/// row's place.
async fn first_place_of_kind(browser: &Browser, kind: &str) -> String {
    let c = &browser.client;
    browser
        .wait_for(
            "document.body.classList.contains('places') && (document.body.dataset.loaded || '').startsWith('all:')",
            20,
        )
        .await;
    let pick = "const k = document.getElementById('places-kind'); k.value = arguments[0]; k.dispatchEvent(new Event('change'));";
    c.execute(pick, vec![json!(kind)]).await.unwrap();
    browser.wait_for(&format!("document.body.dataset.loaded.startsWith('{kind}:')"), 20).await;
    c.execute("return document.querySelector('#places-rows tr').dataset.place;", vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_planner_renames_a_place_from_its_table(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let browser = Browser::start(1366, 768).await;
    let c = &browser.client;
    sign_in(&browser, &server, "planner").await;
    c.find(Locator::Id("nav-places")).await.unwrap().click().await.unwrap();
    let id = first_place_of_kind(&browser, "enterprise").await;
    c.find(Locator::Css("#places-rows a")).await.unwrap().click().await.unwrap();
    browser.wait_for("document.getElementById('place-edit')", 20).await;
    // A point place gets a marker to drag.
    browser.wait_for("document.querySelector('.maplibregl-marker')", 20).await;
    let name = c.find(Locator::Id("place-name")).await.unwrap();
    name.clear().await.unwrap();
    name.send_keys("济源市更名后的企业").await.unwrap();
    c.find(Locator::Id("place-save")).await.unwrap().click().await.unwrap();
    browser.wait_for("document.body.dataset.saved", 20).await;
    let stored: String =
        sqlx::query_scalar("SELECT name FROM places WHERE id = $1::uuid").bind(&id).fetch_one(&pool).await.unwrap();
    assert_eq!(stored, "济源市更名后的企业");
    browser.close().await;
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_planner_drags_a_grid_cells_vertex(pool: PgPool) {
    use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
    let server = Server::in_process(&pool).await;
    let browser = Browser::start(1366, 768).await;
    let c = &browser.client;
    sign_in(&browser, &server, "planner").await;
    c.goto(&format!("{}/places", server.base)).await.unwrap();
    let id = first_place_of_kind(&browser, "grid_cell").await;
    let before: String = sqlx::query_scalar("SELECT ST_AsText(geom) FROM places WHERE id = $1::uuid")
        .bind(&id)
        .fetch_one(&pool)
        .await
        .unwrap();
    c.find(Locator::Css("#places-rows a")).await.unwrap().click().await.unwrap();
    browser.wait_for("document.querySelectorAll('.vertex').length >= 3 && window.getComputedStyle(document.querySelector('.vertex')).cursor", 20).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Drag the first vertex 25 px right and 15 px down, as a person would with the mouse.
    let vertex = c.find(Locator::Css(".vertex[data-vertex='0']")).await.unwrap();
    let drag = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement { element: vertex, duration: None, x: 0.0, y: 0.0 })
        .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
        .then(PointerAction::MoveBy { duration: Some(Duration::from_millis(200)), x: 10.0, y: 5.0 })
        .then(PointerAction::MoveBy { duration: Some(Duration::from_millis(200)), x: 15.0, y: 10.0 })
        .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
    c.perform_actions(drag).await.unwrap();
    browser.screenshot("console-place-vertex").await;
    c.find(Locator::Id("place-save")).await.unwrap().click().await.unwrap();
    browser.wait_for("document.body.dataset.saved", 20).await;
    let (after, valid): (String, bool) =
        sqlx::query_as("SELECT ST_AsText(geom), ST_IsValid(geom) FROM places WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_ne!(after, before, "the outline moved");
    assert!(valid);
    browser.close().await;
}
