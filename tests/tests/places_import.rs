//! Importing places from other offices' files, as a planner does: a GBK CSV
//! in GCJ-02 lands where the reference coordinates say, a GeoJSON grid map
//! and a zipped shapefile with a GBK `.cpg`; re-imports change nothing that
//! did not change; every refused row says its line and reason; `repair`
//! mends a bow-tie polygon; bad files are refused and write nothing.

use std::fmt::Write as _;
use std::io::Write;

use fieldvisit_geodata::crs::wgs84_to_gcj02;
use fieldvisit_geodata::distance::geodesic_m;
use fieldvisit_tests::{Server, error_code};
use geo::{Coord, Point};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sqlx::PgPool;

/// Points inside 东阳 (dongyang)'s service area, WGS84.
const DONGYANG: [(f64, f64); 3] = [(112.2474, 35.1467), (112.2510, 35.1480), (112.2440, 35.1450)];

async fn import(server: &Server, token: &str, file: Vec<u8>, name: &str, options: &Value) -> (StatusCode, Value) {
    let form =
        Form::new().part("file", Part::bytes(file).file_name(name.to_owned())).text("options", options.to_string());
    let res = server
        .http
        .post(format!("{}/v1/places/import", server.base))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn gbk(text: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(text).0.into_owned()
}

/// The enterprise register as 市场监管局 sends it: GBK, GCJ-02 (AMap) coordinates.
fn register_csv(extra: &str) -> Vec<u8> {
    let mut text = String::from("统一社会信用代码,名称,地址,经度,纬度,行业\n");
    for (i, (lon, lat)) in DONGYANG.iter().enumerate() {
        let g = wgs84_to_gcj02(Coord { x: *lon, y: *lat });
        writeln!(text, "91419001MA{i:08},邵原镇第{}机械厂,邵原镇东阳村{i}号,{:.7},{:.7},制造业", i + 1, g.x, g.y)
            .unwrap();
    }
    text.push_str(extra);
    gbk(&text)
}

async fn counts(pool: &PgPool) -> (i64, i64) {
    sqlx::query_as("SELECT (SELECT count(*) FROM places), (SELECT coalesce(sum(version), 0)::bigint FROM places)")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_gbk_csv_in_gcj02_lands_where_it_should_and_reimports_change_nothing(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let planner = server.login("planner").await;
    let options = json!({"source": "市场监管局企业名录", "crs": "gcj02", "kind": "enterprise"});

    // A dry run counts and changes nothing.
    let before = counts(&pool).await;
    let dry = json!({"source": "市场监管局企业名录", "crs": "gcj02", "kind": "enterprise", "dry_run": true});
    let (status, report) = import(&server, &planner, register_csv(""), "名录.csv", &dry).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!((report["created"].as_u64(), report["dry_run"].as_bool()), (Some(3), Some(true)), "{report}");
    assert_eq!(counts(&pool).await, before, "a dry run writes nothing");

    let (status, report) = import(&server, &planner, register_csv(""), "名录.csv", &options).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["created"], 3, "{report}");
    assert_eq!(report["file"]["encoding"], "gb18030", "GBK detected (as its superset, GB18030): {report}");
    // Where the reference coordinates say, within a metre, in the station whose area holds them.
    let rows: Vec<(String, String, f64, f64, String, serde_json::Value)> = sqlx::query_as(
        "SELECT p.external_id, p.name, ST_X(p.geom), ST_Y(p.geom), s.code, p.attributes FROM places p
         JOIN stations s ON s.id = p.station_id WHERE p.source = '市场监管局企业名录' ORDER BY p.external_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 3);
    for ((_, name, x, y, station, attributes), (lon, lat)) in rows.iter().zip(DONGYANG) {
        let off = geodesic_m(Point::new(*x, *y), Point::new(lon, lat));
        assert!(off < 1.0, "{name} is {off} m from its reference");
        assert_eq!(station, "dongyang");
        assert!(name.starts_with("邵原镇第"), "Chinese text read right: {name}");
        assert_eq!(attributes["行业"], "制造业");
    }
    // The same file again: nothing moves, not even a version.
    let after = counts(&pool).await;
    let (_, report) = import(&server, &planner, register_csv(""), "名录.csv", &options).await;
    assert_eq!(
        (report["created"].as_u64(), report["updated"].as_u64(), report["unchanged"].as_u64()),
        (Some(0), Some(0), Some(3))
    );
    assert_eq!(counts(&pool).await, after);
    // One name changed: that row alone is updated.
    let changed =
        encoding_rs::GBK.decode(&register_csv("")).0.into_owned().replace("邵原镇第1机械厂", "邵原镇第一机械有限公司");
    let (_, report) = import(&server, &planner, gbk(&changed), "名录.csv", &options).await;
    assert_eq!((report["updated"].as_u64(), report["unchanged"].as_u64()), (Some(1), Some(2)), "{report}");
    // A full re-import without the third: it retires, with --deactivate-missing only.
    let two: String = changed.lines().take(3).fold(String::new(), |mut out, l| {
        writeln!(out, "{l}").unwrap();
        out
    });
    let full =
        json!({"source": "市场监管局企业名录", "crs": "gcj02", "kind": "enterprise", "deactivate_missing": true});
    let (_, report) = import(&server, &planner, gbk(&two), "名录.csv", &full).await;
    assert_eq!(report["deactivated"], 1, "{report}");
    let active: i64 = sqlx::query_scalar("SELECT count(*) FROM places WHERE source = '市场监管局企业名录' AND active")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(active, 2);
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE entity = 'place_import'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(events, 4, "one audit event per import run, none for the dry run");
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn every_refused_row_says_its_line_and_reason_and_nothing_is_half_written(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let planner = server.login("planner").await;
    let (lon, lat) = DONGYANG[0];
    let csv = format!(
        "编号,名称,经度,纬度,联络站\n\
         A1,好企业,{lon},{lat},\n\
         A2,,{lon},{lat},\n\
         A3,坐标错,500,{lat},\n\
         A1,重复,{lon},{lat},\n\
         A5,无站,{lon},{lat},不存在站\n\
         A6,远方,100.0,20.0,\n\
         ,无编号,{lon},{lat},\n\
         A8,不是数,东经,{lat},\n\
         A9,点名站,{lon},{lat},dongyang\n"
    );
    let options = json!({"source": "测试", "kind": "enterprise"});
    let (status, report) = import(&server, &planner, csv.into_bytes(), "t.csv", &options).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let refused: Vec<(u64, &str)> = report["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        refused,
        [
            (3, "missing_name"),
            (4, "out_of_range"),
            (5, "duplicate_external_id"),
            (6, "unknown_station"),
            (7, "unknown_station"),
            (8, "missing_external_id"),
            (9, "invalid_geometry"),
        ],
        "{report}"
    );
    assert_eq!(report["created"], 2);

    // A bow-tie grid cell: refused, then repaired with `repair`.
    let d = 0.001;
    let bowtie = json!({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"id": "G1", "name": "蝴蝶网格"},
        "geometry": {"type": "Polygon", "coordinates": [[[lon, lat], [lon + d, lat + d], [lon + d, lat], [lon, lat + d], [lon, lat]]]}}]});
    let grid = json!({"source": "网格图", "kind": "grid_cell"});
    let (_, report) = import(&server, &planner, bowtie.to_string().into_bytes(), "g.geojson", &grid).await;
    assert_eq!(report["refused"][0]["reason"], "invalid_geometry", "{report}");
    let repair = json!({"source": "网格图", "kind": "grid_cell", "repair": true});
    let (_, report) = import(&server, &planner, bowtie.to_string().into_bytes(), "g.geojson", &repair).await;
    assert_eq!((report["created"].as_u64(), report["repaired"][0].as_u64()), (Some(1), Some(1)), "{report}");
    let valid: bool = sqlx::query_scalar("SELECT ST_IsValid(geom) FROM places WHERE source = '网格图'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(valid);

    // Bad files: a clear 4xx and nothing written.
    let before = counts(&pool).await;
    let mut truncated = Vec::new();
    {
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(&mut truncated));
        z.start_file("a.shp", zip::write::SimpleFileOptions::default()).unwrap();
        z.write_all(&[0, 0, 39, 10, 0, 0]).unwrap();
        z.start_file("a.dbf", zip::write::SimpleFileOptions::default()).unwrap();
        z.write_all(b"\x03").unwrap();
        z.finish().unwrap();
    }
    for (bytes, name, options) in [
        (b"PK\x03\x04 not really a zip".to_vec(), "x.zip", json!({"source": "s", "kind": "enterprise"})),
        (truncated, "a.zip", json!({"source": "s", "kind": "enterprise"})),
        (b"{\"type\": \"Nope\"}".to_vec(), "x.geojson", json!({"source": "s", "kind": "enterprise"})),
        (b"a,b\n1,2\n".to_vec(), "x.csv", json!({"source": "", "kind": "enterprise"})),
        (b"a,b\n1,2\n".to_vec(), "x.csv", json!({"source": "s", "kind": "mystery"})),
        (b"a,b\n1,2\n".to_vec(), "x.csv", json!({"source": "s", "surprise": 1})),
    ] {
        let (status, res) = import(&server, &planner, bytes, name, &options).await;
        assert!(status.is_client_error(), "{name} {options}: {status} {res}");
        assert!(error_code(&res).len() > 1, "{res}");
    }
    // A CSV without the named columns: every row refused, nothing written.
    let (status, report) = import(
        &server,
        &planner,
        b"a,b\n1,2\n".to_vec(),
        "x.csv",
        &json!({"source": "s", "kind": "enterprise", "mapping": {"name": "名称"}}),
    )
    .await;
    assert_eq!((status, report["refused"][0]["reason"].as_str()), (StatusCode::OK, Some("missing_name")));
    assert_eq!(counts(&pool).await, before);
    // Only planners import.
    let staff = server.login("staff02").await;
    let (status, _) =
        import(&server, &staff, register_csv(""), "名录.csv", &json!({"source": "s", "kind": "enterprise"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// A grid map as a zipped shapefile: polygons in GCJ-02, names in GBK (said
/// by the `.cpg`), imported to within a metre of the reference corners.
#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_zipped_shapefile_with_a_gbk_cpg_is_read_right(pool: PgPool) {
    use shapefile::dbase::{self, FieldValue, Record};
    let server = Server::in_process(&pool).await;
    let planner = server.login("planner").await;
    let dir = std::env::temp_dir().join(format!("fieldvisit-shp-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let (lon, lat) = DONGYANG[0];
    let d = 0.002;
    let corners = [(lon, lat), (lon + d, lat), (lon + d, lat + d), (lon, lat + d), (lon, lat)];
    {
        let table = dbase::TableWriterBuilder::with_encoding(dbase::encoding::EncodingRs::from(encoding_rs::GBK))
            .add_character_field("BH".try_into().unwrap(), 20)
            .add_character_field("MC".try_into().unwrap(), 60);
        let mut writer = shapefile::Writer::from_path(dir.join("grid.shp"), table).unwrap();
        // Shapefile rings run clockwise: the reverse of GeoJSON's.
        let ring: Vec<shapefile::Point> = corners
            .iter()
            .rev()
            .map(|(x, y)| {
                let g = wgs84_to_gcj02(Coord { x: *x, y: *y });
                shapefile::Point::new(g.x, g.y)
            })
            .collect();
        let polygon = shapefile::Polygon::new(shapefile::PolygonRing::Outer(ring));
        let mut record = Record::default();
        record.insert("BH".into(), FieldValue::Character(Some("WG-001".into())));
        record.insert("MC".into(), FieldValue::Character(Some("邵原镇东阳村第一网格".into())));
        writer.write_shape_and_record(&polygon, &record).unwrap();
    }
    std::fs::write(dir.join("grid.cpg"), "GBK").unwrap();
    let mut zipped = Vec::new();
    {
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(&mut zipped));
        for ext in ["shp", "shx", "dbf", "cpg"] {
            z.start_file(format!("网格/grid.{ext}"), zip::write::SimpleFileOptions::default()).unwrap();
            z.write_all(&std::fs::read(dir.join(format!("grid.{ext}"))).unwrap()).unwrap();
        }
        z.finish().unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
    let options = json!({"source": "自然资源所网格图", "crs": "gcj02", "kind": "grid_cell"});
    let (status, report) = import(&server, &planner, zipped, "grid.zip", &options).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (report["created"].as_u64(), report["file"]["format"].as_str()),
        (Some(1), Some("shapefile")),
        "{report}"
    );
    assert_eq!(report["file"]["encoding"], "GBK");
    let (name, external_id, station, ring): (String, String, String, Vec<(f64, f64)>) = {
        let (name, external_id, station): (String, String, String) = sqlx::query_as(
            "SELECT p.name, p.external_id, s.code FROM places p JOIN stations s ON s.id = p.station_id WHERE p.source = '自然资源所网格图'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        let ring: Vec<(f64, f64)> = sqlx::query_as(
            "SELECT ST_X(d.geom), ST_Y(d.geom) FROM places p, ST_DumpPoints(p.geom) d WHERE p.source = '自然资源所网格图'",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        (name, external_id, station, ring)
    };
    assert_eq!((name.as_str(), external_id.as_str(), station.as_str()), ("邵原镇东阳村第一网格", "WG-001", "dongyang"));
    assert_eq!(ring.len(), 5);
    for (x, y) in ring {
        let nearest =
            corners.iter().map(|(cx, cy)| geodesic_m(Point::new(x, y), Point::new(*cx, *cy))).fold(f64::MAX, f64::min);
        assert!(nearest < 1.0, "a corner {nearest} m from its reference");
    }
}

/// The command line takes the same path and prints the refused rows as a table.
#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn the_command_line_imports_the_same_way(pool: PgPool) {
    let file = std::env::temp_dir().join(format!("fieldvisit-import-{}.csv", uuid::Uuid::now_v7()));
    std::fs::write(&file, register_csv("91419001MA99999999,,无名,112.25,35.14,制造业\n")).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["import", "places", file.to_str().unwrap(), "--source", "市场监管局", "--crs", "gcj02"];
        args.extend_from_slice(extra);
        std::process::Command::new(fieldvisit_tests::binary())
            .args(&args)
            .env("DATABASE_URL", fieldvisit_tests::database_url(&pool))
            .output()
            .unwrap()
    };
    let out = run(&["--kind", "enterprise", "--dry-run"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text} {}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("dry run") && text.contains("3 created") && text.contains("missing_name"), "{text}");
    let out = run(&["--kind", "enterprise", "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((report["created"].as_u64(), report["refused"][0]["line"].as_u64()), (Some(3), Some(5)), "{report}");
    let out = run(&["--kind", "volcano"]);
    assert!(!out.status.success(), "an unknown kind is refused before anything runs");
    std::fs::remove_file(&file).unwrap();
    let n: i64 =
        sqlx::query_scalar("SELECT count(*) FROM places WHERE source = '市场监管局'").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 3);
}

/// An enterprise register in Excel: the first sheet, a title-less header row,
/// numbers as numbers, kinds named in Chinese in a column of their own.
#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn an_xlsx_register_is_read_from_its_first_sheet(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let planner = server.login("planner").await;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, header) in ["编号", "名称", "类型", "经度", "纬度", "员工人数"].iter().enumerate() {
        sheet.write_string(0, u16::try_from(col).unwrap(), *header).unwrap();
    }
    for (row, (lon, lat)) in DONGYANG.iter().enumerate() {
        let r = u32::try_from(row + 1).unwrap();
        sheet.write_number(r, 0, f64::from(9000 + r)).unwrap();
        sheet.write_string(r, 1, format!("济源市邵原镇第{r}家企业")).unwrap();
        sheet.write_string(r, 2, if row == 2 { "项目" } else { "企业" }).unwrap();
        sheet.write_number(r, 3, *lon).unwrap();
        sheet.write_number(r, 4, *lat).unwrap();
        sheet.write_number(r, 5, 120.0).unwrap();
    }
    let bytes = book.save_to_buffer().unwrap();
    let (status, report) =
        import(&server, &planner, bytes, "register.xlsx", &json!({"source": "工信办企业台账"})).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!((report["file"]["format"].as_str(), report["created"].as_u64()), (Some("xlsx"), Some(3)), "{report}");
    let rows: Vec<(String, String, String, Value)> = sqlx::query_as(
        "SELECT external_id, name, kind::text, attributes FROM places WHERE source = '工信办企业台账' ORDER BY external_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows[0].0, "9001", "a whole number reads as one, not 9001.0");
    assert_eq!(rows[0].1, "济源市邵原镇第1家企业");
    assert_eq!((rows[0].2.as_str(), rows[2].2.as_str()), ("enterprise", "project_site"));
    assert_eq!(rows[0].3["员工人数"], "120");
}
