//! The printable monthly coverage report (`GET /v1/coverage/report`), read
//! back as its readers would: the SVG parsed by usvg (the parser resvg draws
//! with), the PNG decoded and its pixels looked at, the page's overdue list
//! against `place_coverage` itself. October 2026 is a past month of the
//! fixture township (every assignment in force since January), so its
//! statuses are final: a few assignments get a verified visit, one new place
//! has nobody assigned, every other assigned place is overdue.

use std::collections::BTreeSet;
use std::sync::Arc;

use fieldvisit::report::png;
use fieldvisit::report::png::usvg;
use fieldvisit_tests::{Server, error_code};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

/// 东阳联络站 (its staff is staff02); 段凹联络站 is another station.
const DONGYANG: &str = "0f3b6299-4f00-5430-8bc1-4508504b4a84";
const DUANWA: &str = "f1347ce6-e8aa-5d2d-82f2-6e9038e9d906";

const MONTH: &str = "2026-10";

const VISITED: [u8; 3] = [0x2e, 0x7d, 0x32];
const OVERDUE: [u8; 3] = [0xc6, 0x28, 0x28];
const UNASSIGNED: [u8; 3] = [0x75, 0x75, 0x75];

/// A verified check-in in October by the representative of each of the first
/// `per_station` assignments (by id) of every station, and an enterprise with
/// nobody assigned at 东阳联络站's office. The visited places' ids.
async fn october(pool: &PgPool, per_station: i64) -> BTreeSet<Uuid> {
    let visited: Vec<Uuid> = sqlx::query_scalar(
        "WITH chosen AS (
             SELECT a.person_id, a.place_id, pl.geom,
                    row_number() OVER (PARTITION BY pl.station_id ORDER BY a.id) AS n
             FROM assignments a JOIN places pl ON pl.id = a.place_id WHERE pl.active)
         INSERT INTO check_ins (id, person_id, place_id, position, reported, accuracy_m, mock_location, device_time,
                                device_utc_offset_s, received_at, visited_at, visit_month, distance_m, geofence_m,
                                verdict, reasons, payload_hash)
         SELECT gen_random_uuid(), person_id, place_id, ST_PointOnSurface(geom), '{}', 8, false, t, 28800, t, t,
                '2026-10-01', 0, 100, 'verified', '{}', '\\x00'
         FROM chosen, (SELECT timestamptz '2026-10-15 10:00+08' AS t) c WHERE n <= $1
         RETURNING place_id",
    )
    .bind(per_station)
    .fetch_all(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO places (id, kind, name, geom, station_id)
         SELECT gen_random_uuid(), 'enterprise', '新建企业', location, id FROM stations WHERE id = $1",
    )
    .bind(Uuid::parse_str(DONGYANG).unwrap())
    .execute(pool)
    .await
    .unwrap();
    visited.into_iter().collect()
}

