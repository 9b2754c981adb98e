//! Exports of a monthly issue list and of the ledger, read back as a person's
//! programs would: the workbook with calamine (and its sheet XML for the
//! print setup), the CSV with a CSV reader, the GeoJSON as RFC 7946, the
//! printable page. Issues are made through the REST API by station staff.

use std::io::Read;

use fieldvisit_tests::{Server, error_code};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

/// 东阳联络站 and two of its places; 碌碡联络站 is another station.
const DONGYANG: &str = "0f3b6299-4f00-5430-8bc1-4508504b4a84";
const LIUYAO: &str = "49fc7942-106d-5481-89fd-8f4592cac00d";
const YUANDONG: &str = "907ad939-9a00-54fe-ad0e-a2287c6355c0";
/// Representatives of 东阳联络站.
const ZHOU_WEIMIN: &str = "2969f0fc-8349-5f15-8247-5e97c5bbfb63";
const LIU_XIA: &str = "8ac22114-6aae-5014-95e8-2d833ce2f4de";

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// This month, Asia/Shanghai: `(YYYY-MM, year, month)`.
fn this_month() -> (String, i32, u32) {
    use chrono::Datelike;
    let now = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap());
    (now.format("%Y-%m").to_string(), now.year(), now.month())
}

/// Three accepted issues of 东阳联络站 (two at places, one at a position),
/// drafted into this month's list by its staff and issued; the list's id.
async fn issued_list(server: &Server, staff: &str) -> String {
    let issues = [
        json!({"place_id": LIUYAO, "title": "村口道路积水", "description": "雨后村口道路积水严重，影响群众出行。",
            "category": "traffic_safety", "raiser_ids": [ZHOU_WEIMIN, LIU_XIA], "deadline": "2027-01-31"}),
        json!({"place_id": YUANDONG, "title": "饮水管道老化", "description": "原东村饮水管道老化漏水。",
            "category": "water", "raiser_ids": [LIU_XIA]}),
        json!({"position": {"lon": 112.28, "lat": 35.14}, "station_id": DONGYANG, "title": "企业招工难",
            "description": "附近企业反映招工困难 <急>。", "category": "hiring", "raiser_ids": [ZHOU_WEIMIN]}),
    ];
    for body in issues {
        let (status, created) = server.call(Method::POST, Some(staff), "/v1/issues", Some(&body)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["issue"]["id"].as_str().unwrap();
        let (status, accepted) = server
            .call(Method::POST, Some(staff), &format!("/v1/issues/{id}/actions"), Some(&json!({"action": "accept"})))
            .await;
        assert_eq!(status, StatusCode::OK, "{accepted}");
    }
    let (month, _, _) = this_month();
    let (status, list) = server
        .call(Method::POST, Some(staff), "/v1/issue-lists", Some(&json!({"month": month, "station_id": DONGYANG})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{list}");
    assert_eq!(list["lines"].as_array().unwrap().len(), 3, "{list}");
    let id = list["id"].as_str().unwrap().to_owned();
    let (status, frozen) = server.call(Method::POST, Some(staff), &format!("/v1/issue-lists/{id}/issue"), None).await;
    assert_eq!(status, StatusCode::OK, "{frozen}");
    id
}

async fn download(server: &Server, token: &str, path: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    let res = server.http.get(format!("{}{path}", server.base)).bearer_auth(token).send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    (status, headers, res.bytes().await.unwrap().to_vec())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// The cells of the workbook's first sheet, as text, row by row.
fn sheet_cells(bytes: &[u8]) -> (String, Vec<Vec<String>>) {
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let name = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&name).unwrap();
    (name, range.rows().map(|r| r.iter().map(ToString::to_string).collect()).collect())
}

/// One file of the workbook's zip, as text.
fn xlsx_part(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut text = String::new();
    zip.by_name(name).unwrap().read_to_string(&mut text).unwrap();
    text
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn the_list_as_a_workbook_the_township_prints(pool: PgPool) {
    let server = Server::in_process_with(&pool, &[("FIELDVISIT_TOWNSHIP_NAME", "邵原镇")]).await;
    let staff = server.login("staff02").await;
    let id = issued_list(&server, &staff).await;
    let (month, year, m) = this_month();

    let (status, headers, bytes) = download(&server, &staff, &format!("/v1/issue-lists/{id}/export?format=xlsx")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), XLSX);
    let disposition = header(&headers, "content-disposition");
    assert!(
        disposition.starts_with(&format!("attachment; filename=\"issue-list-{month}.xlsx\"; filename*=UTF-8''")),
        "{disposition}"
    );
    let title = format!("邵原镇东阳联络站{year}年{m}月问题清单");
    let encoded: String = title
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { char::from(b).to_string() } else { format!("%{b:02X}") })
        .collect();
    assert!(disposition.contains(&encoded), "the Chinese name in filename*: {disposition}");

    let (sheet, rows) = sheet_cells(&bytes);
    assert_eq!(sheet, "问题清单");
    assert_eq!(rows[0][0], title);
    assert_eq!(
        rows[1],
        [
            "序号",
            "问题描述",
            "类别",
            "地点",
            "坐标",
            "提出代表",
            "联络站",
            "责任单位",
            "办理时限",
            "办理状态",
            "销号日期"
        ]
    );
    assert_eq!(rows.len(), 2 + 3, "title, headers and three issues");
    assert_eq!(rows[2][0], "1");
    assert!(
        rows[2][1].contains("村口道路积水") && rows[2][1].contains("雨后村口道路积水严重"),
        "title and description: {:?}",
        rows[2][1]
    );
    assert_eq!(rows[2][2], "交通安全");
    assert_eq!(rows[2][3], "刘尧村");
    assert!(rows[2][5].contains("周卫民") && rows[2][5].contains("刘霞"), "{:?}", rows[2][5]);
    assert_eq!(rows[2][6], "东阳联络站");
    assert_eq!(rows[2][8], "2027-01-31");
    assert_eq!(rows[2][9], "已转办", "issuing the list forwarded it");
    assert!(rows[4][1].contains("&lt;急&gt;") || rows[4][1].contains("<急>"), "{:?}", rows[4][1]);

    let xml = xlsx_part(&bytes, "xl/worksheets/sheet1.xml");
    assert!(xml.contains(r#"state="frozen""#) && xml.contains(r#"ySplit="2""#), "frozen title and header rows");
    let page_setup = xml.split("<pageSetup").nth(1).and_then(|s| s.split("/>").next()).expect("a pageSetup");
    assert!(
        page_setup.contains(r#"paperSize="9""#) && page_setup.contains(r#"orientation="landscape""#),
        "{page_setup}"
    );
    assert!(page_setup.contains(r#"fitToHeight="0""#), "as many pages tall as it takes: {page_setup}");
    assert!(
        !page_setup.contains("fitToWidth=") || page_setup.contains(r#"fitToWidth="1""#),
        "one page wide: {page_setup}"
    );
    assert!(xml.contains(r#"<pageSetUpPr fitToPage="1"/>"#), "fitted to the page");
    assert!(xml.contains("<oddFooter>") && xml.contains("&amp;P"), "page numbers in the footer");
    assert!(xml.contains("<col ") && xml.contains(r#"customWidth="1""#), "explicit column widths");
    assert!(xlsx_part(&bytes, "xl/styles.xml").contains(r#"wrapText="1""#), "wrapped text");
    let workbook = xlsx_part(&bytes, "xl/workbook.xml");
    assert!(workbook.contains(r#"<definedName name="_xlnm.Print_Titles" localSheetId="0">"#), "{workbook}");
    assert!(workbook.contains("!$2:$2</definedName>"), "the header row repeated on every page: {workbook}");

    // In English.
    let (status, _, bytes) = download(&server, &staff, &format!("/v1/issue-lists/{id}/export?lang=en")).await;
    assert_eq!(status, StatusCode::OK);
    let (sheet, rows) = sheet_cells(&bytes);
    assert_eq!(sheet, "Issues");
    assert!(rows[0][0].contains("issue list"), "{:?}", rows[0][0]);
    assert_eq!(rows[1][0], "No.");
    assert_eq!(rows[1][9], "Status");
    assert_eq!(rows[2][2], "Traffic safety");
    assert_eq!(rows[2][9], "Forwarded");
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn csv_geojson_and_the_printable_page(pool: PgPool) {
    // Without --township-name the root station names the township.
    let server = Server::in_process(&pool).await;
    let staff = server.login("staff02").await;
    let id = issued_list(&server, &staff).await;

    let (status, headers, bytes) = download(&server, &staff, &format!("/v1/issue-lists/{id}/export?format=csv")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "text/csv; charset=utf-8");
    assert!(header(&headers, "content-disposition").contains(".csv"));
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "a UTF-8 byte-order mark first");
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>()[..2], ["序号", "问题描述"]);
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 3);
    assert_eq!(&records[1][3], "原东村");
    assert_eq!(&records[1][2], "用水");

    let (status, headers, wgs84) =
        download(&server, &staff, &format!("/v1/issue-lists/{id}/export?format=geojson")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "application/geo+json");
    let wgs84: Value = serde_json::from_slice(&wgs84).unwrap();
    assert_eq!(wgs84["type"], "FeatureCollection");
    assert!(wgs84["name"].as_str().unwrap().starts_with("邵原中心站东阳联络站"), "{}", wgs84["name"]);
    let features = wgs84["features"].as_array().unwrap();
    assert_eq!(features.len(), 3);
    for f in features {
        assert_eq!(f["type"], "Feature");
        assert_eq!(f["geometry"]["type"], "Point");
        let c = f["geometry"]["coordinates"].as_array().unwrap();
        let (lon, lat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
        assert!((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat));
        assert!((112.0..113.0).contains(&lon) && (35.0..35.5).contains(&lat), "in 邵原镇: {lon}, {lat}");
        assert!(f["properties"]["number"].as_str().is_some() && f["properties"]["state_code"] == "forwarded", "{f}");
    }
    let third = &features[2]["geometry"]["coordinates"];
    assert_eq!((third[0].as_f64().unwrap(), third[1].as_f64().unwrap()), (112.28, 35.14), "the position as given");

    let (status, _, gcj02) =
        download(&server, &staff, &format!("/v1/issue-lists/{id}/export?format=geojson&crs=gcj02")).await;
    assert_eq!(status, StatusCode::OK);
    let gcj02: Value = serde_json::from_slice(&gcj02).unwrap();
    assert_eq!(gcj02["coordinate_system"], "gcj02");
    for (w, g) in features.iter().zip(gcj02["features"].as_array().unwrap()) {
        let at = |f: &Value, i: usize| f["geometry"]["coordinates"][i].as_f64().unwrap();
        let metres = haversine_m((at(w, 0), at(w, 1)), (at(g, 0), at(g, 1)));
        assert!((100.0..1000.0).contains(&metres), "GCJ-02 is a few hundred metres off WGS84 here: {metres} m");
    }

    let (status, headers, page) = download(&server, &staff, &format!("/v1/issue-lists/{id}/export?format=html")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
    assert!(header(&headers, "content-disposition").starts_with("inline; "));
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("@page") && page.contains("size: A4 landscape"), "print CSS");
    assert!(page.contains("<thead><tr><th>序号</th><th>问题描述</th>"), "the header row, repeated by thead");
    assert_eq!(page.matches("<tr>").count(), 1 + 3);
    assert!(page.contains("&lt;急&gt;") && !page.contains("<急>"), "text is escaped");

    let (_, _, page) = download(&server, &staff, &format!("/v1/issue-lists/{id}/export?format=html&lang=en")).await;
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("<th>No.</th><th>Issue</th>") && page.contains(r#"<html lang="en">"#));
}

fn haversine_m((lon1, lat1): (f64, f64), (lon2, lat2): (f64, f64)) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let (dp, dl) = ((lat2 - lat1).to_radians(), (lon2 - lon1).to_radians());
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * a.sqrt().asin()
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn the_ledger_export_has_the_ledger_filters_and_scope(pool: PgPool) {
    let server = Server::in_process_with(&pool, &[("FIELDVISIT_TOWNSHIP_NAME", "邵原镇")]).await;
    let staff = server.login("staff02").await;
    issued_list(&server, &staff).await;
    let (month, year, m) = this_month();

    let (status, headers, bytes) = download(&server, &staff, "/v1/issues/export?format=xlsx").await;
    assert_eq!(status, StatusCode::OK);
    assert!(header(&headers, "content-disposition").contains(&format!("issue-ledger-{month}.xlsx")));
    let (_, rows) = sheet_cells(&bytes);
    assert_eq!(rows[0][0], "邵原镇问题台账");
    assert_eq!(rows.len(), 2 + 3);
    assert_eq!(rows[2][1].split_whitespace().next().unwrap().len(), "2026-0003".len(), "newest first, numbered");

    let (status, _, bytes) =
        download(&server, &staff, &format!("/v1/issues/export?format=csv&category=water&month={month}")).await;
    assert_eq!(status, StatusCode::OK);
    let records: Vec<_> = csv::Reader::from_reader(&bytes[3..]).into_records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 1);
    assert_eq!(&records[0][3], "原东村");

    let (_, _, bytes) = download(&server, &staff, &format!("/v1/issues/export?month={month}&lang=en")).await;
    let (_, rows) = sheet_cells(&bytes);
    assert_eq!(
        rows[0][0],
        format!("邵原镇 issue ledger, {} {year}", chrono::Month::try_from(u8::try_from(m).unwrap()).unwrap().name())
    );
    assert_eq!(rows[1][1], "Issue");

    // Another station's staff see none of 东阳's issues in their ledger…
    let other = server.login("staff03").await;
    let (status, _, bytes) = download(&server, &other, "/v1/issues/export?format=csv").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(csv::Reader::from_reader(&bytes[3..]).into_records().count(), 0);
    // …and the presidium sees the township's.
    let presidium = server.login("presidium").await;
    let (_, _, bytes) = download(&server, &presidium, "/v1/issues/export?format=geojson").await;
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["features"].as_array().unwrap().len(), 3);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn another_stations_staff_and_bad_input_are_refused(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let staff = server.login("staff02").await;
    let id = issued_list(&server, &staff).await;

    let other = server.login("staff03").await;
    let (status, body) = server.get(&other, &format!("/v1/issue-lists/{id}/export?format=xlsx")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(error_code(&body), "not_found");
    let (status, _) = server.get(&staff, &format!("/v1/issue-lists/{}/export", uuid::Uuid::now_v7())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    for query in ["format=pdf", "lang=xx", "crs=mars", "colour=red", "format=xlsx&limit=5"] {
        for path in [format!("/v1/issue-lists/{id}/export?{query}"), format!("/v1/issues/export?{query}")] {
            let (status, body) = server.get(&staff, &path).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
            assert_eq!(error_code(&body), "invalid_parameter", "{path}: {body}");
        }
    }
    let (status, body) = server.get(&staff, "/v1/issues/export?month=2026-13").await;
    assert!(status.is_client_error(), "{status} {body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    let (status, _) = server.get(&staff, "/v1/issues/export").await;
    assert_eq!(status, StatusCode::OK, "the route is not taken for an issue id");
    let res = server.http.get(format!("{}/v1/issues/export", server.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

/// The printable page printed by a real browser (headless Chromium, as
/// Debian packages it): A4 landscape pages, the Chinese text rendered with a
/// CJK font, in Chinese and in English. Screenshots are kept beside the PDFs
/// under `$CARGO_TARGET_TMPDIR` for a person to look at.
#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn the_printable_page_prints_as_a4_landscape_in_a_real_browser(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let staff = server.login("staff02").await;
    let id = issued_list(&server, &staff).await;
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("print-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&out).unwrap();
    for lang in ["zh", "en"] {
        let (status, _, page) =
            download(&server, &staff, &format!("/v1/issue-lists/{id}/export?format=html&lang={lang}")).await;
        assert_eq!(status, StatusCode::OK);
        let html = out.join(format!("list-{lang}.html"));
        std::fs::write(&html, &page).unwrap();
        let pdf = out.join(format!("list-{lang}.pdf"));
        let png = out.join(format!("list-{lang}.png"));
        for (flag, file) in [("--print-to-pdf", &pdf), ("--screenshot", &png)] {
            let status = std::process::Command::new(chromium())
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-pdf-header-footer",
                    "--window-size=1400,900",
                ])
                .arg(format!("{flag}={}", file.display()))
                .arg(format!("file://{}", html.display()))
                .stderr(std::process::Stdio::null())
                .status()
                .expect("chromium runs (.ci/setup installs it)");
            assert!(status.success(), "chromium {flag} for {lang}");
        }
        let bytes = std::fs::read(&pdf).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        // A4 landscape is 842 × 595 points: the page's @page rule, honoured by the browser.
        let landscape = text.contains("/MediaBox [0 0 841.91998 594.95996]")
            || text.contains("/MediaBox [0 0 842 595]")
            || text.contains("/MediaBox [0 0 841.92 595.2]");
        assert!(
            landscape,
            "{lang}: an A4 landscape page: {}",
            text.lines().find(|l| l.contains("MediaBox")).unwrap_or("none")
        );
        // A Chinese page embeds a CJK font; a page of boxes would not.
        if lang == "zh" {
            assert!(text.contains("CJK") || text.contains("Noto"), "a CJK font is embedded");
        }
        assert!(std::fs::metadata(&png).unwrap().len() > 10_000, "{lang}: the screenshot shows something");
    }
}

/// Debian's `chromium`, or what `FIELDVISIT_CHROMIUM` names.
fn chromium() -> String {
    std::env::var("FIELDVISIT_CHROMIUM").unwrap_or_else(|_| "chromium".into())
}