/// `place_coverage` of the month, as `(place, status)`, for the stations given (None: all).
async fn coverage(pool: &PgPool, stations: Option<Vec<Uuid>>) -> Vec<(Uuid, String)> {
    sqlx::query_as(
        "SELECT place_id, status FROM place_coverage($1::date, ST_MakeEnvelope(-180, -90, 180, 90, 4326), $2)",
    )
    .bind(format!("{MONTH}-01"))
    .bind(stations)
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn fetch(server: &Server, token: &str, query: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    let res = server.http.get(format!("{}/v1/coverage/report?{query}", server.base)).bearer_auth(token).send().await;
    let res = res.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    (status, headers, res.bytes().await.unwrap().to_vec())
}

fn content_type(headers: &HeaderMap) -> &str {
    headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// The ids of the drawn places (`place-{id}`) in a parsed SVG, in document order.
fn drawn_places(svg: &str) -> Vec<Uuid> {
    fn walk(group: &usvg::Group, out: &mut Vec<Uuid>) {
        for node in group.children() {
            if let Some(id) = node.id().strip_prefix("place-") {
                out.push(Uuid::parse_str(id).unwrap());
            }
            if let usvg::Node::Group(g) = node {
                walk(g, out);
            }
        }
    }
    let tree = png::parse(svg, png::system_fonts()).expect("the SVG parses");
    let mut out = Vec::new();
    walk(tree.root(), &mut out);
    out
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn the_svg_map_has_the_legend_the_station_names_and_every_place(pool: PgPool) {
    october(&pool, 2).await;
    let server = Server::in_process_with(&pool, &[("FIELDVISIT_TOWNSHIP_NAME", "邵原镇")]).await;
    let presidium = server.login("presidium").await;

    let (status, headers, body) = fetch(&server, &presidium, &format!("month={MONTH}&format=svg")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), "image/svg+xml");
    let svg = String::from_utf8(body).unwrap();
    let drawn = drawn_places(&svg);
    let expected = coverage(&pool, None).await;
    assert_eq!(drawn.len(), expected.len(), "one shape per place");
    assert_eq!(
        drawn.iter().copied().collect::<BTreeSet<_>>(),
        expected.iter().map(|(id, _)| *id).collect::<BTreeSet<_>>()
    );
    for (id, status) in &expected {
        assert!(svg.contains(&format!(r#"id="place-{id}" class="{status}""#)), "{id} drawn as {status}");
    }

    assert!(svg.contains("邵原镇2026年10月走访覆盖图"), "the title");
    for word in ["图例", "已走访", "待走访", "逾期未走访", "未分配", "#2e7d32", "#f9a825", "#c62828", "#757575"]
    {
        assert!(svg.contains(word), "the legend has {word}");
    }
    let stations: Vec<String> =
        sqlx::query_scalar("SELECT name FROM stations WHERE active").fetch_all(&pool).await.unwrap();
    assert_eq!(stations.len(), 6);
    for name in stations {
        assert!(svg.contains(&format!(">{name}</text>")), "{name} is written on the map");
    }

    let (status, _, body) = fetch(&server, &presidium, &format!("month={MONTH}&format=svg&lang=en")).await;
    assert_eq!(status, StatusCode::OK);
    let svg = String::from_utf8(body).unwrap();
    for word in ["Visit coverage, October 2026: 邵原镇", "Legend", "Visited", "Overdue", "Unassigned"] {
        assert!(svg.contains(word), "in English: {word}");
    }
}

/// Pixels of `img` within `rows` (image rows) whose colour is exactly `rgb`.
fn count_colour(img: &image::RgbaImage, x_max: u32, rgb: [u8; 3]) -> usize {
    img.enumerate_pixels().filter(|(x, _, p)| *x < x_max && p.0[..3] == rgb).count()
}

/// Dark pixels (text) within the title's band of the page.
fn dark_in_title(img: &image::RgbaImage) -> usize {
    let band = 56 * png::SCALE;
    img.enumerate_pixels()
        .filter(|(_, y, p)| *y < band && u32::from(p.0[0]) + u32::from(p.0[1]) + u32::from(p.0[2]) < 3 * 100)
        .count()
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn the_png_shows_the_status_colours_and_the_chinese_title(pool: PgPool) {
    october(&pool, 2).await;
    let server = Server::in_process_with(&pool, &[("FIELDVISIT_TOWNSHIP_NAME", "邵原镇")]).await;
    let staff = server.login("staff02").await;

    let (status, headers, body) = fetch(&server, &staff, &format!("month={MONTH}&format=png")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), "image/png");
    let img = image::load_from_memory(&body).expect("a PNG").to_rgba8();
    assert_eq!(img.dimensions(), (1123 * png::SCALE, 794 * png::SCALE), "A4 landscape at 192 dpi");

    // In the map (left of the legend): visited, overdue and unassigned markers.
    let map_right = 764 * png::SCALE;
    for (what, rgb) in [("visited", VISITED), ("overdue", OVERDUE), ("unassigned", UNASSIGNED)] {
        assert!(count_colour(&img, map_right, rgb) > 20, "{what} markers on the map");
    }

    // The title is drawn in a CJK font: with the system's fonts the band is
    // full of dark glyph pixels; the same SVG without fonts has none there.
    let fonts = png::system_fonts();
    let cjk = fonts.query(&png::fontdb::Query {
        families: &[png::fontdb::Family::Name(fieldvisit::report::FONT_FAMILY)],
        ..png::fontdb::Query::default()
    });
    assert!(cjk.is_some(), "fonts-noto-cjk is installed (.ci/setup)");
    let dark = dark_in_title(&img);
    assert!(dark > 2000, "the title's glyphs: {dark} dark pixels");
    let (_, _, svg) = fetch(&server, &staff, &format!("month={MONTH}&format=svg")).await;
    let svg = String::from_utf8(svg).unwrap();
    let bare = png::render(&svg, Arc::new(png::fontdb::Database::new())).unwrap();
    let bare = image::load_from_memory(&bare).unwrap().to_rgba8();
    assert_eq!(dark_in_title(&bare), 0, "without fonts no text is drawn");
    assert_ne!(bare.as_raw(), img.as_raw());
}

/// The place ids of the page's overdue table, in order.
fn overdue_rows(page: &str) -> Vec<Uuid> {
    let Some((_, table)) = page.split_once(r#"<table data-test="overdue">"#) else { return Vec::new() };
    let table = table.split_once("</table>").unwrap().0;
    table.split(r#"<tr data-place=""#).skip(1).map(|r| Uuid::parse_str(r.split_once('"').unwrap().0).unwrap()).collect()
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn the_page_lists_exactly_the_overdue_places_of_a_past_month(pool: PgPool) {
    let visited = october(&pool, 3).await;
    let server = Server::in_process_with(&pool, &[("FIELDVISIT_TOWNSHIP_NAME", "邵原镇")]).await;
    let presidium = server.login("presidium").await;

    let (status, headers, body) = fetch(&server, &presidium, &format!("month={MONTH}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), "text/html; charset=utf-8", "a page by default");
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains(r#"<html lang="zh-CN">"#) && page.contains("size: A4 landscape"));
    assert!(page.contains("<h1 data-test=\"title\">邵原镇2026年10月走访覆盖图</h1>"));
    assert!(page.contains("<svg ") && !page.contains("<?xml"), "the map inline");
    assert!(page.contains("逾期未走访地点") && page.contains("负责代表"));

    let listed = overdue_rows(&page);
    let overdue: BTreeSet<Uuid> =
        coverage(&pool, None).await.into_iter().filter(|(_, s)| s == "overdue").map(|(id, _)| id).collect();
    assert!(!overdue.is_empty());
    assert_eq!(listed.len(), overdue.len(), "each once");
    assert_eq!(listed.iter().copied().collect::<BTreeSet<_>>(), overdue);
    assert!(listed.iter().all(|id| !visited.contains(id)), "no visited place is overdue");

    // The totals: the township's row adds up to the places in scope.
    let total = page.split(r#"<tr class="total">"#).nth(1).unwrap();
    let places = coverage(&pool, None).await.len();
    assert!(total.starts_with(&format!(r#"<td>合计</td><td class="n">{places}</td>"#)), "{total}");

    let (status, _, body) = fetch(&server, &presidium, &format!("month={MONTH}&lang=en")).await;
    assert_eq!(status, StatusCode::OK);
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains(r#"<html lang="en">"#) && page.contains("Overdue places") && page.contains("Coverage"));
    assert_eq!(overdue_rows(&page).len(), overdue.len());
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn station_staff_and_representatives_see_their_station_only(pool: PgPool) {
    october(&pool, 1).await;
    let server = Server::in_process(&pool).await;
    let dongyang = Uuid::parse_str(DONGYANG).unwrap();
    let theirs: BTreeSet<Uuid> = coverage(&pool, Some(vec![dongyang])).await.into_iter().map(|(id, _)| id).collect();
    assert!(!theirs.is_empty());
    let rep: String = sqlx::query_scalar(
        "SELECT username FROM people WHERE role = 'representative' AND station_id = $1 AND active ORDER BY username LIMIT 1",
    )
    .bind(dongyang)
    .fetch_one(&pool)
    .await
    .unwrap();

    for who in ["staff02", rep.as_str()] {
        let token = server.login(who).await;
        for query in [format!("month={MONTH}&format=svg"), format!("month={MONTH}&format=svg&station_id={DONGYANG}")] {
            let (status, _, body) = fetch(&server, &token, &query).await;
            assert_eq!(status, StatusCode::OK, "{who} {query}");
            let svg = String::from_utf8(body).unwrap();
            assert_eq!(drawn_places(&svg).into_iter().collect::<BTreeSet<_>>(), theirs, "{who} {query}");
            assert!(svg.contains(">东阳联络站</text>") && !svg.contains(">段凹联络站</text>"), "{who}");
            assert!(svg.contains("东阳联络站2026年10月走访覆盖图</text>"), "the title names their station");
        }
        // Another station is outside their scope: as if it did not exist.
        let (status, headers, body) = fetch(&server, &token, &format!("station_id={DUANWA}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who}");
        assert!(content_type(&headers).starts_with("application/json"));
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(error_code(&body), "not_found");
    }

    // The presidium narrows the township to one station.
    let presidium = server.login("presidium").await;
    let (status, _, body) = fetch(&server, &presidium, &format!("month={MONTH}&format=svg&station_id={DUANWA}")).await;
    assert_eq!(status, StatusCode::OK);
    let duanwa: BTreeSet<Uuid> =
        coverage(&pool, Some(vec![Uuid::parse_str(DUANWA).unwrap()])).await.into_iter().map(|(id, _)| id).collect();
    assert_eq!(drawn_places(&String::from_utf8(body).unwrap()).into_iter().collect::<BTreeSet<_>>(), duanwa);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn bad_parameters_are_refused_as_json(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let presidium = server.login("presidium").await;
    for (query, field) in [
        ("month=2026-13", "month"),
        ("month=october", "month"),
        ("format=pdf", "format"),
        ("lang=fr", "lang"),
        ("station_id=dongyang", "station_id"),
        ("scale=2", "scale"),
    ] {
        let (status, headers, body) = fetch(&server, &presidium, query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(content_type(&headers).starts_with("application/json"), "{query}");
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(error_code(&body), "invalid_parameter", "{query}: {body}");
        assert_eq!(body["error"]["details"]["field"], field, "{query}: {body}");
    }
    let (status, _, body) = fetch(&server, &presidium, &format!("station_id={}", Uuid::new_v4())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&serde_json::from_slice(&body).unwrap()), "not_found");
    let res = server.http.get(format!("{}/v1/coverage/report", server.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
